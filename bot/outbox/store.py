"""The outbox in the database: messages, one delivery row per recipient, claims with a lease.

Everything the bot sends in bulk (broadcasts, due reminders, tips, calendar reminders) becomes
rows here; the sender (``bot.outbox.sender``) drains them. The database is the source of truth:
a delivery is ``pending`` until claimed, ``sending`` while leased (its ``next_attempt_at`` equals
the lease end, so an expired lease makes it due again), then ``sent`` / ``blocked`` / ``failed``
/ ``cancelled``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update

from bot.config import Settings
from bot.db import Database
from bot.models import utcnow
from bot.models.outbox import (
    D_BLOCKED,
    D_CANCELLED,
    D_FAILED,
    D_PENDING,
    D_SENDING,
    D_SENT,
    KIND_BROADCAST,
    MSG_CANCELLED,
    MSG_DONE,
    MSG_DRAFT,
    MSG_RUNNING,
    MSG_SCHEDULED,
    Delivery,
    OutboxMessage,
)
from bot.transport import Button

log = logging.getLogger(__name__)

INSERT_CHUNK = 500
ERROR_MAX = 500


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    user_id: int | None = None
    text: str | None = None  # per-recipient content (e.g. this user's next tip)
    buttons: list | None = None


@dataclass(frozen=True)
class Content:
    """What a message looks like, as the sender needs it."""

    kind: str
    text: str | None
    copy_from_chat_id: int | None
    copy_message_id: int | None
    buttons: list | None


@dataclass(frozen=True)
class Claimed:
    """A delivery row leased to one sender."""

    id: int
    message_id: int
    chat_id: int
    user_id: int | None
    attempts: int
    text: str | None
    buttons: list | None
    lease_until: datetime
    owner: str


@dataclass(frozen=True)
class Counts:
    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    pending: int = 0  # pending + sending

    @property
    def finished(self) -> int:
        return self.sent + self.blocked + self.failed + self.cancelled

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


@dataclass(frozen=True)
class Progress:
    """A message with its delivery counts: the broadcast report, live or final."""

    id: int
    kind: str
    status: str
    counts: Counts
    text: str | None
    is_copy: bool
    audience_opds: list[str] = field(default_factory=list)
    creator_user_id: int | None = None
    creator_chat_id: int | None = None
    scheduled_at: datetime | None = None
    timezone: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancelled_at: datetime | None = None
    status_chat_id: int | None = None
    status_message_id: int | None = None
    note: str | None = None
    eta_seconds: float | None = None

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def sent(self) -> int:
        return self.counts.sent

    @property
    def blocked(self) -> int:
        return self.counts.blocked

    @property
    def failed(self) -> int:
        return self.counts.failed

    @property
    def pending(self) -> int:
        return self.counts.pending

    @property
    def cancelled(self) -> int:
        return self.counts.cancelled

    @property
    def fraction(self) -> float:
        return self.counts.fraction

    @property
    def running(self) -> bool:
        return self.status == MSG_RUNNING


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


def _cut(reason: str | None) -> str | None:
    if reason is None:
        return None
    return reason[:ERROR_MAX]


class OutboxService:
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

    # -- reports -----------------------------------------------------------------------------
    async def counts(self, message_ids: Sequence[int]) -> dict[int, Counts]:
        if not message_ids:
            return {}
        async with self.db.session() as s:
            rows = await s.execute(
                select(Delivery.message_id, Delivery.status, func.count(Delivery.id))
                .where(Delivery.message_id.in_(list(message_ids)))
                .group_by(Delivery.message_id, Delivery.status)
            )
            raw: dict[int, dict[str, int]] = {mid: {} for mid in message_ids}
            for mid, status, n in rows.all():
                raw.setdefault(mid, {})[status] = int(n)
        out = {}
        for mid, by in raw.items():
            out[mid] = Counts(
                total=sum(by.values()),
                sent=by.get(D_SENT, 0),
                blocked=by.get(D_BLOCKED, 0),
                failed=by.get(D_FAILED, 0),
                cancelled=by.get(D_CANCELLED, 0),
                pending=by.get(D_PENDING, 0) + by.get(D_SENDING, 0),
            )
        return out

    def _progress(self, m: OutboxMessage, c: Counts) -> Progress:
        eta = None
        if m.status == MSG_RUNNING and c.pending:
            eta = c.pending / float(self.settings.broadcast_rate)
        return Progress(
            id=m.id,
            kind=m.kind,
            status=m.status,
            counts=c,
            text=m.text,
            is_copy=m.copy_message_id is not None,
            audience_opds=list((m.audience or {}).get("opds") or []),
            creator_user_id=m.creator_user_id,
            creator_chat_id=m.creator_chat_id,
            scheduled_at=m.scheduled_at,
            timezone=m.timezone,
            created_at=m.created_at,
            started_at=m.started_at,
            finished_at=m.finished_at,
            cancelled_at=m.cancelled_at,
            status_chat_id=m.status_chat_id,
            status_message_id=m.status_message_id,
            note=m.note,
            eta_seconds=eta,
        )

    async def get(self, message_id: int) -> Progress | None:
        async with self.db.session() as s:
            m = await s.get(OutboxMessage, message_id)
        if m is None:
            return None
        c = (await self.counts([message_id]))[message_id]
        return self._progress(m, c)

    async def content(self, message_id: int) -> Content | None:
        return (await self.contents([message_id])).get(message_id)

    async def contents(self, message_ids: Iterable[int]) -> dict[int, Content]:
        ids = list(set(message_ids))
        if not ids:
            return {}
        async with self.db.session() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))).all()
            return {
                m.id: Content(m.kind, m.text, m.copy_from_chat_id, m.copy_message_id, m.buttons)
                for m in rows
            }

    async def recent(self, kind: str = KIND_BROADCAST, limit: int = 5) -> list[Progress]:
        """Latest messages of a kind (drafts excluded), newest first, with their counts."""
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == kind, OutboxMessage.status != MSG_DRAFT)
                    .order_by(OutboxMessage.id.desc())
                    .limit(limit)
                )
            ).all()
        counts = await self.counts([m.id for m in rows])
        return [self._progress(m, counts[m.id]) for m in rows]

    async def running_ids(self) -> list[int]:
        async with self.db.session() as s:
            return list(
                (
                    await s.scalars(
                        select(OutboxMessage.id).where(OutboxMessage.status == MSG_RUNNING)
                    )
                ).all()
            )

    async def cancelled_among(self, message_ids: Iterable[int]) -> set[int]:
        ids = list(set(message_ids))
        if not ids:
            return set()
        async with self.db.session() as s:
            return set(
                (
                    await s.scalars(
                        select(OutboxMessage.id).where(
                            OutboxMessage.id.in_(ids), OutboxMessage.status == MSG_CANCELLED
                        )
                    )
                ).all()
            )

    async def finish_drained(self) -> list[int]:
        """Mark running messages with nothing left to send as done; returns their ids."""
        now = self.clock()
        busy = (
            select(Delivery.id)
            .where(
                Delivery.message_id == OutboxMessage.id,
                Delivery.status.in_([D_PENDING, D_SENDING]),
            )
            .exists()
        )
        async with self.db.session() as s:
            ids = list(
                (
                    await s.scalars(
                        select(OutboxMessage.id).where(OutboxMessage.status == MSG_RUNNING, ~busy)
                    )
                ).all()
            )
            if ids:
                await s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.status == MSG_RUNNING, ~busy)
                    .values(status=MSG_DONE, finished_at=now)
                )
        return ids

    # -- the sender's side -------------------------------------------------------------------
    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Claimed]:
        """Lease up to ``limit`` due rows (pending and due, or leased with an expired lease).

        On PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED`` so concurrent
        claimers never get the same row; on SQLite there is one process (and one writer).
        """
        if limit <= 0:
            return []
        now = self.clock()
        until = now + timedelta(seconds=lease_seconds)
        due = and_(
            Delivery.status.in_([D_PENDING, D_SENDING]),
            Delivery.next_attempt_at <= now,
        )
        async with self.db.session() as s:
            ids = list(
                (
                    await s.scalars(
                        select(Delivery.id)
                        .where(due)
                        .order_by(Delivery.next_attempt_at, Delivery.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            if not ids:
                return []
            rows = (
                await s.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids), due)
                    .values(
                        status=D_SENDING,
                        lease_owner=owner,
                        lease_until=until,
                        next_attempt_at=until,
                        updated_at=now,
                    )
                    .returning(
                        Delivery.id,
                        Delivery.message_id,
                        Delivery.chat_id,
                        Delivery.user_id,
                        Delivery.attempts,
                        Delivery.text,
                        Delivery.buttons,
                    )
                )
            ).all()
        out = [
            Claimed(
                id=r[0],
                message_id=r[1],
                chat_id=r[2],
                user_id=r[3],
                attempts=r[4],
                text=r[5],
                buttons=r[6],
                lease_until=until,
                owner=owner,
            )
            for r in rows
        ]
        out.sort(key=lambda c: c.id)
        return out

    async def mark_sent(self, d: Claimed, telegram_message_id: int | None) -> None:
        """It went out: record it even if the lease was lost meanwhile (the truth wins)."""
        now = self.clock()
        async with self.db.session() as s:
            await s.execute(
                update(Delivery)
                .where(Delivery.id == d.id, Delivery.status.not_in([D_SENT, D_BLOCKED, D_FAILED]))
                .values(
                    status=D_SENT,
                    telegram_message_id=telegram_message_id,
                    sent_at=now,
                    lease_owner=None,
                    lease_until=None,
                    error=None,
                    attempts=Delivery.attempts + 1,
                    updated_at=now,
                )
            )

    def _mine(self, d: Claimed):
        return and_(
            Delivery.id == d.id, Delivery.status == D_SENDING, Delivery.lease_owner == d.owner
        )

    async def mark_blocked(self, d: Claimed, reason: str) -> None:
        """403: the user blocked the bot or is deactivated. Never retried; user inactive."""
        now = self.clock()
        async with self.db.session() as s:
            await s.execute(
                update(Delivery)
                .where(Delivery.id == d.id, Delivery.status.in_([D_SENDING, D_PENDING]))
                .values(
                    status=D_BLOCKED,
                    error=_cut(reason) or "blocked",
                    lease_owner=None,
                    lease_until=None,
                    attempts=Delivery.attempts + 1,
                    updated_at=now,
                )
            )
        await self.users.mark_blocked(d.chat_id)

    async def mark_failed(self, d: Claimed, reason: str, *, count_attempt: bool = True) -> None:
        now = self.clock()
        async with self.db.session() as s:
            await s.execute(
                update(Delivery)
                .where(self._mine(d))
                .values(
                    status=D_FAILED,
                    error=_cut(reason) or "failed",
                    lease_owner=None,
                    lease_until=None,
                    attempts=Delivery.attempts + (1 if count_attempt else 0),
                    updated_at=now,
                )
            )

    async def retry_later(
        self, d: Claimed, at: datetime, reason: str | None, *, count_attempt: bool
    ) -> None:
        """Back to pending, due at ``at`` (flood control, backoff, per-chat spacing)."""
        now = self.clock()
        async with self.db.session() as s:
            await s.execute(
                update(Delivery)
                .where(self._mine(d))
                .values(
                    status=D_PENDING,
                    next_attempt_at=at,
                    error=_cut(reason),
                    lease_owner=None,
                    lease_until=None,
                    attempts=Delivery.attempts + (1 if count_attempt else 0),
                    updated_at=now,
                )
            )

    async def release(self, rows: Sequence[Claimed]) -> None:
        """Give leased rows back unsent (shutdown, lease about to expire)."""
        if not rows:
            return
        now = self.clock()
        async with self.db.session() as s:
            for owner in {r.owner for r in rows}:
                await s.execute(
                    update(Delivery)
                    .where(
                        Delivery.id.in_([r.id for r in rows if r.owner == owner]),
                        Delivery.status == D_SENDING,
                        Delivery.lease_owner == owner,
                    )
                    .values(
                        status=D_PENDING,
                        next_attempt_at=now,
                        lease_owner=None,
                        lease_until=None,
                        updated_at=now,
                    )
                )

    async def due_count(self) -> int:
        now = self.clock()
        async with self.db.session() as s:
            return int(
                await s.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.status.in_([D_PENDING, D_SENDING]),
                        Delivery.next_attempt_at <= now,
                    )
                )
                or 0
            )

    async def next_due_at(self) -> datetime | None:
        async with self.db.session() as s:
            return await s.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.status.in_([D_PENDING, D_SENDING])
                )
            )
