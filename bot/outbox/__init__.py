"""The durable outbox: every message the bot sends in bulk, one delivery row per recipient."""

from bot.outbox.claims import Claimed
from bot.outbox.leader import Leadership
from bot.outbox.pacing import TokenBucket
from bot.outbox.progress import Content, Counts, Progress
from bot.outbox.reporter import ProgressReporter
from bot.outbox.sender import Sender
from bot.outbox.store import OutboxService, Recipient

__all__ = [
    "Claimed",
    "Content",
    "Counts",
    "Leadership",
    "OutboxService",
    "Progress",
    "ProgressReporter",
    "Recipient",
    "Sender",
    "TokenBucket",
]
