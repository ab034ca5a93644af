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
