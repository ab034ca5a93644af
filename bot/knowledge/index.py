"""BM25F ranking of questions against the knowledge entries.

Every entry is indexed in four fields, weighted differently: its title, its alternate questions
(the phrasings curators wrote the way staff type), its tags (plus the words of its id) and its
body. A question is scored against each entry with three signals, each between 0 and 1:

- ``cover``: how much of the question (IDF-weighted) the entry contains; a word in the title or
  the tags (the entry's topic words) counts fully, one only in the alternate questions
  ``QUESTION_COVER``, one only in the body ``BODY_COVER``; words the knowledge base has never
  seen count against every entry (that is what refuses "harga cabai");
- ``bm25``: a BM25F score (field weights, length normalisation, saturation) divided by what an
  entry with every word of the question in its title and questions would get;
- ``near``: TF-IDF cosine between the question and the closest single alternate question
  (or the title) of the entry.

The score is their weighted sum plus a small bonus for word pairs the question shares with a
title, tag or alternate question. It lies in 0..1 and is comparable across questions, so
:mod:`bot.knowledge.search` decides with fixed thresholds whether the bot answers. Generic
words are those in the title, tags or questions of many entries ("dinas", "akun", "konten").
Unknown words of a long message weigh less (they are mostly context).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.knowledge.entry import Entry
from bot.knowledge.normalize import Normalizer, QueryTerm
from bot.knowledge.vocabulary import Vocabulary

# -- tuning --------------------------------------------------------------------------------------

FIELD_WEIGHTS = {"title": 3.0, "questions": 2.0, "tags": 2.5, "body": 0.6}
FIELD_B = {"title": 0.3, "questions": 0.4, "tags": 0.3, "body": 0.75}
K1 = 1.2
#: added to every IDF: in a small collection plain BM25 IDF nearly ignores common words,
#: which makes a short question hinge on whichever rare word it happens to contain
IDF_OFFSET = 1.0
#: BM25 normaliser: saturation of a word found once in the title and once in the questions
_REF_TF = FIELD_WEIGHTS["title"] + FIELD_WEIGHTS["questions"]
REF_SAT = _REF_TF / (K1 + _REF_TF)
#: how much a word covers the question when found only in the alternate questions / the body
#: (a word in the title or the tags, the entry's topic words, covers fully)
QUESTION_COVER = 0.7
BODY_COVER = 0.5
#: weight (relative to the rarest known word) of a question word the knowledge base never saw
UNKNOWN_WEIGHT = 0.8
#: ... in a long message (LONG_QUERY_TERMS terms or more), where unknown words are mostly
#: context (names, places, what happened) rather than the subject of the question
UNKNOWN_WEIGHT_LONG = 0.4
LONG_QUERY_TERMS = 7
#: weight of a bare number the knowledge base never saw
UNKNOWN_NUMBER_WEIGHT = 0.4
#: signal mix
W_COVER, W_BM25, W_NEAR = 0.45, 0.30, 0.25
BIGRAM_BONUS = 0.12
#: a word in the title, tags or questions of more than this share of the entries is generic
#: (weak evidence on its own); only in collections of at least GENERIC_MIN_DOCS entries
#: (smaller ones get no margin rules)
GENERIC_DF = 0.3
GENERIC_MIN_DOCS = 20
#: longest question considered (characters), to bound the work per question
MAX_QUERY_CHARS = 600

_URL_RE = re.compile(r"https?://\S+|\b[\w.-]+\.(?:com|id|org|net|go\.id)\S*")
_LIST_MARK_RE = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+", re.MULTILINE)


def _idf(n_docs: int, df: int) -> float:
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)) + IDF_OFFSET


def _plain_body(markdown: str) -> str:
    """Body text for indexing: no URLs, no list numbering."""
    return _LIST_MARK_RE.sub("", _URL_RE.sub(" ", markdown))


def _id_words(entry_id: str, pillar: str) -> str:
    rest = entry_id.removeprefix(pillar + "-")
    return rest.replace("-", " ")


def _pairs(terms: Sequence[str]) -> Iterable[tuple[str, str]]:
    for a, b in zip(terms, terms[1:], strict=False):
        if a != b:
            yield (a, b) if a < b else (b, a)


class SearchIndex:
    """Inverted index over the entries (numpy posting arrays); immutable once built."""

    def __init__(self, entries: Sequence[Entry], normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self.entries = list(entries)
        n = len(self.entries)
        self.n_docs = n
        field_tf: dict[str, list[Counter[str]]] = {f: [] for f in FIELD_WEIGHTS}
        field_len: dict[str, list[int]] = {f: [] for f in FIELD_WEIGHTS}
        surface: set[str] = set()
        # alternate questions (and the title) as separate short documents for ``near``
        q_doc: list[int] = []
        q_terms: list[list[str]] = []
        pair_docs: dict[tuple[str, str], set[int]] = defaultdict(set)

        for d, e in enumerate(self.entries):
            texts = {
                "title": [e.title],
                "questions": list(e.questions),
                "tags": [*e.tags, _id_words(e.id, e.pillar)],
                "body": [_plain_body(e.body)],
            }
            for fname, parts in texts.items():
                tf: Counter[str] = Counter()
                length = 0
                for part in parts:
                    toks = normalizer.tokens(part)
                    surface.update(toks)
                    terms = normalizer.terms_of_tokens(toks)
                    tf.update(terms)
                    length += len(terms)
                    if fname in ("title", "questions"):
                        q_doc.append(d)
                        q_terms.append(terms)
                    if fname != "body":
                        for pair in _pairs(terms):
                            pair_docs[pair].add(d)
                field_tf[fname].append(tf)
                field_len[fname].append(length)

        avg_len = {f: (sum(v) / n if n else 0.0) or 1.0 for f, v in field_len.items()}
        df: Counter[str] = Counter()
        doc_terms: list[set[str]] = []
        for d in range(n):
            here: set[str] = set()
            for f in FIELD_WEIGHTS:
                here.update(field_tf[f][d])
            doc_terms.append(here)
            df.update(here)
        self.df = df
        self.idf = {t: _idf(n, c) for t, c in df.items()}
        self.idf_max = _idf(n, 0) if n else 1.0

        # term -> (docs, bm25 saturation, cover strength, title/tag word?, curated word?)
        raw: dict[str, tuple[list[int], list[float], list[float], list[bool]]] = {}
        title_tf, tags_tf, q_tf = field_tf["title"], field_tf["tags"], field_tf["questions"]
        for d in range(n):
            norms = {
                f: 1.0 - FIELD_B[f] + FIELD_B[f] * field_len[f][d] / avg_len[f]
                for f in FIELD_WEIGHTS
            }
            for t in doc_terms[d]:
                tf_w = 0.0
                for f, w in FIELD_WEIGHTS.items():
                    c = field_tf[f][d].get(t, 0)
                    if c:
                        tf_w += w * c / norms[f]
                topic = t in title_tf[d] or t in tags_tf[d]
                if topic:
                    strength = 1.0
                elif t in q_tf[d]:
                    strength = QUESTION_COVER
                else:
                    strength = BODY_COVER
                lists = raw.get(t)
                if lists is None:
                    lists = raw[t] = ([], [], [], [])
                lists[0].append(d)
                lists[1].append(tf_w / (K1 + tf_w))
                lists[2].append(strength)
                lists[3].append(topic)
        #: words in the title, tags or questions of many entries ("dinas", "akun", "konten"):
        #: weak evidence on their own
        self.generic = frozenset(
            t
            for t, (_, _, strength, _) in raw.items()
            if n >= GENERIC_MIN_DOCS and sum(s > BODY_COVER for s in strength) > GENERIC_DF * n
        )
        self.postings: dict[str, tuple[np.ndarray, ...]] = {
            t: (
                np.asarray(docs, dtype=np.int32),
                np.asarray(sat, dtype=np.float64),
                np.asarray(strength, dtype=np.float64),
                np.asarray(topic, dtype=np.int32),
                (np.asarray(strength) > BODY_COVER).astype(np.int32),
            )
            for t, (docs, sat, strength, topic) in raw.items()
        }

        # alternate questions: term -> question indices; each question's TF-IDF norm
        q_post: dict[str, list[int]] = defaultdict(list)
        q_norm: list[float] = []
        for qi, terms in enumerate(q_terms):
            uniq = set(terms)
            for t in uniq:
                q_post[t].append(qi)
            q_norm.append(math.sqrt(sum(self.idf[t] ** 2 for t in uniq)) or 1.0)
        self.q_postings = {t: np.asarray(v, dtype=np.int32) for t, v in q_post.items()}
        self._q_doc = np.asarray(q_doc, dtype=np.int32)
        self._q_norm = np.asarray(q_norm, dtype=np.float64)
        self.pair_docs = {k: np.asarray(sorted(v), dtype=np.int32) for k, v in pair_docs.items()}

        self.vocab = Vocabulary(surface, df, normalizer.lexicon.words)
        self.anchors, self.off_domain = normalizer.scope_words()

    # ------------------------------------------------------------------------------------

    def analyze(self, text: str) -> list[QueryTerm]:
        return self.normalizer.query_terms(text[:MAX_QUERY_CHARS], self.vocab)

    def _weight(self, qt: QueryTerm, long: bool = False) -> float:
        idf = self.idf.get(qt.term)
        if idf is not None:
            return qt.weight * idf
        if qt.term.isdigit():
            return qt.weight * self.idf_max * UNKNOWN_NUMBER_WEIGHT
        return qt.weight * self.idf_max * (UNKNOWN_WEIGHT_LONG if long else UNKNOWN_WEIGHT)

    def score(self, terms: list[QueryTerm]) -> Scores | None:
        """Signals for every entry sharing at least one word with the question."""
        if not terms or not self.n_docs:
            return None
        long = len(terms) >= LONG_QUERY_TERMS
        weights = [self._weight(qt, long) for qt in terms]
        total = sum(weights)
        if total <= 0:
            return None
        n = self.n_docs
        cover = np.zeros(n)
        bm25 = np.zeros(n)
        matched = np.zeros(n, dtype=np.int32)
        strong = np.zeros(n, dtype=np.int32)
        topical = np.zeros(n, dtype=np.int32)
        qdot = np.zeros(len(self._q_norm))
        q_sq = 0.0
        any_hit = False
        for qt, w in zip(terms, weights, strict=True):
            q_sq += w * w
            post = self.postings.get(qt.term)
            if post is None:
                continue
            any_hit = True
            docs, sat, strength, topic, curated = post
            cover[docs] += w * strength
            bm25[docs] += w * sat
            matched[docs] += curated
            if qt.term not in self.generic:
                strong[docs] += curated
            topical[docs] += topic
            qp = self.q_postings.get(qt.term)
            if qp is not None:
                qdot[qp] += w * self.idf[qt.term]
        if not any_hit:
            return None
        cand = np.flatnonzero(cover)
        near = np.zeros(n)
        qi = np.flatnonzero(qdot)
        if qi.size:
            sims = qdot[qi] / (math.sqrt(q_sq) * self._q_norm[qi])
            np.maximum.at(near, self._q_doc[qi], sims)

        # word pairs shared with a title, a tag or an alternate question
        pairs = np.zeros(n)
        pair_total = 0.0
        seq = [qt.term for qt in terms]
        for a, b in _pairs(seq):
            if a in self.idf and b in self.idf:
                w = min(self.idf[a], self.idf[b])
                pair_total += w
                docs = self.pair_docs.get((a, b))
                if docs is not None:
                    pairs[docs] += w
        sig_cover = np.minimum(1.0, cover[cand] / total)
        sig_bm25 = np.minimum(1.0, bm25[cand] / (total * REF_SAT))
        sig_near = np.minimum(1.0, near[cand])
        sig_pairs = pairs[cand] / pair_total if pair_total else np.zeros(cand.size)
        base = W_COVER * sig_cover + W_BM25 * sig_bm25 + W_NEAR * sig_near
        final = base + BIGRAM_BONUS * (1.0 - base) * sig_pairs
        return Scores(
            docs=cand,
            score=final,
            cover=sig_cover,
            bm25=sig_bm25,
            near=sig_near,
            pairs=sig_pairs,
            matched=matched[cand],
            strong=strong[cand],
            topic=topical[cand],
        )


@dataclass(frozen=True)
class Scores:
    """Per-candidate signals (parallel arrays)."""

    docs: np.ndarray
    score: np.ndarray
    cover: np.ndarray
    bm25: np.ndarray
    near: np.ndarray
    pairs: np.ndarray
    matched: np.ndarray
    strong: np.ndarray
    topic: np.ndarray

    def top(self, k: int) -> list[int]:
        """Positions (into the arrays) of the best ``k``, best first; ties by entry order."""
        m = self.docs.size
        if m == 0:
            return []
        k = min(k, m)
        part = np.argpartition(-self.score, k - 1)[:k] if m > k else np.arange(m)
        return sorted(part.tolist(), key=lambda i: (-float(self.score[i]), int(self.docs[i])))

    def detail(self, i: int) -> dict[str, float]:
        return {
            "cover": float(self.cover[i]),
            "bm25": float(self.bm25[i]),
            "near": float(self.near[i]),
            "pairs": float(self.pairs[i]),
            "matched": float(self.matched[i]),
            "strong": float(self.strong[i]),
            "topic": float(self.topic[i]),
            "score": float(self.score[i]),
        }
