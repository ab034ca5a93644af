"""Schedules (reminders, tips, calendar) and what each user has already received."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UTCDateTime, utcnow

# Schedule.purpose / Schedule.kind
PURPOSE_REMINDER = "reminder"
PURPOSE_TIPS = "tips"
PURPOSE_CALENDAR = "calendar"
SCHED_WEEKLY = "weekly"
SCHED_MONTHLY = "monthly"
SCHED_ONCE = "once"
SCHED_DAILY = "daily"


class Schedule(Base):
    """A personal reminder, or a system schedule (key "tips" / "calendar")."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(16), default=PURPOSE_REMINDER)
    key: Mapped[str | None] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    days: Mapped[list | None] = mapped_column(JSON)  # weekdays 0=Monday .. 6=Sunday
    day: Mapped[int | None] = mapped_column(Integer)  # day of month 1..31 (clamped)
    on_date: Mapped[date | None] = mapped_column(Date)  # for "once"
    time: Mapped[str] = mapped_column(String(5))  # "HH:MM" local
    # IANA zone; None = each recipient's own effective zone (system schedules).
    timezone: Mapped[str | None] = mapped_column(String(64))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Only occurrences after ``since`` count (set on creation and when resumed).
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_occurrence: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TipProgress(Base):
    """Which tip each user got in which slot; every tip once per cycle before any repeats."""

    __tablename__ = "tip_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "tip_id", "cycle", name="uq_tip_progress_user_tip_cycle"),
        UniqueConstraint("user_id", "slot", name="uq_tip_progress_user_slot"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tip_id: Mapped[str] = mapped_column(String(100))
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    slot: Mapped[date] = mapped_column(Date)  # the user's local date of the tip slot
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarSent(Base):
    """A calendar reminder a user was given: never twice for one event, date and lead."""

    __tablename__ = "calendar_sends"
    __table_args__ = (
        UniqueConstraint(
            "event_id", "event_date", "lead_days", "user_id", name="uq_calendar_sends_key"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(100))
    event_date: Mapped[date] = mapped_column(Date)
    lead_days: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
