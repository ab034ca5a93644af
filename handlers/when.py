"""Reading a "when" in a dialogue, the same way in every flow (reminders, the tip schedule,
scheduled broadcasts, the closing time of a feedback session).

A phrase without an hour ("tiap tanggal 1", "besok") is remembered and the user is asked for
the hour; the next message ("jam 9") completes it. A moment that has passed ("1/12 jam 8" typed
after 08.00) is asked about: the likely intended moment is offered and "ya" accepts it. The
memory lives in the flow's own dialogue state (``users.pending_data``), under ``WHEN_KEYS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.accounts.service import UserView
from bot.dates import NEED_TIME, OK, PAST, When, parse_when, zone_label
from handlers.common import Ctx, core, reply

PARTIAL = "when_partial"
SUGGEST = "when_suggest"
WHEN_KEYS = (PARTIAL, SUGGEST)
YES_WORDS = {"ya", "iya", "y", "yes", "ok", "oke", "betul", "benar", "boleh", "setuju", "yap"}

Invalid = Callable[[When], Awaitable[Any]]


def flow_data(data: dict | None) -> dict:
    """The flow's own dialogue data, without what this module keeps there."""
    return {k: v for k, v in (data or {}).items() if k not in WHEN_KEYS}


def understand(text: str, now, zone: str, mode: str, data: dict | None) -> When:
    """What ``text`` means, given what the dialogue remembers (a phrase waiting for its hour,
    a suggestion waiting for "ya")."""
    data = data or {}
    cleaned = text.strip().lower().strip(" .!")
    if data.get(SUGGEST) and cleaned in YES_WORDS:
        return parse_when(data[SUGGEST], now, zone, mode=mode)
    if data.get(PARTIAL):
        combined = parse_when(f"{data[PARTIAL]} {text}", now, zone, mode=mode)
        if combined.status in (OK, PAST):
            return combined
    return parse_when(text, now, zone, mode=mode)


async def read_when(
    update: Update,
    context: Ctx,
    user: UserView,
    text: str,
    *,
    mode: str,
    now,
    pending: str,
    data: dict | None,
    invalid: Invalid,
) -> When | None:
    """The understood phrase, or None after asking (hour, past moment) or ``invalid``.

    ``pending``/``data``: the flow's dialogue state, kept while asking."""
    c = core(context)
    zone = user.timezone
    when = understand(text, now, zone, mode, data)
    base = flow_data(data)
    if when.status == OK:
        return when
    if when.status == NEED_TIME:
        partial = text
        if (data or {}).get(PARTIAL) and parse_when(text, now, zone, mode=mode).status != NEED_TIME:
            partial = f"{data[PARTIAL]} {text}"
        await c.users.set_pending(user.telegram_id, pending, {**base, PARTIAL: partial})
        await reply(update, context, "when_need_time", w=when, tz=zone_label(zone))
        return None
    if when.status == PAST:
        suggested = parse_when(when.suggestion, now, zone, mode=mode) if when.suggestion else None
        if suggested is not None and not suggested.ok:
            suggested = None
        state = {**base, SUGGEST: when.suggestion} if suggested else base
        await c.users.set_pending(user.telegram_id, pending, state or None)
        await reply(
            update,
            context,
            "when_past",
            w=when,
            moment=when.moment,
            suggested=suggested.moment if suggested else None,
            tz=zone,
        )
        return None
    await c.users.set_pending(user.telegram_id, pending, base or None)
    await invalid(when)
    return None
