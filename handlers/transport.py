"""The Telegram implementation of ``bot.transport.Transport`` (used by the outbox sender)."""

from __future__ import annotations

from telegram import Bot, InputFile
from telegram import error as tg

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


def _translate(exc: Exception) -> TransportError:
    if isinstance(exc, tg.RetryAfter):
        ra = exc.retry_after
        seconds = ra.total_seconds() if hasattr(ra, "total_seconds") else float(ra)
        return RetryAfter(seconds, str(exc))
    if isinstance(exc, tg.Forbidden):
        return Blocked(exc.message)
    if isinstance(exc, tg.BadRequest):
        if "chat not found" in exc.message.lower():
            return ChatNotFound(exc.message)
        return BadRequest(exc.message)
    if isinstance(exc, (tg.TimedOut, tg.NetworkError)):
        return Transient(str(exc))
    if isinstance(exc, tg.TelegramError):
        return BadRequest(str(exc))
    return Transient(repr(exc))


class TelegramTransport:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, msg: OutMessage) -> int:
        try:
            if msg.copy_from_chat_id is not None and msg.copy_message_id is not None:
                mid = await self.bot.copy_message(
                    chat_id=msg.chat_id,
                    from_chat_id=msg.copy_from_chat_id,
                    message_id=msg.copy_message_id,
                    reply_markup=keyboard(msg.buttons),
                )
                return mid.message_id
            sent = await self.bot.send_message(
                chat_id=msg.chat_id, text=msg.text or "", reply_markup=keyboard(msg.buttons)
            )
            return sent.message_id
        except Exception as exc:  # noqa: BLE001 - translated for the core
            raise _translate(exc) from exc

    async def edit(
        self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]] | None = None
    ) -> None:
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id, message_id=message_id, text=text, reply_markup=keyboard(buttons)
            )
        except tg.BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return
            raise _translate(exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc) from exc

    async def send_file(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        caption: str | None = None,
        *,
        photo: bool = False,
    ) -> int:
        try:
            f = InputFile(data, filename=filename)
            if photo:
                sent = await self.bot.send_photo(chat_id=chat_id, photo=f, caption=caption)
            else:
                sent = await self.bot.send_document(chat_id=chat_id, document=f, caption=caption)
            return sent.message_id
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc) from exc
