"""All ORM models. Importing this package registers every table on ``Base.metadata``."""

from bot.models.base import Base, utcnow
from bot.models.core import ROLE_ADMIN, ROLE_ORGANIZER, ROLE_STAFF, Opd, QuestionLog, User
from bot.models.feedback import FeedbackAnswer, FeedbackResponse, FeedbackSession  # noqa: F401
from bot.models.knowledge import Handoff  # noqa: F401
from bot.models.outbox import CalendarSent, Delivery, OutboxMessage, Schedule, TipProgress  # noqa: F401,E501

__all__ = [
    "Base",
    "utcnow",
    "Opd",
    "User",
    "QuestionLog",
    "ROLE_ADMIN",
    "ROLE_STAFF",
    "ROLE_ORGANIZER",
]
