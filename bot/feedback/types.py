"""Plain data the feedback core hands out: sessions, steps of the answering flow, actors.

Messenger-agnostic: handlers, the CLI, tests and the bench read these, never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.db.base import utcnow
from bot.feedback.codes import DEEPLINK_PREFIX
from bot.feedback.models import FeedbackSession

SCHEDULED, OPEN, CLOSED = "scheduled", "open", "closed"


@dataclass(frozen=True)
class SessionView:
    id: int
    code: str
    title: str
    starts_on: date | None
    ends_on: date | None
    place: str | None
    organizer_name: str | None
    topics: list[str]
    template_id: str
    questionnaire: dict[str, Any]
    opens_at: datetime | None
    closes_at: datetime | None
    anonymous: bool
    created_by: int | None
    created_at: datetime

    @property
    def questions(self) -> list[dict[str, Any]]:
        return self.questionnaire["questions"]

    @property
    def total(self) -> int:
        return len(self.questions)

    def status(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        if self.closes_at is not None and now >= self.closes_at:
            return CLOSED
        if self.opens_at is not None and now < self.opens_at:
            return SCHEDULED
        return OPEN

    @property
    def is_open(self) -> bool:
        return self.status() == OPEN

    @property
    def deeplink_payload(self) -> str:
        return DEEPLINK_PREFIX + self.code


@dataclass(frozen=True)
class SessionListItem:
    session: SessionView
    submitted: int
    in_progress: int


@dataclass(frozen=True)
class AnswerView:
    value: Any
    text: str | None
    display: str


@dataclass(frozen=True)
class ReviewLine:
    number: int  # 1-based
    short: str
    question: str
    required: bool
    answer: str | None  # display text, None when unanswered


@dataclass(frozen=True)
class Step:
    """What to show the participant next."""

    kind: str  # "question" | "review" | "done"
    session: SessionView
    index: int  # current question index; == total on the review screen
    total: int
    question: dict[str, Any] | None = None
    answer: AnswerView | None = None
    selected: frozenset[str] = frozenset()  # multi: chosen ids
    lines: list[ReviewLine] = field(default_factory=list)
    submitted: bool = False  # the response was submitted before (editing it now)
    new: bool = False  # the response was just created
    resumed: bool = False  # an unfinished response picked up again
    missing: list[int] = field(default_factory=list)  # 1-based numbers of unanswered required

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class Actor:
    """Who is acting on sessions: an admin sees everything, an organizer their own sessions."""

    telegram_id: int | None
    user_id: int | None
    is_admin: bool
    is_organizer: bool

    @property
    def can_organize(self) -> bool:
        return self.is_admin or self.is_organizer


@dataclass(frozen=True)
class Participant:
    user_id: int
    chat_id: int
    name: str | None


def session_view(row: FeedbackSession) -> SessionView:
    return SessionView(
        id=row.id,
        code=row.code,
        title=row.title,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        place=row.place,
        organizer_name=row.organizer_name,
        topics=list(row.topics or []),
        template_id=row.template_id,
        questionnaire=row.questionnaire,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        anonymous=row.anonymous,
        created_by=row.created_by,
        created_at=row.created_at,
    )
