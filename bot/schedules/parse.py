"""Schedules for reminders and tips: the one date parser (:func:`bot.dates.parse_when`) read
into a recurrence :class:`Rule` and the zone it runs in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import MONTHLY, ONCE, When, parse_when
from bot.schedules.recurrence import Rule


@dataclass(frozen=True)
class ParsedSchedule:
    rule: Rule
    timezone: str | None  # IANA zone the rule runs in when the text named one, else None


def schedule_of(when: When, user_zone: str) -> ParsedSchedule:
    """The rule of an understood phrase. A one-off written in another zone ("besok jam 8 WITA")
    is converted to the writer's zone; a recurrence keeps the zone it names."""
    assert when.ok and when.at is not None
    if when.kind == ONCE:
        moment = when.moment
        assert moment is not None
        local = moment.astimezone(ZoneInfo(user_zone))
        return ParsedSchedule(Rule(ONCE, local.time(), on_date=local.date()), None)
    zone = when.zone if when.named_zone else None
    if when.kind == MONTHLY:
        return ParsedSchedule(Rule(MONTHLY, when.at, day=when.day), zone)
    return ParsedSchedule(Rule("weekly", when.at, days=when.days), zone)


def parse_schedule(text: str, now: datetime, mode: str = "any") -> ParsedSchedule | None:
    """A schedule when ``text`` is understood as it stands (no question to ask), else None.
    ``now`` is the writer's aware local time; its zone is the writer's zone."""
    zone = getattr(now.tzinfo, "key", None) or "Asia/Jakarta"
    when = parse_when(text, now, zone, mode=mode)
    return schedule_of(when, zone) if when.ok else None
