"""`opdbot sandbox`: the real bot offline, chatting in the terminal."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.config import load_settings
from bot.sandbox import run_sandbox


async def test_sandbox_chat_buttons_by_number(tmp_path, capsys):
    lines = iter(["/start", "2", "1", "gimana cara pasang 2fa di ig", "/keluar", "never sent"])
    settings = load_settings(_env_file=None)
    await run_sandbox(
        settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sb.sqlite3'}",
        lines=lines,
        name="Ayu",
    )
    out = capsys.readouterr().out
    assert "Halo, *Ayu*" in out  # <b> shown as *emphasis*
    assert "[1] Sekretariat Daerah" in out  # buttons as numbered choices
    assert "(diperbarui)" in out  # pressing "2" (Sekretariat DPRD) edited the OPD question
    assert "Tersimpan" in out
    assert "<b>" not in out
    assert "Sampai jumpa" in out


def test_sandbox_command_reads_stdin_until_eof(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "sandbox",
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        ],
        input="/bantuan\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Yang bisa saya bantu" in proc.stdout and "/siaran" in proc.stdout


def test_button_keys_scale_by_value():
    from bot.sandbox import button_keys

    nps = [str(v) for v in range(11)]
    assert button_keys(nps) == nps  # typing 10 picks 10, not the tenth button
    assert button_keys(["1 · Sangat buruk", "✅ 2", "3", "4", "5 · Sangat baik", "Lewati ⏭"]) == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "a",
    ]
    assert button_keys(["Sekretariat Daerah", "Dinas Kesehatan"]) == ["1", "2"]


async def test_messages_arriving_while_waiting_are_printed_and_prompt_redrawn():
    import asyncio
    import io
    from types import SimpleNamespace

    from bot.sandbox import TerminalChat, _watch

    fake = SimpleNamespace(calls=[])
    out = io.StringIO()
    chat = TerminalChat(fake, 1000, out=out)
    chat.prompt_shown = True  # the user is at the prompt
    task = asyncio.create_task(_watch(chat))
    fake.calls.append(
        SimpleNamespace(
            method="sendMessage",
            params={"chat_id": 1000, "text": "📊 <b>Laporan</b> selesai"},
            ok=True,
            result={"message_id": 7},
            error=None,
        )
    )
    await asyncio.sleep(0.6)
    task.cancel()
    text = out.getvalue()
    assert "*Laporan* selesai" in text and "<b>" not in text
    assert text.endswith("👤 ")  # the prompt drawn again


async def test_helpdesk_side_and_logs_to_file(tmp_path, capsys):
    lines = iter(
        [
            "/start",
            "1",
            "cara perpanjang SIM",
            "🙋 Tanyakan ke Diskominfo",
            "/helpdesk",
            "Silakan ke Satpas Polres",
            "/helpdesk",
            "/keluar",
        ]
    )
    settings = load_settings(_env_file=None)
    await run_sandbox(
        settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sb.sqlite3'}",
        lines=lines,
        name="Ayu",
    )
    out = capsys.readouterr().out
    assert "[chat helpdesk]" in out and "perpanjang SIM" in out
    assert "\n   Silakan ke Satpas Polres" in out  # the answer reached the asker's chat
    assert "INFO" not in out and "WARNING" not in out  # log lines are not in the chat
    assert (tmp_path / "sandbox.log").exists()
