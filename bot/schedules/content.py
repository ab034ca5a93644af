"""Curated content beside the knowledge entries: security tips and the content calendar.

Files (in the knowledge folder):

- ``tips.yaml``: ``tips:`` list of ``{id, title, text, entry}``; rotated to users on a schedule.
- ``calendar.yaml``: ``events:`` list of national days, regional days and moving holidays
  (date rules in :mod:`bot.schedules.calendar`) and the ``regions:`` table; the deployment's
  region is ``region_id`` in ``opd.yaml``.

``load_tips`` (:mod:`bot.schedules.tips`) / ``load_calendar`` (:mod:`bot.schedules.calendar`)
raise :class:`~bot.schedules.yamlfile.ContentError` (with every problem) when a file is broken,
so a reload can keep the old content in service. ``check_content`` (here) returns the problems
as ``(file, problem)`` pairs for ``opdbot kb check``; ``check_warnings`` the calendar events
whose dates in the next 120 days are unknown or only estimated (warnings, not problems).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from bot.schedules.calendar import CALENDAR_FILE, _calendar_events, _calendar_file
from bot.schedules.regions import deployment_region
from bot.schedules.tips import TIPS_FILE, _tips
from bot.schedules.yamlfile import Problem


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
    book, calendar_problems = _calendar_file(knowledge_dir)
    problems += calendar_problems
    region = deployment_region(knowledge_dir)
    if region is not None and book.regions and region not in book.regions:
        problems.append(
            (
                str(knowledge_dir / "opd.yaml"),
                f"region_id '{region}' tidak ada di tabel regions {CALENDAR_FILE}",
            )
        )
    problems += _optional_check("bot.feedback.templates", "check_surveys", knowledge_dir)
    problems += _optional_check("bot.accounts.opds", "check_opds", knowledge_dir)
    return problems


def check_warnings(knowledge_dir: Path | str, today: date) -> list[Problem]:
    """``(file, warning)`` for every calendar event with no confirmed date in the next
    120 days: dates of a year not known yet, or only estimated by the library."""
    from bot.schedules.agenda import GAP_HORIZON_DAYS, GAP_UNKNOWN, date_gaps

    knowledge_dir = Path(knowledge_dir)
    events, _ = _calendar_events(knowledge_dir)
    name = str(knowledge_dir / CALENDAR_FILE)
    out: list[Problem] = []
    for gap in date_gaps(events, today):
        e = gap.event
        if gap.kind == GAP_UNKNOWN:
            text = (
                f"event '{e.id}' belum punya tanggal {gap.year} "
                f"({GAP_HORIZON_DAYS} hari ke depan belum terisi); isi dates: {gap.year}: "
                '"YYYY-MM-DD" dari SKB 3 Menteri atau jadwal resmi'
            )
        else:
            text = (
                f"event '{e.id}' tanggal {gap.day.isoformat() if gap.day else gap.year} masih "
                f"perkiraan pustaka holidays; setelah SKB terbit, pastikan atau koreksi lewat "
                f'dates: {gap.year}: "YYYY-MM-DD"'
            )
        out.append((name, text))
    return out
