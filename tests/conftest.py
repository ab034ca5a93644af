"""Shared fixtures: a fresh migrated database per test, the fake Bot API, and a harness that
runs the real PTB Application against it.

The suite runs on SQLite always; set TEST_DATABASE_URL (postgresql+asyncpg://...) to run it on
PostgreSQL too (every table is emptied before each test).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings, load_settings
from bot.db import upgrade
from bot.db.base import Base
from bot.fakeapi import Call, FakeTelegram

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"
#: one vector cache (semantic search) for the whole session and for every run in this checkout
#: (CI runs the suite on SQLite, then on PostgreSQL): the knowledge base is embedded at most
#: once. Gitignored. Set before any knowledge base is built.
VECTOR_CACHE = REPO / ".cache" / "kb-vectors"
os.environ.setdefault("VECTOR_CACHE_DIR", str(VECTOR_CACHE))
ADMIN_ID = 1000
PG_URL = os.environ.get("TEST_DATABASE_URL") or None
SEND_METHODS = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "copyMessage")


def _pg_reset_schema(url: str) -> None:
    async def go() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(go())


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory) -> str:
    """Migrate once per session: a SQLite template file, or the PostgreSQL schema."""
    if PG_URL:
        _pg_reset_schema(PG_URL)
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("dbtemplate") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


async def _pg_truncate(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def db_url(_migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    if PG_URL:
        await _pg_truncate(PG_URL)
        return PG_URL
    target = tmp_path / "opdbot.sqlite3"
    shutil.copy(_migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def fake():
    server = FakeTelegram()
    server.user(ADMIN_ID, "Admin", last_name="Diskominfo")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def make_settings(fake: FakeTelegram, db_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": fake.token,
        "telegram_base_url": fake.base_url,
        "database_url": db_url,
        "admin_ids": str(ADMIN_ID),
        "knowledge_dir": KNOWLEDGE,
        "_env_file": None,
    }
    values.update(extra)
    return load_settings(**values)


@pytest.fixture
async def settings(fake: FakeTelegram, db_url: str) -> Settings:
    return make_settings(fake, db_url)


class Harness:
    """The real bot application, polling the fake Bot API."""

    def __init__(self, fake: FakeTelegram, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.core: Any = None
        self.app: Any = None

    async def start(self) -> None:
        from bot.core import Core
        from handlers.app import app_busy, build_application, start_app

        self.core = await Core.create(self.settings, migrate=False)
        self.app = build_application(self.core)
        await start_app(self.app)
        app = self.app
        self.fake.busy = lambda: app_busy(app)

    async def stop(self) -> None:
        from handlers.app import stop_app

        if self.app is not None:
            self.fake.busy = None
            await stop_app(self.app)
            self.app = None
        if self.core is not None:
            await self.core.close()
            self.core = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def register(self, user_id: int, name: str = "Komang") -> Call:
        """A new user presses /start; returns the OPD question, the last message of that flow.

        Waiting for that message (not for a quiet moment) keeps a slow machine from handing
        the registration's last reply to the test's next ``say``."""
        mark = self.fake.mark()
        self.fake.send_message(user_id, "/start", first_name=name)
        asked = await self.fake.wait_for(
            "sendMessage",
            chat_id=user_id,
            after=mark,
            timeout=20,
            predicate=lambda c: any(d.startswith("opd:") for _, d in buttons_of(c)),
        )
        await self.fake.wait_idle()
        return asked

    async def settled(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has handled every update injected so far (stored in its inbox
        and marked done): the next reply can only answer what is sent next."""
        last = self.fake.last_update_id
        if not last or self.core is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self.core.inbox.handled_upto(last):
            if loop.time() > deadline:
                raise AssertionError(
                    f"update {last} not handled within {timeout}s; " + self.fake.describe_calls()
                )
            await asyncio.sleep(0.02)

    async def say(
        self,
        user_id: int,
        text: str,
        *,
        method: str | tuple[str, ...] = SEND_METHODS,
        chat_id: int | None = None,
        **kw: Any,
    ) -> Call:
        """Send a message as the user (once the bot is done with earlier updates); return the
        bot's first answering call to that chat."""
        await self.settled()
        mark = self.fake.mark()
        self.fake.send_message(user_id, text, chat_id=chat_id, **kw)
        return await self.next_call(chat_id or user_id, after=mark, method=method)

    async def press(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        method: str | tuple[str, ...] = SEND_METHODS,
    ) -> Call:
        """Press an inline button (once the bot is done with earlier updates); return the bot's
        next edit/send to that chat."""
        await self.settled()
        mark = self.fake.mark()
        self.fake.press_button(user_id, message_id, data, chat_id=chat_id)
        return await self.next_call(chat_id or user_id, after=mark, method=method)

    async def next_call(
        self,
        chat_id: int,
        *,
        after: int,
        method: str | tuple[str, ...] = SEND_METHODS,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Call:
        """The first successful call of one of ``method`` to ``chat_id`` after index ``after``."""
        methods = (method,) if isinstance(method, str) else method
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = after
        while True:
            calls = self.fake.calls
            while index < len(calls):
                c = calls[index]
                index += 1
                if c.method in methods and c.ok and c.params.get("chat_id") == chat_id:
                    return c
            if loop.time() > deadline:
                raise AssertionError(
                    f"no {methods} to chat {chat_id}; " + self.fake.describe_calls(start=after)
                )
            await asyncio.sleep(0.01)

    async def callback_answer(self, after: int) -> Call:
        return await self.fake.wait_for("answerCallbackQuery", after=after)


@pytest.fixture
async def harness(fake: FakeTelegram, settings: Settings):
    h = Harness(fake, settings)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


@contextlib.asynccontextmanager
async def helpdesk_bot(fake: FakeTelegram, db_url: str, helpdesk: int, **extra: Any):
    """A running bot whose helpdesk is the supergroup ``helpdesk`` (settings ``extra``)."""
    fake.add_chat(helpdesk, "supergroup", "Helpdesk Diskominfo")
    h = Harness(fake, make_settings(fake, db_url, helpdesk_chat_id=helpdesk, **extra))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


# A dialogue token at the end of callback data (the same pattern as handlers.common.DIALOG_TAG).
DIALOG_TAG = re.compile(r"~[a-z][A-Za-z0-9]{6}$")


def buttons_of(call: Call) -> list[tuple[str, str]]:
    """(text, callback_data) of every inline button in a call's reply_markup, without the
    dialogue token at the end of the data (``handlers.tokens``; see ``tagged_buttons_of``)."""
    return [(text, DIALOG_TAG.sub("", data)) for text, data in tagged_buttons_of(call)]


def tagged_buttons_of(call: Call) -> list[tuple[str, str]]:
    """(text, callback_data) exactly as sent, dialogue tokens included."""
    markup = call.params.get("reply_markup") or {}
    return [
        (b.get("text", ""), b.get("callback_data") or b.get("url") or "")
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def message_id_of(call: Call) -> int:
    if call.method == "editMessageText":
        return int(call.params["message_id"])
    return int(call.result["message_id"])
