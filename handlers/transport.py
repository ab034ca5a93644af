"""The Telegram implementation of ``bot.transport.Transport`` (used by the outbox sender).

Bulk sends go through a dedicated ``telegram.Bot`` (same token and API address, its own
connection pool, no PTB rate limiter): the outbox paces them through the ``bulk`` lane of the
token's one rate budget (``bot.budget``), which serves interactive replies first; status edits
and files sent from here take the same lane. Library errors are translated into the
core's exceptions (403 -> Blocked, 400 chat not found -> ChatNotFound, other 400 -> BadRequest,
429 -> RetryAfter, timeouts / network / 5xx -> Transient).
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings

from telegram import Bot, InputFile, LinkPreviewOptions
from telegram import error as tg
from telegram.constants import ParseMode
from telegram.request import HTTPXRequest

from bot.budget import BULK
from bot.transport import (
    BadRequest,
    Blocked,
    Button,
    ChatNotFound,
    OutMessage,
    RetryAfter,
    Transient,
    TransportError,
)
from handlers.common import keyboard


def translate(exc: Exception) -> TransportError:
    if isinstance(exc, tg.RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns about the type of retry_after
            warnings.simplefilter("ignore")
            ra = exc.retry_after
            text = str(exc)
        seconds = ra.total_seconds() if hasattr(ra, "total_seconds") else float(ra)
        return RetryAfter(seconds, text)
    if isinstance(exc, tg.Forbidden):
        return Blocked(exc.message)
    if isinstance(exc, tg.BadRequest):
        if "chat not found" in exc.message.lower():
            return ChatNotFound(exc.message)
        return BadRequest(exc.message)
    if isinstance(exc, (tg.TimedOut, tg.NetworkError)):
        return Transient(str(exc))
    if isinstance(exc, tg.TelegramError):
        # e.g. "Internal Server Error", "Bad Gateway": the server's problem, try again later.
        return Transient(str(exc))
    return Transient(repr(exc))


class TelegramTransport:
    def __init__(
        self, bot: Bot, *, dedicated: bool = True, pool_size: int = 32, budget=None
    ) -> None:
        self.app_bot = bot
        self.budget = budget  # edits and files of the background take the bulk lane
        self._dedicated = dedicated
        self._pool_size = pool_size
        self._bulk: Bot | None = None
        self._init_lock = asyncio.Lock()

    async def _bot(self) -> Bot:
        if not self._dedicated:
            return self.app_bot
        if self._bulk is None:
            async with self._init_lock:
                if self._bulk is None:
                    parent = self.app_bot
                    request = HTTPXRequest(
                        connection_pool_size=self._pool_size,
                        read_timeout=20.0,
                        write_timeout=20.0,
                        connect_timeout=10.0,
                        pool_timeout=10.0,
                    )
                    bulk = Bot(
                        parent.token,
                        base_url=lambda _token: parent.base_url,
                        base_file_url=lambda _token: parent.base_file_url,
                        request=request,
                    )
                    await bulk.initialize()
                    self._bulk = bulk
        return self._bulk

    async def aclose(self) -> None:
        bulk, self._bulk = self._bulk, None
        if bulk is not None:
            with contextlib.suppress(Exception):
                await bulk.shutdown()

    async def send(self, msg: OutMessage) -> int:
        try:
            bot = await self._bot()
            if msg.copy_from_chat_id is not None and msg.copy_message_id is not None:
                mid = await bot.copy_message(
                    chat_id=msg.chat_id,
                    from_chat_id=msg.copy_from_chat_id,
                    message_id=msg.copy_message_id,
                    reply_markup=keyboard(msg.buttons),
                )
                return mid.message_id
            sent = await bot.send_message(
                chat_id=msg.chat_id,
                text=msg.text or "",
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=msg.disable_preview),
                reply_markup=keyboard(msg.buttons),
            )
            return sent.message_id
        except Exception as exc:  # noqa: BLE001 - translated for the core
            raise translate(exc) from exc

    async def edit(
        self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]] | None = None
    ) -> None:
        if self.budget is not None:
            await self.budget.acquire(BULK, chat_id, hold=True)
        try:
            bot = await self._bot()
            await bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=keyboard(buttons),
            )
        except tg.BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return
            raise translate(exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise translate(exc) from exc
        finally:
            if self.budget is not None:
                self.budget.release()

    async def send_file(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        caption: str | None = None,
        *,
        photo: bool = False,
    ) -> int:
        if self.budget is not None:
            await self.budget.acquire(BULK, chat_id, hold=True)
        try:
            bot = await self._bot()
            f = InputFile(data, filename=filename)
            if photo:
                sent = await bot.send_photo(
                    chat_id=chat_id, photo=f, caption=caption, parse_mode=ParseMode.HTML
                )
            else:
                sent = await bot.send_document(
                    chat_id=chat_id, document=f, caption=caption, parse_mode=ParseMode.HTML
                )
            return sent.message_id
        except Exception as exc:  # noqa: BLE001
            raise translate(exc) from exc
        finally:
            if self.budget is not None:
                self.budget.release()
