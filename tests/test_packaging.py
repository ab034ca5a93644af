"""The wheel ships every package, the templates, the knowledge folder and the migrations."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bot.config import packaged_dir

REPO = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_python_package_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for top in ("bot", "handlers")
        for p in (REPO / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_content_and_migrations_are_shipped():
    cfg = _pyproject()["tool"]["setuptools"]
    assert cfg["package-dir"] == {
        "opdbot_knowledge": "knowledge",
        "opdbot_migrations": "migrations",
    }
    knowledge = packaged_dir("opdbot_knowledge")
    migrations = packaged_dir("opdbot_migrations")
    assert knowledge is not None and (knowledge / "opd.yaml").exists()
    assert migrations is not None and (migrations / "env.py").exists()
    assert packaged_dir("tidak_ada_paket") is None


def test_dependencies_have_lower_and_upper_bounds():
    deps = _pyproject()["project"]["dependencies"]
    for dep in deps:
        if dep.startswith("tzdata"):
            continue  # time zone data: always take the newest
        assert ">=" in dep and "<" in dep.replace("<=", ""), dep


def test_the_trained_answer_decision_is_shipped():
    data = _pyproject()["tool"]["setuptools"]["package-data"]["bot"]
    assert "knowledge/decision.json" in data
    from bot.knowledge.decision import MODEL_FILE

    assert MODEL_FILE.exists() and MODEL_FILE.parent.name == "knowledge"
