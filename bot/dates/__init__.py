"""Dates and times typed by people: one parser (:func:`parse_when`) for every flow, plus the
calendar-date helpers for training days. Pure functions; no feature knowledge."""

from bot.dates.simple import parse_date, parse_date_range
from bot.dates.when import (
    INVALID,
    LAST_DAY,
    MONTHLY,
    NEED_TIME,
    OK,
    ONCE,
    PAST,
    WEEKLY,
    When,
    parse_when,
)
from bot.dates.words import ZONES, zone_label

__all__ = [
    "INVALID",
    "LAST_DAY",
    "MONTHLY",
    "NEED_TIME",
    "OK",
    "ONCE",
    "PAST",
    "WEEKLY",
    "ZONES",
    "When",
    "parse_date",
    "parse_date_range",
    "parse_when",
    "zone_label",
]
