"""One rate budget per bot token, shared by every message the process sends.

Telegram allows a bot about 30 messages a second overall, about one a second in one chat (short
bursts pass) and 20 a minute in one group. Every send of the token takes a token from one
:class:`RateBudget`: interactive replies (the ``reply`` lane, PTB's requests through
``handlers.ratelimit.BudgetRateLimiter``) and broadcasts (the ``bulk`` lane, the outbox sender
and the progress reporter). Rules:

- overall at most ``rate`` grants a second, evenly spaced, no burst. The spacing keeps its own
  timeline: a grant that comes late (the event loop was busy, a sleep overslept; measured
  17 ms a grant on a loaded 2-core machine, half the interval) is charged from its slot, up to
  one interval, so the lateness does not pile up into a lower rate. Besides, any one-second
  window holds at most ``window`` requests (default ``rate + 1``, Telegram's 30 at 29/s), each
  counted until Telegram surely saw it: a grant taken with ``hold=True`` stays in flight until
  :meth:`release` (after Telegram's answer), so however unevenly the requests on their way are
  delayed (measured: more than 50 ms on a loaded machine, and a 429 when counted at the grant),
  Telegram never sees more than ``window`` in one second. A 429 ``retry_after`` from Telegram
  pauses every lane;
- replies first: when both lanes wait, the reply lane is served, except that the bulk lane gets
  a grant whenever it waited ``1 / bulk_floor`` seconds since its last one (so a broadcast
  never stops while people chat);
- per chat: bulk sends to a private chat refill one grant a second with a burst of
  ``chat_burst`` (replies there answer what the user just did and are not held per chat, as
  with PTB's limiter); a group or channel (negative id) gets at most ``group_limit`` grants in
  any ``group_window`` seconds, replies and bulk together;
- courtesy calls (typing indicators) use :meth:`try_acquire`: taken only when a grant is free
  right now and nobody waits, otherwise skipped (they are not messages: no per-chat rule).

The clock and the sleep are injectable (tests and benches count instead of waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

REPLY = "reply"
BULK = "bulk"


class FloodPause:
    """Telegram's flood control (a 429's ``retry_after``) for a pacer: ``pause(seconds)``
    stops every sender until then; a shorter pause never shortens a longer one. Needs
    ``self.clock``, ``self._paused_until`` and ``self.pauses`` (set by the pacer)."""

    clock: Callable[[], float]
    _paused_until: float
    pauses: int

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    def pause(self, seconds: float) -> None:
        until = self.clock() + max(0.0, float(seconds))
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1


class RateBudget(FloodPause):
    def __init__(
        self,
        rate: float = 29.0,
        *,
        window: int | None = None,
        bulk_floor: float = 0.5,
        chat_rate: float = 1.0,
        chat_burst: float = 8.0,
        group_limit: int = 19,
        group_window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self.window = max(1, int(window if window is not None else self.rate + 1))
        self.window_seconds = 1.0
        self.catch_up = self.interval  # lateness a paced grant is credited
        self.bulk_floor = max(0.01, float(bulk_floor))
        self.chat_rate = chat_rate
        self.chat_burst = max(1.0, chat_burst)
        self.group_limit = group_limit
        self.group_window = group_window
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0  # earliest time of the next grant
        self._recent: deque[float] = deque()  # requests of the last second (held: answered)
        self._inflight = 0  # granted, their holder not running yet
        self._paused_until = 0.0
        self._waiters: dict[str, deque[asyncio.Future]] = {REPLY: deque(), BULK: deque()}
        self._last_bulk = clock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._chats: dict[int, tuple[float, float]] = {}  # private: (tokens, at)
        self._groups: dict[int, deque[float]] = {}
        self.granted: dict[str, int] = {REPLY: 0, BULK: 0}
        self.skipped = 0  # courtesy calls skipped
        self.pauses = 0
        #: grants the dispatcher waited for (pacing), and the seconds in total they came after
        #: their slot (the event loop was busy, a sleep overslept)
        self.paced_grants = 0
        self.late_seconds = 0.0

    # -- per chat ------------------------------------------------------------------------------
    def _chat_wait(self, chat_id: int | None, now: float) -> float:
        """Seconds until ``chat_id`` may get another grant (0 = now)."""
        if chat_id is None:
            return 0.0
        if chat_id < 0:
            q = self._groups.get(chat_id)
            if q is None:
                return 0.0
            while q and q[0] <= now - self.group_window:
                q.popleft()
            if len(q) < self.group_limit:
                return 0.0
            return q[0] + self.group_window - now
        tokens, at = self._chats.get(chat_id, (self.chat_burst, now))
        tokens = min(self.chat_burst, tokens + (now - at) * self.chat_rate)
        if tokens >= 1.0 - 1e-9:
            return 0.0
        return (1.0 - tokens) / self.chat_rate

    def _chat_take(self, chat_id: int | None, now: float) -> None:
        if chat_id is None:
            return
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)
            return
        tokens, at = self._chats.get(chat_id, (self.chat_burst, now))
        tokens = min(self.chat_burst, tokens + (now - at) * self.chat_rate)
        self._chats[chat_id] = (tokens - 1.0, now)
        if len(self._chats) > 20000:  # forget chats that are full again
            full = now - self.chat_burst / self.chat_rate
            self._chats = {k: v for k, v in self._chats.items() if v[1] > full}

    # -- granting ------------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """A grant now if one is free and nobody waits (courtesy calls, which are not messages
        in a chat: the per-chat rules do not apply); else False."""
        now = self.clock()
        if now < self._paused_until or self._global_wait(now) > 0 or any(self._waiters.values()):
            self.skipped += 1
            return False
        self._grant(now)
        self._used()
        return True

    def _global_wait(self, now: float) -> float:
        recent = self._recent
        while recent and recent[0] <= now - self.window_seconds:
            recent.popleft()
        wait = self._next - now
        if len(recent) + self._inflight >= self.window:
            wait = max(wait, recent[0] + self.window_seconds - now if recent else self.interval)
        return wait

    def _grant(self, now: float, slot: float | None = None) -> None:
        """A grant at ``now``; ``slot``: the moment it was due (the dispatcher waited for it).
        It counts in the window from when its holder runs again (:meth:`_used`): that is when
        the request leaves, and a holder the busy loop resumed late must not make the next
        window look emptier than Telegram sees it."""
        start = now if slot is None else max(slot, now - self.catch_up)
        self._next = start + self.interval
        self._inflight += 1

    def _used(self) -> None:
        self._inflight = max(0, self._inflight - 1)
        self._recent.append(self.clock())

    def release(self) -> None:
        """The request of a grant taken with ``hold=True`` is answered (or failed): from now on
        it counts in the window at this moment (Telegram saw it at the latest now)."""
        self._used()

    async def acquire(
        self, lane: str = REPLY, chat_id: int | None = None, *, hold: bool = False
    ) -> None:
        """Wait for a grant in ``lane`` (``reply`` or ``bulk``) for a send to ``chat_id``.

        ``hold``: the grant stays in flight until :meth:`release` (call it once the request is
        answered, whatever the outcome): the window then counts the request until Telegram
        surely saw it, however unevenly the requests on their way were delayed. Without it the
        grant counts from the moment this call returns."""
        if lane == REPLY and chat_id is not None and chat_id > 0:
            # a reply in a private chat answers what the user just did: not throttled per chat
            chat_id = None
        while True:
            wait = self._chat_wait(chat_id, self.clock())
            if wait > 0:
                await self.sleep(wait)
                continue
            await self._global(lane)
            now = self.clock()
            if self._chat_wait(chat_id, now) <= 0:  # re-checked: another send may have won
                self._chat_take(chat_id, now)
                if not hold:
                    self._used()
                return
            self._used()  # spent on nothing

    @contextlib.asynccontextmanager
    async def sending(self, lane: str = REPLY, chat_id: int | None = None) -> AsyncIterator[None]:
        """``async with budget.sending(lane, chat):`` the request inside holds its grant."""
        await self.acquire(lane, chat_id, hold=True)
        try:
            yield
        finally:
            self.release()

    async def _global(self, lane: str) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        self._waiters[lane].append(fut)
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            if self._task is not None and self._task.get_loop() is not loop:
                self._inflight = 0  # holders of another (closed) loop never run again
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._dispatch(), name="rate-budget")
        assert self._wake is not None
        self._wake.set()
        try:
            await fut
        except asyncio.CancelledError:
            if fut in self._waiters[lane]:
                self._waiters[lane].remove(fut)
            elif fut.done() and not fut.cancelled():
                self._used()  # granted just before the cancel: the grant is spent
            raise

    async def close(self) -> None:
        """Stop the dispatcher (at shutdown): waiting requests are cancelled with it."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        if task.get_loop() is not asyncio.get_running_loop():
            return  # a loop that is gone: nothing runs there any more
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        for waiters in self._waiters.values():
            for fut in waiters:
                fut.cancel()
            waiters.clear()

    def _pick(self, now: float) -> str | None:
        reply, bulk = self._waiters[REPLY], self._waiters[BULK]
        if bulk and (not reply or now - self._last_bulk >= 1.0 / self.bulk_floor):
            return BULK
        if reply:
            return REPLY
        return None

    async def _dispatch(self) -> None:
        assert self._wake is not None
        slot: float | None = None  # the moment the dispatcher waited for
        while True:
            for q in self._waiters.values():
                while q and q[0].done():  # cancelled waiters
                    q.popleft()
            if not any(self._waiters.values()):
                slot = None
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self.clock()
            hold = max(self._global_wait(now), self._paused_until - now)
            if hold > 0:
                slot = now + hold
                await self.sleep(hold)
                continue
            lane = self._pick(now)
            if lane is None:
                continue
            fut = self._waiters[lane].popleft()
            if fut.done():
                continue
            fut.set_result(None)
            if slot is not None:
                self.paced_grants += 1
                self.late_seconds += max(0.0, now - slot)
            self._grant(now, slot)
            slot = None
            self.granted[lane] += 1
            if lane == BULK or not self._waiters[BULK]:
                self._last_bulk = now

    # -- the outbox sender's view -----------------------------------------------------------------
    def lane(self, name: str = BULK, *, cap: float | None = None) -> BudgetLane:
        return BudgetLane(self, name, cap)


class BudgetLane:
    """A lane of the budget with the interface of :class:`bot.outbox.pacing.TokenBucket`
    (``acquire``, ``pause``, ``paused_for``), optionally capped at ``cap`` grants a second
    (``BROADCAST_RATE``)."""

    def __init__(self, budget: RateBudget, name: str, cap: float | None) -> None:
        self.budget = budget
        self.name = name
        self.cap = cap
        self._next = 0.0
        self._held_until = 0.0
        self._lock = asyncio.Lock()
        self.acquired = 0

    @property
    def rate(self) -> float:
        return min(self.budget.rate, self.cap) if self.cap else self.budget.rate

    @property
    def paused_for(self) -> float:
        return max(self.budget.paused_for, self._held_until - self.budget.clock())

    @property
    def pauses(self) -> int:
        return self.budget.pauses

    def pause(self, seconds: float) -> None:
        """Flood control: every lane of the budget waits (Telegram's limit is per token)."""
        self.budget.pause(seconds)

    def hold(self, seconds: float) -> None:
        """Hold this lane only (0 releases it): e.g. an admin pausing the broadcasts."""
        self._held_until = self.budget.clock() + max(0.0, seconds) if seconds > 0 else 0.0

    def release(self) -> None:
        self.budget.release()

    async def acquire(self, chat_id: int | None = None, *, hold: bool = False) -> None:
        """A grant of this lane (``hold``: in flight until :meth:`release`, see
        :meth:`RateBudget.acquire`)."""
        while (held := self._held_until - self.budget.clock()) > 0:
            await self.budget.sleep(min(held, 0.2))
        if self.cap:
            async with self._lock:
                wait = self._next - self.budget.clock()
                if wait > 0:
                    await self.budget.sleep(wait)
                self._next = max(self._next, self.budget.clock()) + 1.0 / self.cap
        await self.budget.acquire(self.name, chat_id, hold=hold)
        self.acquired += 1
