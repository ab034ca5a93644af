"""/start and the OPD question (registration)."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.accounts.service import OPD_OTHER_MAX, UserView
from bot.labels import label
from bot.transport import Button
from handlers.accounts import opd_match
from handlers.commands import set_admin_commands
from handlers.common import (
    Ctx,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    is_private,
    register_user,
    reply,
    stale,
)

log = logging.getLogger(__name__)

OPD_PAGE_SIZE = 8
TZ_LABELS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}

StartPayloadHandler = Callable[[Update, Ctx, UserView, str], Awaitable[Any]]
_start_payloads: dict[str, StartPayloadHandler] = {}


def register_start_payload(prefix: str, handler: StartPayloadHandler) -> None:
    """Deep links ``t.me/<bot>?start=<prefix>...`` go to ``handler`` after registration."""
    _start_payloads[prefix] = handler


# -- /start ------------------------------------------------------------------------------------
async def cmd_start(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "group_start", bot_username=core(context).bot_username)
        return
    user, created = await register_user(update, context)
    if created and core(context).users.is_admin(user.telegram_id, user.role):
        await set_admin_commands(context.bot, user.chat_id)
    payload = context.args[0] if context.args else ""
    for prefix, handler in _start_payloads.items():
        if payload.startswith(prefix):
            if created:
                await reply(update, context, "privacy")
            await handler(update, context, user, payload)
            return
    bot_name = context.bot.first_name or "OPD Bot"
    await reply(
        update, context, "start_welcome", created=created, name=user.name, bot_name=bot_name
    )
    if created or not user.has_opd:
        await reply(update, context, "privacy")
        await send_opd_question(update, context, page=0, as_edit=False)


# -- the OPD question --------------------------------------------------------------------------
async def opd_keyboard(
    context: Ctx, page: int, skippable: bool = False
) -> tuple[list[list[Button]], int, int]:
    opds = await core(context).users.list_opds()
    pages = max(1, math.ceil(len(opds) / OPD_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = opds[page * OPD_PAGE_SIZE : (page + 1) * OPD_PAGE_SIZE]
    rows = [[Button(o.name, callback_data=f"opd:s:{o.slug}")] for o in chunk]
    nav = []
    k = ":k" if skippable else ""
    if page > 0:
        nav.append(Button(label("prev"), callback_data=f"opd:p:{page - 1}{k}"))
    if page < pages - 1:
        nav.append(Button(label("next"), callback_data=f"opd:p:{page + 1}{k}"))
    if nav:
        rows.append(nav)
    rows.append([Button(label("other"), callback_data="opd:o")])
    if skippable:
        rows.append([Button(label("skip"), callback_data="opd:k")])
    return rows, page, pages


async def send_opd_question(
    update: Update, context: Ctx, *, page: int, as_edit: bool, skippable: bool = False
) -> None:
    """The OPD picker; while it shows, a typed text is taken as the OPD's name. Participants
    who came by a QR code may skip it (``skippable``)."""
    tg = update.effective_user
    if tg is not None:
        await core(context).users.set_pending(tg.id, "opd_pick")
    rows, page, pages = await opd_keyboard(context, page, skippable)
    kwargs = dict(buttons=rows, page=page, pages=pages, skippable=skippable)
    if as_edit:
        await edit(update, context, "ask_opd", **kwargs)
    else:
        await reply(update, context, "ask_opd", **kwargs)


async def on_opd_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "opd")
    user = await current_user(update, context)
    if parts is None or user is None:
        await stale(update, context)
        return
    users = core(context).users
    action = parts[0]
    if (
        action == "p"
        and len(parts) in (2, 3)
        and parts[1].isascii()
        and parts[1].isdigit()
        and parts[2:] in ([], ["k"])
    ):
        await answer(update)
        await send_opd_question(
            update, context, page=int(parts[1]), as_edit=True, skippable=parts[2:] == ["k"]
        )
    elif action == "k" and len(parts) == 1:
        if user.pending in ("opd_pick", "opd_other", "opd_unit"):
            await users.set_pending(user.telegram_id, None)
        await answer(update, "cancelled")
        await edit(update, context, "opd_skipped")
    elif action == "s" and len(parts) == 2:
        updated = await users.set_opd(user.telegram_id, parts[1])
        if updated is None:
            await stale(update, context)
            return
        await users.set_pending(user.telegram_id, None)
        await users.accept_privacy(user.telegram_id)
        await answer(update, "saved")
        await finish_opd(update, context, updated, as_edit=True, first=not user.has_opd)
    elif action == "o" and len(parts) == 1:
        await users.set_pending(user.telegram_id, "opd_other")
        await answer(update)
        await edit(update, context, "opd_other_prompt", limit=OPD_OTHER_MAX)
    elif action == "u" and len(parts) == 1:
        await opd_match.parent_page(update, context, user, 0)
    elif action == "pp" and len(parts) == 2 and parts[1].isascii() and parts[1].isdigit():
        await opd_match.parent_page(update, context, user, int(parts[1]))
    elif action == "ps" and len(parts) == 2:
        await opd_match.choose_parent(update, context, user, parts[1])
    elif action == "pn" and len(parts) == 1:
        await opd_match.choose_parent(update, context, user, None)
    else:
        await stale(update, context)


async def finish_opd(
    update: Update, context: Ctx, user: UserView, *, as_edit: bool, first: bool = True
) -> None:
    """The OPD is saved: say which and the time zone that now applies; at registration
    (``first``) also how to start, not when an OPD is changed later from /profil."""
    await core(context).users.accept_privacy(user.telegram_id)
    kwargs = dict(opd=user.opd_name, tz=TZ_LABELS.get(user.timezone, user.timezone), first=first)
    if as_edit:
        await edit(update, context, "opd_saved", **kwargs)
    else:
        await reply(update, context, "opd_saved", **kwargs)


async def short_text(update: Update, context: Ctx, *, limit: int, prompt: str, **ctx) -> str | None:
    """The typed text of a short free-text answer, or None after re-asking politely
    (a sticker or photo instead of text, or a text over ``limit`` characters)."""
    text = update.effective_message.text if update.effective_message else None
    if text is None or not text.strip():
        await reply(update, context, prompt, limit=limit, **ctx)
        return None
    if len(text) > limit:
        await reply(update, context, "too_long", length=len(text), limit=limit)
        return None
    return text
