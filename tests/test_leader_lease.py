"""The leader lease: one holder, takeover after expiry, fencing of claims and marks by epoch,
rows of a dead leader claimable at once, a sender that pauses while it cannot record."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.outbox import Leadership, OutboxService, Recipient, Sender, TokenBucket
from bot.outbox.leader import Fenced
from bot.outbox.models import Delivery
from tests.outbox_helpers import Clock, FakeTransport


class Monotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def env(db_url):
    settings = load_settings(database_url=db_url, broadcast_rate=25, _env_file=None)
    db = Database(db_url)
    clock = Clock()
    outbox = OutboxService(db, settings, UserService(db, settings), clock=clock)
    yield db, outbox, clock
    await db.dispose()


def lead(db, clock, mono, name):
    return Leadership(db, holder=name, ttl=12, margin=3, clock=clock, monotonic=mono)


async def test_one_holder_takeover_after_expiry_and_fencing(env):
    db, outbox, clock = env
    mono = Monotonic()
    a, b = lead(db, clock, mono, "A"), lead(db, clock, mono, "B")
    assert await a.try_acquire() and a.valid()
    if db.is_sqlite:
        # one process by design: a restart takes the lease at once
        assert await b.try_acquire() and b.epoch == a.epoch + 1
        assert not await a.check()
        return
    assert not await b.try_acquire()
    assert await a.check()
    # A freezes: no renewal; its local validity ends before the lease expires in the database
    clock.advance(seconds=10)
    mono.t += 10
    assert not a.valid()
    assert not await b.try_acquire()
    clock.advance(seconds=3)
    assert await b.try_acquire() and b.epoch == a.epoch + 1
    # A resumes: its renewal is refused, and so is any write under its epoch
    assert not await a.check() and not a.held
    mid, _ = await outbox.create_message("system", text="x", status="running")
    await outbox.enqueue(mid, [Recipient(chat_id=c) for c in (1, 2)])
    with pytest.raises(Fenced):
        await outbox.claim("A", 5, 60, epoch=a.epoch)
    rows = await outbox.claim("B", 5, 60, epoch=b.epoch)
    assert len(rows) == 2
    stale = rows[0].__class__(**{**rows[0].__dict__, "epoch": a.epoch})
    with pytest.raises(Fenced):
        await outbox.mark_sent(stale, 1)
    with pytest.raises(Fenced):
        await outbox.begin(stale)
    await b.release()
    assert await a.try_acquire() and a.epoch == b.epoch + 1


async def test_rows_of_a_dead_leader_are_claimable_when_its_epoch_ends(env):
    db, outbox, clock = env
    mono = Monotonic()
    a = lead(db, clock, mono, "A")
    assert await a.try_acquire()
    mid, _ = await outbox.create_message("system", text="x", status="running")
    await outbox.enqueue(mid, [Recipient(chat_id=c) for c in (1, 2, 3)])
    rows = await outbox.claim("A", 3, 60, epoch=a.epoch)
    assert len(rows) == 3
    assert await outbox.claim("A2", 3, 60, epoch=a.epoch) == []  # leased, same epoch
    clock.advance(seconds=13)  # A died; the lease expired, not the 60 s row lease
    b = lead(db, clock, mono, "B")
    assert await b.try_acquire()
    again = await outbox.claim("B", 3, 60, epoch=b.epoch)
    assert sorted(r.chat_id for r in again) == [1, 2, 3]


class FlakyOutbox:
    """Wraps an OutboxService: writes fail while ``down`` is set."""

    def __init__(self, outbox) -> None:
        self._o = outbox
        self.down = False

    def __getattr__(self, name):
        attr = getattr(self._o, name)
        if name in {"mark_sent", "begin", "retry_later", "mark_failed", "claim"}:

            async def wrapped(*a, **kw):
                if self.down:
                    raise ConnectionError("database unreachable")
                return await attr(*a, **kw)

            return wrapped
        return attr


async def test_sender_pauses_while_results_cannot_be_recorded(env):
    db, outbox, clock = env
    mid, _ = await outbox.create_message("system", text="x", status="running")
    await outbox.enqueue(mid, [Recipient(chat_id=c) for c in range(1, 11)])
    flaky = FlakyOutbox(outbox)
    t = FakeTransport()
    real_send = t.send

    async def send_then_outage(msg):
        out = await real_send(msg)
        flaky.down = True  # this one went out; its result cannot be written
        return out

    t.send = send_then_outage
    sender = Sender(
        flaky,
        t,
        rate=1000,
        bucket=TokenBucket(1000),
        concurrency=4,
        db_retry_base=0.05,
        db_retry_cap=0.05,
        poll_interval=0.05,
    )
    await sender.start()
    try:
        await asyncio.sleep(0.6)
        # only the sends already in flight when the database went away (at most one per worker)
        assert 1 <= len(t.sent) <= 4, "sent blind while the database was down"
        assert sender.unrecorded and sender.stats["db_errors"] > 2
        t.send = real_send
        flaky.down = False
        for _ in range(100):
            if len(t.sent) >= 10 and not sender.unrecorded:
                break
            await asyncio.sleep(0.05)
    finally:
        await sender.stop()
    assert sorted(m.chat_id for m in t.sent) == list(range(1, 11))
    async with db.session() as s:
        got = (await s.execute(select(Delivery.status, Delivery.attempts))).all()
    assert got == [("sent", 1)] * 10
