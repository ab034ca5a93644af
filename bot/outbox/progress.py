"""Reading the outbox: delivery counts, the broadcast report (live or final), message content."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from bot.config import Settings
from bot.db import Database
from bot.outbox.models import (
    D_BLOCKED,
    D_CANCELLED,
    D_FAILED,
    D_PENDING,
    D_SENDING,
    D_SENT,
    KIND_BROADCAST,
    MSG_CANCELLED,
    MSG_DRAFT,
    MSG_RUNNING,
    Delivery,
    OutboxMessage,
)


@dataclass(frozen=True)
class Content:
    """What a message looks like, as the sender needs it."""

    kind: str
    text: str | None
    copy_from_chat_id: int | None
    copy_message_id: int | None
    buttons: list | None


@dataclass(frozen=True)
class Counts:
    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    pending: int = 0  # pending + sending
    # Sends that may have reached Telegram (every attempt is counted before it is made), and
    # of those the extra copies of delivered rows: a repeat happens only when an earlier
    # attempt's outcome could not be known (a crash, a lost lease) - it is counted, not hidden.
    attempts: int = 0
    repeats: int = 0

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
    def repeats(self) -> int:
        return self.counts.repeats

    @property
    def attempts(self) -> int:
        return self.counts.attempts

    @property
    def fraction(self) -> float:
        return self.counts.fraction

    @property
    def running(self) -> bool:
        return self.status == MSG_RUNNING


class Reports:
    """OutboxService part: counts, progress and content of messages."""

    db: Database
    settings: Settings
    clock: Callable[[], datetime]

    # -- reports -----------------------------------------------------------------------------
    async def counts(self, message_ids: Sequence[int]) -> dict[int, Counts]:
        if not message_ids:
            return {}
        async with self.db.session() as s:
            rows = await s.execute(
                select(
                    Delivery.message_id,
                    Delivery.status,
                    func.count(Delivery.id),
                    func.coalesce(func.sum(Delivery.attempts), 0),
                )
                .where(Delivery.message_id.in_(list(message_ids)))
                .group_by(Delivery.message_id, Delivery.status)
            )
            raw: dict[int, dict[str, int]] = {mid: {} for mid in message_ids}
            tries: dict[int, dict[str, int]] = {mid: {} for mid in message_ids}
            for mid, status, n, attempts in rows.all():
                raw.setdefault(mid, {})[status] = int(n)
                tries.setdefault(mid, {})[status] = int(attempts or 0)
        out = {}
        for mid, by in raw.items():
            sent_attempts = tries[mid].get(D_SENT, 0)
            out[mid] = Counts(
                total=sum(by.values()),
                sent=by.get(D_SENT, 0),
                blocked=by.get(D_BLOCKED, 0),
                failed=by.get(D_FAILED, 0),
                cancelled=by.get(D_CANCELLED, 0),
                pending=by.get(D_PENDING, 0) + by.get(D_SENDING, 0),
                attempts=sum(tries[mid].values()),
                repeats=max(0, sent_attempts - by.get(D_SENT, 0)),
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
