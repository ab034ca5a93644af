"""The command line speaks Indonesian: help, usage and errors carry no English boilerplate,
and it prints plain text (no Telegram markup)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_id import translate_error

ENGLISH = [
    "Show this message and exit",
    "[default:",
    "[required]",
    "Usage:",
    "Options",
    "Commands",
    "Arguments",
    "[OPTIONS]",
    "COMMAND",
    "<str>",
    "<int>",
    "<bool>",
    "<path>",
    "list[str]",
    "Try '",
    "Missing ",
    "Invalid value",
    "No such",
    "Error",
]
HELP = [
    [],
    ["--help"],
    ["run", "--help"],
    ["sandbox", "--help"],
    ["db", "--help"],
    ["db", "upgrade", "--help"],
    ["db", "downgrade", "--help"],
    ["kb", "--help"],
    ["kb", "search", "--help"],
    ["kb", "gaps", "--help"],
    ["kb", "check", "--help"],
    ["feedback", "--help"],
    ["feedback", "new", "--help"],
    ["feedback", "qr", "--help"],
    ["feedback", "export", "--help"],
    ["feedback", "report", "--help"],
    ["feedback", "organizer", "--help"],
    ["broadcast", "--help"],
    ["broadcast", "status", "--help"],
]
ERRORS = [
    ["feedback", "new"],  # a required option missing
    ["feedback", "qr"],  # a required argument missing
    ["kb", "gaps", "--days", "x"],  # not a number
    ["kb", "gaps", "--days", "0"],  # out of range
    ["kb", "gaps", "--dayz", "3"],  # unknown option
    ["db", "upgrade", "a", "b"],  # one argument too many
    ["feedback", "report", "--png"],  # an option without its value
    ["tidakada"],  # unknown command
]


def run(args: list[str]):
    return CliRunner().invoke(app, args, env={"COLUMNS": "120", "NO_COLOR": "1"})


def english_in(text: str) -> list[str]:
    return [w for w in ENGLISH if w in text]


@pytest.mark.parametrize("args", HELP, ids=lambda a: " ".join(a) or "(none)")
def test_help_is_indonesian(args):
    result = run(args)
    out = result.output
    assert "Cara pakai:" in out and ("Pilihan" in out or "Perintah" in out), out
    assert english_in(out) == [], out


@pytest.mark.parametrize("args", ERRORS, ids=" ".join)
def test_errors_are_indonesian(args):
    result = run(args)
    assert result.exit_code != 0
    assert "Galat" in result.output, result.output
    assert english_in(result.output) == [], result.output


def test_error_patterns():
    assert translate_error("Missing option '--title'.") == "Pilihan '--title' belum diisi."
    assert (
        translate_error("Invalid value for '--days': Input should be a valid integer, x")
        == "Nilai tidak valid untuk '--days': harus berupa bilangan bulat"
    )


def test_kb_gaps_prints_plain_text(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    result = run(["kb", "gaps"])
    assert result.exit_code == 0, result.output
    assert "Celah pengetahuan" in result.output
    assert not re.search(r"[*_`<]", result.output), result.output  # no markup of any kind


def test_feedback_cli_reads_the_same_dates_as_chat(tmp_path, monkeypatch):
    from datetime import datetime, timedelta

    from bot.config import load_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    tz = load_settings().tz
    result = run(["feedback", "new", "--title", "Pelatihan CLI", "--closes", "besok jam 5 sore"])
    assert result.exit_code == 0, result.output
    tomorrow = (datetime.now(tz) + timedelta(days=1)).date()
    assert f"ditutup: {tomorrow.isoformat()} 17:00" in result.output
    asked = run(["feedback", "new", "--title", "Pelatihan CLI", "--closes", "besok"])
    assert asked.exit_code != 0 and "jamnya belum ada" in asked.output
    past = run(["feedback", "new", "--title", "Pelatihan CLI", "--closes", "2020-01-01 08:00"])
    assert past.exit_code != 0 and "sudah lewat" in past.output
    assert english_in(asked.output + past.output) == []
