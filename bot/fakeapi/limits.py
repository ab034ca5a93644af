"""Telegram's flood limits, enforced when asked (:meth:`FakeTelegram.enforce_limits`).

Off by default (tests that are not about limits stay fast). When on, every send method
(:data:`bot.fakeapi.rules.SEND_METHODS`: messages, copies and edits) is counted and answered
429 ``Too Many Requests: retry after N`` (with ``parameters.retry_after``) when it would exceed:

- ``per_second`` messages in any one-second window, over all chats (Telegram: about 30);
- in a private chat, one message a second with a burst of ``chat_burst`` (about 1/s; short
  bursts, as a reply of several messages, pass);
- in a group, supergroup or channel (negative id), ``group_per_minute`` messages in any
  60-second window (Telegram: 20).

Refused calls do not count. ``limit_hits`` counts the 429 answers given for these rules.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from bot.fakeapi.rules import SEND_METHODS, _ApiError


@dataclass
class _LimitRules:
    per_second: int
    chat_rate: float
    chat_burst: float
    group_per_minute: int


class _Limits:
    """Flood limits (part of :class:`FakeTelegram`)."""

    def enforce_limits(
        self,
        on: bool = True,
        *,
        per_second: int = 30,
        chat_rate: float = 1.0,
        chat_burst: float = 10.0,
        group_per_minute: int = 20,
    ) -> None:
        with self._lock:
            self._limit_rules = (
                _LimitRules(per_second, chat_rate, chat_burst, group_per_minute) if on else None
            )
            self._limit_all = deque()
            self._limit_chats = {}
            self._limit_groups = {}
            self.limit_hits = 0

    def _check_limits(self, method: str, params: dict) -> None:
        rules = getattr(self, "_limit_rules", None)
        if rules is None or method not in SEND_METHODS:
            return
        now = time.monotonic()
        waits = []
        window = self._limit_all
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= rules.per_second:
            waits.append(window[0] + 1.0 - now)
        chat_id = params.get("chat_id")
        is_group = isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
        if is_group:
            q = self._limit_groups.setdefault(chat_id, deque())
            while q and q[0] <= now - 60.0:
                q.popleft()
            if len(q) >= rules.group_per_minute:
                waits.append(q[0] + 60.0 - now)
        elif chat_id is not None:
            tokens, at = self._limit_chats.get(chat_id, (rules.chat_burst, now))
            tokens = min(rules.chat_burst, tokens + (now - at) * rules.chat_rate)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / rules.chat_rate)
            else:
                self._limit_chats[chat_id] = (tokens, now)
        if waits:
            self.limit_hits += 1
            retry = max(1, math.ceil(max(waits)))
            raise _ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        window.append(now)
        if is_group:
            self._limit_groups[chat_id].append(now)
        elif chat_id is not None:
            tokens, at = self._limit_chats[chat_id]
            self._limit_chats[chat_id] = (tokens - 1.0, at)
