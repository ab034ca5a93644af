"""``ProgressReporter`` edits the admin's status message of running broadcasts (throttled) and
writes the final report when a broadcast is drained."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.outbox.store import OutboxService
from bot.transport import Button, RetryAfter, Transport, TransportError

log = logging.getLogger(__name__)


class ProgressReporter:
    """Keeps each running broadcast's status message up to date (at most every ``interval``)."""

    def __init__(
        self,
        outbox: OutboxService,
        transport: Transport,
        render: Callable[..., str],
        cancel_button: Callable[[int], Button],
        *,
        interval: float = 2.0,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.render = render
        self.cancel_button = cancel_button
        self.interval = interval
        self._last_text: dict[int, str] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="outbox-progress")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("progress update failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> list[int]:
        """Finish drained messages and refresh status messages; returns the ids edited."""
        finished = await self.outbox.finish_drained()
        ids = set(await self.outbox.running_ids()) | set(finished)
        edited = []
        for mid in sorted(ids):
            p = await self.outbox.get(mid)
            if p is None or p.status_chat_id is None or p.status_message_id is None:
                continue
            if p.running:
                text = self.render("broadcast_progress", p=p)
                buttons: list[list[Button]] | None = [[self.cancel_button(mid)]]
            else:
                text = self.render("broadcast_report", p=p)
                buttons = None
            if self._last_text.get(mid) == text:
                continue
            try:
                await self.transport.edit(p.status_chat_id, p.status_message_id, text, buttons)
            except RetryAfter:
                break
            except TransportError as exc:
                log.info("status message of broadcast %s not updated: %s", mid, exc.reason)
            self._last_text[mid] = text
            edited.append(mid)
            if not p.running:
                self._last_text.pop(mid, None)
        return edited
