"""Users and OPDs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, BigIntPK, UTCDateTime, utcnow

ROLE_STAFF = "staff"
ROLE_ADMIN = "admin"
ROLE_ORGANIZER = "organizer"


class Opd(Base):
    __tablename__ = "opds"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str | None] = mapped_column(String(64))
    aliases: Mapped[list | None] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("opds.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_STAFF)
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opds.id", ondelete="SET NULL"))
    opd_other: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    privacy_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tips_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    calendar_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the next free-text message from this user is for (e.g. "opd_other", "name"),
    # kept in the database so a restart does not lose a half-finished dialogue.
    pending: Mapped[str | None] = mapped_column(String(64))
    pending_data: Mapped[dict | None] = mapped_column(JSON)
    # The dialogues this user has open, {kind: token}; a button carries its dialogue's token
    # and is stale once the dialogue finished or a newer one of the same kind replaced it.
    dialogs: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    opd: Mapped[Opd | None] = relationship(lazy="joined")

    @property
    def opd_label(self) -> str | None:
        """The OPD's name; a unit typed by the user under a listed OPD shows both."""
        if self.opd is not None and self.opd_other:
            return f"{self.opd_other} ({self.opd.name})"
        if self.opd is not None:
            return self.opd.name
        return self.opd_other
