"""Data model of the knowledge base: an entry's front matter, the entry, the pillars."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.callbacks import id_length_problem


@dataclass(frozen=True)
class Pillar:
    slug: str
    label: str
    emoji: str

    @property
    def display(self) -> str:
        return f"{self.emoji} {self.label}"


#: The pillars in the order the bot shows them (``/materi``).
PILLARS: dict[str, Pillar] = {
    p.slug: p
    for p in (
        Pillar("strategi", "Strategi Komunikasi", "🧭"),
        Pillar("desain", "Desain Visual (Canva)", "🎨"),
        Pillar("keamanan", "Keamanan Digital", "🔐"),
        Pillar("etika", "Etika & Tata Kelola Akun", "⚖️"),
        Pillar("konten", "Penulisan Konten", "✍️"),
        Pillar("analitik", "Analitik Kinerja", "📊"),
        Pillar("bantuan", "Bantuan", "🤖"),
    )
}

PillarSlug = Literal["strategi", "desain", "keamanan", "etika", "konten", "analitik", "bantuan"]

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class EntryMeta(BaseModel):
    """The YAML front matter of ``knowledge/<pillar>/<id>.md``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    pillar: PillarSlug
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    updated: date
    #: Optional position inside the pillar when browsing (lower first); else by title.
    order: int | None = None
    #: Where the facts that age (menu paths, limits, laws) can be rechecked: https URLs.
    sources: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError("hanya huruf kecil, angka, dan tanda hubung (contoh: keamanan-2fa)")
        problem = id_length_problem("entry", v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("questions", "tags", "related", "sources", mode="before")
    @classmethod
    def _list(cls, v: object) -> object:
        if v is None:
            return ()
        if isinstance(v, str):
            raise ValueError("harus berupa daftar (list), bukan satu teks")
        return v

    @field_validator("sources")
    @classmethod
    def _urls(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(s.strip() for s in v)
        bad = [s for s in out if not re.match(r"^https?://[^\s/]+\.[^\s]+$", s)]
        if bad:
            raise ValueError(f"sumber harus alamat web lengkap (https://...), bukan '{bad[0]}'")
        return out

    @field_validator("questions", "tags", "related")
    @classmethod
    def _no_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(s.strip() for s in v)
        if any(not s for s in out):
            raise ValueError("ada butir kosong di daftar")
        return out


@dataclass(frozen=True)
class Entry:
    """One knowledge entry: front matter, Markdown body and its Telegram HTML rendering."""

    meta: EntryMeta
    body: str
    html: str
    path: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def pillar(self) -> str:
        return self.meta.pillar

    @property
    def pillar_info(self) -> Pillar:
        return PILLARS[self.meta.pillar]

    @property
    def questions(self) -> tuple[str, ...]:
        return self.meta.questions

    @property
    def tags(self) -> tuple[str, ...]:
        return self.meta.tags

    @property
    def related_ids(self) -> tuple[str, ...]:
        return self.meta.related


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in the content, shown as ``file: problem``."""

    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


class KnowledgeError(Exception):
    """The knowledge folder has problems; nothing was loaded."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "basis pengetahuan rusak")
