"""The desk's buttons on ticket cards and lists: page, open, claim or take over, hand over to
another admin, close, and the warning broadcast of an incident."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.db.base import utcnow
from bot.labels import label
from bot.tickets.models import T_CLOSED
from bot.tickets.service import TicketView
from bot.transport import Button
from handlers.common import (
    Ctx,
    answer,
    callback_parts,
    core,
    edit,
    edit_pressed,
    send,
    stale,
)
from handlers.tickets.cards import P, card_buttons, card_text, in_helpdesk_chat
from handlers.tickets.cards import refresh_helpdesk_card as refresh
from handlers.tickets.desk import _actor, _close, _list, _refuse, _show, desk_allowed

log = logging.getLogger(__name__)


# -- buttons -------------------------------------------------------------------------------
async def on_desk_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, P, 2)
    if parts is None or not parts[1].isdigit():
        await stale(update, context)
        return
    if not await desk_allowed(update, context):
        await _refuse(update, context)
        return
    action, num = parts[0], int(parts[1])
    q = update.callback_query
    assert q is not None
    chat_id = q.message.chat.id if q.message else None
    c = core(context)
    if action == "l":
        await answer(update)
        text, rows = await _list(context, num)
        await edit_pressed(update, context, text, rows)
        return
    if action == "o":
        await answer(update)
        await _show(update, context, num)
        return
    admin_id, admin_name = _actor(update)
    if action in ("c", "t"):
        res = await c.tickets.claim(num, admin_id, admin_name, takeover=action == "t")
        if not res.ok:
            await answer(update, "tk_held" if res.reason == "held" else "stale", alert=True)
            return
        await answer(update, "tk_claimed")
        await _edit_card(update, context, res.ticket, chat_id)
    elif action == "x":
        t = await _close(update, context, num)
        if t is not None:
            await _edit_card(update, context, t, chat_id)
    elif action == "h":
        await _handover_menu(update, context, num)
    elif action == "g" and len(parts) == 3 and parts[2].isdigit():
        await _hand_to(update, context, num, int(parts[2]), chat_id)
    elif action in ("w", "wy"):
        from handlers.tickets.darurat import warn_button

        await warn_button(update, context, num, confirm=action == "wy")
    else:
        await stale(update, context)


async def _edit_card(update: Update, context: Ctx, t: TicketView | None, chat_id) -> None:
    if t is None:
        return
    await edit_pressed(
        update,
        context,
        card_text(context, t, in_helpdesk=in_helpdesk_chat(context, chat_id)),
        card_buttons(t, utcnow()),
    )
    q = update.callback_query
    if q is not None and q.message is not None and q.message.message_id != t.helpdesk_message_id:
        await refresh(context, t)


async def _handover_menu(update: Update, context: Ctx, ticket_id: int) -> None:
    c = core(context)
    t = await c.tickets.get(ticket_id)
    if t is None or t.status == T_CLOSED:
        await answer(update, "stale", alert=True)
        return
    me = update.effective_user.id if update.effective_user else None
    admins = [a for a in await c.users.admins() if a.telegram_id != me]
    rows = [
        [Button(a.name or f"Admin {a.telegram_id}", callback_data=f"{P}:g:{t.id}:{a.telegram_id}")]
        for a in admins[:20]
    ]
    rows.append([Button(label("back"), callback_data=f"{P}:o:{t.id}")])
    await answer(update)
    await edit(update, context, "ticket_handover_pick", id=t.id, admins=bool(admins), buttons=rows)


async def _hand_to(update: Update, context: Ctx, ticket_id: int, to_tg: int, chat_id) -> None:
    c = core(context)
    target = next((a for a in await c.users.admins() if a.telegram_id == to_tg), None)
    if target is None:
        await answer(update, "stale", alert=True)
        return
    admin_id, admin_name = _actor(update)
    to_name = target.name or f"Admin {target.telegram_id}"
    res = await c.tickets.hand_over(ticket_id, admin_id, to_tg, to_name)
    if not res.ok:
        await answer(update, "tk_held" if res.reason == "held" else "stale", alert=True)
        return
    await answer(update, "tk_handed")
    await _edit_card(update, context, res.ticket, chat_id)
    try:
        await send(context, target.chat_id, "ticket_handed", id=ticket_id, by=admin_name)
    except TelegramError as exc:
        log.info("ticket %s: could not tell %s about the handover: %s", ticket_id, to_tg, exc)
