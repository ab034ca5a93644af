"""Group commit: what arrives while one write runs goes into the next write, together.

A single update is written at once (no added latency); under load, every request that arrived
during the previous transaction shares the next one, so a burst costs a few transactions
instead of one per update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """``await submit(item)`` returns once a ``flush`` holding ``item`` committed (its result),
    or raises what that flush raised."""

    def __init__(self, flush: Callable[[list[T]], Awaitable[R]], *, max_batch: int = 200) -> None:
        self.flush = flush
        self.max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self.flushes = 0

    async def submit(self, item: T) -> R:
        fut = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="group-commit")
        return await fut

    async def _run(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            self.flushes += 1
            try:
                result = await self.flush([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiter
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            else:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_result(result)


class DoneMarks:
    """Rows handled, waiting to be marked done: written at once and together under load,
    retried with backoff while the database does not answer (a row not marked is handled
    again after a crash: it counts as in flight until its mark commits)."""

    def __init__(self, finish: Callable[[list[int]], Awaitable[object]]) -> None:
        self.finish = finish
        self._ids: set[int] = set()
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, row_id: int) -> None:
        self._ids.add(row_id)
        self._idle.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inbox-done-marks")

    def __len__(self) -> int:
        return len(self._ids)

    async def _run(self) -> None:
        delay = 0.2
        while self._ids:
            batch = list(self._ids)[:500]
            try:
                await self.finish(batch)
            except Exception as exc:  # noqa: BLE001 - kept and retried
                log.warning("inbox: cannot mark %d updates done yet: %s", len(batch), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            self._ids.difference_update(batch)
        self._idle.set()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until every mark is written (shutdown); False when the time ran out."""
        if not self._ids:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if self._task is not None and not self._task.done() and self._ids:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return not self._ids
