"""Schedules: personal reminders, security tips and content-calendar reminders.

The database holds every schedule. :class:`ScheduleService` is the feature's facade: the
personal reminders (add / list / pause / delete) and the tips / calendar content here, the
system schedules and their audience in :mod:`bot.schedules.system`, and the firings that turn
what is due into outbox rows in :mod:`bot.schedules.firing`. The APScheduler loop that calls
those firings on time is :class:`bot.schedules.scheduler.Scheduler`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from bot.accounts.models import User
from bot.config import Settings
from bot.db import Database
from bot.db.base import utcnow
from bot.outbox.store import OutboxService
from bot.schedules.common import _rule_of, _zone
from bot.schedules.firing import Firing
from bot.schedules.models import PURPOSE_REMINDER, Schedule
from bot.schedules.notices import DateNotices
from bot.schedules.parse import ParsedSchedule
from bot.schedules.recurrence import Rule
from bot.schedules.system import SystemSchedules

log = logging.getLogger(__name__)

REMINDER_TEXT_MAX = 500
REMINDERS_PER_USER = 20


@dataclass(frozen=True)
class ReminderView:
    id: int
    user_id: int
    text: str
    rule: Rule
    timezone: str
    paused: bool
    finished: bool
    next_at: datetime | None  # UTC

    @property
    def next_local(self) -> datetime | None:
        return self.next_at.astimezone(ZoneInfo(self.timezone)) if self.next_at else None


class ScheduleService(SystemSchedules, Firing, DateNotices):
    """The schedules feature: personal reminders and the tips / calendar content here; the
    system schedules (:class:`SystemSchedules`), the firings (:class:`Firing`) and the admins'
    notice of unconfirmed dates (:class:`DateNotices`) mixed in."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        outbox: OutboxService,
        *,
        knowledge_dir: Path | None = None,
        render: Callable[..., str] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        from bot.templates import render as default_render

        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.knowledge_dir = knowledge_dir or settings.resolve_knowledge_dir()
        self.render = render or default_render
        self.clock = clock
        self.on_change: list[Callable[[], None]] = []
        self._tips: list[Any] | None = None
        self._events: list[Any] | None = None
        self._regions: dict[str, Any] | None = None
        # The deployment's region (``region_id`` of opd.yaml); None = national days only.
        self.region_id: str | None = None

    # -- content -----------------------------------------------------------------------------
    def tips(self) -> list[Any]:
        if self._tips is None:
            from bot.schedules.tips import load_tips

            self._tips = load_tips(self.knowledge_dir)
        return self._tips

    def events(self) -> list[Any]:
        """Every event of the calendar file (all regions)."""
        if self._events is None:
            from bot.schedules.calendar import load_book
            from bot.schedules.regions import deployment_region

            book = load_book(self.knowledge_dir)
            self._events, self._regions = list(book.events), dict(book.regions)
            self.region_id = deployment_region(self.knowledge_dir)
        return self._events

    def regions(self) -> dict[str, Any]:
        self.events()
        return self._regions or {}

    def region_chain(self) -> tuple[str, ...]:
        """The deployment's region and the regions containing it (innermost first)."""
        from bot.schedules.regions import chain

        return chain(self.regions(), self.region_id)

    def region_events(self) -> list[Any]:
        """The events of the deployment's region: national days and its regional days."""
        from bot.schedules.regions import applies

        here = self.region_chain()
        return [e for e in self.events() if applies(e.regions, here)]

    def region_names(self, event: Any) -> str:
        """The names of an event's regions ("" for a national day)."""
        regions = self.regions()
        return ", ".join(regions[r].name for r in event.regions or () if r in regions)

    def calendar_window(self, today: Any, days: int) -> list[Any]:
        """The deployment's events from ``today`` for ``days`` days (``agenda.Upcoming``)."""
        from bot.schedules.agenda import upcoming

        return upcoming(self.region_events(), today, days)

    def occurrence(self, event_id: str, day: Any) -> Any:
        """``agenda.Upcoming`` for an event of the deployment on ``day``, or None."""
        from bot.schedules.agenda import Upcoming, find

        event = find(self.region_events(), event_id)
        if event is None:
            return None
        for d, estimated in event.dated(day.year):
            if d == day:
                return Upcoming(event, d, estimated)
        return None

    def region_name(self) -> str:
        """The name of the deployment's region ("" when none)."""
        region = self.regions().get(self.region_id or "")
        return region.name if region is not None else ""

    def reload_content(self) -> bool:
        """Re-read tips and calendar; on a broken file keep what is loaded and log why."""
        from bot.schedules.calendar import load_book
        from bot.schedules.regions import deployment_region
        from bot.schedules.tips import load_tips
        from bot.schedules.yamlfile import ContentError

        try:
            tips = load_tips(self.knowledge_dir)
            book = load_book(self.knowledge_dir)
        except ContentError as exc:
            log.error("tips/calendar not reloaded: %s", exc)
            return False
        self._tips, self._events, self._regions = tips, list(book.events), dict(book.regions)
        self.region_id = deployment_region(self.knowledge_dir)
        return True

    def _changed(self) -> None:
        for hook in list(self.on_change):
            try:
                hook()
            except Exception:
                log.exception("schedule change listener failed")

    # -- personal reminders ------------------------------------------------------------------
    def _view(self, s: Schedule) -> ReminderView:
        rule = _rule_of(s)
        tz = _zone(s.timezone, self.settings.timezone)
        nxt = None
        if not s.paused and s.finished_at is None:
            nxt = rule.next_after(max(self.clock(), s.since), ZoneInfo(tz))
        return ReminderView(
            id=s.id,
            user_id=s.user_id or 0,
            text=s.text or "",
            rule=rule,
            timezone=tz,
            paused=s.paused,
            finished=s.finished_at is not None,
            next_at=nxt,
        )

    async def add_reminder(
        self, user_id: int, text: str, parsed: ParsedSchedule, user_tz: str
    ) -> tuple[ReminderView | None, str | None]:
        """Create a reminder. Returns (view, None) or (None, problem) where problem is
        "empty", "too_long", "past" or "limit"."""
        text = (text or "").strip()
        if not text:
            return None, "empty"
        if len(text) > REMINDER_TEXT_MAX:
            return None, "too_long"
        tz = _zone(parsed.timezone or user_tz, self.settings.timezone)
        now = self.clock()
        if parsed.rule.next_after(now, ZoneInfo(tz)) is None:
            return None, "past"
        async with self.db.session() as s:
            n = await s.scalar(
                select(func.count(Schedule.id)).where(
                    Schedule.user_id == user_id,
                    Schedule.purpose == PURPOSE_REMINDER,
                    Schedule.finished_at.is_(None),
                )
            )
            if (n or 0) >= REMINDERS_PER_USER:
                return None, "limit"
            f = parsed.rule.to_fields()
            row = Schedule(
                purpose=PURPOSE_REMINDER,
                user_id=user_id,
                text=text,
                kind=f["kind"],
                days=f["days"],
                day=f["day"],
                on_date=f["on_date"],
                time=f["time"],
                timezone=tz,
                paused=False,
                since=now,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            await s.flush()
            view = self._view(row)
        self._changed()
        return view, None

    async def list_reminders(self, user_id: int, *, include_finished: bool = False):
        async with self.db.session() as s:
            q = select(Schedule).where(
                Schedule.user_id == user_id, Schedule.purpose == PURPOSE_REMINDER
            )
            if not include_finished:
                q = q.where(Schedule.finished_at.is_(None))
            rows = (await s.scalars(q.order_by(Schedule.id))).all()
            return [self._view(r) for r in rows]

    async def get_reminder(self, user_id: int, sid: int) -> ReminderView | None:
        async with self.db.session() as s:
            row = await s.get(Schedule, sid)
            if row is None or row.user_id != user_id or row.purpose != PURPOSE_REMINDER:
                return None
            return self._view(row)

    async def set_paused(self, user_id: int, sid: int, paused: bool) -> ReminderView | None:
        now = self.clock()
        async with self.db.session() as s:
            row = await s.get(Schedule, sid)
            if (
                row is None
                or row.user_id != user_id
                or row.purpose != PURPOSE_REMINDER
                or row.finished_at is not None  # a one-off reminder that already went out
            ):
                return None
            if row.paused != paused:
                row.paused = paused
                if not paused:
                    row.since = now  # occurrences during the pause are not made up for
                row.updated_at = now
            await s.flush()
            view = self._view(row)
        self._changed()
        return view

    async def delete_reminder(self, user_id: int, sid: int) -> bool:
        async with self.db.session() as s:
            res = await s.execute(
                delete(Schedule).where(
                    Schedule.id == sid,
                    Schedule.user_id == user_id,
                    Schedule.purpose == PURPOSE_REMINDER,
                )
            )
            ok = res.rowcount > 0
        if ok:
            self._changed()
        return ok

    async def active_reminders(self) -> list[tuple[int, Rule, str, datetime]]:
        """(id, rule, zone, since) of every reminder that may still fire."""
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(Schedule).where(
                        Schedule.purpose == PURPOSE_REMINDER,
                        Schedule.paused.is_(False),
                        Schedule.finished_at.is_(None),
                    )
                )
            ).all()
            return [
                (r.id, _rule_of(r), _zone(r.timezone, self.settings.timezone), r.since)
                for r in rows
            ]

    # -- queries for handlers --------------------------------------------------------------------
    async def user_chat(self, user_id: int) -> int | None:
        async with self.db.session() as s:
            return await s.scalar(select(User.chat_id).where(User.id == user_id))
