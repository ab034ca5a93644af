"""``opdbot sandbox``: the real bot, offline, against the built-in fake Bot API.

You chat in the terminal: type messages and commands; the bot's replies are shown as plain
text with inline buttons as numbered choices (type the number to press one). ``/keluar`` or
Ctrl-D leaves. The database is SQLite in ``data/`` unless ``--database-url`` says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from bot.config import Settings
from bot.fakeapi import Call, FakeTelegram
from bot.tghtml import html_to_plain

SANDBOX_DB = "sqlite+aiosqlite:///data/sandbox.sqlite3"
SHOWN = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "copyMessage")
EXIT_WORDS = {"/keluar", "/exit", "/quit"}


class TerminalChat:
    def __init__(self, fake: FakeTelegram, user_id: int, out=None) -> None:
        self.fake = fake
        self.user_id = user_id
        self.out = out or sys.stdout
        self.seen = 0
        self.choices: list[tuple[int, str, str]] = []  # (message id, label, callback data)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def _buttons(self, call: Call) -> list[tuple[str, str]]:
        markup = call.params.get("reply_markup") or {}
        return [
            (b.get("text", ""), b.get("callback_data") or b.get("url") or "")
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def show_new(self) -> None:
        calls = self.fake.calls[self.seen :]
        self.seen += len(calls)
        for call in calls:
            if call.method == "answerCallbackQuery" and call.params.get("text"):
                self.print(f"  ({call.params['text']})")
                continue
            if call.method not in SHOWN or call.params.get("chat_id") != self.user_id:
                continue
            if not call.ok:
                self.print(f"  [gagal {call.method}: {call.error}]")
                continue
            self.render(call)

    def render(self, call: Call) -> None:
        p = call.params
        if call.method == "editMessageText":
            head = "🤖 (diperbarui)"
        elif call.method == "sendPhoto":
            head = "🤖 [gambar]"
        elif call.method == "sendDocument":
            name = (p.get("document") or {}).get("filename", "berkas")
            head = f"🤖 [berkas: {name}]"
        elif call.method == "copyMessage":
            head = "🤖 [salinan pesan]"
        else:
            head = "🤖"
        text = p.get("text") or p.get("caption") or ""
        self.print(head)
        for line in html_to_plain(str(text)).splitlines():
            self.print(f"   {line}")
        buttons = self._buttons(call)
        mid = (
            int(p["message_id"])
            if call.method == "editMessageText"
            else int((call.result or {}).get("message_id", 0))
        )
        if not buttons and self.choices and self.choices[0][0] == mid:
            self.choices = []  # the message whose buttons were shown has none any more
        if buttons:
            self.choices = [(mid, t, d) for t, d in buttons]
            for i, (t, _d) in enumerate(buttons, 1):
                self.print(f"   [{i}] {t}")
        self.print()

    def handle_input(self, line: str) -> bool:
        """Turn one typed line into an update. Returns False when the user wants to leave."""
        line = line.rstrip("\n")
        if line.strip().lower() in EXIT_WORDS:
            return False
        if line.strip().isdigit() and self.choices:
            n = int(line.strip())
            if 1 <= n <= len(self.choices):
                mid, _label, data = self.choices[n - 1]
                if data.startswith(("http://", "https://")):
                    self.print(f"   (tautan: {data})")
                    return True
                self.fake.press_button(self.user_id, mid, data)
                return True
        if line.strip():
            self.fake.send_message(self.user_id, line)
        return True


async def _read_line(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


async def run_sandbox(
    settings: Settings,
    *,
    user_id: int = 1000,
    name: str = "Ayu",
    admin: bool = True,
    database_url: str | None = None,
    lines: Any = None,
) -> None:
    from bot.config import load_settings
    from bot.core import Core
    from handlers.app import build_application, start_app, stop_app

    fake = FakeTelegram(bot_username="opdbot_sandbox_bot", bot_name="OPD Bot (sandbox)")
    await fake.start()
    admins = set(settings.admin_ids) | ({user_id} if admin else set())
    sb = load_settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        database_url=database_url or SANDBOX_DB,
        admin_ids=",".join(str(a) for a in sorted(admins)),
        timezone=settings.timezone,
        knowledge_dir=settings.resolve_knowledge_dir(),
        helpdesk_chat_id=settings.helpdesk_chat_id,
        _env_file=None,
    )
    fake.user(user_id, name)
    core = await Core.create(sb)
    app = build_application(core)
    chat = TerminalChat(fake, user_id)
    await start_app(app)
    chat.print(
        "opdbot sandbox — bot yang sama, tanpa Telegram. Ketik pesan atau perintah "
        "(mulai dengan /start). Angka memilih tombol. /keluar atau Ctrl-D untuk keluar.\n"
    )
    try:
        while True:
            await fake.wait_idle(quiet=0.25, timeout=15)
            chat.show_new()
            line = await _read_line("👤 ") if lines is None else next(lines, None)
            if line is None or not chat.handle_input(line):
                break
    finally:
        with contextlib.suppress(Exception):
            await stop_app(app)
        await core.close()
        await fake.stop()
        chat.print("Sampai jumpa! 👋")
