"""The desk's side of a ticket: claiming, answering, handing over, closing, the asker's
follow-ups and an incident's checklist. Every claim is one conditional UPDATE, so two admins
acting at the same instant (in one process or several) cannot both win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update

from bot.accounts.service import UserView
from bot.tickets.models import (
    DIR_IN,
    DIR_OUT,
    KIND_INCIDENT,
    T_ANSWERED,
    T_CLOSED,
    T_OPEN,
    Ticket,
    TicketMessage,
)
from bot.tickets.views import CLAIM_STALE, TEXT_MAX, Answered, ClaimResult, TicketView


class DeskMixin:
    """Needs ``self.db``, ``self.clock`` and ``self._load`` (see :class:`TicketService`)."""

    # -- the desk ----------------------------------------------------------------------------
    @staticmethod
    def _claimable(admin_id: int, now: datetime, *, takeover: bool):
        mine_or_free = or_(Ticket.claimed_by.is_(None), Ticket.claimed_by == admin_id)
        if not takeover:
            return mine_or_free
        return or_(mine_or_free, Ticket.claimed_at <= now - CLAIM_STALE)

    @classmethod
    async def _guarded_update(
        cls, s, ticket_id: int, admin_id: int, now: datetime, *, takeover: bool = False, **values
    ) -> bool:
        """The one conditional UPDATE every desk action goes through: it changes the ticket
        only while it is open (not closed) and free or held by ``admin_id`` (or held stale,
        with ``takeover``). True when this admin won."""
        res = await s.execute(
            update(Ticket)
            .where(
                Ticket.id == ticket_id,
                Ticket.status != T_CLOSED,
                cls._claimable(admin_id, now, takeover=takeover),
            )
            .values(**values)
        )
        return res.rowcount == 1

    async def claim(
        self, ticket_id: int, admin_id: int, admin_name: str, *, takeover: bool = False
    ) -> ClaimResult:
        """Take a ticket. Fails when another admin holds it (unless ``takeover`` and their
        claim is older than :data:`CLAIM_STALE`) or it is closed."""
        now = self.clock()
        async with self.db.session() as s:
            ok = await self._guarded_update(
                s,
                ticket_id,
                admin_id,
                now,
                takeover=takeover,
                claimed_by=admin_id,
                claimed_name=admin_name[:200],
                claimed_at=now,
                updated_at=now,
            )
            view = await self._load(s, ticket_id)
        return self._claim_result(ok, view)

    @staticmethod
    def _claim_result(ok: bool, view: TicketView | None) -> ClaimResult:
        if ok:
            return ClaimResult(True, view)
        if view is None:
            return ClaimResult(False, None, reason="missing")
        if view.status == T_CLOSED:
            return ClaimResult(False, view, reason="closed")
        return ClaimResult(False, view, holder=view.claimed_name, reason="held")

    async def hand_over(
        self, ticket_id: int, from_id: int, to_id: int, to_name: str
    ) -> ClaimResult:
        """Give a ticket the admin holds (or nobody holds) to another admin."""
        now = self.clock()
        async with self.db.session() as s:
            ok = await self._guarded_update(
                s,
                ticket_id,
                from_id,
                now,
                claimed_by=to_id,
                claimed_name=to_name[:200],
                claimed_at=now,
            )
            view = await self._load(s, ticket_id)
        return self._claim_result(ok, view)

    async def answer(
        self, ticket_id: int, admin_id: int, admin_name: str, text: str
    ) -> tuple[ClaimResult, Answered | None]:
        """Claim (if free) and answer in one transaction; the answer is recorded only when
        this admin holds the ticket."""
        now = self.clock()
        text = text.strip()[:TEXT_MAX]
        async with self.db.session() as s:
            ok = await self._guarded_update(
                s,
                ticket_id,
                admin_id,
                now,
                claimed_by=admin_id,
                claimed_name=admin_name[:200],
                claimed_at=now,
                status=T_ANSWERED,
                answered_at=now,
                updated_at=now,
            )
            if not ok:
                return self._claim_result(False, await self._load(s, ticket_id)), None
            m = TicketMessage(
                ticket_id=ticket_id, direction=DIR_OUT, author=admin_name, text=text, created_at=now
            )
            s.add(m)
            await s.flush()
            view = await self._load(s, ticket_id)
            assert view is not None
            return ClaimResult(True, view), Answered(view, m.id)

    async def follow_up(self, ticket_id: int, user: UserView, text: str) -> Answered | None:
        """The asker wrote again in a ticket's thread: record it and open the ticket again."""
        now = self.clock()
        text = text.strip()[:TEXT_MAX]
        async with self.db.session() as s:
            t = await s.get(Ticket, ticket_id)
            if t is None or t.user_id != user.id or not text:
                return None
            t.status = T_OPEN
            t.closed_at = None
            t.updated_at = now
            m = TicketMessage(
                ticket_id=ticket_id,
                direction=DIR_IN,
                author=user.name,
                text=text,
                asker_chat_id=user.chat_id,
                created_at=now,
            )
            s.add(m)
            await s.flush()
            view = await self._load(s, ticket_id)
            assert view is not None
            return Answered(view, m.id)

    async def close(self, ticket_id: int, admin_id: int, admin_name: str) -> ClaimResult:
        """Close a ticket (the holder, or anyone when nobody holds it)."""
        now = self.clock()
        async with self.db.session() as s:
            ok = await self._guarded_update(
                s,
                ticket_id,
                admin_id,
                now,
                status=T_CLOSED,
                closed_at=now,
                updated_at=now,
                claimed_by=admin_id,
                claimed_name=admin_name[:200],
            )
            view = await self._load(s, ticket_id)
        return self._claim_result(ok, view)

    async def mark_warned(self, ticket_id: int) -> bool:
        """Record that a warning broadcast went out for an incident (once)."""
        async with self.db.session() as s:
            res = await s.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.warned_at.is_(None))
                .values(warned_at=self.clock())
            )
            return res.rowcount == 1

    # -- incidents: the checklist ------------------------------------------------------------
    async def set_step(
        self, ticket_id: int, user: UserView, index: int, state: str
    ) -> TicketView | None:
        async with self.db.session() as s:
            t = await s.get(Ticket, ticket_id)
            if t is None or t.user_id != user.id or t.kind != KIND_INCIDENT:
                return None
            steps = dict(t.steps or {})
            steps[str(index)] = state
            t.steps = steps
            t.updated_at = self.clock()
            await s.flush()
            return await self._load(s, ticket_id)
