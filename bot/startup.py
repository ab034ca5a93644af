"""Start-up that survives a slow world: retry what is transient (database not up yet, Telegram
timing out or answering 5xx/429) with backoff and one status line per retry; give up with one
readable Indonesian line (:class:`StartupError`) when it is not transient or does not pass
within ``STARTUP_TIMEOUT`` seconds. No ``telegram`` import here: callers classify their errors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("opdbot.startup")
T = TypeVar("T")

#: per-attempt limit for connecting to PostgreSQL (a server that accepts and never answers)
DB_CONNECT_TIMEOUT = 10.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 15.0


class StartupError(Exception):
    """Start-up cannot go on; the message is one Indonesian line for the operator."""


class Retry(Exception):
    """Raised by a classifier: the error is transient; ``delay`` overrides the backoff."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


async def retrying(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    classify: Callable[[BaseException], None],
    *,
    budget: float,
    give_up: Callable[[str], str],
) -> T:
    """Run ``attempt`` until it succeeds. ``classify(exc)`` raises :class:`Retry` for a transient
    error, :class:`StartupError` (or re-raises) for a final one. Each retry logs one line; after
    ``budget`` seconds the last reason goes to ``give_up(reason)`` for the final line."""
    deadline = time.monotonic() + budget
    delay = BACKOFF_FIRST
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            try:
                classify(exc)
                raise
            except Retry as retry:
                wait = retry.delay if retry.delay is not None else delay
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StartupError(give_up(retry.reason)) from None
                wait = max(0.0, min(wait, left))
                log.warning(
                    "%s: %s; mencoba lagi dalam %.0f detik (percobaan %d)",
                    what,
                    retry.reason,
                    wait,
                    tries,
                )
                await asyncio.sleep(wait)
                delay = min(delay * 2, BACKOFF_MAX)


def describe(exc: BaseException) -> str:
    """A short one-line reason: the exception type and its first line."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    name = type(exc).__name__
    return f"{name}: {first}" if first else name


def safe_url(url: str) -> str:
    """The database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for a message
        return "DATABASE_URL"


_FINAL_DB_ERRORS = (
    "InvalidPasswordError",
    "InvalidAuthorizationSpecificationError",
    "InvalidCatalogNameError",
)


def classify_db_error(exc: BaseException) -> None:
    """Connection problems are transient; wrong password / missing database are final."""
    orig = getattr(exc, "orig", None) or exc
    chain = [exc, orig, getattr(orig, "__cause__", None), exc.__cause__]
    names = {type(e).__name__ for e in chain if e is not None}
    if names & set(_FINAL_DB_ERRORS):
        raise StartupError(f"Basis data menolak koneksi: {describe(orig)} (periksa DATABASE_URL)")
    message = str(exc).lower()
    if "sqlite" in message and "locked" not in message:
        raise StartupError(f"Basis data SQLite tidak bisa dibuka: {describe(orig)}")
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    transient = (OSError, TimeoutError, ConnectionError, OperationalError, InterfaceError)
    if isinstance(exc, transient) or isinstance(orig, transient):
        raise Retry(describe(orig))
    if isinstance(exc, DBAPIError) and "connect" in message:
        raise Retry(describe(orig))
    if type(orig).__module__.startswith("asyncpg") and (
        "CannotConnectNow" in type(orig).__name__ or "connection" in message
    ):
        raise Retry(describe(orig))


async def ping_database(url: str, limit: float = DB_CONNECT_TIMEOUT) -> None:
    """One connection and ``SELECT 1``, within ``limit`` seconds."""
    kwargs: dict = {"poolclass": NullPool}
    if url.startswith("postgresql"):
        kwargs["connect_args"] = {"timeout": limit}
    engine = create_async_engine(url, **kwargs)
    try:
        async with asyncio.timeout(limit):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def prepare_database(url: str, budget: float) -> None:
    """Wait for the database (with retries), then migrate it to the newest revision."""
    from bot.db import upgrade_async

    async def attempt() -> None:
        await ping_database(url)
        await upgrade_async(url, connect_timeout=DB_CONNECT_TIMEOUT)

    log.info("Menghubungi basis data %s", safe_url(url))

    def give_up(reason: str) -> str:
        return (
            f"Basis data {safe_url(url)} tetap tidak bisa dihubungi setelah {budget:.0f} detik "
            f"({reason}): periksa DATABASE_URL dan apakah server basis data berjalan."
        )

    await retrying("Basis data belum bisa dihubungi", attempt, classify_db_error,
                   budget=budget, give_up=give_up)  # fmt: skip
