"""Telegram's side of start-up: which Bot API errors are transient (retried with backoff) and
which end start-up with one line; the command menu retried in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.startup import Retry, StartupError, describe, retrying

log = logging.getLogger("opdbot.startup")
T = TypeVar("T")

TOKEN_REJECTED = (
    "TELEGRAM_BOT_TOKEN ditolak Telegram (token dicabut atau salah): buat token baru di "
    "@BotFather lalu perbarui TELEGRAM_BOT_TOKEN."
)


def classify_telegram_error(exc: BaseException) -> None:
    if isinstance(exc, InvalidToken):
        raise StartupError(TOKEN_REJECTED)
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # int today, timedelta in a later PTB: both handled
            warnings.simplefilter("ignore")
            delay = exc.retry_after
        seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
        raise Retry("Telegram meminta menunggu (429)", delay=seconds + 0.5)
    if isinstance(exc, (BadRequest, Forbidden, Conflict)):
        return  # final: the caller words it
    if isinstance(exc, (TimedOut, NetworkError)):
        raise Retry(describe(exc))


async def telegram_call(what: str, call: Callable[[], Awaitable[T]], budget: float) -> T:
    """A Bot API call at start-up, retried while Telegram is unreachable or busy."""

    def give_up(reason: str) -> str:
        return (
            f"Telegram tetap tidak bisa dihubungi setelah {budget:.0f} detik ({reason}): "
            "periksa koneksi internet server dan TELEGRAM_BASE_URL."
        )

    try:
        return await retrying(
            f"Telegram belum bisa dihubungi ({what})",
            call,
            classify_telegram_error,
            budget=budget,
            give_up=give_up,
        )
    except (BadRequest, Forbidden, Conflict) as exc:
        raise StartupError(f"Telegram menolak {what}: {exc.message}") from None


class CommandMenu:
    """setMyCommands at start-up; when it fails the bot starts anyway and this keeps retrying
    in the background (backoff up to 5 minutes) until the menu is set."""

    first_retry = 5.0

    def __init__(self, bot: Bot, setter: Callable[[], Awaitable[None]]) -> None:
        self.bot = bot
        self.setter = setter
        self.task: asyncio.Task | None = None
        self.done = False

    async def start(self) -> None:
        try:
            await self.setter()
            self.done = True
        except InvalidToken:
            raise StartupError(TOKEN_REJECTED) from None
        except Exception as exc:  # noqa: BLE001 - any failure: retried in the background
            log.warning("Menu perintah belum terpasang (%s); dicoba lagi di latar", describe(exc))
            self.task = asyncio.create_task(self._retry())

    async def _retry(self) -> None:
        delay = self.first_retry
        while True:
            await asyncio.sleep(delay)
            try:
                await self.setter()
            except Exception as exc:  # noqa: BLE001
                delay = min(delay * 2, 300.0)
                log.warning(
                    "Menu perintah masih gagal (%s); dicoba lagi dalam %.0f detik",
                    describe(exc),
                    delay,
                )
                continue
            self.done = True
            log.info("Menu perintah terpasang")
            return

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None
