"""Storing, claiming and finishing inbox rows (see :mod:`bot.inbox`).

A row is ``pending`` when stored, ``working`` while one process holds it (``owner`` until
``lease_until``; the holder renews the lease while it works), then ``done`` (or ``failed``
after ``max_attempts`` claims: an update that kills the process every time it is handled is
not retried forever). A row whose lease expired (its process died or froze) is claimable
again by any process: at-least-once, and only updates that were in flight may repeat.

One chat's updates run in order: a claim never takes a row of a chat whose earlier rows are
held by another process with a valid lease, and rows are taken in ``update_id`` order. On
PostgreSQL claims are serialised by a transaction-level advisory lock (two processes claiming
at the same instant could otherwise each take one row of the same chat).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import aliased

from bot.db import Database
from bot.db.base import utcnow
from bot.inbox.models import U_DONE, U_FAILED, U_PENDING, U_WORKING, InboxUpdate

#: the advisory lock key that serialises claims on PostgreSQL ("inbx")
CLAIM_LOCK = 0x696E6278
ERROR_MAX = 200


def update_kind(payload: dict) -> str:
    """The update's type: the first field besides ``update_id`` (``message``, ...)."""
    for key in payload:
        if key != "update_id":
            return str(key)[:40]
    return "unknown"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def chat_key_of(payload: dict) -> int | None:
    """The chat an update belongs to (its order is kept per key): the chat's id, else the
    id of the user it comes from; None when neither is known (runs on its own)."""
    body = payload.get(update_kind(payload))
    if not isinstance(body, dict):
        return None
    chat = body.get("chat")
    if chat is None:
        message = body.get("message")  # callback_query
        if isinstance(message, dict):
            chat = message.get("chat")
    if isinstance(chat, dict) and _int(chat.get("id")) is not None:
        return chat["id"]
    for field in ("from", "user", "voter_chat"):
        who = body.get(field)
        if isinstance(who, dict) and _int(who.get("id")) is not None:
            return who["id"]
    return None


@dataclass(frozen=True)
class Claimed:
    """An inbox row held by this process."""

    id: int
    update_id: int
    chat_key: int | None
    payload: dict
    attempts: int


class InboxService:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 5,
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_attempts = max_attempts

    # -- intake ------------------------------------------------------------------------------
    async def store(self, payloads: Sequence[dict]) -> set[int]:
        """Store updates in one transaction; returns the update_ids that were new (the others
        were stored before: a redelivery, ignored)."""
        rows: dict[int, dict] = {}
        now = self.clock()
        for p in payloads:
            uid = _int(p.get("update_id"))
            if uid is None or uid in rows:
                continue
            rows[uid] = {
                "update_id": uid,
                "kind": update_kind(p),
                "chat_key": chat_key_of(p),
                "payload": json.dumps(p, ensure_ascii=False, separators=(",", ":")),
                "status": U_PENDING,
                "attempts": 0,
                "received_at": now,
            }
        if not rows:
            return set()
        if self.db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = (
            insert(InboxUpdate)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(InboxUpdate.update_id)
        )
        async with self.db.session() as s:
            return set((await s.scalars(stmt)).all())

    # -- processing --------------------------------------------------------------------------
    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        """Take up to ``limit`` rows (pending, or held under an expired lease) in update order,
        skipping chats whose rows another process holds; rows claimed ``max_attempts`` times
        already are marked failed instead."""
        if limit <= 0:
            return []
        now = self.clock()
        other = aliased(InboxUpdate)
        held_elsewhere = (
            select(other.id)
            .where(
                other.chat_key == InboxUpdate.chat_key,
                other.status == U_WORKING,
                other.owner != owner,
                other.lease_until > now,
            )
            .exists()
        )
        due = or_(
            InboxUpdate.status == U_PENDING,
            and_(InboxUpdate.status == U_WORKING, InboxUpdate.lease_until <= now),
        )
        q = (
            select(InboxUpdate.id, InboxUpdate.update_id, InboxUpdate.chat_key)
            .where(due, or_(InboxUpdate.chat_key.is_(None), ~held_elsewhere))
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        async with self.db.session() as s:
            if not self.db.is_sqlite:
                await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
            picked = (await s.execute(q)).all()
            if not picked:
                return []
            ids = [r.id for r in picked]
            rows = (
                await s.execute(
                    update(InboxUpdate)
                    .where(InboxUpdate.id.in_(ids))
                    .values(
                        status=U_WORKING,
                        owner=owner,
                        lease_until=now + timedelta(seconds=lease_seconds),
                        started_at=now,
                        attempts=InboxUpdate.attempts + 1,
                    )
                    .returning(
                        InboxUpdate.id,
                        InboxUpdate.update_id,
                        InboxUpdate.chat_key,
                        InboxUpdate.payload,
                        InboxUpdate.attempts,
                    )
                )
            ).all()
            out, poisoned = [], []
            for r in sorted(rows, key=lambda r: r.update_id):
                if r.attempts > self.max_attempts or r.payload is None:
                    poisoned.append(r.id)
                    continue
                out.append(
                    Claimed(r.id, r.update_id, r.chat_key, json.loads(r.payload), r.attempts)
                )
            if poisoned:
                await s.execute(
                    update(InboxUpdate)
                    .where(InboxUpdate.id.in_(poisoned))
                    .values(**self._closed(U_FAILED, now), error="too many attempts")
                )
        return out

    @staticmethod
    def _closed(status: str, now: datetime) -> dict:
        """A finished row keeps no personal data: payload and chat key are dropped."""
        return {
            "status": status,
            "payload": None,
            "chat_key": None,
            "owner": None,
            "lease_until": None,
            "done_at": now,
        }

    async def finish(self, owner: str, ids: Iterable[int]) -> int:
        """Mark rows handled (only while this owner still holds them); returns how many."""
        ids = list(ids)
        if not ids:
            return 0
        async with self.db.session() as s:
            result = await s.execute(
                update(InboxUpdate)
                .where(
                    InboxUpdate.id.in_(ids),
                    InboxUpdate.owner == owner,
                    InboxUpdate.status == U_WORKING,
                )
                .values(**self._closed(U_DONE, self.clock()))
            )
        return result.rowcount or 0

    async def fail(self, owner: str, row_id: int, reason: str) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(InboxUpdate)
                .where(InboxUpdate.id == row_id, InboxUpdate.owner == owner)
                .values(**self._closed(U_FAILED, self.clock()), error=reason[:ERROR_MAX])
            )

    async def renew(self, owner: str, ids: Iterable[int], lease_seconds: float) -> set[int]:
        """Extend the lease of rows this owner holds; returns the ids it still holds."""
        ids = list(ids)
        if not ids:
            return set()
        until = self.clock() + timedelta(seconds=lease_seconds)
        async with self.db.session() as s:
            kept = await s.scalars(
                update(InboxUpdate)
                .where(
                    InboxUpdate.id.in_(ids),
                    InboxUpdate.owner == owner,
                    InboxUpdate.status == U_WORKING,
                )
                .values(lease_until=until)
                .returning(InboxUpdate.id)
            )
            return set(kept.all())

    async def release(self, owner: str, ids: Iterable[int]) -> None:
        """Give rows back (shutdown before handling them): any process takes them at once."""
        ids = list(ids)
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(
                update(InboxUpdate)
                .where(InboxUpdate.id.in_(ids), InboxUpdate.owner == owner)
                .values(status=U_PENDING, owner=None, lease_until=None)
            )

    async def recover(self) -> int:
        """SQLite (one process by design): rows a previous run still held are given back at
        start, so a crash does not delay them by a lease period."""
        async with self.db.session() as s:
            result = await s.execute(
                update(InboxUpdate)
                .where(InboxUpdate.status == U_WORKING)
                .values(status=U_PENDING, owner=None, lease_until=None)
            )
        return result.rowcount or 0

    async def purge(self, older_than: timedelta) -> int:
        """Delete finished rows older than the retention period; returns how many."""
        cutoff = self.clock() - older_than
        async with self.db.session() as s:
            result = await s.execute(
                delete(InboxUpdate).where(
                    InboxUpdate.status.in_([U_DONE, U_FAILED]), InboxUpdate.done_at < cutoff
                )
            )
        return result.rowcount or 0

    async def forget_chats(self, keys: Iterable[int]) -> None:
        """/hapusdata: the rows of these chats being handled right now (the erasure's own
        update among them) lose their payload and chat key at once, not when marked done.
        Rows still waiting keep theirs: they are handled after the erasure, as new messages."""
        keys = [k for k in keys if k is not None]
        if not keys:
            return
        async with self.db.session() as s:
            await s.execute(
                update(InboxUpdate)
                .where(InboxUpdate.chat_key.in_(keys), InboxUpdate.status != U_PENDING)
                .values(chat_key=None, payload=None)
            )

    async def handled_upto(self, update_id: int) -> bool:
        """Whether ``update_id`` was stored and nothing stored is still waiting or running
        (tests and benches: "the bot has finished with everything sent so far")."""
        async with self.db.session() as s:
            stored = await s.scalar(select(func.count()).where(InboxUpdate.update_id == update_id))
            waiting = await s.scalar(
                select(func.count()).where(InboxUpdate.status.in_([U_PENDING, U_WORKING]))
            )
        return bool(stored) and not waiting

    async def counts(self) -> dict[str, int]:
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status)
                )
            ).all()
        return {status: int(n) for status, n in rows}
