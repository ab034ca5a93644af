"""The real-question set (``bench/real_questions.tsv``) and its split by source.

Each row is ``expected<TAB>question<TAB>source``; ``expected`` is an entry id (several joined by
``|``), ``uncovered`` (in the domain, no entry answers it) or ``-`` (out of scope).

The set is split by the source's web host (``www.``, ``m.`` and ``amp.`` dropped) with a fixed
hash, so every page of one site lands in the same half: the **tuning** half may be used to tune
the search and to decide what the knowledge base covers; the **held-out** half is only measured.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REAL = Path(__file__).resolve().parent / "real_questions.tsv"
TUNE, HOLDOUT = "tune", "holdout"


@dataclass(frozen=True)
class RealQuestion:
    expected: tuple[str, ...]  # entry ids; empty for uncovered / out of scope
    label: str  # the raw label: ids, "uncovered" or "-"
    question: str
    source: str

    @property
    def covered(self) -> bool:
        return bool(self.expected)

    @property
    def half(self) -> str:
        return half_of(self.source)


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or url).lower()
    for prefix in ("www.", "m.", "amp."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host


def half_of(url: str) -> str:
    digest = hashlib.sha256(host_of(url).encode()).digest()
    return HOLDOUT if digest[0] % 2 else TUNE


def load_real(path: Path = REAL) -> list[RealQuestion]:
    rows: list[RealQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if n == 0 or not line.strip():
            continue
        label, question, source = line.split("\t")
        ids = () if label in ("uncovered", "-") else tuple(label.split("|"))
        rows.append(RealQuestion(ids, label, question, source))
    return rows


def halves(rows: list[RealQuestion]) -> dict[str, list[RealQuestion]]:
    out: dict[str, list[RealQuestion]] = {TUNE: [], HOLDOUT: []}
    for r in rows:
        out[r.half].append(r)
    return out
