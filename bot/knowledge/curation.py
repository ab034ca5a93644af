"""Curators' decisions from chat: /celah items and candidate phrasings (/kandidat).

A /celah item is a group of similar unanswered questions, named by the log id of its first
question (short, numeric: fits Telegram's 64-byte callback data). Every action re-reads the
report, so an item another curator already handled (or that aged out of it) is ``stale`` and
nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.knowledge.entry import PILLARS, Entry
from bot.knowledge.gaps import GapGroup
from bot.knowledge.learning import DraftView, PhrasingView, clean_phrasing
from bot.knowledge.tokens import fold

if TYPE_CHECKING:
    from bot.knowledge.service import QAService

SUGGESTED = 4
DRAFT_QUESTIONS = 12
DRAFT_PILLAR = "bantuan"  # when no entry comes close
_SLUG_WORDS = 6
_STOP = {"cara", "gimana", "gmn", "bagaimana", "apa", "yang", "yg", "di", "ke", "dan", "min"}


@dataclass(frozen=True)
class GapItem:
    group: GapGroup
    suggestions: list[Entry]


@dataclass(frozen=True)
class Attached:
    status: str  # ok | known | stale | unknown | taken | vague
    text: str = ""
    entry: Entry | None = None
    other: Entry | None = None  # status taken: the entry that already has this question


@dataclass(frozen=True)
class Candidate:
    phrasing: PhrasingView
    entry: Entry | None
    position: int
    total: int


def _slug(text: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", fold(text)) if w not in _STOP]
    return "-".join(words[:_SLUG_WORDS]) or "materi-baru"


class Curation:
    def __init__(self, qa: QAService) -> None:
        self.qa = qa
        self.store = qa.learning

    # -- /celah items ------------------------------------------------------------------------
    async def item(self, question_id: int) -> GapItem | None:
        """The report's group holding ``question_id``, with the closest entries; None when the
        group is no longer in the report."""
        for g in await self.qa.gaps():
            if question_id in g.ids:
                hits = self.qa.kb.search(g.example, limit=SUGGESTED).hits
                entries = [e for e in (self.qa.kb.get(h.id) for h in hits) if e is not None]
                return GapItem(g, entries)
        return None

    def _owner(self, text: str, entry_id: str) -> Entry | None:
        """Another entry whose title or question means the same as ``text`` to the search."""
        kb = self.qa.kb
        key = tuple(sorted(kb.normalizer.index_terms(text)))
        for e in kb.entries:
            if e.id == entry_id:
                continue
            for q in (e.title, *e.questions):
                if tuple(sorted(kb.normalizer.index_terms(q))) == key:
                    return e
        return None

    async def attach(self, question_id: int, entry_id: str, curator: int | None) -> Attached:
        """Make the item's question an alternate question of ``entry_id``."""
        entry = self.qa.kb.get(entry_id)
        if entry is None:
            return Attached("unknown")
        item = await self.item(question_id)
        if item is None:
            return Attached("stale", entry=entry)
        text = clean_phrasing(item.group.example)
        if not self.qa.kb.normalizer.index_terms(text):
            return Attached("vague", text, entry)
        other = self._owner(text, entry_id)
        if other is not None:
            return Attached("taken", text, entry, other)
        _, changed = await self.store.accept_new(entry_id, text, question_id, curator)
        await self.store.add_mark(item.group.key, "attached", question_id, entry_id, curator)
        await self.qa.refresh_learned(force=True)
        return Attached("ok" if changed else "known", text, entry)

    async def out_of_scope(self, question_id: int, curator: int | None) -> GapGroup | None:
        item = await self.item(question_id)
        if item is None:
            return None
        await self.store.add_mark(item.group.key, "scope", question_id, None, curator)
        return item.group

    async def draft(self, question_id: int, curator: int | None) -> DraftView | None:
        """Start a draft entry from the item: its questions, the closest entries' pillar."""
        item = await self.item(question_id)
        if item is None:
            return None
        g = item.group
        pillar = item.suggestions[0].pillar if item.suggestions else DRAFT_PILLAR
        assert pillar in PILLARS
        base = f"{pillar}-{_slug(g.example)}"[:64].rstrip("-")
        slug, n = base, 2
        while slug in self.qa.kb:
            slug = f"{base[:60]}-{n}"
            n += 1
        title = clean_phrasing(g.example)[:200]
        title = title[:1].upper() + title[1:]
        questions = list(dict.fromkeys(clean_phrasing(q) for q in g.questions))
        d = await self.store.create_draft(
            slug,
            pillar,
            title,
            questions[:DRAFT_QUESTIONS],
            [e.id for e in item.suggestions],
            question_id,
            curator,
        )
        await self.store.add_mark(g.key, "draft", question_id, None, curator)
        return d

    # -- candidates --------------------------------------------------------------------------
    async def next_candidate(self) -> Candidate | None:
        rows, total = await self.store.candidates(limit=1)
        if not rows:
            return None
        return Candidate(rows[0], self.qa.kb.get(rows[0].entry_id), 1, total)

    async def decide(self, phrasing_id: int, accept: bool, curator: int | None) -> Attached:
        """Accept or reject a candidate: ``ok``, ``stale`` (already decided), ``unknown`` (its
        entry is gone) or ``taken`` (another entry has that question)."""
        p = await self.store.get(phrasing_id)
        if p is None or p.status != "candidate":
            return Attached("stale")
        entry = self.qa.kb.get(p.entry_id)
        if accept:
            if entry is None:
                return Attached("unknown", p.text)
            other = self._owner(p.text, p.entry_id)
            if other is not None:
                return Attached("taken", p.text, entry, other)
        if not await self.store.decide(phrasing_id, accept, curator):
            return Attached("stale")
        if accept:
            await self.qa.refresh_learned(force=True)
        return Attached("ok", p.text, entry)
