"""The fake Bot API, driven by a real PTB ``Bot`` and a polling ``Application``."""

import asyncio
import io
import json
import struct
import threading
import zlib

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.fakeapi import SEND_METHODS, FakeTelegram

USER = 4242

# PTB 22 warns when RetryAfter.retry_after is read as a number
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        server.user(USER, "Budi", username="budi_tbn")
        yield server


@pytest.fixture
async def bot(fake):
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d)] for d in data])


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def test_get_me_token_and_unknown_method(fake, bot):
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456789, "opdbot_test_bot", True)
    with pytest.raises(InvalidToken):
        async with Bot("987:WRONG", base_url=fake.base_url):
            pass
    async with httpx.AsyncClient() as client:
        unknown = await client.post(fake.api_url + "sendTelepathy", data={"chat_id": USER})
        unauthorized = await client.post(f"{fake.base_url}1:nope/getMe")
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert unauthorized.status_code == 401
    assert unauthorized.json()["description"] == "Unauthorized"
    assert [(c.method, c.status) for c in fake.calls] == [
        ("getMe", 200), ("getMe", 200), ("getMe", 401), ("sendTelepathy", 404), ("getMe", 401),
    ]  # fmt: skip


async def test_send_edit_answer_copy_delete(fake, bot):
    sent = await bot.send_message(
        USER, "<b>Halo</b> &amp; selamat datang", parse_mode="HTML", reply_markup=keyboard("a")
    )
    assert sent.text == "Halo & selamat datang"
    assert sent.entities[0].type == "bold" and sent.reply_markup == keyboard("a")
    call = fake.calls_of("sendMessage", USER)[0]
    assert call.ok and call.params["chat_id"] == USER and call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]
    }

    update = fake.press_button(USER, sent.message_id, "a")
    query_id = update["callback_query"]["id"]
    assert update["callback_query"]["message"]["reply_markup"] == call.params["reply_markup"]
    assert await bot.answer_callback_query(query_id, text="Tersimpan")
    assert fake.calls_of("answerCallbackQuery")[0].chat_id == USER
    assert fake.callback_queries[query_id]["answer"]["text"] == "Tersimpan"

    edited = await bot.edit_message_text("Sudah <i>dipilih</i>", USER, sent.message_id,
                                         parse_mode="HTML")  # fmt: skip
    assert edited.text == "Sudah dipilih" and edited.reply_markup is None
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("b"))

    update = fake.send_message(USER, "pertanyaan saya")
    user_message_id = update["message"]["message_id"]
    copied = await bot.copy_message(USER, USER, user_message_id)
    assert copied.message_id == user_message_id + 1
    await bot.send_chat_action(USER, "typing")
    assert await bot.delete_message(USER, sent.message_id)

    texts = [(m["from"]["id"], m.get("text")) for m in fake.messages(USER)]
    assert texts == [(USER, "pertanyaan saya"), (123456789, "pertanyaan saya")]
    assert [c.method for c in fake.sent_to(USER)] == [
        "sendMessage", "editMessageText", "editMessageReplyMarkup", "copyMessage",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"chat_id": 999, "text": "x"}, "Bad Request: chat not found"),
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "   \n "}, "Bad Request: message text is empty"),
        ({"text": "<b></b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "<b>" + "x" * 4097 + "</b>", "parse_mode": "HTML"},
         "Bad Request: message is too long"),
        ({"text": "Nama: <script>", "parse_mode": "HTML"},
         "Bad Request: can't parse entities: Unsupported start tag \"script\" at byte offset 6"),
        ({"text": "<b>tebal", "parse_mode": "HTML"},
         "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""),
        ({"text": "<b>x</i>", "parse_mode": "HTML"},
         "Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "
         "\"</b>\", found \"</i>\""),
        ({"text": "ok", "reply_markup": keyboard("x" * 65)}, "Bad Request: BUTTON_DATA_INVALID"),
    ],
)  # fmt: skip
async def test_send_message_validation(fake, bot, kwargs, description):
    kwargs = {"chat_id": USER, **kwargs}
    with pytest.raises(BadRequest):
        await bot.send_message(**kwargs)
    call = fake.calls_of("sendMessage")[-1]
    assert (call.ok, call.status, call.error) == (False, 400, description)
    assert fake.messages(USER) == []


async def test_4096_visible_characters_pass(fake, bot):
    message = await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert len(message.text) == 4096


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        ("{not json", "Bad Request: can't parse reply keyboard markup JSON object"),
        ("[1, 2]", "Bad Request: object expected as reply markup"),
        ('{"inline_keyboard": [{"text": "a"}]}',
         "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array "
         "of Arrays"),
        ('{"inline_keyboard": [[{"callback_data": "a"}]]}',
         "Bad Request: can't parse inline keyboard button: Can't find field \"text\""),
        ('{"inline_keyboard": [[{"text": "a"}]]}',
         "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
         "inline keyboard"),
        ('{"inline_keyboard": [[{"text": "a", "callback_data": "a", "url": "https://x.id"}]]}',
         "Bad Request: can't parse inline keyboard button: exactly one of the optional fields "
         "must be used, found url, callback_data"),
    ],
)  # fmt: skip
async def test_malformed_reply_markup(fake, markup, description):
    async with httpx.AsyncClient() as client:
        response = await client.post(
            fake.api_url + "sendMessage",
            data={"chat_id": str(USER), "text": "x", "reply_markup": markup},
        )
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": description}


async def test_edit_answer_copy_errors(fake, bot):
    sent = await bot.send_message(USER, "sama", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("sama", USER, sent.message_id, reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("a"))
    # same text without the keyboard is a change: it removes the keyboard
    await bot.edit_message_text("sama", USER, sent.message_id)
    with pytest.raises(BadRequest, match="[Mm]essage to edit not found"):
        await bot.edit_message_text("baru", USER, 9999)
    user_message = fake.send_message(USER, "halo")["message"]["message_id"]
    with pytest.raises(BadRequest, match="can't be edited"):
        await bot.edit_message_text("baru", USER, user_message)
    with pytest.raises(BadRequest, match="[Qq]uery is too old"):
        await bot.answer_callback_query("123")
    query = fake.press_button(USER, sent.message_id, "tampered")["callback_query"]["id"]
    await bot.answer_callback_query(query)
    with pytest.raises(BadRequest, match="[Qq]uery is too old"):
        await bot.answer_callback_query(query)
    with pytest.raises(BadRequest, match="[Mm]essage to copy not found"):
        await bot.copy_message(USER, USER, 9999)
    with pytest.raises(BadRequest, match="[Mm]essage to delete not found"):
        await bot.delete_message(USER, 9999)
    errors = [c.error for c in fake.calls if not c.ok]
    assert errors[0].startswith("Bad Request: message is not modified: specified new message")
    assert "Bad Request: message to edit not found" in errors
    assert "Bad Request: message to copy not found" in errors
    assert (
        errors.count(
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
        == 2
    )


async def test_blocked_deactivated_and_injected_faults(fake, bot):
    fake.user(7, "Ani")
    fake.user(8, "Wayan")
    fake.block(7)
    fake.deactivate(8)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(7, "x")
    with pytest.raises(Forbidden, match="deactivated"):
        await bot.send_message(8, "x")
    assert fake.calls[-2].error == "Forbidden: bot was blocked by the user"
    assert fake.calls[-1].status == 403

    fake.fail(None, status=429, description="Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "x")
    assert seconds(info.value.retry_after) == 7
    fake.fail("sendMessage", status=500, description="Internal Server Error", chat_id=USER,
              times=2)  # fmt: skip
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "x")
    await bot.send_chat_action(USER, "typing")  # not a send method: untouched by fail(None)
    assert (await bot.send_message(USER, "akhirnya")).text == "akhirnya"
    assert [c.status for c in fake.calls_of("sendMessage", USER)] == [429, 500, 500, 200]


async def test_groups_media_and_mentions_parse_in_ptb(fake, bot):
    fake.send_message(USER, "halo @opdbot_test_bot, /bantuan@opdbot_test_bot", chat_id=-100500,
                      chat_type="supergroup", chat_title="Humas OPD")  # fmt: skip
    for kind in ("photo", "document", "video", "sticker", "voice", "location", "contact"):
        fake.send_media(USER, kind, caption="foto kegiatan" if kind == "photo" else None)
    updates = await bot.get_updates(timeout=0)
    group = updates[0].message
    assert (group.chat.id, group.chat.type, group.chat.title) == (
        -100500,
        "supergroup",
        "Humas OPD",
    )
    assert [e.type for e in group.entities] == ["mention", "bot_command"]
    assert group.parse_entities()[group.entities[1]] == "/bantuan@opdbot_test_bot"
    media = [u.message for u in updates[1:]]
    assert media[0].photo[-1].width == 1280 and media[0].caption == "foto kegiatan"
    assert media[1].document.file_name.endswith(".pdf")
    assert media[3].sticker is not None and media[4].voice is not None
    assert media[5].location.latitude < 0 and media[6].contact.user_id == USER
    assert all(m.text is None for m in media)

    sent = await bot.send_message(-100500, "Halo semua")
    assert sent.chat.type == "supergroup" and sent.message_id == 2
    fake.block(-100500)
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.send_message(-100500, "lagi")
    fake.unblock(-100500)
    await bot.send_message(-100500, "boleh lagi")
    with pytest.raises(ValueError, match="unknown media kind"):
        fake.send_media(USER, "hologram")
    with pytest.raises(ValueError, match="no message 77"):
        fake.press_button(USER, 77, "x")


async def test_stall_times_out_the_client_but_still_takes_effect(fake):
    request = HTTPXRequest(read_timeout=0.2, connect_timeout=1)
    async with Bot(fake.token, base_url=fake.base_url, request=request) as slow:
        fake.stall("sendMessage", 0.6)
        with pytest.raises(TimedOut):
            await slow.send_message(USER, "lambat")
        call = await fake.wait_for("sendMessage", chat_id=USER, timeout=3)
    assert call.ok and call.answered_at - call.at >= 0.6
    assert [m["text"] for m in fake.messages(USER)] == ["lambat"]


async def test_long_poll_wakes_when_an_update_is_injected(fake, bot):
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_polling()
    fake.send_message(USER, "/start")
    updates = await asyncio.wait_for(poll, timeout=5)  # far below the 30 s poll timeout
    assert [u.message.text for u in updates] == ["/start"]
    assert updates[0].message.entities[0].type == "bot_command"
    # an offset confirms: the update is not delivered twice
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()

    # injection from another thread (the sandbox reads the terminal in one) wakes it too
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_polling()
    thread = threading.Thread(target=fake.send_message, args=(USER, "dari thread"))
    thread.start()
    updates = await asyncio.wait_for(poll, timeout=5)
    thread.join()
    assert [u.message.text for u in updates] == ["dari thread"]
    assert all(c.method != "getUpdates" for c in fake.calls)


async def test_upload_photo_and_document(fake, bot):
    data = png(3, 2)
    photo = await bot.send_photo(USER, io.BytesIO(data), caption="<b>Grafik</b>",
                                 parse_mode="HTML", filename="grafik.png")  # fmt: skip
    assert photo.caption == "Grafik" and photo.photo[-1].width == 3
    call = fake.calls_of("sendPhoto")[0]
    assert call.params["photo"] == {"filename": "grafik.png", "size": len(data),
                                    "content_type": "image/png"}  # fmt: skip
    assert fake.files[photo.photo[-1].file_id] == data

    report = "kolom;nilai\n" + "baris;1\n" * 100
    document = await bot.send_document(USER, report.encode(), filename="laporan.csv")
    assert document.document.file_name == "laporan.csv"
    assert document.document.file_size == len(report.encode())
    # re-sending by file_id needs no upload
    again = await bot.send_photo(USER, photo.photo[-1].file_id)
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    with pytest.raises(BadRequest, match="[Mm]essage caption is too long"):
        await bot.send_photo(USER, photo.photo[-1].file_id, caption="x" * 1025)
    with pytest.raises(BadRequest, match="[Ww]rong file identifier"):
        await bot.send_document(USER, "bukan-file-id")


async def test_rate_limit_fraction_is_roughly_respected(fake, bot):
    fake.rate_limit(0.3, retry_after=2, seed=1)
    limited = 0
    for i in range(200):
        try:
            await bot.send_message(USER, f"siaran {i}")
        except RetryAfter as exc:
            assert seconds(exc.retry_after) == 2
            limited += 1
    assert 35 <= limited <= 85
    assert len(fake.messages(USER)) == 200 - limited
    fake.rate_limit(0)
    await bot.send_message(USER, "normal lagi")


async def test_commands_by_scope_and_language(fake, bot):
    from telegram import BotCommand, BotCommandScopeChat

    await bot.set_my_commands([BotCommand("start", "Mulai"), BotCommand("bantuan", "Bantuan")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands([BotCommand("siaran", "Kirim siaran")],
                              scope=BotCommandScopeChat(USER))  # fmt: skip
    assert [c["command"] for c in fake.commands_for()] == ["start", "bantuan"]
    assert fake.commands_for(language_code="en") == [{"command": "start", "description": "Start"}]
    assert fake.commands[('{"type":"default"}', "")][1]["description"] == "Bantuan"
    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(USER))
    assert [c.command for c in scoped] == ["siaran"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command!", "x")])
    assert fake.calls[-1].error == "Bad Request: BOT_COMMAND_INVALID"
    await bot.delete_my_commands(language_code="en")
    assert fake.commands_for(language_code="en") is None


async def test_webhook_blocks_polling_and_delivers_updates(fake, bot):
    received: list[dict] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        headers = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )
        body = await reader.readexactly(int(headers["Content-Length"]))
        received.append({"secret": headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         "update": json.loads(body)})  # fmt: skip
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        fake.route_webhook(f"http://127.0.0.1:{port}")  # the reverse proxy in front of the bot
        await bot.set_webhook("https://bot.example.go.id/hook", secret_token="rahasia")
        assert fake.webhook_url == "https://bot.example.go.id/hook"
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        fake.send_message(USER, "lewat webhook")
        await fake.wait_idle(quiet=0.05, timeout=5)
        assert received[0]["secret"] == "rahasia"
        assert received[0]["update"]["message"]["text"] == "lewat webhook"
        assert (await bot.get_webhook_info()).pending_update_count == 0
        await bot.delete_webhook()
        assert fake.webhook_url is None
    finally:
        server.close()


async def test_application_polling_end_to_end(fake):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(
            f"Halo <b>{update.effective_user.first_name}</b>!", reply_markup=keyboard("ya", "tidak")
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"Pilihan: {update.callback_query.data}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text.upper())

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with app:
        await app.updater.start_polling(timeout=5)
        await app.start()
        try:
            mark = fake.mark()
            fake.send_message(USER, "/start")
            reply = await fake.wait_for("sendMessage", chat_id=USER, after=mark)
            assert reply.params["text"] == "Halo <b>Budi</b>!"
            assert reply.result["text"] == "Halo Budi!"

            mark = fake.mark()
            fake.press_button(USER, reply.result["message_id"], "ya")
            edit = await fake.wait_for("editMessageText", chat_id=USER, after=mark)
            assert edit.ok and edit.result["text"] == "Pilihan: ya"
            assert fake.calls_of("answerCallbackQuery")[-1].ok

            for n in range(1, 21):  # many users at once
                fake.user(n, f"Pengguna {n}")
                fake.send_message(n, f"pesan {n}")
            await fake.wait_idle(quiet=0.2)
            for n in range(1, 21):
                assert [c.params["text"] for c in fake.sent_to(n)] == [f"PESAN {n}"]
        finally:
            await app.updater.stop()
            await app.stop()
    methods = {c.method for c in fake.calls}
    assert {"getMe", "deleteWebhook", "sendMessage"} <= methods
    assert methods <= SEND_METHODS | {"getMe", "deleteWebhook", "answerCallbackQuery"}


async def test_wait_for_times_out_with_a_readable_summary(fake, bot):
    await bot.send_message(USER, "sudah terkirim")
    with pytest.raises(AssertionError) as info:
        await fake.wait_for("sendPhoto", chat_id=USER, timeout=0.1)
    summary = str(info.value)
    assert "no sendPhoto to chat 4242" in summary
    assert "sendMessage chat=4242 'sudah terkirim'" in summary
    fake.send_message(USER, "tidak ada yang mengambil")
    with pytest.raises(AssertionError, match="1 updates never delivered"):
        await fake.wait_idle(quiet=0.05, timeout=0.2)
