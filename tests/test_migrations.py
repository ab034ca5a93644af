"""Migrations go up and down cleanly on SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import current_heads, downgrade, upgrade
from bot.db.base import Base


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


def _roundtrip(url: str) -> None:
    assert len(current_heads(url)) == 1, "the migration history must be linear"
    upgrade(url)
    tables = asyncio.run(_tables(url))
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    downgrade(url, "base")
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
    upgrade(url)
    assert {t.name for t in Base.metadata.sorted_tables} <= asyncio.run(_tables(url))


def test_sqlite_up_down_up(tmp_path):
    _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set")
def test_postgresql_up_down_up(tmp_path):
    # Runs against a separate schema-less database state: drop to base, then back to head,
    # leaving the shared test database migrated for the rest of the suite.
    _roundtrip(os.environ["TEST_DATABASE_URL"])


def test_models_match_migrations(tmp_path):
    """Autogenerate finds nothing to add: the ORM and the migrations describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite+aiosqlite:///{tmp_path / 'cmp.sqlite3'}"
    upgrade(url)

    async def diff():
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        await engine.dispose()
        return result

    assert asyncio.run(diff()) == []


def test_cli_db_upgrade_and_downgrade(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert {t.name for t in Base.metadata.sorted_tables} <= asyncio.run(_tables(url))
    down = runner.invoke(app, ["db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
