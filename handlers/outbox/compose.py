"""/siaran: composing a broadcast, choosing its audience, the preview."""

from __future__ import annotations

import math
import re

from telegram import Message, Update

from bot.accounts.opds import KINDS
from bot.accounts.service import UserView
from bot.outbox.labels import olabel
from bot.transport import Button
from handlers import tokens
from handlers.common import (
    Ctx,
    admin_only,
    core,
    current_user,
    edit,
    is_private,
    reply,
)

PREFIX = "bc"
# Kinds of the OPD list an admin may pick as a whole in the audience picker.
KIND_GROUPS = {
    "dinas": "dinas",
    "badan": "badan",
    "bagian": "bagian Setda",
    "kecamatan": "kecamatan",
    "kelurahan": "kelurahan",
    "desa": "desa",
    "puskesmas": "puskesmas",
    "sekolah": "sekolah",
    "rsud": "RSUD",
    "uptd": "UPTD",
}
PENDING_COMPOSE = "bc_compose"
PENDING_WHEN = "bc_when"
OPD_PAGE = 8
HISTORY = 5
CANCEL_WORDS = {"batal", "/batal", "cancel"}
ID_RE = re.compile(r"[0-9]{1,18}")


def button(key: str, data: str, **fmt) -> Button:
    text = olabel(key).format(**fmt) if fmt else olabel(key)
    return Button(text, callback_data=f"{PREFIX}:{data}")


async def ack(update: Update, key: str | None = None, *, alert: bool = False) -> None:
    q = update.callback_query
    if q is not None:
        await q.answer(text=olabel(key) if key else None, show_alert=alert)


def tz_label(tz: str) -> str:
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


async def draft_buttons(update: Update, context: Ctx, rows, *, new: bool = False):
    """The buttons of the broadcast being composed carry its dialogue token: those of a
    broadcast already sent, scheduled or cancelled, or replaced by a newer /siaran, are stale."""
    token = await tokens.token_for(update, context, tokens.BROADCAST, new=new)
    return tokens.tag_rows(rows, tokens.BROADCAST, token)


async def start_compose(update: Update, context: Ctx, user: UserView, *, as_edit: bool) -> None:
    await core(context).users.set_pending(user.telegram_id, PENDING_COMPOSE)
    buttons = [[button("bc_history", "list"), button("bc_cancel", "x:0")]]
    buttons = await draft_buttons(update, context, buttons, new=True)
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
        await tokens.close(update, context, tokens.BROADCAST)
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
    await ask_audience(update, context, mid, as_edit=False)


def _copyable(msg: Message) -> bool:
    return any(
        getattr(msg, kind, None)
        for kind in ("photo", "document", "video", "animation", "audio", "voice")
    )


async def ask_audience(update: Update, context: Ctx, mid: int, *, as_edit: bool) -> None:
    c = core(context)
    total = await c.outbox.count_audience(None)
    buttons = [
        [button("bc_all", f"all:{mid}", n=total)],
        [button("bc_pick_opd", f"opd:{mid}:0")],
        [button("bc_cancel", f"x:{mid}")],
    ]
    buttons = await draft_buttons(update, context, buttons)
    if as_edit:
        await edit(update, context, "broadcast_audience", buttons=buttons, id=mid, total=total)
    else:
        await reply(update, context, "broadcast_audience", buttons=buttons, id=mid, total=total)


async def opd_page(update: Update, context: Ctx, mid: int, page: int, chosen: list[str]):
    c = core(context)
    opds = await c.users.list_opds()
    counts = await c.users.count_by_opd()
    pages = max(1, math.ceil(len(opds) / OPD_PAGE))
    page = min(max(page, 0), pages - 1)
    rows: list[list[Button]] = []
    if page == 0:  # a whole kind in one tap: every kecamatan, every puskesmas, ...
        kinds: dict[str, list[str]] = {}
        for o in opds:
            if o.kind in KIND_GROUPS:
                kinds.setdefault(o.kind, []).append(o.slug)
        row: list[Button] = []
        for kind, slugs in kinds.items():
            if len(slugs) < 2:
                continue
            on = all(sl in chosen for sl in slugs)
            key = "bc_kind_on" if on else "bc_kind_off"
            row.append(button(key, f"k:{mid}:{KINDS.index(kind)}", name=KIND_GROUPS[kind]))
            if len(row) == 2:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
    for o in opds[page * OPD_PAGE : (page + 1) * OPD_PAGE]:
        key = "bc_opd_on" if o.slug in chosen else "bc_opd_off"
        rows.append([button(key, f"t:{mid}:{o.id}:{page}", name=o.name, n=counts.get(o.slug, 0))])
    nav = []
    if page > 0:
        nav.append(button("bc_prev", f"opd:{mid}:{page - 1}"))
    if page < pages - 1:
        nav.append(button("bc_next", f"opd:{mid}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([button("bc_opd_done", f"done:{mid}")])
    rows.append([button("bc_cancel", f"x:{mid}")])
    rows = await draft_buttons(update, context, rows)
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


async def preview(update: Update, context: Ctx, user: UserView, mid: int) -> None:
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
    await preview_summary(update, context, user, mid, as_edit=False)


async def preview_summary(
    update: Update, context: Ctx, user: UserView, mid: int, *, as_edit: bool
) -> None:
    """The preview's summary: who receives it, whether it asks for confirmation, the buttons."""
    c = core(context)
    p = await c.outbox.get(mid)
    assert p is not None
    recipients = await c.outbox.count_audience(p.audience_opds or None)
    names = await opd_names(context, p.audience_opds)
    asking = await c.confirm.is_asking(mid)
    buttons: list[list[Button]] = []
    if recipients:
        buttons.append([button("bc_send_now", f"go:{mid}"), button("bc_schedule", f"sch:{mid}")])
    buttons.append([button("bc_confirm_on" if asking else "bc_confirm_off", f"cf:{mid}")])
    buttons.append([button("bc_change_audience", f"aud:{mid}")])
    buttons.append([button("bc_cancel", f"x:{mid}")])
    buttons = await draft_buttons(update, context, buttons)
    kwargs = dict(
        buttons=buttons,
        id=mid,
        recipients=recipients,
        opds=names,
        tz=tz_label(user.timezone),
        is_copy=p.is_copy,
        confirm=asking,
    )
    if as_edit:
        await edit(update, context, "broadcast_preview", **kwargs)
    else:
        await reply(update, context, "broadcast_preview", **kwargs)


async def opd_names(context: Ctx, slugs: list[str]) -> list[str]:
    if not slugs:
        return []
    opds = await core(context).users.list_opds()
    return [o.name for o in opds if o.slug in slugs]
