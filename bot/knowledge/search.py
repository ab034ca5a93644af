"""Searching the knowledge: :class:`KnowledgeBase`, its results and the answer/refuse decision.

A question is scored against every entry by the lexical engine (:mod:`bot.knowledge.index`:
normalisation, slang, stemming, typo repair, BM25F) and, when the embedding is available, by
the cosine of its embedding with the entry's title, questions and passage
(:mod:`bot.knowledge.semantic`). The entries are ranked by a blend of both
(:mod:`bot.knowledge.blend`); whether to answer with the best one is a logistic regression over
the signals (:mod:`bot.knowledge.decision`), trained on labelled questions by
``bench/train_decision.py`` with its operating point chosen for precision. No hand-set
threshold: the model's probability and cut-off decide, and :meth:`KnowledgeBase.explain` shows
why. When the best two are likely enough together but neither alone (or both alone), the
result is ``ambiguous`` (the bot asks which one was meant); on a refusal, ``close`` lists the
hits close enough to be offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge.blend import Signals, features, rank
from bot.knowledge.decision import Decision, load_decision
from bot.knowledge.entry import PILLARS, Entry
from bot.knowledge.index import SearchIndex
from bot.knowledge.lexicon import Lexicon
from bot.knowledge.normalize import Normalizer
from bot.knowledge.semantic import SemanticIndex, build_semantic


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float
    #: the decision model's probability that this entry answers the question
    p: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    query: str
    answered: bool
    hits: list[Hit]
    ambiguous: bool
    normalized: str
    #: per-hit features of the decision, for tuning and debugging (not the public contract)
    details: list[dict[str, float]] = field(default_factory=list, compare=False, repr=False)
    #: the hits to offer as choices: when ambiguous the ones the decision would answer with,
    #: on a refusal the topics close enough to help (none for a question far from every entry)
    close: list[Hit] = field(default_factory=list, compare=False)
    #: whether the embedding took part (False: lexical engine alone)
    semantic: bool = field(default=False, compare=False)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "answered": self.answered,
            "hits": [{"id": h.id, "title": h.title, "score": h.score} for h in self.hits],
        }


class KnowledgeBase:
    """The loaded knowledge: entries in display order, lookups and search. Immutable."""

    def __init__(
        self,
        entries: Sequence[Entry],
        lexicon: Lexicon | None = None,
        normalizer: Normalizer | None = None,
        semantic: SemanticIndex | None | bool = True,
        decision: Decision | None = None,
    ) -> None:
        order = {slug: i for i, slug in enumerate(PILLARS)}
        self._entries = tuple(
            sorted(
                entries,
                key=lambda e: (
                    order.get(e.pillar, 99),
                    e.meta.order if e.meta.order is not None else 1_000_000,
                    e.title.casefold(),
                ),
            )
        )
        self._by_id = {e.id: e for e in self._entries}
        self.lexicon = lexicon or Lexicon.empty()
        if normalizer is None or normalizer.lexicon is not self.lexicon:
            normalizer = Normalizer(self.lexicon)
        self.normalizer = normalizer
        self.index = SearchIndex(self._entries, self.normalizer)
        #: the embedding side (None: lexical only); True builds it with the process-wide
        #: embedder and vector cache
        if semantic is True:
            semantic = build_semantic(self._entries)
        self.semantic: SemanticIndex | None = semantic or None
        self._decision = decision

    @property
    def decision(self) -> Decision:
        """The answer decision: the one given, else the model shipped in the package."""
        return self._decision or load_decision()

    # -- lookups -------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def by_pillar(self, pillar: str) -> list[Entry]:
        return [e for e in self._entries if e.pillar == pillar]

    def pillars(self) -> list[str]:
        """Pillar slugs that have at least one entry, in display order."""
        present = {e.pillar for e in self._entries}
        return [p for p in PILLARS if p in present]

    def related(self, entry_id: str) -> list[Entry]:
        e = self._by_id.get(entry_id)
        if e is None:
            return []
        return [self._by_id[r] for r in e.related_ids if r in self._by_id and r != entry_id]

    # -- search --------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        return " ".join(qt.term for qt in self.index.analyze(text))

    def signals(self, query: str, qvec: np.ndarray | None = None) -> Signals | None:
        """Every entry's lexical score and cosines for ``query`` (``qvec``: its embedding, when
        already known); None when the question has no searchable word (empty, punctuation,
        pleasantries)."""
        terms = self.index.analyze(query)
        if not terms or not self.index.n_docs:
            return None
        n = self.index.n_docs
        scores = self.index.score(terms)
        lex = np.zeros(n)
        if scores is not None:
            lex[scores.docs] = scores.score
        unknown = sum(qt.term not in self.index.idf and not qt.term.isdigit() for qt in terms)
        forms = self.normalizer.scope_forms(query)
        off = bool(forms & self.index.off_domain) and not forms & self.index.anchors
        cos_q = cos_p = None
        if self.semantic is not None:
            if qvec is None:
                qvec = self.semantic.embed_query(query)
            cos_q, cos_p = self.semantic.scores(qvec)
        return Signals(n, len(terms), unknown / len(terms), off, lex, scores, cos_q, cos_p)

    def search(self, query: str, limit: int = 3) -> SearchResult:
        """Best entries for a question; ``answered`` False when none is good enough."""
        normalized = self.normalize(query)
        sig = self.signals(query)
        if sig is None:
            return SearchResult(query, False, [], False, normalized)
        d = self.decision
        model = d.model(sig.semantic)
        order, score = rank(sig, d.blend, d.cos_floor, max(1, limit))
        hits: list[Hit] = []
        details: list[dict[str, float]] = []
        for doc in order:
            x = features(sig, doc)
            p = model.probability(x)
            e = self._entries[doc]
            hits.append(Hit(e.id, e.title, round(float(score[doc]), 4), round(p, 4)))
            details.append({**x, "p": p})
        t, near = model.threshold, model.suggest
        p1 = hits[0].p if hits else 0.0
        p2 = hits[1].p if len(hits) > 1 else 0.0
        # each p is the chance that this entry is the answer, so p1 + p2 is the chance that
        # one of the best two is: likely enough, and neither alone, -> "which did you mean"
        ambiguous = p1 >= t and p2 >= t or p1 < t <= p1 + p2 and p2 >= near
        answered = p1 >= t or ambiguous
        if ambiguous:
            close = [h for h in hits if h.p >= near]
        elif answered:
            close = []
        else:
            close = [h for h in hits if h.p >= near]
        return SearchResult(
            query=query,
            answered=answered,
            hits=hits,
            ambiguous=ambiguous,
            normalized=normalized,
            details=details,
            close=close,
            semantic=sig.semantic,
        )

    def explain(self, query: str) -> list[str]:
        """Readable lines: the signals of the best hits, the weights, the decision."""
        r = self.search(query)
        d = self.decision
        model = d.model(r.semantic)
        engine = "leksikal + semantik" if r.semantic else "leksikal saja (embedding tidak ada)"
        lines = [
            f"pertanyaan: {query}",
            f"dinormalisasi: {r.normalized or '-'}",
            f"mesin: {engine}",
        ]
        if r.semantic:
            lines.append(
                "peringkat = "
                + " + ".join(f"{w:.2f}*{k}" for k, w in d.blend.items())
                + f" (cosinus diskala dari {d.cos_floor:.2f})"
            )
        for h, x in zip(r.hits, r.details, strict=True):
            contrib = model.contributions(x)
            lines.append(f"- {h.id}: skor {h.score:.3f}, p {h.p:.3f}")
            for f in model.features:
                lines.append(f"    {f:11} {x[f]:8.3f}  bobot {contrib[f]:+7.3f}")
            lines.append(f"    {'bias':11} {'':8}  bobot {model.bias:+7.3f}")
        if r.answered:
            verdict = "DIJAWAB" + (" (ragu: tanya pilihan)" if r.ambiguous else "")
        else:
            verdict = "DITOLAK"
        close = ", ".join(h.id for h in r.close) or "-"
        lines.append(
            f"keputusan: {verdict}; ambang p >= {model.threshold:.3f}, "
            f"topik dekat bila p >= {model.suggest:.3f} (ditawarkan: {close})"
        )
        return lines
