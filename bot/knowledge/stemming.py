"""Indonesian morphology: PySastrawi stemming (cached) and slang/formal affix stripping."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# PySastrawi is slow-ish: one instance, results cached per word
_stemmer: Any = None


def _get_stemmer() -> Any:
    global _stemmer
    if _stemmer is None:
        from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

        _stemmer = StemmerFactory().create_stemmer()
    return _stemmer


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    """Sastrawi stem of one word (cached); words with digits are returned unchanged."""
    if len(word) <= 3 or not word.isalpha():
        return word
    out = _get_stemmer().stem(word)
    return out or word


def is_root_word(word: str) -> bool:
    """True when ``word`` is exactly a root word of Sastrawi's dictionary."""
    return bool(_get_stemmer().delegatedStemmer.dictionary.contains(word))


_VOWEL_SHIFT_RE = re.compile(r"e([^aiueo]{1,2})$")


def vowel_shift(word: str) -> str:
    """Jakarta-style final 'e' back to 'a': tanggep -> tanggap, dapet -> dapat, temen -> teman."""
    shifted = _VOWEL_SHIFT_RE.sub(r"a\1", word)
    return shifted if shifted != word else ""


@lru_cache(maxsize=200_000)
def is_indonesian_word(word: str) -> bool:
    """True when ``word`` (or its stem) is in Sastrawi's dictionary of Indonesian root words."""
    if not word.isalpha():
        return False
    dictionary = _get_stemmer().delegatedStemmer.dictionary
    return bool(dictionary.contains(word) or dictionary.contains(stem_word(word)))


#: Slang (and formal) prefixes with the letter they may have replaced: nyari -> cari,
#: ngirim -> kirim, nulis -> tulis, mosting -> posting. Tried longest first.
_SLANG_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("nge", ("",)),
    ("ter", ("",)),
    ("ny", ("s", "c")),
    ("ng", ("", "k", "h")),
    ("di", ("",)),
    ("ke", ("",)),
    ("meng", ("",)),
    ("mem", ("",)),
    ("men", ("",)),
    ("me", ("",)),
    ("n", ("t",)),
    ("m", ("p",)),
    ("", ("",)),
)
FORMAL_PREFIXES = (
    "memper",
    "meng",
    "peng",
    "ber",
    "mem",
    "men",
    "pem",
    "pen",
    "ter",
    "per",
    "me",
    "di",
    "ke",
    "pe",
    "se",
)
_SLANG_SUFFIXES = ("innya", "inya", "nya", "kan", "in", "an", "lah", "kah", "i", "")
PARTICLES = ("nya", "lah", "kah", "pun", "ku", "mu")


def affix_groups(tok: str) -> list[list[str]]:
    """Candidate roots of ``tok`` with slang/formal affixes removed, grouped by prefix
    (longest prefix first; inside a group, longest suffix first)."""
    groups: list[list[str]] = []
    for pre, repls in _SLANG_PREFIXES:
        if pre and not tok.startswith(pre):
            continue
        group: list[str] = []
        for suf in _SLANG_SUFFIXES:
            if not pre and not suf:
                continue
            if suf and not tok.endswith(suf):
                continue
            core = tok[len(pre) : len(tok) - len(suf)]
            if len(core) < 2:
                continue
            for r in repls:
                base = r + core
                if len(base) >= 3:
                    group.append(base)
        if group:
            groups.append(group)
    return groups


def affix_bases(tok: str) -> Iterable[str]:
    for group in affix_groups(tok):
        yield from group
