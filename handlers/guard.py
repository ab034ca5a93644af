"""The first handler every update meets (group -2): what no feature can handle ends here.

Telegram sends more than the features expect. Each of these gets a polite answer (buttons) or
is ignored in silence, and never reaches a handler that would raise on it:

- edited messages (and edited channel or business messages): an edit is not a new message,
  so a command is never run again because its message was corrected;
- channel posts, business messages, and any other update type without a user behind it that
  the bot serves (chat member changes, reactions, polls, inline queries, payments, boosts);
- messages without ``from`` (sent on behalf of a channel or an anonymous group admin), from
  other bots, or in channels; an anonymous admin's command or reply to the bot is told why
  nothing happens (Telegram hides who wrote it), everything else is silent;
- button presses from an inline message (no ``message``), on a message the bot can no longer
  see (deleted, too old), or without data (games): answered with a short notice.

Everything else (a new message from a person, a press on a button of a message the bot sent)
goes on to the features.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from handlers.common import Ctx, answer, reply

log = logging.getLogger(__name__)

SERVED_CHATS = (ChatType.PRIVATE, ChatType.GROUP, ChatType.SUPERGROUP)


def _message_refusal(msg: Message) -> str | None:
    if msg.chat is None or msg.chat.type not in SERVED_CHATS:
        return "not a private chat or group"
    if msg.from_user is None:
        return "message without a sender (channel or anonymous admin)"
    if msg.from_user.is_bot:
        return "message from a bot"
    return None


def _anonymous_admin_asks(msg: Message, bot_id: int) -> bool:
    """A group admin writing anonymously (the message comes "from" the group itself) sent a
    command or replied to the bot: they expect something to happen."""
    if msg.sender_chat is None or msg.sender_chat.id != msg.chat.id:
        return False
    text = msg.text or msg.caption or ""
    replied = msg.reply_to_message
    author = replied.from_user if replied is not None else None
    to_bot = author is not None and author.id == bot_id
    return text.startswith("/") or to_bot


def refusal(update: Update) -> tuple[str, str | None] | None:
    """Why the features must not see this update, and the notice for a button press (a label
    key, or None for silence); None when the update goes on."""
    if update.message is not None:
        reason = _message_refusal(update.message)
        return (reason, None) if reason else None
    q = update.callback_query
    if q is not None:
        if q.message is None:
            return ("button of an inline message", "inline_unsupported")
        if not isinstance(q.message, Message):
            return ("button on a message the bot cannot see", "stale")
        if q.data is None:
            return ("button without data", "stale")
        if q.message.chat.type not in SERVED_CHATS:
            return ("button in a channel", "inline_unsupported")
        return None
    kind = next((k for k in update.to_dict() if k != "update_id"), "unknown")
    return (f"{kind} updates are not handled", None)


async def guard(update: object, context: Ctx) -> None:
    if not isinstance(update, Update):
        raise ApplicationHandlerStop
    why = refusal(update)
    if why is None:
        return
    reason, notice = why
    log.info("update %s ignored: %s", update.update_id, reason)
    msg = update.message
    if msg is not None and _anonymous_admin_asks(msg, context.bot.id):
        try:
            await reply(update, context, "anonymous_admin")
        except Exception as exc:  # noqa: BLE001 - no right to write here: nothing else to do
            log.info("could not tell the anonymous admin: %s", exc)
    if notice is not None and update.callback_query is not None:
        try:
            await answer(update, notice, alert=False)
        except Exception as exc:  # noqa: BLE001 - too old or already answered: nothing to do
            log.info("could not answer the ignored button press: %s", exc)
    raise ApplicationHandlerStop
