"""The APScheduler loop: jobs mirroring the schedules in the database (run by the leader).

``Scheduler`` registers the schedules with APScheduler (an ``AsyncIOScheduler`` owned by the
core) under deterministic job ids - ``reminder:<id>``, ``tips``, ``calendar``,
``broadcast:<id>`` - rebuilt from the database at start-up and resynchronised on every change
(immediately in this process, and every ``sync_interval`` seconds for changes made by other
processes). Each job calls the matching firing of :class:`~bot.schedules.service.ScheduleService`.
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
    ) -> None:
        self.service = service
        self.outbox = service.outbox
        self.clock = clock
        self.sync_interval = sync_interval
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
            result = await self.service.catch_up(self.clock())
            log.info("scheduler catch-up: %s", result)
        await self.sync()
        self._sched.add_job(
            self.sync, "interval", seconds=self.sync_interval, id="sync", replace_existing=True
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
        self._signatures.clear()

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
        await self.service.fire_reminder(sid, self.clock())

    async def _job_broadcast(self, mid: int) -> None:
        await self.service.fire_broadcast(mid, self.clock())

    async def _job_tips(self) -> None:
        n = await self.service.run_tips(self.clock())
        log.info("tips queued: %d", n)

    async def _job_calendar(self) -> None:
        n = await self.service.run_calendar(self.clock())
        log.info("calendar reminders queued: %d", n)


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
