"""Small helpers shared by the schedule modules: time zones, rules of rows, chunking."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.schedules.models import Schedule
from bot.schedules.recurrence import Rule

log = logging.getLogger(__name__)

CHUNK = 900


def _zone(name: str | None, fallback: str) -> str:
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown time zone %r; using %s", name, fallback)
    return fallback


def _chunks(items: list, n: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _rule_of(s: Schedule) -> Rule:
    return Rule.from_fields(s.kind, s.time, s.days, s.day, s.on_date)
