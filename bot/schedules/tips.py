"""Security tips: ``tips.yaml`` in the knowledge folder.

``tips:`` is a list of ``{id, title, text, entry}``, rotated to users on a schedule (in file
order, every tip once before any repeats). :func:`load_tips` raises
:class:`~bot.schedules.yamlfile.ContentError` (with every problem) when the file is broken.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from bot.schedules.yamlfile import (
    SLUG_RE,
    ContentError,
    Problem,
    _read_yaml,
    _validate_items,
)

TIPS_FILE = "tips.yaml"

TIP_TEXT_MAX = 500
TIP_TITLE_MAX = 80

TIP_ID_RE = re.compile(r"^tip-[a-z0-9]+(?:-[a-z0-9]+)*$")
HTML_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")


class Tip(BaseModel):
    """One security tip, sent to every user once before any tip repeats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    text: str
    entry: str

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not TIP_ID_RE.match(v):
            raise ValueError(
                "id harus slug huruf kecil berawalan 'tip-' (contoh: tip-2fa-aplikasi)"
            )
        return v

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("judul kosong")
        if len(v) > TIP_TITLE_MAX:
            raise ValueError(f"judul terlalu panjang: {len(v)} karakter (maks {TIP_TITLE_MAX})")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("teks kosong")
        if len(v) > TIP_TEXT_MAX:
            raise ValueError(f"teks terlalu panjang: {len(v)} karakter (maks {TIP_TEXT_MAX})")
        if HTML_TAG_RE.search(v):
            raise ValueError("teks berisi tag HTML; pakai teks biasa (boleh **tebal**)")
        if v.count("**") % 2:
            raise ValueError("tanda ** untuk huruf tebal tidak berpasangan")
        return v

    @field_validator("entry")
    @classmethod
    def _entry(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError("entry harus id entri pengetahuan (contoh: keamanan-2fa)")
        return v


def _tips(knowledge_dir: Path) -> tuple[list[Tip], list[Problem]]:
    path = Path(knowledge_dir) / TIPS_FILE
    items, problems = _read_yaml(path, "tips")
    if items is None:
        return [], problems
    tips, more = _validate_items(path, items, Tip, "tip")
    return tips, problems + more


def load_tips(knowledge_dir: Path | str) -> list[Tip]:
    """The tips of ``tips.yaml`` in file order; :class:`ContentError` if anything is wrong."""
    tips, problems = _tips(Path(knowledge_dir))
    if problems:
        raise ContentError(problems)
    return tips
