"""``opdbot kb check`` and ``opdbot kb search`` (the typer sub-app, run in-process)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.knowledge.cli import kb_app
from tests.kb_helpers import REPO, small_kb, write_entry

runner = CliRunner()


@pytest.fixture
def kb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # only the entries here: tips, calendar, surveys and OPDs have their own tests
    fake = types.ModuleType("bot.schedules.content")
    fake.check_content = lambda knowledge_dir, entry_ids: []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.schedules.content", fake)
    root = small_kb(tmp_path / "knowledge")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(root))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return root


def test_check_ok(kb_dir: Path) -> None:
    result = runner.invoke(kb_app, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 7 entri di 4 pilar")


def test_check_reports_each_problem_and_fails(kb_dir: Path) -> None:
    write_entry(kb_dir, "konten-tagar", "konten", "Tagar", related=["konten-hilang"])
    (kb_dir / "konten" / "konten-rusak.md").write_text("---\nid: [\n---\nisi\n", encoding="utf-8")
    result = runner.invoke(kb_app, ["check"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    tagar = kb_dir / "konten" / "konten-tagar.md"
    assert f"{tagar}: related: id 'konten-hilang' tidak ada" in lines
    assert any(line.startswith(f"{kb_dir / 'konten' / 'konten-rusak.md'}: YAML") for line in lines)


def test_config_error_exits_2(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROADCAST_RATE", "999")
    result = runner.invoke(kb_app, ["check"])
    assert result.exit_code == 2
    assert "BROADCAST_RATE" in result.output


def test_search_one_question_readable(kb_dir: Path) -> None:
    result = runner.invoke(kb_app, ["search", "gmn cara pasang 2fa di ig"])
    assert result.exit_code == 0, result.output
    assert "keamanan-2fa" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1
    refused = runner.invoke(kb_app, ["search", "harga cabai"])
    assert "belum ada jawaban" in refused.stdout


def test_search_json_from_stdin_in_order(kb_dir: Path) -> None:
    questions = "akun fb kantor dihack\nharga cabai\n\nukuran story ig\n"
    result = runner.invoke(kb_app, ["search", "--json"], input=questions)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["query"] for r in rows] == [
        "akun fb kantor dihack",
        "harga cabai",
        "",
        "ukuran story ig",
    ]
    assert set(rows[0]) == {"query", "answered", "hits"}
    assert rows[0]["answered"] is True
    assert rows[0]["hits"][0]["id"] == "keamanan-akun-diretas"
    assert set(rows[0]["hits"][0]) == {"id", "title", "score"}
    assert len(rows[0]["hits"]) <= 3
    assert rows[1]["answered"] is False
    assert rows[2] == {"query": "", "answered": False, "hits": []}
    assert rows[3]["hits"][0]["id"] == "desain-ukuran-konten"


def test_search_with_broken_knowledge_fails_politely(kb_dir: Path) -> None:
    (kb_dir / "konten" / "konten-rusak.md").write_text("tanpa front matter", encoding="utf-8")
    result = runner.invoke(kb_app, ["search", "--json", "2fa"])
    assert result.exit_code == 1
    assert "opdbot kb check" in result.output


def test_module_entry_point(kb_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.knowledge.cli", "search", "--json"],
        input=b"cara aktifin 2fa\n",
        capture_output=True,
        cwd=kb_dir.parent,
        env={"KNOWLEDGE_DIR": str(kb_dir), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    row = json.loads(proc.stdout.decode().strip())
    assert row["query"] == "cara aktifin 2fa" and row["hits"][0]["id"] == "keamanan-2fa"


def test_search_explain_prints_signals_weights_and_decision(kb_dir: Path) -> None:
    from bot.knowledge.decision import load_decision

    result = runner.invoke(kb_app, ["search", "--explain", "gmn cara pasang 2fa di ig"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "- keamanan-2fa: skor" in out
    model = load_decision().semantic if "leksikal + semantik" in out else load_decision().lexical
    for feature in model.features:
        assert f"    {feature} " in out, feature
    assert "bobot" in out and "keputusan: " in out
    assert f"ambang p >= {model.threshold:.3f}" in out
    refused = runner.invoke(kb_app, ["search", "--explain", "resep rendang padang"])
    assert "keputusan: DITOLAK" in refused.stdout


def test_search_with_db_uses_the_phrasings_learned_in_chat(
    kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot.db import Database, upgrade
    from bot.knowledge.learning import LearnedStore

    url = f"sqlite+aiosqlite:///{tmp_path / 'learned.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    question = "gimana merapikan arsip dokumentasi lama di laptop"
    before = runner.invoke(kb_app, ["search", "--json", question])
    assert not json.loads(before.stdout)["answered"]
    # the database is read, never created or migrated: not there yet -> one polite line
    missing = runner.invoke(kb_app, ["search", "--db", question])
    assert missing.exit_code == 1 and "DATABASE_URL" in missing.stderr
    assert "Traceback" not in missing.output
    upgrade(url)

    async def learn() -> None:
        db = Database(url)
        try:
            await LearnedStore(db).accept_new("desain-canva-memulai", question, None, 1000)
        finally:
            await db.dispose()

    asyncio.run(learn())
    after = runner.invoke(kb_app, ["search", "--json", "--db", question])
    assert after.exit_code == 0, after.output
    row = json.loads(after.stdout)
    assert row["answered"] and row["hits"][0]["id"] == "desain-canva-memulai"
    assert "+1 frasa" in after.stderr
    # without --db the files alone still decide
    again = runner.invoke(kb_app, ["search", "--json", question])
    assert not json.loads(again.stdout)["answered"]
