"""What the content calendar holds for the coming days, and what it does not know yet.

``upcoming`` lists the events of a window (for ``/kalender``); ``date_gaps`` finds the events
whose dates in a window are unknown (no rule, no library date, no file date for that year) or
only estimated by the library ("perkiraan"), for ``opdbot kb check`` and the admins' monthly
notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.schedules.calendar import CalendarEvent

# How far ahead the curators must know the dates (kb check warnings, admin notice).
GAP_HORIZON_DAYS = 120
GAP_UNKNOWN = "unknown"
GAP_ESTIMATED = "estimated"


@dataclass(frozen=True)
class Upcoming:
    event: CalendarEvent
    day: date
    estimated: bool


@dataclass(frozen=True)
class Gap:
    """An event with no date for ``year`` (``unknown``) or only an estimate on ``day``."""

    event: CalendarEvent
    kind: str
    year: int
    day: date | None = None


def upcoming(events: Sequence[CalendarEvent], start: date, days: int) -> list[Upcoming]:
    """Every occurrence from ``start`` to ``start + days`` (inclusive), by date then file order."""
    end = start + timedelta(days=days)
    out: list[tuple[date, int, Upcoming]] = []
    for index, event in enumerate(events):
        for year in range(start.year, end.year + 1):
            for day, estimated in event.dated(year):
                if start <= day <= end:
                    out.append((day, index, Upcoming(event, day, estimated)))
    out.sort(key=lambda r: (r[0], r[1]))
    return [u for _, _, u in out]


def date_gaps(
    events: Sequence[CalendarEvent], today: date, horizon: int = GAP_HORIZON_DAYS
) -> list[Gap]:
    """Events without a confirmed date in the next ``horizon`` days: first those whose dates
    of a year in the window are unknown, then the estimated dates in the window."""
    end = today + timedelta(days=horizon)
    gaps = [
        Gap(event, GAP_UNKNOWN, year)
        for event in events
        for year in range(today.year, end.year + 1)
        if not event.known(year)
    ]
    gaps += [
        Gap(u.event, GAP_ESTIMATED, u.day.year, u.day)
        for u in upcoming(events, today, horizon)
        if u.estimated
    ]
    return gaps


def find(events: Iterable[CalendarEvent], event_id: str) -> CalendarEvent | None:
    return next((e for e in events if e.id == event_id), None)
