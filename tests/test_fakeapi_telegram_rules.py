"""The fake Bot API refuses what Telegram refuses in setWebhook, and answers a callback query
answered more than 15 s after the press with "query is too old"; the bot copes with the latter."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.fakeapi import FakeTelegram
from tests.conftest import ADMIN_ID, buttons_of, message_id_of

BAD_PORT = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
NO_HTTPS = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
BAD_SECRET = "Bad Request: secret token contains unallowed characters"
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@pytest.fixture
async def raw_bot(fake: FakeTelegram):
    async with Bot(fake.token, base_url=fake.base_url) as b:
        yield b


@pytest.mark.parametrize(
    ("url", "secret", "error"),
    [
        ("http://bot.example.go.id/hook", None, NO_HTTPS),
        ("ftp://bot.example.go.id/hook", None, NO_HTTPS),
        ("https://bot.example.go.id:9000/hook", None, BAD_PORT),
        ("https://bot.example.go.id:8080/hook", None, BAD_PORT),
        ("https://bot.example.go.id/hook", "ada spasi", BAD_SECRET),
        ("https://bot.example.go.id/hook", "titik.koma;", BAD_SECRET),
        ("https://bot.example.go.id/hook", "a" * 257, "Bad Request: secret token is too long"),
    ],
)
async def test_set_webhook_refusals(fake, raw_bot, url, secret, error):
    with pytest.raises(BadRequest):
        await raw_bot.set_webhook(url, secret_token=secret)
    assert fake.calls[-1].error == error
    assert fake.calls[-1].status == 400
    assert fake.webhook_url is None


@pytest.mark.parametrize("port", ["", ":443", ":80", ":88", ":8443"])
async def test_set_webhook_accepts_telegram_ports(fake, raw_bot, port):
    url = f"https://bot.example.go.id{port}/hook"
    assert await raw_bot.set_webhook(url, secret_token="Rahasia_123-abc")
    assert fake.webhook_url == url
    assert fake.webhook_secret == "Rahasia_123-abc"
    assert fake._webhook_target() == url
    fake.route_webhook("http://127.0.0.1:9")
    assert fake._webhook_target() == "http://127.0.0.1:9/hook"
    await raw_bot.delete_webhook()


async def test_answer_after_timeout_is_too_old(fake, raw_bot):
    fake.user(5, "Ani")
    msg = await raw_bot.send_message(5, "pilih")
    fake.press_button(5, msg.message_id, "x")
    query_id = next(iter(fake.callback_queries))
    fake.callback_queries[query_id]["pressed"] -= 16  # pressed 16 s ago
    with pytest.raises(BadRequest):
        await raw_bot.answer_callback_query(query_id)
    assert fake.calls[-1].error == TOO_OLD
    # within 15 s it is accepted, once
    fake.press_button(5, msg.message_id, "y")
    second = list(fake.callback_queries)[-1]
    assert await raw_bot.answer_callback_query(second)
    with pytest.raises(BadRequest):
        await raw_bot.answer_callback_query(second)


async def test_bot_keeps_working_when_answers_come_too_late(harness, fake, caplog):
    """Every answer arrives 'too late': the buttons still do their work and the bot goes on."""
    fake.callback_query_timeout = 0.0
    first = await harness.say(ADMIN_ID, "/materi")
    pillars = buttons_of(first)
    assert pillars
    mark = fake.mark()
    edit = await harness.press(ADMIN_ID, message_id_of(first), pillars[0][1])
    answers = [c for c in fake.calls[mark:] if c.method == "answerCallbackQuery"]
    assert answers and all(c.error == TOO_OLD for c in answers)
    assert buttons_of(edit)  # the pillar's entries are shown all the same
    again = await harness.say(ADMIN_ID, "/bantuan")
    assert again.ok
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_webhook_redelivers_after_an_error_or_a_slow_answer(fake, raw_bot):
    """Like Telegram: an update the bot answered with a non-2xx, or too slowly, comes again
    (the same update_id) until a 2xx arrives in time."""
    import asyncio

    seen: list[int] = []
    answers = iter([(500, 0.0), (200, 1.0), (200, 0.0)])  # error, too slow, fine

    async def serve(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        body = await reader.readexactly(length)
        import json

        seen.append(json.loads(body)["update_id"])
        status, delay = next(answers, (200, 0.0))
        await asyncio.sleep(delay)
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        fake.webhook_timeout = 0.5
        fake.route_webhook(f"http://127.0.0.1:{port}")
        await raw_bot.set_webhook("https://bot.example.go.id/hook")
        update = fake.send_message(ADMIN_ID, "halo")
        await fake.wait_idle(quiet=0.1, timeout=10)
        uid = update["update_id"]
        assert seen == [uid, uid, uid]
        assert fake.webhook_attempts[uid] == 3
    finally:
        server.close()
        await raw_bot.delete_webhook()
