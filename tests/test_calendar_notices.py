"""The admins' monthly notice of calendar dates that are not confirmed yet: at start and with
the daily calendar run, once per month across restarts and processes (recorded in the outbox)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.accounts.models import ROLE_ADMIN, User
from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.outbox import OutboxService
from bot.outbox.models import Delivery, OutboxMessage
from bot.schedules.scheduler import Scheduler
from bot.schedules.service import ScheduleService
from tests.outbox_helpers import Clock, add_users

WIB = ZoneInfo("Asia/Jakarta")
ADMIN = 4242

CALENDAR = """\
    regions:
      bali: {name: Provinsi Bali}
      tabanan: {name: Kabupaten Tabanan, parent: bali}
    events:
      - id: hari-pindah
        name: Hari Pindah <Uji>
        dates:
          2026: "2026-08-10"
        lead_days: [3]
        ideas: [ide]
      - id: idul-fitri
        name: Hari Raya Idul Fitri
        holiday: Hari Raya Idul Fitri
        lead_days: [3]
        ideas: [ide]
      - id: hari-daerah-lain
        name: Hari Daerah Lain
        dates:
          2026: "2026-04-15"
        lead_days: [3]
        regions: [bali]
        ideas: [ide]
"""


def at(y, m, d, hh=9) -> datetime:
    return datetime(y, m, d, hh, tzinfo=WIB).astimezone(UTC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "calendar.yaml").write_text(textwrap.dedent(CALENDAR), encoding="utf-8")
    (tmp_path / "opd.yaml").write_text(
        "region: Uji\nregion_id: tabanan\nopds:\n  - {slug: setda, name: Setda}\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
async def make(db_url, folder):
    dbs: list[Database] = []

    async def service(now: datetime, knowledge_dir: Path = folder) -> ScheduleService:
        settings = load_settings(
            database_url=db_url, timezone="Asia/Jakarta", admin_ids=str(ADMIN), _env_file=None
        )
        db = Database(db_url)
        dbs.append(db)
        clock = Clock(now)
        outbox = OutboxService(db, settings, UserService(db, settings), clock=clock)
        return ScheduleService(db, settings, outbox, knowledge_dir=knowledge_dir, clock=clock)

    yield service
    for db in dbs:
        await db.dispose()


async def notices(db) -> list[tuple[int, str, str]]:
    async with db.session() as s:
        rows = await s.execute(
            select(Delivery.chat_id, OutboxMessage.text, OutboxMessage.dedupe_key)
            .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
            .where(OutboxMessage.dedupe_key.like("calendar-gaps:%"))
            .order_by(Delivery.id)
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]


async def test_admins_are_told_once_a_month_across_restarts_and_processes(make):
    svc = await make(at(2026, 12, 1))
    [(_, staff_chat)] = await add_users(svc.db, 1, start=100)
    await add_users(svc.db, 1, start=ADMIN)  # an admin by ADMIN_IDS
    [(second_admin, second_chat)] = await add_users(svc.db, 1, start=200)
    async with svc.db.session() as s:
        await s.execute(update(User).where(User.id == second_admin).values(role=ROLE_ADMIN))
    # At start (the scheduler's catch-up): the notice goes to both admins, not to staff.
    out = await svc.catch_up(at(2026, 12, 1))
    assert out["calendar_gaps"] == 2
    rows = await notices(svc.db)
    assert sorted(chat for chat, _, _ in rows) == sorted([ADMIN, second_chat])
    assert staff_chat not in [chat for chat, _, _ in rows]
    text = rows[0][1]
    assert "Hari Pindah &lt;Uji&gt; — tahun 2027" in text  # no 2027 date yet
    assert "Hari Raya Idul Fitri — Rabu, 10 Maret 2027" in text  # estimated
    assert "Masih perkiraan" in text and rows[0][2] == "calendar-gaps:2026-12"
    # Restarts, a daily run and another process in the same month: nothing more.
    assert await svc.notify_date_gaps(at(2026, 12, 2)) == 0
    other = await make(at(2026, 12, 20))
    assert (await other.catch_up(at(2026, 12, 20)))["calendar_gaps"] == 0
    assert await other.notify_date_gaps(at(2026, 12, 31, 23)) == 0
    assert len(await notices(svc.db)) == 2
    # A new month: told again (the gaps are still there).
    assert await other.notify_date_gaps(at(2027, 1, 1, 8)) == 2
    assert {key for _, _, key in await notices(svc.db)} == {
        "calendar-gaps:2026-12",
        "calendar-gaps:2027-01",
    }


async def test_no_notice_without_gaps_or_without_admins(make, folder):
    svc = await make(at(2026, 6, 1))
    await add_users(svc.db, 1, start=ADMIN)
    # June 2026: every date of the next 120 days is known and confirmed.
    assert await svc.notify_date_gaps(at(2026, 6, 1)) == 0
    # December, but no admin registered yet: nothing is recorded, so an admin who registers
    # later in the month still gets it.
    async with svc.db.session() as s:
        await s.execute(update(User).values(is_active=False))
    assert await svc.notify_date_gaps(at(2026, 12, 1)) == 0
    assert await notices(svc.db) == []
    async with svc.db.session() as s:
        await s.execute(update(User).values(is_active=True))
    assert await svc.notify_date_gaps(at(2026, 12, 5)) == 1


async def test_the_daily_calendar_job_also_checks(make):
    svc = await make(at(2026, 12, 1))
    await add_users(svc.db, 1, start=ADMIN)
    sched = Scheduler(svc, clock=svc.clock)
    await sched._job_calendar()
    await sched._job_calendar()
    assert [chat for chat, _, _ in await notices(svc.db)] == [ADMIN]
