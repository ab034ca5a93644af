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

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dates.scan import (
    LAST_DAY,
    PERIOD_AFTER,
    PERIOD_ALT,
    TIME_WORD,
    Parts,
    Scan,
    add_months,
    month_last_day,
    take_dates,
    take_month_days,
    take_relative,
    take_time,
    take_weekdays,
    valid_date,
)
from bot.dates.words import (
    FILLER,
    PERIODS,
    REPEAT,
    ZONES,
    apply_period,
    zone_label,
)

OK, NEED_TIME, PAST, INVALID = "ok", "need_time", "past", "invalid"
ONCE, WEEKLY, MONTHLY = "once", "weekly", "monthly"
# mode: what the caller can store. "once" (a broadcast, a closing time), "repeat" (the tip
# schedule), "any" (a reminder).
MODES = ("once", "repeat", "any")


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


def _phrase(d: date, at: time, zone: str | None) -> str:
    z = f" {zone_label(zone)}" if zone else ""
    return f"{d.day}/{d.month}/{d.year} jam {at.hour:02d}.{at.minute:02d}{z}"


def parse_when(text: str, now: datetime, zone: str, *, mode: str = "any") -> When:
    """Read ``text`` written at ``now`` (aware) by someone in ``zone`` (IANA)."""
    assert mode in MODES
    if not text or not text.strip() or len(text) > 200:
        return When(INVALID, problem="format")
    sc = Scan(_normalise(text))

    named = sc.take(r"\b(wib|wita|wit)\b")
    if named and sc.has(r"\b(wib|wita|wit)\b"):
        return When(INVALID, problem="format")
    tz_name = ZONES[named.group(1)] if named else zone
    local_now = now.astimezone(ZoneInfo(tz_name))
    today = local_now.date()

    parts = take_dates(sc, today)
    if parts is None:
        return When(INVALID, problem="date")
    at = take_time(sc)
    if at is False:
        return When(INVALID, problem="time")
    loose = re.search(rf"\b({PERIOD_ALT})\b", sc.s)
    if at is not None and loose and not PERIOD_AFTER.search(text.lower()):
        # "nanti malam jam 8", "besok sore pukul 4": the part of the day came first
        hour = apply_period(at.hour, loose.group(1))
        if hour is None:
            return When(INVALID, problem="time")
        at = at.replace(hour=hour)
    if sc.has(rf"\b{TIME_WORD}\s*\d|\d[.:]\d{{2}}\b"):
        return When(INVALID, problem="format")  # a second time: which one?
    if parts.on_date is None and not take_month_days(sc, parts):
        return When(INVALID, problem="format")
    if not take_relative(sc, parts) or not take_weekdays(sc, parts):
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
        nxt = _month_day(*add_months(day, 1), day.day if day.day < 29 else LAST_DAY)
        return replace(w, on_date=nxt) if nxt else replace(base, problem="date")
    nxt = {
        "year": valid_date(day.year + 1, day.month, day.day),
        "day": day + timedelta(days=1),
        "week": day + timedelta(days=7),
        "month": _month_day(*add_months(day, 1), day.day),
    }.get(policy)
    if nxt is not None and datetime.combine(nxt, at, tzinfo=ZoneInfo(tz_name)) <= local_now:
        nxt = None
    suggestion = _phrase(nxt, at, tz_name if named else None) if nxt else None
    return replace(w, status=PAST, suggestion=suggestion)


def _month_day(y: int, mo: int, day: int) -> date | None:
    return month_last_day(y, mo) if day == LAST_DAY else valid_date(y, mo, day)


def _combine(p: Parts, repeat: bool, today: date, base: When, mode: str):
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
        y, mo = add_months(today, p.month_offset or 0)
        target = _month_day(y, mo, p.month_day if p.month_day is not None else today.day)
        if target is None:
            return replace(base, problem="date")
        if p.month_offset is None:
            if target < today:  # "tgl 5" on the 20th: the 5th of next month
                target = _month_day(*add_months(today, 1), p.month_day or today.day)
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
