"""The outbox in the database: messages, one delivery row per recipient, claims with a lease.

Everything the bot sends in bulk (broadcasts, due reminders, tips, calendar reminders) becomes
rows here; the sender (``bot.outbox.sender``) drains them. The database is the source of truth:
a delivery is ``pending`` until claimed, ``sending`` while leased (its ``next_attempt_at`` equals
the lease end, so an expired lease makes it due again), then ``sent`` / ``blocked`` / ``failed``
/ ``cancelled``.

:class:`OutboxService` is the facade: creating, queueing, scheduling and cancelling messages
here; the sender's claims and marks in :mod:`bot.outbox.claims`; counts and reports in
:mod:`bot.outbox.progress`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.config import Settings
from bot.db import Database
from bot.db.base import utcnow
from bot.outbox.claims import Claims
from bot.outbox.models import (
    D_CANCELLED,
    D_PENDING,
    D_SENDING,
    KIND_BROADCAST,
    MSG_CANCELLED,
    MSG_DONE,
    MSG_DRAFT,
    MSG_RUNNING,
    MSG_SCHEDULED,
    Delivery,
    OutboxMessage,
)
from bot.outbox.progress import Reports
from bot.transport import Button

log = logging.getLogger(__name__)

INSERT_CHUNK = 500


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    user_id: int | None = None
    text: str | None = None  # per-recipient content (e.g. this user's next tip)
    buttons: list | None = None


def buttons_to_json(rows: Sequence[Sequence[Button]] | None) -> list | None:
    if not rows:
        return None
    return [
        [{"text": b.text, "callback_data": b.callback_data, "url": b.url} for b in row]
        for row in rows
    ]


def buttons_from_json(data: list | None) -> list[list[Button]]:
    if not data:
        return []
    return [
        [Button(b["text"], callback_data=b.get("callback_data"), url=b.get("url")) for b in row]
        for row in data
    ]


class OutboxService(Claims, Reports):
    """Database side of the outbox. ``users`` is the UserService (recipients, mark_blocked)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        users: Any,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.users = users
        self.clock = clock
        # Called with no argument when new rows are due (wakes the sender in this process).
        self.on_enqueue: list[Callable[[], None]] = []
        # Called with the message id when a message is cancelled.
        self.on_cancel: list[Callable[[int], None]] = []
        # Called when a broadcast is scheduled / unscheduled (the scheduler resyncs).
        self.on_schedule_change: list[Callable[[], None]] = []

    # -- helpers -----------------------------------------------------------------------------
    def _insert(self, model):
        if self.db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(model)

    def _notify(self, hooks: list, *args: Any) -> None:
        for hook in list(hooks):
            try:
                hook(*args)
            except Exception:  # a listener's bug must not break the caller
                log.exception("outbox listener failed")

    # -- audience ----------------------------------------------------------------------------
    async def audience(self, opd_slugs: list[str] | None = None) -> list[Recipient]:
        pairs = await self.users.active_recipients(opd_slugs or None)
        return [Recipient(chat_id=chat_id, user_id=user_id) for user_id, chat_id in pairs]

    async def count_audience(self, opd_slugs: list[str] | None = None) -> int:
        return len(await self.users.active_recipients(opd_slugs or None))

    # -- messages ----------------------------------------------------------------------------
    async def create_message(
        self,
        kind: str,
        *,
        text: str | None = None,
        copy_from: tuple[int, int] | None = None,
        buttons: list | None = None,
        creator_user_id: int | None = None,
        creator_chat_id: int | None = None,
        audience_opds: list[str] | None = None,
        status: str = MSG_DRAFT,
        dedupe_key: str | None = None,
        timezone: str | None = None,
        session=None,
    ) -> tuple[int, bool]:
        """Create a message; with ``dedupe_key`` an existing one is returned instead.

        Returns (id, created).
        """
        if text is None and copy_from is None:
            raise ValueError("a message needs text or a message to copy")

        async def go(s) -> tuple[int, bool]:
            if dedupe_key is not None:
                existing = await s.scalar(
                    select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
                )
                if existing is not None:
                    return existing, False
            now = self.clock()
            msg = OutboxMessage(
                kind=kind,
                status=status,
                text=text,
                copy_from_chat_id=copy_from[0] if copy_from else None,
                copy_message_id=copy_from[1] if copy_from else None,
                buttons=buttons,
                creator_user_id=creator_user_id,
                creator_chat_id=creator_chat_id,
                audience={"opds": sorted(set(audience_opds))} if audience_opds else None,
                dedupe_key=dedupe_key,
                timezone=timezone,
                created_at=now,
                started_at=now if status == MSG_RUNNING else None,
            )
            s.add(msg)
            await s.flush()
            return msg.id, True

        if session is not None:
            return await go(session)
        async with self.db.session() as s:
            return await go(s)

    async def set_audience(self, message_id: int, opd_slugs: list[str] | None) -> bool:
        """Change a draft's audience (None or [] = every active user)."""
        async with self.db.session() as s:
            res = await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == MSG_DRAFT)
                .values(audience={"opds": sorted(set(opd_slugs))} if opd_slugs else None)
            )
            return res.rowcount > 0

    async def set_status_message(self, message_id: int, chat_id: int, status_msg_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(status_chat_id=chat_id, status_message_id=status_msg_id)
            )

    async def enqueue(
        self,
        message_id: int,
        recipients: Iterable[Recipient],
        *,
        due: datetime | None = None,
        session=None,
    ) -> int:
        """Add one delivery per recipient; a chat already queued for this message is skipped.

        Returns how many rows the message has now.
        """
        now = self.clock()
        rows = []
        seen: set[int] = set()
        for r in recipients:
            if r.chat_id in seen:
                continue
            seen.add(r.chat_id)
            rows.append(
                {
                    "message_id": message_id,
                    "chat_id": r.chat_id,
                    "user_id": r.user_id,
                    "text": r.text,
                    "buttons": r.buttons,
                    "status": D_PENDING,
                    "attempts": 0,
                    "next_attempt_at": due or now,
                    "created_at": now,
                    "updated_at": now,
                }
            )

        async def go(s) -> int:
            if rows:
                stmt = self._insert(Delivery).on_conflict_do_nothing(
                    index_elements=["message_id", "chat_id"]
                )
                for i in range(0, len(rows), INSERT_CHUNK):
                    await s.execute(stmt, rows[i : i + INSERT_CHUNK])
            total = await s.scalar(
                select(func.count(Delivery.id)).where(Delivery.message_id == message_id)
            )
            values: dict[str, Any] = {"total": total}
            msg = await s.get(OutboxMessage, message_id)
            if msg is not None and msg.status == MSG_DONE and rows:
                values["status"] = MSG_RUNNING  # system messages get new recipients over time
                values["finished_at"] = None
            await s.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
            )
            return int(total or 0)

        if session is not None:
            total = await go(session)
        else:
            async with self.db.session() as s:
                total = await go(s)
        if rows:
            self._notify(self.on_enqueue)
        return total

    async def start_broadcast(self, message_id: int) -> int | None:
        """Turn a draft or scheduled broadcast into deliveries to its audience, now.

        Returns the number of recipients, or None when the broadcast is not startable.
        """
        async with self.db.session() as s:
            msg = await s.get(OutboxMessage, message_id)
            if msg is None or msg.status not in (MSG_DRAFT, MSG_SCHEDULED):
                return None
            opds = (msg.audience or {}).get("opds") or None
        recipients = await self.audience(opds)
        # One transaction: the status change and every delivery row, or nothing.
        async with self.db.session() as s:
            now = self.clock()
            res = await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status.in_([MSG_DRAFT, MSG_SCHEDULED]),
                )
                .values(
                    status=MSG_RUNNING if recipients else MSG_DONE,
                    started_at=now,
                    finished_at=None if recipients else now,
                )
            )
            if res.rowcount == 0:
                return None  # started or cancelled meanwhile
            total = await self.enqueue(message_id, recipients, session=s)
        self._notify(self.on_enqueue)
        self._notify(self.on_schedule_change)
        return total

    async def broadcast_now(
        self,
        text: str | None,
        *,
        opd_slugs: list[str] | None = None,
        copy_from: tuple[int, int] | None = None,
        creator_user_id: int | None = None,
        creator_chat_id: int | None = None,
    ) -> tuple[int, int]:
        """Create and queue a broadcast at once. Returns (id, recipients)."""
        mid, _ = await self.create_message(
            KIND_BROADCAST,
            text=text,
            copy_from=copy_from,
            creator_user_id=creator_user_id,
            creator_chat_id=creator_chat_id,
            audience_opds=opd_slugs,
        )
        total = await self.start_broadcast(mid)
        return mid, total or 0

    async def schedule_broadcast(self, message_id: int, at: datetime, timezone: str) -> bool:
        async with self.db.session() as s:
            res = await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status.in_([MSG_DRAFT, MSG_SCHEDULED]),
                )
                .values(status=MSG_SCHEDULED, scheduled_at=at, timezone=timezone)
            )
            ok = res.rowcount > 0
        if ok:
            self._notify(self.on_schedule_change)
        return ok

    async def scheduled_broadcasts(self) -> list[tuple[int, datetime, str | None]]:
        async with self.db.session() as s:
            rows = await s.execute(
                select(OutboxMessage.id, OutboxMessage.scheduled_at, OutboxMessage.timezone)
                .where(OutboxMessage.status == MSG_SCHEDULED)
                .order_by(OutboxMessage.scheduled_at)
            )
            return [(r[0], r[1], r[2]) for r in rows.all()]

    async def cancel(self, message_id: int, note: str | None = None) -> bool:
        """Cancel a draft, scheduled or running message: nothing more of it is sent."""
        now = self.clock()
        async with self.db.session() as s:
            res = await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status.in_([MSG_DRAFT, MSG_SCHEDULED, MSG_RUNNING]),
                )
                .values(status=MSG_CANCELLED, cancelled_at=now, finished_at=now, note=note)
            )
            if res.rowcount == 0:
                return False
            await s.execute(
                update(Delivery)
                .where(
                    Delivery.message_id == message_id,
                    Delivery.status.in_([D_PENDING, D_SENDING]),
                )
                .values(status=D_CANCELLED, lease_owner=None, lease_until=None, updated_at=now)
            )
        self._notify(self.on_cancel, message_id)
        self._notify(self.on_schedule_change)
        return True

    async def delete_draft(self, message_id: int) -> bool:
        async with self.db.session() as s:
            msg = await s.get(OutboxMessage, message_id)
            if msg is None or msg.status != MSG_DRAFT:
                return False
            await s.delete(msg)
            return True
