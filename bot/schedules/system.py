"""The system schedules (tips, content calendar): their rule, pause flag and audience.

Both fire at a local time of each user (the user's zone, else the OPD's, else the default), so
the audience is grouped by zone and a slot counts once its local time has passed today.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.accounts.models import Opd, User
from bot.config import Settings
from bot.db import Database
from bot.schedules.common import _rule_of, _zone
from bot.schedules.models import PURPOSE_CALENDAR, PURPOSE_TIPS, Schedule
from bot.schedules.recurrence import DAILY, ONCE, WEEKLY, Rule

DEFAULT_TIPS_RULE = Rule(WEEKLY, time(9, 0), days=(0,))  # Monday 09.00 local
DEFAULT_CALENDAR_RULE = Rule(DAILY, time(8, 0))  # every day 08.00 local


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


class SystemSchedules:
    """ScheduleService part: the tips / calendar schedules and who they go to.

    Relies on the service's ``_changed()`` (:mod:`bot.schedules.service`) to announce changes.
    """

    db: Database
    settings: Settings
    clock: Callable[[], datetime]

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
