"""Shared helpers for the outbox, scheduling and broadcast tests (no Telegram)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.accounts.models import Opd, User
from bot.transport import (
    BadRequest,
    Blocked,
    Button,
    ChatNotFound,
    OutMessage,
    RetryAfter,
    Transient,
)


class Clock:
    """A settable UTC clock for the services (``clock()`` returns the current time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now

    def set(self, value: datetime) -> datetime:
        self.now = value.astimezone(UTC)
        return self.now


class Mono:
    """A fake monotonic clock with a sleep that just moves it forward.

    Given a ``Clock`` it shares its timeline (sleeping moves the UTC clock too).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.t = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        if self.clock is not None:
            return self.clock.now.timestamp()
        return self.t

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.slept += seconds
        if self.clock is not None:
            self.clock.advance(seconds=seconds)
        else:
            self.t += seconds


class FakeTransport:
    """Records sends; scripted failures per chat (a list consumed one per attempt)."""

    def __init__(self) -> None:
        self.sent: list[OutMessage] = []
        self.edits: list[tuple[int, int, str, list | None]] = []
        self.attempts: dict[int, int] = defaultdict(int)
        self.script: dict[int, list[Exception]] = {}
        self.blocked: set[int] = set()
        self._next_id = 100

    def fail(self, chat_id: int, *errors: Exception) -> None:
        self.script[chat_id] = list(errors)

    async def send(self, msg: OutMessage) -> int:
        self.attempts[msg.chat_id] += 1
        if msg.chat_id in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        queue = self.script.get(msg.chat_id)
        if queue:
            raise queue.pop(0)
        self.sent.append(msg)
        self._next_id += 1
        return self._next_id

    async def edit(
        self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]] | None = None
    ) -> None:
        self.edits.append((chat_id, message_id, text, buttons))

    async def send_file(self, chat_id, filename, data, caption=None, *, photo=False) -> int:
        self._next_id += 1
        return self._next_id

    def sent_to(self, chat_id: int) -> list[OutMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]


ERRORS = {
    "403": lambda: Blocked("Forbidden: bot was blocked by the user"),
    "429": lambda: RetryAfter(7, "Too Many Requests: retry after 7"),
    "5xx": lambda: Transient("Internal Server Error"),
    "400": lambda: ChatNotFound("Bad Request: chat not found"),
    "bad": lambda: BadRequest("Bad Request: message text is empty"),
}


async def add_users(
    db,
    n: int,
    *,
    start: int = 5000,
    opd: str | None = None,
    tz: str | None = None,
    active: bool = True,
    created_at: datetime | None = None,
    tips: bool = True,
    calendar: bool = True,
) -> list[tuple[int, int]]:
    """Insert ``n`` users directly; returns [(user id, chat id)]."""
    async with db.session() as s:
        opd_id = None
        if opd is not None:
            opd_id = await s.scalar(select(Opd.id).where(Opd.slug == opd))
            if opd_id is None:
                row = Opd(slug=opd, name=opd.replace("-", " ").title(), timezone=None)
                s.add(row)
                await s.flush()
                opd_id = row.id
        rows = []
        for i in range(n):
            tg = start + i
            u = User(
                telegram_id=tg,
                chat_id=tg,
                name=f"Pengguna {tg}",
                opd_id=opd_id,
                timezone=tz,
                is_active=active,
                tips_enabled=tips,
                calendar_enabled=calendar,
                created_at=created_at or datetime(2026, 1, 1, tzinfo=UTC),
            )
            s.add(u)
            rows.append(u)
        await s.flush()
        return [(u.id, u.chat_id) for u in rows]
