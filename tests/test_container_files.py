"""The container recipe keeps its promises (the build itself is checked by
../shared/tools/container-check, which needs podman)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_final_stage_ships_only_the_environment_knowledge_and_migrations():
    stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    copies = [ln for ln in final if ln.startswith("COPY")]
    assert any("--from=build /opt/venv /opt/venv" in ln for ln in copies)
    sources = [ln.split()[-2] for ln in copies if "--from=" not in ln]
    assert sorted(sources) == ["knowledge", "migrations"]
    text = "\n".join(final)
    assert re.search(r"^USER opdbot$", text, re.MULTILINE)
    assert "--uid 10001" in text
    assert "MPLCONFIGDIR=/app/data/" in text
    assert "HEALTHCHECK" in text and "bot.healthcheck" in text


def test_dependencies_install_before_the_source_is_copied():
    build = "\n".join(_stages()[0])
    assert build.index("-c constraints.txt") < build.index("COPY bot ")
    assert "COPY pyproject.toml constraints.txt" in build


def test_dockerignore_keeps_artefacts_and_secrets_out():
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    wanted = {".git", ".venv", ".env", "data", "*.egg-info", "build", "dist", "**/__pycache__"}
    assert wanted <= ignored


def test_compose_waits_for_postgres_over_tcp_and_publishes_on_loopback():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    db = compose["services"]["db"]["healthcheck"]
    assert "pg_isready -h 127.0.0.1" in " ".join(db["test"])
    assert "start_period" in db
    bot = compose["services"]["bot"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert all(str(p).startswith("127.0.0.1:") for p in bot["ports"])
    assert bot.get("init") is True


def test_readme_says_bind_mounts_belong_to_uid_10001():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "uid 10001" in readme and "chown -R 10001:10001" in readme
