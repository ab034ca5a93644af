"""/siaran (admins): compose a broadcast, pick its audience, preview, send now or schedule;
live progress with a cancel button; recent broadcasts with their reports.

Callback data ``bc:<action>:<broadcast id>[:<arg>...]``:
  all / opd:<page> / t:<opd id>:<page> / done / go / sch / aud / x (draft)
  stop (running) / unsch (scheduled) / list / new
The draft lives in the database (``outbox_messages`` with status draft); the free-text steps
(the message to send, the date and time) are dialogue states ``bc_compose`` and ``bc_when``.
"""

from __future__ import annotations

import logging
import math
import re
from zoneinfo import ZoneInfo

from telegram import Message, Update
from telegram.error import BadRequest as TelegramBadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.outbox.labels import olabel
from bot.reminder_parse import parse_schedule
from bot.transport import Button
from bot.users import UserView
from handlers.common import (
    Ctx,
    admin_only,
    callback_parts,
    core,
    current_user,
    edit,
    is_private,
    reply,
    stale,
)
from handlers.dialogue import register_pending

log = logging.getLogger(__name__)

PREFIX = "bc"
PENDING_COMPOSE = "bc_compose"
PENDING_WHEN = "bc_when"
OPD_PAGE = 8
HISTORY = 5
CANCEL_WORDS = {"batal", "/batal", "cancel"}
_ID = re.compile(r"[0-9]{1,18}")


def _b(key: str, data: str, **fmt) -> Button:
    text = olabel(key).format(**fmt) if fmt else olabel(key)
    return Button(text, callback_data=f"{PREFIX}:{data}")


async def _answer(update: Update, key: str | None = None, *, alert: bool = False) -> None:
    q = update.callback_query
    if q is not None:
        await q.answer(text=olabel(key) if key else None, show_alert=alert)


def _tz_label(tz: str) -> str:
    return {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(tz, tz)


# -- /siaran -----------------------------------------------------------------------------------
@admin_only
async def cmd_siaran(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "broadcast_private_only")
        return
    user = await current_user(update, context)
    assert user is not None
    await start_compose(update, context, user, as_edit=False)


async def start_compose(update: Update, context: Ctx, user: UserView, *, as_edit: bool) -> None:
    await core(context).users.set_pending(user.telegram_id, PENDING_COMPOSE)
    buttons = [[_b("bc_history", "list"), _b("bc_cancel", "x:0")]]
    if as_edit:
        await edit(update, context, "broadcast_compose", buttons=buttons)
    else:
        await reply(update, context, "broadcast_compose", buttons=buttons)


async def on_compose(update: Update, context: Ctx, user: UserView) -> None:
    """The admin sent the message to broadcast: keep it as a draft, ask for the audience."""
    c = core(context)
    msg = update.effective_message
    assert msg is not None
    if not c.users.is_admin(user.telegram_id, user.role):
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "admin_only")
        return
    if msg.text is not None and msg.text.strip().lower() in CANCEL_WORDS:
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "broadcast_draft_cancelled")
        return
    if msg.text is not None:
        mid, _ = await c.outbox.create_message(
            "broadcast",
            text=msg.text_html,
            creator_user_id=user.id,
            creator_chat_id=msg.chat_id,
            timezone=user.timezone,
        )
    elif _copyable(msg):
        mid, _ = await c.outbox.create_message(
            "broadcast",
            copy_from=(msg.chat_id, msg.message_id),
            creator_user_id=user.id,
            creator_chat_id=msg.chat_id,
            timezone=user.timezone,
        )
    else:
        await reply(update, context, "broadcast_unsupported")
        return
    await c.users.set_pending(user.telegram_id, None)
    await _ask_audience(update, context, mid, as_edit=False)


def _copyable(msg: Message) -> bool:
    return any(
        getattr(msg, kind, None)
        for kind in ("photo", "document", "video", "animation", "audio", "voice")
    )


async def _ask_audience(update: Update, context: Ctx, mid: int, *, as_edit: bool) -> None:
    c = core(context)
    total = await c.outbox.count_audience(None)
    buttons = [
        [_b("bc_all", f"all:{mid}", n=total)],
        [_b("bc_pick_opd", f"opd:{mid}:0")],
        [_b("bc_cancel", f"x:{mid}")],
    ]
    if as_edit:
        await edit(update, context, "broadcast_audience", buttons=buttons, id=mid, total=total)
    else:
        await reply(update, context, "broadcast_audience", buttons=buttons, id=mid, total=total)


async def _opd_page(update: Update, context: Ctx, mid: int, page: int, chosen: list[str]):
    c = core(context)
    opds = await c.users.list_opds()
    counts = await c.users.count_by_opd()
    pages = max(1, math.ceil(len(opds) / OPD_PAGE))
    page = min(max(page, 0), pages - 1)
    rows: list[list[Button]] = []
    for o in opds[page * OPD_PAGE : (page + 1) * OPD_PAGE]:
        key = "bc_opd_on" if o.slug in chosen else "bc_opd_off"
        rows.append([_b(key, f"t:{mid}:{o.id}:{page}", name=o.name, n=counts.get(o.slug, 0))])
    nav = []
    if page > 0:
        nav.append(_b("bc_prev", f"opd:{mid}:{page - 1}"))
    if page < pages - 1:
        nav.append(_b("bc_next", f"opd:{mid}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([_b("bc_opd_done", f"done:{mid}")])
    rows.append([_b("bc_cancel", f"x:{mid}")])
    n = await c.outbox.count_audience(chosen) if chosen else 0
    names = [o.name for o in opds if o.slug in chosen]
    await edit(
        update,
        context,
        "broadcast_opd_pick",
        buttons=rows,
        page=page,
        pages=pages,
        chosen=names,
        recipients=n,
    )


async def _preview(update: Update, context: Ctx, user: UserView, mid: int) -> None:
    """Show the message exactly as recipients will get it, then the summary with buttons."""
    c = core(context)
    p = await c.outbox.get(mid)
    content = await c.outbox.content(mid)
    assert p is not None and content is not None
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    if content.copy_message_id is not None:
        await context.bot.copy_message(
            chat_id=chat_id,
            from_chat_id=content.copy_from_chat_id,
            message_id=content.copy_message_id,
        )
    else:
        await context.bot.send_message(chat_id=chat_id, text=content.text or "")
    recipients = await c.outbox.count_audience(p.audience_opds or None)
    names = await _opd_names(context, p.audience_opds)
    buttons: list[list[Button]] = []
    if recipients:
        buttons.append([_b("bc_send_now", f"go:{mid}"), _b("bc_schedule", f"sch:{mid}")])
    buttons.append([_b("bc_change_audience", f"aud:{mid}")])
    buttons.append([_b("bc_cancel", f"x:{mid}")])
    await reply(
        update,
        context,
        "broadcast_preview",
        buttons=buttons,
        id=mid,
        recipients=recipients,
        opds=names,
        tz=_tz_label(user.timezone),
        is_copy=p.is_copy,
    )


async def _opd_names(context: Ctx, slugs: list[str]) -> list[str]:
    if not slugs:
        return []
    opds = await core(context).users.list_opds()
    return [o.name for o in opds if o.slug in slugs]


# -- buttons -----------------------------------------------------------------------------------
@admin_only
async def on_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, PREFIX)
    user = await current_user(update, context)
    if not parts or user is None:
        await stale(update, context)
        return
    action, args = parts[0], parts[1:]
    if not all(_ID.fullmatch(a) for a in args):  # ASCII digits that fit a database id
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
    await _answer(update)
    await edit(update, context, "broadcast_audience_chosen", opds=[])
    await _preview(update, context, user, mid)


async def act_opd(update, context, user, mid, page):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    await _answer(update)
    await _opd_page(update, context, mid, page, p.audience_opds)


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
    await _answer(update)
    await _opd_page(update, context, mid, page, sorted(chosen))


async def act_done(update, context, user, mid):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    if not p.audience_opds:
        await _answer(update, "bc_none_selected", alert=True)
        return
    await _answer(update)
    await edit(
        update,
        context,
        "broadcast_audience_chosen",
        opds=await _opd_names(context, p.audience_opds),
    )
    await _preview(update, context, user, mid)


async def act_change_audience(update, context, user, mid):
    if await _draft(update, context, user, mid) is None:
        return
    await _answer(update)
    await _ask_audience(update, context, mid, as_edit=True)


async def act_go(update, context, user, mid):
    p = await _draft(update, context, user, mid)
    if p is None:
        return
    c = core(context)
    if await c.outbox.count_audience(p.audience_opds or None) == 0:
        await _answer(update, "bc_no_recipients", alert=True)
        return
    total = await c.outbox.start_broadcast(mid)
    if total is None:
        await stale(update, context)
        return
    await _answer(update, "bc_started")
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

    try:
        if p.running:
            await edit(update, context, "broadcast_progress", buttons=[[cancel_button(p.id)]], p=p)
        else:
            await edit(update, context, "broadcast_report", p=p)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def act_schedule(update, context, user, mid):
    if await _draft(update, context, user, mid) is None:
        return
    await core(context).users.set_pending(user.telegram_id, PENDING_WHEN, {"id": mid})
    await _answer(update)
    await edit(
        update,
        context,
        "broadcast_ask_when",
        buttons=[[_b("bc_cancel", f"x:{mid}")]],
        tz=_tz_label(user.timezone),
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
        await c.outbox.delete_draft(p.id)
        await reply(update, context, "broadcast_draft_cancelled")
        return
    tz = user.timezone
    now = c.outbox.clock()
    parsed = parse_schedule(text, now.astimezone(ZoneInfo(tz))) if text else None
    if parsed is None or parsed.rule.kind != "once":
        await reply(update, context, "broadcast_when_invalid", problem="format", tz=_tz_label(tz))
        return
    zone = parsed.timezone or tz
    at = parsed.rule.next_after(now, ZoneInfo(zone))
    if at is None:
        await reply(update, context, "broadcast_when_invalid", problem="past", tz=_tz_label(tz))
        return
    await c.outbox.schedule_broadcast(p.id, at, zone)
    await c.users.set_pending(user.telegram_id, None)
    recipients = await c.outbox.count_audience(p.audience_opds or None)
    sent = await reply(
        update,
        context,
        "broadcast_scheduled",
        buttons=[[_b("bc_unschedule", f"unsch:{p.id}", id=p.id)]],
        id=p.id,
        when=at.astimezone(ZoneInfo(zone)),
        tz=zone,
        recipients=recipients,
        opds=await _opd_names(context, p.audience_opds),
    )
    # This message becomes the live status message once the broadcast starts.
    await c.outbox.set_status_message(p.id, sent.chat_id, sent.message_id)


async def act_cancel_draft(update, context, user, mid):
    c = core(context)
    if mid == 0:  # cancelled before anything was written
        await c.users.set_pending(user.telegram_id, None)
        await _answer(update)
        await edit(update, context, "broadcast_draft_cancelled")
        return
    if await _draft(update, context, user, mid) is None:
        return
    await c.users.set_pending(user.telegram_id, None)
    await c.outbox.delete_draft(mid)
    await _answer(update)
    await edit(update, context, "broadcast_draft_cancelled")


async def act_stop(update, context, user, mid):
    """Stop a running broadcast: rows not sent yet are cancelled."""
    c = core(context)
    p = await c.outbox.get(mid)
    if p is None or p.kind != "broadcast" or p.status != "running":
        await stale(update, context)
        return
    await c.outbox.cancel(mid)
    await _answer(update, "bc_stopped")
    await edit(update, context, "broadcast_report", p=await c.outbox.get(mid))


async def act_unschedule(update, context, user, mid):
    c = core(context)
    p = await c.outbox.get(mid)
    if p is None or p.kind != "broadcast" or p.status != "scheduled":
        await stale(update, context)
        return
    await c.outbox.cancel(mid)
    await _answer(update, "bc_unscheduled")
    await edit(update, context, "broadcast_report", p=await c.outbox.get(mid))


async def act_list(update, context, user):
    c = core(context)
    await c.users.set_pending(user.telegram_id, None)
    items = await c.outbox.recent("broadcast", HISTORY)
    rows: list[list[Button]] = []
    for p in items:
        if p.status == "scheduled":
            rows.append([_b("bc_unschedule", f"unsch:{p.id}", id=p.id)])
        elif p.status == "running":
            rows.append([_b("bc_stop_id", f"stop:{p.id}", id=p.id)])
    rows.append([_b("bc_new", "new")])
    await _answer(update)
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
    await _answer(update)
    await start_compose(update, context, user, as_edit=True)


_ACTIONS = {
    ("all", 1): act_all,
    ("opd", 2): act_opd,
    ("t", 3): act_toggle,
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


def register(app: Application) -> None:
    app.add_handler(CommandHandler("siaran", cmd_siaran))
    app.add_handler(CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"))
    register_pending(PENDING_COMPOSE, on_compose)
    register_pending(PENDING_WHEN, on_when)
