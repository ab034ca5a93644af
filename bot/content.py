"""Curated content beside the knowledge entries: security tips and the content calendar.

Files (in the knowledge folder):

- ``tips.yaml``: ``tips:`` list of ``{id, title, text, entry}``; rotated to users on a schedule.
- ``calendar.yaml``: ``events:`` list of national days, regional anniversaries and moving
  holidays. Each event has exactly one of ``date`` (``MM-DD`` every year), ``day_of_month``
  (every month) or ``dates`` (per-year ``YYYY-MM-DD``, one date or a list of dates per year),
  plus ``lead_days`` (remind this many days before; 0 = on the day) and content ``ideas``.

``load_tips`` / ``load_calendar`` raise :class:`ContentError` (with every problem) when a file
is broken, so a reload can keep the old content in service. ``check_content`` returns the
problems as ``(file, problem)`` pairs for ``opdbot kb check``.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import importlib
import re
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

TIPS_FILE = "tips.yaml"
CALENDAR_FILE = "calendar.yaml"

TIP_TEXT_MAX = 500
TIP_TITLE_MAX = 80
EVENT_NAME_MAX = 100
IDEA_MAX = 200
IDEAS_MIN, IDEAS_MAX = 1, 6
LEAD_DAYS_MAX = 60

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TIP_ID_RE = re.compile(r"^tip-[a-z0-9]+(?:-[a-z0-9]+)*$")
MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HTML_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")

Problem = tuple[str, str]


class ContentError(Exception):
    """A content file is missing or broken; ``problems`` lists every ``(file, problem)``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {p}" for f, p in problems))


# --------------------------------------------------------------------------- models


LeadDay = Annotated[int, Field(strict=True, ge=0, le=LEAD_DAYS_MAX)]


class Tip(BaseModel):
    """One security tip, sent to every user once before any tip repeats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    text: str
    entry: str

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not TIP_ID_RE.match(v):
            raise ValueError(
                "id harus slug huruf kecil berawalan 'tip-' (contoh: tip-2fa-aplikasi)"
            )
        return v

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("judul kosong")
        if len(v) > TIP_TITLE_MAX:
            raise ValueError(f"judul terlalu panjang: {len(v)} karakter (maks {TIP_TITLE_MAX})")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("teks kosong")
        if len(v) > TIP_TEXT_MAX:
            raise ValueError(f"teks terlalu panjang: {len(v)} karakter (maks {TIP_TEXT_MAX})")
        if HTML_TAG_RE.search(v):
            raise ValueError("teks berisi tag HTML; pakai teks biasa (boleh **tebal**)")
        if v.count("**") % 2:
            raise ValueError("tanda ** untuk huruf tebal tidak berpasangan")
        return v

    @field_validator("entry")
    @classmethod
    def _entry(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError("entry harus id entri pengetahuan (contoh: keamanan-2fa)")
        return v


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


# --------------------------------------------------------------------------- YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"kunci '{key}' ditulis dua kali",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, top_key: str) -> tuple[list[Any] | None, list[Problem]]:
    """The list under ``top_key``, or ``None`` and the problems that prevent reading it."""
    name = str(path)
    if not path.is_file():
        return None, [(name, "berkas tidak ditemukan")]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [(name, f"tidak bisa dibaca: {exc}")]
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, [(name, _yaml_problem(exc))]
    if not isinstance(data, dict) or top_key not in data:
        return None, [(name, f"isi berkas harus diawali '{top_key}:' berisi daftar")]
    problems: list[Problem] = []
    extra = sorted(str(k) for k in data if k != top_key)
    if extra:
        problems.append((name, f"kunci tingkat atas tidak dikenal: {', '.join(extra)}"))
    items = data[top_key]
    if not isinstance(items, list) or not items:
        problems.append((name, f"'{top_key}' harus berupa daftar yang tidak kosong"))
        return None, problems
    return items, problems


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"YAML tidak valid di baris {mark.line + 1}, kolom {mark.column + 1}: {what}"
    return f"YAML tidak valid: {what}"


_ERROR_TEXT = {
    "missing": "kolom wajib belum diisi",
    "extra_forbidden": "kolom tidak dikenal",
    "string_type": "harus berupa teks",
    "int_type": "harus berupa bilangan bulat",
    "greater_than_equal": "terlalu kecil",
    "less_than_equal": "terlalu besar",
    "tuple_type": "harus berupa daftar",
    "list_type": "harus berupa daftar",
    "dict_type": "harus berupa pasangan tahun: tanggal",
}


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    etype = err.get("type", "")
    if etype == "value_error":
        msg = str(err.get("ctx", {}).get("error", err.get("msg", "")))
    elif etype in ("greater_than_equal", "less_than_equal"):
        ctx = err.get("ctx", {})
        limit = ctx.get("ge", ctx.get("le"))
        msg = f"{_ERROR_TEXT[etype]}: {err.get('input')!r} (batas {limit})"
    else:
        msg = _ERROR_TEXT.get(etype, err.get("msg", "tidak valid"))
    return f"{loc}: {msg}" if loc else msg


def _validate_items(
    path: Path, items: list[Any], model: type[BaseModel], noun: str
) -> tuple[list[Any], list[Problem]]:
    name = str(path)
    problems: list[Problem] = []
    valid: list[Any] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(items, start=1):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"{noun} '{raw_id}'" if isinstance(raw_id, str) and raw_id else f"{noun} ke-{index}"
        if not isinstance(raw, dict):
            problems.append((name, f"{label}: harus berupa mapping (id, ...)"))
            continue
        if isinstance(raw_id, str) and raw_id:
            if raw_id in seen:
                problems.append(
                    (name, f"id ganda '{raw_id}' (butir ke-{seen[raw_id]} dan ke-{index})")
                )
            else:
                seen[raw_id] = index
        try:
            valid.append(model.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append((name, f"{label}: {_describe(err)}"))
    return valid, problems


def _tips(knowledge_dir: Path) -> tuple[list[Tip], list[Problem]]:
    path = Path(knowledge_dir) / TIPS_FILE
    items, problems = _read_yaml(path, "tips")
    if items is None:
        return [], problems
    tips, more = _validate_items(path, items, Tip, "tip")
    return tips, problems + more


def _calendar_events(knowledge_dir: Path) -> tuple[list[CalendarEvent], list[Problem]]:
    path = Path(knowledge_dir) / CALENDAR_FILE
    items, problems = _read_yaml(path, "events")
    if items is None:
        return [], problems
    events, more = _validate_items(path, items, CalendarEvent, "event")
    return events, problems + more


# --------------------------------------------------------------------------- public API


def load_tips(knowledge_dir: Path | str) -> list[Tip]:
    """The tips of ``tips.yaml`` in file order; :class:`ContentError` if anything is wrong."""
    tips, problems = _tips(Path(knowledge_dir))
    if problems:
        raise ContentError(problems)
    return tips


def load_calendar(knowledge_dir: Path | str) -> list[CalendarEvent]:
    """The events of ``calendar.yaml`` in file order; :class:`ContentError` if anything is wrong."""
    events, problems = _calendar_events(Path(knowledge_dir))
    if problems:
        raise ContentError(problems)
    return events


def _optional_check(module_name: str, func_name: str, knowledge_dir: Path) -> list[Problem]:
    """Run ``module.func(knowledge_dir)`` when that module and function exist."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    func: Callable[[Path], Iterable[Any]] | None = getattr(module, func_name, None)
    if not callable(func):
        return []
    try:
        found = func(knowledge_dir)
    except Exception as exc:  # a bug in another checker must not hide our own problems
        return [(str(knowledge_dir), f"{module_name}.{func_name} gagal: {exc!r}")]
    return [(str(f), str(p)) for f, p in (found or [])]


def check_content(knowledge_dir: Path | str, entry_ids: set[str]) -> list[Problem]:
    """Every problem in ``tips.yaml`` and ``calendar.yaml`` (and surveys / OPD list when their
    checkers exist) as ``(file, problem)`` pairs; empty when all is well.

    ``entry_ids`` are the ids of the knowledge entries a tip may link to.
    """
    knowledge_dir = Path(knowledge_dir)
    tips, problems = _tips(knowledge_dir)
    tips_name = str(knowledge_dir / TIPS_FILE)
    for tip in tips:
        if tip.entry not in entry_ids:
            problems.append((tips_name, f"tip '{tip.id}': entry '{tip.entry}' tidak dikenal"))
    _, calendar_problems = _calendar_events(knowledge_dir)
    problems += calendar_problems
    problems += _optional_check("bot.feedback.templates", "check_surveys", knowledge_dir)
    problems += _optional_check("bot.opds", "check_opds", knowledge_dir)
    return problems
