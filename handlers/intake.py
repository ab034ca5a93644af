"""Telegram's side of the inbox (``bot.inbox``): updates are stored, then acknowledged, then
handled from the inbox.

- Webhook (``handlers.webhook``): ``UpdateIntake.submit`` returns once the update's insert
  committed (group commit: the requests of a burst share transactions); only then does the
  webhook answer 200.
- Polling: our own getUpdates loop stores each batch and only then asks for the next offset
  (which is what confirms the batch to Telegram); while the database does not answer the
  offset stays put and nothing is confirmed.
- Processing: ``bot.inbox.processor.InboxProcessor`` claims stored rows and hands each raw
  update to the PTB Application (``process_update``: every handler group, errors to the error
  handler), marking it done after.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.core import Core
from bot.inbox.batcher import GroupCommit
from bot.inbox.processor import InboxProcessor

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a getUpdates long poll stays open


def parse_update(data: Any, bot) -> Update | None:
    """The Update in ``data``, or None when it is not one (logged by the caller)."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    if len(data) < 2:
        return None  # nothing but an id
    try:
        return Update.de_json(data, bot)
    except Exception:  # noqa: BLE001 - any malformed shape
        return None


class UpdateIntake:
    def __init__(self, app: Application, core: Core) -> None:
        self.app = app
        self.core = core
        settings = core.settings
        self.processor = InboxProcessor(
            core.inbox,
            self._handle,
            lease=settings.inbox_lease_seconds,
            retention=timedelta(hours=settings.inbox_retention_hours),
        )
        self._store = GroupCommit(core.inbox.store)
        self._poller: asyncio.Task | None = None
        self.stored = 0  # new rows this process stored
        self._storing = 0  # stores under way

    @property
    def busy(self) -> bool:
        """Updates on their way through this process: being stored, stored and not handled
        yet, being handled, or handled and not yet marked done."""
        p = self.processor
        return bool(self._storing or self.stored > p.handled or p.busy or len(p.done))

    # -- storing -----------------------------------------------------------------------------
    def parse(self, data: Any) -> Update | None:
        return parse_update(data, self.app.bot)

    async def submit(self, data: dict) -> bool:
        """Store one (valid) update; True when it was new. Raises when the database fails."""
        self._storing += 1
        try:
            new = await self._store.submit(data)
        finally:
            self._storing -= 1
        self.processor.wake()
        fresh = data["update_id"] in new
        self.stored += fresh
        return fresh

    async def _handle(self, payload: dict) -> None:
        update = Update.de_json(payload, self.app.bot)
        await self.app.process_update(update)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, *, polling: bool) -> None:
        await self.processor.start()
        if polling:
            self._poller = asyncio.create_task(self._poll_forever(), name="getUpdates")

    async def stop(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
        await self.processor.stop()

    # -- polling -----------------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                batch = await self.app.bot.get_updates_raw(offset, POLL_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("getUpdates: TELEGRAM_BOT_TOKEN ditolak Telegram; polling berhenti")
                return
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after) + 0.5)
                continue
            except (Conflict, TimedOut, NetworkError) as exc:
                log.warning("getUpdates gagal (%s); dicoba lagi dalam %.0f detik", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            if not batch:
                continue
            self._storing += 1
            try:
                await self._take(batch)
            finally:
                self._storing -= 1
            offset = max(int(u["update_id"]) for u in batch) + 1

    async def _take(self, batch: list) -> None:
        good = []
        for data in batch:
            if self.parse(data) is None:
                log.warning("getUpdates: not an Update, skipped: %.300r", data)
            else:
                good.append(data)
        await self._store_until_stored(good)

    async def _store_until_stored(self, batch: list[dict]) -> None:
        """The offset only moves past stored updates: retry while the database fails."""
        delay = 0.5
        while batch:
            try:
                new = await self.core.inbox.store(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be back in a moment
                log.warning("inbox: cannot store %d updates (%s); retrying", len(batch), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.stored += len(new)
            self.processor.wake()
            return


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def intake_of(app: Application) -> UpdateIntake:
    return app.bot_data["intake"]
