"""The Indonesian schedule parser and the recurrence rules behind it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.schedules.parse import parse_schedule
from bot.schedules.recurrence import Rule

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
# Friday 27 November 2026, 10.00 WIB
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=WIB)


def p(text: str, now: datetime = NOW):
    return parse_schedule(text, now)


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("setiap Senin 08.00", (0,), time(8, 0)),
        ("Setiap senin jam 8", (0,), time(8, 0)),
        ("tiap senin & kamis jam 7:30", (0, 3), time(7, 30)),
        ("tiap Senin, Rabu dan Jumat pukul 16.45", (0, 2, 4), time(16, 45)),
        ("setiap jum'at jam 3 sore", (4,), time(15, 0)),
        ("tiap sabtu + minggu jam 9 pagi", (5, 6), time(9, 0)),
        ("setiap hari jam 7 malam", tuple(range(7)), time(19, 0)),
        ("setiap hari kerja pkl. 07.15", (0, 1, 2, 3, 4), time(7, 15)),
        ("tiap akhir pekan jam 10", (5, 6), time(10, 0)),
        ("senin dan kamis 08.00", (0, 3), time(8, 0)),
        ("tiap selasa jam 12 siang", (1,), time(12, 0)),
        ("tiap ahad jam 1 siang", (6,), time(13, 0)),
        ("setiap Senin 08.00.", (0,), time(8, 0)),
        ("tiap senin jam 8 pagi", (0,), time(8, 0)),
        ("setiap hari kerja 07.30", (0, 1, 2, 3, 4), time(7, 30)),
        ("minggu 8 malam", (6,), time(20, 0)),
        ("setiap senin 8 pagi", (0,), time(8, 0)),
        ("setiap hari senin-jumat jam 8", (0, 1, 2, 3, 4), time(8, 0)),
        ("senin sampai jumat jam 8", (0, 1, 2, 3, 4), time(8, 0)),
        ("setiap senin s.d. kamis pukul 07.30", (0, 1, 2, 3), time(7, 30)),
        ("senin s/d jumat jam 7.30", (0, 1, 2, 3, 4), time(7, 30)),
        ("jumat-senin jam 8", (0, 4, 5, 6), time(8, 0)),
        ("tiap hari kerja jam setengah 8", (0, 1, 2, 3, 4), time(7, 30)),
        ("tiap senin setengah 1 siang", (0,), time(12, 30)),
    ],
)
def test_weekly(text, days, at):
    r = p(text)
    assert r is not None, text
    assert r.rule.kind == "weekly" and r.rule.days == days and r.rule.at == at
    assert r.timezone is None


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("tiap tgl 1 jam 9", 1, time(9, 0)),
        ("setiap tanggal 15 pukul 13.00", 15, time(13, 0)),
        ("tiap bulan tanggal 31 jam 10", 31, time(10, 0)),
        ("tgl 5 setiap bulan jam 8.30", 5, time(8, 30)),
        ("setiap tgl. 20 pkl 14:00", 20, time(14, 0)),
        ("tgl 25 tiap bulan jam 14:00", 25, time(14, 0)),
        ("setiap awal bulan pukul 08.00", 1, time(8, 0)),
        ("tiap akhir bulan jam 9", 31, time(9, 0)),  # clamped to the month's last day
    ],
)
def test_monthly(text, day, at):
    r = p(text)
    assert r is not None, text
    assert r.rule.kind == "monthly" and r.rule.day == day and r.rule.at == at


@pytest.mark.parametrize(
    ("text", "on", "at"),
    [
        ("besok jam 10", date(2026, 11, 28), time(10, 0)),
        ("lusa pukul 08.00", date(2026, 11, 29), time(8, 0)),
        ("hari ini jam 15.30", date(2026, 11, 27), time(15, 30)),
        ("27/12 jam 08.00", date(2026, 12, 27), time(8, 0)),
        ("27-12-2026 08.00", date(2026, 12, 27), time(8, 0)),
        ("1/1/27 jam 9", date(2027, 1, 1), time(9, 0)),
        ("2026-12-01 09:00", date(2026, 12, 1), time(9, 0)),
        ("1 Desember 2026 pukul 9 pagi", date(2026, 12, 1), time(9, 0)),
        ("tgl 17 agustus 2027 jam 7", date(2027, 8, 17), time(7, 0)),
        ("5 des jam 10 malam", date(2026, 12, 5), time(22, 0)),
        # "Jumat depan" said on a Friday is next week's Friday; "Jumat ini" is today
        ("jumat depan jam 3 sore", date(2026, 12, 4), time(15, 0)),
        ("jumat ini jam 3 sore", date(2026, 11, 27), time(15, 0)),
        # a one-off in another zone is converted to the writer's zone (15.00 WITA = 14.00 WIB)
        ("jumat depan 15.00 WITA", date(2026, 12, 4), time(14, 0)),
        ("besok pagi jam 9", date(2026, 11, 28), time(9, 0)),
        ("besok 9 pagi", date(2026, 11, 28), time(9, 0)),
        ("hari minggu depan jam 10", date(2026, 11, 29), time(10, 0)),
        # a weekday that matches the date only confirms it
        ("Senin, 30 November 2026 pukul 09.00", date(2026, 11, 30), time(9, 0)),
        ("senin depan jam 9", date(2026, 11, 30), time(9, 0)),
        # a day of the month alone is the next one; "minggu depan" is a week from today
        ("tgl 1 jam 9", date(2026, 12, 1), time(9, 0)),
        ("minggu depan jam 10", date(2026, 12, 4), time(10, 0)),
        ("akhir bulan jam 9", date(2026, 11, 30), time(9, 0)),
    ],
)
def test_once(text, on, at):
    r = p(text)
    assert r is not None, text
    assert r.rule.kind == "once" and r.rule.on_date == on and r.rule.at == at


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("setiap Senin 08.00 WITA", "Asia/Makassar"),
        ("tiap tgl 1 jam 9 wib", "Asia/Jakarta"),
    ],
)
def test_zone_words(text, zone):
    r = p(text)
    assert r is not None and r.timezone == zone


def test_relative_days_use_the_named_zone():
    # 23.30 WIB on Friday is already Saturday 01.30 WIT: "besok" is Sunday there.
    late = datetime(2026, 11, 27, 23, 30, tzinfo=WIB)
    assert p("besok jam 8", late).rule.on_date == date(2026, 11, 28)
    assert p("besok jam 8 WIT", late).rule.on_date == date(2026, 11, 29)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "kapan-kapan",
        "setiap senin",  # no time
        "jam 9",  # no day
        "senin jam 25",
        "besok jam 10.75",
        "27/11 jam 08.00",  # passed: asked about (bot.dates), never moved a year on
        "2025-01-01 09:00",
        "tiap tgl 32 jam 9",
        "31/2 jam 9",
        "1/13 jam 9",
        "besok jam 10 dan jam 11",
        "setiap senin 08.00 WIB WITA",
        "setiap besok jam 9",
        "setiap 27/12 jam 8",
        "setiap senin jam 8 rapat dinas",  # unknown words are not guessed
        "senin depan dan kamis depan jam 9",
        "besok senin jam 9",
        "x" * 300,
        "minggu ini jam 10",
        "senin-senin jam 8",
        "Selasa, 30 November 2026 pukul 09.00",  # 30 November 2026 is a Monday
        "tiap tgl 5 pagi",  # "5 pagi" is not a time after "tgl"
        "tiap senin setengah 13",
    ],
)
def test_not_understood(text):
    assert p(text) is None


def test_rule_occurrences_in_wib_and_wita():
    rule = Rule("weekly", time(8, 0), days=(0,))
    after = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # Friday
    assert rule.next_after(after, WIB) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert rule.next_after(after, WITA) == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert rule.latest_at_or_before(after, WIB) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    monthly = Rule("monthly", time(9, 0), day=31)
    feb = datetime(2027, 2, 1, tzinfo=UTC)
    assert monthly.next_after(feb, WIB) == datetime(2027, 2, 28, 2, 0, tzinfo=UTC)
    once = Rule("once", time(9, 0), on_date=date(2026, 12, 1))
    assert once.next_after(datetime(2026, 12, 1, 3, tzinfo=UTC), WIB) is None
    assert once.latest_at_or_before(datetime(2026, 12, 1, 3, tzinfo=UTC), WIB) is not None
    with pytest.raises(ValueError):
        Rule("weekly", time(8, 0), days=())
