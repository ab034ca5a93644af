"""Delivering the queued updates: getUpdates long polling and webhook POSTs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

from bot.fakeapi.rules import _UPDATE_TYPES_DEFAULT_EXCLUDED, _as_int


class _Updates:
    """getUpdates and webhook delivery (part of :class:`FakeTelegram`)."""

    # ------------------------------------------------------------------ getUpdates / webhook

    async def _get_updates(self, params: dict, client_gone: Callable[[], bool]) -> tuple[int, dict]:
        self.get_updates_count += 1
        if self.webhook_url:
            return 409, {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            }
        offset = _as_int(params.get("offset"), 0)
        limit = max(1, min(100, _as_int(params.get("limit"), 100) or 100))
        timeout = max(0.0, float(_as_int(params.get("timeout"), 0)))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(x) for x in allowed] or None
        with self._lock:
            if offset < 0:
                del self._updates[: max(0, len(self._updates) + offset)]
            elif offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        me = object()
        self._poller = me
        self._wake_updates()  # an older long poll wakes up and answers 409
        deadline = time.monotonic() + timeout
        while True:
            event = self._updates_event
            if self._poller is not me:
                return 409, {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: terminated by other getUpdates request; make sure "
                    "that only one bot instance is running",
                }
            if client_gone():  # nobody would read the answer: leave the updates queued
                if self._poller is me:
                    self._poller = None
                return 499, {"ok": False, "error_code": 499, "description": "client gone"}
            batch = self._take_batch(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                break
            self._polls_waiting += 1
            self._poll_event.set()
            self._poll_event = asyncio.Event()
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                self._polls_waiting -= 1
        if self._poller is me:
            self._poller = None
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
            self._notify()
        return 200, {"ok": True, "result": batch}

    def _update_allowed(self, update: dict) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in _UPDATE_TYPES_DEFAULT_EXCLUDED
        return kind in self._allowed_updates

    def _take_batch(self, limit: int) -> list[dict]:
        with self._lock:
            kept = [u for u in self._updates if self._update_allowed(u)]
            if len(kept) != len(self._updates):
                dropped = [u["update_id"] for u in self._updates if not self._update_allowed(u)]
                self._delivered_upto = max(self._delivered_upto, *dropped)
                self._updates = kept
            return json.loads(json.dumps(kept[:limit]))

    def _ensure_webhook_task(self) -> None:
        if self._loop is None or self._server is None:
            return
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = self._loop.create_task(self._deliver_webhook())

    async def _deliver_webhook(self) -> None:
        import httpx  # only needed in webhook mode

        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient()
        backoff = 0.05
        while self.webhook_url:
            event = self._updates_event
            batch = self._take_batch(1)
            if not batch:
                await event.wait()
                continue
            update = batch[0]
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            uid = update["update_id"]
            self.webhook_attempts[uid] = self.webhook_attempts.get(uid, 0) + 1
            try:
                response = await self._webhook_client.post(
                    self._webhook_target(),
                    content=json.dumps(update).encode(),
                    headers=headers,
                    timeout=self.webhook_timeout,
                )
                ok = 200 <= response.status_code < 300
                error = None if ok else f"Wrong response from the webhook: {response.status_code}"
            except httpx.TimeoutException:
                # too slow: Telegram gives up on the request and sends the update again
                ok, error = False, "Read timeout expired"
            except httpx.HTTPError as exc:
                ok, error = False, f"Connection error: {exc!r}"
            if ok:
                backoff = 0.05
                with self._lock:
                    self._updates = [
                        u for u in self._updates if u["update_id"] != update["update_id"]
                    ]
                    self._delivered_upto = max(self._delivered_upto, update["update_id"])
                self._notify()
            else:
                self.webhook_last_error = error
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
