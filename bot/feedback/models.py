"""Post-training feedback: sessions, responses and answers.

Organizers are users whose ``users.role`` is ``organizer`` (set by an admin); no extra table.
"""

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

STATUS_IN_PROGRESS = "in_progress"
STATUS_SUBMITTED = "submitted"


class FeedbackSession(Base):
    """One training session and its frozen questionnaire."""

    __tablename__ = "feedback_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    organizer_name: Mapped[str | None] = mapped_column(String(200))
    topics: Mapped[list] = mapped_column(JSON, default=list)
    template_id: Mapped[str] = mapped_column(String(64))
    questionnaire: Mapped[dict] = mapped_column(JSON)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # Random per-session salt for respondent hashes (hex).
    salt: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeedbackResponse(Base):
    """One participant's answers to one session (at most one per participant)."""

    __tablename__ = "feedback_responses"
    __table_args__ = (
        UniqueConstraint(
            "session_id", "respondent_hash", name="uq_feedback_responses_session_respondent"
        ),
        Index("ix_feedback_responses_updated_at", "updated_at"),
        Index("ix_feedback_responses_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("feedback_sessions.id", ondelete="CASCADE"))
    # NULL for anonymous sessions, and after the retention purge.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # sha256(salt, session, telegram id): stops double submission; replaced by a random value
    # when the retention purge unlinks the response.
    respondent_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=STATUS_IN_PROGRESS)
    current_index: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every change: a write based on an older read changes nothing (optimistic lock).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedbackAnswer(Base):
    """One answer: ``value`` (number, choice id or list of ids) and/or free ``text``."""

    __tablename__ = "feedback_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "key", name="uq_feedback_answers_response_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_responses.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(32))
    value: Mapped[object | None] = mapped_column(JSON(none_as_null=True))
    text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
