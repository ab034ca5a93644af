"""The recorded calls (:class:`Call`) and what tests use to look at the fake: finding calls,
waiting for them, for idleness or for a long poll, and the chats' messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.fakeapi.rules import SEND_METHODS, _scope_key


@dataclass
class Call:
    """One request the bot made (``getUpdates`` excluded), as the fake answered it."""

    method: str
    params: dict
    at: float
    ok: bool
    result: Any
    error: str | None
    status: int = 200
    answered_at: float = 0.0
    query_chat_id: int | str | None = None

    @property
    def chat_id(self) -> int | str | None:
        """The chat the call was about (for answerCallbackQuery: the pressed message's chat)."""
        chat_id = self.params.get("chat_id")
        if chat_id is None:
            return self.query_chat_id
        return chat_id

    @property
    def text(self) -> str | None:
        """``text`` or ``caption`` as sent (still HTML when parse_mode is HTML)."""
        return self.params.get("text", self.params.get("caption"))

    def summary(self) -> str:
        head = self.method if self.chat_id is None else f"{self.method} chat={self.chat_id}"
        if not self.ok:
            return f"{head} -> {self.status} {self.error}"
        text = self.text
        if text is not None:
            text = text if len(text) <= 70 else text[:67] + "..."
            return f"{head} {text!r}"
        return head


class _Calls:
    """Inspection and waiting (part of :class:`FakeTelegram`)."""

    # ------------------------------------------------------------------ inspection

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in list(self.calls)
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful sends and edits (:data:`SEND_METHODS`) to that chat, in order."""
        return [
            c
            for c in list(self.calls)
            if c.ok and c.method in SEND_METHODS and c.chat_id == chat_id
        ]

    def mark(self) -> int:
        """``len(calls)``: pass as ``after=`` to wait only for calls made from now on."""
        return len(self.calls)

    def last(self, method: str | None = None, chat_id: int | None = None) -> Call | None:
        for call in reversed(self.calls):
            if (method is None or call.method == method) and (
                chat_id is None or call.chat_id == chat_id
            ):
                return call
        return None

    def describe_calls(self, start: int = 0, limit: int = 40) -> str:
        calls = list(self.calls)
        lines = [f"  #{k} {c.summary()}" for k, c in enumerate(calls) if k >= start]
        if len(lines) > limit:
            lines = [f"  ... {len(lines) - limit} earlier calls", *lines[-limit:]]
        pending = len(self._updates)
        head = (
            f"{len(calls)} calls recorded, {self.get_updates_count} getUpdates, "
            f"{pending} updates pending, {self._last_update_id - self._delivered_upto} "
            "not yet delivered"
        )
        return "\n".join([head, *lines]) if lines else head + " (no calls)"

    async def wait_for(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the test-facing interface
        after: int = 0,
    ) -> Call:
        """The first call (index >= ``after``) of ``method`` matching ``chat_id``/``predicate``.

        Failed calls match too (check ``call.ok``). Raises AssertionError with a summary of the
        calls seen when nothing matches within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        index = after
        while True:
            event = self._calls_event
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if call.method != method:
                    continue
                if chat_id is not None and call.chat_id != chat_id:
                    continue
                if predicate is not None and not predicate(call):
                    continue
                return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = f"{method}" + (f" to chat {chat_id}" if chat_id is not None else "")
                if predicate is not None:
                    what += " matching the predicate"
                raise AssertionError(
                    f"no {what} within {timeout}s (after call #{after}); "
                    + self.describe_calls(start=after)
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    @property
    def last_update_id(self) -> int:
        """The id of the last update injected (0 before any)."""
        return self._last_update_id if self._last_update_id >= self._first_update_id else 0

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every injected update was delivered, no request is being answered, the
        bot reports no update still in its hands (``busy``, set by whoever runs the bot) and no
        new call came for ``quiet`` seconds. AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._activity_event
            now = time.monotonic()
            drained = self._delivered_upto >= self._last_update_id
            busy = self.busy is not None and self.busy()
            idle_for = now - self._last_activity
            if drained and self._inflight == 0 and not busy and idle_for >= quiet:
                return
            if now >= deadline:
                reason = []
                if not drained:
                    reason.append(
                        f"{self._last_update_id - self._delivered_upto} updates never delivered"
                    )
                if self._inflight:
                    reason.append(f"{self._inflight} requests still being answered")
                if busy:
                    reason.append("the bot is still handling updates")
                if not reason:
                    reason.append("calls kept coming")
                raise AssertionError(
                    f"not idle within {timeout}s ({', '.join(reason)}); " + self.describe_calls()
                )
            if busy:  # the bot works without calling us: look again shortly
                wait = 0.02
            elif not drained or self._inflight:
                wait = deadline - now
            else:
                wait = quiet - idle_for
            wait = max(0.005, min(deadline - now, wait))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), wait)

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates long poll is open and waiting (the bot is ready to receive).
        AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._polls_waiting == 0:
            event = self._poll_event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no getUpdates long poll within {timeout}s; " + self.describe_calls()
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def messages(self, chat_id: int) -> list[dict]:
        """The messages now in that chat (user's and bot's), edits applied, deletions removed."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._messages.get(chat_id, {}).values()]

    def message(self, chat_id: int, message_id: int) -> dict | None:
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list[dict] | None:
        """Commands set with setMyCommands for that scope (default scope when None)."""
        return self.commands.get((_scope_key(scope), language_code))

    @property
    def pending_updates(self) -> int:
        return len(self._updates)
