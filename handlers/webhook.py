"""Webhook mode: a Starlette app (served by uvicorn) that feeds Telegram's POSTs to PTB.

Several processes may serve the same webhook behind a load balancer; only the holder of the
database's advisory lock runs the sender and the scheduler (see bot/services.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from handlers.startup import telegram_call

log = logging.getLogger(__name__)


def webhook_path(settings: Settings) -> str:
    return urlsplit(settings.webhook_url or "").path or "/telegram"


def make_starlette(app: Application, settings: Settings) -> Starlette:
    secret = settings.webhook_secret

    async def telegram_update(request: Request) -> Response:
        if secret is not None:
            got = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(got, secret):
                return PlainTextResponse("forbidden", status_code=403)
        try:
            data = await request.json()
        except ValueError:
            return PlainTextResponse("bad request", status_code=400)
        update = Update.de_json(data, app.bot)
        await app.update_queue.put(update)
        return Response(status_code=200)

    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True, "bot": app.bot.username})

    return Starlette(
        routes=[
            Route(webhook_path(settings), telegram_update, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


async def serve_webhook(app: Application, settings: Settings, stop: asyncio.Event) -> None:
    await telegram_call(
        "setWebhook",
        lambda: app.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        ),
        settings.startup_timeout,
    )
    config = uvicorn.Config(
        make_starlette(app, settings),
        host=settings.webhook_listen,
        port=settings.webhook_port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
