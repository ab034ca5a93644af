"""The sender: drains the outbox through a Transport within Telegram's limits.

- claims due rows in small batches with a lease, sends OUTSIDE any transaction, records each
  result in its own short transaction (so at most the rows in flight can repeat after a crash);
- under a leader (``bot.outbox.leader.Leadership``) every claim and write carries its epoch
  and is fenced; before each send the lease must still be valid and the attempt is counted
  durably (``begin``): a resumed old leader sends nothing, and nothing is sent blind;
- when a result cannot be recorded (the database is unreachable) ALL sending pauses and the
  write is retried with backoff; results still unrecorded when the sender stops are kept in
  ``unrecorded`` and written first by the next sender of this process (if it leads again);
- paces every send through its bucket: in a running bot the ``bulk`` lane of the token's one
  :class:`bot.budget.RateBudget` (capped at ``BROADCAST_RATE``), so broadcasts take what the
  interactive replies leave (with a small floor) and both together stay within Telegram's limit;
- 429: pauses ALL sending for ``retry_after`` and retries the same row; timeouts / 5xx:
  exponential backoff, bounded attempts; 403: blocked, user inactive, never retried;
  400 chat not found (or another 400): failed with the reason;
- keeps about one second between two messages to the same chat.

The admin's live status message is kept by :class:`bot.outbox.reporter.ProgressReporter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from bot.outbox.claims import Claimed
from bot.outbox.leader import Fenced
from bot.outbox.pacing import TokenBucket
from bot.outbox.progress import Content
from bot.outbox.store import OutboxService, buttons_from_json
from bot.transport import (
    BadRequest,
    Blocked,
    ChatNotFound,
    OutMessage,
    RetryAfter,
    Transient,
    Transport,
    TransportError,
)

log = logging.getLogger(__name__)


def make_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Sender:
    def __init__(
        self,
        outbox: OutboxService,
        transport: Transport,
        *,
        rate: float,
        owner: str | None = None,
        lease_seconds: float = 60.0,
        lease_margin: float = 5.0,
        concurrency: int = 8,
        batch: int | None = None,
        poll_interval: float = 1.0,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        chat_gap: float = 1.0,
        bucket: TokenBucket | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        leadership=None,
        on_lost: Callable[[], None] | None = None,
        unrecorded: list | None = None,
        db_retry_base: float = 0.5,
        db_retry_cap: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self.transport = transport
        self.rate = rate
        self.owner = owner or make_owner()
        self.lease_seconds = lease_seconds
        self.lease_margin = min(lease_margin, lease_seconds / 4)
        self.concurrency = max(1, concurrency)
        self.batch = batch or max(5, math.ceil(rate * 2))
        self.poll_interval = poll_interval
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.chat_gap = chat_gap
        self.monotonic = monotonic
        self.bucket = bucket or TokenBucket(rate, clock=monotonic)
        self.leadership = leadership
        self.on_lost = on_lost
        self.unrecorded: list = unrecorded if unrecorded is not None else []
        self.db_retry_base = db_retry_base
        self.db_retry_cap = db_retry_cap
        self._db_ok = asyncio.Event()
        self._db_ok.set()
        self.stats: Counter[str] = Counter()
        self.dirty: set[int] = set()  # messages whose counts changed (for the reporter)
        self._cancelled: set[int] = set()
        self._contents: dict[int, Content] = {}
        self._last_chat: dict[int, float] = {}
        self._queue: asyncio.Queue[tuple[Claimed, float]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._busy: set[asyncio.Task | None] = set()
        self._recording: set[Callable] = set()  # outcomes whose write is being retried now

    # -- hooks -------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def cancelled(self, message_id: int) -> None:
        self._cancelled.add(message_id)

    @property
    def epoch(self) -> int | None:
        return self.leadership.epoch if self.leadership is not None else None

    def _check_lead(self) -> None:
        if self.leadership is not None and not self.leadership.valid():
            raise Fenced("the leader lease is no longer valid")

    def _fenced(self, exc: Exception) -> None:
        if self._stopping:
            return
        log.error("outbox sender %s: not the leader any more (%s); stopping", self.owner, exc)
        self._stopping = True
        self.stats["fenced"] += 1
        if self.leadership is not None:
            self.leadership.lost()
        if self.on_lost is not None:
            self.on_lost()

    async def _db(self, fn: Callable):
        """Run a database write, retrying with backoff while the database is unreachable;
        while any write waits, no worker sends (``_db_ok``)."""
        delay = self.db_retry_base
        while True:
            try:
                result = await fn()
            except (Fenced, asyncio.CancelledError):
                raise
            except Exception as exc:
                if self._db_ok.is_set():
                    log.error("outbox: cannot write to the database, sending paused: %s", exc)
                    self._db_ok.clear()
                self.stats["db_errors"] += 1
                await asyncio.sleep(delay)
                delay = min(self.db_retry_cap, delay * 2)
                continue
            if not self._db_ok.is_set():
                log.info("outbox: database reachable again, sending resumes")
                self._db_ok.set()
            return result

    async def _record(self, fn: Callable) -> None:
        """Record a send's outcome: ``fn(epoch)`` writes it. Kept in ``unrecorded`` until done;
        while this call retries it, the claimer leaves it alone (``_recording``)."""
        self.unrecorded.append(fn)
        self._recording.add(fn)
        try:
            await self._db(lambda: fn(self.epoch))
        except Fenced as exc:
            self._fenced(exc)
            return  # kept: written if this process leads again and nobody re-claimed the row
        finally:
            self._recording.discard(fn)
        self._forget(fn)

    def _forget(self, fn: Callable) -> None:
        with contextlib.suppress(ValueError):
            self.unrecorded.remove(fn)

    def _orphans(self) -> list[Callable]:
        """Outcomes nobody is recording now: left by a cancelled send or an earlier sender."""
        return [fn for fn in self.unrecorded if fn not in self._recording]

    async def _flush_unrecorded(self) -> None:
        for fn in self._orphans():
            if fn not in self.unrecorded or fn in self._recording:
                continue  # written (or taken up) meanwhile
            self._recording.add(fn)
            try:
                await self._db(lambda fn=fn: fn(self.epoch))
            finally:
                self._recording.discard(fn)
            self._forget(fn)
            self.stats["recorded_late"] += 1

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopping = False
        self.outbox.on_enqueue.append(self.wake)
        self.outbox.on_cancel.append(self.cancelled)
        self._tasks = [asyncio.create_task(self._claimer(), name="outbox-claimer")]
        self._tasks += [
            asyncio.create_task(self._worker(), name=f"outbox-worker-{i}")
            for i in range(self.concurrency)
        ]
        log.info("outbox sender %s started (%.1f msg/s)", self.owner, self.rate)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let sends in flight finish and be recorded (up to ``grace`` seconds);
        give the queued rows back."""
        self._stopping = True
        with contextlib.suppress(ValueError):
            self.outbox.on_enqueue.remove(self.wake)
        with contextlib.suppress(ValueError):
            self.outbox.on_cancel.remove(self.cancelled)
        tasks, self._tasks = self._tasks, []
        idle = [t for t in tasks if t not in self._busy]
        busy = [t for t in tasks if t in self._busy]
        for t in idle:
            t.cancel()
        if busy:
            _done, late = await asyncio.wait(busy, timeout=grace)
            for t in late:
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        leftover: list[Claimed] = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait()[0])
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.outbox.release(leftover), 5)
        if tasks:
            log.info("outbox sender %s stopped (%s)", self.owner, dict(self.stats))

    # -- loops -------------------------------------------------------------------------------
    async def _claimer(self) -> None:
        low_water = max(1, self.batch // 2)
        while not self._stopping:
            try:
                if self._orphans():
                    await self._flush_unrecorded()
                    continue
                if not self._db_ok.is_set():  # a worker retries a write: no claim meanwhile
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._db_ok.wait(), self.poll_interval)
                    continue
                if self._queue.qsize() >= low_water:
                    self._space.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._space.wait(), self.poll_interval)
                    continue
                paused = self.bucket.paused_for
                if paused > 0:
                    await asyncio.sleep(min(paused, self.poll_interval))
                    continue
                self._check_lead()
                rows = await self.outbox.claim(
                    self.owner,
                    self.batch - self._queue.qsize(),
                    self.lease_seconds,
                    epoch=self.epoch,
                )
                if rows:
                    await self._prepare(rows)
                    now = self.monotonic()
                    for r in rows:
                        self._queue.put_nowait((r, now))
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except asyncio.CancelledError:
                raise
            except Fenced as exc:
                self._fenced(exc)
            except Exception:
                log.exception("outbox claim failed; retrying")
                await asyncio.sleep(self.poll_interval)

    async def _worker(self) -> None:
        me = asyncio.current_task()
        while not self._stopping:
            row, claimed_at = await self._queue.get()
            if self._stopping:
                self._queue.put_nowait((row, claimed_at))  # given back by stop()
                break
            if self._queue.qsize() < max(1, self.batch // 2):
                self._space.set()
            self._busy.add(me)
            try:
                await self.deliver(row, claimed_at)
            except asyncio.CancelledError:
                raise
            except Fenced as exc:
                self._fenced(exc)
            except Exception:
                log.exception("delivery %s: unexpected error (lease will expire)", row.id)
            finally:
                self._busy.discard(me)
                self._queue.task_done()

    async def _prepare(self, rows: list[Claimed]) -> None:
        ids = {r.message_id for r in rows}
        missing = ids - set(self._contents)
        if missing:
            if len(self._contents) > 1000:
                self._contents.clear()
            self._contents.update(await self.outbox.contents(missing))
        self._cancelled |= await self.outbox.cancelled_among(ids)

    # -- one delivery --------------------------------------------------------------------------
    def _backoff(self, attempts: int) -> float:
        return min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))

    async def deliver(self, row: Claimed, claimed_at: float | None = None) -> str:
        """Send one claimed row and record the outcome; returns what happened."""
        claimed_at = self.monotonic() if claimed_at is None else claimed_at
        if row.message_id in self._cancelled:
            return "cancelled"  # the cancel already marked the row
        content = self._contents.get(row.message_id)
        if content is None:
            content = await self._db(lambda: self.outbox.content(row.message_id))
            if content is None:
                await self._record(lambda e: self.outbox.mark_failed(row, "deleted", epoch=e))
                return "failed"
            self._contents[row.message_id] = content

        now_m = self.monotonic()
        last = self._last_chat.get(row.chat_id)
        if last is not None and now_m - last < self.chat_gap:
            at = self.outbox.clock() + timedelta(seconds=self.chat_gap - (now_m - last))
            ob = self.outbox
            ep = self.epoch
            await self._db(lambda: ob.retry_later(row, at, None, count_attempt=False, epoch=ep))
            self.stats["spaced"] += 1
            return "spaced"
        self._last_chat[row.chat_id] = now_m
        if len(self._last_chat) > 10000:
            cutoff = now_m - self.chat_gap
            self._last_chat = {k: v for k, v in self._last_chat.items() if v >= cutoff}

        await self._db_ok.wait()  # no send while a result waits to be recorded
        if self.monotonic() > claimed_at + self.lease_seconds - self.lease_margin:
            # the lease is about to expire: do not risk it
            await self._db(lambda: self.outbox.release([row], epoch=self.epoch))
            self.stats["released"] += 1
            return "released"
        if row.message_id in self._cancelled:
            return "cancelled"
        self._check_lead()
        begun = await self._db(lambda: self.outbox.begin(row, epoch=self.epoch))
        if begun is None:
            self.stats["lost_lease"] += 1
            return "lost"
        row = begun
        msg = OutMessage(
            chat_id=row.chat_id,
            text=row.text if row.text is not None else content.text,
            buttons=buttons_from_json(row.buttons or content.buttons),
            copy_from_chat_id=None if row.text is not None else content.copy_from_chat_id,
            copy_message_id=None if row.text is not None else content.copy_message_id,
        )
        try:
            # the grant is taken right before the request (after the begin write), so the
            # requests reach Telegram as evenly spaced as the budget hands out its grants; it
            # is held until Telegram answered (released in _send, or here when not sent)
            await self.bucket.acquire(row.chat_id, hold=True)
        except (asyncio.CancelledError, Fenced):
            self.unrecorded.append(self._unbegin(row))
            raise
        try:
            if self.monotonic() > claimed_at + self.lease_seconds - self.lease_margin:
                # flood control or the replies held us until the lease is about to expire
                self.bucket.release()
                await self._record(self._unbegin(row))
                self.stats["released"] += 1
                return "released"
            self._check_lead()
            await self._db_ok.wait()  # a result of another worker waits to be recorded
            self._check_lead()
        except (asyncio.CancelledError, Fenced):
            # counted but not sent: take the attempt back when the database allows
            self.bucket.release()
            self.unrecorded.append(self._unbegin(row))
            raise
        outcome = await self._send(row, msg)
        self.stats[outcome] += 1
        self.dirty.add(row.message_id)
        return outcome

    def _unbegin(self, row: Claimed) -> Callable:
        ob = self.outbox

        async def unbegin(epoch):
            at = ob.clock()
            await ob.retry_later(row, at, None, count_attempt=False, epoch=epoch)

        return unbegin

    async def _send(self, row: Claimed, msg: OutMessage) -> str:
        clock = self.outbox.clock
        ob = self.outbox
        try:
            try:
                telegram_id = await self.transport.send(msg)
            finally:
                self.bucket.release()  # answered: Telegram saw it by now
        except RetryAfter as exc:
            seconds = max(0.0, float(exc.seconds))
            self.bucket.pause(seconds)
            log.warning("flood control: pausing all sends for %.1fs", seconds)
            at, why = clock() + timedelta(seconds=seconds), exc.reason
            await self._record(lambda e: ob.retry_later(row, at, why, count_attempt=False, epoch=e))
            return "retry_after"
        except Blocked as exc:
            why = exc.reason or "blocked"
            await self._record(lambda e: ob.mark_blocked(row, why, epoch=e))
            return "blocked"
        except ChatNotFound as exc:
            reason = exc.reason or "chat not found"
            await self._record(lambda e: ob.mark_failed(row, reason, epoch=e))
            return "failed"
        except BadRequest as exc:
            reason = exc.reason or "bad request"
            await self._record(lambda e: ob.mark_failed(row, reason, epoch=e))
            return "failed"
        except (Transient, TransportError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or repr(exc)
            return await self._transient(row, reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a transport: treat as transient, bounded
            log.exception("transport error for delivery %s", row.id)
            return await self._transient(row, repr(exc))
        await self._record(lambda e: ob.mark_sent(row, telegram_id, epoch=e))
        return "sent"

    async def _transient(self, row: Claimed, reason: str) -> str:
        attempts = row.attempts if row.begun else row.attempts + 1
        ob = self.outbox
        if attempts >= self.max_attempts:
            why = f"{reason} (after {attempts} attempts)"
            await self._record(lambda e: ob.mark_failed(row, why, epoch=e))
            return "failed"
        at = ob.clock() + timedelta(seconds=self._backoff(attempts))
        await self._record(lambda e: ob.retry_later(row, at, reason, count_attempt=True, epoch=e))
        return "transient"

    # -- synchronous draining (CLI, tests) -------------------------------------------------------
    async def drain(self, *, max_rows: int = 1_000_000) -> Counter[str]:
        """Claim and deliver due rows one by one until none is due. Returns the outcomes."""
        outcomes: Counter[str] = Counter()
        done = 0
        while done < max_rows:
            rows = await self.outbox.claim(self.owner, min(self.batch, max_rows - done), 3600)
            if not rows:
                break
            await self._prepare(rows)
            for r in rows:
                outcomes[await self.deliver(r)] += 1
                done += 1
        return outcomes
