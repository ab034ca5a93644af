"""Scheduler occurrences that meet a database failure are retried with backoff until sent or
past their grace window; the catch-up after a restart follows the same rule.

The failures are real: ``DatabaseOutage`` makes every statement of the engine fail (and on
PostgreSQL terminates its connections) for a number of seconds; APScheduler runs the jobs.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.db.outage import DatabaseOutage
from bot.outbox import OutboxService
from bot.outbox.models import Delivery, OutboxMessage
from bot.schedules.models import Schedule
from bot.schedules.scheduler import Scheduler
from bot.schedules.service import ScheduleService
from tests.outbox_helpers import Clock, add_users

WIB = ZoneInfo("Asia/Jakarta")


def at(y, m, d, hh, mm=0, ss=0.0) -> datetime:
    return (datetime(y, m, d, hh, mm, tzinfo=WIB) + timedelta(seconds=ss)).astimezone(UTC)


class FlowingClock:
    """UTC time that starts at ``start`` and then runs with the real clock."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = _time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=_time.monotonic() - self.t0)


@pytest.fixture
async def env(db_url):
    settings = load_settings(database_url=db_url, timezone="Asia/Jakarta", _env_file=None)
    db = Database(db_url)
    outage = DatabaseOutage(db)
    yield db, settings, outage
    outage.remove()
    await db.dispose()


def services(db, settings, clock):
    users = UserService(db, settings)
    outbox = OutboxService(db, settings, users, clock=clock)
    svc = ScheduleService(db, settings, outbox, clock=clock)
    svc._tips, svc._events = [], []
    return svc


async def daily_reminders(db, n: int, hhmm: str, since: datetime, start: int = 7000):
    users = await add_users(db, n, start=start)
    async with db.session() as s:
        for uid, _chat in users:
            s.add(
                Schedule(
                    purpose="reminder",
                    user_id=uid,
                    text=f"Unggah konten harian {uid}",
                    kind="daily",
                    time=hhmm,
                    timezone="Asia/Jakarta",
                    since=since,
                    created_at=since,
                )
            )
    return users


async def reminder_deliveries(db) -> list[int]:
    async with db.session() as s:
        rows = await s.scalars(
            select(Delivery.chat_id)
            .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
            .where(OutboxMessage.kind == "reminder")
        )
        return list(rows.all())


async def wait_for(cond, timeout: float) -> bool:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await cond():
            return True
        await asyncio.sleep(0.2)
    return await cond()


async def test_an_8_second_database_error_at_due_time_is_retried_until_sent(env):
    db, settings, outage = env
    clock = FlowingClock(at(2026, 12, 2, 9, 0, 0.5))
    svc = services(db, settings, clock)
    users = await daily_reminders(db, 20, "09:00", since=at(2026, 12, 1, 12))
    sched = Scheduler(svc, clock=clock, sync_interval=3600, retry_base=0.5, retry_cap=2.0)
    await sched.start(catch_up=False)
    try:
        jobs = [j for j in sched.job_ids() if j.startswith("reminder:")]
        assert len(jobs) == 20
        await outage.begin(8)
        now = datetime.now(UTC)
        for job_id in jobs:  # the due time has come: APScheduler runs the real jobs now
            sched._sched.get_job(job_id).modify(next_run_time=now)

        async def all_sent() -> bool:
            if outage.active:
                return False
            return len(await reminder_deliveries(db)) >= 20

        assert await wait_for(all_sent, 30)
        await asyncio.sleep(0.5)
        chats = await reminder_deliveries(db)
        assert sorted(chats) == sorted(c for _, c in users)  # 20 of 20, each exactly once
        assert outage.failed > 0 and sched.retried > 0
        assert sched.failures == {}
        assert not [j for j in sched.job_ids() if j.startswith("retry:")]
    finally:
        await sched.stop()


async def test_catch_up_during_an_outage_at_start_is_retried(env, caplog):
    db, settings, outage = env
    clock = FlowingClock(at(2026, 12, 2, 10, 0))
    svc = services(db, settings, clock)
    users = await daily_reminders(db, 20, "09:00", since=at(2026, 12, 1, 12))
    await outage.begin(3)
    sched = Scheduler(svc, clock=clock, sync_interval=3600, retry_base=0.5, retry_cap=1.0)
    with caplog.at_level(logging.WARNING):
        await sched.start()  # returns although the database is down
    try:
        assert "retry:catch_up" in sched.job_ids()

        async def all_sent() -> bool:
            if outage.active or sched.failures:
                return False
            return len(await reminder_deliveries(db)) >= 20

        assert await wait_for(all_sent, 30)
        await asyncio.sleep(0.5)
        assert sorted(await reminder_deliveries(db)) == sorted(c for _, c in users)
        # the jobs were registered once the database was back (the start-up sync is retried)
        assert len([j for j in sched.job_ids() if j.startswith("reminder:")]) == 20
        assert sched.failures == {}
    finally:
        await sched.stop()


async def test_a_failure_just_before_midnight_is_still_sent_after_midnight(env):
    db, settings, outage = env
    clock = Clock(at(2026, 12, 2, 23, 50, 1))
    svc = services(db, settings, clock)
    [(uid, chat)] = await daily_reminders(db, 1, "23:50", since=at(2026, 12, 1, 12))
    sid = await db_scalar(db, select(Schedule.id).where(Schedule.user_id == uid))
    await outage.begin()
    with pytest.raises(Exception, match="unreachable"):
        await svc.fire_reminder(sid, clock())
    outage.end()
    # 20 minutes later, already the next local day: within the grace window, sent once
    assert await svc.fire_reminder(sid, clock.advance(minutes=20)) == "sent"
    assert await reminder_deliveries(db) == [chat]
    assert await svc.fire_reminder(sid, clock.advance(minutes=1)) == "none"


async def test_past_its_grace_window_a_retried_occurrence_is_skipped_loudly(env, caplog):
    db, settings, outage = env
    clock = Clock(at(2026, 12, 2, 9, 0, 1))
    svc = services(db, settings, clock)
    [(uid, _chat)] = await daily_reminders(db, 1, "09:00", since=at(2026, 12, 1, 12))
    sid = await db_scalar(db, select(Schedule.id).where(Schedule.user_id == uid))
    sched = Scheduler(svc, clock=clock, sync_interval=3600, retry_base=30, retry_cap=30)
    await sched.start(catch_up=False)
    try:
        await outage.begin()
        assert await sched.run_job(f"reminder:{sid}") is None
        assert sched.failures == {f"reminder:{sid}": 1}
        assert f"retry:reminder:{sid}" in sched.job_ids()
        outage.end()
        # the database stayed unreachable until the evening of the next day
        clock.set(at(2026, 12, 3, 8, 59))
        with caplog.at_level(logging.WARNING):
            assert await sched.run_job(f"reminder:{sid}") == "skipped"
        assert "past its grace window" in caplog.text
        assert sched.failures == {}
        assert f"retry:reminder:{sid}" not in sched.job_ids()
        assert await reminder_deliveries(db) == []
    finally:
        await sched.stop()


async def test_a_tips_run_that_fails_is_retried(env):
    db, settings, outage = env
    clock = FlowingClock(at(2026, 11, 30, 9, 30))  # Monday, after the 09.00 tips slot
    svc = services(db, settings, clock)
    from bot.schedules.tips import Tip

    svc._tips = [Tip(id="tip-a", title="A", text="Isi A", entry="keamanan-2fa")]
    await add_users(db, 5, start=7100, created_at=at(2026, 11, 1, 8))
    sched = Scheduler(svc, clock=clock, sync_interval=3600, retry_base=0.3, retry_cap=1.0)
    await sched.start(catch_up=False)
    try:
        await outage.begin(2)
        assert await sched.run_job("tips") is None

        async def tips_sent() -> bool:
            if outage.active:
                return False
            async with db.session() as s:
                n = await s.scalar(
                    select(func.count(Delivery.id))
                    .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
                    .where(OutboxMessage.kind == "tip")
                )
            return n == 5

        assert await wait_for(tips_sent, 20)
        assert sched.failures == {}
    finally:
        await sched.stop()


async def db_scalar(db, q):
    async with db.session() as s:
        return await s.scalar(q)
