"""PyYAML's parser messages explained in Indonesian, for the curators who edit the content files
(``opdbot kb check``, ``/muatulang``): where the problem is, what it usually means, how to fix it.
"""

from __future__ import annotations

import re

import yaml

# (pattern on PyYAML's "problem" / "context" text, explanation); the first match wins.
_EXPLAINED: list[tuple[str, str]] = [
    (
        r"found character '\\t'",
        "ada karakter tab; YAML hanya boleh memakai spasi untuk indentasi",
    ),
    (
        r"mapping values are not allowed",
        "ada titik dua (:) di tempat yang tidak diharapkan; teks yang memuat ': ' harus diapit "
        'tanda kutip, mis. judul: "Tips: aman di medsos"',
    ),
    (
        r"could not find expected ':'",
        "tanda titik dua (:) setelah nama kolom tidak ada, atau tanda kutip tidak ditutup",
    ),
    (
        r"found unexpected end of stream|while scanning a quoted scalar",
        "tanda kutip tidak ditutup",
    ),
    (
        r"found unknown escape character",
        "garis miring terbalik (\\) di dalam kutip ganda; pakai kutip tunggal atau tulis \\\\",
    ),
    (
        r"did not find expected '-' indicator",
        "butir daftar (baris yang diawali '- ') tidak sejajar dengan butir lainnya",
    ),
    (
        r"did not find expected key|expected <block end>",
        "indentasi tidak rata, atau ada baris yang tidak berbentuk 'kolom: nilai'",
    ),
    (
        r"expected ',' or '\]'|expected ',' or '\}'",
        "daftar dalam [ ] atau { } tidak ditutup, atau kurang koma di antara isinya",
    ),
    (
        r"found character '[@`%|>]' that cannot start any token|cannot start any token",
        "nilai diawali karakter khusus (@, `, %); apit nilainya dengan tanda kutip",
    ),
    (
        r"found undefined alias|found undefined tag|could not determine a constructor",
        "nilai diawali * atau ! (dibaca YAML sebagai rujukan); apit nilainya dengan tanda kutip",
    ),
    (
        r"found duplicate key",
        "nama kolom yang sama muncul dua kali",
    ),
]
_COMPILED = [(re.compile(p), text) for p, text in _EXPLAINED]
_ENGLISH = re.compile(
    r"\b(found|expected|could|while|allowed|cannot|unexpected|unknown|undefined|not|the)\b"
)


def explain(exc: yaml.YAMLError, *, line_offset: int = 0) -> str:
    """'YAML tidak valid di baris 4, kolom 12: <penjelasan>' (``line_offset``: lines before the
    YAML in the file, e.g. the opening '---' of a front matter)."""
    problem = str(getattr(exc, "problem", None) or "")
    context = str(getattr(exc, "context", None) or "")
    raw = f"{problem} {context} {exc}"
    what = next((text for pat, text in _COMPILED if pat.search(raw)), None)
    if what is None and problem and not _ENGLISH.search(problem):
        what = problem  # already written in Indonesian by our own loader (e.g. a repeated key)
    if what is None:
        what = "susunan YAML tidak bisa dibaca; periksa indentasi, titik dua, dan tanda kutip"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line = mark.line + 1 + line_offset
        return f"YAML tidak valid di baris {line}, kolom {mark.column + 1}: {what}"
    return f"YAML tidak valid: {what}"
