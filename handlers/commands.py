"""The command menu (setMyCommands): Indonesian by default, English for language_code=en,
and the longer admin menu in each admin's private chat."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.commands import menu

log = logging.getLogger(__name__)
LANGUAGES = (("id", None), ("en", "en"))


async def set_commands(bot: Bot, admin_ids: frozenset[int]) -> None:
    for language, code in LANGUAGES:
        cmds = [BotCommand(c, d) for c, d in menu("staff", language)]
        await bot.set_my_commands(cmds, scope=BotCommandScopeDefault(), language_code=code)
    for admin_id in sorted(admin_ids):
        await set_admin_commands(bot, admin_id)


async def set_admin_commands(bot: Bot, chat_id: int) -> bool:
    """Admin menu for one admin's chat; False when Telegram does not know the chat yet
    (the admin has never opened the bot: it is set again at their /start)."""
    try:
        for language, code in LANGUAGES:
            cmds = [BotCommand(c, d) for c, d in menu("admin", language)]
            await bot.set_my_commands(cmds, scope=BotCommandScopeChat(chat_id), language_code=code)
    except TelegramError as exc:
        log.info("admin commands for %s not set yet: %s", chat_id, exc)
        return False
    return True
