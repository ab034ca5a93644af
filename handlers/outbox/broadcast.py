"""/siaran (admins), after the draft is composed (``handlers.outbox.compose``): the buttons
to send now or schedule; live progress with a cancel button; recent broadcasts with their reports.

Callback data ``bc:<action>:<broadcast id>[:<arg>...]``:
  all / opd:<page> / t:<opd id>:<page> / done / go / sch / aud / x (draft)
  stop (running) / unsch (scheduled) / list / new
The draft lives in the database (``outbox_messages`` with status draft); the free-text steps
(the message to send, the date and time) are dialogue states ``bc_compose`` and ``bc_when``.
"""

from __future__ import annotations

import logging
from datetime import UTC
from zoneinfo import ZoneInfo

from telegram import Update

from bot.accounts.service import UserView
from bot.transport import Button
from handlers import tokens
from handlers.common import (
    Ctx,
    admin_only,
    callback_parts,
    core,
    current_user,
    edit,
    reply,
    stale,
)
from handlers.outbox.compose import (
    CANCEL_WORDS,
    HISTORY,
    ID_RE,
    PENDING_WHEN,
    PREFIX,
    ack,
    ask_audience,
    button,
    draft_buttons,
    opd_names,
    opd_page,
    preview,
    preview_summary,
    start_compose,
    tz_label,
)
from handlers.when import read_when

log = logging.getLogger(__name__)


# -- buttons -----------------------------------------------------------------------------------
@admin_only
async def on_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, PREFIX)
    user = await current_user(update, context)
    if not parts or user is None:
        await stale(update, context)
        return
    action, args = parts[0], parts[1:]
    if not all(ID_RE.fullmatch(a) for a in args):  # ASCII digits that fit a database id
        await stale(update, context)
        return
    nums = [int(a) for a in args]
    handler = _ACTIONS.get((action, len(nums)))
    if handler is None:
        await stale(update, context)
        return
    await handler(update, context, user, *nums)


async def _draft(update: Update, context: Ctx, user: UserView, mid: int):
    """The admin's own draft, or None (answered as stale)."""
    p = await core(context).outbox.get(mid)
    if p is None or p.status != "draft" or p.creator_user_id != user.id:
        await stale(update, context)
        return None
    return p


async def act_all(update, context, user, mid):
    if await _draft(update, context, user, mid) is None:
        return
    await core(context).outbox.set_audience(mid, None)
    await ack(update)
    await edit(update, context, "broadcast_audience_chosen", opds=[])
    await preview(update, context, user, mid)


async def act_opd(update, context, user, mid, page):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    await ack(update)
    await opd_page(update, context, mid, page, p.audience_opds)


async def act_toggle(update, context, user, mid, opd_id, page):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    opds = {o.id: o.slug for o in await core(context).users.list_opds()}
    slug = opds.get(opd_id)
    if slug is None:
        await stale(update, context)
        return
    chosen = set(p.audience_opds)
    chosen ^= {slug}
    await core(context).outbox.set_audience(mid, sorted(chosen))
    await ack(update)
    await opd_page(update, context, mid, page, sorted(chosen))


async def act_kind(update, context, user, mid, kind_index):
    """All OPDs of one kind in one tap (a second tap removes them again)."""
    from bot.accounts.opds import KINDS

    p = await _draft(update, context, user, mid)
    if p is None or kind_index >= len(KINDS):
        if p is not None:
            await stale(update, context)
        return
    kind = KINDS[kind_index]
    slugs = {o.slug for o in await core(context).users.list_opds() if o.kind == kind}
    chosen = set(p.audience_opds)
    chosen = chosen - slugs if slugs <= chosen else chosen | slugs
    await core(context).outbox.set_audience(mid, sorted(chosen))
    await ack(update)
    await opd_page(update, context, mid, 0, sorted(chosen))


async def act_done(update, context, user, mid):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    if not p.audience_opds:
        await ack(update, "bc_none_selected", alert=True)
        return
    await ack(update)
    await edit(
        update,
        context,
        "broadcast_audience_chosen",
        opds=await opd_names(context, p.audience_opds),
    )
    await preview(update, context, user, mid)


async def act_change_audience(update, context, user, mid):
    if await _draft(update, context, user, mid) is None:
        return
    await ack(update)
    await ask_audience(update, context, mid, as_edit=True)


async def act_go(update, context, user, mid):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    c = core(context)
    if await c.outbox.count_audience(p.audience_opds or None) == 0:
        await ack(update, "bc_no_recipients", alert=True)
        return
    total = await c.outbox.start_broadcast(mid)
    if total is None:
        await stale(update, context)
        return
    await tokens.close(update, context, tokens.BROADCAST)
    await ack(update, "bc_started")
    shown = await c.outbox.get(mid)
    await _show_status(update, context, shown)
    # From now on the sender's progress reporter keeps this message up to date.
    q = update.callback_query
    await c.outbox.set_status_message(mid, q.message.chat.id, q.message.message_id)
    now = await c.outbox.get(mid)
    if shown.running and not now.running:  # finished before the reporter knew the message
        await _show_status(update, context, now)


async def _show_status(update: Update, context: Ctx, p) -> None:
    from bot.background import cancel_button

    if p.running:
        await edit(update, context, "broadcast_progress", buttons=[[cancel_button(p.id)]], p=p)
    else:
        await edit(update, context, "broadcast_report", p=p)


async def act_schedule(update, context, user, mid):
    if await _draft(update, context, user, mid) is None:
        return
    await core(context).users.set_pending(user.telegram_id, PENDING_WHEN, {"id": mid})
    await ack(update)
    await edit(
        update,
        context,
        "broadcast_ask_when",
        buttons=await draft_buttons(update, context, [[button("bc_cancel", f"x:{mid}")]]),
        tz=tz_label(user.timezone),
    )


async def on_when(update: Update, context: Ctx, user: UserView) -> None:
    """The date and time for a scheduled broadcast, in the admin's time zone."""
    c = core(context)
    msg = update.effective_message
    data = user.pending_data or {}
    mid = data.get("id")
    p = await c.outbox.get(int(mid)) if isinstance(mid, int) else None
    if p is None or p.status != "draft" or not c.users.is_admin(user.telegram_id, user.role):
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "stale_button")
        return
    text = (msg.text or "").strip() if msg else ""
    if text.lower() in CANCEL_WORDS:
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.BROADCAST)
        await c.outbox.delete_draft(p.id)
        await reply(update, context, "broadcast_draft_cancelled")
        return
    tz = user.timezone

    async def invalid(w) -> None:
        problem = "recurring" if w.problem == "once_only" else "format"
        await reply(update, context, "broadcast_when_invalid", problem=problem, tz=tz_label(tz))

    when = await read_when(
        update,
        context,
        user,
        text,
        mode="once",
        now=c.outbox.clock(),
        pending=PENDING_WHEN,
        data=data,
        invalid=invalid,
    )
    if when is None:
        return
    zone = tz  # a time written in another zone is shown in the admin's own zone
    at = when.moment.astimezone(UTC)
    await c.outbox.schedule_broadcast(p.id, at, zone)
    await c.users.set_pending(user.telegram_id, None)
    await tokens.close(update, context, tokens.BROADCAST)
    recipients = await c.outbox.count_audience(p.audience_opds or None)
    sent = await reply(
        update,
        context,
        "broadcast_scheduled",
        buttons=[[button("bc_unschedule", f"unsch:{p.id}", id=p.id)]],
        id=p.id,
        when=at.astimezone(ZoneInfo(zone)),
        written=when.moment if when.zone != zone else None,
        tz=zone,
        recipients=recipients,
        opds=await opd_names(context, p.audience_opds),
    )
    # This message becomes the live status message once the broadcast starts.
    await c.outbox.set_status_message(p.id, sent.chat_id, sent.message_id)


async def act_cancel_draft(update, context, user, mid):
    c = core(context)
    if mid == 0:  # cancelled before anything was written
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.BROADCAST)
        await ack(update)
        await edit(update, context, "broadcast_draft_cancelled")
        return
    if await _draft(update, context, user, mid) is None:
        return
    await c.users.set_pending(user.telegram_id, None)
    await tokens.close(update, context, tokens.BROADCAST)
    await c.outbox.delete_draft(mid)
    await ack(update)
    await edit(update, context, "broadcast_draft_cancelled")


async def act_stop(update, context, user, mid):
    """Stop a running broadcast: rows not sent yet are cancelled."""
    c = core(context)
    p = await c.outbox.get(mid)
    if p is None or p.kind != "broadcast" or p.status != "running":
        await stale(update, context)
        return
    await c.outbox.cancel(mid)
    await ack(update, "bc_stopped")
    await edit(update, context, "broadcast_report", p=await c.outbox.get(mid))


async def act_unschedule(update, context, user, mid):
    c = core(context)
    p = await c.outbox.get(mid)
    if p is None or p.kind != "broadcast" or p.status != "scheduled":
        await stale(update, context)
        return
    await c.outbox.cancel(mid)
    await ack(update, "bc_unscheduled")
    await edit(update, context, "broadcast_report", p=await c.outbox.get(mid))


async def act_list(update, context, user):
    c = core(context)
    await c.users.set_pending(user.telegram_id, None)
    await tokens.close(update, context, tokens.BROADCAST)
    items = await c.outbox.recent("broadcast", HISTORY)
    rows: list[list[Button]] = []
    for p in items:
        if p.status == "scheduled":
            rows.append([button("bc_unschedule", f"unsch:{p.id}", id=p.id)])
        elif p.status == "running":
            rows.append([button("bc_stop_id", f"stop:{p.id}", id=p.id)])
    rows.append([button("bc_new", "new")])
    await ack(update)
    await edit(
        update,
        context,
        "broadcast_list",
        buttons=rows,
        items=items,
        zone=ZoneInfo(user.timezone),
        tz=user.timezone,
    )


async def act_new(update, context, user):
    await ack(update)
    await start_compose(update, context, user, as_edit=True)


async def act_confirm(update, context, user, mid):
    """Turn "minta konfirmasi" on or off for the draft, then show the summary again."""
    if await _draft(update, context, user, mid) is None:
        return
    c = core(context)
    await c.confirm.set_asking(mid, not await c.confirm.is_asking(mid))
    await ack(update)
    await preview_summary(update, context, user, mid, as_edit=True)


_ACTIONS = {
    ("cf", 1): act_confirm,
    ("all", 1): act_all,
    ("opd", 2): act_opd,
    ("t", 3): act_toggle,
    ("k", 2): act_kind,
    ("done", 1): act_done,
    ("aud", 1): act_change_audience,
    ("go", 1): act_go,
    ("sch", 1): act_schedule,
    ("x", 1): act_cancel_draft,
    ("stop", 1): act_stop,
    ("unsch", 1): act_unschedule,
    ("list", 0): act_list,
    ("new", 0): act_new,
}
