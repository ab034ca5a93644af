"""The one Indonesian date and time parser (bot.dates.parse_when), table-driven.

"Now" is frozen at Tuesday 1 December 2026, 09.30 WITA, for a writer in WITA (Asia/Makassar).
Expectations: ``once <local date> <HH:MM> [zone]`` (zone: the one the text names), ``weekly
<days> <HH:MM>``, ``monthly <day> <HH:MM>``, ``need_time``, ``past <suggestion or ->``,
``invalid``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.dates import parse_when
from bot.dates.words import zone_label

ZONE = "Asia/Makassar"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo(ZONE))

ANY = [
    # relative days
    ("hari ini jam 15.00", "once 2026-12-01 15:00"),
    ("hari ini jam 5 sore", "once 2026-12-01 17:00"),
    ("besok jam 5 sore", "once 2026-12-02 17:00"),
    ("besok jam 7 malam", "once 2026-12-02 19:00"),
    ("besok jam 12 siang", "once 2026-12-02 12:00"),
    ("besok jam 12 malam", "once 2026-12-02 00:00"),
    ("besok jam 1 siang", "once 2026-12-02 13:00"),
    ("besok jam 3 sore", "once 2026-12-02 15:00"),
    ("besok jam 6 petang", "once 2026-12-02 18:00"),
    ("besok jam 9 pagi", "once 2026-12-02 09:00"),
    ("besok pagi jam 9", "once 2026-12-02 09:00"),
    ("besok 9 pagi", "once 2026-12-02 09:00"),
    ("besok 08.00", "once 2026-12-02 08:00"),
    ("besok pukul 08.00", "once 2026-12-02 08:00"),
    ("besok pkl. 8", "once 2026-12-02 08:00"),
    ("besok jam 8:15", "once 2026-12-02 08:15"),
    ("Besok Jam 10", "once 2026-12-02 10:00"),
    ("bsk jam 10", "once 2026-12-02 10:00"),
    ("besok jam 9an", "once 2026-12-02 09:00"),
    ("besok jam 17", "once 2026-12-02 17:00"),
    ("besok jam 17.30 sore", "once 2026-12-02 17:30"),
    ("lusa jam 10", "once 2026-12-03 10:00"),
    ("lusa pukul 08.00", "once 2026-12-03 08:00"),
    ("3 hari lagi jam 10", "once 2026-12-04 10:00"),
    ("tiga hari lagi jam 10", "once 2026-12-04 10:00"),
    ("2 minggu lagi jam 8", "once 2026-12-15 08:00"),
    ("minggu depan jam 9", "once 2026-12-08 09:00"),
    ("pekan depan jam 9", "once 2026-12-08 09:00"),
    ("nanti malam jam 8", "once 2026-12-01 20:00"),
    ("malam ini jam 8", "once 2026-12-01 20:00"),
    ("sore ini jam 4", "once 2026-12-01 16:00"),
    ("jam 8 malam", "once 2026-12-01 20:00"),
    ("jam 14.00", "once 2026-12-01 14:00"),
    ("pukul 13.00 nanti", "once 2026-12-01 13:00"),
    # times in words
    ("besok jam setengah 9", "once 2026-12-02 08:30"),
    ("besok setengah 8 malam", "once 2026-12-02 19:30"),
    ("besok jam 8 lewat 15", "once 2026-12-02 08:15"),
    ("besok jam 8 lewat 10 menit", "once 2026-12-02 08:10"),
    ("besok jam 9 kurang seperempat", "once 2026-12-02 08:45"),
    ("besok jam 9 kurang 10", "once 2026-12-02 08:50"),
    ("besok jam delapan pagi", "once 2026-12-02 08:00"),
    ("besok jam tujuh malam", "once 2026-12-02 19:00"),
    # weekdays, one-off
    ("kamis depan jam 9", "once 2026-12-03 09:00"),
    ("kamis depan jam 7 pagi", "once 2026-12-03 07:00"),
    ("hari kamis depan jam 10", "once 2026-12-03 10:00"),
    ("selasa depan jam 9", "once 2026-12-08 09:00"),
    ("selasa ini jam 15.00", "once 2026-12-01 15:00"),
    ("jumat ini jam 3 sore", "once 2026-12-04 15:00"),
    ("jum'at depan jam 2 siang", "once 2026-12-04 14:00"),
    ("hari minggu depan jam 10", "once 2026-12-06 10:00"),
    ("senin depan pukul 07.30", "once 2026-12-07 07:30"),
    ("sabtu depan jam 8", "once 2026-12-05 08:00"),
    # numeric dates
    ("1/12 jam 15", "once 2026-12-01 15:00"),
    ("2/12 jam 8", "once 2026-12-02 08:00"),
    ("27/12 jam 08.00", "once 2026-12-27 08:00"),
    ("27-12 jam 08.00", "once 2026-12-27 08:00"),
    ("27-12-2026 08.00", "once 2026-12-27 08:00"),
    ("01-12-2026 jam 13", "once 2026-12-01 13:00"),
    ("1/1/27 jam 9", "once 2027-01-01 09:00"),
    ("1/1/2027 jam 9", "once 2027-01-01 09:00"),
    ("2026-12-24 09:00", "once 2026-12-24 09:00"),
    ("2026-12-24T09:00", "once 2026-12-24 09:00"),
    ("24.12.2026 jam 9", "once 2026-12-24 09:00"),
    ("tgl 24/12 jam 9", "once 2026-12-24 09:00"),
    # dates with month names
    ("1 des jam 16.00", "once 2026-12-01 16:00"),
    ("3 des jam 10", "once 2026-12-03 10:00"),
    ("3 Desember jam 10", "once 2026-12-03 10:00"),
    ("3 Desember 2026 pukul 10.00", "once 2026-12-03 10:00"),
    ("1 Desember 2027 pukul 9 pagi", "once 2027-12-01 09:00"),
    ("tgl 17 agustus 2027 jam 7", "once 2027-08-17 07:00"),
    ("tanggal 25 desember jam 8", "once 2026-12-25 08:00"),
    ("5 jan 2027 jam 8", "once 2027-01-05 08:00"),
    ("5 januari 2027 jam 8 pagi", "once 2027-01-05 08:00"),
    ("10 Nop 2027 jam 9", "once 2027-11-10 09:00"),
    ("10 Nopember 2027 jam 9", "once 2027-11-10 09:00"),
    ("17 Agt 2027 jam 7", "once 2027-08-17 07:00"),
    ("Kamis, 3 Desember 2026 pukul 09.00", "once 2026-12-03 09:00"),
    ("kamis 3 des jam 9", "once 2026-12-03 09:00"),
    ("3des jam 9", "once 2026-12-03 09:00"),
    # days of this or next month
    ("tgl 5 jam 9", "once 2026-12-05 09:00"),
    ("tanggal 5 jam 9", "once 2026-12-05 09:00"),
    ("tgl 1 jam 9", "once 2027-01-01 09:00"),  # the 1st at 09.00 has passed: next month's
    ("tgl 5 bulan depan jam 9", "once 2027-01-05 09:00"),
    ("akhir bulan jam 9", "once 2026-12-31 09:00"),
    ("akhir bulan ini jam 16", "once 2026-12-31 16:00"),
    ("akhir bulan depan jam 9", "once 2027-01-31 09:00"),
    ("awal bulan depan jam 8", "once 2027-01-01 08:00"),
    # zones: the time is in the zone the text names
    ("kamis depan jam 7 pagi WIB", "once 2026-12-03 07:00 WIB"),
    ("besok jam 10 WIT", "once 2026-12-02 10:00 WIT"),
    ("besok jam 10 wita", "once 2026-12-02 10:00 WITA"),
    ("27/12 jam 08.00 WIB", "once 2026-12-27 08:00 WIB"),
    ("besok 08.00 wib", "once 2026-12-02 08:00 WIB"),
    # weekly
    ("setiap Senin 08.00", "weekly 0 08:00"),
    ("setiap senin jam 8", "weekly 0 08:00"),
    ("tiap senin & kamis jam 7:30", "weekly 0,3 07:30"),
    ("tiap Senin, Rabu dan Jumat pukul 16.45", "weekly 0,2,4 16:45"),
    ("setiap jum'at jam 3 sore", "weekly 4 15:00"),
    ("tiap sabtu + minggu jam 9 pagi", "weekly 5,6 09:00"),
    ("setiap hari jam 7 malam", "weekly 0,1,2,3,4,5,6 19:00"),
    ("tiap hari jam 6", "weekly 0,1,2,3,4,5,6 06:00"),
    ("setiap jam 9", "weekly 0,1,2,3,4,5,6 09:00"),
    ("harian jam 7", "weekly 0,1,2,3,4,5,6 07:00"),
    ("setiap hari kerja pkl. 07.15", "weekly 0,1,2,3,4 07:15"),
    ("tiap hari kerja jam setengah 8", "weekly 0,1,2,3,4 07:30"),
    ("tiap akhir pekan jam 10", "weekly 5,6 10:00"),
    ("senin dan kamis 08.00", "weekly 0,3 08:00"),
    ("tiap selasa jam 12 siang", "weekly 1 12:00"),
    ("tiap ahad jam 1 siang", "weekly 6 13:00"),
    ("minggu 8 malam", "weekly 6 20:00"),
    ("setiap hari senin-jumat jam 8", "weekly 0,1,2,3,4 08:00"),
    ("senin sampai jumat jam 8", "weekly 0,1,2,3,4 08:00"),
    ("setiap senin s.d. kamis pukul 07.30", "weekly 0,1,2,3 07:30"),
    ("senin s/d jumat jam 7.30", "weekly 0,1,2,3,4 07:30"),
    ("jumat-senin jam 8", "weekly 0,4,5,6 08:00"),
    ("setiap hari kamis jam 9", "weekly 3 09:00"),
    ("setiap Senin 08.00 WITA", "weekly 0 08:00 WITA"),
    ("setiap senin jam 8 WIB", "weekly 0 08:00 WIB"),
    # monthly
    ("tiap tgl 1 jam 9", "monthly 1 09:00"),
    ("tiap tanggal 1 jam 9", "monthly 1 09:00"),
    ("setiap tanggal 15 pukul 13.00", "monthly 15 13:00"),
    ("tiap bulan tanggal 31 jam 10", "monthly 31 10:00"),
    ("tgl 5 setiap bulan jam 8.30", "monthly 5 08:30"),
    ("setiap tgl. 20 pkl 14:00", "monthly 20 14:00"),
    ("setiap tgl20 jam 14", "monthly 20 14:00"),
    ("setiap awal bulan pukul 08.00", "monthly 1 08:00"),
    ("tiap akhir bulan jam 9", "monthly 31 09:00"),
    ("tiap akhir bulan jam 4 sore", "monthly 31 16:00"),
    ("tiap tanggal 1 jam 9 WIT", "monthly 1 09:00 WIT"),
    # the hour is missing: asked for
    ("tiap tanggal 1", "need_time"),
    ("setiap tgl 15", "need_time"),
    ("tiap akhir bulan", "need_time"),
    ("setiap senin", "need_time"),
    ("setiap hari kerja", "need_time"),
    ("besok", "need_time"),
    ("besok pagi", "need_time"),
    ("lusa", "need_time"),
    ("kamis depan", "need_time"),
    ("1/12", "need_time"),
    ("1 Desember 2026", "need_time"),
    ("27-12-2026", "need_time"),
    ("akhir bulan", "need_time"),
    ("3 hari lagi", "need_time"),
    ("tiap tgl 5 pagi", "need_time"),
    # passed: asked about, with the likely meaning
    ("1/12 jam 8", "past 1/12/2027 jam 08.00"),
    ("1 des jam 8", "past 1/12/2027 jam 08.00"),
    ("1 Desember jam 8", "past 1/12/2027 jam 08.00"),
    ("tgl 30 november jam 9", "past 30/11/2027 jam 09.00"),
    ("30/11 jam 9", "past 30/11/2027 jam 09.00"),
    ("hari ini jam 8", "past 2/12/2026 jam 08.00"),
    ("jam 9", "past 2/12/2026 jam 09.00"),
    ("jam 7 pagi", "past 2/12/2026 jam 07.00"),
    ("selasa ini jam 8", "past 8/12/2026 jam 08.00"),
    ("1/12 jam 8 WIB", "past 1/12/2027 jam 08.00 WIB"),
    ("2025-01-01 09:00", "past -"),  # an explicit year: no guess
    ("01-12-2026 jam 8", "past -"),
    ("1 Desember 2026 pukul 08.00", "past -"),
    # not understood (never guessed)
    ("", "invalid"),
    ("kapan-kapan", "invalid"),
    ("senin jam 25", "invalid"),
    ("besok jam 10.75", "invalid"),
    ("tiap tgl 32 jam 9", "invalid"),
    ("31/2 jam 9", "invalid"),
    ("1/13 jam 9", "invalid"),
    ("besok jam 10 dan jam 11", "invalid"),
    ("setiap senin 08.00 WIB WITA", "invalid"),
    ("setiap besok jam 9", "invalid"),
    ("setiap 27/12 jam 8", "invalid"),
    ("setiap senin jam 8 rapat dinas", "invalid"),
    ("senin depan dan kamis depan jam 9", "invalid"),
    ("besok senin jam 9", "invalid"),
    ("x" * 300, "invalid"),
    ("minggu ini jam 10", "invalid"),
    ("senin-senin jam 8", "invalid"),
    ("Rabu, 1 Desember 2026 pukul 09.00", "invalid"),  # 1 December 2026 is a Tuesday
    ("tiap senin setengah 13", "invalid"),
    ("besok jam 8 pagi jam 9", "invalid"),
    ("jam 13 pagi", "invalid"),
]

# A broadcast or a closing time happens once: a bare weekday is the next one.
ONCE_ONLY = [
    ("kamis jam 7 pagi WITA", "once 2026-12-03 07:00 WITA"),
    ("kamis jam 7 pagi WIB", "once 2026-12-03 07:00 WIB"),
    ("hari kamis jam 7", "once 2026-12-03 07:00"),
    ("kamis jam 16.00", "once 2026-12-03 16:00"),
    ("selasa jam 8", "once 2026-12-08 08:00"),  # today at 08.00 has passed: next week's
    ("selasa jam 15", "once 2026-12-01 15:00"),
    ("jumat 15.00", "once 2026-12-04 15:00"),
    ("besok jam 5 sore", "once 2026-12-02 17:00"),
    ("tgl 24 jam 9", "once 2026-12-24 09:00"),
    ("setiap senin jam 8", "invalid"),
    ("tiap tanggal 1 jam 9", "invalid"),
    ("setiap hari jam 7", "invalid"),
    ("kamis", "need_time"),
]

# The security-tip schedule repeats: "tanggal 1" is every month.
REPEAT_ONLY = [
    ("tanggal 1 jam 9", "monthly 1 09:00"),
    ("setiap senin 09.00", "weekly 0 09:00"),
    ("senin jam 9", "weekly 0 09:00"),
    ("besok jam 9", "invalid"),
    ("27/12 jam 08.00", "invalid"),
    ("tiap tanggal 1", "need_time"),
]

CASES = (
    [(t, "any", e) for t, e in ANY]
    + [(t, "once", e) for t, e in ONCE_ONLY]
    + [(t, "repeat", e) for t, e in REPEAT_ONLY]
)


def describe(w) -> str:
    if w.status == "need_time":
        return "need_time"
    if w.status == "invalid":
        return "invalid"
    if w.status == "past":
        return f"past {w.suggestion or '-'}"
    zone = f" {zone_label(w.zone)}" if w.named_zone else ""
    hhmm = f"{w.at.hour:02d}:{w.at.minute:02d}"
    if w.kind == "once":
        return f"once {w.on_date.isoformat()} {hhmm}{zone}"
    if w.kind == "weekly":
        return f"weekly {','.join(map(str, w.days))} {hhmm}{zone}"
    return f"monthly {w.day} {hhmm}{zone}"


def test_at_least_150_phrasings():
    assert len(CASES) >= 150
    assert len({(t, m) for t, m, _ in CASES}) == len(CASES)  # no phrasing counted twice


@pytest.mark.parametrize(("text", "mode", "expected"), CASES)
def test_phrasing(text, mode, expected):
    assert describe(parse_when(text, NOW, ZONE, mode=mode)) == expected


def test_moment_is_in_the_named_zone_and_converts():
    w = parse_when("kamis jam 7 pagi WIB", NOW, ZONE, mode="once")
    assert w.moment == datetime(2026, 12, 3, 8, 0, tzinfo=ZoneInfo(ZONE))  # 07.00 WIB = 08.00


def test_relative_days_follow_the_named_zone():
    # 23.30 WITA on Tuesday is already Wednesday 00.30 WIT: "besok" there is Thursday.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo(ZONE))
    assert parse_when("besok jam 8", late, ZONE).on_date.isoformat() == "2026-12-02"
    assert parse_when("besok jam 8 WIT", late, ZONE).on_date.isoformat() == "2026-12-03"


def test_suggestions_parse_back_to_a_future_moment():
    for text, mode, expected in CASES:
        if expected.startswith("past ") and expected != "past -":
            w = parse_when(text, NOW, ZONE, mode=mode)
            again = parse_when(w.suggestion, NOW, ZONE, mode=mode)
            assert again.ok and again.moment > NOW, text
