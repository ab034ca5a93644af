"""The curators' lexicon (``knowledge/lexicon.yaml``): loading and validation.

Slang, abbreviations and phrases -> one canonical form (``gmn`` -> ``bagaimana``, ``pw`` ->
``kata sandi``), stopwords, domain terms never stemmed (``tanpa_stem``) and the words that put a
question in or out of the bot's domain (``kata_ranah`` / ``kata_luar_ranah``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.entry import Problem
from bot.knowledge.tokens import KEEP_SINGLE, fold, tokenize
from bot.yaml_id import explain

LEXICON_FILE = "lexicon.yaml"


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
                if any(w not in KEEP_SINGLE for w in lone):
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
            if isinstance(exc, yaml.YAMLError):
                return cls(), [Problem(name, explain(exc))]
            return cls(), [Problem(name, f"YAML tidak valid: {_yaml_msg(exc)}")]
        return cls.from_data(data, name)


_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_msg(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (baris {mark.line + 1}, kolom {mark.column + 1})"
    return str(problem)
