"""Registered users and their OPD: the only place that reads or writes the users table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.accounts.models import ROLE_ADMIN, ROLE_ORGANIZER, ROLE_STAFF, Opd, User
from bot.config import Settings
from bot.db import Database
from bot.db.base import utcnow

NAME_MAX = 100
OPD_OTHER_MAX = 150


@dataclass(frozen=True)
class UserView:
    id: int
    telegram_id: int
    chat_id: int
    name: str | None
    username: str | None
    language: str | None
    role: str
    opd_slug: str | None
    opd_name: str | None
    timezone: str
    is_active: bool
    tips_enabled: bool
    calendar_enabled: bool
    privacy_accepted: bool
    pending: str | None
    pending_data: dict | None
    created_at: datetime

    @property
    def has_opd(self) -> bool:
        return self.opd_name is not None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class OpdView:
    id: int
    slug: str
    name: str
    timezone: str | None
    kind: str | None = None
    aliases: tuple[str, ...] = ()
    parent_id: int | None = None


def _opd_view(o: Opd) -> OpdView:
    return OpdView(o.id, o.slug, o.name, o.timezone, o.kind, tuple(o.aliases or ()), o.parent_id)


def clean_text(value: str | None, limit: int) -> str | None:
    """Collapse whitespace and cut to ``limit`` characters; None when nothing is left."""
    if value is None:
        return None
    value = " ".join(value.split())
    return value[:limit] or None


class UserService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        # The deployment's zone and region (from the OPD list): every user gets this zone
        # unless their OPD has its own or they chose another in /profil.
        self.default_timezone: str | None = None
        self.region: str | None = None

    # -- views -------------------------------------------------------------------------------
    def _view(self, u: User) -> UserView:
        tz = (
            u.timezone
            or (u.opd.timezone if u.opd else None)
            or self.default_timezone
            or self.settings.timezone
        )
        role = ROLE_ADMIN if u.telegram_id in self.settings.admin_ids else u.role
        return UserView(
            id=u.id,
            telegram_id=u.telegram_id,
            chat_id=u.chat_id,
            name=u.name,
            username=u.username,
            language=u.language,
            role=role,
            opd_slug=u.opd.slug if u.opd else None,
            opd_name=u.opd_label,
            timezone=tz,
            is_active=u.is_active,
            tips_enabled=u.tips_enabled,
            calendar_enabled=u.calendar_enabled,
            privacy_accepted=u.privacy_accepted_at is not None,
            pending=u.pending,
            pending_data=u.pending_data,
            created_at=u.created_at,
        )

    def is_admin(self, telegram_id: int, role: str | None = None) -> bool:
        return telegram_id in self.settings.admin_ids or role == ROLE_ADMIN

    async def _get_row(self, s, telegram_id: int) -> User | None:
        return await s.scalar(select(User).where(User.telegram_id == telegram_id))

    async def get(self, telegram_id: int) -> UserView | None:
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            return self._view(u) if u else None

    async def get_by_id(self, user_id: int) -> UserView | None:
        async with self.db.session() as s:
            u = await s.get(User, user_id)
            return self._view(u) if u else None

    # -- registration ------------------------------------------------------------------------
    async def register(
        self,
        telegram_id: int,
        chat_id: int,
        name: str | None,
        username: str | None = None,
        language: str | None = None,
        *,
        update_profile: bool = True,
    ) -> tuple[UserView, bool]:
        """Create or refresh the user. Returns (view, created). Idempotent under races."""
        name = clean_text(name, NAME_MAX)
        username = clean_text(username, 64)
        language = clean_text(language, 16)
        for _attempt in range(2):
            try:
                async with self.db.session() as s:
                    u = await self._get_row(s, telegram_id)
                    created = u is None
                    if u is None:
                        u = User(
                            telegram_id=telegram_id,
                            chat_id=chat_id,
                            name=name,
                            username=username,
                            language=language,
                            role=ROLE_ADMIN
                            if telegram_id in self.settings.admin_ids
                            else ROLE_STAFF,
                        )
                        s.add(u)
                    else:
                        u.chat_id = chat_id
                        if update_profile:
                            u.username = username
                            u.language = language or u.language
                            if not u.name:
                                u.name = name
                        if not u.is_active:
                            u.is_active = True
                            u.blocked_at = None
                    await s.flush()
                    await s.refresh(u, ["opd"])
                    return self._view(u), created
            except IntegrityError:
                continue  # a concurrent /start inserted the row first; read it back
        raise RuntimeError("registrasi gagal")

    async def touch(self, telegram_id: int) -> UserView | None:
        """The registered user behind an incoming update, or None when not registered.

        A user who was marked inactive (blocked the bot) and writes again becomes active.
        """
        view = await self.get(telegram_id)
        if view is not None and not view.is_active:
            await self.mark_active(telegram_id)
            view = await self.get(telegram_id)
        return view

    async def accept_privacy(self, telegram_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(User)
                .where(User.telegram_id == telegram_id, User.privacy_accepted_at.is_(None))
                .values(privacy_accepted_at=utcnow())
            )

    # -- OPD ---------------------------------------------------------------------------------
    async def list_opds(self) -> list[OpdView]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(Opd).order_by(Opd.id))).all()
            return [_opd_view(o) for o in rows]

    async def get_opd(self, slug: str) -> OpdView | None:
        async with self.db.session() as s:
            o = await s.scalar(select(Opd).where(Opd.slug == slug))
            return _opd_view(o) if o else None

    async def set_opd(self, telegram_id: int, slug: str) -> UserView | None:
        """Set the user's OPD from the list; None when the slug or user is unknown."""
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            opd = await s.scalar(select(Opd).where(Opd.slug == slug))
            if u is None or opd is None:
                return None
            u.opd_id, u.opd_other, u.opd = opd.id, None, opd
            await s.flush()
            return self._view(u)

    async def set_opd_other(self, telegram_id: int, text: str) -> UserView | None:
        text = clean_text(text, OPD_OTHER_MAX)
        if not text:
            return None
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None:
                return None
            u.opd_id, u.opd, u.opd_other = None, None, text
            await s.flush()
            return self._view(u)

    async def set_unit(self, telegram_id: int, parent_slug: str, unit: str) -> UserView | None:
        """A unit the list does not name (a UPTD, puskesmas, school) under a listed OPD:
        broadcasts to that OPD reach it and it takes the OPD's zone."""
        unit = clean_text(unit, OPD_OTHER_MAX)
        if not unit:
            return None
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            opd = await s.scalar(select(Opd).where(Opd.slug == parent_slug))
            if u is None or opd is None:
                return None
            u.opd_id, u.opd, u.opd_other = opd.id, opd, unit
            await s.flush()
            return self._view(u)

    async def set_name(self, telegram_id: int, name: str) -> UserView | None:
        name = clean_text(name, NAME_MAX)
        if not name:
            return None
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None:
                return None
            u.name = name
            await s.flush()
            return self._view(u)

    async def set_role(self, telegram_id: int, role: str) -> UserView | None:
        if role not in (ROLE_STAFF, ROLE_ORGANIZER, ROLE_ADMIN):
            raise ValueError(role)
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None:
                return None
            u.role = role
            await s.flush()
            return self._view(u)

    async def find_by_username(self, username: str) -> UserView | None:
        username = username.lstrip("@")
        async with self.db.session() as s:
            u = await s.scalar(select(User).where(User.username == username))
            return self._view(u) if u else None

    async def set_subscriptions(
        self, telegram_id: int, *, tips: bool | None = None, calendar: bool | None = None
    ) -> UserView | None:
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None:
                return None
            if tips is not None:
                u.tips_enabled = tips
            if calendar is not None:
                u.calendar_enabled = calendar
            await s.flush()
            return self._view(u)

    async def set_timezone(self, telegram_id: int, tz: str | None) -> UserView | None:
        if tz is not None:
            ZoneInfo(tz)  # raises for unknown zones
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None:
                return None
            u.timezone = tz
            await s.flush()
            return self._view(u)

    # -- free-text dialogue state ------------------------------------------------------------
    async def set_pending(self, telegram_id: int, what: str | None, data: dict | None = None):
        async with self.db.session() as s:
            await s.execute(
                update(User)
                .where(User.telegram_id == telegram_id)
                .values(pending=what, pending_data=data)
            )

    async def pop_pending(self, telegram_id: int) -> tuple[str | None, dict | None]:
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None or u.pending is None:
                return None, None
            what, data = u.pending, u.pending_data
            u.pending, u.pending_data = None, None
            return what, data

    # -- delivery status ---------------------------------------------------------------------
    async def mark_blocked(self, chat_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(User)
                .where(User.chat_id == chat_id, User.is_active.is_(True))
                .values(is_active=False, blocked_at=utcnow())
            )

    async def mark_active(self, telegram_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(User)
                .where(User.telegram_id == telegram_id, User.is_active.is_(False))
                .values(is_active=True, blocked_at=None)
            )

    async def active_recipients(self, opd_slugs: list[str] | None = None) -> list[tuple[int, int]]:
        """(user id, chat id) of every active user, or of those in the given OPDs."""
        async with self.db.session() as s:
            q = select(User.id, User.chat_id).where(User.is_active.is_(True))
            if opd_slugs:
                q = q.join(Opd, User.opd_id == Opd.id).where(Opd.slug.in_(opd_slugs))
            rows = (await s.execute(q.order_by(User.id))).all()
            return [(r[0], r[1]) for r in rows]

    async def count_by_opd(self) -> dict[str, int]:
        from sqlalchemy import func

        async with self.db.session() as s:
            rows = await s.execute(
                select(Opd.slug, func.count(User.id))
                .join(User, User.opd_id == Opd.id)
                .where(User.is_active.is_(True))
                .group_by(Opd.slug)
            )
            return {slug: n for slug, n in rows.all()}

    async def admins(self) -> list[UserView]:
        """Registered, active Diskominfo admins (ADMIN_IDS or the admin role), by name."""
        from sqlalchemy import or_

        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(User).where(
                        User.is_active.is_(True),
                        or_(
                            User.telegram_id.in_(sorted(self.settings.admin_ids) or [0]),
                            User.role == ROLE_ADMIN,
                        ),
                    )
                )
            ).all()
            views = [self._view(u) for u in rows]
        return sorted(views, key=lambda v: ((v.name or "").lower(), v.telegram_id))

    # -- deletion ----------------------------------------------------------------------------
    async def delete_personal_data(self, telegram_id: int) -> bool:
        """Delete the user row; questions stay, anonymised (foreign keys set them to NULL)."""
        async with self.db.session() as s:
            u = await self._get_row(s, telegram_id)
            if u is None:
                return False
            await s.delete(u)
            return True
