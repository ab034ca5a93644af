"""Start-up against a slow or hostile world: transient errors retried with one status line each,
final ones end with one Indonesian line and no traceback, SIGTERM honoured at once, the token
never in the log."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time

import pytest

from bot.startup import StartupError
from handlers.runner import run_bot
from handlers.startup import TOKEN_REJECTED, CommandMenu
from tests.conftest import ADMIN_ID, KNOWLEDGE, make_settings

TOKEN = "123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        KNOWLEDGE_DIR=str(KNOWLEDGE),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def _spawn(tmp_path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def test_revoked_token_is_one_line(fake, db_url):
    fake.fail("getMe", status=401, description="Unauthorized", times=100)
    with pytest.raises(StartupError) as info:
        await run_bot(make_settings(fake, db_url, startup_timeout=5))
    assert str(info.value) == TOKEN_REJECTED
    assert fake.token not in str(info.value)


async def test_transient_telegram_errors_are_retried(fake, db_url, caplog, monkeypatch):
    monkeypatch.setattr("bot.startup.BACKOFF_FIRST", 0.05)
    fake.fail("getMe", status=502, description="Bad Gateway", times=2)
    fake.fail("setMyCommands", status=500, description="Internal Server Error", times=3)
    monkeypatch.setattr(CommandMenu, "first_retry", 0.05)
    caplog.set_level(logging.INFO)
    task = asyncio.create_task(run_bot(make_settings(fake, db_url, startup_timeout=20)))
    try:
        await fake.wait_polling(timeout=20)
        messages = [r.getMessage() for r in caplog.records]
        retries = [m for m in messages if "belum bisa dihubungi" in m]
        assert len(retries) == 2 and all("getMe" in m for m in retries)
        # the bot is up although its command menu failed; the menu follows in the background
        fake.send_message(ADMIN_ID, "/bantuan")
        await fake.wait_for("sendMessage", chat_id=ADMIN_ID, timeout=10)
        for _ in range(200):
            if fake.commands_for():
                break
            await asyncio.sleep(0.05)
        assert fake.commands_for()
        assert any("Menu perintah belum terpasang" in r.getMessage() for r in caplog.records)
        assert not task.done()
    finally:
        os.kill(os.getpid(), signal.SIGINT)  # the way an operator stops it
        await asyncio.wait_for(task, 10)


async def test_unreachable_database_gives_up_with_one_line(tmp_path):
    url = f"postgresql+asyncpg://opdbot:sandi-rahasia@127.0.0.1:{_closed_port()}/opdbot"
    proc = await _spawn(tmp_path, _env(tmp_path, DATABASE_URL=url, STARTUP_TIMEOUT="3"))
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert proc.returncode == 1, text
    assert "Traceback" not in text
    assert lines[-1].startswith("Basis data postgresql+asyncpg://opdbot:***@127.0.0.1")
    assert "tetap tidak bisa dihubungi" in lines[-1]
    assert "sandi-rahasia" not in text
    status = [ln for ln in lines if "mencoba lagi" in ln]
    assert len(status) >= 2 and len(lines) == len(status) + 2  # + "Menghubungi basis data"


async def test_sigterm_while_the_database_never_answers(tmp_path):
    """A 'database' that accepts connections and never replies: start-up hangs there, and
    SIGTERM still ends the process at once."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(16)
    port = sink.getsockname()[1]
    try:
        url = f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none"
        proc = await _spawn(tmp_path, _env(tmp_path, DATABASE_URL=url))
        # wait until start-up is connecting (the line comes before the connection attempt)
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert b"Menghubungi basis data" in line, line
        await asyncio.sleep(0.5)
        assert proc.returncode is None
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, out.decode()
        assert "Traceback" not in out.decode()
        assert proc.returncode == 0, out.decode()
    finally:
        sink.close()


async def test_sigterm_at_the_first_instant(tmp_path):
    proc = await _spawn(tmp_path, _env(tmp_path))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert time.monotonic() - started < 2.0
    assert "Traceback" not in out.decode()
    # not PID 1 here: killed by SIGTERM's default action, or stopped by our handler
    assert proc.returncode in (0, -signal.SIGTERM)


async def test_token_never_reaches_the_log_at_debug(fake, tmp_path):
    env = _env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        ADMIN_IDS=str(ADMIN_ID),
        LOG_LEVEL="DEBUG",
    )
    fake.fail("setMyCommands", status=500, description="Internal Server Error")
    proc = await _spawn(tmp_path, env)
    reader = asyncio.create_task(proc.stdout.read())  # keep the pipe drained
    try:
        await fake.wait_polling(timeout=90)
        fake.send_message(ADMIN_ID, "/bantuan")
        await fake.wait_for("sendMessage", chat_id=ADMIN_ID, timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = await asyncio.wait_for(reader, 30)
        await asyncio.wait_for(proc.wait(), 10)
    text = out.decode()
    secret_half = fake.token.split(":", 1)[1]
    assert "HTTP Request: POST" in text  # httpx did log every request ...
    assert "[RAHASIA]" in text  # ... with the token replaced
    assert "DEBUG telegram" in text  # python-telegram-bot's own debug lines are there too
    assert secret_half not in text
    assert fake.token not in text
    assert "Traceback" not in text
    assert proc.returncode == 0


async def test_revoked_token_cli_prints_one_line_and_exits_1(fake, tmp_path):
    fake.fail("getMe", status=401, description="Unauthorized", times=100)
    env = _env(tmp_path, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url)
    proc = await _spawn(tmp_path, env)
    out = await asyncio.wait_for(proc.stdout.read(), 90)
    await asyncio.wait_for(proc.wait(), 10)
    text = out.decode()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert proc.returncode == 1, text
    assert "Traceback" not in text
    assert lines[-1] == TOKEN_REJECTED
    assert fake.token.split(":", 1)[1] not in text
