"""An in-process fake of the Telegram Bot API, for the sandbox, the tests and the benchmarks.

A small asyncio HTTP/1.1 server (keep-alive, form-urlencoded, multipart and JSON bodies) on
127.0.0.1 that answers the way Telegram does: the same JSON envelope, status codes and error
wording. Point PTB at it with ``base_url=fake.base_url`` (or ``TELEGRAM_BASE_URL``)::

    async with FakeTelegram() as fake:
        fake.user(42, "Budi")
        fake.send_message(42, "/start")              # queued for getUpdates (or the webhook)
        call = await fake.wait_for("sendMessage", chat_id=42)
        assert "Halo" in call.params["text"]

Every request except ``getUpdates`` is recorded as a :class:`Call`. Faults can be injected:
:meth:`FakeTelegram.fail`, :meth:`~FakeTelegram.block`, :meth:`~FakeTelegram.deactivate`,
:meth:`~FakeTelegram.stall` and :meth:`~FakeTelegram.rate_limit`.

A stalled request still takes effect when its delay is over, even if the client gave up
waiting (like a real request that timed out on the client after Telegram processed it).

Behaviour worth knowing:
- Chats are known once injected (``user``, ``add_chat``, ``send_message``); anything else is
  "chat not found", also for ``setMyCommands`` with a chat scope (as on Telegram, where a user
  who never started the bot cannot be addressed).
- Group chats get every message (privacy mode off), so the bot itself must ignore chatter.
- ``setWebhook`` with an http(s) URL makes the fake POST each update there, one at a time, with
  ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set, retried until a 2xx answer;
  ``getUpdates`` then answers 409 like Telegram. ``deleteWebhook`` goes back to polling.
- Messages in answers carry what Telegram stores: HTML already parsed into ``text`` +
  ``entities``; ``reply_markup`` only for inline keyboards. ``Call.params`` keep what was sent.

No ``telegram`` import here: the fake speaks HTTP only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.tghtml import HtmlError, parse_html, utf16_length

__all__ = ["SEND_METHODS", "Call", "FakeTelegram"]

DEFAULT_TOKEN = "123456789:TESTTOKENabcdefghijklmnopqrstuvwxyz"

#: Methods that put or change content in a chat. ``fail(None, ...)``, ``stall(None, ...)`` and
#: ``rate_limit`` apply to these; :meth:`FakeTelegram.sent_to` lists them.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "copyMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

# Methods a blocked or deactivated chat refuses with 403.
_CHAT_WRITE_METHODS = SEND_METHODS | {"sendChatAction"}

_INT_FIELDS = frozenset(
    {
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "user_id",
        "max_connections",
        "duration",
        "width",
        "height",
    }
)
_CHAT_ID_FIELDS = frozenset({"chat_id", "from_chat_id"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "remove_caption",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
    }
)
_JSON_ERRORS = {
    "reply_markup": "Bad Request: can't parse reply keyboard markup JSON object",
    "entities": "Bad Request: can't parse entities JSON object",
    "caption_entities": "Bad Request: can't parse entities JSON object",
    "commands": "Bad Request: can't parse commands JSON object",
    "scope": "Bad Request: can't parse BotCommandScope JSON object",
    "reply_parameters": "Bad Request: can't parse ReplyParameters JSON object",
    "link_preview_options": "Bad Request: can't parse LinkPreviewOptions JSON object",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_UPDATE_TYPES_DEFAULT_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION_RE = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")
_BUTTON_URL_RE = re.compile(r"^(?:https?|tg)://\S+$", re.IGNORECASE)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class Call:
    """One request the bot made (``getUpdates`` excluded), as the fake answered it."""

    method: str
    params: dict
    at: float
    ok: bool
    result: Any
    error: str | None
    status: int = 200
    answered_at: float = 0.0
    query_chat_id: int | str | None = None

    @property
    def chat_id(self) -> int | str | None:
        """The chat the call was about (for answerCallbackQuery: the pressed message's chat)."""
        chat_id = self.params.get("chat_id")
        if chat_id is None:
            return self.query_chat_id
        return chat_id

    @property
    def text(self) -> str | None:
        """``text`` or ``caption`` as sent (still HTML when parse_mode is HTML)."""
        return self.params.get("text", self.params.get("caption"))

    def summary(self) -> str:
        head = self.method if self.chat_id is None else f"{self.method} chat={self.chat_id}"
        if not self.ok:
            return f"{head} -> {self.status} {self.error}"
        text = self.text
        if text is not None:
            text = text if len(text) <= 70 else text[:67] + "..."
            return f"{head} {text!r}"
        return head


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> _ApiError:
    return _ApiError(400, "Bad Request: " + description)


@dataclass
class _Fault:
    method: str | None
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


@dataclass
class _Stall:
    method: str | None
    seconds: float
    times: int


@dataclass
class _Upload:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


class FakeTelegram:
    """A fake Telegram Bot API server for one bot (see the module docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int = 123456789,
        bot_username: str = "opdbot_test_bot",
        bot_name: str = "OPD Bot",
    ) -> None:
        self.token = token
        self.bot_user: dict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.calls: list[Call] = []
        self.get_updates_count = 0
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_last_error: str | None = None
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.files: dict[str, bytes] = {}
        self.callback_queries: dict[str, dict] = {}

        self._lock = threading.RLock()
        self._users: dict[int, dict] = {}
        self._chats: dict[int | str, dict] = {}
        self._messages: dict[int | str, dict[int, dict]] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._updates: list[dict] = []  # pending (not yet confirmed) updates, in order
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._delivered_upto = 0
        self._allowed_updates: list[str] | None = None
        self._poller: object | None = None
        self._ids = itertools.count(1)
        self._blocked: set[int | str] = set()
        self._deactivated: set[int | str] = set()
        self._faults: list[_Fault] = []
        self._stalls: list[_Stall] = []
        self._rate_fraction = 0.0
        self._rate_retry_after = 1
        self._rng = random.Random(0)

        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._port: int | None = None
        self._connections: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._calls_event = asyncio.Event()
        self._updates_event = asyncio.Event()
        self._activity_event = asyncio.Event()
        self._poll_event = asyncio.Event()
        self._polls_waiting = 0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._webhook_task: asyncio.Task | None = None
        self._webhook_client: Any = None

        self._handlers: dict[str, Callable[[dict], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "copyMessage": self._copy_message,
            "deleteMessage": self._delete_message,
        }
        self._methods_lower = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (``port`` 0 picks a free one)."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._server = await asyncio.start_server(self._serve_connection, "127.0.0.1", port)
        self._port = self._server.sockets[0].getsockname()[1]
        if self.webhook_url:
            self._ensure_webhook_task()

    async def stop(self) -> None:
        """Stop listening and drop open connections (pending long polls included)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._webhook_task
            self._webhook_task = None
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
            self._webhook_client = None
        for writer in list(self._writers):
            writer.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/bot``: PTB appends the token (use as TELEGRAM_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def api_url(self) -> str:
        """The full method prefix, token included: ``{base_url}{token}/``."""
        return f"{self.base_url}{self.token}/"

    # ------------------------------------------------------------------ inspection

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in list(self.calls)
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful sends and edits (:data:`SEND_METHODS`) to that chat, in order."""
        return [
            c
            for c in list(self.calls)
            if c.ok and c.method in SEND_METHODS and c.chat_id == chat_id
        ]

    def mark(self) -> int:
        """``len(calls)``: pass as ``after=`` to wait only for calls made from now on."""
        return len(self.calls)

    def last(self, method: str | None = None, chat_id: int | None = None) -> Call | None:
        for call in reversed(self.calls):
            if (method is None or call.method == method) and (
                chat_id is None or call.chat_id == chat_id
            ):
                return call
        return None

    def describe_calls(self, start: int = 0, limit: int = 40) -> str:
        calls = list(self.calls)
        lines = [f"  #{k} {c.summary()}" for k, c in enumerate(calls) if k >= start]
        if len(lines) > limit:
            lines = [f"  ... {len(lines) - limit} earlier calls", *lines[-limit:]]
        pending = len(self._updates)
        head = (
            f"{len(calls)} calls recorded, {self.get_updates_count} getUpdates, "
            f"{pending} updates pending, {self._last_update_id - self._delivered_upto} "
            "not yet delivered"
        )
        return "\n".join([head, *lines]) if lines else head + " (no calls)"

    async def wait_for(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the test-facing interface
        after: int = 0,
    ) -> Call:
        """The first call (index >= ``after``) of ``method`` matching ``chat_id``/``predicate``.

        Failed calls match too (check ``call.ok``). Raises AssertionError with a summary of the
        calls seen when nothing matches within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        index = after
        while True:
            event = self._calls_event
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if call.method != method:
                    continue
                if chat_id is not None and call.chat_id != chat_id:
                    continue
                if predicate is not None and not predicate(call):
                    continue
                return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = f"{method}" + (f" to chat {chat_id}" if chat_id is not None else "")
                if predicate is not None:
                    what += " matching the predicate"
                raise AssertionError(
                    f"no {what} within {timeout}s (after call #{after}); "
                    + self.describe_calls(start=after)
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every injected update was delivered, no request is being answered and no
        new call came for ``quiet`` seconds. AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._activity_event
            now = time.monotonic()
            drained = self._delivered_upto >= self._last_update_id
            idle_for = now - self._last_activity
            if drained and self._inflight == 0 and idle_for >= quiet:
                return
            if now >= deadline:
                reason = []
                if not drained:
                    reason.append(
                        f"{self._last_update_id - self._delivered_upto} updates never delivered"
                    )
                if self._inflight:
                    reason.append(f"{self._inflight} requests still being answered")
                if not reason:
                    reason.append("calls kept coming")
                raise AssertionError(
                    f"not idle within {timeout}s ({', '.join(reason)}); " + self.describe_calls()
                )
            wait = deadline - now if not drained or self._inflight else quiet - idle_for
            wait = max(0.005, min(deadline - now, wait))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), wait)

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates long poll is open and waiting (the bot is ready to receive).
        AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self._polls_waiting == 0:
            event = self._poll_event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no getUpdates long poll within {timeout}s; " + self.describe_calls()
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def messages(self, chat_id: int) -> list[dict]:
        """The messages now in that chat (user's and bot's), edits applied, deletions removed."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._messages.get(chat_id, {}).values()]

    def message(self, chat_id: int, message_id: int) -> dict | None:
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def commands_for(self, scope: dict | None = None, language_code: str = "") -> list[dict] | None:
        """Commands set with setMyCommands for that scope (default scope when None)."""
        return self.commands.get((_scope_key(scope), language_code))

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ------------------------------------------------------------------ update injection

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        """Register (or update) a user and their private chat (chat id == user id).

        A new user gets first name "Budi" and language "id" unless given; for a known user only
        the fields given change.
        """
        with self._lock:
            existing = self._users.get(user_id)
            if existing is None:
                existing = {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": first_name or "Budi",
                    "language_code": language_code or "id",
                }
                self._users[user_id] = existing
            else:
                if first_name is not None:
                    existing["first_name"] = first_name
                if language_code is not None:
                    existing["language_code"] = language_code
            if last_name is not None:
                existing["last_name"] = last_name
            if username is not None:
                existing["username"] = username
            chat = self._chats.setdefault(user_id, {"id": user_id, "type": "private"})
            chat["first_name"] = existing["first_name"]
            for key in ("last_name", "username"):
                if key in existing:
                    chat[key] = existing[key]
            self._messages.setdefault(user_id, {})
            return dict(existing)

    def add_chat(self, chat_id: int, type: str = "group", title: str = "Grup") -> None:  # noqa: A002
        """Make a group/supergroup/channel (or private) chat known to the fake."""
        with self._lock:
            if type == "private":
                chat = {"id": chat_id, "type": "private", "first_name": title}
            else:
                chat = {"id": chat_id, "type": type, "title": title}
            self._chats[chat_id] = chat
            self._messages.setdefault(chat_id, {})

    def send_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        """The user writes ``text``; returns the queued update.

        Bot commands (``/cmd``, ``/cmd@bot``) and ``@username`` mentions get their entities.
        """
        with self._lock:
            sender, chat = self._sender_and_chat(
                user_id, chat_id, chat_type, chat_title, first_name, username, language_code
            )
            message = self._new_message(chat, sender)
            message["text"] = text
            entities = _user_entities(text)
            if entities:
                message["entities"] = entities
            if reply_to_message_id is not None:
                replied = self._messages[chat["id"]].get(reply_to_message_id)
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']}")
                message["reply_to_message"] = _without_reply(replied)
            self._store(message)
            return self._queue({"message": message})

    def edit_message(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict:
        """The user edits one of their earlier messages; returns the queued ``edited_message``."""
        with self._lock:
            chat_key = chat_id if chat_id is not None else user_id
            original = self._messages.get(chat_key, {}).get(message_id)
            if original is None or original.get("from", {}).get("id") != user_id:
                raise ValueError(f"no message {message_id} of user {user_id} in chat {chat_key}")
            edited = dict(original, text=text, edit_date=int(time.time()))
            entities = _user_entities(text)
            if entities:
                edited["entities"] = entities
            else:
                edited.pop("entities", None)
            self._store(edited)
            return self._queue({"edited_message": edited})

    def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> dict:
        """The user sends a photo, document, video, sticker, voice, location or contact."""
        with self._lock:
            sender, chat = self._sender_and_chat(
                user_id, chat_id, chat_type, None, None, None, None
            )
            message = self._new_message(chat, sender)
            n = next(self._ids)
            file_id, unique = f"fake-{kind}-{n}", f"u{kind[:2]}{n}"
            if kind == "photo":
                message["photo"] = [
                    {
                        "file_id": file_id + "-s",
                        "file_unique_id": unique + "s",
                        "width": 90,
                        "height": 68,
                        "file_size": 1520,
                    },
                    {
                        "file_id": file_id,
                        "file_unique_id": unique,
                        "width": 1280,
                        "height": 960,
                        "file_size": 154000,
                    },
                ]
            elif kind == "document":
                message["document"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "file_name": "dokumen.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 48213,
                }
            elif kind == "video":
                message["video"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "width": 720,
                    "height": 1280,
                    "duration": 15,
                    "mime_type": "video/mp4",
                    "file_size": 2400000,
                }
            elif kind == "sticker":
                message["sticker"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "\U0001f44d",
                }
            elif kind == "voice":
                message["voice"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "duration": 4,
                    "mime_type": "audio/ogg",
                    "file_size": 9100,
                }
            elif kind == "location":
                message["location"] = {"latitude": -8.5389, "longitude": 115.1250}
            elif kind == "contact":
                message["contact"] = {
                    "phone_number": "+6281234567890",
                    "first_name": sender["first_name"],
                    "user_id": sender["id"],
                }
            else:
                raise ValueError(f"unknown media kind {kind!r}")
            if caption is not None:
                if kind not in ("photo", "document", "video", "voice"):
                    raise ValueError(f"a {kind} has no caption")
                message["caption"] = caption
            self._store(message)
            return self._queue({"message": message})

    def press_button(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> dict:
        """The user presses an inline button whose callback_data is ``data`` (any string:
        tampered or stale data included) on the message ``message_id`` of that chat."""
        with self._lock:
            sender = self._ensure_user(user_id)
            chat_id = user_id if chat_id is None else chat_id
            stored = self._messages.get(chat_id, {}).get(message_id)
            if stored is None:
                raise ValueError(f"no message {message_id} in chat {chat_id} to press a button on")
            query_id = str(4_000_000_000_000 + next(self._ids))
            query = {
                "id": query_id,
                "from": dict(sender),
                "message": json.loads(json.dumps(stored)),
                "chat_instance": str(abs(hash((chat_id, self.bot_user["id"]))) % 10**18),
                "data": data,
            }
            self.callback_queries[query_id] = {"query": query, "answered": False, "answer": None}
            return self._queue({"callback_query": query})

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str | None,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching calls answer this error (method None: any send method).

        With status 429 the answer carries ``parameters.retry_after`` (1 when not given).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.append(_Fault(method, status, description, retry_after, chat_id, times))

    def block(self, chat_id: int) -> None:
        """Every later send to that chat answers 403 (the user blocked the bot / kicked it)."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def deactivate(self, chat_id: int) -> None:
        """Every later send to that chat answers 403 "Forbidden: user is deactivated"."""
        with self._lock:
            self._deactivated.add(chat_id)

    def stall(self, method: str | None, seconds: float, *, times: int = 1) -> None:
        """Delay the answer to the next ``times`` calls of ``method`` (None: any send method)."""
        with self._lock:
            self._stalls.append(_Stall(method, seconds, times))

    def rate_limit(self, fraction: float, retry_after: int = 1, seed: int = 0) -> None:
        """From now on that fraction of send calls answers 429 (0 switches it off)."""
        with self._lock:
            self._rate_fraction = fraction
            self._rate_retry_after = retry_after
            self._rng = random.Random(seed)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._stalls.clear()
            self._blocked.clear()
            self._deactivated.clear()
            self._rate_fraction = 0.0

    # ------------------------------------------------------------------ internals: state

    def _ensure_user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        if user_id not in self._users or first_name or username or language_code:
            self.user(user_id, first_name, username=username, language_code=language_code)
        return self._users[user_id]

    def _sender_and_chat(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        chat_title: str | None,
        first_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> tuple[dict, dict]:
        sender = self._ensure_user(user_id, first_name, username, language_code)
        if chat_id is None or chat_id == user_id:
            return sender, self._chats[user_id]
        if chat_id not in self._chats:
            if chat_type == "private":
                chat_type = "group"
            self.add_chat(chat_id, chat_type, chat_title or "Grup")
        return sender, self._chats[chat_id]

    def _new_message(self, chat: dict, sender: dict) -> dict:
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(chat),
            "date": int(time.time()),
        }

    def _store(self, message: dict) -> None:
        self._messages.setdefault(message["chat"]["id"], {})[message["message_id"]] = message

    def _queue(self, payload: dict) -> dict:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **payload}
        self._updates.append(update)
        self._last_update_id = update_id
        self._notify_threadsafe(updates=True)
        return json.loads(json.dumps(update))

    def _notify_threadsafe(self, *, updates: bool = False) -> None:
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._notify(updates=updates)
        else:
            self._loop.call_soon_threadsafe(lambda: self._notify(updates=updates))

    def _notify(self, *, updates: bool = False, calls: bool = False) -> None:
        self._last_activity = time.monotonic()
        if updates:
            self._wake_updates()
        if calls:
            self._calls_event.set()
            self._calls_event = asyncio.Event()
        self._activity_event.set()
        self._activity_event = asyncio.Event()

    def _wake_updates(self) -> None:
        self._updates_event.set()
        self._updates_event = asyncio.Event()

    # ------------------------------------------------------------------ internals: HTTP

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except asyncio.LimitOverrunError:
                    await self._write(
                        writer,
                        431,
                        {
                            "ok": False,
                            "error_code": 431,
                            "description": "Request Header Fields Too Large",
                        },
                        keep_alive=False,
                    )
                    break
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    break
                http_method, target, version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    body = await self._read_body(reader, headers)
                except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                    break
                keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != (
                    "close"
                )
                status, payload = await self._dispatch(
                    http_method, target, headers, body, reader.at_eof
                )
                try:
                    await self._write(writer, status, payload, keep_alive=keep_alive)
                except ConnectionError:
                    break
                if not keep_alive:
                    break
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._connections.discard(task)
            writer.close()

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return b"".join(chunks)
        length = int(headers.get("content-length", "0") or 0)
        return await reader.readexactly(length) if length else b""

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter, status: int, payload: dict, *, keep_alive: bool
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            "Server: opdbot-fake-telegram\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()

    async def _dispatch(
        self,
        http_method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        client_gone: Callable[[], bool] = lambda: False,
    ) -> tuple[int, dict]:
        received = time.monotonic()
        url = urlsplit(target)
        path = unquote(url.path)
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, name = match.groups()
        try:
            params, uploads = _decode_params(url.query, headers.get("content-type", ""), body)
        except ValueError as exc:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
        method = self._methods_lower.get(name.lower(), name)
        if token != self.token:
            return self._record(method, params, received, _ApiError(401, "Unauthorized"))
        if method == "getUpdates":
            return await self._get_updates(params, client_gone)
        if method not in self._handlers:
            return self._record(method, params, received, _ApiError(404, "Not Found"))

        self._inflight += 1
        self._notify()
        try:
            delay = self._take_stall(method)
            if delay:
                await asyncio.sleep(delay)
            try:
                with self._lock:
                    self._check_faults(method, params)
                    handler_params = dict(params)
                    if uploads:
                        handler_params["__uploads__"] = uploads
                    result = self._handlers[method](handler_params)
            except _ApiError as exc:
                return self._record(method, params, received, exc)
            except Exception as exc:  # a bug in the fake itself: answer like Telegram's 500
                return self._record(
                    method, params, received, _ApiError(500, f"Internal Server Error: {exc!r}")
                )
            return self._record(method, params, received, result)
        finally:
            self._inflight -= 1
            self._notify()

    def _record(self, method: str, params: dict, received: float, outcome: Any) -> tuple[int, dict]:
        now = time.monotonic()
        if isinstance(outcome, _ApiError):
            call = Call(
                method, params, received, False, None, outcome.description, outcome.status, now
            )
            payload: dict = {
                "ok": False,
                "error_code": outcome.status,
                "description": outcome.description,
            }
            if outcome.retry_after is not None:
                payload["parameters"] = {"retry_after": outcome.retry_after}
            status = outcome.status
        else:
            call = Call(method, params, received, True, outcome, None, 200, now)
            payload = {"ok": True, "result": outcome}
            status = 200
        if method == "answerCallbackQuery":
            entry = self.callback_queries.get(str(params.get("callback_query_id", "")))
            if entry is not None:
                call.query_chat_id = entry["query"]["message"]["chat"]["id"]
        self.calls.append(call)
        self._notify(calls=True)
        return status, payload

    def _take_stall(self, method: str) -> float:
        with self._lock:
            for stall in self._stalls:
                if stall.method == method or (stall.method is None and method in SEND_METHODS):
                    stall.times -= 1
                    if stall.times <= 0:
                        self._stalls.remove(stall)
                    return stall.seconds
        return 0.0

    def _check_faults(self, method: str, params: dict) -> None:
        for fault in self._faults:
            if fault.method is None and method not in SEND_METHODS:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise _ApiError(
                fault.status,
                fault.description,
                fault.retry_after if fault.status == 429 else None,
            )
        if (
            method in SEND_METHODS
            and self._rate_fraction > 0
            and self._rng.random() < self._rate_fraction
        ):
            retry = self._rate_retry_after
            raise _ApiError(429, f"Too Many Requests: retry after {retry}", retry)

    # ------------------------------------------------------------------ getUpdates / webhook

    async def _get_updates(self, params: dict, client_gone: Callable[[], bool]) -> tuple[int, dict]:
        self.get_updates_count += 1
        if self.webhook_url:
            return 409, {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            }
        offset = _as_int(params.get("offset"), 0)
        limit = max(1, min(100, _as_int(params.get("limit"), 100) or 100))
        timeout = max(0.0, float(_as_int(params.get("timeout"), 0)))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(x) for x in allowed] or None
        with self._lock:
            if offset < 0:
                del self._updates[: max(0, len(self._updates) + offset)]
            elif offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        me = object()
        self._poller = me
        self._wake_updates()  # an older long poll wakes up and answers 409
        deadline = time.monotonic() + timeout
        while True:
            event = self._updates_event
            if self._poller is not me:
                return 409, {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: terminated by other getUpdates request; make sure "
                    "that only one bot instance is running",
                }
            if client_gone():  # nobody would read the answer: leave the updates queued
                if self._poller is me:
                    self._poller = None
                return 499, {"ok": False, "error_code": 499, "description": "client gone"}
            batch = self._take_batch(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                break
            self._polls_waiting += 1
            self._poll_event.set()
            self._poll_event = asyncio.Event()
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                self._polls_waiting -= 1
        if self._poller is me:
            self._poller = None
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
            self._notify()
        return 200, {"ok": True, "result": batch}

    def _update_allowed(self, update: dict) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in _UPDATE_TYPES_DEFAULT_EXCLUDED
        return kind in self._allowed_updates

    def _take_batch(self, limit: int) -> list[dict]:
        with self._lock:
            kept = [u for u in self._updates if self._update_allowed(u)]
            if len(kept) != len(self._updates):
                dropped = [u["update_id"] for u in self._updates if not self._update_allowed(u)]
                self._delivered_upto = max(self._delivered_upto, *dropped)
                self._updates = kept
            return json.loads(json.dumps(kept[:limit]))

    def _ensure_webhook_task(self) -> None:
        if self._loop is None or self._server is None:
            return
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = self._loop.create_task(self._deliver_webhook())

    async def _deliver_webhook(self) -> None:
        import httpx  # only needed in webhook mode

        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(timeout=10)
        backoff = 0.05
        while self.webhook_url:
            event = self._updates_event
            batch = self._take_batch(1)
            if not batch:
                await event.wait()
                continue
            update = batch[0]
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            try:
                response = await self._webhook_client.post(
                    self.webhook_url, content=json.dumps(update).encode(), headers=headers
                )
                ok = 200 <= response.status_code < 300
                error = None if ok else f"Wrong response from the webhook: {response.status_code}"
            except httpx.HTTPError as exc:
                ok, error = False, f"Connection error: {exc!r}"
            if ok:
                backoff = 0.05
                with self._lock:
                    self._updates = [
                        u for u in self._updates if u["update_id"] != update["update_id"]
                    ]
                    self._delivered_upto = max(self._delivered_upto, update["update_id"])
                self._notify()
            else:
                self.webhook_last_error = error
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    # ------------------------------------------------------------------ internals: methods

    def _true(self, params: dict) -> bool:
        return True

    def _get_me(self, params: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: dict) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        self._updates.clear()
        self._delivered_upto = self._last_update_id

    def _set_webhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        if url and not re.match(r"^https?://", url):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._drop_pending()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = [str(x) for x in params["allowed_updates"]] or None
        self.webhook_url = url or None
        self.webhook_secret = params.get("secret_token") or None
        if self.webhook_url:
            self._ensure_webhook_task()
        return True

    def _get_webhook_info(self, params: dict) -> dict:
        info: dict = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            "max_connections": 40,
        }
        if self.webhook_last_error and self.webhook_url:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook_last_error
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _scope_and_language(self, params: dict) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        if scope is not None:
            kind = scope.get("type")
            if kind not in {
                "default",
                "all_private_chats",
                "all_group_chats",
                "all_chat_administrators",
                "chat",
                "chat_administrators",
                "chat_member",
            }:
                raise _bad("wrong parameter scope type")
            if (
                kind in ("chat", "chat_administrators", "chat_member")
                and scope.get("chat_id") not in self._chats
            ):
                raise _bad("chat not found")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return _scope_key(scope), language

    def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand: BotCommand must be an Object")
            command = item.get("command")
            description = item.get("description")
            if not isinstance(command, str) or not isinstance(description, str):
                raise _bad('can\'t parse BotCommand: Field "command" must be of type String')
            if not _COMMAND_RE.match(command.lower()):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command.lower(), "description": description})
        key = self._scope_and_language(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: dict) -> bool:
        self.commands.pop(self._scope_and_language(params), None)
        return True

    def _get_my_commands(self, params: dict) -> list[dict]:
        return [dict(c) for c in self.commands.get(self._scope_and_language(params), [])]

    def _writable_chat(self, params: dict, method: str, field_name: str = "chat_id") -> dict:
        chat_id = params.get(field_name)
        if chat_id is None or chat_id == "":
            raise _bad(f"{field_name} is empty")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if method in _CHAT_WRITE_METHODS:
            if chat_id in self._deactivated:
                raise _ApiError(403, "Forbidden: user is deactivated")
            if chat_id in self._blocked:
                if chat["type"] == "private":
                    raise _ApiError(403, "Forbidden: bot was blocked by the user")
                if chat["type"] == "channel":
                    raise _ApiError(403, "Forbidden: bot is not a member of the channel chat")
                kind = "supergroup" if chat["type"] == "supergroup" else "group"
                raise _ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return chat

    def _formatted(
        self, text: Any, params: dict, *, entities_field: str, limit: int, what: str
    ) -> tuple[str, list[dict] | None]:
        """Text after parse_mode, Telegram-style validation; returns (text, entities)."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        mode = params.get("parse_mode") or ""
        entities: list[dict] | None = None
        if mode.lower() == "html":
            try:
                text, entities = parse_html(text)
            except HtmlError as exc:
                raise _ApiError(400, exc.description) from None
        elif mode and mode.lower() not in ("markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        else:
            given = params.get(entities_field)
            if given is not None:
                if not isinstance(given, list) or not all(
                    isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in given
                ):
                    raise _bad("can't parse entities JSON object")
                entities = given
        if what == "text" and not text.strip():
            raise _bad("message text is empty")
        if utf16_length(text) > limit:
            raise _bad("message is too long" if what == "text" else "message caption is too long")
        return text, (entities or None)

    def _markup(self, params: dict) -> dict | None:
        """Validated reply_markup; returns the inline keyboard to store on the message."""
        if "reply_markup" not in params:
            return None
        markup = params["reply_markup"]
        if isinstance(markup, str):
            if not markup.strip():
                return None
            raise _bad("can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise _bad("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            if sum(len(r) for r in rows) > 100 or any(len(r) > 8 for r in rows):
                raise _bad("REPLY_MARKUP_TOO_LONG")
            for row in rows:
                for button in row:
                    _check_inline_button(button)
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    text = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(text, str) or not text:
                        raise _bad(
                            'can\'t parse keyboard button: Field "text" must be of type String'
                        )
            return None
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return None
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, params: dict, chat_id: int | str) -> dict | None:
        reply = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = _as_int(reply.get("message_id"), 0)
            allow = allow or bool(reply.get("allow_sending_without_reply"))
            chat_id = reply.get("chat_id", chat_id)
        elif reply is not None:
            raise _bad("can't parse ReplyParameters JSON object")
        if not message_id:
            return None
        replied = self._messages.get(chat_id, {}).get(message_id)
        if replied is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return _without_reply(replied)

    def _bot_message(self, chat: dict, params: dict) -> dict:
        message = self._new_message(chat, self.bot_user)
        reply = self._reply_to(params, chat["id"])
        if reply is not None:
            message["reply_to_message"] = reply
        return message

    def _send_message(self, params: dict) -> dict:
        chat = self._writable_chat(params, "sendMessage")
        text, entities = self._formatted(
            params.get("text"), params, entities_field="entities", limit=4096, what="text"
        )
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self._store(message)
        return json.loads(json.dumps(message))

    def _editable(self, params: dict, method: str) -> dict:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        self._writable_chat(params, method)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        message = self._messages.get(params["chat_id"], {}).get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _edit_message_text(self, params: dict) -> dict:
        message = self._editable(params, "editMessageText")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(
            params.get("text"), params, entities_field="entities", limit=4096, what="text"
        )
        markup = self._markup(params)
        if (
            text == message["text"]
            and entities == message.get("entities")
            and markup == message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED)
        message["text"] = text
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _edit_message_caption(self, params: dict) -> dict:
        message = self._editable(params, "editMessageCaption")
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._formatted(
            params.get("caption") or "",
            params,
            entities_field="caption_entities",
            limit=1024,
            what="caption",
        )
        markup = self._markup(params)
        if (
            caption == message.get("caption", "")
            and entities == message.get("caption_entities")
            and markup == message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED)
        _set_or_drop(message, "caption", caption or None)
        _set_or_drop(message, "caption_entities", entities)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _edit_message_reply_markup(self, params: dict) -> dict:
        message = self._editable(params, "editMessageReplyMarkup")
        markup = self._markup(params)
        if markup == message.get("reply_markup"):
            raise _bad(_NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _answer_callback_query(self, params: dict) -> bool:
        query_id = params.get("callback_query_id")
        entry = self.callback_queries.get(str(query_id or ""))
        if entry is None or entry["answered"]:
            raise _bad(_QUERY_TOO_OLD)
        text = params.get("text") or ""
        if len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        entry["answered"] = True
        entry["answer"] = {
            "text": text or None,
            "show_alert": bool(params.get("show_alert")),
            "url": params.get("url"),
        }
        return True

    def _send_chat_action(self, params: dict) -> bool:
        self._writable_chat(params, "sendChatAction")
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _file(self, params: dict, field_name: str, kind: str) -> tuple[dict, bytes | None]:
        """The sent file: (description, bytes or None when sent by file_id/URL)."""
        uploads: dict[str, _Upload] = params.get("__uploads__", {})
        value = params.get(field_name)
        upload = uploads.get(field_name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value[len("attach://") :])
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            n = next(self._ids)
            file_id = f"fake-{kind}-{n}"
            self.files[file_id] = upload.data
            return {
                "file_id": file_id,
                "file_unique_id": f"u{kind[:2]}{n}",
                "file_name": upload.filename,
                "mime_type": upload.content_type,
                "file_size": len(upload.data),
            }, upload.data
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {kind} in the request")
        if value in self.files:
            data = self.files[value]
            return {
                "file_id": value,
                "file_unique_id": "u" + value[-8:],
                "file_size": len(data),
            }, data
        if re.match(r"^https?://", value):
            n = next(self._ids)
            return {
                "file_id": f"fake-{kind}-{n}",
                "file_unique_id": f"u{kind[:2]}{n}",
                "file_name": value.rsplit("/", 1)[-1] or kind,
            }, None
        raise _bad("wrong file identifier/HTTP URL specified")

    def _media_message(self, params: dict, method: str) -> dict:
        chat = self._writable_chat(params, method)
        caption, entities = self._formatted(
            params.get("caption") or "",
            params,
            entities_field="caption_entities",
            limit=1024,
            what="caption",
        )
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _send_photo(self, params: dict) -> dict:
        info, data = self._file(params, "photo", "photo")
        message = self._media_message(params, "sendPhoto")
        width, height = _image_size(data) if data else (800, 600)
        base = {"file_id": info["file_id"], "file_unique_id": info["file_unique_id"]}
        scale = min(1.0, 90 / max(width, height, 1))
        message["photo"] = [
            {
                **base,
                "file_id": base["file_id"] + "-s",
                "file_unique_id": base["file_unique_id"] + "s",
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": max(1, (info.get("file_size") or 10000) // 10),
            },
            {**base, "width": width, "height": height, "file_size": info.get("file_size", 10000)},
        ]
        self._store(message)
        return json.loads(json.dumps(message))

    def _send_document(self, params: dict) -> dict:
        info, _ = self._file(params, "document", "document")
        message = self._media_message(params, "sendDocument")
        message["document"] = {k: v for k, v in info.items() if v is not None}
        self._store(message)
        return json.loads(json.dumps(message))

    def _copy_message(self, params: dict) -> dict:
        chat = self._writable_chat(params, "copyMessage")
        from_chat_id = params.get("from_chat_id")
        if from_chat_id is None:
            raise _bad("from_chat_id is empty")
        if from_chat_id not in self._chats:
            raise _bad("chat not found")
        source = self._messages.get(from_chat_id, {}).get(params.get("message_id"))
        if source is None:
            raise _bad("message to copy not found")
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        for key in (
            "text",
            "entities",
            "photo",
            "document",
            "video",
            "sticker",
            "voice",
            "location",
            "contact",
            "caption",
            "caption_entities",
        ):
            if key in source:
                message[key] = json.loads(json.dumps(source[key]))
        if "caption" in params:
            caption, entities = self._formatted(
                params.get("caption") or "",
                params,
                entities_field="caption_entities",
                limit=1024,
                what="caption",
            )
            _set_or_drop(message, "caption", caption or None)
            _set_or_drop(message, "caption_entities", entities)
        if markup is not None:
            message["reply_markup"] = markup
        self._store(message)
        return {"message_id": message["message_id"]}

    def _delete_message(self, params: dict) -> bool:
        self._writable_chat(params, "deleteMessage")
        messages = self._messages.get(params["chat_id"], {})
        message_id = params.get("message_id")
        if message_id not in messages:
            raise _bad("message to delete not found")
        del messages[message_id]
        return True


# ---------------------------------------------------------------------- helpers


def _scope_key(scope: dict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True, separators=(",", ":"))


def _as_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _set_or_drop(target: dict, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _without_reply(message: dict) -> dict:
    copied = json.loads(json.dumps(message))
    copied.pop("reply_to_message", None)
    return copied


def _user_entities(text: str) -> list[dict]:
    entities = []
    for regex, kind in ((_BOT_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for match in regex.finditer(text):
            entities.append(
                {
                    "type": kind,
                    "offset": utf16_length(text[: match.start()]),
                    "length": utf16_length(match.group(0)),
                }
            )
    entities.sort(key=lambda e: e["offset"])
    return entities


def _check_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise _bad(prefix + "InlineKeyboardButton should be an Object")
    if "text" not in button:
        raise _bad(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise _bad(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise _bad("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions or button.get("callback_data") == "":
        raise _bad(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _bad(
            prefix + "exactly one of the optional fields must be used, found " + ", ".join(actions)
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or len(data.encode("utf-8")) > 64:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not _BUTTON_URL_RE.match(url):
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 800, 600


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _CHAT_ID_FIELDS:
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if name in _INT_FIELDS:
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1", "yes")
    if name in _JSON_FIELDS:
        if not value.strip():
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value  # kept raw; the method answers with Telegram's parse error
    return value


def _decode_params(query: str, content_type: str, body: bytes) -> tuple[dict, dict]:
    """Request fields (query string + body) decoded; uploads separately by field name."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    uploads: dict[str, _Upload] = {}
    kind = content_type.split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise ValueError("can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise ValueError("can't parse JSON encoded request")
            raw.update(data)
        elif kind == "multipart/form-data":
            match = re.search(r'boundary="?([^";]+)"?', content_type)
            if match is None:
                raise ValueError("can't parse multipart/form-data request")
            fields, uploads = _parse_multipart(body, match.group(1).encode("latin-1"))
            raw.update(fields)
        else:
            raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    params = {name: _decode_value(name, value) for name, value in raw.items()}
    for name, upload in uploads.items():
        params[name] = {
            "filename": upload.filename,
            "size": len(upload.data),
            "content_type": upload.content_type,
        }
    return params, uploads


_DISPOSITION_RE = re.compile(r'(\w+)\*?=(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _parse_multipart(body: bytes, boundary: bytes) -> tuple[dict[str, str], dict[str, _Upload]]:
    fields: dict[str, str] = {}
    uploads: dict[str, _Upload] = {}
    delimiter = b"--" + boundary
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        attrs = {
            m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _DISPOSITION_RE.finditer(headers.get("content-disposition", ""))
        }
        name = attrs.get("name")
        if name is None:
            continue
        name = name.replace('\\"', '"')
        if "filename" in attrs:
            filename = unquote(attrs["filename"].replace('\\"', '"'))
            content_type = headers.get("content-type", "application/octet-stream")
            uploads[name] = _Upload(filename, content_type, content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, uploads
