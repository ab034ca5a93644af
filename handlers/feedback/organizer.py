"""Post-training feedback in chat: organizers and admins running sessions.

``/sesi`` (list, create step by step, QR, open/close, reminders), ``/sesi organizer|cabut
<id|@username>`` (admins), ``/laporan KODE [KODE2 ...]``. Callback data ``fbo:<action>:<arg>``.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from telegram import Update

from bot.accounts.service import UserView
from bot.feedback import report
from bot.feedback.errors import NotAllowed
from bot.feedback.types import Actor, SessionView
from bot.templates import render, render_plain
from bot.transport import Button
from handlers import tokens
from handlers.common import (
    Ctx,
    callback_data,
    core,
    current_user,
    is_private,
    keyboard,
    register_user,
    reply,
    send,
)
from handlers.feedback.cards import O, send_qr, session_card
from handlers.feedback.shared import (
    alert,
    btn,
    error_ctx,
    format_dates,
    safe_edit,
    session_link,
    svc,
)
from handlers.feedback.wizard import wizard_button, wizard_start

MAX_COMPARE = 6


async def _actor(
    update: Update, context: Ctx, *, register: bool = False
) -> tuple[UserView | None, Actor | None]:
    """The user and what they may do; commands register on the fly (an admin listed in
    ADMIN_IDS may never have pressed /start), buttons need a registered user."""
    if register and update.effective_user is not None and not update.effective_user.is_bot:
        user, _ = await register_user(update, context)
    else:
        user = await current_user(update, context)
    if user is None:
        return None, None
    return user, await svc(context).actor(user.telegram_id)


async def _session_list(context: Ctx, actor: Actor) -> tuple[str, list]:
    items = await svc(context).list_sessions(actor, limit=10)
    rows = [
        [
            Button(
                btn(
                    "session",
                    code=it.session.code,
                    title=it.session.title,
                    status=it.session.status(),
                ),
                f"{O}:v:{it.session.code}",
            )
        ]
        for it in items
    ]
    rows.append([Button(btn("new"), f"{O}:n:-")])
    return render("feedback_sessions", items=items, admin=actor.is_admin), rows


async def cmd_sesi(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "feedback_notice", what="private_only")
        return
    user, actor = await _actor(update, context, register=True)
    if user is None or actor is None:
        await reply(update, context, "not_registered")
        return
    args = list(context.args or [])
    sub = args[0].lower() if args else ""
    if sub in ("organizer", "penyelenggara", "cabut"):
        if not actor.is_admin:
            await reply(update, context, "admin_only")
            return
        if len(args) != 2:
            await reply(update, context, "feedback_notice", what="organizer_usage")
            return
        view = await svc(context).set_organizer(args[1], enable=sub != "cabut")
        if view is None:
            await reply(update, context, "feedback_notice", what="user_unknown", target=args[1])
            return
        await reply(
            update,
            context,
            "feedback_notice",
            what="organizer_set",
            name=view.name or view.username or str(view.telegram_id),
            role=view.role,
        )
        return
    if not actor.can_organize:
        await reply(update, context, "feedback_notice", what="not_organizer")
        return
    if sub == "baru":
        await wizard_start(update, context, user)
        return
    if sub:
        sv = await svc(context).get_session(sub)
        if sv is None:
            await reply(
                update, context, "feedback_error", **error_ctx("not_found", code=args[0][:20])
            )
            return
        if not svc(context).can_manage(actor, sv):
            await reply(update, context, "feedback_error", **error_ctx("not_allowed"))
            return
        text, rows = await session_card(context, sv.code, user.tz)
        await send_html_with(update, context, text, rows)
        return
    text, rows = await _session_list(context, actor)
    await send_html_with(update, context, text, rows)


async def card_rows(update: Update, context: Ctx, rows, *, new: bool = False):
    """Session lists and cards carry a dialogue token: a newer /sesi makes older ones stale."""
    token = await tokens.token_for(update, context, tokens.CARD, new=new)
    return tokens.tag_rows(rows, tokens.CARD, token)


async def send_html_with(update: Update, context: Ctx, text: str, rows) -> None:
    chat = update.effective_chat
    assert chat is not None
    rows = await card_rows(update, context, rows, new=True)
    await context.bot.send_message(chat_id=chat.id, text=text, reply_markup=keyboard(rows))


async def on_organizer_button(update: Update, context: Ctx) -> None:
    q = update.callback_query
    data = callback_data(update)
    if q is None or not data:
        return
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != O:
        await alert(update, "expired")
        return
    action, arg = parts[1], ":".join(parts[2:])
    user, actor = await _actor(update, context)
    if user is None or actor is None or not actor.can_organize:
        await alert(update, "not_allowed")
        return
    if action == "w":
        await wizard_button(update, context, user, arg)
        return
    if action == "l":
        await q.answer()
        text, rows = await _session_list(context, actor)
        await safe_edit(update, context, text, await card_rows(update, context, rows))
        return
    if action == "n":
        await q.answer()
        await wizard_start(update, context, user)
        return
    sv = await svc(context).get_session(arg)
    if sv is None:
        await alert(update, "expired")
        return
    if not svc(context).can_manage(actor, sv):
        await alert(update, "not_allowed")
        return
    s = svc(context)
    chat_id = q.message.chat.id if q.message else user.chat_id
    if action in ("o", "c"):
        await (s.open_session(sv.code) if action == "o" else s.close_session(sv.code))
        await q.answer(text=render_plain("feedback_alert", reason="saved"))
        text, rows = await session_card(context, sv.code, user.tz)
        await safe_edit(update, context, text, await card_rows(update, context, rows))
    elif action == "v":
        await q.answer()
        text, rows = await session_card(context, sv.code, user.tz)
        await safe_edit(update, context, text, await card_rows(update, context, rows))
    elif action == "q":
        await q.answer()
        await send_qr(context, chat_id, sv)
    elif action == "r":
        await q.answer()
        await send_reports(context, chat_id, [sv], user.tz)
    elif action == "m":
        await _remind(update, context, user, sv)
    else:
        await alert(update, "expired")


async def _remind(update: Update, context: Ctx, user: UserView, sv: SessionView) -> None:
    if sv.anonymous:
        await alert(update, "anonymous")
        return
    link = session_link(context, sv.code)
    buttons = [[Button(btn("resume"), url=link)]] if link else None
    text = render("feedback_reminder", title=sv.title)
    try:
        n = await svc(context).queue_reminders(
            sv.code,
            core(context).outbox,
            text=text,
            buttons=buttons,
            creator_user_id=user.id,
            creator_chat_id=user.chat_id,
        )
    except NotAllowed:
        await alert(update, "anonymous")
        return
    if n:
        await alert(update, "reminded", show=False, n=n)
        await send(context, user.chat_id, "feedback_notice", what="reminded", n=n, title=sv.title)
    else:
        await alert(update, "nobody")


async def send_reports(
    context: Ctx, chat_id: int, sessions: list[SessionView], tz: ZoneInfo
) -> None:
    """Summary message, chart PNG and (one session) the XLSX workbook."""
    s = svc(context)
    datas = [await s.report_data(sv.code) for sv in sessions]
    summaries = [report.summarize(d) for d in datas]
    chart = await asyncio.to_thread(report.chart_png, summaries)
    if len(summaries) == 1:
        sm, data = summaries[0], datas[0]
        texts = [
            {"label": tx.label, "total": len(tx.texts), "shown": tx.texts[:25]} for tx in sm.texts
        ]
        await send(
            context, chat_id, "feedback_report", sm=sm, texts=texts, dates=format_dates(sm.session)
        )
        caption = render(
            "feedback_caption", kind="chart", title=sm.session.title, code=sm.session.code
        )
        await context.bot.send_photo(
            chat_id=chat_id,
            photo=chart,
            filename=f"grafik-{sm.session.code}.png",
            caption=caption,
        )
        xlsx = await asyncio.to_thread(report.xlsx_bytes, data, sm, tz=tz)
        caption = render(
            "feedback_caption", kind="xlsx", title=sm.session.title, code=sm.session.code
        )
        await context.bot.send_document(
            chat_id=chat_id,
            document=xlsx,
            filename=f"umpan-balik-{sm.session.code}.xlsx",
            caption=caption,
        )
        return
    await send(context, chat_id, "feedback_compare", summaries=summaries)
    caption = render("feedback_caption", kind="compare", codes=[sv.code for sv in sessions])
    await context.bot.send_photo(
        chat_id=chat_id, photo=chart, filename="perbandingan.png", caption=caption
    )


async def cmd_laporan(update: Update, context: Ctx) -> None:
    if not is_private(update):  # the XLSX holds participants' data: never into a group
        await reply(update, context, "feedback_notice", what="private_only")
        return
    user, actor = await _actor(update, context, register=True)
    if user is None or actor is None:
        await reply(update, context, "not_registered")
        return
    if not actor.can_organize:
        await reply(update, context, "feedback_notice", what="not_organizer")
        return
    codes = []
    for raw in context.args or []:
        if raw.upper() not in codes:
            codes.append(raw.upper())
    if not codes or len(codes) > MAX_COMPARE:
        await reply(update, context, "feedback_notice", what="laporan_usage", max=MAX_COMPARE)
        return
    sessions = []
    for raw in codes:
        sv = await svc(context).get_session(raw)
        if sv is None:
            await reply(update, context, "feedback_error", **error_ctx("not_found", code=raw[:20]))
            return
        if not svc(context).can_manage(actor, sv):
            await reply(update, context, "feedback_error", **error_ctx("not_allowed"))
            return
        sessions.append(sv)
    chat = update.effective_chat
    assert chat is not None
    await send_reports(context, chat.id, sessions, user.tz)
