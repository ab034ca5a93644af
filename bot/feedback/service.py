"""Post-training feedback: sessions, answering one question at a time, retention.

Everything here is messenger-agnostic: handlers, the CLI, tests and the bench drive it with a
Telegram user id and get back plain data (:class:`Step`, :class:`SessionView`).

The service is split by concern: the answering flow (:mod:`bot.feedback.answering`, mixed in
here), answer parsing (:mod:`bot.feedback.answers`), codes and the respondent hash
(:mod:`bot.feedback.codes`), the plain views (:mod:`bot.feedback.types`), errors
(:mod:`bot.feedback.errors`), the QR image (:mod:`bot.feedback.qr`) and reports
(:mod:`bot.feedback.report`). This module keeps sessions, roles, reminders and retention.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from bot.accounts.models import ROLE_ADMIN, ROLE_ORGANIZER, ROLE_STAFF, User
from bot.accounts.service import UserService, UserView
from bot.config import Settings
from bot.db import Database
from bot.db.base import utcnow
from bot.feedback.answering import AnsweringFlow
from bot.feedback.answers import strip_controls
from bot.feedback.codes import deep_link, generate_code, normalize_code, respondent_hash
from bot.feedback.errors import NotAllowed, SessionInputError, SessionNotFound
from bot.feedback.models import (
    STATUS_IN_PROGRESS,
    STATUS_SUBMITTED,
    FeedbackResponse,
    FeedbackSession,
)
from bot.feedback.qr import qr_png
from bot.feedback.summary import ReportData, load_report_data
from bot.feedback.templates import (
    DEFAULT_TEMPLATE,
    SurveyTemplate,
    TemplateError,
    clean_topics,
    expand,
    load_template,
    load_templates,
    surveys_dir,
)
from bot.feedback.types import Actor, Participant, SessionListItem, SessionView, session_view

TITLE_MIN, TITLE_MAX = 3, 200
PLACE_MAX = 200
ORGANIZER_MAX = 200


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(strip_controls(str(value)).split())
    if len(value) > limit:
        raise SessionInputError(f"teks terlalu panjang ({len(value)} karakter, maks. {limit})")
    return value or None


class FeedbackService(AnsweringFlow):
    def __init__(self, db: Database, settings: Settings, users: UserService | None = None) -> None:
        self.db = db
        self.settings = settings
        self.users = users or UserService(db, settings)
        # code -> (session id, salt, frozen questionnaire): none of them ever changes
        self._frozen: dict[str, tuple[int, str, dict[str, Any]]] = {}
        self._write_lock = asyncio.Lock() if db.is_sqlite else None

    # -- templates ---------------------------------------------------------------------------
    @property
    def surveys_dir(self) -> Path:
        return surveys_dir(self.settings.resolve_knowledge_dir())

    def templates(self) -> dict[str, SurveyTemplate]:
        return load_templates(self.surveys_dir)

    def template(self, template_id: str = DEFAULT_TEMPLATE) -> SurveyTemplate:
        try:
            return load_template(self.surveys_dir, template_id)
        except TemplateError as exc:
            raise SessionInputError(f"Template kuesioner: {exc}") from None

    # -- roles -------------------------------------------------------------------------------
    async def actor(self, telegram_id: int | None) -> Actor:
        if telegram_id is None:  # the command line: trusted, like an admin
            return Actor(None, None, True, True)
        view = await self.users.get(telegram_id)
        role = view.role if view else None
        is_admin = self.users.is_admin(telegram_id, role)
        return Actor(telegram_id, view.id if view else None, is_admin, role == ROLE_ORGANIZER)

    def can_manage(self, actor: Actor, session: SessionView) -> bool:
        if actor.is_admin:
            return True
        return (
            actor.is_organizer
            and actor.user_id is not None
            and (session.created_by == actor.user_id)
        )

    async def set_organizer(self, target: str, enable: bool = True) -> UserView | None:
        """Make a registered user (Telegram id or @username) an organizer, or back to staff.

        Returns the updated user, or None when no such registered user exists. Admins keep
        their admin role.
        """
        target = target.strip()
        if target.lstrip("-").isdigit():
            view = await self.users.get(int(target))
        else:
            view = await self.users.find_by_username(target)
        if view is None:
            return None
        if view.role == ROLE_ADMIN:
            return view
        return await self.users.set_role(view.telegram_id, ROLE_ORGANIZER if enable else ROLE_STAFF)

    # -- sessions ----------------------------------------------------------------------------
    async def create_session(
        self,
        title: str,
        *,
        starts_on: date | None = None,
        ends_on: date | None = None,
        place: str | None = None,
        organizer_name: str | None = None,
        topics: list[str] | None = None,
        template_id: str = DEFAULT_TEMPLATE,
        anonymous: bool = False,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
        created_by_telegram_id: int | None = None,
    ) -> SessionView:
        title = _clean(title, TITLE_MAX) or ""
        if len(title) < TITLE_MIN:
            raise SessionInputError(f"Judul sesi minimal {TITLE_MIN} karakter.")
        place = _clean(place, PLACE_MAX)
        organizer_name = _clean(organizer_name, ORGANIZER_MAX)
        if starts_on and ends_on and ends_on < starts_on:
            raise SessionInputError("Tanggal selesai tidak boleh sebelum tanggal mulai.")
        if ends_on and not starts_on:
            starts_on = ends_on
        now = utcnow()
        opens_at = opens_at or now
        if closes_at is not None and closes_at <= opens_at:
            raise SessionInputError("Waktu tutup harus setelah waktu buka.")
        tpl = self.template(template_id)
        try:
            topic_list = clean_topics(topics) if topics else list(tpl.default_topics)
        except ValueError as exc:
            raise SessionInputError(f"Daftar materi: {exc}") from None
        try:
            questionnaire = expand(tpl, topic_list)
        except TemplateError as exc:
            raise SessionInputError(f"Kuesioner: {exc}") from None
        created_by = None
        if created_by_telegram_id is not None:
            view = await self.users.get(created_by_telegram_id)
            created_by = view.id if view else None
        for _attempt in range(10):
            code = generate_code()
            try:
                async with self.db.session() as s:
                    if await s.scalar(
                        select(FeedbackSession.id).where(FeedbackSession.code == code)
                    ):
                        continue
                    row = FeedbackSession(
                        code=code,
                        title=title,
                        starts_on=starts_on,
                        ends_on=ends_on,
                        place=place,
                        organizer_name=organizer_name,
                        topics=topic_list,
                        template_id=tpl.id,
                        questionnaire=questionnaire,
                        opens_at=opens_at,
                        closes_at=closes_at,
                        anonymous=anonymous,
                        salt=secrets.token_hex(16),
                        created_by=created_by,
                    )
                    s.add(row)
                    await s.flush()
                    return session_view(row)
            except IntegrityError:
                continue
        raise RuntimeError("tidak bisa membuat kode sesi yang unik")

    async def get_session(self, code: str) -> SessionView | None:
        code_n = normalize_code(code)
        if code_n is None:
            return None
        async with self.db.session() as s:
            row = await s.scalar(select(FeedbackSession).where(FeedbackSession.code == code_n))
            return session_view(row) if row else None

    async def require_session(self, code: str) -> SessionView:
        view = await self.get_session(code)
        if view is None:
            raise SessionNotFound(code=code)
        return view

    async def list_sessions(
        self, actor: Actor | None = None, *, limit: int = 20
    ) -> list[SessionListItem]:
        """Newest first: every session for admins, their own for organizers."""
        async with self.db.session() as s:
            q = select(FeedbackSession).order_by(FeedbackSession.id.desc()).limit(limit)
            if actor is not None and not actor.is_admin:
                if not actor.is_organizer or actor.user_id is None:
                    return []
                q = q.where(FeedbackSession.created_by == actor.user_id)
            rows = (await s.scalars(q)).all()
            if not rows:
                return []
            counts = await s.execute(
                select(FeedbackResponse.session_id, FeedbackResponse.status, func.count())
                .where(FeedbackResponse.session_id.in_([r.id for r in rows]))
                .group_by(FeedbackResponse.session_id, FeedbackResponse.status)
            )
            by: dict[tuple[int, str], int] = {(sid, st): n for sid, st, n in counts.all()}
            return [
                SessionListItem(
                    session_view(r),
                    by.get((r.id, STATUS_SUBMITTED), 0),
                    by.get((r.id, STATUS_IN_PROGRESS), 0),
                )
                for r in rows
            ]

    async def session_item(self, code: str) -> SessionListItem:
        """One session with its response counts."""
        async with self.db.session() as s:
            row = await self._session_row(s, code)
            counts = await s.execute(
                select(FeedbackResponse.status, func.count())
                .where(FeedbackResponse.session_id == row.id)
                .group_by(FeedbackResponse.status)
            )
            by = dict(counts.all())
            return SessionListItem(
                session_view(row), by.get(STATUS_SUBMITTED, 0), by.get(STATUS_IN_PROGRESS, 0)
            )

    async def open_session(self, code: str) -> SessionView:
        """Open now (also re-opens a closed session; a future closing time is kept)."""
        now = utcnow()
        async with self.db.session() as s:
            row = await self._session_row(s, code)
            if row.opens_at is None or row.opens_at > now:
                row.opens_at = now
            if row.closes_at is not None and row.closes_at <= now:
                row.closes_at = None
            await s.flush()
            return session_view(row)

    async def close_session(self, code: str) -> SessionView:
        now = utcnow()
        async with self.db.session() as s:
            row = await self._session_row(s, code)
            if row.closes_at is None or row.closes_at > now:
                row.closes_at = now
            await s.flush()
            return session_view(row)

    def deep_link(self, session: SessionView | str, bot_username: str) -> str:
        code = session if isinstance(session, str) else session.code
        return deep_link(code, bot_username)

    def qr_png(self, session: SessionView, bot_username: str) -> bytes:
        return qr_png(deep_link(session.code, bot_username), session.title, session.code)

    async def _session_row(self, s, code: str) -> FeedbackSession:
        code_n = normalize_code(code)
        row = None
        if code_n is not None:
            row = await s.scalar(select(FeedbackSession).where(FeedbackSession.code == code_n))
        if row is None:
            raise SessionNotFound(code=code)
        return row

    # -- organizers: reminders ---------------------------------------------------------------
    async def unfinished(self, code: str) -> list[Participant]:
        """Participants who opened the questionnaire but did not submit (non-anonymous only).

        Anonymous sessions keep no link to participants, so nobody can be reminded:
        :class:`NotAllowed` with reason ``anonymous``.
        """
        async with self.db.session() as s:
            sess = await self._session_row(s, code)
            if sess.anonymous:
                raise NotAllowed("anonymous", code=sess.code)
            rows = await s.execute(
                select(User.id, User.chat_id, User.name)
                .join(FeedbackResponse, FeedbackResponse.user_id == User.id)
                .where(
                    FeedbackResponse.session_id == sess.id,
                    FeedbackResponse.status == STATUS_IN_PROGRESS,
                    User.is_active.is_(True),
                )
                .order_by(User.id)
            )
            return [Participant(uid, chat, name) for uid, chat, name in rows.all()]

    async def queue_reminders(
        self,
        code: str,
        outbox: Any,
        *,
        text: str,
        buttons: list | None = None,
        creator_user_id: int | None = None,
        creator_chat_id: int | None = None,
    ) -> int:
        """Remind every unfinished participant through the outbox (``bot.outbox``).

        One outbox message per session and day (``dedupe_key``), so pressing "remind" twice on
        the same day does not message anyone twice. Returns how many participants are queued.
        """
        from bot.outbox.models import KIND_SYSTEM, MSG_RUNNING
        from bot.outbox.store import Recipient, buttons_to_json

        people = await self.unfinished(code)
        if not people:
            return 0
        sess = await self.require_session(code)
        day = utcnow().astimezone(self.settings.tz).date().isoformat()
        message_id, _ = await outbox.create_message(
            KIND_SYSTEM,
            text=text,
            buttons=buttons_to_json(buttons) if buttons else None,
            creator_user_id=creator_user_id,
            creator_chat_id=creator_chat_id,
            status=MSG_RUNNING,
            dedupe_key=f"feedback-remind:{sess.code}:{day}",
        )
        await outbox.enqueue(
            message_id, [Recipient(chat_id=p.chat_id, user_id=p.user_id) for p in people]
        )
        return len(people)

    # -- retention ---------------------------------------------------------------------------
    async def purge(self, now: datetime | None = None, days: int | None = None) -> int:
        """Unlink responses not touched for ``feedback_retention_days``: ``user_id`` NULL and
        the respondent hash replaced by a random value. Answers stay for the statistics.
        Returns how many responses were unlinked."""
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=days or self.settings.feedback_retention_days)
        async with self.db.session() as s:
            result = await s.execute(
                update(FeedbackResponse)
                .where(FeedbackResponse.purged_at.is_(None), FeedbackResponse.updated_at < cutoff)
                .values(
                    user_id=None,
                    # unique per response, derived from nothing about the participant
                    respondent_hash=literal("purged-").concat(cast(FeedbackResponse.id, String)),
                    purged_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)

    async def forget(self, telegram_id: int) -> int:
        """Unlink every response of one participant now (for /hapusdata): ``user_id`` NULL and
        the respondent hash replaced, in every session. Answers stay, anonymous. Returns how
        many responses were unlinked."""
        now = utcnow()
        async with self.db.session() as s:
            sessions = (
                await s.execute(
                    select(FeedbackSession.id, FeedbackSession.code, FeedbackSession.salt)
                )
            ).all()
            hashes = [
                (sid, respondent_hash(salt, code, telegram_id, self.settings.feedback_secret))
                for sid, code, salt in sessions
            ]
            n = 0
            for sid, rhash in hashes:
                result = await s.execute(
                    update(FeedbackResponse)
                    .where(
                        FeedbackResponse.session_id == sid,
                        FeedbackResponse.respondent_hash == rhash,
                    )
                    .values(
                        user_id=None,
                        respondent_hash=literal("purged-").concat(
                            cast(FeedbackResponse.id, String)
                        ),
                        purged_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                n += int(result.rowcount or 0)
            return n

    # -- reports -----------------------------------------------------------------------------
    async def report_data(self, code: str) -> ReportData:
        return await load_report_data(self.db, code)
