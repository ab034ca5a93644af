"""Exactly one process per database runs the sender and the scheduler.

On PostgreSQL that is the holder of a session-level advisory lock, taken with
``pg_try_advisory_lock`` on a dedicated connection (not from the pool): when the process dies,
its connection closes, the lock is released and a standby that retries periodically takes over.
On SQLite there is one process, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# A fixed 64-bit key: "opdbot" + 0x0001 (the runner).
LOCK_KEY = 0x6F7064626F740001


class Leadership:
    def __init__(self, url: str, *, key: int = LOCK_KEY, check_timeout: float = 5.0) -> None:
        self.url = url
        self.key = key
        self.is_sqlite = url.startswith("sqlite")
        self.check_timeout = check_timeout
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self.held = False

    async def try_acquire(self) -> bool:
        """Take the lock if free; True when this process leads (now or already)."""
        if self.held:
            return True
        if self.is_sqlite:
            self.held = True
            return True
        if self._engine is None:
            self._engine = create_async_engine(self.url, poolclass=NullPool)
        conn = None
        try:
            conn = await self._engine.connect()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            ).scalar()
        except Exception as exc:
            log.warning("advisory lock: cannot reach the database: %s", exc)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
            return False
        if got:
            self._conn = conn
            self.held = True
            log.info("this process now runs the sender and the scheduler")
            return True
        await conn.close()
        return False

    async def check(self) -> bool:
        """Whether the lock is still held (its connection alive). False = stop leading."""
        if not self.held:
            return False
        if self.is_sqlite:
            return True
        assert self._conn is not None
        try:
            await asyncio.wait_for(self._conn.execute(text("SELECT 1")), self.check_timeout)
            return True
        except Exception as exc:
            log.error("lost the advisory lock connection: %s", exc)
            await self._drop()
            return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.held = False
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        await self._drop()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
