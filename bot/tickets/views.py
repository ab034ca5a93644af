"""What the ticket service hands out: plain views of tickets, thread messages, claim results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.tickets.models import KIND_INCIDENT, Ticket

TEXT_MAX = 3500
# A claim nobody acted on for this long may be taken over by another admin.
CLAIM_STALE = timedelta(hours=2)
DIGEST_AGE = timedelta(hours=24)
SCRUBBED = "(dihapus atas permintaan pengguna)"


@dataclass(frozen=True)
class TicketView:
    id: int
    kind: str
    urgent: bool
    status: str
    question: str
    asker_name: str | None
    opd_name: str | None
    user_id: int | None
    asker_chat_id: int | None
    asker_username: str | None
    platform: str | None
    account: str | None
    situation: str | None
    steps: dict
    helpdesk_chat_id: int | None
    helpdesk_message_id: int | None
    claimed_by: int | None
    claimed_name: str | None
    claimed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
    warned_at: datetime | None
    new: bool = True  # False: an existing ticket was returned (a double tap)

    @property
    def is_incident(self) -> bool:
        return self.kind == KIND_INCIDENT

    def age(self, now: datetime) -> timedelta:
        return now - self.created_at


@dataclass(frozen=True)
class ThreadMessage:
    direction: str
    author: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ClaimResult:
    ok: bool
    ticket: TicketView | None
    holder: str | None = None  # who holds it when the claim failed
    reason: str = ""  # "missing" | "closed" | "held"


@dataclass(frozen=True)
class Answered:
    ticket: TicketView
    message_row: int


def _view(
    t: Ticket, asker_chat: int | None, username: str | None = None, *, new: bool = True
) -> TicketView:
    return TicketView(
        id=t.id,
        kind=t.kind,
        urgent=bool(t.urgent),
        status=t.status,
        question=t.question,
        asker_name=t.asker_name,
        opd_name=t.opd_name,
        user_id=t.user_id,
        asker_chat_id=asker_chat,
        asker_username=username,
        platform=t.platform,
        account=t.account,
        situation=t.situation,
        steps=dict(t.steps or {}),
        helpdesk_chat_id=t.helpdesk_chat_id,
        helpdesk_message_id=t.helpdesk_message_id,
        claimed_by=t.claimed_by,
        claimed_name=t.claimed_name,
        claimed_at=t.claimed_at,
        created_at=t.created_at,
        updated_at=t.updated_at,
        answered_at=t.answered_at,
        closed_at=t.closed_at,
        warned_at=t.warned_at,
        new=new,
    )
