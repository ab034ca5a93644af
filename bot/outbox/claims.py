"""The sender's side of the outbox: claims with a lease, and marking what became of a row.

A delivery is ``pending`` until claimed, ``sending`` while leased (its ``next_attempt_at``
equals the lease end, so an expired lease makes it due again), then ``sent`` / ``blocked`` /
``failed`` (or back to ``pending`` to retry later).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from bot.db import Database
from bot.outbox.leader import fence
from bot.outbox.models import (
    D_BLOCKED,
    D_FAILED,
    D_PENDING,
    D_SENDING,
    D_SENT,
    MSG_DONE,
    MSG_RUNNING,
    Delivery,
    OutboxMessage,
)

ERROR_MAX = 500


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
    epoch: int | None = None  # the leader epoch the row was claimed under
    begun: bool = False  # begin() counted this attempt already


def _cut(reason: str | None) -> str | None:
    if reason is None:
        return None
    return reason[:ERROR_MAX]


class Claims:
    """OutboxService part: what the sender does with delivery rows."""

    db: Database
    users: Any
    clock: Callable[[], datetime]

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
    async def claim(
        self, owner: str, limit: int, lease_seconds: float, *, epoch: int | None = None
    ) -> list[Claimed]:
        """Lease up to ``limit`` due rows (pending and due, or leased with an expired lease).

        With ``epoch`` (the leader's) the claim is fenced (refused with ``Fenced`` unless that
        epoch is the lease's) and rows leased under an older epoch are due at once.
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
        if epoch is not None:
            due = or_(
                due,
                and_(
                    Delivery.status == D_SENDING,
                    Delivery.lease_epoch.is_not(None),
                    Delivery.lease_epoch < epoch,
                ),
            )
        async with self.db.session() as s:
            await fence(s, epoch)
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
                        lease_epoch=epoch,
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
                epoch=epoch,
            )
            for r in rows
        ]
        out.sort(key=lambda c: c.id)
        return out

    async def begin(self, d: Claimed, *, epoch: int | None = None) -> Claimed | None:
        """Just before sending: count the attempt durably (fenced). None = not ours any more.

        Nothing is sent unless this write succeeded, so no send happens blind through a
        database outage and ``attempts`` counts every send that may have reached Telegram.
        """
        now = self.clock()
        async with self.db.session() as s:
            await fence(s, epoch if epoch is not None else d.epoch)
            n = (
                await s.execute(
                    update(Delivery)
                    .where(self._mine(d))
                    .values(attempts=Delivery.attempts + 1, updated_at=now)
                )
            ).rowcount
        if n != 1:
            return None
        return replace(d, attempts=d.attempts + 1, begun=True)

    def _count(self, d: Claimed, count_attempt: bool = True):
        """The attempts value after this outcome (begin() may have counted it already)."""
        if d.begun:
            return Delivery.attempts - (0 if count_attempt else 1)
        return Delivery.attempts + (1 if count_attempt else 0)

    async def mark_sent(
        self, d: Claimed, telegram_message_id: int | None, *, epoch: int | None = None
    ) -> None:
        """It went out: record it even if the lease expired meanwhile (the truth wins), but
        only under the current leader epoch (``Fenced`` otherwise)."""
        now = self.clock()
        cond = [Delivery.id == d.id, Delivery.status.not_in([D_SENT, D_BLOCKED, D_FAILED])]
        if d.epoch is not None:
            cond.append(Delivery.lease_epoch == d.epoch)
        async with self.db.session() as s:
            await fence(s, epoch if epoch is not None else d.epoch)
            await s.execute(
                update(Delivery)
                .where(*cond)
                .values(
                    status=D_SENT,
                    telegram_message_id=telegram_message_id,
                    sent_at=now,
                    lease_owner=None,
                    lease_until=None,
                    error=None,
                    attempts=self._count(d),
                    updated_at=now,
                )
            )

    def _mine(self, d: Claimed):
        cond = and_(
            Delivery.id == d.id, Delivery.status == D_SENDING, Delivery.lease_owner == d.owner
        )
        if d.epoch is not None:
            cond = and_(cond, Delivery.lease_epoch == d.epoch)
        return cond

    async def mark_blocked(self, d: Claimed, reason: str, *, epoch: int | None = None) -> None:
        """403: the user blocked the bot or is deactivated. Never retried; user inactive."""
        now = self.clock()
        async with self.db.session() as s:
            await fence(s, epoch if epoch is not None else d.epoch)
            await s.execute(
                update(Delivery)
                .where(Delivery.id == d.id, Delivery.status.in_([D_SENDING, D_PENDING]))
                .values(
                    status=D_BLOCKED,
                    error=_cut(reason) or "blocked",
                    lease_owner=None,
                    lease_until=None,
                    attempts=self._count(d),
                    updated_at=now,
                )
            )
        await self.users.mark_blocked(d.chat_id)

    async def mark_failed(
        self, d: Claimed, reason: str, *, count_attempt: bool = True, epoch: int | None = None
    ) -> None:
        now = self.clock()
        async with self.db.session() as s:
            await fence(s, epoch if epoch is not None else d.epoch)
            await s.execute(
                update(Delivery)
                .where(self._mine(d))
                .values(
                    status=D_FAILED,
                    error=_cut(reason) or "failed",
                    lease_owner=None,
                    lease_until=None,
                    attempts=self._count(d, count_attempt),
                    updated_at=now,
                )
            )

    async def retry_later(
        self,
        d: Claimed,
        at: datetime,
        reason: str | None,
        *,
        count_attempt: bool,
        epoch: int | None = None,
    ) -> None:
        """Back to pending, due at ``at`` (flood control, backoff, per-chat spacing)."""
        now = self.clock()
        async with self.db.session() as s:
            await fence(s, epoch if epoch is not None else d.epoch)
            await s.execute(
                update(Delivery)
                .where(self._mine(d))
                .values(
                    status=D_PENDING,
                    next_attempt_at=at,
                    error=_cut(reason),
                    lease_owner=None,
                    lease_until=None,
                    attempts=self._count(d, count_attempt),
                    updated_at=now,
                )
            )

    async def release(self, rows: Sequence[Claimed], *, epoch: int | None = None) -> None:
        """Give leased rows back unsent (shutdown, lease about to expire)."""
        if not rows:
            return
        now = self.clock()
        async with self.db.session() as s:
            fenced = {r.epoch for r in rows} - {None}
            for e in fenced if epoch is None else {epoch}:
                await fence(s, e)
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
