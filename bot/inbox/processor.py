"""Runs stored updates through a handler: one chat's updates in order, chats side by side.

The processor claims rows from the inbox (woken when this process stores updates, and every
``sweep`` seconds for rows other processes stored or left behind), queues them per chat and
runs at most ``concurrency`` handlers at once. A worker slot is only taken by a chat that has
an update ready and none running: a chat with a hundred waiting updates holds one slot, and a
new chat's update starts as soon as any slot is free (round robin between busy chats).

Leases: the rows held are renewed every ``lease / 3`` seconds. A process that stopped renewing
(frozen, cut off) does not start a held update once its lease may have run out; another
process has taken it by then. On SQLite there is one process by design, so rows held by a
previous run are given back at start (a crash does not delay them by a lease period).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta

from bot.inbox.batcher import DoneMarks
from bot.inbox.service import Claimed, InboxService

log = logging.getLogger(__name__)


def make_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class InboxProcessor:
    def __init__(
        self,
        inbox: InboxService,
        handle: Callable[[dict], Awaitable[None]],
        *,
        owner: str | None = None,
        concurrency: int = 32,
        lease: float = 15.0,
        sweep: float = 0.5,
        hold: int = 400,
        handle_timeout: float = 120.0,
        retention: timedelta = timedelta(hours=48),
        purge_every: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inbox = inbox
        self.handle = handle
        self.owner = owner or make_owner()
        self.concurrency = concurrency
        self.lease = lease
        self.margin = min(3.0, lease / 3)
        self.sweep = sweep
        self.hold = hold
        self.handle_timeout = handle_timeout
        self.retention = retention
        self.purge_every = purge_every
        self.monotonic = monotonic
        self.done = DoneMarks(lambda ids: inbox.finish(self.owner, ids))
        self.handled = 0
        self._queues: dict[Hashable, deque[Claimed]] = {}
        self._ready: deque[Hashable] = deque()
        self._active: set[Hashable] = set()
        self._held: dict[int, Claimed] = {}  # claimed, not yet handled
        self._running: dict[int, asyncio.Task] = {}
        self._valid_until = 0.0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._last_purge = 0.0
        self._more = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self.inbox.db.is_sqlite:
            with contextlib.suppress(Exception):
                await self.inbox.recover()
        self._tasks = [
            asyncio.create_task(self._pump(), name="inbox-pump"),
            asyncio.create_task(self._renew_loop(), name="inbox-renew"),
        ]
        self.wake()

    def wake(self) -> None:
        """New rows were stored (by this process): claim them now."""
        self._wake.set()

    @property
    def busy(self) -> int:
        """Updates claimed and not yet handled (queued or running)."""
        return len(self._held)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; let running handlers finish (up to ``grace`` seconds); give back
        what was not started; write the done marks."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        queued = [c.id for q in self._queues.values() for c in q]
        self._queues.clear()
        self._ready.clear()
        for row_id in queued:
            self._held.pop(row_id, None)
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        back = queued + list(self._held)
        await self.done.drain(timeout=grace)
        if back:
            try:
                await self.inbox.release(self.owner, back)
            except Exception as exc:  # noqa: BLE001 - their lease expires by itself
                log.warning("inbox: %d updates not given back: %s", len(back), exc)

    # -- claiming ----------------------------------------------------------------------------
    async def _pump(self) -> None:
        delay = 0.2
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep)
            self._wake.clear()
            room = self.hold - len(self._held)
            if room <= 0:
                continue
            started = self.monotonic()
            try:
                rows = await self.inbox.claim(self.owner, room, self.lease)
            except Exception as exc:  # noqa: BLE001 - the database may be back in a moment
                log.warning("inbox: cannot claim updates: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            if rows:
                if not self._held:
                    self._valid_until = started + self.lease - self.margin
                for row in rows:
                    self._enqueue(row)
                self._dispatch()
            self._more = len(rows) == room  # there may be more waiting
            if self._more:
                self._wake.set()
            await self._maybe_purge()

    async def _maybe_purge(self) -> None:
        now = self.monotonic()
        if now - self._last_purge < self.purge_every:
            return
        self._last_purge = now
        try:
            n = await self.inbox.purge(self.retention)
        except Exception as exc:  # noqa: BLE001 - next time
            log.warning("inbox: purge failed: %s", exc)
            return
        if n:
            log.info("inbox: %d handled updates purged", n)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            await self._renew()

    async def _renew(self) -> None:
        if not self._held:
            return
        ids = list(self._held)
        started = self.monotonic()
        try:
            kept = await self.inbox.renew(self.owner, ids, self.lease)
        except Exception as exc:  # noqa: BLE001
            log.warning("inbox: lease not renewed: %s", exc)
            return
        lost = set(ids) - kept
        if lost:
            log.warning("inbox: %d updates were taken over by another process", len(lost))
            self._drop(lost)
        self._valid_until = started + self.lease - self.margin
        self._dispatch()

    def _drop(self, ids: set[int]) -> None:
        """Forget rows another process took (queued ones are not started here)."""
        for key in list(self._queues):
            q = self._queues[key]
            kept = deque(c for c in q if c.id not in ids)
            if kept:
                self._queues[key] = kept
            else:
                del self._queues[key]
                with contextlib.suppress(ValueError):
                    self._ready.remove(key)
        for row_id in ids:
            if row_id not in self._running:
                self._held.pop(row_id, None)

    # -- running -----------------------------------------------------------------------------
    def _enqueue(self, row: Claimed) -> None:
        if row.id in self._held:
            return
        self._held[row.id] = row
        key: Hashable = row.chat_key if row.chat_key is not None else ("solo", row.id)
        q = self._queues.get(key)
        if q is None:
            q = self._queues[key] = deque()
            if key not in self._active:
                self._ready.append(key)
        q.append(row)

    def _dispatch(self) -> None:
        if self._stopping:
            return
        while self._ready and len(self._running) < self.concurrency:
            if self.monotonic() >= self._valid_until:
                return  # our lease may be gone: the next renewal decides
            key = self._ready.popleft()
            q = self._queues.get(key)
            if not q:
                self._queues.pop(key, None)
                continue
            row = q.popleft()
            self._active.add(key)
            self._running[row.id] = asyncio.create_task(self._run(key, row), name="inbox-update")

    async def _run(self, key: Hashable, row: Claimed) -> None:
        try:
            async with asyncio.timeout(self.handle_timeout):
                await self.handle(row.payload)
        except TimeoutError:
            log.error(
                "inbox: update %s took over %.0f s, given up", row.update_id, self.handle_timeout
            )
            with contextlib.suppress(Exception):
                await self.inbox.fail(self.owner, row.id, "timeout")
        except asyncio.CancelledError:
            self._running.pop(row.id, None)
            self._active.discard(key)
            raise  # stop(): the row is given back
        except Exception:
            log.exception("inbox: update %s failed", row.update_id)
            self.done.add(row.id)
        else:
            self.done.add(row.id)
        self.handled += 1
        self._held.pop(row.id, None)
        self._running.pop(row.id, None)
        self._active.discard(key)
        if self._queues.get(key):
            self._ready.append(key)
        else:
            self._queues.pop(key, None)
        if self._more and len(self._held) < self.hold // 2:
            self._wake.set()
        self._dispatch()
