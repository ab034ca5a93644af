"""The helpdesk desk: /tiket lists open tickets, /jawab and replies answer, buttons claim,
hand over and close. Admins use it in private; everyone in the helpdesk chat uses it there."""

from __future__ import annotations

import logging
import math
import re

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.db.base import utcnow
from bot.labels import label
from bot.tickets.digest import lines, queue_digest
from bot.tickets.models import T_CLOSED
from bot.tickets.service import CLAIM_STALE, ClaimResult, TicketView
from bot.transport import Button
from handlers.common import (
    Ctx,
    answer,
    core,
    current_user,
    full_name,
    reply,
    send,
)
from handlers.tickets.cards import P, card_buttons, card_text, in_helpdesk_chat
from handlers.tickets.cards import refresh_helpdesk_card as refresh

log = logging.getLogger(__name__)

PAGE = 8
_JAWAB = re.compile(r"^\s*#?(\d{1,9})\s+(.+)$", re.S)
_NUMBER = re.compile(r"^\s*#?(\d{1,9})\s*$")


async def desk_allowed(update: Update, context: Ctx) -> bool:
    """Members of the helpdesk chat (there) and Diskominfo admins (anywhere) run the desk."""
    chat = update.effective_chat
    if in_helpdesk_chat(context, chat.id if chat else None):
        return True
    tg = update.effective_user
    if tg is None:
        return False
    user = await current_user(update, context)
    return core(context).users.is_admin(tg.id, user.role if user else None)


def _actor(update: Update) -> tuple[int, str]:
    tg = update.effective_user
    assert tg is not None
    return tg.id, full_name(update) or (f"@{tg.username}" if tg.username else "Admin")


async def _refuse(update: Update, context: Ctx) -> None:
    if update.callback_query is not None:
        await answer(update, "admin_only", alert=True)
    else:
        await reply(update, context, "ticket_desk_only")


# -- /tiket ------------------------------------------------------------------------------------
async def _list(context: Ctx, page: int) -> tuple[str, list[list[Button]]]:
    from bot.templates import render

    tickets = core(context).tickets
    items, total = await tickets.list_open(limit=PAGE, offset=page * PAGE)
    pages = max(1, math.ceil(total / PAGE))
    waiting = await tickets.count_waiting()
    now = utcnow()
    text = render(
        "ticket_list",
        tickets=lines(items, now),
        total=total,
        page=page,
        pages=pages,
        waiting=waiting,
    )
    rows: list[list[Button]] = []
    row: list[Button] = []
    for t in items:
        row.append(Button(("🚨 " if t.urgent else "") + f"#{t.id}", callback_data=f"{P}:o:{t.id}"))
        if len(row) == 4:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    nav = []
    if page > 0:
        nav.append(Button(label("prev"), callback_data=f"{P}:l:{page - 1}"))
    nav.append(Button(label("tk_refresh"), callback_data=f"{P}:l:{page}"))
    if page + 1 < pages:
        nav.append(Button(label("next"), callback_data=f"{P}:l:{page + 1}"))
    rows.append(nav)
    return text, rows


async def cmd_tiket(update: Update, context: Ctx) -> None:
    if not await desk_allowed(update, context):
        await _refuse(update, context)
        return
    args = context.args or []
    if args and _NUMBER.match(args[0]):
        await _show(update, context, int(_NUMBER.match(args[0]).group(1)))
        return
    from handlers.common import send_html

    text, rows = await _list(context, 0)
    chat = update.effective_chat
    assert chat is not None
    await send_html(context, chat.id, text, buttons=rows)


async def _show(update: Update, context: Ctx, ticket_id: int) -> None:
    from handlers.common import send_html

    t = await core(context).tickets.get(ticket_id)
    if t is None:
        await reply(update, context, "ticket_missing", id=ticket_id, closed=False)
        return
    chat = update.effective_chat
    assert chat is not None
    await send_html(
        context,
        chat.id,
        card_text(context, t, in_helpdesk=in_helpdesk_chat(context, chat.id)),
        buttons=card_buttons(t, utcnow()),
    )


# -- answering -----------------------------------------------------------------------------
async def deliver_answer(update: Update, context: Ctx, ticket_id: int, text: str) -> None:
    """An admin's answer to a ticket: claim, deliver to the asker, record, confirm."""
    c = core(context)
    admin_id, admin_name = _actor(update)
    text = text.strip()
    t = await c.tickets.get(ticket_id)
    if t is None or t.status == T_CLOSED:
        await reply(update, context, "ticket_missing", id=ticket_id, closed=t is not None)
        return
    if not text:
        await reply(
            update, context, "ticket_undeliverable", id=t.id, reason="balasan harus berupa teks."
        )
        return
    claim = await c.tickets.claim(ticket_id, admin_id, admin_name)
    if not claim.ok:
        await _claim_refused(update, context, claim, ticket_id)
        return
    if t.asker_chat_id is None:
        await reply(
            update,
            context,
            "ticket_undeliverable",
            id=t.id,
            reason="penanya sudah menghapus datanya.",
        )
        return
    try:
        sent = await send(
            context,
            t.asker_chat_id,
            "ticket_answered",
            id=t.id,
            question=t.question,
            answer=text,
            buttons=[[Button(label("tk_followup"), callback_data=f"tka:f:{t.id}")]],
        )
    except Forbidden:
        await c.users.mark_blocked(t.asker_chat_id)
        await reply(
            update, context, "ticket_undeliverable", id=t.id, reason="penanya memblokir bot."
        )
        return
    except TelegramError as exc:
        log.warning("ticket %s: could not deliver the answer: %s", t.id, exc)
        await reply(
            update, context, "ticket_undeliverable", id=t.id, reason="Telegram menolak pengiriman."
        )
        return
    claim, done = await c.tickets.answer(ticket_id, admin_id, admin_name, text)
    if done is None:  # handed over or closed between the claim and now: the asker got it anyway
        log.warning("ticket %s: answer delivered but not recorded (%s)", ticket_id, claim.reason)
        return
    msg = update.effective_message
    chat = update.effective_chat
    await c.tickets.set_message_ids(
        done.message_row,
        asker=(t.asker_chat_id, sent.message_id),
        helpdesk=(chat.id, msg.message_id)
        if chat and msg and in_helpdesk_chat(context, chat.id)
        else None,
    )
    await reply(update, context, "ticket_delivered", id=t.id)
    await refresh(context, done.ticket)


async def _claim_refused(update: Update, context: Ctx, claim: ClaimResult, ticket_id: int) -> None:
    if claim.reason == "held" and claim.ticket is not None:
        since = utcnow() - (claim.ticket.claimed_at or utcnow())
        await reply(
            update,
            context,
            "ticket_held",
            id=ticket_id,
            holder=claim.holder,
            stale=since >= CLAIM_STALE,
            since=since,
        )
    else:
        await reply(
            update, context, "ticket_missing", id=ticket_id, closed=claim.reason == "closed"
        )


async def on_helpdesk_reply(update: Update, context: Ctx) -> None:
    """A plain reply in the helpdesk chat to a ticket card or a forwarded follow-up."""
    msg = update.effective_message
    if msg is None or msg.reply_to_message is None or update.effective_chat is None:
        return
    t = await core(context).tickets.by_helpdesk_message(
        update.effective_chat.id, msg.reply_to_message.message_id
    )
    if t is None:
        return  # a reply to something else in the helpdesk chat
    await deliver_answer(update, context, t.id, msg.text or msg.caption or "")


async def cmd_jawab(update: Update, context: Ctx) -> None:
    if not await desk_allowed(update, context):
        await _refuse(update, context)
        return
    msg = update.effective_message
    body = (msg.text or "").split(maxsplit=1)[1] if msg and msg.text and " " in msg.text else ""
    m = _JAWAB.match(body)
    if m is None:
        await reply(update, context, "ticket_jawab_usage")
        return
    await deliver_answer(update, context, int(m.group(1)), m.group(2))


async def cmd_tutup(update: Update, context: Ctx) -> None:
    if not await desk_allowed(update, context):
        await _refuse(update, context)
        return
    args = context.args or []
    m = _NUMBER.match(args[0]) if args else None
    if m is None:
        await reply(update, context, "ticket_jawab_usage")
        return
    await _close(update, context, int(m.group(1)))


async def _close(update: Update, context: Ctx, ticket_id: int) -> TicketView | None:
    c = core(context)
    admin_id, admin_name = _actor(update)
    res = await c.tickets.close(ticket_id, admin_id, admin_name)
    if not res.ok:
        if update.callback_query is not None:
            await answer(update, "tk_held" if res.reason == "held" else "stale", alert=True)
        else:
            await _claim_refused(update, context, res, ticket_id)
        return None
    t = res.ticket
    assert t is not None
    if update.callback_query is not None:
        await answer(update, "tk_closed")
    else:
        await reply(update, context, "ticket_closed", id=t.id, name=admin_name)
    if t.asker_chat_id is not None:
        try:
            await send(context, t.asker_chat_id, "ticket_closed_asker", id=t.id)
        except Forbidden:
            await c.users.mark_blocked(t.asker_chat_id)
        except TelegramError as exc:
            log.info("ticket %s: could not tell the asker it was closed: %s", t.id, exc)
    await refresh(context, t)
    return t


# -- the daily digest ------------------------------------------------------------------------
async def digest_job(context: Ctx) -> None:
    try:
        n = await queue_digest(core(context), utcnow())
    except Exception:
        log.exception("ticket digest failed")
        return
    if n:
        log.info("ticket digest queued for %d admins", n)
