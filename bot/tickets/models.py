"""Tickets (questions handed to the helpdesk, hacked-account incidents) and their threads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UTCDateTime, utcnow

KIND_QUESTION = "question"
KIND_INCIDENT = "incident"

T_OPEN = "open"  # waiting for the helpdesk (new, or the asker wrote again)
T_ANSWERED = "answered"  # the helpdesk answered; the asker may still continue the thread
T_CLOSED = "closed"

DIR_IN = "in"  # from the asker
DIR_OUT = "out"  # from the helpdesk


class Ticket(Base):
    """One ticket. Its number is its id. Personal texts are scrubbed by /hapusdata."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default=KIND_QUESTION)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=T_OPEN)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_log.id", ondelete="SET NULL"), unique=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    asker_name: Mapped[str | None] = mapped_column(String(200))
    opd_name: Mapped[str | None] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    # incidents: platform key, account handle, what happened, checklist progress
    platform: Mapped[str | None] = mapped_column(String(32))
    account: Mapped[str | None] = mapped_column(String(200))
    situation: Mapped[str | None] = mapped_column(String(32))
    steps: Mapped[dict | None] = mapped_column(JSON)  # {"0": "done" | "blocked", ...}
    helpdesk_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    helpdesk_message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id of the admin
    claimed_name: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketMessage(Base):
    """One message of a ticket's thread, with where it sits in each chat (for replies)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        Index("ix_ticket_messages_helpdesk", "helpdesk_chat_id", "helpdesk_message_id"),
        Index("ix_ticket_messages_asker", "asker_chat_id", "asker_message_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))
    author: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    helpdesk_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    helpdesk_message_id: Mapped[int | None] = mapped_column(BigInteger)
    asker_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    asker_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
