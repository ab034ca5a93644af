"""The daily digest of tickets that have waited more than 24 hours, sent to the admins.

Every process may run the check (it is cheap); the digest itself is one outbox message per local
day (its dedupe key is the date), so two processes or a restart never send it twice, and the
outbox delivers it to each admin once.
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
    """Queue today's digest when it is due and not queued yet. Returns the recipients queued."""
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
