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
:meth:`~FakeTelegram.stall` and :meth:`~FakeTelegram.rate_limit`; Telegram's flood limits
(about 30 messages/s overall, about 1/s per private chat, 20/min per group: 429 with
``retry_after``) are enforced after :meth:`~FakeTelegram.enforce_limits`.

A stalled request still takes effect when its delay is over, even if the client gave up
waiting (like a real request that timed out on the client after Telegram processed it).

Behaviour worth knowing:
- Chats are known once injected (``user``, ``add_chat``, ``send_message``); anything else is
  "chat not found", also for ``setMyCommands`` with a chat scope (as on Telegram, where a user
  who never started the bot cannot be addressed).
- Group chats get every message (privacy mode off), so the bot itself must ignore chatter.
- ``setWebhook`` takes what Telegram takes (an HTTPS URL on port 443, 80, 88 or 8443, a secret of
  ``[A-Za-z0-9_-]{1,256}``) and then makes the fake POST each update there (or to the address
  given to ``route_webhook``, like a reverse proxy in front of the bot), one at a time, with
  ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set, retried until a 2xx answer
  within ``webhook_timeout`` seconds (a non-2xx or slower answer: the update is sent again,
  as Telegram does; ``webhook_attempts`` counts the POSTs per update);
  ``getUpdates`` then answers 409 like Telegram. ``deleteWebhook`` goes back to polling.
- ``answerCallbackQuery`` more than ``callback_query_timeout`` seconds (15, as on Telegram)
  after the press, or twice, answers "query is too old and response timeout expired or query
  ID is invalid".
- Messages in answers carry what Telegram stores: HTML already parsed into ``text`` +
  ``entities``; ``reply_markup`` only for inline keyboards. ``Call.params`` keep what was sent.

No ``telegram`` import here: the fake speaks HTTP only.

Modules: :mod:`.server` (FakeTelegram: lifecycle, HTTP, method dispatch), :mod:`.calls`
(recorded calls, waiting and inspection), :mod:`.state` (users, chats, messages, the
update queue), :mod:`.inject` (what users do), :mod:`.faults` (fault injection),
:mod:`.limits` (flood limits), :mod:`.updates` (getUpdates and webhook delivery),
:mod:`.rules` (Telegram's limits, error wording and validation), :mod:`.codec` (request
decoding) and the Bot API methods in :mod:`.methods_bot`, :mod:`.methods_messages` and
:mod:`.methods_media`.
"""

from bot.fakeapi.calls import Call
from bot.fakeapi.rules import SEND_METHODS
from bot.fakeapi.server import DEFAULT_TOKEN, FakeTelegram

__all__ = ["DEFAULT_TOKEN", "SEND_METHODS", "Call", "FakeTelegram"]
