"""Calendar dates typed in chat or on the command line: one date or a date range (the days of a
training). Dates with a time, relative days and recurrences are :mod:`bot.dates.when`."""

from __future__ import annotations

import re
from datetime import date

from bot.dates.words import MONTHS

_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})")
_D_MONTH_Y = re.compile(r"(\d{1,2})\s*([a-z]+)\.?,?\s*(\d{4})?")
# Between two dates: "s.d.", "s/d", "sd", "sampai (dengan)", "hingga", dashes.
_RANGE_SEP = re.compile(
    r"\s*(?:(?<![a-z])s\.?\s?d\.?(?![a-z])|s/d|sampai(?:\s+dengan)?|hingga|[-–—]|\bto\b)\s*"
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
