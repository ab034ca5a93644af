"""Schedules: personal reminders, security tips and content-calendar reminders.

The database holds every schedule; ``Scheduler`` registers them with APScheduler (an
``AsyncIOScheduler`` owned by the core) under deterministic job ids - ``reminder:<id>``,
``tips``, ``calendar``, ``broadcast:<id>`` - rebuilt from the database at start-up and
resynchronised on every change (immediately in this process, and every ``sync_interval``
seconds for changes made by other processes).

A firing never sends anything itself: it turns what is due into outbox rows, idempotently
(unique keys), so a restart never sends one occurrence twice. After downtime a missed
occurrence is sent once if it is still the same local day, otherwise skipped and logged.
Every firing function takes ``now`` so tests drive the clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import delete, func, select

from bot.config import Settings
from bot.db import Database
from bot.models import Opd, User, utcnow
from bot.models.outbox import (
    KIND_CALENDAR,
    KIND_REMINDER,
    KIND_TIP,
    MSG_RUNNING,
    PURPOSE_CALENDAR,
    PURPOSE_REMINDER,
    PURPOSE_TIPS,
    CalendarSent,
    Schedule,
    TipProgress,
)
from bot.outbox.labels import olabel
from bot.outbox.store import OutboxService, Recipient, buttons_to_json
from bot.recurrence import DAILY, ONCE, WEEKLY, Rule, same_local_day
from bot.reminder_parse import ParsedSchedule
from bot.transport import Button

log = logging.getLogger(__name__)

REMINDER_TEXT_MAX = 500
REMINDERS_PER_USER = 20
CHUNK = 900

DEFAULT_TIPS_RULE = Rule(WEEKLY, time(9, 0), days=(0,))  # Monday 09.00 local
DEFAULT_CALENDAR_RULE = Rule(DAILY, time(8, 0))  # every day 08.00 local


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


@dataclass(frozen=True)
class SystemSchedule:
    key: str
    rule: Rule
    paused: bool


@dataclass(frozen=True)
class AudienceUser:
    id: int
    chat_id: int
    tz: str
    created_at: datetime


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


def tip_body_html(text: str) -> str:
    """A tip's plain text (with **bold**) as Telegram HTML."""
    from bot.knowledge.render import render_markdown

    return render_markdown(text)


class ScheduleService:
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

    # -- content -----------------------------------------------------------------------------
    def tips(self) -> list[Any]:
        if self._tips is None:
            from bot.content import load_tips

            self._tips = load_tips(self.knowledge_dir)
        return self._tips

    def events(self) -> list[Any]:
        if self._events is None:
            from bot.content import load_calendar

            self._events = load_calendar(self.knowledge_dir)
        return self._events

    def reload_content(self) -> bool:
        """Re-read tips and calendar; on a broken file keep what is loaded and log why."""
        from bot.content import ContentError, load_calendar, load_tips

        try:
            tips = load_tips(self.knowledge_dir)
            events = load_calendar(self.knowledge_dir)
        except ContentError as exc:
            log.error("tips/calendar not reloaded: %s", exc)
            return False
        self._tips, self._events = tips, events
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

    async def fire_reminder(self, sid: int, now: datetime) -> str:
        """Queue the reminder's latest occurrence at or before ``now`` if not done yet.

        Returns "sent", "skipped" (missed on an earlier local day), "none" (nothing due) or
        "inactive".
        """
        async with self.db.session() as s:
            row = await s.get(Schedule, sid, with_for_update=True)
            if (
                row is None
                or row.purpose != PURPOSE_REMINDER
                or row.paused
                or row.finished_at is not None
            ):
                return "inactive"
            tz_name = _zone(row.timezone, self.settings.timezone)
            tz = ZoneInfo(tz_name)
            rule = _rule_of(row)
            occ = rule.latest_at_or_before(now, tz)
            floor = max(row.since, row.last_occurrence) if row.last_occurrence else row.since
            if occ is None or occ <= floor:
                return "none"
            row.last_occurrence = occ
            if rule.kind == ONCE:
                row.finished_at = now
            if not same_local_day(occ, now, tz):
                log.info(
                    "reminder %s: occurrence %s missed while the bot was down; skipped",
                    sid,
                    occ.isoformat(),
                )
                return "skipped"
            user = await s.get(User, row.user_id) if row.user_id else None
            if user is None or not user.is_active:
                log.info("reminder %s: user inactive, occurrence %s not sent", sid, occ)
                return "skipped"
            text = self.render("reminder_due", text=row.text or "", rule=rule, tz=tz_name)
            mid, created = await self.outbox.create_message(
                KIND_REMINDER,
                text=text,
                creator_user_id=user.id,
                status=MSG_RUNNING,
                dedupe_key=f"reminder:{sid}:{occ.isoformat()}",
                timezone=tz_name,
                session=s,
            )
            if created:
                await self.outbox.enqueue(
                    mid, [Recipient(chat_id=user.chat_id, user_id=user.id)], session=s
                )
        if rule.kind == ONCE:
            self._changed()
        return "sent" if created else "none"

    # -- system schedules (tips, calendar) ---------------------------------------------------
    async def ensure_system(self) -> None:
        """Create the default tips and calendar schedules when missing."""
        defaults = {PURPOSE_TIPS: DEFAULT_TIPS_RULE, PURPOSE_CALENDAR: DEFAULT_CALENDAR_RULE}
        for key, rule in defaults.items():
            async with self.db.session() as s:
                if await s.scalar(select(Schedule.id).where(Schedule.key == key)):
                    continue
            f = rule.to_fields()
            with contextlib.suppress(Exception):  # a concurrent process inserted it first
                async with self.db.session() as s:
                    s.add(
                        Schedule(
                            purpose=key,
                            key=key,
                            kind=f["kind"],
                            days=f["days"],
                            day=f["day"],
                            on_date=f["on_date"],
                            time=f["time"],
                            timezone=None,
                            paused=False,
                            since=self.clock(),
                        )
                    )

    async def system(self, key: str) -> SystemSchedule:
        default = DEFAULT_TIPS_RULE if key == PURPOSE_TIPS else DEFAULT_CALENDAR_RULE
        async with self.db.session() as s:
            row = await s.scalar(select(Schedule).where(Schedule.key == key))
            if row is None:
                return SystemSchedule(key, default, False)
            return SystemSchedule(key, _rule_of(row), row.paused)

    async def set_system(self, key: str, rule: Rule | None, *, paused: bool | None = None):
        """Change the tips / calendar schedule (local time of each user)."""
        if key not in (PURPOSE_TIPS, PURPOSE_CALENDAR):
            raise ValueError(key)
        if rule is not None and rule.kind == ONCE:
            raise ValueError("system schedules repeat")
        await self.ensure_system()
        async with self.db.session() as s:
            row = await s.scalar(select(Schedule).where(Schedule.key == key))
            assert row is not None
            if rule is not None:
                f = rule.to_fields()
                row.kind, row.days, row.day, row.on_date, row.time = (
                    f["kind"],
                    f["days"],
                    f["day"],
                    f["on_date"],
                    f["time"],
                )
            if paused is not None:
                row.paused = paused
            row.updated_at = self.clock()
        self._changed()
        return await self.system(key)

    async def _audience(self, flag) -> list[AudienceUser]:
        async with self.db.session() as s:
            rows = await s.execute(
                select(User.id, User.chat_id, User.timezone, Opd.timezone, User.created_at)
                .outerjoin(Opd, User.opd_id == Opd.id)
                .where(User.is_active.is_(True), flag.is_(True))
                .order_by(User.id)
            )
            default = self.settings.timezone
            return [
                AudienceUser(r[0], r[1], _zone(r[2] or r[3], default), r[4]) for r in rows.all()
            ]

    async def zones_in_use(self) -> list[str]:
        async with self.db.session() as s:
            rows = await s.execute(
                select(User.timezone, Opd.timezone)
                .outerjoin(Opd, User.opd_id == Opd.id)
                .where(User.is_active.is_(True))
                .distinct()
            )
            zones = {_zone(a or b, self.settings.timezone) for a, b in rows.all()}
        zones.add(self.settings.timezone)
        return sorted(zones)

    @staticmethod
    def _slots(
        rule: Rule, users: list[AudienceUser], now: datetime
    ) -> dict[tuple[str, date], list[AudienceUser]]:
        """Users grouped by (zone, local slot date) whose slot is today and has passed."""
        by_zone: dict[str, list[AudienceUser]] = defaultdict(list)
        for u in users:
            by_zone[u.tz].append(u)
        out: dict[tuple[str, date], list[AudienceUser]] = {}
        for zone, members in by_zone.items():
            tz = ZoneInfo(zone)
            today = now.astimezone(tz).date()
            if not rule.matches(today):
                continue
            slot_at = rule.at_on(today, tz)
            if slot_at > now:
                continue
            out[(zone, today)] = members
        return out

    async def run_tips(self, now: datetime) -> int:
        """Queue this slot's tip for every subscribed user whose local tip time has come today.

        Each user gets the first tip (file order) not yet received in their current cycle;
        when every tip was received, a new cycle starts. Returns how many were queued.
        """
        cfg = await self.system(PURPOSE_TIPS)
        if cfg.paused:
            return 0
        tips = self.tips()
        if not tips:
            return 0
        users = await self._audience(User.tips_enabled)
        queued = 0
        for (zone, slot), members in self._slots(cfg.rule, users, now).items():
            slot_at = cfg.rule.at_on(slot, ZoneInfo(zone))
            members = [u for u in members if u.created_at <= slot_at]
            if members:
                queued += await self._queue_tips(slot, members, tips)
        return queued

    async def _queue_tips(self, slot: date, members: list[AudienceUser], tips: list[Any]) -> int:
        ids = [u.id for u in members]
        tip_ids = [t.id for t in tips]
        by_id = {t.id: t for t in tips}
        async with self.db.session() as s:
            done: set[int] = set()
            history: dict[int, list[tuple[str, int]]] = defaultdict(list)
            for chunk in _chunks(ids):
                done |= set(
                    (
                        await s.scalars(
                            select(TipProgress.user_id).where(
                                TipProgress.user_id.in_(chunk), TipProgress.slot == slot
                            )
                        )
                    ).all()
                )
                for uid, tid, cyc in (
                    await s.execute(
                        select(TipProgress.user_id, TipProgress.tip_id, TipProgress.cycle).where(
                            TipProgress.user_id.in_(chunk)
                        )
                    )
                ).all():
                    history[uid].append((tid, cyc))
            todo = [u for u in members if u.id not in done]
            if not todo:
                return 0
            mid, _ = await self.outbox.create_message(
                KIND_TIP, text="", status=MSG_RUNNING, dedupe_key=f"tips:{slot}", session=s
            )
            progress_rows = []
            recipients = []
            for u in todo:
                tip, cycle = next_tip(tip_ids, history.get(u.id, []))
                t = by_id[tip]
                text = self.render("tip", tip=t, body=_html(tip_body_html(t.text)))
                buttons = buttons_to_json(
                    [[Button(olabel("tip_read_more"), callback_data=f"kb:e:{t.entry}:0")]]
                )
                recipients.append(
                    Recipient(chat_id=u.chat_id, user_id=u.id, text=text, buttons=buttons)
                )
                progress_rows.append(
                    {
                        "user_id": u.id,
                        "tip_id": tip,
                        "cycle": cycle,
                        "slot": slot,
                        "message_id": mid,
                        "created_at": self.clock(),
                    }
                )
            for chunk in _chunks(progress_rows, 500):
                await s.execute(self.outbox._insert(TipProgress).on_conflict_do_nothing(), chunk)
            await self.outbox.enqueue(mid, recipients, session=s)
        return len(todo)

    async def run_calendar(self, now: datetime) -> int:
        """Queue "H-n: siapkan konten ..." for every subscribed user whose local reminder
        time has come today. Returns how many were queued."""
        from bot.content import reminders_due

        cfg = await self.system(PURPOSE_CALENDAR)
        if cfg.paused:
            return 0
        events = self.events()
        users = await self._audience(User.calendar_enabled)
        queued = 0
        for (_zone_name, day), members in self._slots(cfg.rule, users, now).items():
            for event, occ, lead in reminders_due(events, day):
                queued += await self._queue_calendar(event, occ, lead, members)
        return queued

    async def _queue_calendar(self, event, occ: date, lead: int, members) -> int:
        ids = [u.id for u in members]
        async with self.db.session() as s:
            done: set[int] = set()
            for chunk in _chunks(ids):
                done |= set(
                    (
                        await s.scalars(
                            select(CalendarSent.user_id).where(
                                CalendarSent.user_id.in_(chunk),
                                CalendarSent.event_id == event.id,
                                CalendarSent.event_date == occ,
                                CalendarSent.lead_days == lead,
                            )
                        )
                    ).all()
                )
            todo = [u for u in members if u.id not in done]
            if not todo:
                return 0
            text = self.render("calendar_reminder", event=event, day=occ, lead=lead)
            mid, _ = await self.outbox.create_message(
                KIND_CALENDAR,
                text=text,
                status=MSG_RUNNING,
                dedupe_key=f"calendar:{event.id}:{occ.isoformat()}:{lead}",
                session=s,
            )
            now = self.clock()
            rows = [
                {
                    "event_id": event.id,
                    "event_date": occ,
                    "lead_days": lead,
                    "user_id": u.id,
                    "message_id": mid,
                    "created_at": now,
                }
                for u in todo
            ]
            for chunk in _chunks(rows, 500):
                await s.execute(self.outbox._insert(CalendarSent).on_conflict_do_nothing(), chunk)
            await self.outbox.enqueue(
                mid, [Recipient(chat_id=u.chat_id, user_id=u.id) for u in todo], session=s
            )
        return len(todo)

    # -- scheduled broadcasts ------------------------------------------------------------------
    async def fire_broadcast(self, message_id: int, now: datetime) -> str:
        """Start a scheduled broadcast whose time has come ("started"); one missed on an
        earlier local day is cancelled ("missed"); otherwise "early" or "inactive"."""
        p = await self.outbox.get(message_id)
        if p is None or p.status != "scheduled" or p.scheduled_at is None:
            return "inactive"
        if p.scheduled_at > now:
            return "early"
        tz = ZoneInfo(_zone(p.timezone, self.settings.timezone))
        if not same_local_day(p.scheduled_at, now, tz):
            log.warning(
                "broadcast %s was scheduled for %s while the bot was down; not sent",
                message_id,
                p.scheduled_at.isoformat(),
            )
            await self.outbox.cancel(message_id, note="missed")
            return "missed"
        total = await self.outbox.start_broadcast(message_id)
        return "inactive" if total is None else "started"

    # -- start-up ----------------------------------------------------------------------------
    async def catch_up(self, now: datetime) -> dict[str, int]:
        """Everything that came due while no process was running the scheduler."""
        out: dict[str, int] = defaultdict(int)
        await self.ensure_system()
        for sid, *_ in await self.active_reminders():
            out["reminder_" + await self.fire_reminder(sid, now)] += 1
        for mid, at, _tz in await self.outbox.scheduled_broadcasts():
            if at is not None and at <= now:
                out["broadcast_" + await self.fire_broadcast(mid, now)] += 1
        out["tips"] = await self._safe(self.run_tips, now)
        out["calendar"] = await self._safe(self.run_calendar, now)
        await self._log_missed_tips(now)
        return dict(out)

    async def _log_missed_tips(self, now: datetime) -> None:
        """Log a tips slot of an earlier day that nobody got (the bot was down): skipped."""
        cfg = await self.system(PURPOSE_TIPS)
        if cfg.paused:
            return
        tz = ZoneInfo(self.settings.timezone)
        today = now.astimezone(tz).date()
        last = cfg.rule.latest_at_or_before(datetime.combine(today, time(0), tzinfo=tz), tz)
        if last is None:
            return
        slot = last.astimezone(tz).date()
        async with self.db.session() as s:
            given = await s.scalar(select(TipProgress.id).where(TipProgress.slot == slot).limit(1))
            subscribers = await s.scalar(
                select(User.id)
                .where(
                    User.is_active.is_(True),
                    User.tips_enabled.is_(True),
                    User.created_at <= last,
                )
                .limit(1)
            )
        if given is None and subscribers is not None:
            log.info("tips of %s were missed while the bot was down; skipped", slot)

    async def _safe(self, fn, now: datetime) -> int:
        try:
            return await fn(now)
        except Exception:
            log.exception("%s failed", getattr(fn, "__name__", fn))
            return 0

    # -- queries for handlers --------------------------------------------------------------------
    async def user_chat(self, user_id: int) -> int | None:
        async with self.db.session() as s:
            return await s.scalar(select(User.chat_id).where(User.id == user_id))


def next_tip(tip_ids: list[str], history: list[tuple[str, int]]) -> tuple[str, int]:
    """The next tip for a user: the first in file order not received in the current cycle."""
    cycle = max((c for _, c in history), default=0)
    seen = {t for t, c in history if c == cycle}
    for tid in tip_ids:
        if tid not in seen:
            return tid, cycle
    return tip_ids[0], cycle + 1


def _html(text: str):
    from bot.templates import html

    return html(text)


# ------------------------------------------------------------------------------------ APScheduler


class Scheduler:
    """APScheduler jobs mirroring the schedules in the database (run by the leader only)."""

    def __init__(
        self,
        service: ScheduleService,
        *,
        clock: Callable[[], datetime] = utcnow,
        sync_interval: float = 30.0,
    ) -> None:
        self.service = service
        self.outbox = service.outbox
        self.clock = clock
        self.sync_interval = sync_interval
        self._sched = None
        self._signatures: dict[str, Any] = {}
        self._sync_lock = asyncio.Lock()
        self._pending_sync: asyncio.Task | None = None
        self._dirty = False

    @property
    def running(self) -> bool:
        return self._sched is not None

    def job_ids(self) -> list[str]:
        if self._sched is None:
            return []
        return sorted(j.id for j in self._sched.get_jobs())

    def next_run(self, job_id: str) -> datetime | None:
        if self._sched is None:
            return None
        job = self._sched.get_job(job_id)
        return job.next_run_time if job else None

    async def start(self, *, catch_up: bool = True) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        if self._sched is not None:
            return
        self._sched = AsyncIOScheduler(
            event_loop=asyncio.get_running_loop(),
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._sched.start()
        self.service.on_change.append(self.request_sync)
        self.outbox.on_schedule_change.append(self.request_sync)
        if catch_up:
            result = await self.service.catch_up(self.clock())
            log.info("scheduler catch-up: %s", result)
        await self.sync()
        self._sched.add_job(
            self.sync, "interval", seconds=self.sync_interval, id="sync", replace_existing=True
        )

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.service.on_change.remove(self.request_sync)
        with contextlib.suppress(ValueError):
            self.outbox.on_schedule_change.remove(self.request_sync)
        if self._pending_sync is not None:
            self._pending_sync.cancel()
            await asyncio.gather(self._pending_sync, return_exceptions=True)
            self._pending_sync = None
        sched, self._sched = self._sched, None
        if sched is not None:
            sched.shutdown(wait=False)
        self._signatures.clear()

    def request_sync(self) -> None:
        """Resync soon (called on every change; coalesced, never misses a change)."""
        if self._sched is None:
            return
        self._dirty = True
        if self._pending_sync is None or self._pending_sync.done():
            self._pending_sync = asyncio.get_running_loop().create_task(self._sync_loop())

    async def _sync_loop(self) -> None:
        while self._dirty and self._sched is not None:
            self._dirty = False
            try:
                await self.sync()
            except Exception:
                log.exception("scheduler resync failed (retried by the periodic sync)")

    async def settle(self) -> None:
        """Wait until requested resyncs are applied."""
        while self._pending_sync is not None and not self._pending_sync.done():
            await asyncio.shield(self._pending_sync)

    async def sync(self) -> None:
        """Make the APScheduler jobs equal to what the database says."""
        if self._sched is None:
            return
        async with self._sync_lock:
            desired: dict[str, tuple[Any, Callable, tuple]] = {}
            for sid, rule, zone, since in await self.service.active_reminders():
                sig = (rule, zone, since)
                desired[f"reminder:{sid}"] = (sig, self._job_reminder, (sid,))
            for mid, at, _tz in await self.outbox.scheduled_broadcasts():
                if at is not None:
                    desired[f"broadcast:{mid}"] = (at, self._job_broadcast, (mid,))
            zones = tuple(await self.service.zones_in_use())
            for key, job in (("tips", self._job_tips), ("calendar", self._job_calendar)):
                cfg = await self.service.system(key)
                if not cfg.paused:
                    desired[key] = ((cfg.rule, zones), job, ())

            sched = self._sched
            for job_id in list(self._signatures):
                if job_id not in desired:
                    with contextlib.suppress(Exception):
                        sched.remove_job(job_id)
                    del self._signatures[job_id]
            for job_id, (sig, func, args) in desired.items():
                if self._signatures.get(job_id) == sig:
                    continue
                trigger = self._trigger(job_id, sig)
                if trigger is None:
                    with contextlib.suppress(Exception):
                        sched.remove_job(job_id)
                    self._signatures.pop(job_id, None)
                    continue
                sched.add_job(func, trigger, args=args, id=job_id, replace_existing=True)
                self._signatures[job_id] = sig

    def _trigger(self, job_id: str, sig: Any):
        if job_id.startswith("broadcast:"):
            from apscheduler.triggers.date import DateTrigger

            at: datetime = sig
            return DateTrigger(run_date=max(at, self.clock()), timezone=UTC)
        if job_id.startswith("reminder:"):
            rule, zone, since = sig
            return RuleTrigger(rule, [zone], not_before=since)
        rule, zones = sig
        return RuleTrigger(rule, list(zones))

    async def _job_reminder(self, sid: int) -> None:
        await self.service.fire_reminder(sid, self.clock())

    async def _job_broadcast(self, mid: int) -> None:
        await self.service.fire_broadcast(mid, self.clock())

    async def _job_tips(self) -> None:
        n = await self.service.run_tips(self.clock())
        log.info("tips queued: %d", n)

    async def _job_calendar(self) -> None:
        n = await self.service.run_calendar(self.clock())
        log.info("calendar reminders queued: %d", n)


class RuleTrigger(BaseTrigger):
    """Fires at a rule's occurrences in each of the given zones (the earliest first)."""

    def __init__(self, rule: Rule, zones: list[str], not_before: datetime | None = None) -> None:
        self.rule = rule
        self.zones = [ZoneInfo(z) for z in zones]
        self.not_before = not_before

    def get_next_fire_time(self, previous_fire_time, now):
        after = previous_fire_time or (now - timedelta(microseconds=1))
        if self.not_before is not None and after < self.not_before:
            after = self.not_before
        found = [self.rule.next_after(after, tz) for tz in self.zones]
        found = [f for f in found if f is not None]
        return min(found) if found else None

    def __str__(self) -> str:
        return f"rule[{self.rule.kind} {self.rule.hhmm}]"
