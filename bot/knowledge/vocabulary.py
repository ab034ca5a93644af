"""What the knowledge base contains, and typo repair of question words against it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rapidfuzz import process
from rapidfuzz.distance import OSA


class Vocabulary:
    """What the knowledge base contains, for resolving the words of a question."""

    def __init__(self, surface: Iterable[str], terms: Mapping[str, int], extra: Iterable[str]):
        self.surface = frozenset(surface)
        self.terms = terms  # term -> document frequency
        self.extra = frozenset(extra)
        self.known = self.surface | self.extra
        buckets: dict[str, list[str]] = {}
        for w in sorted(self.known | set(terms)):
            if len(w) >= 3 and w.isalpha():
                buckets.setdefault(w[0], []).append(w)
        self._buckets = buckets
        self._popularity = {w: terms.get(w, 0) for ws in buckets.values() for w in ws}

    def typo_candidates(self, token: str) -> list[str]:
        return self._buckets.get(token[0], [])

    def popularity(self, word: str) -> int:
        return self._popularity.get(word, 0)

    def repair_typo(self, tok: str) -> str | None:
        """The closest word of the vocabulary to a misspelt ``tok`` (conservative), or None."""
        n = len(tok)
        if n < 4:
            return None
        max_d = 1 if n <= 6 else 2
        best: tuple[int, int, str] | None = None
        for word, dist, _ in process.extract(
            tok, self.typo_candidates(tok), scorer=OSA.distance, score_cutoff=max_d, limit=8
        ):
            if abs(len(word) - n) > max_d:
                continue
            # short words: one edit turns many everyday words into other words, so the last
            # letter must match as well as the first (the bucket already guarantees that)
            if n <= 5 and word[-1] != tok[-1]:
                continue
            key = (int(dist), -self.popularity(word), word)
            if best is None or key < best:
                best = key
        return best[2] if best else None
