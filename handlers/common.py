"""Small helpers every handler uses: the core, the current user, replies and keyboards."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.accounts.service import UserView
from bot.core import Core
from bot.labels import label
from bot.templates import render
from bot.tghtml import split_message
from bot.transport import Button

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Ctx], Awaitable[Any]]

# Longest free text we accept for a question or a short answer.
TEXT_LIMIT = 1000


def core(context: Ctx) -> Core:
    return context.application.bot_data["core"]


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def keyboard(rows: Sequence[Sequence[Button]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.callback_data)
                for b in row
            ]
            for row in rows
            if row
        ]
    )


def full_name(update: Update) -> str | None:
    u = update.effective_user
    if u is None:
        return None
    return " ".join(p for p in (u.first_name, u.last_name) if p) or None


async def current_user(update: Update, context: Ctx) -> UserView | None:
    """The registered user behind this update, or None (they have not pressed /start)."""
    u = update.effective_user
    if u is None or u.is_bot:
        return None
    return await core(context).users.touch(u.id)


async def registered_user(update: Update, context: Ctx) -> UserView | None:
    """The registered user, or None after telling them to press /start first."""
    user = await current_user(update, context)
    if user is None:
        await reply(update, context, "not_registered")
    return user


async def register_user(update: Update, context: Ctx) -> tuple[UserView, bool]:
    """Register (or refresh) the user behind this update; returns (user, created)."""
    u = update.effective_user
    assert u is not None
    return await core(context).users.register(
        u.id, u.id, full_name(update), u.username, u.language_code
    )


async def send(
    context: Ctx,
    chat_id: int,
    template: str,
    *,
    buttons: Sequence[Sequence[Button]] | None = None,
    reply_to: int | None = None,
    **ctx: Any,
) -> Message:
    """Render a template and send it, split over several messages when too long.

    The keyboard goes with the last part; returns the last message sent.
    """
    text = render(template, **ctx)
    return await send_html(context, chat_id, text, buttons=buttons, reply_to=reply_to)


async def send_html(
    context: Ctx,
    chat_id: int,
    text: str,
    *,
    buttons: Sequence[Sequence[Button]] | None = None,
    reply_to: int | None = None,
) -> Message:
    parts = split_message(text)
    msg: Message | None = None
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        msg = await context.bot.send_message(
            chat_id=chat_id,
            text=part,
            reply_markup=keyboard(buttons) if last else None,
            reply_to_message_id=reply_to if i == 0 else None,
        )
    assert msg is not None
    return msg


async def reply(
    update: Update,
    context: Ctx,
    template: str,
    *,
    buttons: Sequence[Sequence[Button]] | None = None,
    **ctx: Any,
) -> Message:
    """Reply in the chat of the update (quoting the message in groups)."""
    chat = update.effective_chat
    assert chat is not None
    reply_to = None
    if chat.type != ChatType.PRIVATE and update.effective_message is not None:
        reply_to = update.effective_message.message_id
    return await send(context, chat.id, template, buttons=buttons, reply_to=reply_to, **ctx)


def _not_modified(exc: TelegramError) -> bool:
    # The same button pressed twice (a double tap, or an old keyboard in another client), or a
    # live view refreshed with nothing new: the message already shows it, which is not an error.
    return "not modified" in str(exc).lower()


async def edit_html(
    context: Ctx,
    chat_id: int,
    message_id: int,
    text: str,
    buttons: Sequence[Sequence[Button]] | None = None,
    *,
    quiet: bool = False,
) -> bool:
    """Replace a message's HTML text and keyboard; True when Telegram changed it.

    "Message is not modified" is never an error. Other refusals are raised, or with ``quiet``
    (best-effort refreshes of older messages) logged and answered with False."""
    try:
        await context.bot.edit_message_text(
            chat_id=chat_id,
            message_id=message_id,
            text=split_message(text)[0],
            reply_markup=keyboard(buttons),
        )
    except TelegramError as exc:
        if _not_modified(exc):
            return False
        if not quiet:
            raise
        log.info("message %s in chat %s not updated: %s", message_id, chat_id, exc)
        return False
    return True


async def edit_pressed(
    update: Update, context: Ctx, text: str, buttons: Sequence[Sequence[Button]] | None = None
) -> None:
    """Replace the HTML text of the message whose button was pressed."""
    q = update.callback_query
    assert q is not None and q.message is not None
    await edit_html(context, q.message.chat.id, q.message.message_id, text, buttons)


async def edit(
    update: Update,
    context: Ctx,
    template: str,
    *,
    buttons: Sequence[Sequence[Button]] | None = None,
    **ctx: Any,
) -> None:
    """Replace the text of the message whose button was pressed with a rendered template."""
    await edit_pressed(update, context, render(template, **ctx), buttons)


async def respond(
    update: Update,
    context: Ctx,
    template: str,
    *,
    as_edit: bool,
    buttons: Sequence[Sequence[Button]] | None = None,
    **ctx: Any,
) -> None:
    """A view that a command sends anew and its buttons redraw in place."""
    if as_edit and update.callback_query is not None and update.callback_query.message:
        await edit(update, context, template, buttons=buttons, **ctx)
    else:
        await reply(update, context, template, buttons=buttons, **ctx)


async def answer(update: Update, text_key: str | None = None, *, alert: bool = False) -> None:
    """Answer a callback query (stops the button's spinner), optionally with a short text."""
    q = update.callback_query
    if q is None:
        return
    await q.answer(text=label(text_key) if text_key else None, show_alert=alert)


async def stale(update: Update, context: Ctx) -> None:
    """A button whose data is stale or was tampered with: say so, change nothing."""
    log.info("stale or invalid callback data: %r", getattr(update.callback_query, "data", None))
    await answer(update, "stale", alert=True)


# The dialogue token at the end of a button's callback data (see ``handlers.tokens``).
DIALOG_TAG = re.compile(r"~([a-z])([A-Za-z0-9]{6})$")


def callback_data(update: Update) -> str | None:
    """The pressed button's data without its dialogue token."""
    q = update.callback_query
    if q is None or not q.data:
        return None
    return DIALOG_TAG.sub("", q.data)


def callback_parts(update: Update, prefix: str, n_min: int = 1) -> list[str] | None:
    data = callback_data(update)
    if not data:
        return None
    parts = data.split(":")
    if parts[0] != prefix or len(parts) - 1 < n_min:
        return None
    return parts[1:]


def admin_only(func: Handler) -> Handler:
    """Let only Diskominfo admins through; everyone else gets a polite refusal."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: Ctx) -> Any:
        user = await current_user(update, context)
        tg_user = update.effective_user
        role = user.role if user is not None else None
        if tg_user is None or not core(context).users.is_admin(tg_user.id, role):
            if update.callback_query is not None:
                await answer(update, "admin_only", alert=True)
            else:
                await reply(update, context, "admin_only")
            return None
        return await func(update, context)

    return wrapper
