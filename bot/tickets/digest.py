"""The daily digest of tickets that have waited more than 24 hours, sent to the admins.

Only the leader queues it (the process that runs the scheduler and the sender,
``core.background.is_leader``): the job is scheduled in every process, a standby's run returns
at once, and after a takeover the new leader's next run queues what is due. The digest is one
outbox message per local day (its dedupe key is the date), so a takeover in the middle or a
restart never sends it twice, and the outbox delivers it to each admin once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.outbox.models import KIND_SYSTEM, MSG_RUNNING
from bot.outbox.store import Recipient
from bot.templates import render
from bot.tickets.service import TicketView

DIGEST_HOUR = 8  # local time from which the day's digest may go out
DIGEST_SHOWN = 20  # the oldest ones listed; the rest counted (one Telegram message)


@dataclass(frozen=True)
class DigestLine:
    id: int
    urgent: bool
    age: Any
    opd_name: str | None
    claimed_name: str | None
    preview: str


def lines(tickets: list[TicketView], now: datetime) -> list[DigestLine]:
    return [
        DigestLine(t.id, t.urgent, t.age(now), t.opd_name, t.claimed_name, preview(t))
        for t in tickets
    ]


def preview(t: TicketView) -> str:
    if t.is_incident:
        return f"Insiden {t.platform or ''}: {t.account or ''}".strip()
    return " ".join(t.question.split())


async def queue_digest(core: Any, now: datetime) -> int:
    """Queue today's digest when this process leads, it is due and not queued yet. Returns the
    recipients queued."""
    if not core.background.is_leader:
        return 0
    zone = ZoneInfo(core.settings.timezone)
    local = now.astimezone(zone)
    if local.hour < DIGEST_HOUR:
        return 0
    stale = await core.tickets.stale_open(now)
    if not stale:
        return 0
    admins = await core.users.admins()
    recipients = [Recipient(chat_id=a.chat_id, user_id=a.id) for a in admins]
    if not recipients and core.settings.helpdesk_chat_id is not None:
        recipients = [Recipient(chat_id=core.settings.helpdesk_chat_id)]
    if not recipients:
        return 0
    text = render(
        "ticket_digest",
        tickets=lines(stale[:DIGEST_SHOWN], now),
        total=len(stale),
        more=max(0, len(stale) - DIGEST_SHOWN),
    )
    key = f"tickets:digest:{local.date().isoformat()}"
    try:
        async with core.db.session() as s:  # one transaction: the digest and its deliveries
            mid, created = await core.outbox.create_message(
                KIND_SYSTEM, text=text, status=MSG_RUNNING, dedupe_key=key, session=s
            )
            if not created:
                return 0
            await core.outbox.enqueue(mid, recipients, session=s)
    except IntegrityError:  # another process queued today's digest at the same instant
        return 0
    return len(recipients)
