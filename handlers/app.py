"""Build and run the PTB Application around the core (polling or webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    Defaults,
    ExtBot,
)
from telegram.request import HTTPXRequest

from bot.budget import RateBudget
from bot.core import Core
from handlers.commands import set_commands
from handlers.ratelimit import BudgetRateLimiter
from handlers.registry import register_handlers
from handlers.startup import CommandMenu, telegram_call

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


def app_busy(app: Application) -> bool:
    """True while the application holds updates it has not finished handling (queued or being
    handled). The sandbox and the tests wait for this, not for a quiet moment alone."""
    return app.update_queue.qsize() > 0 or app.update_processor.current_concurrent_updates > 0


class OpdBot(ExtBot):
    """The bot object of the application. A button press answered more than 15 s after it was
    made (a backlog after downtime, a slow database) is refused by Telegram with "query is too
    old"; that only means the spinner already stopped on the user's side, so the handler goes on
    with the actual work instead of failing."""

    async def answer_callback_query(
        self, callback_query_id: str, *args: Any, **kwargs: Any
    ) -> bool:
        try:
            return await super().answer_callback_query(callback_query_id, *args, **kwargs)
        except BadRequest as exc:
            text = exc.message.lower()
            if "query is too old" not in text and "query id is invalid" not in text:
                raise
            log.info("callback query %s answered too late: %s", callback_query_id, exc.message)
            return False


def build_bot(settings, budget: RateBudget | None = None) -> OpdBot:
    """The application's bot; every message it sends takes a grant of ``budget`` (the token's
    one rate budget, shared with the broadcasts)."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required")
    return OpdBot(
        token=settings.telegram_bot_token,
        base_url=settings.telegram_base_url,
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        rate_limiter=BudgetRateLimiter(budget or RateBudget(), max_retries=2),
        request=HTTPXRequest(connection_pool_size=128, pool_timeout=10),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )


def build_application(core: Core) -> Application:
    app = (
        ApplicationBuilder()
        .bot(build_bot(core.settings, core.budget))
        .concurrent_updates(PerChatUpdateProcessor(64))
        .build()
    )
    app.bot_data["core"] = core
    register_handlers(app)
    return app


async def start_app(app: Application, *, polling: bool = True) -> None:
    """Initialise the bot, register commands, start background work and (optionally) polling."""
    core: Core = app.bot_data["core"]
    budget = core.settings.startup_timeout
    await telegram_call("getMe", app.initialize, budget)
    core.bot_username = app.bot.username
    menu = CommandMenu(app.bot, lambda: set_commands(app.bot, core.settings.admin_ids))
    app.bot_data["command_menu"] = menu
    await menu.start()
    from handlers.transport import TelegramTransport

    await core.start_background(TelegramTransport(app.bot, budget=core.budget))
    await app.start()
    if polling:
        assert app.updater is not None
        await telegram_call("deleteWebhook", app.bot.delete_webhook, budget)
        await app.updater.start_polling(
            poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES, bootstrap_retries=3
        )


async def stop_app(app: Application) -> None:
    core: Core = app.bot_data["core"]
    menu: CommandMenu | None = app.bot_data.get("command_menu")
    if menu is not None:
        await menu.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    with contextlib.suppress(Exception):
        await core.stop_background()
    if app.running:
        await app.stop()
    await app.shutdown()
