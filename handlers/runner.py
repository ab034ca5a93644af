"""``opdbot run``: migrate, then serve updates by long polling or by webhook until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.config import Settings
from bot.core import Core
from handlers.app import build_application, start_app, stop_app

log = logging.getLogger(__name__)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_bot(settings: Settings) -> None:
    core = await Core.create(settings)  # upgrades the database to head first
    app = build_application(core)
    stop = _stop_event()
    if settings.webhook_url:
        from handlers.webhook import serve_webhook

        await start_app(app, polling=False)
        log.info("opdbot @%s menerima webhook di %s", core.bot_username, settings.webhook_url)
        try:
            await serve_webhook(app, settings, stop)
        finally:
            await stop_app(app)
            await core.close()
        return
    await start_app(app, polling=True)
    log.info("opdbot @%s berjalan (polling). Ctrl-C untuk berhenti.", core.bot_username)
    try:
        await stop.wait()
    finally:
        await stop_app(app)
        await core.close()
