"""What nobody else handled: unknown commands, and the last-resort error handler."""

from __future__ import annotations

import contextlib
import html
import logging
import traceback

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden

from handlers.common import Ctx, core, reply

log = logging.getLogger(__name__)


async def on_unknown_command(update: Update, context: Ctx) -> None:
    msg = update.effective_message
    chat = update.effective_chat
    if msg is None or msg.text is None or chat is None:
        return
    command = msg.text.split()[0]
    if chat.type != ChatType.PRIVATE:
        # In groups only answer commands explicitly addressed to this bot.
        name = core(context).bot_username or context.bot.username
        if not command.lower().endswith(f"@{name}".lower()):
            return
    await reply(update, context, "unknown_command", command=command[:64])


async def on_error(update: object, context: Ctx) -> None:
    """Log the update and traceback; tell the user politely, never showing internals."""
    err = context.error
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)) if err else ""
    log.error(
        "Error while handling update %r:\n%s", getattr(update, "to_dict", lambda: update)(), tb
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(err, Forbidden):
        return  # the user blocked us; nothing to say
    if update.callback_query is not None:
        # Often already answered (or too old to answer); the message below matters more.
        with contextlib.suppress(Exception):
            await update.callback_query.answer()
    try:
        await reply(update, context, "error")
    except Exception:  # noqa: BLE001 - the error handler itself must never raise
        log.exception("could not tell the user about the error (%s)", html.escape(str(err)))
