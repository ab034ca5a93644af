"""Matching an OPD name as people type it ("dinkes", "dinas kesehatan kab tabanan",
"kec. kediri") to the listed OPDs: exact names, slugs and aliases first, then fuzzy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

# Words people add or shorten that say nothing about which OPD it is.
_NOISE = {"kab", "kabupaten", "pemkab", "pemda", "kota", "pemerintah", "daerah", "bapak", "ibu"}
_EXPAND = {
    "kec": "kecamatan",
    "kel": "kelurahan",
    "dis": "dinas",
    "din": "dinas",
    "bag": "bagian",
    "sekret": "sekretariat",
    "pusk": "puskesmas",
    "pkm": "puskesmas",
}
SURE = 90  # at or above: one candidate offered with a confirm button
MAYBE = 72  # at or above: offered among the candidates


@dataclass(frozen=True)
class Candidate:
    slug: str
    name: str
    score: float
    exact: bool = False


def _norm(text: str, noise: frozenset[str] = frozenset()) -> str:
    words = re.findall(r"[a-z0-9]+", text.casefold())
    words = [_EXPAND.get(w, w) for w in words]
    return " ".join(w for w in words if w not in _NOISE and w not in noise)


def match_opd(
    text: str,
    opds: list[tuple[str, str, list[str]]],
    limit: int = 3,
    region: str | None = None,
) -> list[Candidate]:
    """Candidates for ``text`` among ``(slug, name, aliases)``, best first. Words of the
    region's name ("Kabupaten Tabanan") are ignored: everyone here works in it."""
    noise = frozenset(re.findall(r"[a-z0-9]+", (region or "").casefold()))
    q = _norm(text, noise)
    if not q:
        return []
    best: dict[str, Candidate] = {}
    for slug, name, aliases in opds:
        forms = [name, slug.replace("-", " "), *aliases]
        for form in forms:
            f = _norm(form, noise)
            if not f:
                continue
            if f == q:
                best[slug] = Candidate(slug, name, 100.0, exact=True)
                break
            score = max(fuzz.token_set_ratio(q, f), fuzz.ratio(q, f))
            if len(q) <= 4:  # short words ("rsud", "bpbd"): a whole word of the name, or alike
                score = 90 if q in f.split() else fuzz.ratio(q, f)
            old = best.get(slug)
            if old is None or score > old.score:
                best[slug] = Candidate(slug, name, float(score))
    ranked = sorted(best.values(), key=lambda c: (-c.exact, -c.score, c.name))
    exact = [c for c in ranked if c.exact]
    if exact:
        return exact[:limit]
    return [c for c in ranked if c.score >= MAYBE][:limit]
