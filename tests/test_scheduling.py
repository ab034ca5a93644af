"""Reminders, tips and calendar reminders turned into outbox rows at the right local time,
idempotently; catch-up after downtime; APScheduler jobs mirroring the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.outbox import OutboxService
from bot.outbox.models import Delivery, OutboxMessage
from bot.schedules.calendar import CalendarEvent
from bot.schedules.firing import next_tip
from bot.schedules.models import TipProgress
from bot.schedules.parse import ParsedSchedule, parse_schedule
from bot.schedules.recurrence import Rule
from bot.schedules.scheduler import RuleTrigger, Scheduler
from bot.schedules.service import ScheduleService
from bot.schedules.tips import Tip
from tests.outbox_helpers import Clock, add_users

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")


def at(zone, y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=zone).astimezone(UTC)


TIPS = [
    Tip(id=f"tip-uji-{i}", title=f"Tip {i}", text=f"Isi **tip** {i}", entry="keamanan-2fa")
    for i in range(1, 4)
]
EVENT = CalendarEvent(
    id="hari-uji",
    name="Hari Uji Nasional",
    date="12-10",
    lead_days=(3, 0),
    ideas=("Ide konten pertama", "Ide kedua"),
)


@pytest.fixture
async def env(db_url):
    settings = load_settings(database_url=db_url, timezone="Asia/Jakarta", _env_file=None)
    db = Database(db_url)
    clock = Clock(at(WIB, 2026, 11, 27, 10))
    users = UserService(db, settings)
    outbox = OutboxService(db, settings, users, clock=clock)
    svc = ScheduleService(db, settings, outbox, clock=clock)
    svc._tips = list(TIPS)
    svc._events = [EVENT]
    await svc.ensure_system()
    yield db, svc, clock
    await db.dispose()


async def _deliveries(db, kind=None):
    async with db.session() as s:
        q = select(Delivery.chat_id, Delivery.text, OutboxMessage.text, OutboxMessage.kind).join(
            OutboxMessage, Delivery.message_id == OutboxMessage.id
        )
        if kind:
            q = q.where(OutboxMessage.kind == kind)
        return [(r[0], r[1] or r[2]) for r in (await s.execute(q.order_by(Delivery.id))).all()]


async def _reminder(svc, user_id, text, schedule, tz="Asia/Jakarta"):
    parsed = parse_schedule(schedule, svc.clock().astimezone(ZoneInfo(tz)))
    assert parsed is not None
    view, problem = await svc.add_reminder(user_id, text, parsed, tz)
    assert problem is None
    return view


async def test_weekly_reminder_fires_once_per_occurrence_in_its_zone(env):
    db, svc, clock = env
    [(uid, chat)] = await add_users(db, 1, start=10, tz="Asia/Makassar")
    r = await _reminder(svc, uid, "Unggah jadwal pelayanan <minggu ini>", "setiap Senin 08.00")
    assert r.timezone == "Asia/Jakarta"  # the zone given when it was made
    wita = await _reminder(svc, uid, "Rekap WITA", "setiap senin 08.00 WITA")
    assert wita.timezone == "Asia/Makassar"
    assert r.next_at == at(WIB, 2026, 11, 30, 8) and wita.next_at == at(WITA, 2026, 11, 30, 8)
    monday_8_wita = at(WITA, 2026, 11, 30, 8)
    assert await svc.fire_reminder(wita.id, monday_8_wita) == "sent"
    assert await svc.fire_reminder(r.id, monday_8_wita) == "none"  # 07.00 WIB: not yet
    assert await svc.fire_reminder(wita.id, monday_8_wita) == "none"  # never twice
    monday_8_wib = at(WIB, 2026, 11, 30, 8)
    assert await svc.fire_reminder(r.id, monday_8_wib) == "sent"
    rows = await _deliveries(db, "reminder")
    assert [c for c, _ in rows] == [chat, chat]
    assert "Rekap WITA" in rows[0][1] and "&lt;minggu ini&gt;" in rows[1][1]
    # a restart (a new service on the same database) does not send it again
    again = ScheduleService(db, svc.settings, svc.outbox, clock=clock)
    assert await again.fire_reminder(r.id, monday_8_wib) == "none"
    assert len(await _deliveries(db, "reminder")) == 2


async def test_missed_occurrence_same_local_day_is_sent_later_day_is_skipped(env, caplog):
    db, svc, clock = env
    [(uid, _)] = await add_users(db, 1, start=20)
    r1 = await _reminder(svc, uid, "Satu", "setiap Senin 08.00")
    r2 = await _reminder(svc, uid, "Dua", "setiap Senin 08.00")
    # The bot was down at 08.00; it is back at 15.00 the same Monday: sent once.
    assert await svc.fire_reminder(r1.id, at(WIB, 2026, 11, 30, 15)) == "sent"
    # Back only on Tuesday: skipped and logged, and not reconsidered afterwards.
    with caplog.at_level("INFO"):
        assert await svc.fire_reminder(r2.id, at(WIB, 2026, 12, 1, 9)) == "skipped"
    assert "missed" in caplog.text
    assert await svc.fire_reminder(r2.id, at(WIB, 2026, 12, 1, 10)) == "none"
    texts = [t for _, t in await _deliveries(db)]
    assert len(texts) == 1 and "Satu" in texts[0]


async def test_catch_up_at_start_up_covers_reminders_and_is_idempotent(env):
    db, svc, clock = env
    [(uid, _)] = await add_users(db, 1, start=30)
    await _reminder(svc, uid, "Pagi", "setiap Senin 08.00")
    once = await _reminder(svc, uid, "Sekali", "besok jam 10")
    first = await svc.catch_up(at(WIB, 2026, 11, 28, 11))
    assert first["reminder_sent"] == 1  # "besok jam 10" (Saturday), same day
    assert (await svc.get_reminder(uid, once.id)).finished
    second = await svc.catch_up(at(WIB, 2026, 11, 28, 11, 30))
    assert second.get("reminder_sent", 0) == 0
    assert len(await _deliveries(db, "reminder")) == 1


async def test_paused_reminder_does_not_fire_and_resume_does_not_make_up(env):
    db, svc, clock = env
    [(uid, _)] = await add_users(db, 1, start=40)
    r = await _reminder(svc, uid, "Jeda", "setiap Senin 08.00")
    await svc.set_paused(uid, r.id, True)
    assert await svc.fire_reminder(r.id, at(WIB, 2026, 11, 30, 8)) == "inactive"
    clock.set(at(WIB, 2026, 11, 30, 9))
    resumed = await svc.set_paused(uid, r.id, False)
    assert resumed.next_at == at(WIB, 2026, 12, 7, 8)
    assert await svc.fire_reminder(r.id, at(WIB, 2026, 11, 30, 9)) == "none"
    assert await svc.set_paused(uid + 999, r.id, True) is None  # not the owner
    assert not await svc.delete_reminder(uid + 999, r.id)
    assert await svc.delete_reminder(uid, r.id)
    assert await svc.list_reminders(uid) == []


async def test_reminder_limits_and_past_times(env):
    db, svc, clock = env
    [(uid, _)] = await add_users(db, 1, start=50)
    # the parser asks about a passed moment instead; the service still refuses one
    assert parse_schedule("2025-01-01 09:00", clock().astimezone(WIB)) is None
    past = ParsedSchedule(Rule("once", time(9, 0), on_date=date(2025, 1, 1)), None)
    assert await svc.add_reminder(uid, "x", past, "Asia/Jakarta") == (None, "past")
    ok = parse_schedule("setiap senin jam 8", clock().astimezone(WIB))
    assert await svc.add_reminder(uid, "  ", ok, "Asia/Jakarta") == (None, "empty")
    assert await svc.add_reminder(uid, "x" * 501, ok, "Asia/Jakarta") == (None, "too_long")
    for i in range(20):
        assert (await svc.add_reminder(uid, f"r{i}", ok, "Asia/Jakarta"))[1] is None
    assert await svc.add_reminder(uid, "r20", ok, "Asia/Jakarta") == (None, "limit")


def test_next_tip_rotates_through_every_tip_before_repeating():
    ids = ["a", "b", "c"]
    history: list[tuple[str, int]] = []
    got = []
    for _ in range(7):
        tip, cycle = next_tip(ids, history)
        history.append((tip, cycle))
        got.append(tip)
    assert got == ["a", "b", "c", "a", "b", "c", "a"]
    # a tip added to the file later is given before the cycle restarts
    assert next_tip(["a", "b", "c", "d"], [("a", 0), ("b", 0), ("c", 0)]) == ("d", 0)


async def test_tips_monday_nine_local_in_wib_and_wita_rotation_and_idempotence(env):
    db, svc, clock = env
    [(wib_user, wib_chat)] = await add_users(db, 1, start=60)
    [(wita_user, wita_chat)] = await add_users(db, 1, start=61, tz="Asia/Makassar")
    await add_users(db, 1, start=62, tips=False)
    # Monday 08.30 WIB = 09.30 WITA: only the WITA user's time has come.
    assert await svc.run_tips(at(WIB, 2026, 11, 30, 8, 30)) == 1
    assert [c for c, _ in await _deliveries(db, "tip")] == [wita_chat]
    # 09.00 WIB: the WIB user too; the WITA user is not sent a second tip.
    assert await svc.run_tips(at(WIB, 2026, 11, 30, 9)) == 1
    assert await svc.run_tips(at(WIB, 2026, 11, 30, 12)) == 0
    # Tuesday: not a tip day.
    assert await svc.run_tips(at(WIB, 2026, 12, 1, 9)) == 0
    # Three more Mondays: each user sees tips 1, 2, 3, then 1 again (a new cycle).
    for week in (7, 14, 21):
        assert await svc.run_tips(at(WIB, 2026, 12, week, 9)) == 2
    rows = await _deliveries(db, "tip")
    wib_texts = [t for c, t in rows if c == wib_chat]
    assert [t.split("Tip ")[1][0] for t in wib_texts] == ["1", "2", "3", "1"]
    assert "<b>tip</b>" in wib_texts[0] and "/langganan" in wib_texts[0]
    async with db.session() as s:
        cycles = (
            await s.scalars(select(TipProgress.cycle).where(TipProgress.user_id == wita_user))
        ).all()
    assert sorted(cycles) == [0, 0, 0, 1]


async def test_tips_skip_users_who_registered_after_the_slot_and_paused_schedule(env):
    db, svc, clock = env
    await add_users(db, 1, start=70, created_at=at(WIB, 2026, 11, 30, 9, 30))
    assert await svc.run_tips(at(WIB, 2026, 11, 30, 10)) == 0
    await svc.set_system("tips", None, paused=True)
    assert await svc.run_tips(at(WIB, 2026, 12, 7, 10)) == 0
    await svc.set_system("tips", Rule("weekly", time(7, 0), days=(1,)), paused=False)
    assert await svc.run_tips(at(WIB, 2026, 12, 8, 7)) == 1  # Tuesday 07.00 now


async def test_calendar_h3_and_day_of_at_eight_local_in_wib_and_wita(env):
    db, svc, clock = env
    [(_, wib_chat)] = await add_users(db, 1, start=80)
    [(_, wita_chat)] = await add_users(db, 1, start=81, tz="Asia/Makassar")
    await add_users(db, 1, start=82, calendar=False)
    # 7 December is H-3 of 10 December. 07.30 WIB = 08.30 WITA.
    assert await svc.run_calendar(at(WIB, 2026, 12, 7, 7, 30)) == 1
    assert [c for c, _ in await _deliveries(db, "calendar")] == [wita_chat]
    assert await svc.run_calendar(at(WIB, 2026, 12, 7, 8)) == 1
    assert await svc.run_calendar(at(WIB, 2026, 12, 7, 20)) == 0  # never twice
    assert await svc.run_calendar(at(WIB, 2026, 12, 8, 8)) == 0  # nothing due on the 8th
    assert await svc.run_calendar(at(WIB, 2026, 12, 10, 8)) == 2  # the day itself (lead 0)
    rows = await _deliveries(db, "calendar")
    assert "H-3: siapkan konten Hari Uji Nasional" in rows[0][1]
    assert "Kamis, 10 Desember 2026" in rows[0][1] and "Ide kedua" in rows[0][1]
    assert "Hari ini: siapkan konten" in rows[-1][1]


async def test_scheduled_broadcast_started_on_time_missed_one_cancelled(env):
    db, svc, clock = env
    await add_users(db, 3, start=90)
    outbox = svc.outbox
    mid, _ = await outbox.create_message("broadcast", text="terjadwal")
    assert await outbox.schedule_broadcast(mid, at(WIB, 2026, 11, 30, 9), "Asia/Jakarta")
    assert await svc.fire_broadcast(mid, at(WIB, 2026, 11, 30, 8)) == "early"
    assert await svc.fire_broadcast(mid, at(WIB, 2026, 11, 30, 13)) == "started"
    assert (await outbox.get(mid)).total == 3
    assert await svc.fire_broadcast(mid, at(WIB, 2026, 11, 30, 13)) == "inactive"
    late, _ = await outbox.create_message("broadcast", text="terlewat")
    await outbox.schedule_broadcast(late, at(WIB, 2026, 11, 30, 9), "Asia/Jakarta")
    assert (await svc.catch_up(at(WIB, 2026, 12, 1, 9)))["broadcast_missed"] == 1
    p = await outbox.get(late)
    assert p.status == "cancelled" and p.note == "missed" and p.total == 0


async def test_scheduler_jobs_follow_the_database_without_restart(env):
    db, svc, clock = env
    [(uid, _)] = await add_users(db, 1, start=95, tz="Asia/Makassar")
    r = await _reminder(svc, uid, "Lama", "setiap Senin 08.00", tz="Asia/Makassar")
    mid, _ = await svc.outbox.create_message("broadcast", text="nanti")
    later = datetime.now(UTC) + timedelta(days=5)  # APScheduler runs on the real clock
    await svc.outbox.schedule_broadcast(mid, later, "Asia/Jakarta")
    sched = Scheduler(svc, clock=clock, sync_interval=3600)
    await sched.start(catch_up=False)
    try:
        assert sched.job_ids() == sorted(
            ["calendar", "tips", "sync", f"reminder:{r.id}", f"broadcast:{mid}"]
        )
        # APScheduler computes from the real current time: the next Monday 08.00 WITA.
        real_now = datetime.now(UTC)
        nxt = sched.next_run(f"reminder:{r.id}").astimezone(WITA)
        assert (nxt.weekday(), nxt.hour, nxt.minute) == (0, 8, 0)
        assert timedelta(0) < nxt - real_now <= timedelta(days=7)
        # Tips: Monday 09.00 in each zone in use - WITA comes first.
        tips = sched.next_run("tips").astimezone(WITA)
        assert (tips.weekday(), tips.hour) == (0, 9)
        cal = sched.next_run("calendar").astimezone(WITA)
        assert cal.hour == 8 and cal - real_now <= timedelta(days=1)
        new = await _reminder(svc, uid, "Baru", "tiap tgl 1 jam 9", tz="Asia/Makassar")
        await sched.settle()  # the change is applied right away (no restart)
        assert f"reminder:{new.id}" in sched.job_ids()
        await svc.set_paused(uid, r.id, True)
        await svc.outbox.cancel(mid)
        await sched.settle()
        assert f"reminder:{r.id}" not in sched.job_ids()
        assert f"broadcast:{mid}" not in sched.job_ids()
        await svc.set_system("tips", None, paused=True)
        await sched.settle()
        assert "tips" not in sched.job_ids()
    finally:
        await sched.stop()


def test_rule_trigger_takes_the_earliest_zone_and_respects_not_before():
    rule = Rule("weekly", time(9, 0), days=(0,))
    trig = RuleTrigger(rule, ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"])
    now = at(WIB, 2026, 11, 27, 10)
    first = trig.get_next_fire_time(None, now)
    assert first == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 09.00 WIT
    assert trig.get_next_fire_time(first, now) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    later = RuleTrigger(rule, ["Asia/Jakarta"], not_before=at(WIB, 2026, 12, 1, 0))
    assert later.get_next_fire_time(None, now) == at(WIB, 2026, 12, 7, 9)


async def test_zones_in_use_include_opd_zone_and_default(env):
    db, svc, _ = env
    await add_users(db, 1, start=97, tz="Asia/Jayapura")
    assert await svc.zones_in_use() == ["Asia/Jakarta", "Asia/Jayapura"]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_missed_tips_slot_is_logged_not_sent_late(env, caplog):
    db, svc, _ = env
    await add_users(db, 1, start=75)
    with caplog.at_level("INFO", logger="bot.schedules.firing"):
        out = await svc.catch_up(at(WIB, 2026, 12, 1, 10))  # Tuesday: Monday's slot was missed
    assert out["tips"] == 0
    assert "tips of 2026-11-30 were missed" in caplog.text
