"""Dates typed in chat or on the command line: Indonesian (and English) day, month and year
forms, date ranges, and a local date with an optional clock time.

Pure functions; no feature knowledge (training feedback sessions use them, other features will).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "pebruari": 2, "feb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}  # fmt: skip
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})")
_D_MONTH_Y = re.compile(r"(\d{1,2})\s*([a-z]+)\.?,?\s*(\d{4})?")
# Between two dates: "s.d.", "s/d", "sd", "sampai (dengan)", "hingga", dashes.
_RANGE_SEP = re.compile(
    r"\s*(?:(?<![a-z])s\.?\s?d\.?(?![a-z])|s/d|sampai(?:\s+dengan)?|hingga|[-–—]|\bto\b)\s*"
)
_CLOCK = re.compile(
    r"(?:^|\s)(?:pukul|pkl\.?|jam)?\s*(\d{1,2})[:.](\d{2})(?:\s*(?:wib|wita|wit))?$"
)


def _day(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000
    if not 2000 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, *, default_year: int | None = None) -> date | None:
    """'2026-12-01', '01-12-2026', '1/12/26', '1.12.2026', '1 Desember 2026', '1 Des 2026'.

    ``default_year`` completes '1 Desember' (the start of '1 Desember - 2 Januari 2027')."""
    text = " ".join(text.split()).lower().strip(" ,")
    if m := _YMD.fullmatch(text):
        return _day(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY.fullmatch(text):
        return _day(int(m[3]), int(m[2]), int(m[1]))
    if (m := _D_MONTH_Y.fullmatch(text)) and m[2] in MONTHS:
        year = int(m[3]) if m[3] else default_year
        return _day(year, MONTHS[m[2]], int(m[1])) if year else None
    return None


def parse_date_range(text: str) -> tuple[date, date | None] | None:
    """One date or a range: '01-12-2026 s.d. 02-12-2026', '1/12/2026-2/12/2026',
    '1-2 Desember 2026', '30 November s/d 2 Desember 2026' -> (start, end or None)."""
    raw = " ".join(text.split()).lower().strip(" .")
    single = parse_date(raw)
    if single is not None:
        return single, None
    for m in _RANGE_SEP.finditer(raw):
        left, right = raw[: m.start()].strip(), raw[m.end() :].strip()
        if not left or not right:
            continue
        end = parse_date(right)
        if end is None:
            continue
        start = parse_date(left, default_year=end.year)
        if start is None and left.isdigit():  # '1-2 Desember 2026': month and year of the end
            start = _day(end.year, end.month, int(left))
        if start is None:
            continue
        if start > end and start.month > end.month and not re.search(r"\d{4}", left):
            start = _day(end.year - 1, start.month, start.day)  # '30 Des - 2 Jan 2027'
        if start is None or end < start:
            return None
        return start, end
    return None


def parse_local_datetime(text: str, tz) -> datetime | None:
    """'02-12-2026 17:00', '2 Desember 2026 pukul 17.00', '2026-12-02T17:00' in zone ``tz``
    -> aware datetime; a date alone means the end of that day (23:59)."""
    text = re.sub(r"(\d)T(\d)", r"\1 \2", text)
    text = " ".join(text.split()).lower().strip(" .")
    clock = _CLOCK.search(text)
    if clock is not None:
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 23 or minute > 59:
            return None
        day = parse_date(text[: clock.start()].strip(" ,"))
    else:
        hour, minute = 23, 59
        day = parse_date(text)
    if day is None:
        return None
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=tz)
