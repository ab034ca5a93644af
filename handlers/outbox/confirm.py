"""Broadcasts that ask for confirmation: the recipients' "✅ Sudah saya laksanakan" button, and
the admins' /konfirmasi view (per OPD, refresh, remind those who have not confirmed, XLSX)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.error import BadRequest

from bot.outbox.confirm import PREFIX, confirm_button
from bot.outbox.labels import olabel
from bot.transport import Button
from handlers.common import (
    Ctx,
    admin_only,
    callback_parts,
    core,
    edit_html,
    edit_pressed,
    keyboard,
    reply,
    send,
    send_html,
    stale,
)

log = logging.getLogger(__name__)

ADMIN = "cfa"  # cfa:v:<id> (view / refresh) | cfa:r:<id> (remind) | cfa:x:<id> (XLSX)
LIVE_DELAY = 2.0  # seconds between live updates of an open confirmation view


# -- recipients --------------------------------------------------------------------------------
async def on_confirm_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, PREFIX, 1)
    q = update.callback_query
    if parts is None or not parts[0].isdigit() or q is None or q.message is None:
        await stale(update, context)
        return
    mid = int(parts[0])
    result = await core(context).confirm.confirm(mid, q.message.chat.id)
    if result == "invalid":
        await stale(update, context)
        return
    await q.answer(text=olabel("cf_thanks" if result == "new" else "cf_again"))
    if result == "new":
        schedule_refresh(context, mid)
    done = Button(olabel("cf_done"), callback_data=confirm_button(mid).callback_data)
    try:
        await context.bot.edit_message_reply_markup(
            chat_id=q.message.chat.id,
            message_id=q.message.message_id,
            reply_markup=keyboard([[done]]),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


# -- admins ------------------------------------------------------------------------------------
def _after(context: Ctx) -> timedelta:
    return timedelta(hours=core(context).settings.confirm_remind_hours)


async def _render(context: Ctx, mid: int) -> tuple[str, list[list[Button]]] | None:
    from bot.templates import render

    c = core(context)
    report = await c.confirm.report(mid)
    if report is None:
        return None
    rows = [[Button(olabel("cf_refresh"), callback_data=f"{ADMIN}:v:{mid}")]]
    can_remind = c.confirm.can_remind(report, _after(context))
    if can_remind:
        rows.append(
            [
                Button(
                    olabel("cf_remind").format(n=report.missing),
                    callback_data=f"{ADMIN}:r:{mid}",
                )
            ]
        )
    if report.recipients:
        rows.append([Button(olabel("cf_export"), callback_data=f"{ADMIN}:x:{mid}")])
    text = render(
        "confirm_report", r=report, can_remind=can_remind, hours=c.settings.confirm_remind_hours
    )
    return text, rows


async def _view(update: Update, context: Ctx, mid: int, *, as_edit: bool) -> None:
    c = core(context)
    rendered = await _render(context, mid)
    if rendered is None:
        if update.callback_query is not None:
            await stale(update, context)
        else:
            await reply(update, context, "confirm_missing", id=mid)
        return
    text, rows = rendered
    q = update.callback_query
    if as_edit and q is not None and q.message is not None:
        await edit_pressed(update, context, text, rows)
        chat_id, view_id = q.message.chat.id, q.message.message_id
    else:
        chat = update.effective_chat
        assert chat is not None
        sent = await send_html(context, chat.id, text, buttons=rows)
        chat_id, view_id = chat.id, sent.message_id
    await c.confirm.set_view(mid, chat_id, view_id)  # new confirmations update this view


async def _refresh_view(context: Ctx) -> None:
    """A job shortly after new confirmations: bring the admin's open view up to date."""
    job = context.job
    mid = job.data if job is not None else None
    if not isinstance(mid, int):
        return
    c = core(context)
    where = await c.confirm.view(mid)
    rendered = await _render(context, mid)
    if where is None or rendered is None:
        return
    text, rows = rendered
    await edit_html(context, where[0], where[1], text, rows, quiet=True)


def schedule_refresh(context: Ctx, mid: int) -> None:
    """Live, but throttled: at most one update of a view every LIVE_DELAY seconds, and the
    last confirmation of a burst is always shown."""
    jq = context.job_queue
    if jq is None:
        return
    name = f"cfview:{mid}"
    if jq.get_jobs_by_name(name):
        return
    jq.run_once(_refresh_view, when=LIVE_DELAY, data=mid, name=name)


@admin_only
async def cmd_konfirmasi(update: Update, context: Ctx) -> None:
    args = context.args or []
    if args and args[0].lstrip("#").isdigit():
        await _view(update, context, int(args[0].lstrip("#")), as_edit=False)
        return
    recent = await core(context).confirm.recent()
    rows = [
        [
            Button(
                olabel("cf_open").format(id=r.message_id, done=r.confirmed, total=r.recipients),
                callback_data=f"{ADMIN}:v:{r.message_id}",
            )
        ]
        for r in recent
    ]
    await reply(update, context, "confirm_list", buttons=rows, reports=recent)


@admin_only
async def on_admin_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, ADMIN, 2)
    if parts is None or not parts[1].isdigit():
        await stale(update, context)
        return
    action, mid = parts[0], int(parts[1])
    q = update.callback_query
    assert q is not None
    c = core(context)
    if action == "v":
        await q.answer()
        await _view(update, context, mid, as_edit=True)
    elif action == "r":
        report = await c.confirm.report(mid)
        if report is None or not c.confirm.can_remind(report, _after(context)):
            await q.answer(text=olabel("cf_nobody"), show_alert=True)
            return
        from bot.templates import render

        done = await c.confirm.remind(
            mid, render("confirm_reminder", text=report.text or ""), _after(context)
        )
        if done is None:
            await q.answer(text=olabel("cf_nobody"), show_alert=True)
            return
        await q.answer(text=olabel("cf_reminded"))
        await _view(update, context, mid, as_edit=True)
        await send(context, q.message.chat.id, "confirm_reminded", id=mid, n=done[1])
    elif action == "x":
        await q.answer()
        data = await c.confirm.export_xlsx(mid, c.settings.timezone)
        await context.bot.send_document(
            chat_id=q.message.chat.id,
            document=data,
            filename=f"konfirmasi-siaran-{mid}.xlsx",
        )
    else:
        await stale(update, context)
