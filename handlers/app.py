"""Build and run the PTB Application around the core (polling or webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    Defaults,
)

from bot.core import Core
from handlers.commands import set_commands
from handlers.registry import register_handlers

log = logging.getLogger(__name__)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; one chat's updates run in order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = None
        if isinstance(update, Update):
            if update.effective_chat is not None:
                key = update.effective_chat.id
            elif update.effective_user is not None:
                key = update.effective_user.id
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def build_application(core: Core) -> Application:
    settings = core.settings
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required")
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=2))
        .concurrent_updates(PerChatUpdateProcessor(64))
        .connection_pool_size(128)
        .pool_timeout(10)
        .build()
    )
    app.bot_data["core"] = core
    register_handlers(app)
    return app


async def start_app(app: Application, *, polling: bool = True) -> None:
    """Initialise the bot, register commands, start background work and (optionally) polling."""
    core: Core = app.bot_data["core"]
    await app.initialize()
    core.bot_username = app.bot.username
    await set_commands(app.bot, core.settings.admin_ids)
    from handlers.transport import TelegramTransport

    await core.start_background(TelegramTransport(app.bot))
    await app.start()
    if polling:
        assert app.updater is not None
        await app.bot.delete_webhook()
        await app.updater.start_polling(
            poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES
        )


async def stop_app(app: Application) -> None:
    core: Core = app.bot_data["core"]
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    with contextlib.suppress(Exception):
        await core.stop_background()
    if app.running:
        await app.stop()
    await app.shutdown()
