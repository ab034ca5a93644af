"""Every table of every feature. Importing this module registers them all on ``Base.metadata``
(Alembic's env and the tests rely on it)."""

from bot.accounts.models import Opd, User
from bot.db.base import Base
from bot.feedback.models import FeedbackAnswer, FeedbackResponse, FeedbackSession
from bot.inbox.models import InboxUpdate, RuntimeSecret
from bot.knowledge.models import (
    DraftEntry,
    GapMark,
    KbRevision,
    LearnedPhrasing,
    QuestionLog,
)
from bot.outbox.models import BroadcastConfirmation, ConfirmView, Delivery, OutboxMessage
from bot.schedules.models import CalendarSent, Schedule, TipProgress
from bot.tickets.models import Ticket, TicketMessage

__all__ = [
    "Base",
    "BroadcastConfirmation",
    "ConfirmView",
    "CalendarSent",
    "Delivery",
    "DraftEntry",
    "FeedbackAnswer",
    "FeedbackResponse",
    "FeedbackSession",
    "GapMark",
    "InboxUpdate",
    "KbRevision",
    "LearnedPhrasing",
    "Opd",
    "OutboxMessage",
    "QuestionLog",
    "RuntimeSecret",
    "Schedule",
    "Ticket",
    "TicketMessage",
    "TipProgress",
    "User",
]
