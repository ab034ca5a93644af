"""The content calendar's dates: moving holidays from the ``holidays`` package, the file's
overrides, pawukon cycles, regional days per deployment, and warnings for unknown dates."""

from __future__ import annotations

import shutil
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.outbox import OutboxService
from bot.outbox.models import Delivery, OutboxMessage
from bot.schedules import libdates
from bot.schedules.agenda import GAP_ESTIMATED, GAP_UNKNOWN, date_gaps, upcoming
from bot.schedules.calendar import CALENDAR_FILE, Cycle, load_book, load_calendar
from bot.schedules.content import check_content, check_warnings
from bot.schedules.service import ScheduleService
from tests.outbox_helpers import Clock, add_users

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
WITA = ZoneInfo("Asia/Makassar")
WIB = ZoneInfo("Asia/Jakarta")


def at(zone, y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=zone).astimezone(UTC)


def deployment(tmp_path: Path, region_id: str | None, calendar: str | None = None) -> Path:
    """A knowledge folder with the real calendar (or ``calendar``) for one region."""
    folder = tmp_path / f"kb-{region_id or 'nasional'}"
    folder.mkdir()
    if calendar is None:
        shutil.copy(KNOWLEDGE / CALENDAR_FILE, folder / CALENDAR_FILE)
    else:
        (folder / CALENDAR_FILE).write_text(textwrap.dedent(calendar), encoding="utf-8")
    region = f"region_id: {region_id}\n" if region_id else ""
    (folder / "opd.yaml").write_text(
        "region: Uji\n" + region + "opds:\n  - {slug: setda, name: Sekretariat Daerah}\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
async def make_service(db_url):
    made: list[Database] = []

    async def make(knowledge_dir: Path, now: datetime) -> tuple[Database, ScheduleService]:
        settings = load_settings(database_url=db_url, timezone="Asia/Jakarta", _env_file=None)
        db = Database(db_url)
        made.append(db)
        clock = Clock(now)
        outbox = OutboxService(db, settings, UserService(db, settings), clock=clock)
        svc = ScheduleService(db, settings, outbox, knowledge_dir=knowledge_dir, clock=clock)
        await svc.ensure_system()
        return db, svc

    yield make
    for db in made:
        await db.dispose()


async def calendar_texts(db) -> list[tuple[int, str]]:
    async with db.session() as s:
        rows = await s.execute(
            select(Delivery.chat_id, OutboxMessage.text)
            .join(OutboxMessage, Delivery.message_id == OutboxMessage.id)
            .where(OutboxMessage.kind == "calendar")
            .order_by(Delivery.id)
        )
        return [(r[0], r[1]) for r in rows.all()]


# --------------------------------------------------------------------------- the library


def test_library_gives_2027_dates_with_estimates_marked() -> None:
    isra = libdates.dates_of("Isra Mikraj Nabi Muhammad", 2027)
    assert date(2027, 1, 5) in [d.day for d in isra]
    fitri = libdates.dates_of("Hari Raya Idul Fitri", 2027)
    assert [d.day for d in fitri] == [date(2027, 3, 10)]
    assert fitri[0].estimated  # "(perkiraan)" in the library's Indonesian name
    assert libdates.split_name("Hari Raya Idul Fitri (perkiraan)") == ("Hari Raya Idul Fitri", True)
    assert libdates.split_name("Hari Suci Nyepi") == ("Hari Suci Nyepi", False)
    for key in ("Hari Suci Nyepi", "Hari Raya Waisak", "Hari Raya Idul Adha", "Tahun Baru Islam"):
        assert libdates.dates_of(key, 2027), key
        assert key in libdates.known_keys()


def test_real_calendar_has_every_moving_holiday_in_2027() -> None:
    events = {e.id: e for e in load_calendar(KNOWLEDGE)}
    assert date(2027, 1, 5) in events["isra-mikraj"].occurrences(2027)
    for eid in (
        "hari-suci-nyepi",
        "idul-fitri",
        "hari-raya-waisak",
        "idul-adha",
        "tahun-baru-islam",
        "maulid-nabi",
    ):
        assert events[eid].holiday is not None and events[eid].occurrences(2027), eid
    assert events["idul-fitri"].estimated(date(2027, 3, 10))
    assert not events["hari-suci-nyepi"].estimated(events["hari-suci-nyepi"].occurrences(2027)[0])


def test_cycle_counts_both_ways_from_its_anchor() -> None:
    galungan = Cycle(anchor="2025-11-19", every_days=210)
    assert galungan.in_year(2024) == [date(2024, 2, 28), date(2024, 9, 25)]
    assert galungan.in_year(2025) == [date(2025, 4, 23), date(2025, 11, 19)]
    assert galungan.in_year(2026) == [date(2026, 6, 17)]
    assert galungan.in_year(2027) == [date(2027, 1, 13), date(2027, 8, 11)]


# --------------------------------------------------------------------------- frozen clocks


async def test_january_2027_still_sends_the_isra_mikraj_h3_reminder(tmp_path, make_service):
    db, svc = await make_service(deployment(tmp_path, "tabanan"), at(WITA, 2027, 1, 2, 7))
    [(_, chat)] = await add_users(db, 1, start=501, tz="Asia/Makassar")
    assert await svc.run_calendar(at(WITA, 2027, 1, 2, 7, 59)) == 0  # before 08.00 local
    assert await svc.run_calendar(at(WITA, 2027, 1, 2, 8, 0)) == 1
    [(to, text)] = await calendar_texts(db)
    assert to == chat
    assert "H-3: siapkan konten Isra Mikraj Nabi Muhammad SAW" in text
    assert "Selasa, 5 Januari 2027" in text and "perkiraan" not in text
    assert await svc.run_calendar(at(WITA, 2027, 1, 2, 9, 0)) == 0  # never twice


async def test_an_estimated_date_is_shown_as_perkiraan(tmp_path, make_service):
    db, svc = await make_service(deployment(tmp_path, "tabanan"), at(WIB, 2027, 3, 3, 7))
    await add_users(db, 1, start=511)
    assert await svc.run_calendar(at(WIB, 2027, 3, 3, 8)) == 1  # H-7 of Idul Fitri 2027
    [(_, text)] = await calendar_texts(db)
    assert "H-7: siapkan konten Hari Raya Idul Fitri" in text
    assert "Rabu, 10 Maret 2027 (perkiraan)" in text and "belum ditetapkan SKB" in text


async def test_regional_days_follow_the_deployments_region(tmp_path, make_service):
    # H-3 of Galungan (13 January 2027): Bali's day, so Tabanan (in Bali) only.
    db, tabanan = await make_service(deployment(tmp_path, "tabanan"), at(WITA, 2027, 1, 10, 7))
    tapsel_dir = deployment(tmp_path, "tapanuli-selatan")
    _, tapsel = await make_service(tapsel_dir, at(WIB, 2027, 1, 10, 7))
    tabanan_ids = {e.id for e in tabanan.region_events()}
    tapsel_ids = {e.id for e in tapsel.region_events()}
    assert {"galungan", "kuningan", "hari-jadi-provinsi-bali", "hari-jadi-kabupaten-tabanan"} <= (
        tabanan_ids - tapsel_ids
    )
    assert {"hari-jadi-tapanuli-selatan", "hari-jadi-provinsi-sumatera-utara"} <= (
        tapsel_ids - tabanan_ids
    )
    assert {"isra-mikraj", "hari-kartini", "hut-ri"} <= tabanan_ids & tapsel_ids
    assert tabanan.region_chain() == ("tabanan", "bali")
    await add_users(db, 1, start=521)
    assert await tapsel.run_calendar(at(WIB, 2027, 1, 10, 8)) == 0
    assert await tabanan.run_calendar(at(WIB, 2027, 1, 10, 8)) == 1
    [(_, text)] = await calendar_texts(db)
    assert "Hari Raya Galungan" in text and "Provinsi Bali" in text
    # H-3 of Hari Jadi Tapanuli Selatan (24 November): Tapsel only.
    assert await tabanan.run_calendar(at(WIB, 2027, 11, 21, 8)) == 0
    assert await tapsel.run_calendar(at(WIB, 2027, 11, 21, 8)) == 1
    # Without a region: national days only.
    _, nowhere = await make_service(deployment(tmp_path, None), at(WIB, 2027, 1, 10, 7))
    assert all(e.regions is None for e in nowhere.region_events())


OVERRIDE = """\
    events:
      - id: idul-fitri
        name: Hari Raya Idul Fitri
        holiday: Hari Raya Idul Fitri
        dates:
          2027: "2027-03-09"
        lead_days: [3]
        ideas: [Ucapan Idul Fitri]
"""


async def test_the_file_overrides_a_library_date(tmp_path, make_service):
    [event] = load_calendar(deployment(tmp_path, None, OVERRIDE))
    assert event.dated(2027) == [(date(2027, 3, 9), False)]  # the file's date, confirmed
    assert event.dated(2026) == [(date(2026, 3, 21), False)]  # other years: the library
    assert event.dated(2028) == [(date(2028, 2, 27), True)]
    db, svc = await make_service(deployment(tmp_path, "x", OVERRIDE), at(WIB, 2027, 3, 6, 7))
    await add_users(db, 1, start=531)
    assert await svc.run_calendar(at(WIB, 2027, 3, 6, 8)) == 1  # H-3 of 9 March
    assert await svc.run_calendar(at(WIB, 2027, 3, 7, 8)) == 0  # not H-3 of the library's 10th
    [(_, text)] = await calendar_texts(db)
    assert "Selasa, 9 Maret 2027" in text and "perkiraan" not in text


# --------------------------------------------------------------------------- checks


GAPPY = """\
    regions:
      bali: {name: Provinsi Bali}
    events:
      - id: hari-pindah
        name: Hari Pindah
        dates:
          2026: "2026-08-10"
        lead_days: [3]
        ideas: [ide]
      - id: idul-fitri
        name: Hari Raya Idul Fitri
        holiday: Hari Raya Idul Fitri
        lead_days: [3]
        ideas: [ide]
      - id: hari-tetap
        name: Hari Tetap
        date: "05-01"
        lead_days: [3]
        regions: [bali]
        ideas: [ide]
"""


def test_gaps_and_kb_check_warnings_for_the_next_120_days(tmp_path) -> None:
    folder = deployment(tmp_path, "bali", GAPPY)
    events = load_calendar(folder)
    # June 2026: the window ends in October, every date is known and confirmed.
    assert date_gaps(events, date(2026, 6, 1)) == []
    assert check_warnings(folder, date(2026, 6, 1)) == []
    # December 2026: 2027 is in the window; the file has no 2027 date for hari-pindah, and
    # the library's Idul Fitri 2027 is an estimate.
    gaps = date_gaps(events, date(2026, 12, 1))
    assert [(g.event.id, g.kind, g.year) for g in gaps] == [
        ("hari-pindah", GAP_UNKNOWN, 2027),
        ("idul-fitri", GAP_ESTIMATED, 2027),
    ]
    warnings = check_warnings(folder, date(2026, 12, 1))
    assert [w[0] for w in warnings] == [str(folder / CALENDAR_FILE)] * 2
    assert "event 'hari-pindah' belum punya tanggal 2027" in warnings[0][1]
    assert "event 'idul-fitri' tanggal 2027-03-10 masih perkiraan" in warnings[1][1]
    # Warnings are not problems.
    assert [p for p in check_content(folder, set()) if p[0].endswith(CALENDAR_FILE)] == []


def test_kb_check_prints_peringatan_lines_and_still_passes(tmp_path, monkeypatch) -> None:
    from bot.knowledge.cli import kb_app

    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, root)
    moving = '  - id: hari-pindah\n    name: Hari Pindah\n    dates:\n      2020: "2020-08-10"\n'
    moving += "    lead_days: [3]\n    ideas: [ide]\n"
    with (root / CALENDAR_FILE).open("a", encoding="utf-8") as f:
        f.write("\n" + moving)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(root))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(kb_app, ["check"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("peringatan:")]
    assert any("event 'hari-pindah' belum punya tanggal" in line for line in lines), result.output
    assert any(line.startswith("OK:") for line in result.output.splitlines())


def test_region_and_holiday_problems_are_reported(tmp_path) -> None:
    bad = GAPPY.replace("regions: [bali]", "regions: [bangli]").replace(
        "holiday: Hari Raya Idul Fitri", "holiday: Hari Raya Lebaran"
    )
    folder = deployment(tmp_path, "denpasar", bad)
    text = "\n".join(f"{f}: {p}" for f, p in check_content(folder, set()))
    assert "event 'hari-tetap': wilayah 'bangli' tidak ada di regions" in text
    assert "event 'idul-fitri': holiday: holiday 'Hari Raya Lebaran' tidak dikenal" in text
    assert "Hari Raya Idul Fitri" in text  # the known names are listed
    assert "region_id 'denpasar' tidak ada di tabel regions" in text


def test_upcoming_lists_a_window_in_date_order() -> None:
    events = list(load_book(KNOWLEDGE).events)
    days = upcoming(events, date(2026, 12, 25), 14)
    assert [(u.event.id, u.day) for u in days] == [
        ("natal", date(2026, 12, 25)),
        ("tahun-baru", date(2027, 1, 1)),
        ("isra-mikraj", date(2027, 1, 5)),
    ]
