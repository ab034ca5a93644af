"""FakeTelegram itself: its state, start/stop, the HTTP/1.1 server and the method dispatch
(the rest of its behaviour comes from the mixins of the sibling modules; see the package
docstring)."""

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
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.fakeapi.calls import Call, _Calls
from bot.fakeapi.codec import _decode_params
from bot.fakeapi.faults import _Fault, _Faults, _Stall
from bot.fakeapi.inject import _Inject
from bot.fakeapi.limits import _Limits
from bot.fakeapi.methods_bot import _BotMethods
from bot.fakeapi.methods_media import _MediaMethods
from bot.fakeapi.methods_messages import _MessageMethods
from bot.fakeapi.rules import _ApiError, _Rules
from bot.fakeapi.state import _State
from bot.fakeapi.updates import _Updates

__all__ = ["DEFAULT_TOKEN", "FakeTelegram"]

DEFAULT_TOKEN = "123456789:TESTTOKENabcdefghijklmnopqrstuvwxyz"

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


class FakeTelegram(
    _Calls,
    _State,
    _Inject,
    _Faults,
    _Limits,
    _Updates,
    _BotMethods,
    _MessageMethods,
    _MediaMethods,
    _Rules,
):
    """A fake Telegram Bot API server for one bot (see the package docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int = 123456789,
        bot_username: str = "opdbot_test_bot",
        bot_name: str = "OPD Bot",
        first_update_id: int | None = None,
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
        #: seconds the bot has to answer a webhook POST; slower (or non-2xx) = sent again
        self.webhook_timeout: float = 10.0
        #: webhook POSTs made per update_id (redeliveries counted)
        self.webhook_attempts: dict[int, int] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.files: dict[str, bytes] = {}
        self.callback_queries: dict[str, dict] = {}
        #: seconds after the press within which answerCallbackQuery is accepted (Telegram: 15)
        self.callback_query_timeout = 15.0
        #: where "the reverse proxy" forwards webhook POSTs (see :meth:`route_webhook`)
        self.webhook_route: str | None = None

        self._lock = threading.RLock()
        self._users: dict[int, dict] = {}
        self._chats: dict[int | str, dict] = {}
        self._messages: dict[int | str, dict[int, dict]] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._updates: list[dict] = []  # pending (not yet confirmed) updates, in order
        # Like Telegram's, update ids keep growing across runs (a bot's inbox recognises an id it
        # stored before as a redelivery): by default they start from the clock, in ms.
        if first_update_id is None:
            first_update_id = int(time.time() * 1000) % 2**40
        self._update_ids = itertools.count(first_update_id)
        self._first_update_id = first_update_id
        self._last_update_id = first_update_id - 1
        self._delivered_upto = first_update_id - 1
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
        self._limit_rules = None  # enforce_limits() switches Telegram's flood limits on
        self.limit_hits = 0

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
        #: set by whoever runs the bot: True while it still holds updates it has not finished
        #: (``wait_idle`` waits for those too, not only for a quiet moment)
        self.busy: Callable[[], bool] | None = None
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
                    self._check_limits(method, params)
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
            if entry is not None and "message" in entry["query"]:  # not for inline messages
                call.query_chat_id = entry["query"]["message"]["chat"]["id"]
        self.calls.append(call)
        self._notify(calls=True)
        return status, payload
