"""Blending the lexical and the semantic signal, and the features of the answer decision.

:class:`Signals` holds, for one question, every entry's lexical score (BM25F engine,
:mod:`bot.knowledge.index`) and cosines (:mod:`bot.knowledge.semantic`). :func:`rank` orders the
entries by a weighted sum of the lexical score and the two cosines rescaled to 0..1;
:func:`features` describes one entry against the best other one for the decision
(:mod:`bot.knowledge.decision`). The search and ``bench/train_decision.py`` (which fits the
decision) use both alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bot.knowledge.index import Scores

#: the question length (terms) at which ``long`` reaches 1
LONG_TERMS = 12


@dataclass(frozen=True)
class Signals:
    """Raw signals of one question against every entry."""

    n_docs: int
    n_terms: int
    #: share of the question's terms that the knowledge base never saw
    unknown: float
    #: an office/IT word (lexicon ``kata_luar_ranah``) and no social-media anchor
    off_domain: bool
    #: lexical score per entry (0 where no word is shared)
    lex: np.ndarray
    #: the lexical engine's per-candidate detail (None: no word shared with any entry)
    scores: Scores | None
    #: best cosine with the entry's title/questions, and with its passage (None: no embedding)
    cos_q: np.ndarray | None = None
    cos_p: np.ndarray | None = None

    @property
    def semantic(self) -> bool:
        return self.cos_q is not None


def cos_norm(cos: np.ndarray, floor: float) -> np.ndarray:
    """Cosines rescaled to 0..1 from ``floor`` (e5 puts unrelated texts near 0.7-0.8)."""
    return np.clip((cos - floor) / (1.0 - floor), 0.0, 1.0)


def blended(sig: Signals, blend: Mapping[str, float], cos_floor: float) -> np.ndarray:
    """The ranking score of every entry, 0..1: ``blend["lex"] * lexical + blend["cos"] *
    cosine with title/questions + blend["cos_p"] * cosine with the passage`` (weights sum to 1);
    the lexical score alone without the embedding."""
    if sig.cos_q is None or sig.cos_p is None:
        return sig.lex
    return (
        blend["lex"] * sig.lex
        + blend["cos"] * cos_norm(sig.cos_q, cos_floor)
        + blend["cos_p"] * cos_norm(sig.cos_p, cos_floor)
    )


def rank(
    sig: Signals, blend: Mapping[str, float], cos_floor: float, k: int
) -> tuple[list[int], np.ndarray]:
    """The best ``k`` entries (indices, best first; ties by entry order) and every score."""
    score = blended(sig, blend, cos_floor)
    if not sig.n_docs:
        return [], score
    k = min(max(1, k), sig.n_docs)
    part = np.argpartition(-score, k - 1)[:k] if sig.n_docs > k else np.arange(sig.n_docs)
    order = sorted(part.tolist(), key=lambda d: (-float(score[d]), int(d)))
    return [d for d in order if score[d] > 0], score


def _second(values: np.ndarray, doc: int) -> float:
    if values.size < 2:
        return 0.0
    rest = np.delete(values, doc)
    return float(rest.max())


def lexical_detail(sig: Signals, doc: int) -> dict[str, float]:
    """The lexical engine's detail of ``doc`` (zeros when it shares no word)."""
    if sig.scores is not None:
        pos = np.searchsorted(sig.scores.docs, doc)
        if pos < sig.scores.docs.size and sig.scores.docs[pos] == doc:
            return sig.scores.detail(int(pos))
    return dict.fromkeys(
        ("cover", "bm25", "near", "pairs", "matched", "strong", "topic", "score"), 0.0
    )


def features(sig: Signals, doc: int) -> dict[str, float]:
    """The decision's features for answering with entry ``doc``."""
    det = lexical_detail(sig, doc)
    out = {
        "lex": float(sig.lex[doc]),
        "lex_margin": float(sig.lex[doc]) - _second(sig.lex, doc),
        "cover": det["cover"],
        "topic": 1.0 if det["topic"] > 0 else 0.0,
        "single": 1.0 if det["matched"] <= 1 else 0.0,
        "unknown": sig.unknown,
        "off_domain": 1.0 if sig.off_domain else 0.0,
        "long": min(sig.n_terms, LONG_TERMS) / LONG_TERMS,
    }
    out["lex_top"] = 1.0 if int(np.argmax(sig.lex)) == doc else 0.0
    if sig.cos_q is not None and sig.cos_p is not None:
        out["cos"] = float(sig.cos_q[doc])
        out["cos_margin"] = float(sig.cos_q[doc]) - _second(sig.cos_q, doc)
        out["cos_p"] = float(sig.cos_p[doc])
        out["cos_p_margin"] = float(sig.cos_p[doc]) - _second(sig.cos_p, doc)
        # the engines agree: this entry is the best by each signal alone
        out["cos_top"] = 1.0 if int(np.argmax(sig.cos_q)) == doc else 0.0
        out["cos_p_top"] = 1.0 if int(np.argmax(sig.cos_p)) == doc else 0.0
    return out
