"""Indonesian-aware text normalisation for the knowledge search.

The same pipeline runs over the knowledge entries (at load time) and over the questions people
type, so that both sides meet on the same terms:

1. folding: Unicode accents removed, lower case, apostrophes dropped, punctuation ignored;
2. tokens: ``kata-kata`` / ``akun2`` -> ``kata`` / ``akun``, ``e-mail`` -> ``email``,
   ``1080x1080`` -> ``1080 x 1080``, ``2fa`` and ``5w1h`` kept whole;
3. repeated letters: ``gmnnn`` -> ``gmn``, ``bangettt`` -> ``banget`` (``maaaf`` -> ``maaf``
   when the knowledge base knows ``maaf``);
4. the curators' lexicon (``knowledge/lexicon.yaml``): slang, abbreviations and phrases ->
   one canonical form (``gmn`` -> ``bagaimana``, ``pw`` -> ``kata sandi``);
5. stopwords (function words, chat fillers, question words) are dropped;
6. stemming with PySastrawi (cached), except for the lexicon's ``tanpa_stem`` domain terms.

Questions additionally get, for words the knowledge base does not know: slang affixes stripped
(``diupload``, ``ngeshare``, ``jadwalin``), glued words split (``akunig``) and typos repaired
against the knowledge vocabulary (rapidfuzz, conservative cut-offs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge.models import Problem

LEXICON_FILE = "lexicon.yaml"

# --------------------------------------------------------------------------------------------
# Folding and tokenising (no knowledge of the vocabulary needed)

_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_REDUP_DIGIT_RE = re.compile(r"^([a-z]{2,})2$")
_DIM_RE = re.compile(r"^(\d+)x(\d+)([a-z]*)$")
_NUM_UNIT_RE = re.compile(r"^(\d+)([a-z]+)$")
_RUN_RE = re.compile(r"([a-z])\1{2,}")
_UNITS = frozenset(
    {"px", "p", "pt", "mb", "gb", "kb", "fps", "x", "cm", "mm", "kali"}
    | {"detik", "dtk", "menit", "mnt", "jam", "hari", "thn", "tahun", "bulan", "bln"}
)
#: bound of the per-normaliser caches (questions bring new words forever)
_CACHE_MAX = 200_000
#: Single letters worth keeping as tokens (everything else of length 1 is noise).
_KEEP_SINGLE = frozenset("x")
#: longest text looked at for domain anchors / off-domain words
_SCOPE_MAX_CHARS = 600


def fold(text: str) -> str:
    """Lower case without accents; apostrophes removed, dashes unified."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return text.casefold().translate(_APOSTROPHES).translate(_DASHES)


def collapse_runs(token: str, keep: int = 1) -> str:
    """Shorten runs of three or more identical letters to ``keep`` letters."""
    return _RUN_RE.sub(lambda m: m.group(1) * keep, token)


def _split_hyphenated(group: str, joined_ok: frozenset[str]) -> list[str]:
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


def _split_token(tok: str) -> list[str]:
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
    for part in _split_hyphenated(group, joined_ok):
        for tok in _split_token(part):
            tok = collapse_runs(tok)
            if len(tok) > 1 or tok in _KEEP_SINGLE or tok.isdigit():
                out.append(tok)
    return out


def tokenize(
    text: str, joined_ok: frozenset[str] = frozenset(), cache: dict[str, list[str]] | None = None
) -> list[str]:
    """Folded tokens. Runs of 3+ identical letters are collapsed to one letter."""
    out: list[str] = []
    for group in _TOKEN_RE.findall(fold(text)):
        if cache is None:
            out.extend(_group_tokens(group, joined_ok))
            continue
        toks = cache.get(group)
        if toks is None:
            toks = _group_tokens(group, joined_ok)
            if len(cache) < _CACHE_MAX:
                cache[group] = toks
        out.extend(toks)
    return out


# --------------------------------------------------------------------------------------------
# Stemming (PySastrawi is slow-ish: one instance, results cached per word)

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


def _vowel_shift(word: str) -> str:
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


# --------------------------------------------------------------------------------------------
# The curators' lexicon


@dataclass(frozen=True)
class Lexicon:
    """Slang/abbreviation/phrase -> canonical form, stopwords and words never stemmed."""

    phrases: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    no_stem: frozenset[str] = frozenset()
    #: words that put a question in the bot's domain (``kata_ranah``: media sosial, akun,
    #: unggah, canva, ...) and administrative/IT words that on their own do not
    #: (``kata_luar_ranah``: wifi, pdf, absensi, ...); see ``scope_forms``
    anchors: frozenset[str] = frozenset()
    off_domain: frozenset[str] = frozenset()

    @property
    def max_phrase(self) -> int:
        return max((len(k) for k in self.phrases), default=1)

    @property
    def words(self) -> frozenset[str]:
        """Every token the lexicon knows (keys, canonical forms, stopwords, no-stem terms)."""
        out: set[str] = set(self.stopwords) | set(self.no_stem)
        for k, v in self.phrases.items():
            out.update(k)
            out.update(v)
        return frozenset(out)

    @classmethod
    def empty(cls) -> Lexicon:
        return cls()

    @classmethod
    def from_data(cls, data: Any, file: str = LEXICON_FILE) -> tuple[Lexicon, list[Problem]]:
        """Build from the parsed YAML; problems are reported, the rest is still usable."""
        problems: list[Problem] = []
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return cls(), [Problem(file, "isi berkas harus berupa pemetaan (padanan, ...)")]
        known = {"padanan", "kata_henti", "tanpa_stem", "kata_ranah", "kata_luar_ranah"}
        for key in data:
            if key not in known:
                problems.append(
                    Problem(
                        file, f"bagian '{key}' tidak dikenal (pilihan: {', '.join(sorted(known))})"
                    )
                )

        def word_list(key: str) -> list[str]:
            raw = data.get(key) or []
            if not isinstance(raw, list) or not all(isinstance(w, (str, int)) for w in raw):
                problems.append(Problem(file, f"'{key}' harus berupa daftar kata"))
                return []
            return [str(w) for w in raw]

        stop: set[str] = set()
        for w in word_list("kata_henti"):
            toks = tokenize(w)
            if len(toks) != 1:
                problems.append(Problem(file, f"kata henti '{w}' harus satu kata"))
                continue
            stop.add(toks[0])
        no_stem: set[str] = set()
        for w in word_list("tanpa_stem"):
            toks = tokenize(w)
            if len(toks) != 1:
                problems.append(Problem(file, f"istilah tanpa_stem '{w}' harus satu kata"))
                continue
            no_stem.add(toks[0])

        def single_words(key: str, label: str) -> frozenset[str]:
            out: set[str] = set()
            for w in word_list(key):
                toks = tokenize(w)
                if len(toks) != 1:
                    problems.append(Problem(file, f"{label} '{w}' harus satu kata"))
                    continue
                out.add(toks[0])
            return frozenset(out)

        anchors = single_words("kata_ranah", "kata ranah")
        off_domain = single_words("kata_luar_ranah", "kata luar ranah")
        for w in sorted(anchors & off_domain):
            problems.append(Problem(file, f"'{w}' ada di kata_ranah dan kata_luar_ranah sekaligus"))

        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        owner: dict[tuple[str, ...], str] = {}
        raw_map = data.get("padanan") or {}
        if not isinstance(raw_map, dict):
            problems.append(Problem(file, "'padanan' harus berupa pemetaan bentuk baku -> variasi"))
            raw_map = {}
        for canon, variants in raw_map.items():
            canon_s = str(canon)
            canon_t = tuple(tokenize(canon_s))
            if not canon_t:
                problems.append(Problem(file, f"bentuk baku '{canon_s}' kosong"))
                continue
            if isinstance(variants, (str, int)):
                variants = [variants]
            if not isinstance(variants, list) or not all(
                isinstance(v, (str, int)) for v in variants
            ):
                problems.append(Problem(file, f"variasi untuk '{canon_s}' harus berupa daftar"))
                continue
            keys = [canon_t] if len(canon_t) > 1 else []
            for v in variants:
                vt = tuple(tokenize(str(v)))
                if not vt:
                    problems.append(Problem(file, f"variasi kosong untuk '{canon_s}'"))
                    continue
                lone = [w for w in fold(str(v)).split() if len(w) == 1 and w.isalpha()]
                if any(w not in _KEEP_SINGLE for w in lone):
                    problems.append(
                        Problem(
                            file,
                            f"variasi '{v}' untuk '{canon_s}' berisi huruf tunggal yang "
                            "diabaikan pencarian; tulis tanpa huruf itu",
                        )
                    )
                    continue
                keys.append(vt)
            for vt in keys:
                if vt == canon_t and len(vt) == 1:
                    continue
                prev = owner.get(vt)
                if prev is not None and prev != canon_s:
                    problems.append(
                        Problem(
                            file,
                            f"'{' '.join(vt)}' dipetakan ke dua bentuk: '{prev}' dan '{canon_s}'",
                        )
                    )
                    continue
                owner[vt] = canon_s
                phrases[vt] = canon_t
        lexicon = cls(
            phrases=phrases,
            stopwords=frozenset(stop),
            no_stem=frozenset(no_stem),
            anchors=anchors,
            off_domain=off_domain,
        )
        return lexicon, problems

    @classmethod
    def load(cls, path: Path) -> tuple[Lexicon, list[Problem]]:
        """Read ``lexicon.yaml``; a missing file gives an empty lexicon."""
        name = path.name
        if not path.exists():
            return cls(), []
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            return cls(), [Problem(name, f"YAML tidak valid: {_yaml_msg(exc)}")]
        return cls.from_data(data, name)


_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_msg(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (baris {mark.line + 1}, kolom {mark.column + 1})"
    return str(problem)


# --------------------------------------------------------------------------------------------
# The pipeline


@dataclass(frozen=True)
class QueryTerm:
    """One normalised term of a question; ``weight`` < 1 when it came from a guess."""

    term: str
    weight: float
    source: str


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
_FORMAL_PREFIXES = (
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
_PARTICLES = ("nya", "lah", "kah", "pun", "ku", "mu")


def _affix_groups(tok: str) -> list[list[str]]:
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


def _affix_bases(tok: str) -> Iterable[str]:
    for group in _affix_groups(tok):
        yield from group


_CLAUSE_RE = re.compile(r"[,.;:!?()\n]+")
#: "saya admin ig dinas kesehatan, ...": a clause introducing the sender (a first-person word
#: among its first words, a role word soon after) is context, not the question
_SELF_WORDS = frozenset({"saya", "sy", "aku", "gue", "gw", "kami", "kita"})
_ROLE_WORDS = frozenset(
    {"admin", "adminnya", "staf", "staff", "operator", "pengelola", "humas", "pegawai", "asn"}
    | {"honorer", "bagian", "kerja", "bertugas", "tugas", "dari", "baru", "pegang", "megang"}
)
#: weight factor of the words of such a clause
CONTEXT_WEIGHT = 0.5
#: only in messages of at least this many words
CONTEXT_MIN_WORDS = 10


def _clauses(folded: str) -> list[tuple[list[str], float]]:
    """Token groups of a question by clause, each with its weight factor (self-introductions in
    long messages count less)."""
    parts = [_TOKEN_RE.findall(c) for c in _CLAUSE_RE.split(folded)]
    parts = [p for p in parts if p]
    if len(parts) < 2 or sum(len(p) for p in parts) < CONTEXT_MIN_WORDS:
        return [(g, 1.0) for g in parts]
    out: list[tuple[list[str], float]] = []
    for i, groups in enumerate(parts):
        intro = (
            i < len(parts) - 1
            and any(g in _SELF_WORDS for g in groups[:3])
            and any(g in _ROLE_WORDS for g in groups[:5])
        )
        out.append((groups, CONTEXT_WEIGHT if intro else 1.0))
    return out


class Normalizer:
    """Turns text into search terms, using a :class:`Lexicon`."""

    #: weights of terms obtained by guessing
    AFFIX_WEIGHT = 0.9
    SPLIT_WEIGHT = 0.85
    TYPO_WEIGHT = 0.8

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.empty()
        self._max_phrase = self.lexicon.max_phrase
        self._single_keys = frozenset(k[0] for k in self.lexicon.phrases if len(k) == 1)
        self._phrase_starts = frozenset(k[0] for k in self.lexicon.phrases)
        self._lex_words = self.lexicon.words
        self._protected = self.lexicon.no_stem | self._lex_words
        self._joined_ok = self._single_keys | self.lexicon.no_stem
        self._base_words = (
            self._single_keys
            | self.lexicon.no_stem
            | frozenset(v[0] for v in self.lexicon.phrases.values() if len(v) == 1)
        )
        self._stem_cache: dict[str, str] = {}
        self._canon_cache: dict[str, str] = {}
        self._token_cache: dict[str, list[str]] = {}

    # -- shared steps ------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        return tokenize(text, self._joined_ok, self._token_cache)

    def canon(self, tok: str) -> str:
        """A token reduced to a lexicon word when it is one with affixes: ``diposting`` ->
        ``posting``, ``kontennya`` -> ``konten``, ``nyimpen`` -> ``simpen``; else unchanged."""
        cached = self._canon_cache.get(tok)
        if cached is not None:
            return cached
        out = tok
        if tok not in self._base_words and tok.isalpha() and len(tok) >= 4:
            out = self._canon_slang(tok)
        if len(self._canon_cache) < _CACHE_MAX:
            self._canon_cache[tok] = out
        return out

    def _canon_slang(self, tok: str) -> str:
        if len(tok) >= 5:
            for base in _affix_bases(tok):
                if base in self._base_words:
                    return base
        # colloquial forms of Indonesian words Sastrawi cannot stem: nulis -> tulis,
        # ngikutin -> ikut, nanggepin -> tanggap; only for words that are not Indonesian
        # as written, and only to a root in Sastrawi's dictionary (the longest wins)
        if is_indonesian_word(tok) or stem_word(tok) != tok:
            return tok
        for group in _affix_groups(tok):  # longer prefixes first: ngecek -> cek, not kecek
            best = ""
            for base in group:
                for cand in (base, _vowel_shift(base)):
                    if cand and len(cand) > len(best) and is_root_word(cand):
                        best = cand
            if best:
                return best
        return tok

    def apply_lexicon(self, tokens: list[str]) -> list[str]:
        phrases = self.lexicon.phrases
        if not phrases:
            return list(tokens)
        starts = self._phrase_starts
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            if tokens[i] not in starts:
                out.append(tokens[i])
                i += 1
                continue
            for size in range(min(self._max_phrase, n - i), 0, -1):
                repl = phrases.get(tuple(tokens[i : i + size]))
                if repl is not None:
                    out.extend(repl)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def stem(self, token: str) -> str:
        """Stem of one canonical token (particles removed from domain terms)."""
        cached = self._stem_cache.get(token)
        if cached is not None:
            return cached
        out = token
        if token in self.lexicon.no_stem or not token.isalpha():
            out = token
        else:
            for suf in _PARTICLES:
                base = token[: -len(suf)]
                if token.endswith(suf) and len(base) >= 3 and base in self._protected:
                    out = base
                    break
            else:
                out = stem_word(token)
        if len(self._stem_cache) < _CACHE_MAX:
            self._stem_cache[token] = out
        return out

    def _finish(self, tokens: list[str]) -> list[tuple[str, str]]:
        """Lexicon, stopwords and stemming: ``(term, canonical token)`` pairs."""
        stop = self.lexicon.stopwords
        out: list[tuple[str, str]] = []
        for tok in self.apply_lexicon(tokens):
            if tok in stop:
                continue
            for term in self.stem_terms(tok):
                out.append((term, tok))
        return out

    def stem_terms(self, tok: str) -> list[str]:
        """Terms of one canonical token: its stem, mapped again through the lexicon when the
        stem is a lexicon word (``memotret`` -> ``potret`` -> ``foto``); stopwords dropped."""
        stop = self.lexicon.stopwords
        term = self.stem(tok)
        if term != tok:
            repl = self.lexicon.phrases.get((term,))
            if repl is not None:
                return [t for t in (self.stem(r) for r in repl) if t not in stop]
        return [] if term in stop else [term]

    def index_terms(self, text: str) -> list[str]:
        """Terms of a knowledge text (title, question, tag, body)."""
        return self.terms_of_tokens(self.tokens(text))

    def terms_of_tokens(self, tokens: list[str]) -> list[str]:
        """Terms of already tokenised knowledge text."""
        return [t for t, _ in self._finish([self.canon(t) for t in tokens])]

    def scope_forms(self, text: str) -> frozenset[str]:
        """Every form a text's words take on the way to search terms: as typed, without slang
        affixes, after the lexicon (stopwords included: ``medsos``) and stemmed. Matched
        against the lexicon's ``kata_ranah`` / ``kata_luar_ranah`` (see :meth:`scope_words`),
        so ``postingan``, ``posting`` and ``unggah`` all meet ``unggah``."""
        toks = self.tokens(text[:_SCOPE_MAX_CHARS])
        canon = [self.canon(t) for t in toks]
        out: set[str] = set(toks) | set(canon)
        for tok in self.apply_lexicon(canon):
            out.add(tok)
            out.add(self.stem(tok))
            out.update(self.stem_terms(tok))
        return frozenset(out)

    def scope_words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The forms of the lexicon's domain anchors and of its off-domain words."""
        anchors: set[str] = set()
        for w in self.lexicon.anchors:
            anchors |= self.scope_forms(w)
        # off-domain words as written, not through the lexicon or the stemmer: "laptop" must
        # not turn every "hp" (both "perangkat") into an off-domain word, nor "perjalanan"
        # every "jalan"; the question side still has its stems ("pajaknya" -> "pajak")
        off: set[str] = set(self.lexicon.off_domain)
        # a form shared by both (a lexicon mapping them together) stays an anchor
        return frozenset(anchors), frozenset(off - anchors)

    # -- questions ---------------------------------------------------------------------------

    def _is_known(self, tok: str, vocab: Vocabulary) -> bool:
        if tok in vocab.known or tok in self._lex_words:
            return True
        if tok.isdigit():
            return True
        st = self.stem(tok)
        return st in vocab.terms or st in self.lexicon.stopwords

    def _resolve(self, tok: str, raw: str, vocab: Vocabulary) -> tuple[list[str], float]:
        """Make an unknown question word known if we reasonably can."""
        if self._is_known(tok, vocab):
            return [tok], 1.0
        # repeated letters: "maaaf" -> "maaf" if that is known; trailing doubles "kakk" -> "kak"
        if _RUN_RE.search(raw):
            two = collapse_runs(raw, 2)
            if two != tok and self._is_known(two, vocab):
                return [two], 1.0
        if len(tok) >= 3 and tok[-1] == tok[-2]:
            shorter = tok[:-1]
            if self._is_known(shorter, vocab):
                return [shorter], 1.0
        if not tok.isalpha() or is_indonesian_word(tok):
            # a real Indonesian word the knowledge base lacks is a real signal: "terasi" must not
            # become "teras", nor "cabai" "capai"
            return [tok], 1.0
        # slang affixes against the knowledge vocabulary: dipantau, ngecek, jadwalin
        for base in _affix_bases(tok):
            if self._is_known(base, vocab):
                return [base], self.AFFIX_WEIGHT
        # glued words: akunig, gantipassword
        if len(tok) >= 5:
            for i in range(2, len(tok) - 1):
                a, b = tok[:i], tok[i:]
                ok_a = (len(a) >= 3 and self._is_known(a, vocab)) or a in self._single_keys
                ok_b = (len(b) >= 3 and self._is_known(b, vocab)) or b in self._single_keys
                if ok_a and ok_b:
                    return [a, b], self.SPLIT_WEIGHT
        # typos
        fixed = self._typo(tok, vocab)
        if fixed is None:
            # a typo inside a prefixed word: berkolaborais -> kolaborasi
            for pre in _FORMAL_PREFIXES:
                if tok.startswith(pre) and len(tok) - len(pre) >= 5:
                    fixed = self._typo(tok[len(pre) :], vocab)
                    if fixed is not None:
                        break
        if fixed is not None:
            return [self.canon(fixed)], self.TYPO_WEIGHT
        return [tok], 1.0

    def _typo(self, tok: str, vocab: Vocabulary) -> str | None:
        n = len(tok)
        if n < 4:
            return None
        max_d = 1 if n <= 6 else 2
        best: tuple[int, int, str] | None = None
        for word, dist, _ in process.extract(
            tok, vocab.typo_candidates(tok), scorer=OSA.distance, score_cutoff=max_d, limit=8
        ):
            if abs(len(word) - n) > max_d:
                continue
            # short words: one edit turns many everyday words into other words, so the last
            # letter must match as well as the first (the bucket already guarantees that)
            if n <= 5 and word[-1] != tok[-1]:
                continue
            key = (int(dist), -vocab.popularity(word), word)
            if best is None or key < best:
                best = key
        return best[2] if best else None

    def query_terms(self, text: str, vocab: Vocabulary) -> list[QueryTerm]:
        """Terms of a question, with unknown words resolved against ``vocab``."""
        resolved: list[tuple[str, float, str]] = []
        for groups, factor in _clauses(fold(text)):
            for group in groups:
                for part in _split_hyphenated(group, self._joined_ok):
                    for raw in _split_token(part):
                        tok = self.canon(collapse_runs(raw))
                        if not (len(tok) > 1 or tok in _KEEP_SINGLE or tok.isdigit()):
                            continue
                        toks, weight = self._resolve(tok, raw, vocab)
                        for t in toks:
                            resolved.append((t, weight * factor, raw))
        # lexicon phrases work on the resolved words; a phrase is as certain as its least
        # certain word
        words = [t for t, _, _ in resolved]
        out: list[QueryTerm] = []
        seen: dict[str, int] = {}
        stop = self.lexicon.stopwords
        phrases = self.lexicon.phrases
        i, n = 0, len(words)
        while i < n:
            size, repl = 1, [words[i]]
            for s in range(min(self._max_phrase, n - i), 0, -1):
                r = phrases.get(tuple(words[i : i + s]))
                if r is not None:
                    size, repl = s, list(r)
                    break
            weight = min(w for _, w, _ in resolved[i : i + size])
            source = " ".join(src for _, _, src in resolved[i : i + size])
            for tok in repl:
                if tok in stop:
                    continue
                for term in self.stem_terms(tok):
                    if term in seen:
                        j = seen[term]
                        if out[j].weight < weight:
                            out[j] = QueryTerm(term, weight, out[j].source)
                        continue
                    seen[term] = len(out)
                    out.append(QueryTerm(term, weight, source))
            i += size
        return out
