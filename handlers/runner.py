"""``opdbot run``: migrate, then serve updates by long polling or by webhook until stopped.

SIGTERM/SIGINT are honoured from the first instant: start-up (waiting for the database, the
migrations, the first Bot API calls) runs as a task that a signal cancels at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.config import Settings
from bot.core import Core
from bot.startup import prepare_database
from handlers.app import build_application, start_app, stop_app

log = logging.getLogger(__name__)
#: after a stop request, how long a webhook server or start-up may take to wind down
STOP_GRACE = 5.0


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _start(settings: Settings):
    """Database (retried), content, Telegram (retried). Cleans up after itself when cancelled."""
    await prepare_database(settings.database_url, settings.startup_timeout)
    core = await Core.create(settings, migrate=False)
    app = None
    try:
        app = build_application(core)
        await start_app(app, polling=not settings.webhook_url)
    except BaseException:
        if app is not None:
            with contextlib.suppress(Exception):
                await stop_app(app)
        with contextlib.suppress(Exception):
            await core.close()
        raise
    return core, app


async def _until_stopped(work: asyncio.Task, stop: asyncio.Event) -> bool:
    """Wait for ``work`` or a stop request; True when stop came first."""
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return not work.done()


async def run_bot(settings: Settings) -> None:
    stop = _stop_event()
    starting = asyncio.create_task(_start(settings))
    if await _until_stopped(starting, stop):
        starting.cancel()
        await asyncio.wait({starting}, timeout=STOP_GRACE)
        log.warning("Dihentikan saat memulai.")
        return
    core, app = starting.result()  # StartupError: the CLI prints its line
    try:
        if settings.webhook_url:
            from handlers.webhook import serve_webhook

            log.info("opdbot @%s menerima webhook di %s", core.bot_username, settings.webhook_url)
            serving = asyncio.create_task(serve_webhook(app, settings, stop))
            if await _until_stopped(serving, stop):
                # serve_webhook shuts its server down on ``stop``; unless it is still setting
                # the webhook up (Telegram unreachable): then it is cancelled
                done, _ = await asyncio.wait({serving}, timeout=STOP_GRACE)
                if not done:
                    serving.cancel()
                    await asyncio.gather(serving, return_exceptions=True)
                    return
            serving.result()
            return
        log.info("opdbot @%s berjalan (polling). Ctrl-C untuk berhenti.", core.bot_username)
        await stop.wait()
    finally:
        await stop_app(app)
        await core.close()
