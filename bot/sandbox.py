"""``opdbot sandbox``: the real bot, offline, against the built-in fake Bot API.

You chat in the terminal: type messages and commands; the bot's replies are shown as plain
text with their buttons. A button is pressed by its key: a scale (0-10, 1-5) by its own value,
other buttons by number (or by letter next to a scale), or by typing its label. Messages that
arrive on their own (a slow /laporan, a reminder, a reply from the helpdesk) are printed when
they arrive and the prompt is drawn again. ``/helpdesk`` switches to the Diskominfo helpdesk
chat, where typing answers the latest question handed over. ``/keluar`` or Ctrl-D leaves.
The database is SQLite in ``data/`` unless ``--database-url`` says otherwise; log lines go to
``data/sandbox.log``, never into the chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.fakeapi import Call, FakeTelegram
from bot.tghtml import html_to_plain

SANDBOX_DB = "sqlite+aiosqlite:///data/sandbox.sqlite3"
SANDBOX_LOG = Path("data/sandbox.log")
SHOWN = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "copyMessage")
EXIT_WORDS = {"/keluar", "/exit", "/quit"}
HELPDESK_WORDS = {"/helpdesk"}
PROMPT_USER = "👤 "
PROMPT_HELPDESK = "🛟 "
# The helpdesk chat the sandbox plays when HELPDESK_CHAT_ID is not set, and its admin.
SANDBOX_HELPDESK = -1001000000001
HELPDESK_ADMIN = 424242
_MARKS = ("✅", "☑️", "⬜")
_VALUE = re.compile(r"(\d{1,2})(?:\s|$|·)")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def button_keys(labels: list[str]) -> list[str]:
    """The key that presses each button: a scale button (label starting with its value,
    "0".."10", "4 · Baik") by its value; the others by number, or by letter when a scale is
    there too (so typing 10 on a 0-10 scale picks 10, never the tenth button)."""
    values: list[str | None] = []
    for label in labels:
        bare = label
        for mark in _MARKS:
            bare = bare.replace(mark, "")
        m = _VALUE.match(bare.strip())
        values.append(str(int(m.group(1))) if m else None)
    numeric = [v for v in values if v is not None]
    if not numeric or len(set(numeric)) != len(numeric):
        return [str(i) for i in range(1, len(labels) + 1)]
    keys, letters = [], iter(_LETTERS)
    for v in values:
        keys.append(v if v is not None else next(letters, "?"))
    return keys


class TerminalChat:
    def __init__(self, fake: FakeTelegram, user_id: int, out=None, helpdesk_id=None) -> None:
        self.fake = fake
        self.user_id = user_id
        self.helpdesk_id = helpdesk_id
        self.as_helpdesk = False
        self.out = out or sys.stdout
        self.seen = 0
        self.choices: dict[str, tuple[int, str, str]] = {}  # key -> (message id, label, data)
        self.choices_mid = 0
        self.last_handoff = 0  # the latest message the bot sent to the helpdesk chat
        self.prompt_shown = False

    @property
    def prompt(self) -> str:
        return PROMPT_HELPDESK if self.as_helpdesk else PROMPT_USER

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def _buttons(self, call: Call) -> list[tuple[str, str]]:
        markup = call.params.get("reply_markup") or {}
        return [
            (b.get("text", ""), b.get("callback_data") or b.get("url") or "")
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def show_new(self) -> bool:
        """Print what the bot did since last time; True if anything was printed."""
        calls = self.fake.calls[self.seen :]
        self.seen += len(calls)
        printed = False
        for call in calls:
            if call.method == "answerCallbackQuery" and call.params.get("text"):
                self._before_output()
                self.print(f"  ({call.params['text']})")
                printed = True
                continue
            chat = call.params.get("chat_id")
            to_helpdesk = self.helpdesk_id is not None and chat == self.helpdesk_id
            if call.method not in SHOWN or (chat != self.user_id and not to_helpdesk):
                continue
            self._before_output()
            printed = True
            if not call.ok:
                self.print(f"  [gagal {call.method}: {call.error}]")
                continue
            self.render(call, helpdesk=to_helpdesk)
        return printed

    def _before_output(self) -> None:
        if self.prompt_shown:  # a message arrived while the prompt waited: start a fresh line
            self.print()
            self.prompt_shown = False

    def render(self, call: Call, *, helpdesk: bool = False) -> None:
        p = call.params
        bot = "🛟 [chat helpdesk] 🤖" if helpdesk else "🤖"
        if call.method == "editMessageText":
            head = f"{bot} (diperbarui)"
        elif call.method == "sendPhoto":
            head = f"{bot} [gambar]"
        elif call.method == "sendDocument":
            name = (p.get("document") or {}).get("filename", "berkas")
            head = f"{bot} [berkas: {name}]"
        elif call.method == "copyMessage":
            head = f"{bot} [salinan pesan]"
        else:
            head = bot
        text = p.get("text") or p.get("caption") or ""
        self.print(head)
        for line in html_to_plain(str(text)).splitlines():
            self.print(f"   {line}")
        if helpdesk:
            # A new question card (not the bot's reply to something said in that chat) is
            # what the tester answers after /helpdesk.
            replying = p.get("reply_to_message_id") or p.get("reply_parameters")
            if call.method == "sendMessage" and not replying:
                self.last_handoff = int((call.result or {}).get("message_id", 0))
                self.print("   (ketik /helpdesk lalu balasan Anda untuk menjawabnya)")
            self.print()
            return
        buttons = self._buttons(call)
        mid = (
            int(p["message_id"])
            if call.method == "editMessageText"
            else int((call.result or {}).get("message_id", 0))
        )
        if not buttons and self.choices and self.choices_mid == mid:
            self.choices = {}  # the message whose buttons were shown has none any more
        if buttons:
            keys = button_keys([t for t, _d in buttons])
            self.choices = {k: (mid, t, d) for k, (t, d) in zip(keys, buttons, strict=True)}
            self.choices_mid = mid
            for k, (t, _d) in zip(keys, buttons, strict=True):
                self.print(f"   [{k}] {t}")
        self.print()

    def _choice_for(self, typed: str) -> tuple[int, str, str] | None:
        key = typed.strip().lower()
        if key in self.choices:
            return self.choices[key]
        for choice in self.choices.values():  # the label typed out
            if choice[1].strip().lower() == key:
                return choice
        return None

    def handle_input(self, line: str) -> bool:
        """Turn one typed line into an update. Returns False when the user wants to leave."""
        line = line.rstrip("\n")
        self.prompt_shown = False
        word = line.strip().lower()
        if word in EXIT_WORDS:
            return False
        if word in HELPDESK_WORDS:
            self.as_helpdesk = not self.as_helpdesk
            if self.as_helpdesk:
                self.print(
                    "   🛟 Sekarang Anda di chat helpdesk Diskominfo: yang Anda ketik menjadi "
                    "balasan untuk pertanyaan terakhir yang diteruskan. /helpdesk untuk kembali."
                )
            else:
                self.print("   👤 Kembali ke chat pribadi dengan bot.")
            return True
        if self.as_helpdesk:
            if not line.strip():
                return True
            if not self.last_handoff or self.helpdesk_id is None:
                self.print("   (belum ada pertanyaan yang diteruskan ke helpdesk)")
                return True
            self.fake.send_message(
                HELPDESK_ADMIN,
                line,
                chat_id=self.helpdesk_id,
                chat_type="supergroup",
                reply_to_message_id=self.last_handoff,
                first_name="Admin Helpdesk",
            )
            return True
        choice = self._choice_for(line) if self.choices and line.strip() else None
        if choice is not None:
            mid, _label, data = choice
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


def _typed_so_far() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without readline
        return ""
    return readline.get_line_buffer()


async def _watch(chat: TerminalChat) -> None:
    """While the prompt waits, print what arrives (a slow report, a reminder, a helpdesk
    answer) at once, then draw the prompt again with what was typed so far."""
    while True:
        await asyncio.sleep(0.2)
        if chat.prompt_shown and chat.show_new():
            chat.out.write(chat.prompt + _typed_so_far())
            chat.out.flush()
            chat.prompt_shown = True


def log_path_for(database_url: str) -> Path:
    """The log file beside the sandbox's SQLite file (``data/sandbox.log`` by default)."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix):
        return Path(database_url[len(prefix) :]).parent / "sandbox.log"
    return SANDBOX_LOG


@contextlib.contextmanager
def _log_to_file(path: Path):
    """Log lines go to a file while the sandbox runs: the terminal is the chat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    for handler in saved:
        root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)


async def run_sandbox(
    settings: Settings,
    *,
    user_id: int = 1000,
    name: str = "Ayu",
    admin: bool = True,
    database_url: str | None = None,
    lines: Any = None,
    log_file: Path | None = None,
) -> None:

    db_url = database_url or SANDBOX_DB
    with _log_to_file(log_file or log_path_for(db_url)):
        await _run(settings, user_id, name, admin, db_url, lines)


async def _run(settings: Settings, user_id, name, admin, database_url, lines) -> None:
    from bot.config import load_settings
    from bot.core import Core
    from handlers.app import app_busy, build_application, start_app, stop_app

    fake = FakeTelegram(bot_username="opdbot_sandbox_bot", bot_name="OPD Bot (sandbox)")
    await fake.start()
    admins = set(settings.admin_ids) | ({user_id} if admin else set())
    helpdesk = settings.helpdesk_chat_id or SANDBOX_HELPDESK
    fake.add_chat(helpdesk, "supergroup", "Helpdesk Diskominfo (sandbox)")
    sb = load_settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        database_url=database_url,
        admin_ids=",".join(str(a) for a in sorted(admins)),
        timezone=settings.timezone,
        knowledge_dir=settings.resolve_knowledge_dir(),
        helpdesk_chat_id=helpdesk,
        _env_file=None,
    )
    fake.user(user_id, name)
    core = await Core.create(sb)
    app = build_application(core)
    chat = TerminalChat(fake, user_id, helpdesk_id=helpdesk)
    await start_app(app)
    fake.busy = lambda: app_busy(app)
    chat.print(
        "opdbot sandbox — bot yang sama, tanpa Telegram. Ketik pesan atau perintah "
        "(mulai dengan /start). Tombol dipilih dengan kuncinya: [1], [a], atau nilai skala "
        "[0]..[10]. /helpdesk untuk mencoba sisi helpdesk. /keluar atau Ctrl-D untuk keluar.\n"
    )
    watcher = asyncio.create_task(_watch(chat)) if lines is None else None
    try:
        while True:
            await fake.wait_idle(quiet=0.25, timeout=15)
            chat.show_new()
            chat.prompt_shown = lines is None
            line = await _read_line(chat.prompt) if lines is None else next(lines, None)
            chat.prompt_shown = False
            if line is None or not chat.handle_input(line):
                break
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        with contextlib.suppress(Exception):
            await stop_app(app)
        await core.close()
        await fake.stop()
        chat.print("Sampai jumpa! 👋")
