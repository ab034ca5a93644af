"""The APScheduler loop: jobs mirroring the schedules in the database (run by the leader).

``Scheduler`` registers the schedules with APScheduler (an ``AsyncIOScheduler`` owned by the
core) under deterministic job ids - ``reminder:<id>``, ``tips``, ``calendar``,
``broadcast:<id>`` - rebuilt from the database at start-up and resynchronised on every change
(immediately in this process, and every ``sync_interval`` seconds for changes made by other
processes). Each job calls the matching firing of :class:`~bot.schedules.service.ScheduleService`.

Nothing due is dropped because of a failure: a job whose firing raises (the database is
unreachable, a deadlock, a bug) is retried with exponential backoff (``retry:<job id>``, from
``retry_base`` up to ``retry_cap`` seconds) until the firing completes - it then sends the
occurrence, or skips it with a warning when it is past its grace window
(:func:`bot.schedules.firing.within_grace`). The catch-up at start-up follows the same rule: if
it cannot even list what is due, the whole catch-up is retried; a single firing that fails is
retried on its own. A reminder job that appears after the catch-up (created, resumed, or its
sync failed for a while) with an occurrence already due is fired at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.db.base import utcnow
from bot.schedules.recurrence import Rule

if TYPE_CHECKING:
    from bot.schedules.service import ScheduleService

log = logging.getLogger(__name__)


class Scheduler:
    """APScheduler jobs mirroring the schedules in the database (run by the leader only)."""

    def __init__(
        self,
        service: ScheduleService,
        *,
        clock: Callable[[], datetime] = utcnow,
        sync_interval: float = 30.0,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
    ) -> None:
        self.service = service
        self.outbox = service.outbox
        self.clock = clock
        self.sync_interval = sync_interval
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.failures: dict[str, int] = {}  # job id -> consecutive failures (retry pending)
        self.retried = 0  # retries run so far (figures for tests and benches)
        self._covered_until: datetime | None = None  # the catch-up fired everything up to here
        self._tasks: set[asyncio.Task] = set()
        self._sched = None
        self._signatures: dict[str, Any] = {}
        self._sync_lock = asyncio.Lock()
        self._pending_sync: asyncio.Task | None = None
        self._dirty = False

    @property
    def running(self) -> bool:
        return self._sched is not None

    def job_ids(self) -> list[str]:
        if self._sched is None:
            return []
        return sorted(j.id for j in self._sched.get_jobs())

    def next_run(self, job_id: str) -> datetime | None:
        if self._sched is None:
            return None
        job = self._sched.get_job(job_id)
        return job.next_run_time if job else None

    async def start(self, *, catch_up: bool = True) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        if self._sched is not None:
            return
        self._sched = AsyncIOScheduler(
            event_loop=asyncio.get_running_loop(),
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._sched.start()
        self.service.on_change.append(self.request_sync)
        self.outbox.on_schedule_change.append(self.request_sync)
        if catch_up:
            await self._catch_up()
        else:
            self._covered_until = self.clock()
        await self._retry_sync()
        self._sched.add_job(
            self._periodic_sync,
            "interval",
            seconds=self.sync_interval,
            id="sync",
            replace_existing=True,
        )

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.service.on_change.remove(self.request_sync)
        with contextlib.suppress(ValueError):
            self.outbox.on_schedule_change.remove(self.request_sync)
        if self._pending_sync is not None:
            self._pending_sync.cancel()
            await asyncio.gather(self._pending_sync, return_exceptions=True)
            self._pending_sync = None
        sched, self._sched = self._sched, None
        if sched is not None:
            sched.shutdown(wait=False)
        tasks, self._tasks = list(self._tasks), set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._signatures.clear()
        self.failures.clear()

    # -- failures: retried with backoff ----------------------------------------------------------
    def _retry_later(self, job_id: str) -> None:
        n = self.failures.get(job_id, 0) + 1
        self.failures[job_id] = n
        if self._sched is None:
            return
        delay = min(self.retry_cap, self.retry_base * 2 ** (n - 1))
        log.warning("scheduler job %s failed (%d in a row); retrying in %.1fs", job_id, n, delay)
        self._sched.add_job(
            self._retry,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=delay),
            args=(job_id,),
            id=f"retry:{job_id}",
            replace_existing=True,
        )

    def _succeeded(self, job_id: str) -> None:
        if self.failures.pop(job_id, None) is not None:
            log.info("scheduler job %s completed after its retries", job_id)
            if self._sched is not None:
                with contextlib.suppress(Exception):
                    self._sched.remove_job(f"retry:{job_id}")

    async def _retry(self, job_id: str) -> None:
        self.retried += 1
        if job_id == "catch_up":
            await self._catch_up()
        elif job_id == "sync":
            await self._retry_sync()
        else:
            await self.run_job(job_id)

    async def _retry_sync(self) -> None:
        try:
            await self.sync()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler sync failed")
            self._retry_later("sync")
            return
        self._succeeded("sync")

    async def run_job(self, job_id: str):
        """Run one job now (as APScheduler does at its time); a failure is retried later."""
        kind, _, ident = job_id.partition(":")
        calls = {
            "reminder": lambda now: self.service.fire_reminder(int(ident), now),
            "broadcast": lambda now: self.service.fire_broadcast(int(ident), now),
            "tips": self.service.run_tips,
            "calendar": self.service.run_calendar,
        }
        try:
            result = await calls[kind](self.clock())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler job %s failed", job_id)
            self._retry_later(job_id)
            return None
        self._succeeded(job_id)
        if kind in ("tips", "calendar"):
            log.info("%s queued: %s", kind, result)
        return result

    async def _catch_up(self) -> None:
        now = self.clock()
        try:
            result = await self.service.catch_up(now, on_error=self._retry_later)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler catch-up failed")
            self._retry_later("catch_up")
            return
        self._succeeded("catch_up")
        for job_id in ("tips", "calendar"):
            if result.get(f"{job_id}_error", 0) == 0:
                self._succeeded(job_id)
        if self._covered_until is None or now > self._covered_until:
            self._covered_until = now
        log.info("scheduler catch-up: %s", result)

    async def _periodic_sync(self) -> None:
        try:
            await self.sync()
        except Exception:
            log.exception("scheduler periodic sync failed")

    def request_sync(self) -> None:
        """Resync soon (called on every change; coalesced, never misses a change)."""
        if self._sched is None:
            return
        self._dirty = True
        if self._pending_sync is None or self._pending_sync.done():
            self._pending_sync = asyncio.get_running_loop().create_task(self._sync_loop())

    async def _sync_loop(self) -> None:
        while self._dirty and self._sched is not None:
            self._dirty = False
            try:
                await self.sync()
            except Exception:
                log.exception("scheduler resync failed (retried by the periodic sync)")

    async def settle(self) -> None:
        """Wait until requested resyncs are applied."""
        while self._pending_sync is not None and not self._pending_sync.done():
            await asyncio.shield(self._pending_sync)

    async def sync(self) -> None:
        """Make the APScheduler jobs equal to what the database says."""
        if self._sched is None:
            return
        async with self._sync_lock:
            desired: dict[str, tuple[Any, Callable, tuple]] = {}
            for sid, rule, zone, since in await self.service.active_reminders():
                sig = (rule, zone, since)
                desired[f"reminder:{sid}"] = (sig, self._job_reminder, (sid,))
            for mid, at, _tz in await self.outbox.scheduled_broadcasts():
                if at is not None:
                    desired[f"broadcast:{mid}"] = (at, self._job_broadcast, (mid,))
            zones = tuple(await self.service.zones_in_use())
            for key, job in (("tips", self._job_tips), ("calendar", self._job_calendar)):
                cfg = await self.service.system(key)
                if not cfg.paused:
                    desired[key] = ((cfg.rule, zones), job, ())

            sched = self._sched
            now = self.clock()
            for job_id in list(self._signatures):
                if job_id not in desired:
                    with contextlib.suppress(Exception):
                        sched.remove_job(job_id)
                    del self._signatures[job_id]
            for job_id, (sig, func, args) in desired.items():
                if self._signatures.get(job_id) == sig:
                    continue
                trigger = self._trigger(job_id, sig)
                if trigger is None:
                    with contextlib.suppress(Exception):
                        sched.remove_job(job_id)
                    self._signatures.pop(job_id, None)
                    continue
                sched.add_job(func, trigger, args=args, id=job_id, replace_existing=True)
                self._signatures[job_id] = sig
                if job_id.startswith("reminder:") and self._due_uncovered(sig, now):
                    self._spawn(self.run_job(job_id))

    def _due_uncovered(self, sig: Any, now: datetime) -> bool:
        """Whether a reminder has an occurrence due that no catch-up or job has fired."""
        rule, zone, since = sig
        floor = max(since, self._covered_until) if self._covered_until else since
        occ = rule.latest_at_or_before(now, ZoneInfo(zone))
        return occ is not None and occ > floor

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _trigger(self, job_id: str, sig: Any):
        if job_id.startswith("broadcast:"):
            from apscheduler.triggers.date import DateTrigger

            at: datetime = sig
            return DateTrigger(run_date=max(at, self.clock()), timezone=UTC)
        if job_id.startswith("reminder:"):
            rule, zone, since = sig
            return RuleTrigger(rule, [zone], not_before=since)
        rule, zones = sig
        return RuleTrigger(rule, list(zones))

    async def _job_reminder(self, sid: int) -> None:
        await self.run_job(f"reminder:{sid}")

    async def _job_broadcast(self, mid: int) -> None:
        await self.run_job(f"broadcast:{mid}")

    async def _job_tips(self) -> None:
        await self.run_job("tips")

    async def _job_calendar(self) -> None:
        await self.run_job("calendar")
        # At most once a month (recorded in the outbox): dates the admins should confirm.
        await self.service.notify_date_gaps_logged(self.clock())


class RuleTrigger(BaseTrigger):
    """Fires at a rule's occurrences in each of the given zones (the earliest first)."""

    def __init__(self, rule: Rule, zones: list[str], not_before: datetime | None = None) -> None:
        self.rule = rule
        self.zones = [ZoneInfo(z) for z in zones]
        self.not_before = not_before

    def get_next_fire_time(self, previous_fire_time, now):
        after = previous_fire_time or (now - timedelta(microseconds=1))
        if self.not_before is not None and after < self.not_before:
            after = self.not_before
        found = [self.rule.next_after(after, tz) for tz in self.zones]
        found = [f for f in found if f is not None]
        return min(found) if found else None

    def __str__(self) -> str:
        return f"rule[{self.rule.kind} {self.rule.hhmm}]"
