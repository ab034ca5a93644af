"""Fault injection: error answers (403, 429, 5xx ...), blocked and deactivated chats,
stalled answers and random rate limiting."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.fakeapi.rules import SEND_METHODS, _ApiError


@dataclass
class _Fault:
    method: str | None
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


@dataclass
class _Stall:
    method: str | None
    seconds: float
    times: int


class _Faults:
    """Fault injection (part of :class:`FakeTelegram`)."""

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str | None,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching calls answer this error (method None: any send method).

        With status 429 the answer carries ``parameters.retry_after`` (1 when not given).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.append(_Fault(method, status, description, retry_after, chat_id, times))

    def block(self, chat_id: int) -> None:
        """Every later send to that chat answers 403 (the user blocked the bot / kicked it)."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def deactivate(self, chat_id: int) -> None:
        """Every later send to that chat answers 403 "Forbidden: user is deactivated"."""
        with self._lock:
            self._deactivated.add(chat_id)

    def stall(self, method: str | None, seconds: float, *, times: int = 1) -> None:
        """Delay the answer to the next ``times`` calls of ``method`` (None: any send method)."""
        with self._lock:
            self._stalls.append(_Stall(method, seconds, times))

    def rate_limit(self, fraction: float, retry_after: int = 1, seed: int = 0) -> None:
        """From now on that fraction of send calls answers 429 (0 switches it off)."""
        with self._lock:
            self._rate_fraction = fraction
            self._rate_retry_after = retry_after
            self._rng = random.Random(seed)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._stalls.clear()
            self._blocked.clear()
            self._deactivated.clear()
            self._rate_fraction = 0.0

    # ------------------------------------------------------------------ internals: faults

    def _take_stall(self, method: str) -> float:
        with self._lock:
            for stall in self._stalls:
                if stall.method == method or (stall.method is None and method in SEND_METHODS):
                    stall.times -= 1
                    if stall.times <= 0:
                        self._stalls.remove(stall)
                    return stall.seconds
        return 0.0

    def _check_faults(self, method: str, params: dict) -> None:
        for fault in self._faults:
            if fault.method is None and method not in SEND_METHODS:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise _ApiError(
                fault.status,
                fault.description,
                fault.retry_after if fault.status == 429 else None,
            )
        if (
            method in SEND_METHODS
            and self._rate_fraction > 0
            and self._rng.random() < self._rate_fraction
        ):
            retry = self._rate_retry_after
            raise _ApiError(429, f"Too Many Requests: retry after {retry}", retry)
