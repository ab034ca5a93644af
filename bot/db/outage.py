"""Injected database outages, for tests and chaos benches.

``DatabaseOutage(db)`` hooks one :class:`bot.db.Database`'s engine: while an outage is on,
every statement and every commit of that engine fails with ``OperationalError`` (what the
driver raises when the server is unreachable), whoever issues it - the code under test is not
touched. On PostgreSQL the outage also terminates the engine's server-side connections when it
begins (``pg_terminate_backend``), so pooled connections are really broken and must be
re-established when the database is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import Database


class InjectedOutage(ConnectionRefusedError):
    """The DBAPI-level cause of an injected failure."""


class DatabaseOutage:
    def __init__(self, db: Database, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.monotonic = monotonic
        self._until: float | None = None  # None = no outage; inf = until stop()
        self.failed = 0  # statements and commits refused so far
        self.outages = 0
        self._sync = db.engine.sync_engine
        event.listen(self._sync, "before_cursor_execute", self._on_execute)
        event.listen(self._sync, "commit", self._on_commit)

    @property
    def active(self) -> bool:
        return self._until is not None and self.monotonic() < self._until

    async def begin(self, seconds: float | None = None, *, terminate: bool = True) -> None:
        """Start an outage for ``seconds`` (None: until :meth:`end`)."""
        self._until = float("inf") if seconds is None else self.monotonic() + seconds
        self.outages += 1
        if terminate and not self.db.is_sqlite:
            await self._terminate_backends()

    def end(self) -> None:
        self._until = None

    def remove(self) -> None:
        self.end()
        event.remove(self._sync, "before_cursor_execute", self._on_execute)
        event.remove(self._sync, "commit", self._on_commit)

    def _refuse(self, what: str) -> None:
        if self.active:
            self.failed += 1
            raise OperationalError(what, {}, InjectedOutage("database unreachable (injected)"))

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self._refuse(statement)

    def _on_commit(self, conn) -> None:
        self._refuse("COMMIT")

    async def _terminate_backends(self) -> None:
        engine = create_async_engine(self.db.url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        finally:
            await engine.dispose()
