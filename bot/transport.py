"""What the core needs from a messenger, without knowing it is Telegram.

The Telegram implementation lives in ``handlers/transport.py``; tests may use their own.
Every method raises one of the exceptions below instead of library-specific errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class TransportError(Exception):
    """Base class; ``reason`` is the messenger's own description."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class Blocked(TransportError):
    """The user blocked the bot or the account is deactivated (403): never retry."""


class ChatNotFound(TransportError):
    """The chat does not exist (400 chat not found): failed, do not retry."""


class BadRequest(TransportError):
    """Any other permanent rejection (400)."""


class RetryAfter(TransportError):
    """Flood control (429): wait ``seconds`` then retry the same message."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds}s")
        self.seconds = seconds


class Transient(TransportError):
    """Timeouts, network errors, 5xx: retry with backoff, a bounded number of times."""


@dataclass
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class OutMessage:
    """A message to send: HTML text, or a copy of an existing message (media keeps formatting)."""

    chat_id: int
    text: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    copy_from_chat_id: int | None = None
    copy_message_id: int | None = None
    disable_preview: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    async def send(self, msg: OutMessage) -> int:
        """Send; return the new message id."""
        ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]] | None = None
    ) -> None: ...

    async def send_file(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        caption: str | None = None,
        *,
        photo: bool = False,
    ) -> int: ...
