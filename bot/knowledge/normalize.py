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

The steps live in :mod:`bot.knowledge.tokens` (1-3), :mod:`bot.knowledge.lexicon` (4, 5),
:mod:`bot.knowledge.stemming` (6, the affixes) and :mod:`bot.knowledge.vocabulary` (typos);
:class:`Normalizer` runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.lexicon import Lexicon
from bot.knowledge.stemming import (
    FORMAL_PREFIXES,
    PARTICLES,
    affix_bases,
    affix_groups,
    is_indonesian_word,
    is_root_word,
    stem_word,
    vowel_shift,
)
from bot.knowledge.tokens import (
    CACHE_MAX,
    KEEP_SINGLE,
    RUN_RE,
    TOKEN_RE,
    collapse_runs,
    fold,
    split_hyphenated,
    split_token,
    tokenize,
)
from bot.knowledge.vocabulary import Vocabulary

#: longest text looked at for domain anchors / off-domain words
_SCOPE_MAX_CHARS = 600


@dataclass(frozen=True)
class QueryTerm:
    """One normalised term of a question; ``weight`` < 1 when it came from a guess."""

    term: str
    weight: float
    source: str


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
    parts = [TOKEN_RE.findall(c) for c in _CLAUSE_RE.split(folded)]
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
        if len(self._canon_cache) < CACHE_MAX:
            self._canon_cache[tok] = out
        return out

    def _canon_slang(self, tok: str) -> str:
        if len(tok) >= 5:
            for base in affix_bases(tok):
                if base in self._base_words:
                    return base
        # colloquial forms of Indonesian words Sastrawi cannot stem: nulis -> tulis,
        # ngikutin -> ikut, nanggepin -> tanggap; only for words that are not Indonesian
        # as written, and only to a root in Sastrawi's dictionary (the longest wins)
        if is_indonesian_word(tok) or stem_word(tok) != tok:
            return tok
        for group in affix_groups(tok):  # longer prefixes first: ngecek -> cek, not kecek
            best = ""
            for base in group:
                for cand in (base, vowel_shift(base)):
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
            for suf in PARTICLES:
                base = token[: -len(suf)]
                if token.endswith(suf) and len(base) >= 3 and base in self._protected:
                    out = base
                    break
            else:
                out = stem_word(token)
        if len(self._stem_cache) < CACHE_MAX:
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
        if RUN_RE.search(raw):
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
        for base in affix_bases(tok):
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
        fixed = vocab.repair_typo(tok)
        if fixed is None:
            # a typo inside a prefixed word: berkolaborais -> kolaborasi
            for pre in FORMAL_PREFIXES:
                if tok.startswith(pre) and len(tok) - len(pre) >= 5:
                    fixed = vocab.repair_typo(tok[len(pre) :])
                    if fixed is not None:
                        break
        if fixed is not None:
            return [self.canon(fixed)], self.TYPO_WEIGHT
        return [tok], 1.0

    def query_terms(self, text: str, vocab: Vocabulary) -> list[QueryTerm]:
        """Terms of a question, with unknown words resolved against ``vocab``."""
        resolved: list[tuple[str, float, str]] = []
        for groups, factor in _clauses(fold(text)):
            for group in groups:
                for part in split_hyphenated(group, self._joined_ok):
                    for raw in split_token(part):
                        tok = self.canon(collapse_runs(raw))
                        if not (len(tok) > 1 or tok in KEEP_SINGLE or tok.isdigit()):
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
