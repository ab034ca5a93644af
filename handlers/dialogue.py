"""Routing of free (non-command) private messages.

A user may be in the middle of a dialogue (typing their OPD, a reminder text, a survey answer,
a broadcast to send...). That state is stored in the database (``users.pending``) so a restart
loses nothing. Features register a handler for their own ``pending`` values; a message from a
user with no pending dialogue is a knowledge question (text) or politely declined (media).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.accounts.service import UserView
from handlers.common import Ctx, core, current_user, reply
from handlers.tokens import pending_kind

log = logging.getLogger(__name__)

PendingHandler = Callable[[Update, Ctx, UserView], Awaitable[Any]]
DefaultHandler = Callable[[Update, Ctx, UserView | None], Awaitable[Any]]

_pending: dict[str, PendingHandler] = {}
_default_text: list[DefaultHandler] = []


def register_pending(what: str, handler: PendingHandler) -> None:
    """Handle the next private message of users whose ``pending`` equals ``what``.

    The handler receives the user (with ``pending_data``) and decides whether the dialogue goes
    on (``core.users.set_pending``) or ends (set it to None).
    """
    _pending[what] = handler


def set_default_text_handler(handler: DefaultHandler) -> None:
    """What a private text message is when no dialogue is pending (a knowledge question)."""
    _default_text[:] = [handler]


async def on_private_message(update: Update, context: Ctx) -> None:
    user = await current_user(update, context)
    if update.effective_message is None:
        return
    if user is not None and user.pending:
        handler = _pending.get(user.pending)
        if handler is not None:
            await handler(update, context, user)
            return
        log.warning("no handler for pending dialogue %r; treating as new message", user.pending)
    msg = update.effective_message
    if msg.text is None:
        await reply(update, context, "not_text")
        return
    if _default_text:
        await _default_text[0](update, context, user)
    elif user is None:
        await reply(update, context, "not_registered")
    else:
        await reply(update, context, "help", group=False, admin=False, organizer=False)


async def on_private_command(update: Update, context: Ctx) -> None:
    """A command ends any half-finished dialogue, so a later free text is not mistaken for,
    say, the name the user once started to change. Runs before the command's own handler."""
    user = await current_user(update, context)
    if user is not None and user.pending:
        await core(context).users.set_pending(user.telegram_id, None)
        kind = pending_kind(user.pending)
        if kind is not None:  # the abandoned dialogue's buttons are stale too
            await core(context).dialogs.close(user.telegram_id, kind)
