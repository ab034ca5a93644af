"""Recurrence rules (weekly, monthly, daily, once) in a local time zone, and their occurrences.

One source of truth for "when is the next / the latest occurrence", used by the APScheduler
triggers, by the catch-up after downtime and by the texts that show the next run.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKLY = "weekly"
MONTHLY = "monthly"
ONCE = "once"
DAILY = "daily"
KINDS = (WEEKLY, MONTHLY, ONCE, DAILY)

# Indonesian zone words and their IANA names.
ZONE_WORDS = {"wib": "Asia/Jakarta", "wita": "Asia/Makassar", "wit": "Asia/Jayapura"}
ZONE_LABELS = {v: k.upper() for k, v in ZONE_WORDS.items()}

_SEARCH_DAYS = 400


def zone_label(tz: str) -> str:
    """WIB / WITA / WIT for Indonesian zones, else the IANA name."""
    return ZONE_LABELS.get(tz, tz)


@dataclass(frozen=True)
class Rule:
    kind: str
    at: time
    days: tuple[int, ...] = field(default=())  # weekly: 0=Monday .. 6=Sunday
    day: int | None = None  # monthly: 1..31, clamped to the month's last day
    on_date: date | None = None  # once

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind}")
        if self.kind == WEEKLY and (not self.days or any(d not in range(7) for d in self.days)):
            raise ValueError("weekly needs days 0..6")
        if self.kind == MONTHLY and (self.day is None or not 1 <= self.day <= 31):
            raise ValueError("monthly needs day 1..31")
        if self.kind == ONCE and self.on_date is None:
            raise ValueError("once needs a date")

    @property
    def hhmm(self) -> str:
        return f"{self.at.hour:02d}:{self.at.minute:02d}"

    def matches(self, d: date) -> bool:
        """Whether the rule fires on local date ``d``."""
        if self.kind == DAILY:
            return True
        if self.kind == WEEKLY:
            return d.weekday() in self.days
        if self.kind == MONTHLY:
            last = calendar.monthrange(d.year, d.month)[1]
            return d.day == min(self.day or 1, last)
        return d == self.on_date

    def at_on(self, d: date, tz: ZoneInfo) -> datetime:
        return datetime.combine(d, self.at, tzinfo=tz)

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first occurrence strictly after ``after`` (aware), in UTC; None if none."""
        local = after.astimezone(tz)
        if self.kind == ONCE:
            assert self.on_date is not None
            dt = self.at_on(self.on_date, tz)
            return dt.astimezone(UTC) if dt > after else None
        d = local.date()
        for _ in range(_SEARCH_DAYS):
            if self.matches(d):
                dt = self.at_on(d, tz)
                if dt > after:
                    return dt.astimezone(UTC)
            d += timedelta(days=1)
        return None

    def latest_at_or_before(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """The last occurrence at or before ``now`` (aware), in UTC; None if none."""
        local = now.astimezone(tz)
        if self.kind == ONCE:
            assert self.on_date is not None
            dt = self.at_on(self.on_date, tz)
            return dt.astimezone(UTC) if dt <= now else None
        d = local.date()
        for _ in range(_SEARCH_DAYS):
            if self.matches(d):
                dt = self.at_on(d, tz)
                if dt <= now:
                    return dt.astimezone(UTC)
            d -= timedelta(days=1)
        return None

    def to_fields(self) -> dict:
        return {
            "kind": self.kind,
            "time": self.hhmm,
            "days": list(self.days) if self.kind == WEEKLY else None,
            "day": self.day if self.kind == MONTHLY else None,
            "on_date": self.on_date if self.kind == ONCE else None,
        }

    @classmethod
    def from_fields(
        cls,
        kind: str,
        time_str: str,
        days: list[int] | None = None,
        day: int | None = None,
        on_date: date | None = None,
    ) -> Rule:
        hh, mm = (int(p) for p in time_str.split(":"))
        return cls(
            kind=kind,
            at=time(hh, mm),
            days=tuple(sorted(set(days or ()))),
            day=day,
            on_date=on_date,
        )


def same_local_day(a: datetime, b: datetime, tz: ZoneInfo) -> bool:
    return a.astimezone(tz).date() == b.astimezone(tz).date()
