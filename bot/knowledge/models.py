"""The question log and what the knowledge base learns from use (phrasings, /celah
decisions, drafts). The helpdesk's tickets live in :mod:`bot.tickets.models`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigIntPK, UTCDateTime, utcnow


class QuestionLog(Base):
    """Every question asked. Survives /hapusdata anonymised (user_id set to NULL)."""

    __tablename__ = "question_log"
    __table_args__ = (Index("ix_question_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opds.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str | None] = mapped_column(Text)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    entry_id: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[float | None] = mapped_column(Float)
    vote: Mapped[int | None] = mapped_column(Integer)  # +1 / -1
    vote_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LearnedPhrasing(Base):
    """A way a user asked for an entry, learned from use (see ``bot.knowledge.learning``).

    ``candidate`` (a user's pick among suggested entries, ``votes`` counting 👍 after it) waits
    for a curator; ``accepted`` joins the search index in every process at once (the
    ``kb_revisions`` counter tells them); ``rejected`` never comes back as a candidate.
    ``exported_at``: written into the entry's file by ``opdbot kb learned --export``.
    """

    __tablename__ = "kb_phrasings"
    __table_args__ = (
        UniqueConstraint("entry_id", "key", name="uq_kb_phrasings_entry_key"),
        Index("ix_kb_phrasings_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(1000))  # folded text, for duplicates
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    source: Mapped[str] = mapped_column(String(16))  # curator | pick | thumbs (👍 after an answer)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_log.id", ondelete="SET NULL")
    )
    decided_by: Mapped[int | None] = mapped_column(BigInteger)  # a curator's Telegram id
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GapMark(Base):
    """A curator's decision on a /celah item: ``scope`` (out of scope: similar questions never
    come back to the report), ``attached`` (made an alternate question of ``entry_id``) or
    ``draft`` (a draft entry was started); the last two hide the questions asked until then."""

    __tablename__ = "kb_gap_marks"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text)  # the normalised question, as /celah groups them
    kind: Mapped[str] = mapped_column(String(16))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_log.id", ondelete="SET NULL")
    )
    entry_id: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DraftEntry(Base):
    """A draft entry started from /celah; ``opdbot kb learned --export`` writes it to
    ``knowledge/drafts/<entry_id>.md`` for a curator to finish."""

    __tablename__ = "kb_drafts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(64), unique=True)
    pillar: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list] = mapped_column(JSON)
    near: Mapped[list] = mapped_column(JSON)  # ids of the closest existing entries
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_log.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbRevision(Base):
    """Counters other processes poll to notice a change (``learned``: accepted phrasings)."""

    __tablename__ = "kb_revisions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
