"""Exactly one process per database runs the sender and the scheduler: a lease with fencing.

The leader holds the ``leader_lease`` row (holder id, epoch, expires_at) and renews it every
few seconds. A holder that stops renewing - frozen (SIGSTOP, a stuck VM), cut off from the
database, dead - loses the lease when ``expires_at`` passes (``ttl`` seconds after its last
renewal) and a standby takes it with ``epoch + 1``. The holder itself stops leading locally
``margin`` seconds before that (``valid()``, measured on its monotonic clock from the start of
its last successful renewal), so two processes never both believe they lead.

Fencing: every claim and mark of an outbox row names the epoch it was made under, and the
database refuses it (``Fenced``) unless that epoch is still the lease's - a resumed old leader
can neither send (the pre-send write is refused) nor mark anything. Rows leased under an older
epoch are claimable by the new leader at once.

On SQLite there is one process by design: it takes the lease whoever held it before (a crash
must not delay sending by a lease period); the epoch still grows at every start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from bot.db import Database
from bot.db.base import utcnow
from bot.outbox.models import LEASE_RUNNER, LeaderLease

log = logging.getLogger(__name__)


class Fenced(Exception):
    """A write under an epoch that is no longer the lease's: this process does not lead."""


def make_holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def fence(session, epoch: int | None, *, name: str = LEASE_RUNNER) -> None:
    """Inside a write transaction: raise ``Fenced`` unless ``epoch`` is the lease's epoch.

    On PostgreSQL the lease row is read ``FOR SHARE``: a takeover (an UPDATE of that row) waits
    for the transaction to end, and a transaction after the takeover sees the new epoch.
    """
    if epoch is None:
        return
    q = select(LeaderLease.epoch).where(LeaderLease.name == name, LeaderLease.epoch == epoch)
    if session.bind.dialect.name != "sqlite":
        q = q.with_for_update(read=True)
    if await session.scalar(q) is None:
        raise Fenced(f"epoch {epoch} is no longer the leader's")


class Leadership:
    def __init__(
        self,
        db: Database,
        *,
        name: str = LEASE_RUNNER,
        holder: str | None = None,
        ttl: float = 12.0,
        margin: float = 3.0,
        timeout: float = 3.0,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.name = name
        self.holder = holder or make_holder()
        self.ttl = ttl
        self.margin = min(margin, ttl / 2)
        self.timeout = timeout
        self.clock = clock
        self.monotonic = monotonic
        self.is_sqlite = db.is_sqlite
        self.epoch: int | None = None
        self.held = False
        self._valid_until = 0.0

    def valid(self) -> bool:
        """Whether this process may still act as the leader (checked before every send)."""
        return self.held and self.monotonic() < self._valid_until

    async def _ensure_row(self, s) -> None:
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(LeaderLease).values(name=self.name, epoch=0).on_conflict_do_nothing()
        await s.execute(stmt)

    async def try_acquire(self) -> bool:
        """Take the lease if free or expired; True when this process leads (now or already)."""
        if self.held:
            return True
        started = self.monotonic()
        now = self.clock()
        cond = [LeaderLease.name == self.name]
        if not self.is_sqlite:
            cond.append(
                or_(
                    LeaderLease.holder.is_(None),
                    LeaderLease.expires_at.is_(None),
                    LeaderLease.expires_at <= now,
                    LeaderLease.holder == self.holder,
                )
            )
        try:
            async with asyncio.timeout(self.timeout):
                async with self.db.session() as s:
                    await self._ensure_row(s)
                    epoch = (
                        await s.execute(
                            update(LeaderLease)
                            .where(*cond)
                            .values(
                                holder=self.holder,
                                epoch=LeaderLease.epoch + 1,
                                expires_at=now + timedelta(seconds=self.ttl),
                                renewed_at=now,
                            )
                            .returning(LeaderLease.epoch)
                        )
                    ).scalar()
        except Exception as exc:
            log.warning("leader lease: cannot reach the database: %s", exc)
            return False
        if epoch is None:
            return False
        self.epoch = int(epoch)
        self.held = True
        self._valid_until = started + self.ttl - self.margin
        log.info("this process now runs the sender and the scheduler (epoch %s)", self.epoch)
        return True

    async def check(self) -> bool:
        """Renew the lease. False = stop leading (lost, or not renewed within its validity)."""
        if not self.held:
            return False
        started = self.monotonic()
        now = self.clock()
        try:
            async with asyncio.timeout(self.timeout):
                async with self.db.session() as s:
                    n = (
                        await s.execute(
                            update(LeaderLease)
                            .where(
                                LeaderLease.name == self.name,
                                LeaderLease.holder == self.holder,
                                LeaderLease.epoch == self.epoch,
                            )
                            .values(expires_at=now + timedelta(seconds=self.ttl), renewed_at=now)
                        )
                    ).rowcount
        except Exception as exc:
            if self.valid():
                log.warning("leader lease not renewed (will retry): %s", exc)
                return True
            log.error("leader lease expired without renewal: %s", exc)
            self.held = False
            return False
        if n != 1:
            log.error("leader lease of epoch %s was taken over", self.epoch)
            self.held = False
            return False
        self._valid_until = started + self.ttl - self.margin
        return True

    def lost(self) -> None:
        """A write was fenced: stop acting as the leader at once."""
        self.held = False

    async def release(self) -> None:
        """Give the lease up (shutdown): a standby takes over without waiting for expiry."""
        was, self.held = self.held, False
        if not was or self.epoch is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                async with self.db.session() as s:
                    await s.execute(
                        update(LeaderLease)
                        .where(
                            LeaderLease.name == self.name,
                            LeaderLease.holder == self.holder,
                            LeaderLease.epoch == self.epoch,
                        )
                        .values(holder=None, expires_at=None)
                    )
        except Exception as exc:
            log.warning("leader lease not released (it expires by itself): %s", exc)
