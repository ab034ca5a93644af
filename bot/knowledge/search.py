"""Searching the knowledge: :class:`KnowledgeBase`, its results and the answer/refuse decision.

The score of an entry (from :class:`bot.knowledge.index.SearchIndex`) lies in 0..1 and is
comparable across questions, so one fixed ``THRESHOLD`` decides whether the bot answers; below
it, a clear lead over the runner-up (``MARGIN_RATIO``) backed by ``MARGIN_MIN_WORDS``
non-generic words of the question is enough down to ``MARGIN_THRESHOLD`` (long messages full of
context score low but still point at one entry).
Two evidence rules refuse high scores built on too little: an answer resting on a single shared
word needs that word to be a topic word of the entry, no unknown word in the question and
``SINGLE_MATCH_THRESHOLD`` (more for longer questions; or ``SINGLE_MATCH_MARGIN_THRESHOLD``
with a clear lead); an answer sharing no topic word needs ``NO_TOPIC_MIN_WORDS`` shared words.
A third rule keeps the bot in its domain: a question with an administrative/IT word of the
lexicon's ``kata_luar_ranah`` (wifi, pdf, bansos) and none of its ``kata_ranah`` anchors (akun,
unggah, canva) is answered only on a very strong match (``SCOPE_*``).
When the best two are within ``AMBIGUITY_MARGIN`` the result is ``ambiguous`` and the bot asks
which one was meant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge.entry import PILLARS, Entry
from bot.knowledge.index import GENERIC_MIN_DOCS, SearchIndex
from bot.knowledge.lexicon import Lexicon
from bot.knowledge.normalize import Normalizer, QueryTerm
from bot.knowledge.semantic import SemanticIndex, build_semantic

# -- tuning --------------------------------------------------------------------------------------

#: below this the bot does not answer
THRESHOLD = 0.38
#: an answer resting on a single word of the question needs at least this score
SINGLE_MATCH_THRESHOLD = 0.55
#: ... and this when the question has three words or more (only one of them shared)
SINGLE_MATCH_LONG_THRESHOLD = 0.6
#: ... or this, when the runner-up scores at most SINGLE_MATCH_MARGIN_RATIO of it
SINGLE_MATCH_MARGIN_THRESHOLD = 0.4
SINGLE_MATCH_MARGIN_RATIO = 0.6
#: an answer none of whose title/tag words is in the question needs this many shared words
NO_TOPIC_MIN_WORDS = 4
#: below THRESHOLD, still answer when the score is at least MARGIN_THRESHOLD, the runner-up
#: scores at most MARGIN_RATIO of it and MARGIN_MIN_WORDS non-generic words support it
MARGIN_THRESHOLD = 0.26
MARGIN_RATIO = 0.75
MARGIN_MIN_WORDS = 2
#: a question with an off-domain word (lexicon ``kata_luar_ranah``: wifi, pdf, bansos) and no
#: domain anchor (``kata_ranah``: akun, unggah, canva) is answered only when at least
#: SCOPE_MIN_WORDS other distinct, non-generic words of it are title/tag/question words of the
#: best entry, SCOPE_MIN_TOPIC of them title/tag words, and the score is at least SCOPE_SCORE
SCOPE_MIN_WORDS = 3
SCOPE_MIN_TOPIC = 1
SCOPE_SCORE = 0.75
#: the best two closer than this (and both above AMBIGUITY_FLOOR) -> ask which one was meant
AMBIGUITY_MARGIN = 0.04
AMBIGUITY_FLOOR = 0.40


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: str
    answered: bool
    hits: list[Hit]
    ambiguous: bool
    normalized: str
    #: per-hit signals, for tuning and debugging (not part of the public contract)
    details: list[dict[str, float]] = field(default_factory=list, compare=False, repr=False)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "answered": self.answered,
            "hits": [{"id": h.id, "title": h.title, "score": h.score} for h in self.hits],
        }


def in_scope(
    index: SearchIndex, text: str, terms: Sequence[QueryTerm], doc: int, score: float
) -> bool:
    """Whether a question may be answered with entry ``doc`` of ``index`` as far as the
    domain goes.

    Staff also ask the bot about everything else at the office; "password wifi kantor",
    "cek status bansos pake nik" or "ukuran file pdf" share one strong word with an entry
    (wifi, bansos, file) and would be answered. A question carrying an off-domain word
    needs positive evidence that it is about the agency's social media: a domain anchor,
    or a very strong match on several other specific words of the entry.
    """
    if not index.off_domain:
        return True
    forms = index.normalizer.scope_forms(text)
    if not forms & index.off_domain or forms & index.anchors:
        return True
    if score < SCOPE_SCORE:
        return False
    words = topic_words = 0
    for qt in terms:
        if qt.term in index.generic or qt.term in index.off_domain:
            continue
        post = index.postings.get(qt.term)
        if post is None:
            continue
        docs, _, strength, topic, curated = post
        i = int(np.searchsorted(docs, doc))
        if i < docs.size and docs[i] == doc and curated[i]:
            words += 1
            topic_words += int(topic[i])
    return words >= SCOPE_MIN_WORDS and topic_words >= SCOPE_MIN_TOPIC


def accept(
    top: float,
    second: float,
    sig: Mapping[str, float],
    n_terms: int,
    unknown: bool,
    margin: bool = True,
) -> bool:
    """Whether the best hit (score ``top``, signals ``sig``) is good enough to answer.

    ``second`` is the score of the runner-up, ``n_terms`` the number of terms of the question
    and ``unknown`` whether one of them is a word the knowledge base never saw. ``margin``
    False disables the margin rules (a collection too small for the runner-up and the generic
    words to mean much).
    """
    if top < THRESHOLD:
        # margin: a lower score is enough when the entry clearly beats every other one and
        # several distinct, non-generic words of the question are its topic or question words
        # (long messages full of context dilute the score, not the lead)
        clear_lead = (
            margin
            and top >= MARGIN_THRESHOLD
            and second <= top * MARGIN_RATIO
            and sig["strong"] >= MARGIN_MIN_WORDS
            and sig["topic"] >= 1
        )
        if not clear_lead:
            return False
    if sig["matched"] <= 1:
        # thin evidence: a single word of the question found in the entry's title, tags or
        # questions. Enough for "2fa" or "infografis yg bagus", not for "siapa bupati
        # sekarang" (a word seen in passing), "ktp elektronik" (half the question unknown)
        # or "install windows di laptop" (one word of three)
        if sig["topic"] == 0 or unknown:
            return False
        need = SINGLE_MATCH_LONG_THRESHOLD if n_terms > 2 else SINGLE_MATCH_THRESHOLD
        # ... unless that word singles the entry out: no other entry comes close
        return top >= need or (
            margin
            and top >= SINGLE_MATCH_MARGIN_THRESHOLD
            and second <= top * SINGLE_MATCH_MARGIN_RATIO
        )
    # none of the words is the entry's topic (title, tags): "cara bikin surat dinas" shares
    # "surat" with a question about consent letters, which is not enough
    return not (sig["topic"] == 0 and sig["matched"] < NO_TOPIC_MIN_WORDS)


class KnowledgeBase:
    """The loaded knowledge: entries in display order, lookups and search. Immutable."""

    def __init__(
        self,
        entries: Sequence[Entry],
        lexicon: Lexicon | None = None,
        normalizer: Normalizer | None = None,
        semantic: SemanticIndex | None | bool = True,
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

    def search(self, query: str, limit: int = 3) -> SearchResult:
        """Best entries for a question; ``answered`` False when none is good enough."""
        terms = self.index.analyze(query)
        normalized = " ".join(qt.term for qt in terms)
        scores = self.index.score(terms)
        limit = max(1, limit)
        hits: list[Hit] = []
        details: list[dict[str, float]] = []
        hit_docs: list[int] = []
        for i in scores.top(limit) if scores is not None else []:
            sig = scores.detail(i)  # type: ignore[union-attr]
            if sig["score"] <= 0:
                continue
            e = self._entries[int(scores.docs[i])]  # type: ignore[union-attr]
            hits.append(Hit(e.id, e.title, round(sig["score"], 4)))
            hit_docs.append(int(scores.docs[i]))  # type: ignore[union-attr]
            details.append(sig)
        unknown = any(qt.term not in self.index.idf and not qt.term.isdigit() for qt in terms)
        answered = bool(hits) and accept(
            hits[0].score,
            hits[1].score if len(hits) > 1 else 0.0,
            details[0],
            n_terms=len(terms),
            unknown=unknown,
            margin=self.index.n_docs >= GENERIC_MIN_DOCS,
        )
        if answered:
            answered = in_scope(self.index, query, terms, hit_docs[0], hits[0].score)
        ambiguous = (
            answered
            and len(hits) > 1
            and hits[1].score >= AMBIGUITY_FLOOR
            and hits[0].score - hits[1].score < AMBIGUITY_MARGIN
        )
        return SearchResult(
            query=query,
            answered=answered,
            hits=hits,
            ambiguous=ambiguous,
            normalized=normalized,
            details=details,
        )
