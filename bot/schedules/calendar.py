"""The content calendar: ``calendar.yaml`` in the knowledge folder.

``events:`` lists national days, regional anniversaries and moving holidays. Each event has
exactly one of ``date`` (``MM-DD`` every year), ``day_of_month`` (every month) or ``dates``
(per-year ``YYYY-MM-DD``, one date or a list of dates per year), plus ``lead_days`` (remind this
many days before; 0 = on the day) and content ``ideas``. :func:`load_calendar` raises
:class:`~bot.schedules.yamlfile.ContentError` (with every problem) when the file is broken.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.schedules.yamlfile import (
    SLUG_RE,
    ContentError,
    Problem,
    _read_yaml,
    _validate_items,
)

CALENDAR_FILE = "calendar.yaml"

EVENT_NAME_MAX = 100
IDEA_MAX = 200
IDEAS_MIN, IDEAS_MAX = 1, 6
LEAD_DAYS_MAX = 60

MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


LeadDay = Annotated[int, Field(strict=True, ge=0, le=LEAD_DAYS_MAX)]


def _parse_iso_date(v: Any) -> date:
    if isinstance(v, date):
        return v
    if isinstance(v, str) and ISO_DATE_RE.match(v.strip()):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ValueError(f"{v!r} bukan tanggal YYYY-MM-DD yang valid")


class CalendarEvent(BaseModel):
    """A day to prepare content for: fixed each year, each month, or on per-year dates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    date: str | None = None
    day_of_month: Annotated[int, Field(strict=True, ge=1, le=31)] | None = None
    dates: dict[int, tuple[dt.date, ...]] | None = None
    lead_days: tuple[LeadDay, ...]
    ideas: tuple[str, ...]
    region: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError("id harus slug huruf kecil dengan tanda hubung (contoh: hari-pers)")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("nama kosong")
        if len(v) > EVENT_NAME_MAX:
            raise ValueError(f"nama terlalu panjang: {len(v)} karakter (maks {EVENT_NAME_MAX})")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def _month_day(cls, v: Any) -> Any:
        if v is None:
            return v
        m = MONTH_DAY_RE.match(v.strip()) if isinstance(v, str) else None
        if not m:
            raise ValueError(f'{v!r} harus berbentuk MM-DD dalam tanda kutip, misalnya "02-09"')
        month, day = int(m.group(1)), int(m.group(2))
        # 2000 is a leap year, so "02-29" is accepted (it is skipped in other years).
        try:
            dt.date(2000, month, day)
        except ValueError:
            raise ValueError(
                f"{v!r} bukan tanggal yang ada (bulan 01-12, hari sesuai bulan)"
            ) from None
        return v.strip()

    @field_validator("dates", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, dict) or not v:
            raise ValueError('dates harus berisi pasangan tahun: "YYYY-MM-DD"')
        out: dict[int, tuple[dt.date, ...]] = {}
        for year, value in v.items():
            if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
                raise ValueError(f"tahun {year!r} tidak valid (contoh: 2026)")
            values = value if isinstance(value, list) else [value]
            if not values:
                raise ValueError(f"tahun {year}: tanggal kosong")
            days = tuple(sorted(_parse_iso_date(x) for x in values))
            for d in days:
                if d.year != year:
                    raise ValueError(f"tanggal {d.isoformat()} tidak berada di tahun {year}")
            if len(set(days)) != len(days):
                raise ValueError(f"tahun {year}: tanggal ganda")
            out[year] = days
        return out

    @field_validator("lead_days")
    @classmethod
    def _lead_days(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("lead_days kosong; isi misalnya [3] (H-3) atau [0] (hari H)")
        if len(set(v)) != len(v):
            raise ValueError("lead_days berisi angka ganda")
        return tuple(sorted(set(v), reverse=True))

    @field_validator("ideas")
    @classmethod
    def _ideas(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        ideas = tuple(i.strip() for i in v)
        if not IDEAS_MIN <= len(ideas) <= IDEAS_MAX:
            raise ValueError(f"ideas harus berisi {IDEAS_MIN}-{IDEAS_MAX} ide konten")
        for i in ideas:
            if not i:
                raise ValueError("ada ide konten yang kosong")
            if len(i) > IDEA_MAX:
                raise ValueError(f"ide konten terlalu panjang: {len(i)} karakter (maks {IDEA_MAX})")
        return ideas

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        if not v:
            raise ValueError("region kosong; hapus kolomnya atau isi null")
        return v

    @model_validator(mode="after")
    def _one_rule(self) -> CalendarEvent:
        given = [k for k in ("date", "day_of_month", "dates") if getattr(self, k) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "tidak ada"
            raise ValueError(
                f"isi tepat satu dari date / day_of_month / dates (yang terisi: {found})"
            )
        return self

    @property
    def kind(self) -> str:
        """``"yearly"``, ``"monthly"`` or ``"dated"``."""
        if self.date is not None:
            return "yearly"
        if self.day_of_month is not None:
            return "monthly"
        return "dated"

    def occurrences(self, year: int) -> list[dt.date]:
        """Every day of ``year`` the event falls on, in order (empty when unknown or absent).

        ``"02-29"`` is skipped in non-leap years; a ``day_of_month`` of 29-31 is skipped in
        the months that do not have that day.
        """
        if self.date is not None:
            month, day = (int(p) for p in self.date.split("-"))
            try:
                return [dt.date(year, month, day)]
            except ValueError:
                return []
        if self.day_of_month is not None:
            return [
                dt.date(year, month, self.day_of_month)
                for month in range(1, 13)
                if self.day_of_month <= _calendar.monthrange(year, month)[1]
            ]
        return list((self.dates or {}).get(year, ()))

    def years(self) -> list[int]:
        """Years with dates, for ``dates`` events (empty for fixed and monthly events)."""
        return sorted(self.dates) if self.dates else []


def reminders_due(
    events: Iterable[CalendarEvent], day: date
) -> list[tuple[CalendarEvent, date, int]]:
    """``(event, occurrence, lead)`` for every reminder that falls on ``day``.

    A reminder falls on ``occurrence - lead`` days; occurrences early in January are reminded
    in December of the year before. Ordered by occurrence, then event id, then lead (largest
    first).
    """
    out: list[tuple[CalendarEvent, date, int]] = []
    for event in events:
        for lead in event.lead_days:
            target = day + timedelta(days=lead)
            if target in event.occurrences(target.year):
                out.append((event, target, lead))
    out.sort(key=lambda r: (r[1], r[0].id, -r[2]))
    return out


def events_without_dates(events: Iterable[CalendarEvent], year: int) -> list[CalendarEvent]:
    """Moving-holiday events (``dates``) that have no date for ``year`` yet: curator to-do."""
    return [e for e in events if e.dates is not None and year not in e.dates]


def _calendar_events(knowledge_dir: Path) -> tuple[list[CalendarEvent], list[Problem]]:
    path = Path(knowledge_dir) / CALENDAR_FILE
    items, problems = _read_yaml(path, "events")
    if items is None:
        return [], problems
    events, more = _validate_items(path, items, CalendarEvent, "event")
    return events, problems + more


def load_calendar(knowledge_dir: Path | str) -> list[CalendarEvent]:
    """The events of ``calendar.yaml`` in file order; :class:`ContentError` if anything is wrong."""
    events, problems = _calendar_events(Path(knowledge_dir))
    if problems:
        raise ContentError(problems)
    return events
