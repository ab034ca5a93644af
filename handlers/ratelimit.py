"""PTB's requests through the token's one rate budget (``bot.budget.RateBudget``).

Replaces PTB's ``AIORateLimiter`` (which counted typing indicators and callback answers against
the 30/s and knew nothing of the broadcasts' own pacing): messages and edits wait for a grant in
the ``reply`` lane; typing indicators are sent only when a grant is free at once (otherwise
skipped: a courtesy must not delay an answer); callback answers, polling and setup calls pass
straight through. A 429 pauses the whole budget (broadcasts too) for ``retry_after`` and the
request is retried (``max_retries`` times).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.budget import REPLY, RateBudget

log = logging.getLogger(__name__)

#: Endpoints that put or change a message in a chat (they count against Telegram's limits).
MESSAGE_ENDPOINTS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)
COURTESY_ENDPOINTS = frozenset({"sendChatAction"})


def _chat(data: dict[str, Any]) -> int | None:
    with contextlib.suppress(TypeError, ValueError):
        return int(data.get("chat_id"))  # type: ignore[arg-type]
    return None


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the type of retry_after
        warnings.simplefilter("ignore")
        ra = exc.retry_after
    return ra.total_seconds() if hasattr(ra, "total_seconds") else float(ra)


class BudgetRateLimiter(BaseRateLimiter[int]):
    def __init__(self, budget: RateBudget, *, max_retries: int = 2) -> None:
        self.budget = budget
        self.max_retries = max_retries
        self.courtesy_skipped = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict | list[dict]:
        if endpoint in COURTESY_ENDPOINTS:
            if not self.budget.try_acquire():
                self.courtesy_skipped += 1
                return True  # what Telegram answers to sendChatAction
            return await callback(*args, **kwargs)
        if endpoint not in MESSAGE_ENDPOINTS:
            return await callback(*args, **kwargs)
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        chat_id = _chat(data)
        for attempt in range(retries + 1):
            # the grant is held until Telegram answered: the budget's window counts the request
            # until Telegram surely saw it
            await self.budget.acquire(REPLY, chat_id, hold=True)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = _retry_seconds(exc)
                self.budget.pause(seconds + 0.1)
                log.warning("flood control on %s: every send paused for %.1fs", endpoint, seconds)
                if attempt == retries:
                    raise
            finally:
                self.budget.release()
        raise AssertionError("unreachable")
