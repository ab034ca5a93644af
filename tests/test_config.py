"""Settings: defaults, parsing, and one readable line per invalid variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings


def test_defaults(monkeypatch):
    for var in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS", "TIMEZONE", "BROADCAST_RATE"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(_env_file=None)
    assert s.telegram_bot_token is None
    assert s.telegram_base_url == "https://api.telegram.org/bot"
    assert s.database_url == "sqlite+aiosqlite:///data/opdbot.sqlite3"
    assert s.admin_ids == frozenset()
    assert s.timezone == "Asia/Jakarta"
    assert s.broadcast_rate == 25


def test_env_parsing(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", " 12, 34 ,56")
    monkeypatch.setenv("TIMEZONE", "Asia/Makassar")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAEabcdefghijklmnopqrstuvwxyz012345")
    s = load_settings(_env_file=None)
    assert s.admin_ids == {12, 34, 56}
    assert s.tz.key == "Asia/Makassar"
    assert s.database_url == "postgresql+asyncpg://u@h/db"


def test_env_file(tmp_path, monkeypatch):
    monkeypatch.delenv("TIMEZONE", raising=False)
    env = tmp_path / ".env"
    env.write_text("TIMEZONE=Asia/Jayapura\nBROADCAST_RATE=10\n")
    s = load_settings(_env_file=str(env))
    assert s.timezone == "Asia/Jayapura"
    assert s.broadcast_rate == 10


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN"),
        ("TIMEZONE", "Asia/Atlantis", "TIMEZONE"),
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS"),
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("BROADCAST_RATE", "cepat", "BROADCAST_RATE"),
        ("BROADCAST_RATE", "0", "BROADCAST_RATE"),
    ],
)
def test_invalid_settings_one_line(monkeypatch, var, value, needle):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg


def test_cli_invalid_setting_is_one_line_not_a_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TIMEZONE": "Mars/Olympus", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [lines[0]] and "TIMEZONE" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_run_without_token_points_to_sandbox(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "opdbot sandbox" in lines[0]
