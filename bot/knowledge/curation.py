"""Curators' decisions from chat: /celah items and candidate phrasings (/kandidat).

A /celah item is a group of similar unanswered questions, named by the log id of its first
question (short, numeric: fits Telegram's 64-byte callback data); an entry offered for it is
named by :func:`entry_ref`, a short number, since entry ids can be long. Every action acts on
the whole group and re-reads the report first, so an item another curator already handled (or
that aged out of it) is ``stale`` and nothing changes.
"""

from __future__ import annotations

import hashlib
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
FOUND = 6  # entries offered for a curator's typed id or words
ATTACH_MAX = 8  # a group's questions attached at most
REF_DIGITS = 8
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
    other: Entry | None = None  # another entry that already has (one of) the question(s)
    added: tuple[str, ...] = ()  # the group's questions that became alternate questions


@dataclass(frozen=True)
class Candidate:
    phrasing: PhrasingView
    entry: Entry | None
    position: int
    total: int


def entry_ref(entry_id: str) -> str:
    """A short, stable number naming an entry on a button (ids may be 40 bytes long)."""
    digest = hashlib.sha1(entry_id.encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**REF_DIGITS)


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
        await self.qa.refresh_learned()  # phrasings another process accepted count here too
        for g in await self.qa.gaps():
            if question_id in g.ids:
                hits = self.qa.kb.search(g.example, limit=SUGGESTED).hits
                entries = [e for e in (self.qa.kb.get(h.id) for h in hits) if e is not None]
                return GapItem(g, entries)
        return None

    def resolve(self, ref: str, prefer: list[Entry] | tuple[Entry, ...] = ()) -> Entry | None:
        """The entry a button's :func:`entry_ref` names: among ``prefer`` (the entries that
        were offered) first, else the only one in the knowledge base; None when ambiguous."""
        for e in prefer:
            if entry_ref(e.id) == ref and e.id in self.qa.kb:
                return self.qa.kb.get(e.id)
        found = [e for e in self.qa.kb.entries if entry_ref(e.id) == ref]
        return found[0] if len(found) == 1 else None

    def find(self, text: str) -> list[Entry]:
        """Entries for a curator's typed id or words: the exact id; else ids and titles that
        contain it; else the search's hits when it would answer (or its close topics)."""
        kb = self.qa.kb
        query = " ".join(text.split()).strip().lower()
        if not query:
            return []
        exact = kb.get(query)
        if exact is not None:
            return [exact]
        folded = fold(query)
        slug = folded.replace(" ", "-")
        out = [e for e in kb.entries if slug in e.id or folded in fold(e.title)]
        if not out:
            found = kb.search(query, limit=FOUND)
            hits = found.hits if found.answered else found.close  # not far-off entries
            out = [e for e in (kb.get(h.id) for h in hits) if e is not None]
        return out[:FOUND]

    def knows(self, entry_id: str, text: str) -> bool:
        """Whether ``text`` means, to the search, the same as the entry's title or one of its
        questions (nothing to learn from it)."""
        kb = self.qa.kb
        entry = kb.get(entry_id)
        if entry is None:
            return False
        key = self._terms(text)
        return any(self._terms(q) == key for q in (entry.title, *entry.questions))

    def _terms(self, text: str) -> tuple[str, ...]:
        return tuple(sorted(self.qa.kb.normalizer.index_terms(text)))

    def _owner(self, text: str, entry_id: str) -> Entry | None:
        """Another entry whose title or question means the same as ``text`` to the search."""
        key = self._terms(text)
        for e in self.qa.kb.entries:
            if e.id == entry_id:
                continue
            for q in (e.title, *e.questions):
                if self._terms(q) == key:
                    return e
        return None

    async def attach(self, question_id: int, entry_id: str, curator: int | None) -> Attached:
        """Make the item's questions (the whole group, at most ``ATTACH_MAX``) alternate
        questions of ``entry_id``; questions another entry already has are left out."""
        entry = self.qa.kb.get(entry_id)
        if entry is None:
            return Attached("unknown")
        item = await self.item(question_id)
        if item is None:
            return Attached("stale", entry=entry)
        texts = list(dict.fromkeys(clean_phrasing(q) for q in item.group.questions))
        usable = [t for t in texts if self.qa.kb.normalizer.index_terms(t)][:ATTACH_MAX]
        if not usable:
            return Attached("vague", texts[0] if texts else "", entry)
        other: Entry | None = None
        free: list[str] = []
        for t in usable:
            owner = self._owner(t, entry_id)
            if owner is None:
                free.append(t)
            elif other is None:
                other = owner
        if not free:
            return Attached("taken", usable[0], entry, other)
        added = await self.store.accept_texts(entry_id, free, question_id, curator)
        await self.store.add_mark(item.group.key, "attached", question_id, entry_id, curator)
        if added:
            await self.qa.refresh_learned(force=True)
        return Attached("ok" if added else "known", free[0], entry, other, tuple(added))

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
    async def pending(self) -> int:
        """How many candidate phrasings wait for a curator."""
        return (await self.store.candidates(limit=0))[1]

    async def next_candidate(self, offset: int = 0) -> Candidate | None:
        """The pending candidate at ``offset`` (most 👍 first); past the end, the last one."""
        rows, total = await self.store.candidates(limit=1, offset=offset)
        if not rows and total and offset > 0:
            offset = total - 1
            rows, total = await self.store.candidates(limit=1, offset=offset)
        if not rows:
            return None
        return Candidate(rows[0], self.qa.kb.get(rows[0].entry_id), offset + 1, total)

    async def decide(self, phrasing_id: int, accept: bool, curator: int | None) -> Attached:
        """Accept or reject a candidate: ``ok``, ``stale`` (already decided), ``unknown`` (its
        entry is gone) or ``taken`` (another entry has that question)."""
        p = await self.store.get(phrasing_id)
        if p is None or p.status != "candidate":
            return Attached("stale")
        await self.qa.refresh_learned()
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
            # the question now has its entry: a /celah group of it (asked until now) is done
            key = self.qa.kb.normalize(p.text)
            await self.store.add_mark(key, "attached", None, p.entry_id, curator)
            await self.qa.refresh_learned(force=True)
        return Attached("ok", p.text, entry)
