"""Chaos scenarios of issue 13, points 3, 4, 5 and 8 (run by ``bench/chaos.py``, or alone):

    .venv/bin/python bench/chaos_reliab.py

Each scenario builds a fresh migrated SQLite database (``CHAOS_RELIAB_DATABASE_URL`` = a
PostgreSQL URL to use that instead; its tables are emptied) and returns its figures:

- ``reminders_db_error_at_due_time``: 20 reminders come due while every statement fails for
  8 s (``DatabaseOutage``); APScheduler runs the real jobs. sent / lost / duplicated.
- ``broadcast_db_outage_20s``: a 300-user broadcast, a 20 s outage in the middle (longer than
  the leader lease: leadership is lost and taken again). sent / duplicated / lost, and what the
  report says (sent, attempts, repeats).
- ``budget_burst_during_broadcast``: 60 users ask at once while a broadcast to 200 runs against
  the fake Bot API enforcing Telegram's limits. answered, 429 answers, most messages in 1 s.
- ``hapusdata_traces``: a user with a reminder already sent, a rated and commented question, a
  helpdesk ticket with an answer and identified survey free text runs /hapusdata: cells of any
  table still holding the marker (target 0).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WIB = ZoneInfo("Asia/Jakarta")


async def _database() -> tuple[str, Path | None]:
    from bot.db import upgrade_async

    url = os.environ.get("CHAOS_RELIAB_DATABASE_URL")
    if url:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        from bot.db.base import Base

        await upgrade_async(url)
        engine = create_async_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()
        return url, None
    tmp = Path(tempfile.mkdtemp(prefix="chaos_reliab_"))
    url = f"sqlite+aiosqlite:///{tmp / 'chaos.sqlite3'}"
    await upgrade_async(url)
    return url, tmp


def _settings(url: str, **kw):
    from bot.config import load_settings

    return load_settings(database_url=url, knowledge_dir=REPO / "knowledge", _env_file=None, **kw)


async def _wait(cond, timeout: float) -> bool:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await cond():
            return True
        await asyncio.sleep(0.2)
    return False


async def reminders_db_error_at_due_time() -> dict:
    from sqlalchemy import select

    from bot.accounts.service import UserService
    from bot.db import Database
    from bot.db.outage import DatabaseOutage
    from bot.outbox import OutboxService
    from bot.outbox.models import Delivery, OutboxMessage
    from bot.schedules.models import Schedule
    from bot.schedules.scheduler import Scheduler
    from bot.schedules.service import ScheduleService
    from tests.outbox_helpers import add_users

    url, tmp = await _database()
    db = Database(url)
    outage = DatabaseOutage(db)
    settings = _settings(url, timezone="Asia/Jakarta")
    start = datetime(2026, 12, 2, 9, 0, 0, 500000, tzinfo=WIB).astimezone(UTC)
    t0 = time.monotonic()

    def clock():
        return start + timedelta(seconds=time.monotonic() - t0)

    outbox = OutboxService(db, settings, UserService(db, settings), clock=clock)
    svc = ScheduleService(db, settings, outbox, clock=clock)
    svc._tips, svc._events = [], []
    users = await add_users(db, 20, start=90_000)
    since = start - timedelta(days=1)
    async with db.session() as s:
        for uid, _ in users:
            s.add(
                Schedule(
                    purpose="reminder",
                    user_id=uid,
                    text=f"Pengingat {uid}",
                    kind="daily",
                    time="09:00",
                    timezone="Asia/Jakarta",
                    since=since,
                    created_at=since,
                )  # fmt: skip
            )
    sched = Scheduler(svc, clock=clock, sync_interval=3600, retry_base=1.0, retry_cap=4.0)
    await sched.start(catch_up=False)
    try:
        await outage.begin(8)
        now = datetime.now(UTC)
        for job_id in sched.job_ids():
            if job_id.startswith("reminder:"):
                sched._sched.get_job(job_id).modify(next_run_time=now)

        async def chats() -> list[int]:
            async with db.session() as s:
                rows = await s.scalars(
                    select(Delivery.chat_id)
                    .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
                    .where(OutboxMessage.kind == "reminder")
                )
                return list(rows.all())

        async def done() -> bool:
            return not outage.active and len(await chats()) >= 20

        await _wait(done, 40)
        got = Counter(await chats())
        return {
            "reminders": 20,
            "outage_s": 8,
            "sent": len(got),
            "lost": 20 - len(got),
            "duplicated": sum(n - 1 for n in got.values()),
            "retries": sched.retried,
            "failed_statements": outage.failed,
        }
    finally:
        await sched.stop()
        outage.remove()
        await db.dispose()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


async def broadcast_db_outage_20s() -> dict:
    from bot.core import Core
    from bot.db import Database
    from bot.db.outage import DatabaseOutage
    from tests.outbox_helpers import FakeTransport, add_users

    class Slow(FakeTransport):
        calls = 0

        async def send(self, msg):
            self.calls += 1
            await asyncio.sleep(0.03)
            return await super().send(msg)

    url, tmp = await _database()
    db = Database(url)
    outage = DatabaseOutage(db)
    core = Core(_settings(url, broadcast_rate=25), db)
    core.background.scheduler_enabled = False
    users = await add_users(db, 300, start=91_000)
    mid, _ = await core.outbox.broadcast_now("Siaran uji gangguan basis data")
    transport = Slow()
    await core.start_background(transport)
    try:
        epoch = core.background.leadership.epoch

        async def some() -> bool:
            return len(transport.sent) >= 100

        await _wait(some, 30)
        await outage.begin(20)

        async def finished() -> bool:
            if outage.active:
                return False
            p = await core.outbox.get(mid)
            return p.status == "done"

        await _wait(finished, 120)
        per_chat = Counter(m.chat_id for m in transport.sent)
        p = await core.outbox.get(mid)
        return {
            "recipients": 300,
            "outage_s": 20,
            "sent": len(per_chat),
            "lost": len({c for _, c in users} - set(per_chat)),
            "duplicated": sum(n - 1 for n in per_chat.values()),
            "send_calls": transport.calls,
            "report_sent": p.sent,
            "report_attempts": p.attempts,
            "report_repeats": p.repeats,
            "leader_epochs": core.background.leadership.epoch - epoch + 1,
        }
    finally:
        await core.stop_background()
        outage.remove()
        await db.dispose()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


async def budget_burst_during_broadcast() -> dict:
    from bot.fakeapi import FakeTelegram
    from tests.conftest import Harness, make_settings
    from tests.outbox_helpers import add_users

    url, tmp = await _database()
    fake = FakeTelegram()
    fake.user(1000, "Admin")
    await fake.start()
    fake.enforce_limits()
    h = Harness(fake, make_settings(fake, url))
    await h.start()
    try:
        askers = await add_users(h.core.db, 60, start=92_000)
        targets = await add_users(h.core.db, 200, start=93_000)
        for _, chat in askers + targets:
            fake.user(chat)
        mark = fake.mark()
        mid, _ = await h.core.outbox.broadcast_now("Siaran uji anggaran kecepatan")
        await asyncio.sleep(1.0)
        asked = {c for _, c in askers}
        t0 = time.monotonic()
        for chat in asked:
            fake.send_message(chat, "cara bikin caption yang menarik")

        def answered() -> set:
            return {
                c.params["chat_id"]
                for c in fake.calls[mark:]
                if c.method == "sendMessage"
                and c.ok
                and c.params.get("chat_id") in asked
                and "anggaran kecepatan" not in c.params.get("text", "")
            }

        async def all_done() -> bool:
            return len(answered()) == len(asked) and (await h.core.outbox.get(mid)).pending == 0

        await _wait(all_done, 60)
        window = fake.calls[mark:]
        sends = sorted(
            c.at for c in window if c.ok and c.method in ("sendMessage", "editMessageText")
        )
        most = max((sum(1 for u in sends if t <= u < t + 1.0) for t in sends), default=0)
        p = await h.core.outbox.get(mid)
        return {
            "askers": len(asked),
            "answered": len(answered()),
            "answers_done_s": round(time.monotonic() - t0, 1),
            "broadcast_sent": p.sent,
            "http_429": sum(1 for c in window if c.status == 429),
            "max_msgs_in_1s": most,
            "typing": sum(1 for c in window if c.method == "sendChatAction"),
        }
    finally:
        await h.stop()
        await fake.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


async def hapusdata_traces() -> dict:
    from sqlalchemy import String, cast, func, inspect, or_, select, table
    from sqlalchemy import column as sa_column

    from bot.core import Core
    from bot.db import Database
    from bot.schedules.parse import parse_schedule

    marker = "zqxchaosmarker"
    url, tmp = await _database()
    db = Database(url)
    core = Core(_settings(url, helpdesk_chat_id=-100_777), db)
    try:
        user, _ = await core.users.register(94_000, 94_000, f"Nama {marker}", f"u{marker}")
        parsed = parse_schedule("besok jam 09.00", datetime.now(UTC).astimezone(WIB))
        view, _ = await core.schedules.add_reminder(
            user.id, f"Unggah {marker}", parsed, "Asia/Jakarta"
        )
        await core.schedules.fire_reminder(view.id, view.next_at + timedelta(minutes=1))
        await core.qa.load()
        asked = await core.qa.ask(user, "cara pasang 2fa instagram")
        await core.qa.vote(asked.log_id, user, -1)
        await core.qa.vote_comment(asked.log_id, user, f"kurang {marker}")
        fwd = await core.qa.ask(user, f"boleh {marker} di akun dinas")
        ticket = await core.tickets.from_question(fwd.log_id, user)
        await core.tickets.answer(ticket.id, 1, "Petugas", f"Jawaban {marker}")
        await core.delete_personal_data(94_000)

        def shape(sync_conn):
            insp = inspect(sync_conn)
            return {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}

        traces = []
        async with db.engine.connect() as conn:
            for tname, cols in (await conn.run_sync(shape)).items():
                t = table(tname, *[sa_column(c) for c in cols])
                for c in cols:
                    q = (
                        select(func.count())
                        .select_from(t)
                        .where(or_(func.lower(cast(t.c[c], String)).like(f"%{marker}%")))
                    )
                    if await conn.scalar(q):
                        traces.append(f"{tname}.{c}")
        return {"traces_left": len(traces), "where": traces}
    finally:
        await db.dispose()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


SCENARIOS = [
    reminders_db_error_at_due_time,
    broadcast_db_outage_20s,
    budget_burst_during_broadcast,
    hapusdata_traces,
]


async def _main() -> None:
    for scenario in SCENARIOS:
        started = time.monotonic()
        result = await scenario()
        print(f"{scenario.__name__} ({time.monotonic() - started:.0f}s): {result}", flush=True)


if __name__ == "__main__":
    asyncio.run(_main())
