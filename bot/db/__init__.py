"""Async engine, sessions and migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.config import PROJECT_ROOT, packaged_dir

#: PostgreSQL's idle_in_transaction_session_timeout for every connection (milliseconds)
IDLE_IN_TX_MS = "10000"


def migrations_dir() -> Path:
    """The Alembic folder: beside the source tree, in the working directory, or shipped in the
    installed package."""
    candidates = [PROJECT_ROOT / "migrations", Path.cwd() / "migrations"]
    shipped = packaged_dir("opdbot_migrations")
    if shipped is not None:
        candidates.append(shipped)
    for p in candidates:
        if (p / "env.py").exists():
            return p
    raise FileNotFoundError("folder migrations/ tidak ditemukan")


def _prepare_sqlite_path(url: str) -> None:
    u = make_url(url)
    if u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"echo": echo}
        if self.is_sqlite:
            _prepare_sqlite_path(url)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
            # a frozen process (SIGSTOP, a stuck VM) must not hold locks for ever: PostgreSQL
            # ends a transaction left idle this long (nothing here waits inside a transaction)
            kwargs["connect_args"] = {
                "server_settings": {"idle_in_transaction_session_timeout": IDLE_IN_TX_MS}
            }
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as s, s.begin():
            yield s

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: durable across application crashes; production deployments use PostgreSQL.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run Alembic upgrade synchronously (call from a thread when a loop is running)."""
    from alembic import command

    if url.startswith("sqlite"):
        _prepare_sqlite_path(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def upgrade_async(
    url: str, revision: str = "head", *, connect_timeout: float | None = None
) -> None:
    """Alembic upgrade on the running loop (no worker thread), so it can be cancelled at any
    point, e.g. by SIGTERM while the database does not answer."""
    from alembic import command
    from sqlalchemy.pool import NullPool

    if url.startswith("sqlite"):
        _prepare_sqlite_path(url)
    kwargs: dict = {"poolclass": NullPool}
    if connect_timeout is not None and url.startswith("postgresql"):
        kwargs["connect_args"] = {"timeout": connect_timeout}
    engine = create_async_engine(url, **kwargs)

    def run(sync_conn) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    try:
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()
