"""What the knowledge base learns from use, in the database.

- Phrasings (:class:`~bot.knowledge.models.LearnedPhrasing`): a curator attaching a /celah
  question to an entry (accepted at once), or a user's pick among suggested entries (a
  candidate; a 👍 after it adds a vote, a 👎 withdraws it) that a curator accepts or rejects.
  Accepted phrasings are appended to their entry's ``questions`` before the search index is
  built (:func:`merge_learned`), so they rank like the curated ones.
- Every change to the accepted set bumps the ``learned`` counter in ``kb_revisions`` in the
  same transaction; each process compares it with the one its index was built from (one
  primary-key read) and rebuilds when it moved, so every process of a deployment picks up a
  phrasing within seconds.
- /celah decisions (:class:`~bot.knowledge.models.GapMark`) and draft entries
  (:class:`~bot.knowledge.models.DraftEntry`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.db.base import utcnow
from bot.knowledge.entry import Entry
from bot.knowledge.models import DraftEntry, GapMark, KbRevision, LearnedPhrasing
from bot.knowledge.search import KnowledgeBase
from bot.knowledge.tokens import fold

LEARNED = "learned"
PHRASING_MAX = 300
CANDIDATE = "candidate"
ACCEPTED = "accepted"
REJECTED = "rejected"

_SPACE_RE = re.compile(r"\s+")
_EDGE_PUNCT_RE = re.compile(r"^[\s?!.,;:]+|[\s?!.,;:]+$")


def clean_phrasing(text: str) -> str:
    """The question as it will stand in the entry's ``questions`` list: one line, trimmed."""
    text = _SPACE_RE.sub(" ", text).strip()
    return text[:PHRASING_MAX].strip()


def phrasing_key(text: str) -> str:
    """Folded form used to spot the same phrasing twice (case, accents, end punctuation)."""
    return _EDGE_PUNCT_RE.sub("", _SPACE_RE.sub(" ", fold(text)))[:1000]


@dataclass(frozen=True)
class PhrasingView:
    id: int
    entry_id: str
    text: str
    status: str
    source: str
    votes: int
    exported: bool
    created_at: datetime

    @classmethod
    def of(cls, row: LearnedPhrasing) -> PhrasingView:
        return cls(
            row.id,
            row.entry_id,
            row.text,
            row.status,
            row.source,
            row.votes or 0,
            row.exported_at is not None,
            row.created_at,
        )


@dataclass(frozen=True)
class DraftView:
    id: int
    entry_id: str
    pillar: str
    title: str
    questions: list[str]
    near: list[str]
    created_at: datetime
    exported: bool

    @classmethod
    def of(cls, row: DraftEntry) -> DraftView:
        return cls(
            row.id,
            row.entry_id,
            row.pillar,
            row.title,
            list(row.questions or []),
            list(row.near or []),
            row.created_at,
            row.exported_at is not None,
        )


@dataclass(frozen=True)
class MarkView:
    key: str
    kind: str
    created_at: datetime


def merge_learned(kb: KnowledgeBase, learned: Mapping[str, Sequence[str]]) -> KnowledgeBase:
    """``kb`` with the learned phrasings appended to their entries' ``questions`` (phrasings
    the entry already has, and entries that no longer exist, are skipped)."""
    if not learned:
        return kb
    entries: list[Entry] = []
    changed = False
    for e in kb.entries:
        extra = learned.get(e.id)
        if not extra:
            entries.append(e)
            continue
        have = {phrasing_key(q) for q in (e.title, *e.questions)}
        add: list[str] = []
        for text in extra:
            k = phrasing_key(text)
            if k and k not in have:
                have.add(k)
                add.append(text)
        if not add:
            entries.append(e)
            continue
        meta = e.meta.model_copy(update={"questions": (*e.questions, *add)})
        entries.append(Entry(meta=meta, body=e.body, html=e.html, path=e.path))
        changed = True
    if not changed:
        return kb
    return KnowledgeBase(entries, kb.lexicon, kb.normalizer)


class LearnedStore:
    """Database side of learning; every method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the revision counter ----------------------------------------------------------------
    async def revision(self) -> int:
        async with self.db.session() as s:
            return await self._revision(s)

    @staticmethod
    async def _revision(s: AsyncSession) -> int:
        value = await s.scalar(select(KbRevision.value).where(KbRevision.name == LEARNED))
        return int(value or 0)

    async def _bump(self, s: AsyncSession) -> None:
        """Count one change of the accepted set (an upsert: the row may not exist yet)."""
        if self.db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(KbRevision).values(name=LEARNED, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[KbRevision.name], set_={"value": KbRevision.value + 1}
        )
        await s.execute(stmt)

    async def snapshot(self) -> tuple[int, dict[str, list[str]]]:
        """The revision and the accepted phrasings per entry (oldest first), read together."""
        async with self.db.session() as s:
            rev = await self._revision(s)
            rows = (
                await s.execute(
                    select(LearnedPhrasing.entry_id, LearnedPhrasing.text)
                    .where(LearnedPhrasing.status == ACCEPTED)
                    .order_by(LearnedPhrasing.id)
                )
            ).all()
        out: dict[str, list[str]] = {}
        for entry_id, text in rows:
            out.setdefault(entry_id, []).append(text)
        return rev, out

    # -- phrasings ---------------------------------------------------------------------------
    async def _find(self, s: AsyncSession, entry_id: str, key: str) -> LearnedPhrasing | None:
        return await s.scalar(
            select(LearnedPhrasing).where(
                LearnedPhrasing.entry_id == entry_id, LearnedPhrasing.key == key
            )
        )

    async def _accept(
        self,
        s: AsyncSession,
        entry_id: str,
        text: str,
        key: str,
        question_id: int | None,
        curator: int | None,
    ) -> tuple[LearnedPhrasing, bool]:
        """Accept ``text`` for ``entry_id`` in session ``s``: the existing row (a candidate or
        a rejected one) or a new curator row; ``(row, changed)``, unchanged when accepted
        already."""
        row = await self._find(s, entry_id, key)
        if row is not None and row.status == ACCEPTED:
            return row, False
        if row is None:
            row = LearnedPhrasing(
                entry_id=entry_id,
                text=text,
                key=key,
                source="curator",
                votes=0,
                question_id=question_id,
            )
            s.add(row)
        row.status, row.decided_by, row.decided_at = ACCEPTED, curator, utcnow()
        await s.flush()
        return row, True

    async def accept_new(
        self, entry_id: str, text: str, question_id: int | None, curator: int | None
    ) -> tuple[PhrasingView, bool]:
        """A curator's phrasing, accepted at once; ``(view, changed)``."""
        text = clean_phrasing(text)
        async with self.db.session() as s:
            row, changed = await self._accept(
                s, entry_id, text, phrasing_key(text), question_id, curator
            )
            if changed:
                await self._bump(s)
            return PhrasingView.of(row), changed

    async def accept_texts(
        self, entry_id: str, texts: Sequence[str], question_id: int | None, curator: int | None
    ) -> list[str]:
        """A curator's phrasings for one entry (a /celah group), accepted at once in one
        transaction; the texts that were not accepted already."""
        added: list[str] = []
        async with self.db.session() as s:
            for raw in texts:
                text = clean_phrasing(raw)
                key = phrasing_key(text)
                if key and (await self._accept(s, entry_id, text, key, question_id, curator))[1]:
                    added.append(text)
            if added:
                await self._bump(s)
        return added

    async def add_candidate(
        self, entry_id: str, text: str, question_id: int, source: str = "pick"
    ) -> bool:
        """A user picked ``entry_id`` for ``text`` (``pick``), or gave 👍 to the answer it got
        (``thumbs``); False when it was already known."""
        text = clean_phrasing(text)
        key = phrasing_key(text)
        if not key:
            return False
        async with self.db.session() as s:
            if await self._find(s, entry_id, key) is not None:
                return False
            s.add(
                LearnedPhrasing(
                    entry_id=entry_id,
                    text=text,
                    key=key,
                    status=CANDIDATE,
                    source=source,
                    votes=0,
                    question_id=question_id,
                )
            )
            return True

    async def vote_candidate(self, question_id: int, value: int) -> None:
        """👍 after a pick adds a vote to its candidate; 👎 withdraws it."""
        async with self.db.session() as s:
            where = (
                LearnedPhrasing.question_id == question_id,
                LearnedPhrasing.status == CANDIDATE,
            )
            if value > 0:
                await s.execute(
                    update(LearnedPhrasing).where(*where).values(votes=LearnedPhrasing.votes + 1)
                )
            else:
                await s.execute(delete(LearnedPhrasing).where(*where))

    async def candidates(self, limit: int = 50, offset: int = 0) -> tuple[list[PhrasingView], int]:
        """Pending candidates, most 👍 first (from ``offset``), and how many there are in all."""
        async with self.db.session() as s:
            where = LearnedPhrasing.status == CANDIDATE
            total = await s.scalar(select(func.count()).select_from(LearnedPhrasing).where(where))
            rows = (
                await s.scalars(
                    select(LearnedPhrasing)
                    .where(where)
                    .order_by(LearnedPhrasing.votes.desc(), LearnedPhrasing.id)
                    .offset(max(0, offset))
                    .limit(limit)
                )
            ).all()
            return [PhrasingView.of(r) for r in rows], int(total or 0)

    async def get(self, phrasing_id: int) -> PhrasingView | None:
        async with self.db.session() as s:
            row = await s.get(LearnedPhrasing, phrasing_id)
            return PhrasingView.of(row) if row is not None else None

    async def decide(self, phrasing_id: int, accept: bool, curator: int | None) -> bool:
        """Accept or reject a pending candidate; False when it is no longer pending."""
        async with self.db.session() as s:
            row = await s.get(LearnedPhrasing, phrasing_id, with_for_update=not self.db.is_sqlite)
            if row is None or row.status != CANDIDATE:
                return False
            row.status = ACCEPTED if accept else REJECTED
            row.decided_by, row.decided_at = curator, utcnow()
            if accept:
                await self._bump(s)
            return True

    async def reject(self, ids: Iterable[int]) -> list[int]:
        """Reject phrasings whatever their state (the CLI); the ids that changed."""
        ids = list(ids)
        async with self.db.session() as s:
            rows = (
                await s.scalars(select(LearnedPhrasing).where(LearnedPhrasing.id.in_(ids)))
            ).all()
            changed = [r.id for r in rows if r.status != REJECTED]
            was_accepted = any(r.status == ACCEPTED for r in rows)
            for r in rows:
                r.status, r.decided_at = REJECTED, utcnow()
            if was_accepted:
                await self._bump(s)
            return changed

    async def listing(self, status: str | None = None) -> list[PhrasingView]:
        async with self.db.session() as s:
            q = select(LearnedPhrasing).order_by(LearnedPhrasing.entry_id, LearnedPhrasing.id)
            if status is not None:
                q = q.where(LearnedPhrasing.status == status)
            return [PhrasingView.of(r) for r in (await s.scalars(q)).all()]

    async def mark_exported(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(
                update(LearnedPhrasing)
                .where(LearnedPhrasing.id.in_(ids))
                .values(exported_at=utcnow())
            )

    # -- /celah decisions --------------------------------------------------------------------
    async def add_mark(
        self,
        key: str,
        kind: str,
        question_id: int | None,
        entry_id: str | None,
        curator: int | None,
    ) -> None:
        async with self.db.session() as s:
            s.add(
                GapMark(
                    key=key,
                    kind=kind,
                    question_id=question_id,
                    entry_id=entry_id,
                    decided_by=curator,
                )
            )

    async def marks(self) -> list[MarkView]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(GapMark).order_by(GapMark.id))).all()
            return [MarkView(r.key, r.kind, r.created_at) for r in rows]

    # -- drafts ------------------------------------------------------------------------------
    async def create_draft(
        self,
        entry_id: str,
        pillar: str,
        title: str,
        questions: list[str],
        near: list[str],
        question_id: int | None,
        curator: int | None,
    ) -> DraftView:
        async with self.db.session() as s:
            taken = set(
                (
                    await s.scalars(
                        select(DraftEntry.entry_id).where(DraftEntry.entry_id.like(f"{entry_id}%"))
                    )
                ).all()
            )
            final, n = entry_id, 2
            while final in taken:
                final = f"{entry_id[:60]}-{n}"
                n += 1
            row = DraftEntry(
                entry_id=final,
                pillar=pillar,
                title=title,
                questions=questions,
                near=near,
                question_id=question_id,
                created_by=curator,
            )
            s.add(row)
            await s.flush()
            return DraftView.of(row)

    async def drafts(self, pending_only: bool = False) -> list[DraftView]:
        async with self.db.session() as s:
            q = select(DraftEntry).order_by(DraftEntry.id)
            if pending_only:
                q = q.where(DraftEntry.exported_at.is_(None))
            return [DraftView.of(r) for r in (await s.scalars(q)).all()]

    async def mark_drafts_exported(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(
                update(DraftEntry).where(DraftEntry.id.in_(ids)).values(exported_at=utcnow())
            )
