"""Handing a question over to the Diskominfo helpdesk chat, and its replies coming back."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.accounts.service import UserView
from handlers.common import (
    Ctx,
    answer,
    core,
    edit,
    full_name,
    reply,
    send,
    stale,
)

log = logging.getLogger(__name__)


# -- helpdesk handoff --------------------------------------------------------------------------
async def hand_off(update: Update, context: Ctx, user: UserView | None, log_id: int) -> None:
    qa = core(context).qa
    if user is None:
        await stale(update, context)
        return
    h = await qa.create_handoff(log_id, user)
    if h is None:
        await stale(update, context)
        return
    if h.new:
        try:
            msg = await send(
                context,
                h.helpdesk_chat_id,
                "handoff_helpdesk",
                name=user.name,
                opd=user.opd_name,
                username=user.username,
                question=h.question,
            )
        except TelegramError as exc:
            # The bot was removed from the helpdesk chat, or Telegram refused: say so honestly
            # instead of pretending the question went through.
            log.error("could not forward handoff %s to the helpdesk chat: %s", h.id, exc)
            await qa.cancel_handoff(h.id)
            await answer(update)
            await edit(update, context, "handoff_failed")
            return
        await qa.set_handoff_message(h.id, msg.message_id)
    await answer(update, "handoff_done")
    await edit(update, context, "handoff_sent")


async def on_helpdesk_reply(update: Update, context: Ctx) -> None:
    msg = update.effective_message
    if msg is None or msg.reply_to_message is None or update.effective_chat is None:
        return
    qa = core(context).qa
    h = await qa.handoff_for_reply(update.effective_chat.id, msg.reply_to_message.message_id)
    if h is None:
        return  # a reply to something else in the helpdesk chat
    text = msg.text or msg.caption or ""
    if h.asker_chat_id is None:
        await reply(
            update, context, "handoff_undeliverable", reason="penanya sudah menghapus datanya."
        )
        return
    if not text.strip():
        await reply(update, context, "handoff_undeliverable", reason="balasan harus berupa teks.")
        return
    try:
        await send(context, h.asker_chat_id, "handoff_answer", question=h.question, answer=text)
    except Forbidden:
        await core(context).users.mark_blocked(h.asker_chat_id)
        await reply(update, context, "handoff_undeliverable", reason="penanya memblokir bot.")
        return
    except TelegramError as exc:
        log.warning("handoff %s: could not deliver the answer: %s", h.id, exc)
        await reply(update, context, "handoff_undeliverable", reason="Telegram menolak pengiriman.")
        return
    await qa.record_handoff_answer(h.id, full_name(update) or "Diskominfo", text)
    await reply(update, context, "handoff_delivered")
