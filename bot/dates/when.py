"""The one parser for "when" typed in everyday Indonesian: reminders, scheduled broadcasts, the
opening and closing of feedback sessions, and the command line all use :func:`parse_when`.

Understood: relative days ("hari ini", "besok", "lusa", "3 hari lagi", "minggu depan"),
weekdays ("kamis", "hari kamis", "kamis depan", "kamis ini"), numeric dates ("1/12",
"01-12-2026", "2026-12-01"), "1 des", "1 Desember 2026", "tgl 5", "akhir bulan", times
("jam 8", "08.00", "8:30", "jam 5 sore" = 17.00, "jam 7 malam" = 19.00, "jam 12 siang",
"setengah 9", "jam 8 lewat 15", "jam 9 kurang seperempat"), zones ("WIB", "WITA", "WIT": the
time is in that zone), and recurrences ("setiap Senin 08.00", "senin-jumat 07.30", "tiap hari
kerja", "tiap tanggal 1 jam 9", "tiap akhir bulan").

The answer is never a guess: a phrase without an hour is ``NEED_TIME`` (the caller asks for the
hour), a moment that has passed is ``PAST`` (with a ``suggestion`` when the writer probably
meant next year or tomorrow - the caller asks, it never moves a date silently), and anything
else not understood is ``INVALID``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dates.words import (
    DAYS,
    FILLER,
    MONTHS,
    NUMBER_WORDS,
    PERIODS,
    REPEAT,
    ZONES,
    apply_period,
    zone_label,
)

OK, NEED_TIME, PAST, INVALID = "ok", "need_time", "past", "invalid"
ONCE, WEEKLY, MONTHLY = "once", "weekly", "monthly"
LAST_DAY = 31  # a monthly day of 31 means the month's last day
# mode: what the caller can store. "once" (a broadcast, a closing time), "repeat" (the tip
# schedule), "any" (a reminder).
MODES = ("once", "repeat", "any")

_DAY_ALT = "|".join(DAYS)
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_PERIOD_ALT = "|".join(PERIODS)
_PERIOD = rf"(?:\s*({_PERIOD_ALT}))?"
_NUM_ALT = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_TIME_WORD = r"(?:jam|pukul|pkl)"
# a clock time directly followed by a part of the day ("jam 8 malam", "8.30 pagi")
_PERIOD_AFTER = re.compile(rf"\d(?:[.:]\d{{2}})?(?:an)?\s*(?:{_PERIOD_ALT})\b")


@dataclass(frozen=True)
class When:
    """What a phrase means. ``zone`` is the zone its date and time are in (the one it names,
    else the writer's); ``moment`` (one-offs) is the aware datetime in that zone."""

    status: str
    kind: str | None = None
    at: time | None = None
    on_date: date | None = None
    days: tuple[int, ...] = ()
    day: int | None = None
    zone: str | None = None
    named_zone: bool = False
    problem: str | None = None  # INVALID: "format", "date", "time", "once_only", "repeat_only"
    suggestion: str | None = None  # PAST: a phrase meaning the likely intended moment

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def moment(self) -> datetime | None:
        if self.kind != ONCE or self.on_date is None or self.at is None or self.zone is None:
            return None
        return datetime.combine(self.on_date, self.at, tzinfo=ZoneInfo(self.zone))

    @property
    def last_day(self) -> bool:
        return self.kind == MONTHLY and self.day == LAST_DAY


def _normalise(text: str) -> str:
    s = text.lower().strip()
    s = s.replace("jum'at", "jumat").replace("jum’at", "jumat").replace("jum at", "jumat")
    s = re.sub(r"(\d)t(\d)", r"\1 \2", s)  # 2026-12-01T09:00
    s = re.sub(r"[&+]", " dan ", s)
    s = re.sub(r"[,;!?()]+", " ", s)
    s = re.sub(r"\.(\s|$)", r" \1", s)  # sentence dots, not "08.00"
    s = re.sub(r"\b(pkl|tgl|jam)\.", r"\1 ", s)
    s = re.sub(r"\b(tgl|tanggal|jam|pukul|pkl)(\d)", r"\1 \2", s)  # "tgl1", "jam8"
    s = re.sub(r"\b(\d{1,2}(?:[.:]\d{2})?)an\b", r"\1", s)  # "jam 9an"
    s = re.sub(r"\bhr\b", "hari", s)
    s = re.sub(r"\bbsk\b", "besok", s)
    s = re.sub(r"\bpekan\b", "minggu", s)
    s = re.sub(r"\bs\.d\b\.?|\bs/d\b|\bsd\b", " sampai ", s)
    return " ".join(s.split())


def _valid_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _add_months(d: date, n: int) -> tuple[int, int]:
    k = d.year * 12 + d.month - 1 + n
    return k // 12, k % 12 + 1


class _Scan:
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


def _take_time(sc: _Scan) -> time | None | bool:
    """The clock time (None: none written; False: written but impossible)."""
    num = rf"(\d{{1,2}}|{_NUM_ALT})"
    m = sc.take(rf"\b(?:{_TIME_WORD}\s*)?setengah\s+{num}\b{_PERIOD}")
    if m:
        h = _hour_value(m.group(1)) - 1
        if not 0 <= h <= 11:
            return False
        hour = apply_period(h or 12, m.group(2))
        return time(hour, 30) if hour is not None else False
    m = sc.take(
        rf"\b{_TIME_WORD}\s*{num}(?:[.:](\d{{2}}))?"
        rf"(?:\s+(lewat|lebih|kurang)\s+(seperempat|\d{{1,2}})(?:\s+menit)?)?\b{_PERIOD}"
    )
    if m is None:
        m = sc.take(rf"\b(\d{{1,2}})[.:](\d{{2}})()()\b{_PERIOD}")
    if m is None:
        m = sc.take(
            rf"(?<!tgl )(?<!tanggal )(?<!/)\b(\d{{1,2}})()()()\s+({_PERIOD_ALT})\b(?![/.:-]\d)"
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
class _Parts:
    on_date: date | None = None
    explicit_year: bool = True
    rel_days: int | None = None
    weekdays: set[int] | None = None
    day_qualifier: str | None = None  # "depan" / "ini" after a weekday
    month_day: int | None = None
    month_offset: int | None = None  # "bulan depan" / "bulan ini"
    everyday: bool = False


def _take_dates(sc: _Scan, today: date) -> _Parts | None:
    p = _Parts()
    m = sc.take(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
    if m:
        p.on_date = _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return p if p.on_date else None
    m = sc.take(
        r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}|\d{2}))?\b|\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b"
    )
    if m:
        d, mo, y = (m.group(1), m.group(2), m.group(3)) if m.group(1) else m.group(4, 5, 6)
        p.explicit_year = y is not None
        year = (int(y) + (2000 if len(y) == 2 else 0)) if y else today.year
        p.on_date = _valid_date(year, int(mo), int(d))
        return p if p.on_date else None
    m = sc.take(
        rf"\b(?:(?:tanggal|tgl)\s*)?(\d{{1,2}})\s*({_MONTH_ALT})\b(?:\s+(?:tahun\s+)?(\d{{4}}))?"
    )
    if m:
        p.explicit_year = m.group(3) is not None
        year = int(m.group(3)) if m.group(3) else today.year
        p.on_date = _valid_date(year, MONTHS[m.group(2)], int(m.group(1)))
        return p if p.on_date else None
    return p


def _take_relative(sc: _Scan, p: _Parts) -> bool:
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


def _take_month_days(sc: _Scan, p: _Parts) -> bool:
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


def _take_weekdays(sc: _Scan, p: _Parts) -> bool:
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


def _phrase(d: date, at: time, zone: str | None) -> str:
    z = f" {zone_label(zone)}" if zone else ""
    return f"{d.day}/{d.month}/{d.year} jam {at.hour:02d}.{at.minute:02d}{z}"


def parse_when(text: str, now: datetime, zone: str, *, mode: str = "any") -> When:
    """Read ``text`` written at ``now`` (aware) by someone in ``zone`` (IANA)."""
    assert mode in MODES
    if not text or not text.strip() or len(text) > 200:
        return When(INVALID, problem="format")
    sc = _Scan(_normalise(text))

    named = sc.take(r"\b(wib|wita|wit)\b")
    if named and sc.has(r"\b(wib|wita|wit)\b"):
        return When(INVALID, problem="format")
    tz_name = ZONES[named.group(1)] if named else zone
    local_now = now.astimezone(ZoneInfo(tz_name))
    today = local_now.date()

    parts = _take_dates(sc, today)
    if parts is None:
        return When(INVALID, problem="date")
    at = _take_time(sc)
    if at is False:
        return When(INVALID, problem="time")
    loose = re.search(rf"\b({_PERIOD_ALT})\b", sc.s)
    if at is not None and loose and not _PERIOD_AFTER.search(text.lower()):
        # "nanti malam jam 8", "besok sore pukul 4": the part of the day came first
        hour = apply_period(at.hour, loose.group(1))
        if hour is None:
            return When(INVALID, problem="time")
        at = at.replace(hour=hour)
    if sc.has(rf"\b{_TIME_WORD}\s*\d|\d[.:]\d{{2}}\b"):
        return When(INVALID, problem="format")  # a second time: which one?
    if parts.on_date is None and not _take_month_days(sc, parts):
        return When(INVALID, problem="format")
    if not _take_relative(sc, parts) or not _take_weekdays(sc, parts):
        return When(INVALID, problem="format")
    if any(w in REPEAT for w in sc.s.split()):
        sc.repeat = True
    leftover = [w for w in sc.s.split() if w not in FILLER and w not in PERIODS]
    if leftover:
        return When(INVALID, problem="format")

    base = When(INVALID, zone=tz_name, named_zone=named is not None)
    result = _combine(parts, sc.repeat, today, base, mode)
    if isinstance(result, When):
        if result.status == OK and at is None:
            return replace(result, status=NEED_TIME)
        return result if result.status != OK else replace(result, at=at)
    day, policy = result
    if mode == "repeat":
        return replace(base, problem="repeat_only")
    if at is None:
        return replace(base, status=NEED_TIME, kind=ONCE, on_date=day)
    w = replace(base, status=OK, kind=ONCE, at=at, on_date=day)
    if w.moment > local_now:
        return w
    if policy == "roll7":  # "kamis jam 7" said on a Thursday after 7: next week
        return replace(w, on_date=day + timedelta(days=7))
    if policy == "rollmonth":  # "tgl 5 jam 9" after that: the 5th of next month
        nxt = _month_day(*_add_months(day, 1), day.day if day.day < 29 else LAST_DAY)
        return replace(w, on_date=nxt) if nxt else replace(base, problem="date")
    nxt = {
        "year": _valid_date(day.year + 1, day.month, day.day),
        "day": day + timedelta(days=1),
        "week": day + timedelta(days=7),
        "month": _month_day(*_add_months(day, 1), day.day),
    }.get(policy)
    if nxt is not None and datetime.combine(nxt, at, tzinfo=ZoneInfo(tz_name)) <= local_now:
        nxt = None
    suggestion = _phrase(nxt, at, tz_name if named else None) if nxt else None
    return replace(w, status=PAST, suggestion=suggestion)


def _month_day(y: int, mo: int, day: int) -> date | None:
    return _last_day(y, mo) if day == LAST_DAY else _valid_date(y, mo, day)


def _combine(p: _Parts, repeat: bool, today: date, base: When, mode: str):
    """One meaning: a recurrence (a When without its time yet), or (a single day, what to do
    if that moment has passed), or an INVALID When."""
    weekdays = p.weekdays or set()
    if p.on_date is not None and weekdays and not p.day_qualifier:
        if weekdays != {p.on_date.weekday()}:
            return replace(base, problem="date")  # "Selasa, 30 November 2026" is a Monday
        weekdays = set()
    monthish = p.month_day is not None or p.month_offset is not None
    kinds = sum((p.on_date is not None, p.rel_days is not None, bool(weekdays), p.everyday))
    if kinds + monthish > 1:
        return replace(base, problem="format")

    def recurring(**kw) -> When:
        if mode == "once":
            return replace(base, problem="once_only")
        return replace(base, status=OK, **kw)

    if p.on_date is not None:
        if repeat:
            return replace(base, problem="format")
        return p.on_date, ("year" if not p.explicit_year else "none")
    if p.rel_days is not None:
        if repeat:
            return replace(base, problem="format")
        return today + timedelta(days=p.rel_days), "day" if p.rel_days == 0 else "none"
    if monthish:
        if p.month_offset is None and (repeat or mode == "repeat"):
            return recurring(kind=MONTHLY, day=p.month_day)
        if repeat:
            return replace(base, problem="format")
        y, mo = _add_months(today, p.month_offset or 0)
        target = _month_day(y, mo, p.month_day if p.month_day is not None else today.day)
        if target is None:
            return replace(base, problem="date")
        if p.month_offset is None:
            if target < today:  # "tgl 5" on the 20th: the 5th of next month
                target = _month_day(*_add_months(today, 1), p.month_day or today.day)
                if target is None:
                    return replace(base, problem="date")
            return target, "rollmonth"
        return target, "month" if p.month_offset == 0 else "none"
    if p.everyday:
        return recurring(kind=WEEKLY, days=tuple(range(7)))
    if weekdays:
        one_off = p.day_qualifier is not None or (mode == "once" and not repeat)
        if not one_off:
            return recurring(kind=WEEKLY, days=tuple(sorted(weekdays)))
        if repeat or len(weekdays) != 1:
            return replace(base, problem="format")
        wd = next(iter(weekdays))
        ahead = (wd - today.weekday()) % 7
        if ahead == 0 and p.day_qualifier == "depan":
            ahead = 7  # "Jumat depan" said on a Friday is next week's Friday, never today
        day = today + timedelta(days=ahead)
        return day, "week" if p.day_qualifier == "ini" else ("none" if ahead else "roll7")
    if repeat:
        return recurring(kind=WEEKLY, days=tuple(range(7)))  # "setiap jam 9"
    return today, "day"  # "jam 9": today
