"""The content calendar: ``calendar.yaml`` in the knowledge folder.

``events:`` lists national and commemorative days, regional days and moving holidays. Each
event has exactly one date rule:

- ``date: "MM-DD"`` every year, ``day_of_month: 17`` every month;
- ``holiday: <name>``: the date comes from the ``holidays`` package (Indonesia, Indonesian
  names, :mod:`bot.schedules.libdates`); dates it has only estimated are marked "perkiraan";
- ``cycle: {anchor: YYYY-MM-DD, every_days: 210}``: a repeating cycle (Balinese pawukon days
  such as Galungan and Kuningan);
- ``dates:`` per-year ``YYYY-MM-DD`` (one date or a list). Beside ``holiday`` or ``cycle`` it
  overrides that year (when the SKB 3 Menteri differs from the library).

Plus ``lead_days`` (remind this many days before; 0 = on the day), content ``ideas`` and, for
regional days, ``regions`` (ids of the ``regions:`` table, :mod:`bot.schedules.regions`).
:func:`load_calendar` raises :class:`~bot.schedules.yamlfile.ContentError` (with every problem)
when the file is broken.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.schedules import libdates
from bot.schedules.regions import Region, parse_regions
from bot.schedules.yamlfile import (
    SLUG_RE,
    ContentError,
    Problem,
    _read_sections,
    _validate_items,
)

CALENDAR_FILE = "calendar.yaml"

# Event ids travel in button data (64 bytes at most, see handlers.schedules.kalender).
EVENT_ID_MAX = 40
EVENT_NAME_MAX = 100
CYCLE_DAYS_MAX = 400
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


class Cycle(BaseModel):
    """Every ``every_days`` days from ``anchor`` (both ways): the pawukon's 210 days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anchor: dt.date
    every_days: Annotated[int, Field(strict=True, ge=7, le=CYCLE_DAYS_MAX)]

    @field_validator("anchor", mode="before")
    @classmethod
    def _anchor(cls, v: Any) -> dt.date:
        return _parse_iso_date(v)

    def in_year(self, year: int) -> list[dt.date]:
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        k = -((self.anchor - first).days // self.every_days)
        day = self.anchor + timedelta(days=k * self.every_days)
        out = []
        while day <= last:
            if day >= first:
                out.append(day)
            day += timedelta(days=self.every_days)
        return out


class CalendarEvent(BaseModel):
    """A day to prepare content for: fixed each year or month, a library holiday, a cycle,
    or per-year dates (which override a holiday's or a cycle's date in their years)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    date: str | None = None
    day_of_month: Annotated[int, Field(strict=True, ge=1, le=31)] | None = None
    holiday: str | None = None
    cycle: Cycle | None = None
    dates: dict[int, tuple[dt.date, ...]] | None = None
    lead_days: tuple[LeadDay, ...]
    ideas: tuple[str, ...]
    regions: tuple[str, ...] | None = None
    # Where a curator can recheck a regional date or a cycle's anchor (https URLs).
    sources: tuple[str, ...] = ()

    @field_validator("sources")
    @classmethod
    def _sources(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for url in v:
            if not url.startswith("https://") or " " in url:
                raise ValueError(f"sumber {url!r} harus URL https://")
        return v

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError("id harus slug huruf kecil dengan tanda hubung (contoh: hari-pers)")
        if len(v) > EVENT_ID_MAX:
            raise ValueError(f"id terlalu panjang: {len(v)} karakter (maks {EVENT_ID_MAX})")
        return v

    @field_validator("holiday")
    @classmethod
    def _holiday(cls, v: str | None) -> str | None:
        if v is None:
            return None
        key, _ = libdates.split_name(v)
        if key not in libdates.known_keys():
            known = ", ".join(sorted(libdates.known_keys()))
            raise ValueError(
                f"holiday {v!r} tidak dikenal pustaka holidays {libdates.library_version()} "
                f"(nama yang ada: {known})"
            )
        return key

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

    @field_validator("regions", mode="before")
    @classmethod
    def _regions(cls, v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple) or not v:
            raise ValueError("regions harus berupa daftar id wilayah, misalnya [bali]")
        for r in v:
            if not isinstance(r, str) or not SLUG_RE.match(r):
                raise ValueError(f"wilayah {r!r} harus id dari tabel regions (contoh: tabanan)")
        return tuple(v)

    @model_validator(mode="after")
    def _one_rule(self) -> CalendarEvent:
        rules = ("date", "day_of_month", "holiday", "cycle")
        given = [k for k in rules if getattr(self, k) is not None]
        if len(given) > 1 or (not given and self.dates is None):
            found = ", ".join(given) if given else "tidak ada"
            raise ValueError(
                "isi tepat satu dari date / day_of_month / holiday / cycle / dates "
                f"(yang terisi: {found})"
            )
        if given and given[0] in ("date", "day_of_month") and self.dates is not None:
            raise ValueError(
                f"dates hanya boleh bersama holiday atau cycle (sebagai koreksi), bukan {given[0]}"
            )
        return self

    @property
    def kind(self) -> str:
        """``"yearly"``, ``"monthly"``, ``"holiday"``, ``"cycle"`` or ``"dated"``."""
        if self.date is not None:
            return "yearly"
        if self.day_of_month is not None:
            return "monthly"
        if self.holiday is not None:
            return "holiday"
        if self.cycle is not None:
            return "cycle"
        return "dated"

    def dated(self, year: int) -> list[tuple[dt.date, bool]]:
        """``(day, estimated)`` for every day of ``year`` the event falls on, in order.

        The file's ``dates`` for a year win over the library and the cycle; ``estimated`` is
        True only for a library date the library itself marks as estimated.
        """
        if self.dates is not None and year in self.dates:
            return [(d, False) for d in self.dates[year]]
        if self.holiday is not None:
            return [(d.day, d.estimated) for d in libdates.dates_of(self.holiday, year)]
        if self.cycle is not None:
            return [(d, False) for d in self.cycle.in_year(year)]
        return [(d, False) for d in self._fixed(year)]

    def _fixed(self, year: int) -> list[dt.date]:
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
        return []

    def occurrences(self, year: int) -> list[dt.date]:
        """Every day of ``year`` the event falls on, in order (empty when unknown or absent).

        ``"02-29"`` is skipped in non-leap years; a ``day_of_month`` of 29-31 is skipped in
        the months that do not have that day.
        """
        return [d for d, _ in self.dated(year)]

    def estimated(self, day: dt.date) -> bool:
        """Whether the event's date ``day`` is only the library's estimate ("perkiraan")."""
        return any(d == day and est for d, est in self.dated(day.year))

    def known(self, year: int) -> bool:
        """Whether the event's dates of ``year`` are known (a rule, the library or the file)."""
        if self.dates is not None and year in self.dates:
            return True
        if self.holiday is not None:
            return bool(libdates.dates_of(self.holiday, year))
        return self.kind in ("yearly", "monthly", "cycle")

    def years(self) -> list[int]:
        """Years the file gives dates for (``dates``; empty for the other rules)."""
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
    """Events whose dates of ``year`` are unknown (no file date, none in the library)."""
    return [e for e in events if not e.known(year)]


@dataclass(frozen=True)
class CalendarBook:
    """Everything ``calendar.yaml`` holds: the events (file order) and the regions table."""

    events: tuple[CalendarEvent, ...]
    regions: dict[str, Region]


def _calendar_file(knowledge_dir: Path) -> tuple[CalendarBook, list[Problem]]:
    path = Path(knowledge_dir) / CALENDAR_FILE
    items, extras, problems = _read_sections(path, "events", ("regions",))
    regions, more = parse_regions(path, extras.get("regions"))
    problems += more
    if items is None:
        return CalendarBook((), regions), problems
    events, more = _validate_items(path, items, CalendarEvent, "event")
    problems += more
    for event in events:
        for rid in event.regions or ():
            if rid not in regions:
                problems.append(
                    (str(path), f"event '{event.id}': wilayah '{rid}' tidak ada di regions")
                )
    return CalendarBook(tuple(events), regions), problems


def _calendar_events(knowledge_dir: Path) -> tuple[list[CalendarEvent], list[Problem]]:
    book, problems = _calendar_file(Path(knowledge_dir))
    return list(book.events), problems


def load_book(knowledge_dir: Path | str) -> CalendarBook:
    """Events and regions of ``calendar.yaml``; :class:`ContentError` if anything is wrong."""
    book, problems = _calendar_file(Path(knowledge_dir))
    if problems:
        raise ContentError(problems)
    return book


def load_calendar(knowledge_dir: Path | str) -> list[CalendarEvent]:
    """The events of ``calendar.yaml`` in file order; :class:`ContentError` if anything is wrong."""
    return list(load_book(knowledge_dir).events)
