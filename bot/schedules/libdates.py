"""Indonesia's national and religious holidays from the maintained ``holidays`` package.

The library (MIT) lists each year's holidays with Indonesian names; dates the SKB 3 Menteri
has not decreed yet carry the library's estimated label ("... (perkiraan)"). A calendar event
names its holiday by the library's name without that label (``holiday: Hari Raya Idul Fitri``),
so the same key finds the decreed and the estimated dates. Lookups are cached per year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

COUNTRY = "ID"
LANGUAGE = "id"
# The years whose names make up the known keys (a key that appears in none of them is a typo).
KEY_YEARS = range(2020, 2041)


@dataclass(frozen=True)
class LibraryDate:
    """One holiday date of the library: its key (name without the estimate label)."""

    day: date
    key: str
    estimated: bool


@lru_cache(maxsize=1)
def _labels() -> tuple[str, str]:
    """(prefix, suffix) around a name in the library's estimated label: ("", " (perkiraan)")."""
    import holidays

    probe = holidays.country_holidays(COUNTRY, language=LANGUAGE, years=2026)
    label = str(probe.tr(probe.estimated_label))
    prefix, _, suffix = label.partition("%s")
    return prefix, suffix


def split_name(name: str) -> tuple[str, bool]:
    """A library name as (key, estimated)."""
    prefix, suffix = _labels()
    name = name.strip()
    if suffix and name.endswith(suffix) and name.startswith(prefix):
        return name[len(prefix) : len(name) - len(suffix)].strip(), True
    return name, False


@lru_cache(maxsize=64)
def year_dates(year: int) -> tuple[LibraryDate, ...]:
    """Every library holiday of ``year``, in date order."""
    import holidays

    found = holidays.country_holidays(COUNTRY, language=LANGUAGE, years=year)
    out: list[LibraryDate] = []
    for day, names in sorted(found.items()):
        # Two holidays on one day are joined with "; " by the library.
        for name in str(names).split("; "):
            key, estimated = split_name(name)
            out.append(LibraryDate(day, key, estimated))
    return tuple(out)


def dates_of(key: str, year: int) -> list[LibraryDate]:
    """The dates of one holiday in ``year`` (empty when the library has none that year)."""
    return [d for d in year_dates(year) if d.key == key]


@lru_cache(maxsize=1)
def known_keys() -> frozenset[str]:
    """Every holiday name the library gives Indonesia in :data:`KEY_YEARS`."""
    return frozenset(d.key for year in KEY_YEARS for d in year_dates(year))


def library_version() -> str:
    import holidays

    return str(getattr(holidays, "__version__", "?"))
