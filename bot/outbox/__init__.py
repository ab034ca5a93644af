"""The durable outbox: every message the bot sends in bulk, one delivery row per recipient."""

from bot.outbox.leader import Leadership
from bot.outbox.pacing import TokenBucket
from bot.outbox.sender import ProgressReporter, Sender
from bot.outbox.store import Claimed, Content, Counts, OutboxService, Progress, Recipient

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
