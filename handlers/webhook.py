"""Webhook mode: a Starlette app (served by uvicorn) that stores Telegram's POSTs in the inbox.

An update is acknowledged (200) only after its insert committed; a repeated ``update_id`` is
acknowledged and ignored. Telegram retries anything else, so the answers are chosen for that:
403 for a wrong secret, 413 for a body over 1 MB (refused before it is read), 200 and a log
line for JSON that is not an Update (retrying it would never help), 503 while the database
does not answer (Telegram delivers it again later). Never a 5xx for the update's content.

The secret: ``WEBHOOK_SECRET``, or when unset one generated once and kept in the database
(``bot.inbox.secrets``) so every process behind the load balancer checks the same value.
Several processes may serve the same webhook; only the leader runs the sender and the
scheduler (``bot.background``), every process handles updates from the inbox.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from urllib.parse import urlsplit

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.inbox.secrets import shared_secret
from bot.logs import redact_also
from handlers.intake import intake_of
from handlers.startup import telegram_call

log = logging.getLogger(__name__)

BODY_LIMIT = 1024 * 1024  # Telegram's updates are far smaller
HEALTH_TIMEOUT = 2.0


def webhook_path(settings: Settings) -> str:
    return urlsplit(settings.webhook_url or "").path or "/telegram"


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it would exceed ``limit`` (the rest is never read)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                return None
        except ValueError:
            return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_starlette(app: Application, settings: Settings, secret: str) -> Starlette:
    intake = intake_of(app)
    core = app.bot_data["core"]

    async def telegram_update(request: Request) -> Response:
        got = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(got.encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            body = await _read_limited(request, BODY_LIMIT)
        except ClientDisconnect:
            return Response(status_code=400)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if intake.parse(data) is None:
            log.warning("webhook: not an Update, acknowledged and ignored: %.300r", body)
            return Response(status_code=200)
        try:
            await intake.submit(data)
        except Exception as exc:  # noqa: BLE001 - the database: Telegram redelivers
            log.warning("webhook: update %s not stored (%s): 503", data["update_id"], exc)
            return PlainTextResponse("database unavailable", status_code=503)
        return Response(status_code=200)

    async def health(_request: Request) -> Response:
        database = True
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                async with core.db.session() as s:
                    await s.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - reported, not raised
            database = False
        body = {
            "ok": database,
            "database": database,
            "leader": bool(core.background.is_leader),
            "bot": app.bot.username,
        }
        return JSONResponse(body, status_code=200 if database else 503)

    return Starlette(
        routes=[
            Route(webhook_path(settings), telegram_update, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


async def webhook_secret(app: Application, settings: Settings) -> str:
    """``WEBHOOK_SECRET``, or the deployment's generated one (never none)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    secret = await shared_secret(app.bot_data["core"].db)
    redact_also(secret)
    return secret


async def serve_webhook(app: Application, settings: Settings, stop: asyncio.Event) -> None:
    secret = await webhook_secret(app, settings)
    config = uvicorn.Config(
        make_starlette(app, settings, secret),
        host=settings.webhook_listen,
        port=settings.webhook_port,
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        await telegram_call(
            "setWebhook",
            lambda: app.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            ),
            settings.startup_timeout,
        )
        await stop.wait()
    finally:
        server.should_exit = True
        await task
