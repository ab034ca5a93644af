"""Background work of one process: the outbox sender, the progress reporter and the scheduler.

Only the leader runs them (``bot.outbox.leader.Leadership``): the holder of the lease row,
which it renews every ``lead_retry`` seconds; a standby tries every ``lead_retry`` seconds and
takes over when the lease has expired (``LEADER_TTL``, 12 s: a takeover within about 15 s). A
holder that cannot renew, or whose write was fenced, stops its work at once. On SQLite the
single process always takes the lease at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.budget import BULK
from bot.outbox.labels import olabel
from bot.outbox.leader import Leadership
from bot.outbox.reporter import ProgressReporter
from bot.outbox.sender import Sender
from bot.schedules.scheduler import Scheduler
from bot.transport import Button, Transport

log = logging.getLogger(__name__)

CANCEL_PREFIX = "bc"


def cancel_button(message_id: int) -> Button:
    """The button under a running broadcast's status message (handled by handlers.broadcast)."""
    return Button(olabel("bc_cancel_run"), callback_data=f"{CANCEL_PREFIX}:stop:{message_id}")


class Background:
    def __init__(self, core: Any) -> None:
        self.core = core
        self.lead_retry = 3.0
        self.lead_ttl = 12.0
        self.unrecorded: list = []  # outcomes sent but not yet recorded (outlive one sender)
        self.progress_interval = 2.0
        self.sync_interval = 30.0
        self.scheduler_enabled = True
        self.sender_options: dict[str, Any] = {}
        self.transport: Transport | None = None
        self.leadership: Leadership | None = None
        self.sender: Sender | None = None
        self.reporter: ProgressReporter | None = None
        self.scheduler: Scheduler | None = None
        self._supervisor: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    @property
    def is_leader(self) -> bool:
        return self.sender is not None

    async def start(self, transport: Transport) -> None:
        self.transport = transport
        self.leadership = Leadership(self.core.db, ttl=self.lead_ttl)
        if await self.leadership.try_acquire():
            await self._start_work()
        else:
            log.info("another process runs the sender and scheduler; standing by")
        self._supervisor = asyncio.create_task(self._supervise(), name="outbox-supervisor")

    async def stop(self) -> None:
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._stop_work()
        if self.leadership is not None:
            await self.leadership.release()
            self.leadership = None
        transport, self.transport = self.transport, None
        close = getattr(transport, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()

    async def _supervise(self) -> None:
        assert self.leadership is not None
        while True:
            await asyncio.sleep(self.lead_retry)
            try:
                if self.leadership.held and not await self.leadership.check():
                    log.error("lost leadership; stopping the sender and scheduler")
                if not self.leadership.held:
                    if self.sender is not None:
                        await self._stop_work()
                    if await self.leadership.try_acquire():
                        await self._start_work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leadership supervision failed")

    def _lost(self) -> None:
        """A write was fenced: stop the sender and the scheduler now (not at the next check)."""
        if self._supervisor is not None:
            asyncio.get_running_loop().create_task(self._stop_work())

    async def _start_work(self) -> None:
        async with self._lock:
            if self.sender is not None or self.transport is None:
                return
            core = self.core
            from bot.templates import render

            options = dict(self.sender_options)
            budget = getattr(core, "budget", None)
            if budget is not None and "bucket" not in options:
                # broadcasts take what the replies leave of the token's budget
                options["bucket"] = budget.lane(BULK, cap=core.settings.broadcast_rate)
            self.sender = Sender(
                core.outbox,
                self.transport,
                rate=core.settings.broadcast_rate,
                leadership=self.leadership,
                on_lost=self._lost,
                unrecorded=self.unrecorded,
                **options,
            )
            await self.sender.start()
            self.reporter = ProgressReporter(
                core.outbox,
                self.transport,
                render,
                cancel_button,
                interval=self.progress_interval,
            )
            await self.reporter.start()
            if self.scheduler_enabled:
                self.scheduler = Scheduler(core.schedules, sync_interval=self.sync_interval)
                try:
                    await self.scheduler.start()
                except Exception:
                    log.exception("scheduler start failed")

    async def _stop_work(self) -> None:
        async with self._lock:
            scheduler, self.scheduler = self.scheduler, None
            reporter, self.reporter = self.reporter, None
            sender, self.sender = self.sender, None
            if scheduler is not None:
                with contextlib.suppress(Exception):
                    await scheduler.stop()
            if reporter is not None:
                await reporter.stop()
            if sender is not None:
                await sender.stop()
