"""The durable outbox: messages and one delivery row per recipient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UTCDateTime, utcnow

# OutboxMessage.kind
KIND_BROADCAST = "broadcast"
KIND_REMINDER = "reminder"
KIND_TIP = "tip"
KIND_CALENDAR = "calendar"
KIND_SYSTEM = "system"
MESSAGE_KINDS = (KIND_BROADCAST, KIND_REMINDER, KIND_TIP, KIND_CALENDAR, KIND_SYSTEM)

# OutboxMessage.status
MSG_DRAFT = "draft"
MSG_SCHEDULED = "scheduled"
MSG_RUNNING = "running"
MSG_DONE = "done"
MSG_CANCELLED = "cancelled"

# LeaderLease.name of the process that runs the sender and the scheduler
LEASE_RUNNER = "runner"

# Delivery.status
D_PENDING = "pending"
D_SENDING = "sending"
D_SENT = "sent"
D_BLOCKED = "blocked"
D_FAILED = "failed"
D_CANCELLED = "cancelled"
D_FINAL = (D_SENT, D_BLOCKED, D_FAILED, D_CANCELLED)


class OutboxMessage(Base):
    """Something to send to one or many chats: a broadcast, a due reminder, a tip, ..."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_kind_created", "kind", "created_at"),
        Index("ix_outbox_messages_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=MSG_DRAFT)
    creator_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    creator_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # Content: HTML text, or a copy of an existing message (media and formatting survive).
    text: Mapped[str | None] = mapped_column(Text)
    copy_from_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    copy_message_id: Mapped[int | None] = mapped_column(BigInteger)
    buttons: Mapped[list | None] = mapped_column(JSON)
    # Audience: {"opds": ["slug", ...]} or None for every active user.
    audience: Mapped[dict | None] = mapped_column(JSON)
    # Idempotence for system messages, e.g. "reminder:5:2026-12-01T01:00:00+00:00".
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The admin's live status message (edited with a progress bar while the broadcast runs).
    status_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One message to one chat. The sender claims due rows with a lease."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "chat_id", name="uq_outbox_deliveries_message_chat"),
        Index("ix_outbox_deliveries_due", "status", "next_attempt_at"),
        Index("ix_outbox_deliveries_message_status", "message_id", "status"),
        Index("ix_outbox_deliveries_chat_id", "chat_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # Per-recipient content (e.g. each user's next tip); None = the message's content.
    text: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=D_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due time; while a row is leased ("sending") it equals lease_until, so an expired lease
    # makes the row due again through the same index.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # The leader epoch under which the row was claimed: a row leased under an older epoch than
    # the current leader's is claimable at once (its leader is gone), whatever lease_until says.
    lease_epoch: Mapped[int | None] = mapped_column(BigInteger)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaderLease(Base):
    """Who runs the sender and the scheduler: one row per role, renewed every few seconds.

    ``epoch`` grows by one at every change of holder; every claim and mark of an outbox row
    names the epoch it was made under, and the database refuses it unless that epoch is still
    the lease's (fencing: a leader that was frozen or cut off cannot write after a takeover).
    """

    __tablename__ = "leader_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BroadcastConfirmation(Base):
    """A recipient's "✅ Sudah saya laksanakan" on a broadcast that asks for confirmation."""

    __tablename__ = "broadcast_confirmations"
    __table_args__ = (
        UniqueConstraint("message_id", "chat_id", name="uq_broadcast_confirmations_message_chat"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConfirmView(Base):
    """Where an admin last opened a broadcast's confirmation view, so new confirmations
    update it in place (live)."""

    __tablename__ = "broadcast_confirm_views"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    view_message_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
