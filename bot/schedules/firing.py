"""Firing: what is due becomes outbox rows (reminders, tips, calendar, scheduled broadcasts).

A firing never sends anything itself: it turns what is due into outbox rows, idempotently
(unique keys), so a restart never sends one occurrence twice. An occurrence that could not be
fired on time (the bot was down, the database failed: the scheduler retries with backoff) is
still sent once while it is within its grace window - the same local day, or at most
``MISSED_GRACE`` (6 hours) late, whichever is longer - otherwise it is skipped and logged as a
warning. Every firing function takes ``now`` so tests drive the clock instead of sleeping.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.accounts.models import User
from bot.config import Settings
from bot.db import Database
from bot.outbox.labels import olabel
from bot.outbox.models import KIND_CALENDAR, KIND_REMINDER, KIND_TIP, MSG_RUNNING
from bot.outbox.store import OutboxService, Recipient, buttons_to_json
from bot.schedules.common import _chunks, _rule_of, _zone
from bot.schedules.models import (
    PURPOSE_CALENDAR,
    PURPOSE_REMINDER,
    PURPOSE_TIPS,
    CalendarSent,
    Schedule,
    TipProgress,
)
from bot.schedules.recurrence import ONCE, same_local_day
from bot.schedules.system import AudienceUser
from bot.transport import Button

log = logging.getLogger(__name__)

#: How late an occurrence may still be sent when it is no longer the same local day.
MISSED_GRACE = timedelta(hours=6)


def within_grace(occ: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """Whether an occurrence at ``occ`` that was not fired yet should still go out at ``now``."""
    return same_local_day(occ, now, tz) or now - occ <= MISSED_GRACE


def tip_body_html(text: str) -> str:
    """A tip's plain text (with **bold**) as Telegram HTML."""
    from bot.knowledge.render import render_markdown

    return render_markdown(text)


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


class Firing:
    """ScheduleService part: fire reminders, tips, calendar reminders and broadcasts.

    Relies on the rest of the service: ``tips()`` / ``events()`` (content), ``system()``,
    ``ensure_system()``, ``_audience()``, ``_slots()`` (:mod:`bot.schedules.system`),
    ``active_reminders()`` and ``_changed()`` (:mod:`bot.schedules.service`).
    """

    db: Database
    settings: Settings
    outbox: OutboxService
    render: Callable[..., str]
    clock: Callable[[], datetime]
    notify_date_gaps_logged: Callable[[datetime], Any]

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
            earlier = rule.latest_at_or_before(occ - timedelta(microseconds=1), tz)
            if earlier is not None and earlier > floor:
                log.warning(
                    "reminder %s: occurrence %s was never fired (superseded by %s); skipped",
                    sid,
                    earlier.isoformat(),
                    occ.isoformat(),
                )
            row.last_occurrence = occ
            if rule.kind == ONCE:
                row.finished_at = now
            if not within_grace(occ, now, tz):
                log.warning(
                    "reminder %s: occurrence %s missed (bot down or database unreachable) and "
                    "past its grace window; skipped",
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
        from bot.schedules.calendar import reminders_due

        cfg = await self.system(PURPOSE_CALENDAR)
        if cfg.paused:
            return 0
        events = self.region_events()
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
            text = self.render(
                "calendar_reminder",
                event=event,
                day=occ,
                lead=lead,
                estimated=event.estimated(occ),
                where=self.region_names(event),
            )
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
        if not within_grace(p.scheduled_at, now, tz):
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
    async def catch_up(
        self, now: datetime, *, on_error: Callable[[str], None] | None = None
    ) -> dict[str, int]:
        """Everything that came due while no process was running the scheduler.

        Listing what is due raises when the database fails (the scheduler retries the whole
        catch-up). A single firing that fails is reported as ``on_error(job_id)`` (the
        scheduler retries that job with backoff, under the same grace rule) and counted as
        ``<kind>_error``; without ``on_error`` it is logged and counted the same way.
        """
        out: dict[str, int] = defaultdict(int)
        await self.ensure_system()
        reminders = await self.active_reminders()
        broadcasts = [
            mid for mid, at, _tz in await self.outbox.scheduled_broadcasts() if at and at <= now
        ]
        jobs: list[tuple[str, str, Callable, tuple]] = [
            ("reminder", f"reminder:{sid}", self.fire_reminder, (sid,)) for sid, *_ in reminders
        ]
        jobs += [("broadcast", f"broadcast:{m}", self.fire_broadcast, (m,)) for m in broadcasts]
        jobs += [
            ("tips", "tips", self.run_tips, ()),
            ("calendar", "calendar", self.run_calendar, ()),
        ]
        for kind, job_id, fn, args in jobs:
            try:
                result = await fn(*args, now)
            except Exception:
                log.exception("catch-up of %s failed", job_id)
                out[f"{kind}_error"] += 1
                if on_error is not None:
                    on_error(job_id)
                continue
            if isinstance(result, int):
                out[kind] += result
            else:
                out[f"{kind}_{result}"] += 1
        out.setdefault("tips", 0)
        out.setdefault("calendar", 0)
        try:
            await self._log_missed_tips(now)
        except Exception:
            log.exception("missed tips check failed")
        # At start: the admins' monthly notice of unconfirmed calendar dates (once a month;
        # a failure here is retried by the next daily calendar run).
        out["calendar_gaps"] = await self.notify_date_gaps_logged(now)
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
