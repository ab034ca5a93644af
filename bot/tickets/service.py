"""Tickets: every question handed to the helpdesk and every hacked-account incident.

The number of a ticket is its id. A ticket is ``open`` while it waits for the helpdesk (new, or
the asker wrote again), ``answered`` once the helpdesk replied (the asker may still continue the
thread, which opens it again) and ``closed`` when an admin closes it. One admin at a time holds
a ticket (``claimed_by``): the claim is a single conditional UPDATE, so two admins pressing
"Ambil" or answering at the same instant cannot both win, in one process or in several.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update

from bot.accounts.models import User
from bot.accounts.service import UserView
from bot.db import Database
from bot.db.base import utcnow
from bot.knowledge.models import QuestionLog
from bot.tickets.claims import DeskMixin
from bot.tickets.models import (
    DIR_IN,
    KIND_INCIDENT,
    KIND_QUESTION,
    T_ANSWERED,
    T_OPEN,
    Ticket,
    TicketMessage,
)
from bot.tickets.views import (  # noqa: F401 - re-exported for the handlers
    CLAIM_STALE,
    DIGEST_AGE,
    SCRUBBED,
    TEXT_MAX,
    Answered,
    ClaimResult,
    ThreadMessage,
    TicketView,
    _view,
)

log = logging.getLogger(__name__)


class TicketService(DeskMixin):
    def __init__(
        self,
        db: Database,
        helpdesk_chat_id: int | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.helpdesk_chat_id = helpdesk_chat_id
        self.clock = clock
        self.checklists: dict = {}  # platform -> Checklist (bot.tickets.checklists)

    def load_checklists(self, knowledge_dir) -> None:
        from bot.tickets.checklists import load_checklists

        self.checklists = load_checklists(knowledge_dir)

    @property
    def enabled(self) -> bool:
        return self.helpdesk_chat_id is not None

    async def _load(self, s, ticket_id: int, *, new: bool = True) -> TicketView | None:
        row = (
            await s.execute(
                select(Ticket, User.chat_id, User.username)
                .outerjoin(User, Ticket.user_id == User.id)
                .where(Ticket.id == ticket_id)
            )
        ).first()
        if row is None:
            return None
        return _view(row[0], row[1], row[2], new=new)

    async def get(self, ticket_id: int) -> TicketView | None:
        async with self.db.session() as s:
            return await self._load(s, ticket_id)

    # -- opening -----------------------------------------------------------------------------
    async def from_question(self, log_id: int, user: UserView) -> TicketView | None:
        """The ticket for one of the user's logged questions (created once; a double tap
        returns the same ticket with ``new=False``). None when there is no helpdesk or the
        question is not the user's."""
        if self.helpdesk_chat_id is None:
            return None
        async with self.db.session() as s:
            q = await s.get(QuestionLog, log_id)
            if q is None or q.user_id != user.id:
                return None
            old = await s.scalar(select(Ticket.id).where(Ticket.question_id == q.id))
            if old is not None:
                return await self._load(s, old, new=False)
            now = self.clock()
            t = Ticket(
                kind=KIND_QUESTION,
                status=T_OPEN,
                question_id=q.id,
                user_id=user.id,
                asker_name=user.name,
                opd_name=user.opd_name,
                question=q.text[:TEXT_MAX],
                helpdesk_chat_id=self.helpdesk_chat_id,
                created_at=now,
                updated_at=now,
            )
            s.add(t)
            await s.flush()
            s.add(
                TicketMessage(
                    ticket_id=t.id,
                    direction=DIR_IN,
                    author=user.name,
                    text=t.question,
                    asker_chat_id=user.chat_id,
                    created_at=now,
                )
            )
            return _view(t, user.chat_id, user.username)

    async def open_incident(
        self, user: UserView, platform: str, account: str, situation: str, summary: str
    ) -> TicketView:
        now = self.clock()
        async with self.db.session() as s:
            t = Ticket(
                kind=KIND_INCIDENT,
                urgent=True,
                status=T_OPEN,
                user_id=user.id,
                asker_name=user.name,
                opd_name=user.opd_name,
                question=summary[:TEXT_MAX],
                platform=platform,
                account=account[:200],
                situation=situation,
                steps={},
                helpdesk_chat_id=self.helpdesk_chat_id,
                created_at=now,
                updated_at=now,
            )
            s.add(t)
            await s.flush()
            return _view(t, user.chat_id, user.username)

    async def cancel(self, ticket_id: int) -> None:
        """Forget a ticket that could not be delivered to the helpdesk chat."""
        async with self.db.session() as s:
            t = await s.get(Ticket, ticket_id)
            if t is not None:
                await s.delete(t)

    async def set_helpdesk_message(self, ticket_id: int, chat_id: int, message_id: int) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id)
                .values(helpdesk_chat_id=chat_id, helpdesk_message_id=message_id)
            )

    async def set_asker_message(self, ticket_id: int, chat_id: int, message_id: int) -> None:
        """Where the asker sees the ticket (a reply to that message continues the thread)."""
        async with self.db.session() as s:
            row = await s.scalar(
                select(TicketMessage)
                .where(TicketMessage.ticket_id == ticket_id, TicketMessage.direction == DIR_IN)
                .order_by(TicketMessage.id.desc())
                .limit(1)
            )
            if row is not None:
                row.asker_chat_id = chat_id
                row.asker_message_id = message_id

    async def set_message_ids(
        self,
        message_row: int,
        *,
        helpdesk: tuple[int, int] | None = None,
        asker: tuple[int, int] | None = None,
    ) -> None:
        values: dict = {}
        if helpdesk is not None:
            values.update(helpdesk_chat_id=helpdesk[0], helpdesk_message_id=helpdesk[1])
        if asker is not None:
            values.update(asker_chat_id=asker[0], asker_message_id=asker[1])
        if not values:
            return
        async with self.db.session() as s:
            await s.execute(
                update(TicketMessage).where(TicketMessage.id == message_row).values(**values)
            )

    # -- finding -----------------------------------------------------------------------------
    async def by_helpdesk_message(self, chat_id: int, message_id: int) -> TicketView | None:
        """The ticket a helpdesk message belongs to (its card or a forwarded follow-up)."""
        async with self.db.session() as s:
            tid = await s.scalar(
                select(Ticket.id).where(
                    Ticket.helpdesk_chat_id == chat_id, Ticket.helpdesk_message_id == message_id
                )
            )
            if tid is None:
                tid = await s.scalar(
                    select(TicketMessage.ticket_id).where(
                        TicketMessage.helpdesk_chat_id == chat_id,
                        TicketMessage.helpdesk_message_id == message_id,
                    )
                )
            return None if tid is None else await self._load(s, tid)

    async def by_asker_message(self, chat_id: int, message_id: int) -> TicketView | None:
        async with self.db.session() as s:
            tid = await s.scalar(
                select(TicketMessage.ticket_id).where(
                    TicketMessage.asker_chat_id == chat_id,
                    TicketMessage.asker_message_id == message_id,
                )
            )
            return None if tid is None else await self._load(s, tid)

    async def list_open(self, *, limit: int = 10, offset: int = 0) -> tuple[list[TicketView], int]:
        """Tickets waiting for the helpdesk: urgent ones first, then oldest first."""
        async with self.db.session() as s:
            total = await s.scalar(select(func.count(Ticket.id)).where(Ticket.status == T_OPEN))
            rows = (
                await s.execute(
                    select(Ticket, User.chat_id, User.username)
                    .outerjoin(User, Ticket.user_id == User.id)
                    .where(Ticket.status == T_OPEN)
                    .order_by(Ticket.urgent.desc(), Ticket.created_at, Ticket.id)
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            return [_view(t, chat, name) for t, chat, name in rows], int(total or 0)

    async def count_waiting(self) -> int:
        """Answered tickets not closed yet (the asker may still write)."""
        async with self.db.session() as s:
            return int(
                await s.scalar(select(func.count(Ticket.id)).where(Ticket.status == T_ANSWERED))
                or 0
            )

    async def thread(self, ticket_id: int, limit: int = 20) -> list[ThreadMessage]:
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(TicketMessage)
                    .where(TicketMessage.ticket_id == ticket_id)
                    .order_by(TicketMessage.id.desc())
                    .limit(limit)
                )
            ).all()
            return [ThreadMessage(m.direction, m.author, m.text, m.created_at) for m in rows][::-1]

    async def stale_open(self, now: datetime | None = None) -> list[TicketView]:
        """Open tickets older than 24 hours, oldest first (for the daily digest)."""
        now = now or self.clock()
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(Ticket, User.chat_id, User.username)
                    .outerjoin(User, Ticket.user_id == User.id)
                    .where(Ticket.status == T_OPEN, Ticket.created_at <= now - DIGEST_AGE)
                    .order_by(Ticket.created_at, Ticket.id)
                )
            ).all()
            return [_view(t, chat, name) for t, chat, name in rows]

    # -- privacy -----------------------------------------------------------------------------
    async def forget_user(self, user_id: int) -> int:
        """/hapusdata: scrub the texts of the user's tickets and threads (the helpdesk keeps
        only that a ticket existed). Returns how many tickets were scrubbed."""
        async with self.db.session() as s:
            ids = list((await s.scalars(select(Ticket.id).where(Ticket.user_id == user_id))).all())
            if not ids:
                return 0
            await s.execute(
                update(Ticket)
                .where(Ticket.id.in_(ids))
                .values(
                    question=SCRUBBED,
                    asker_name=None,
                    account=None,
                    user_id=None,
                    question_id=None,
                )
            )
            await s.execute(
                update(TicketMessage)
                .where(TicketMessage.ticket_id.in_(ids))
                .values(text=SCRUBBED, author=None, asker_chat_id=None, asker_message_id=None)
            )
            return len(ids)
