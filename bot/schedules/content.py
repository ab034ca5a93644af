"""Curated content beside the knowledge entries: security tips and the content calendar.

Files (in the knowledge folder):

- ``tips.yaml``: ``tips:`` list of ``{id, title, text, entry}``; rotated to users on a schedule.
- ``calendar.yaml``: ``events:`` list of national days, regional anniversaries and moving
  holidays. Each event has exactly one of ``date`` (``MM-DD`` every year), ``day_of_month``
  (every month) or ``dates`` (per-year ``YYYY-MM-DD``, one date or a list of dates per year),
  plus ``lead_days`` (remind this many days before; 0 = on the day) and content ``ideas``.

``load_tips`` (:mod:`bot.schedules.tips`) / ``load_calendar`` (:mod:`bot.schedules.calendar`)
raise :class:`~bot.schedules.yamlfile.ContentError` (with every problem) when a file is broken,
so a reload can keep the old content in service. ``check_content`` (here) returns the problems
as ``(file, problem)`` pairs for ``opdbot kb check``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bot.schedules.calendar import _calendar_events
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
    _, calendar_problems = _calendar_events(knowledge_dir)
    problems += calendar_problems
    problems += _optional_check("bot.feedback.templates", "check_surveys", knowledge_dir)
    problems += _optional_check("bot.accounts.opds", "check_opds", knowledge_dir)
    return problems
