"""Folding and tokenising text for the knowledge search (no vocabulary needed).

Folding: Unicode accents removed, lower case, apostrophes dropped, dashes unified. Tokens:
``kata-kata`` / ``akun2`` -> ``kata`` / ``akun``, ``e-mail`` -> ``email``, ``1080x1080`` ->
``1080 x 1080``, ``2fa`` and ``5w1h`` kept whole; runs of 3+ identical letters collapsed.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
TOKEN_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_REDUP_DIGIT_RE = re.compile(r"^([a-z]{2,})2$")
_DIM_RE = re.compile(r"^(\d+)x(\d+)([a-z]*)$")
_NUM_UNIT_RE = re.compile(r"^(\d+)([a-z]+)$")
RUN_RE = re.compile(r"([a-z])\1{2,}")
_UNITS = frozenset(
    {"px", "p", "pt", "mb", "gb", "kb", "fps", "x", "cm", "mm", "kali"}
    | {"detik", "dtk", "menit", "mnt", "jam", "hari", "thn", "tahun", "bulan", "bln"}
)
#: bound of the per-normaliser caches (questions bring new words forever)
CACHE_MAX = 200_000
#: Single letters worth keeping as tokens (everything else of length 1 is noise).
KEEP_SINGLE = frozenset("x")


def fold(text: str) -> str:
    """Lower case without accents; apostrophes removed, dashes unified."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return text.casefold().translate(_APOSTROPHES).translate(_DASHES)


def collapse_runs(token: str, keep: int = 1) -> str:
    """Shorten runs of three or more identical letters to ``keep`` letters."""
    return RUN_RE.sub(lambda m: m.group(1) * keep, token)


def split_hyphenated(group: str, joined_ok: frozenset[str]) -> list[str]:
    parts = [p for p in group.split("-") if p]
    if len(parts) == 1:
        return parts
    first = parts[0]
    # reduplication: kata-kata, anak-anak, sehari-hari -> first form
    if all(p == first or first.endswith(p) for p in parts[1:]):
        return [first]
    joined = "".join(parts)
    if joined in joined_ok or any(len(p) <= 2 for p in parts):
        return [joined]  # e-mail, wi-fi, re-upload, 2-fa
    return parts


def split_token(tok: str) -> list[str]:
    m = _REDUP_DIGIT_RE.match(tok)
    if m:  # akun2 -> akun (Indonesian shorthand for reduplication)
        return [m.group(1)]
    m = _DIM_RE.match(tok)
    if m:  # 1080x1920px -> 1080 x 1920 px
        out = [m.group(1), "x", m.group(2)]
        if m.group(3):
            out.append(m.group(3))
        return out
    m = _NUM_UNIT_RE.match(tok)
    if m and m.group(2) in _UNITS:
        return [m.group(1), m.group(2)]
    return [tok]


def _group_tokens(group: str, joined_ok: frozenset[str]) -> list[str]:
    out: list[str] = []
    for part in split_hyphenated(group, joined_ok):
        for tok in split_token(part):
            tok = collapse_runs(tok)
            if len(tok) > 1 or tok in KEEP_SINGLE or tok.isdigit():
                out.append(tok)
    return out


def tokenize(
    text: str, joined_ok: frozenset[str] = frozenset(), cache: dict[str, list[str]] | None = None
) -> list[str]:
    """Folded tokens. Runs of 3+ identical letters are collapsed to one letter."""
    out: list[str] = []
    for group in TOKEN_RE.findall(fold(text)):
        if cache is None:
            out.extend(_group_tokens(group, joined_ok))
            continue
        toks = cache.get(group)
        if toks is None:
            toks = _group_tokens(group, joined_ok)
            if len(cache) < CACHE_MAX:
                cache[group] = toks
        out.extend(toks)
    return out
