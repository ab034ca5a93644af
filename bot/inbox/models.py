"""Tables of the inbox: received updates and the secrets generated at run time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UTCDateTime, utcnow

# InboxUpdate.status
U_PENDING = "pending"  # stored, not yet taken
U_WORKING = "working"  # taken by ``owner`` until ``lease_until``
U_DONE = "done"  # handled (payload and chat key dropped)
U_FAILED = "failed"  # given up after too many attempts (payload dropped too)


class InboxUpdate(Base):
    """One update as Telegram sent it. Unique on ``update_id``: a redelivery is ignored.

    While not done it keeps the raw JSON (``payload``) and the chat it belongs to
    (``chat_key``: chat id, else the user's id) so that one chat's updates run in order; when
    done both are dropped, and only the id and the times remain until the row is purged.
    """

    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index("ix_inbox_updates_status_update", "status", "update_id"),
        Index("ix_inbox_updates_chat_status", "chat_key", "status"),
        Index("ix_inbox_updates_done_at", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    chat_key: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=U_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))


class RuntimeSecret(Base):
    """A secret the deployment generated itself (e.g. the webhook secret when
    ``WEBHOOK_SECRET`` is not set), shared by every process through the database."""

    __tablename__ = "runtime_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
