"""The admins' notice of calendar dates that are not confirmed yet (once a month).

At start-up and with every daily calendar run, the leader checks the deployment's events of
the next 120 days (:func:`bot.schedules.agenda.date_gaps`): dates not known yet, or only
estimated by the library ("perkiraan"). When there are any, the admins get one message through
the outbox. The message's ``dedupe_key`` (``calendar-gaps:YYYY-MM``) is unique in the database:
that row is the record that this month's notice went out, so restarts, catch-ups and several
processes never send it twice in one month.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from bot.accounts.models import ROLE_ADMIN, User
from bot.config import Settings
from bot.db import Database
from bot.outbox.models import KIND_SYSTEM, MSG_RUNNING
from bot.outbox.store import OutboxService, Recipient

log = logging.getLogger(__name__)

GAPS_KEY = "calendar-gaps"


class DateNotices:
    """ScheduleService part: tell the admins which upcoming events lack a confirmed date.

    Relies on the service's ``region_events()`` (:mod:`bot.schedules.service`).
    """

    db: Database
    settings: Settings
    outbox: OutboxService
    render: Callable[..., str]
    region_events: Callable[[], list[Any]]

    def gaps_key(self, now: datetime) -> str:
        month = now.astimezone(ZoneInfo(self.settings.timezone)).strftime("%Y-%m")
        return f"{GAPS_KEY}:{month}"

    async def notify_date_gaps_logged(self, now: datetime) -> int:
        """:meth:`notify_date_gaps`, a failure logged (the next daily run tries again)."""
        try:
            return await self.notify_date_gaps(now)
        except Exception:
            log.exception("calendar: notice of unconfirmed dates failed (retried tomorrow)")
            return 0

    async def notify_date_gaps(self, now: datetime) -> int:
        """Queue this month's notice to the admins if there are gaps and it was not queued
        yet this month. Returns how many admins it was queued for (0 when nothing to do)."""
        from bot.schedules.agenda import GAP_HORIZON_DAYS, GAP_UNKNOWN, date_gaps

        today = now.astimezone(ZoneInfo(self.settings.timezone)).date()
        gaps = date_gaps(self.region_events(), today)
        if not gaps:
            return 0
        key = self.gaps_key(now)
        async with self.db.session() as s:
            admins = (
                await s.execute(
                    select(User.id, User.chat_id)
                    .where(
                        User.is_active.is_(True),
                        or_(
                            User.role == ROLE_ADMIN,
                            User.telegram_id.in_(sorted(self.settings.admin_ids) or [0]),
                        ),
                    )
                    .order_by(User.id)
                )
            ).all()
            if not admins:
                log.info("calendar: dates to confirm, but no registered admin to tell")
                return 0
            text = self.render(
                "calendar_gaps",
                unknown=[g for g in gaps if g.kind == GAP_UNKNOWN],
                estimated=[g for g in gaps if g.kind != GAP_UNKNOWN],
                start=today,
                end=today + timedelta(days=GAP_HORIZON_DAYS),
                horizon=GAP_HORIZON_DAYS,
            )
            mid, created = await self.outbox.create_message(
                KIND_SYSTEM, text=text, status=MSG_RUNNING, dedupe_key=key, session=s
            )
            if not created:
                return 0  # this month's notice went out already
            await self.outbox.enqueue(
                mid, [Recipient(chat_id=chat, user_id=uid) for uid, chat in admins], session=s
            )
        log.info(
            "calendar: %d dates to confirm, notice queued for %d admins", len(gaps), len(admins)
        )
        return len(admins)
