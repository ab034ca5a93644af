"""Build and run the PTB Application around the core (polling or webhook); updates reach it
from the durable inbox (``handlers.intake``)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
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


def app_busy(app: Application) -> bool:
    """True while the application holds updates it has not finished handling (being stored,
    stored and not yet handled, being handled, or not yet marked done). The sandbox and the
    tests wait for this, not for a quiet moment alone."""
    intake = app.bot_data.get("intake")
    return intake is not None and intake.busy


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

    async def get_updates_raw(self, offset: int | None, wait: int) -> list[dict]:
        """getUpdates as Telegram's JSON (stored as is in the inbox; one malformed update
        does not make the whole batch fail to parse). Through ``_post``, the request every
        Bot method uses (``do_api_request`` would warn that ``get_updates`` exists)."""
        data: dict[str, Any] = {"timeout": wait, "allowed_updates": list(Update.ALL_TYPES)}
        if offset is not None:
            data["offset"] = offset
        result = await self._post("getUpdates", data, read_timeout=wait + 10)
        return result if isinstance(result, list) else []


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
        .updater(None)  # updates come from the inbox (handlers.intake)
        .build()
    )
    app.bot_data["core"] = core
    from handlers.intake import UpdateIntake

    app.bot_data["intake"] = UpdateIntake(app, core)
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
        await telegram_call("deleteWebhook", app.bot.delete_webhook, budget)
    await app.bot_data["intake"].start(polling=polling)


async def stop_app(app: Application) -> None:
    core: Core = app.bot_data["core"]
    menu: CommandMenu | None = app.bot_data.get("command_menu")
    if menu is not None:
        await menu.stop()
    intake = app.bot_data.get("intake")
    if intake is not None:
        await intake.stop()
    with contextlib.suppress(Exception):
        await core.stop_background()
    if app.running:
        await app.stop()
    await app.shutdown()
