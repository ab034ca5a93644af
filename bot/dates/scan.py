"""The scanners behind :func:`bot.dates.when.parse_when`: each takes one kind of piece (a
time of day, a date, a relative day, month days, weekdays) off the front of a normalised phrase.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, time

from bot.dates.words import DAYS, MONTHS, NUMBER_WORDS, PERIODS, REPEAT, apply_period

LAST_DAY = 31  # a monthly day of 31 means the month's last day

_DAY_ALT = "|".join(DAYS)
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
PERIOD_ALT = "|".join(PERIODS)
_PERIOD = rf"(?:\s*({PERIOD_ALT}))?"
_NUM_ALT = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
TIME_WORD = r"(?:jam|pukul|pkl)"
# a clock time directly followed by a part of the day ("jam 8 malam", "8.30 pagi")
PERIOD_AFTER = re.compile(rf"\d(?:[.:]\d{{2}})?(?:an)?\s*(?:{PERIOD_ALT})\b")


def valid_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def month_last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def add_months(d: date, n: int) -> tuple[int, int]:
    k = d.year * 12 + d.month - 1 + n
    return k // 12, k % 12 + 1


class Scan:
    """The text being read; ``take`` removes what a pattern matched."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.repeat = False

    def take(self, pattern: str) -> re.Match | None:
        m = re.search(pattern, self.s)
        if m:
            if any(w in REPEAT for w in m.group(0).split()):
                self.repeat = True
            self.s = (self.s[: m.start()] + " " + self.s[m.end() :]).strip()
        return m

    def has(self, pattern: str) -> bool:
        return re.search(pattern, self.s) is not None


def _hour_value(token: str) -> int:
    return NUMBER_WORDS[token] if token in NUMBER_WORDS else int(token)


def take_time(sc: Scan) -> time | None | bool:
    """The clock time (None: none written; False: written but impossible)."""
    num = rf"(\d{{1,2}}|{_NUM_ALT})"
    m = sc.take(rf"\b(?:{TIME_WORD}\s*)?setengah\s+{num}\b{_PERIOD}")
    if m:
        h = _hour_value(m.group(1)) - 1
        if not 0 <= h <= 11:
            return False
        hour = apply_period(h or 12, m.group(2))
        return time(hour, 30) if hour is not None else False
    m = sc.take(
        rf"\b{TIME_WORD}\s*{num}(?:[.:](\d{{2}}))?"
        rf"(?:\s+(lewat|lebih|kurang)\s+(seperempat|\d{{1,2}})(?:\s+menit)?)?\b{_PERIOD}"
    )
    if m is None:
        m = sc.take(rf"\b(\d{{1,2}})[.:](\d{{2}})()()\b{_PERIOD}")
    if m is None:
        m = sc.take(
            rf"(?<!tgl )(?<!tanggal )(?<!/)\b(\d{{1,2}})()()()\s+({PERIOD_ALT})\b(?![/.:-]\d)"
        )
    if m is None:
        return None
    hour = apply_period(_hour_value(m.group(1)), m.group(5))
    minute = int(m.group(2) or 0)
    if m.group(3):
        delta = 15 if m.group(4) == "seperempat" else int(m.group(4))
        if m.group(2) or not 0 < delta < 60:
            return False
        if m.group(3) == "kurang":
            hour = None if hour is None else (hour - 1) % 24
            minute = 60 - delta
        else:
            minute = delta
    if hour is None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        return False
    return time(hour, minute)


@dataclass
class Parts:
    on_date: date | None = None
    explicit_year: bool = True
    rel_days: int | None = None
    weekdays: set[int] | None = None
    day_qualifier: str | None = None  # "depan" / "ini" after a weekday
    month_day: int | None = None
    month_offset: int | None = None  # "bulan depan" / "bulan ini"
    everyday: bool = False


def take_dates(sc: Scan, today: date) -> Parts | None:
    p = Parts()
    m = sc.take(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
    if m:
        p.on_date = valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return p if p.on_date else None
    m = sc.take(
        r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}|\d{2}))?\b|\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b"
    )
    if m:
        d, mo, y = (m.group(1), m.group(2), m.group(3)) if m.group(1) else m.group(4, 5, 6)
        p.explicit_year = y is not None
        year = (int(y) + (2000 if len(y) == 2 else 0)) if y else today.year
        p.on_date = valid_date(year, int(mo), int(d))
        return p if p.on_date else None
    m = sc.take(
        rf"\b(?:(?:tanggal|tgl)\s*)?(\d{{1,2}})\s*({_MONTH_ALT})\b(?:\s+(?:tahun\s+)?(\d{{4}}))?"
    )
    if m:
        p.explicit_year = m.group(3) is not None
        year = int(m.group(3)) if m.group(3) else today.year
        p.on_date = valid_date(year, MONTHS[m.group(2)], int(m.group(1)))
        return p if p.on_date else None
    return p


def take_relative(sc: Scan, p: Parts) -> bool:
    rel = None
    m = sc.take(r"\b(\d{1,2}|" + _NUM_ALT + r")\s+(hari|minggu)\s+(?:lagi|kemudian|ke depan)\b")
    if m:
        n = _hour_value(m.group(1))
        rel = n * (7 if m.group(2) == "minggu" else 1)
    elif m := sc.take(r"(?<!hari )\b(?:se)?minggu\s+(depan)\b"):
        # "minggu depan" (next week) - unless it is "hari minggu depan" (next Sunday)
        rel = 7
    elif m := sc.take(r"\b(hari ini|besok|lusa|malam ini|pagi ini|sore ini|siang ini)\b"):
        rel = {"besok": 1, "lusa": 2}.get(m.group(1), 0)
    if rel is None:
        return True
    if p.rel_days is not None:
        return False
    p.rel_days = rel
    return True


def take_month_days(sc: Scan, p: Parts) -> bool:
    m = sc.take(r"\b(?:tanggal|tgl)\s*(\d{1,2})\b")
    if m:
        p.month_day = int(m.group(1))
        if not 1 <= p.month_day <= 31:
            return False
    m = sc.take(r"\b(awal|akhir)\s+bulan(?:\s+(depan|ini))?\b")
    if m:
        if p.month_day is not None:
            return False
        p.month_day = 1 if m.group(1) == "awal" else LAST_DAY
        if m.group(2):
            p.month_offset = 1 if m.group(2) == "depan" else 0
    m = sc.take(r"\bbulan\s+(depan|ini)\b")
    if m:
        if p.month_offset is not None:
            return False
        p.month_offset = 1 if m.group(1) == "depan" else 0
    return True


def take_weekdays(sc: Scan, p: Parts) -> bool:
    days: set[int] = set()
    rng = rf"\b({_DAY_ALT})\s*(?:-|–|sampai(?:\s+dengan)?|hingga)\s*({_DAY_ALT})\b"
    if sc.take(r"\bhari\s+kerja\b"):
        days.update(range(5))
    if sc.take(r"\b(?:akhir\s+minggu|weekend)\b"):
        days.update((5, 6))
    while m := sc.take(rng):
        first, last = DAYS[m.group(1)], DAYS[m.group(2)]
        if first == last:
            return False
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    while m := re.search(rf"\b({_DAY_ALT})\b(\s+(depan|ini))?", sc.s):
        after_hari = sc.s[: m.start()].rstrip().endswith("hari")
        if m.group(1) == "minggu" and m.group(3) and not after_hari:
            return False  # "minggu ini": this week (which day?), not "hari Minggu ini"
        sc.take(re.escape(m.group(0)))
        days.add(DAYS[m.group(1)])
        if m.group(3):
            if p.day_qualifier is not None:
                return False
            p.day_qualifier = m.group(3)
    everyday = r"\b(?:setiap|tiap|saban)\s+hari(?:nya)?\b"
    if not days and not sc.has(r"\b(?:tanggal|tgl)\b") and sc.take(everyday):
        p.everyday = True
    if sc.take(r"\b(?:harian|sehari-hari)\b"):
        p.everyday = True
        sc.repeat = True
    if days:
        p.weekdays = days
    return True
