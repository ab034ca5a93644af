"""Overall pacing of bulk sends: a token bucket that can be paused (flood control)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.budget import FloodPause


class TokenBucket(FloodPause):
    """At most ``rate`` acquisitions per second on average, bursts up to ``burst``.

    ``pause(seconds)`` stops every acquirer until then (Telegram's ``retry_after``). The clock
    and the sleep are injectable, so tests count instead of waiting.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self.clock = clock
        self.sleep = sleep
        self._tokens = 1.0
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.acquired = 0
        self.pauses = 0

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    def release(self) -> None:
        """Nothing to do: a bucket counts a send when it is granted (see
        :meth:`bot.budget.RateBudget.acquire`)."""

    async def acquire(self, chat_id: int | None = None, *, hold: bool = False) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                if now < self._paused_until:
                    await self.sleep(self._paused_until - now)
                    now = self.clock()
                    # No credit for the time spent paused.
                    self._last = now
                    self._tokens = min(self._tokens, 1.0)
                    continue
                self._refill(now)
                if self._tokens >= 1.0 - 1e-9:  # tolerance: float sums of small steps
                    self._tokens = max(0.0, self._tokens - 1.0)
                    self.acquired += 1
                    return
                await self.sleep(max((1.0 - self._tokens) / self.rate, 1e-4))
