"""The asker's side of the helpdesk: handing a question over (it becomes a ticket), and
continuing a ticket's thread by replying to its answer or with the "Tanya lanjutan" button."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.accounts.service import UserView
from bot.labels import label
from bot.transport import Button
from handlers.common import (
    TEXT_LIMIT,
    Ctx,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    reply,
    send,
    stale,
)
from handlers.tickets.cards import card_buttons, card_text

log = logging.getLogger(__name__)

PENDING_FOLLOWUP = "ticket_followup"
ASKER = "tka"  # asker buttons: tka:f:<ticket> (write a follow-up), tka:x:<ticket> (cancel)


async def _to_helpdesk(context: Ctx, chat_id: int, text: str, buttons=None, reply_to=None):
    from handlers.common import send_html

    try:
        return await send_html(context, chat_id, text, buttons=buttons, reply_to=reply_to)
    except BadRequest as exc:  # the card we reply to was deleted: send without the quote
        if reply_to is None or "not found" not in str(exc).lower():
            raise
        return await send_html(context, chat_id, text, buttons=buttons)


async def hand_off(update: Update, context: Ctx, user: UserView | None, log_id: int) -> None:
    c = core(context)
    if user is None:
        await stale(update, context)
        return
    t = await c.tickets.from_question(log_id, user)
    if t is None:
        await stale(update, context)
        return
    if t.new:
        from bot.db.base import utcnow

        try:
            msg = await _to_helpdesk(
                context,
                t.helpdesk_chat_id,
                card_text(context, t, in_helpdesk=True),
                buttons=card_buttons(t, utcnow()),
            )
        except TelegramError as exc:
            # The bot was removed from the helpdesk chat, or Telegram refused: say so honestly
            # instead of pretending the question went through.
            log.error("could not forward ticket %s to the helpdesk chat: %s", t.id, exc)
            await c.tickets.cancel(t.id)
            await answer(update)
            await edit(update, context, "ticket_failed")
            return
        await c.tickets.set_helpdesk_message(t.id, msg.chat_id, msg.message_id)
    await answer(update, "handoff_done")
    await edit(update, context, "ticket_sent", id=t.id)
    q = update.callback_query
    if q is not None and q.message is not None:
        await c.tickets.set_asker_message(t.id, q.message.chat.id, q.message.message_id)


async def follow_up(update: Update, context: Ctx, user: UserView, ticket_id: int, text: str):
    c = core(context)
    text = text.strip()
    if not text:
        await reply(update, context, "not_text")
        return
    if len(text) > TEXT_LIMIT:
        await reply(update, context, "too_long", length=len(text), limit=TEXT_LIMIT)
        return
    t = await c.tickets.get(ticket_id)
    if t is None or t.user_id != user.id or t.helpdesk_chat_id is None:
        await reply(update, context, "ticket_failed")
        return
    done = await c.tickets.follow_up(ticket_id, user, text)
    if done is None:
        await reply(update, context, "ticket_failed")
        return
    t = done.ticket
    from bot.templates import render

    body = render(
        "ticket_followup_helpdesk",
        id=t.id,
        name=user.name,
        opd=user.opd_name,
        holder=t.claimed_name,
        text=text,
    )
    try:
        fwd = await _to_helpdesk(context, t.helpdesk_chat_id, body, reply_to=t.helpdesk_message_id)
    except TelegramError as exc:
        log.error("ticket %s: could not forward the follow-up: %s", t.id, exc)
        await reply(update, context, "ticket_failed")
        return
    msg = update.effective_message
    await c.tickets.set_message_ids(
        done.message_row,
        helpdesk=(fwd.chat_id, fwd.message_id),
        asker=(user.chat_id, msg.message_id) if msg is not None else None,
    )
    if t.claimed_by is not None and t.claimed_by != t.helpdesk_chat_id:
        try:  # the admin who holds the ticket hears about it in private too
            from handlers.common import send_html

            await send_html(context, t.claimed_by, body)
        except (Forbidden, BadRequest, TelegramError) as exc:
            log.info("ticket %s: could not notify the holder: %s", t.id, exc)
    await reply(update, context, "ticket_followup_sent", id=t.id)


async def on_private_reply(update: Update, context: Ctx) -> None:
    """A private reply: to a ticket's message it continues the thread, else it is a message
    like any other."""
    from handlers import dialogue

    msg = update.effective_message
    chat = update.effective_chat
    if msg is not None and chat is not None and msg.reply_to_message is not None:
        t = await core(context).tickets.by_asker_message(chat.id, msg.reply_to_message.message_id)
        if t is not None:
            user = await current_user(update, context)
            if user is not None and t.user_id == user.id:
                if user.pending:
                    await core(context).users.set_pending(user.telegram_id, None)
                await follow_up(update, context, user, t.id, msg.text or msg.caption or "")
                return
    await dialogue.on_private_message(update, context)


async def on_asker_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, ASKER, 2)
    user = await current_user(update, context)
    if parts is None or not parts[1].isdigit() or user is None:
        await stale(update, context)
        return
    action, tid = parts[0], int(parts[1])
    t = await core(context).tickets.get(tid)
    if t is None or t.user_id != user.id:
        await stale(update, context)
        return
    if action == "f":
        await core(context).users.set_pending(user.telegram_id, PENDING_FOLLOWUP, {"t": tid})
        await answer(update)
        await send(
            context,
            user.chat_id,
            "ticket_followup_prompt",
            id=tid,
            limit=TEXT_LIMIT,
            buttons=[[Button(label("cancel"), callback_data=f"{ASKER}:x:{tid}")]],
        )
    elif action == "x":
        if user.pending == PENDING_FOLLOWUP:
            await core(context).users.set_pending(user.telegram_id, None)
        await answer(update, "cancelled")
        await edit(update, context, "ticket_followup_cancelled", id=tid)
    else:
        await stale(update, context)


async def on_followup_text(update: Update, context: Ctx, user: UserView) -> None:
    data = user.pending_data or {}
    await core(context).users.set_pending(user.telegram_id, None)
    msg = update.effective_message
    tid = data.get("t")
    if not isinstance(tid, int) or msg is None:
        await reply(update, context, "ticket_failed")
        return
    await follow_up(update, context, user, tid, msg.text or msg.caption or "")
