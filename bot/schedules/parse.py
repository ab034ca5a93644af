"""Understand schedules written in everyday Indonesian.

Examples that work: "setiap Senin 08.00", "tiap senin & kamis jam 7:30", "tiap tgl 1 jam 9",
"setiap tanggal 15 pukul 13.00", "besok jam 10", "27/12 jam 08.00", "2026-12-01 09:00",
"setiap hari kerja jam 8 WITA", "1 Desember 2026 pukul 9 pagi", "jumat depan jam 3 sore",
"senin-jumat 07.30", "minggu 8 malam", "tiap akhir bulan jam setengah 9".
What is not understood gives None (the caller answers with an example), never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.schedules.recurrence import MONTHLY, ONCE, WEEKLY, ZONE_WORDS, Rule

DAY_WORDS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
}
MONTH_WORDS = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "pebruari": 2,
    "feb": 2,
    "maret": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "agustus": 8,
    "agu": 8,
    "agt": 8,
    "agus": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "nopember": 11,
    "desember": 12,
    "des": 12,
}
# Words that carry no meaning of their own here.
FILLER = {
    "setiap",
    "tiap",
    "tiap-tiap",
    "per",
    "pada",
    "di",
    "hari",
    "dan",
    "serta",
    "juga",
    "jam",
    "pukul",
    "pkl",
    "tanggal",
    "tgl",
    "bulan",
    "tahun",
    "ingatkan",
    "ingetin",
    "tolong",
    "saya",
    "aku",
    "pagi",
    "siang",
    "sore",
    "petang",
    "malam",
    "ya",
    "yang",
    "sekali",
    "mulai",
}
REPEAT_WORDS = {"setiap", "tiap", "tiap-tiap", "per"}
_DAY_ALT = "senin|selasa|rabu|kamis|jumat|sabtu|minggu|ahad"
_MONTH_ALT = "|".join(sorted(MONTH_WORDS, key=len, reverse=True))
_PERIOD = r"(?:\s*(pagi|siang|sore|petang|malam))?"


@dataclass(frozen=True)
class ParsedSchedule:
    rule: Rule
    timezone: str | None  # IANA zone named in the text (WIB/WITA/WIT), else None


def _apply_period(hour: int, period: str | None) -> int | None:
    if period is None or period == "pagi":
        return 0 if (period == "pagi" and hour == 12) else hour
    if period == "siang":
        return hour + 12 if 1 <= hour <= 5 else hour
    if period in ("sore", "petang"):
        return hour + 12 if 1 <= hour <= 11 else hour
    if period == "malam":
        if hour == 12:
            return 0
        return hour + 12 if 5 <= hour <= 11 else hour
    return hour


def _normalise(text: str) -> str:
    s = text.lower().strip()
    s = s.replace("jum'at", "jumat").replace("jum’at", "jumat")
    s = re.sub(r"[&+]", " dan ", s)
    s = re.sub(r",", " ", s)
    s = re.sub(r"[!?;]+", " ", s)
    s = re.sub(r"\.(\s|$)", r" \1", s)  # sentence dots, not "08.00"
    s = re.sub(r"\bpkl\.", "pkl ", s)
    s = re.sub(r"\btgl\.", "tgl ", s)
    return " ".join(s.split())


def _valid_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_schedule(text: str, now: datetime) -> ParsedSchedule | None:
    """Parse ``text``; ``now`` is the writer's aware local time (for "besok" and the year)."""
    if not text or len(text) > 200:
        return None
    s = _normalise(text)
    consumed: list[str] = []

    def take(pattern: str) -> re.Match | None:
        nonlocal s
        m = re.search(pattern, s)
        if m:
            consumed.append(m.group(0))
            s = (s[: m.start()] + " " + s[m.end() :]).strip()
        return m

    # Zone.
    tz_name: str | None = None
    m = take(r"\b(wib|wita|wit)\b")
    if m:
        tz_name = ZONE_WORDS[m.group(1)]
        if re.search(r"\b(wib|wita|wit)\b", s):
            return None
        now = now.astimezone(_zone(tz_name))
    today = now.date()

    on_date: date | None = None
    explicit_year = False
    # 2026-12-01
    m = take(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
    if m:
        on_date = _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if on_date is None:
            return None
        explicit_year = True
    # 27/12, 27/12/2026, 27-12-2026
    if on_date is None:
        m = take(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?\b")
        if m:
            d, mo = int(m.group(1)), int(m.group(2))
            y = m.group(3)
            if y is not None:
                year = int(y) + (2000 if len(y) == 2 else 0)
                explicit_year = True
            else:
                year = today.year
            on_date = _valid_date(year, mo, d)
            if on_date is None:
                return None
    # 1 Desember 2026, tgl 17 agustus
    if on_date is None:
        m = take(rf"\b(?:(?:tanggal|tgl)\s*)?(\d{{1,2}})\s+({_MONTH_ALT})\b(?:\s+(\d{{4}}))?")
        if m:
            year = int(m.group(3)) if m.group(3) else today.year
            explicit_year = m.group(3) is not None
            on_date = _valid_date(year, MONTH_WORDS[m.group(2)], int(m.group(1)))
            if on_date is None:
                return None

    # Time: "jam 9", "pukul 13.00", "pkl 7:30 pagi", then a bare "08.00" / "8:30", then a
    # bare hour with a part of the day ("8 malam"); "setengah 8" is 07.30.
    hour = minute = None
    m = take(rf"\b(?:(?:jam|pukul|pkl)\s*)?setengah\s+(\d{{1,2}})\b{_PERIOD}")
    if m is not None:
        half = int(m.group(1)) - 1
        if not 0 <= half <= 11:
            return None
        hour = _apply_period(half or 12, m.group(2))
        minute = 30
    else:
        m = take(rf"\b(?:jam|pukul|pkl)\s*(\d{{1,2}})(?:[.:](\d{{2}}))?\b{_PERIOD}")
        if m is None:
            m = take(rf"\b(\d{{1,2}})[.:](\d{{2}})\b{_PERIOD}")
        if m is None:
            m = take(r"(?<!tgl )(?<!tanggal )\b(\d{1,2})()\s+(pagi|siang|sore|petang|malam)\b")
        if m is not None:
            hour = _apply_period(int(m.group(1)), m.group(3))
            minute = int(m.group(2) or 0)
    if hour is None or minute is None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    at = time(hour, minute)
    if re.search(r"\b(?:jam|pukul|pkl)\b|\d[.:]\d", s):
        return None  # a second time: ambiguous

    # Relative days.
    rel = None
    m = take(r"\b(besok|lusa|hari ini|nanti)\b")
    if m:
        rel = {"besok": 1, "lusa": 2, "hari ini": 0, "nanti": 0}[m.group(1)]

    # Monthly: "tgl 1", "tanggal 15", "awal/akhir bulan" (only with a repeat word).
    month_day = None
    if on_date is None:
        m = take(r"\b(?:tanggal|tgl)\s*(\d{1,2})\b")
        if m:
            month_day = int(m.group(1))
            if not 1 <= month_day <= 31:
                return None
        m = take(r"\b(awal|akhir)\s+bulan\b")
        if m:
            if month_day is not None:
                return None
            month_day = 1 if m.group(1) == "awal" else 31  # 31: the month's last day

    # Weekdays: ranges ("senin-jumat", "senin s/d jumat", "senin sampai jumat") first.
    days: set[int] = set()
    day_next: str | None = None
    while True:
        m = take(
            rf"\b({_DAY_ALT})\s*(?:-|–|s/d|s\.?d\.?|sampai(?:\s+dengan)?|hingga)\s*({_DAY_ALT})\b"
        )
        if not m:
            break
        first, last = DAY_WORDS[m.group(1)], DAY_WORDS[m.group(2)]
        if first == last:
            return None
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    while True:
        m = re.search(rf"\b({_DAY_ALT})\b(\s+(depan|ini))?", s)
        if not m:
            break
        if m.group(1) == "minggu" and m.group(3) and not s[: m.start()].rstrip().endswith("hari"):
            return None  # "minggu depan/ini" is next/this week, not Sunday ("hari Minggu depan")
        consumed.append(m.group(0))
        s = (s[: m.start()] + " " + s[m.end() :]).strip()
        days.add(DAY_WORDS[m.group(1)])
        if m.group(3):
            day_next = m.group(3)
    if take(r"\bhari\s+kerja\b"):
        days.update(range(5))
    if take(r"\b(?:akhir\s+pekan|weekend)\b"):
        days.update((5, 6))
    everyday = False
    if re.search(r"\b(setiap|tiap)\s+hari\b", s) and not days and month_day is None:
        everyday = True
        take(r"\b(setiap|tiap)\s+hari\b")

    words = s.split()
    repeat = any(w in REPEAT_WORDS for w in words) or any(
        w in REPEAT_WORDS for c in consumed for w in c.split()
    )
    leftover = [w for w in words if w not in FILLER]
    if leftover:
        return None

    if on_date is not None and days and not day_next and not everyday:
        if days != {on_date.weekday()}:
            return None  # "Senin, 2 Desember": the weekday does not match the date
        days = set()  # the weekday only confirms the date
    kinds = sum(x for x in (on_date is not None, rel is not None, bool(days) or everyday))
    kinds += month_day is not None
    if kinds != 1:
        return None

    if on_date is not None:
        if repeat:
            return None
        if not explicit_year and datetime.combine(on_date, at, tzinfo=now.tzinfo) <= now:
            on_date = _valid_date(on_date.year + 1, on_date.month, on_date.day)
            if on_date is None:
                return None
        return ParsedSchedule(Rule(ONCE, at, on_date=on_date), tz_name)
    if rel is not None:
        if repeat:
            return None
        return ParsedSchedule(Rule(ONCE, at, on_date=today + timedelta(days=rel)), tz_name)
    if month_day is not None:
        if not repeat:
            return None
        return ParsedSchedule(Rule(MONTHLY, at, day=month_day), tz_name)
    if everyday:
        return ParsedSchedule(Rule(WEEKLY, at, days=tuple(range(7))), tz_name)
    if day_next:
        if repeat or len(days) != 1:
            return None
        wd = next(iter(days))
        ahead = (wd - today.weekday()) % 7
        if ahead == 0 and day_next == "depan":
            ahead = 7  # "Jumat depan" said on a Friday is next week's Friday, never today
        candidate = today + timedelta(days=ahead)
        if datetime.combine(candidate, at, tzinfo=now.tzinfo) <= now:
            candidate += timedelta(days=7)
        return ParsedSchedule(Rule(ONCE, at, on_date=candidate), tz_name)
    return ParsedSchedule(Rule(WEEKLY, at, days=tuple(sorted(days))), tz_name)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
