"""A database outage during a broadcast: the sender pauses while it cannot record results, no
message goes out twice, and the report counts what was really sent, repeats included.

The outage is real (``DatabaseOutage``: every statement of the engine fails, on PostgreSQL its
connections are terminated too); the sender, the leader lease and the supervisor are the
production ones (``Background``), only the messenger is a recording transport.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.accounts.service import UserService
from bot.config import load_settings
from bot.core import Core
from bot.db import Database
from bot.db.base import utcnow
from bot.db.outage import DatabaseOutage
from bot.outbox import Leadership, OutboxService, Sender
from bot.transport import OutMessage
from tests.conftest import KNOWLEDGE
from tests.outbox_helpers import FakeTransport, add_users


class SlowTransport(FakeTransport):
    """Every send takes ``latency`` seconds (a real HTTP round trip)."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency
        self.calls = 0

    async def send(self, msg: OutMessage) -> int:
        self.calls += 1
        await asyncio.sleep(self.latency)
        return await super().send(msg)


async def wait_until(cond, timeout: float) -> bool:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await cond():
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.fixture
async def env(db_url):
    settings = load_settings(
        database_url=db_url, broadcast_rate=25, knowledge_dir=KNOWLEDGE, _env_file=None
    )
    db = Database(db_url)
    outage = DatabaseOutage(db)
    yield db, settings, outage
    outage.remove()
    await db.dispose()


async def test_outage_mid_broadcast_sends_nothing_twice_and_report_is_true(env):
    db, settings, outage = env
    core = Core(settings, db)
    bg = core.background
    bg.lead_ttl, bg.lead_retry, bg.progress_interval = 2.0, 0.3, 0.3
    bg.scheduler_enabled = False
    bg.sender_options = {"db_retry_base": 0.1, "db_retry_cap": 0.5}
    users = await add_users(db, 150, start=30_000)
    mid, total = await core.outbox.broadcast_now("Siaran uji <b>penting</b>")
    assert total == 150
    transport = SlowTransport(latency=0.05)
    await core.start_background(transport)
    try:
        first_epoch = bg.leadership.epoch
        assert await wait_until(lambda: _ready(len(transport.sent) >= 40), 20)
        await outage.begin(6)  # longer than the lease: leadership is lost and regained
        sent_at_outage = transport.calls
        await asyncio.sleep(1.0)
        # sending paused: at most the sends already in flight completed
        assert transport.calls - sent_at_outage <= 8

        async def finished() -> bool:
            if outage.active:
                return False
            p = await core.outbox.get(mid)
            return p is not None and p.status == "done"

        assert await wait_until(finished, 60)
        per_chat = Counter(m.chat_id for m in transport.sent)
        assert set(per_chat) == {c for _, c in users}
        assert max(per_chat.values()) == 1  # nothing sent twice
        p = await core.outbox.get(mid)
        assert (p.sent, p.failed, p.pending, p.repeats) == (150, 0, 0, 0)
        assert p.attempts == transport.calls == 150  # every send counted, none invented
        assert outage.failed > 0
        assert bg.leadership.epoch > first_epoch  # the lease was lost and taken again
    finally:
        await core.stop_background()


async def _ready(value: bool) -> bool:
    return value


async def test_a_crash_during_an_outage_repeats_only_in_flight_sends_and_counts_them(env):
    db, settings, outage = env
    users_svc = UserService(db, settings)
    outbox = OutboxService(db, settings, users_svc)
    users = await add_users(db, 40, start=31_000)
    mid, _ = await outbox.broadcast_now("Siaran kedua")
    transport = SlowTransport(latency=0.4)
    lead_a = Leadership(db, holder="A", ttl=30)
    assert await lead_a.try_acquire()
    a = Sender(outbox, transport, rate=25, leadership=lead_a, concurrency=4, db_retry_base=0.1)
    await a.start()
    assert await wait_until(lambda: _ready(transport.calls >= 12), 20)
    await outage.begin(3)  # the sends in flight now cannot be recorded
    await asyncio.sleep(0.8)
    # process A dies here: its tasks vanish with their unrecorded results
    for task in a._tasks:
        task.cancel()
    await asyncio.gather(*a._tasks, return_exceptions=True)
    unknown = len(a.unrecorded)
    assert unknown >= 1
    await asyncio.sleep(2.5)  # the database is back

    lead_b = Leadership(db, holder="B", ttl=30)
    if not db.is_sqlite:  # A's lease (30 s) has run out in B's eyes
        lead_b.clock = lambda: utcnow() + timedelta(seconds=31)
    assert await lead_b.try_acquire() and lead_b.epoch > lead_a.epoch
    b = Sender(outbox, transport, rate=25, leadership=lead_b, concurrency=4)
    await b.start()
    try:

        async def drained() -> bool:
            p = await outbox.get(mid)
            return p.pending == 0

        assert await wait_until(drained, 60)
    finally:
        await b.stop()
    per_chat = Counter(m.chat_id for m in transport.sent)
    assert set(per_chat) == {c for _, c in users}
    duplicates = sum(n - 1 for n in per_chat.values())
    assert 1 <= duplicates <= unknown  # only what was in flight at the crash
    p = await outbox.get(mid)
    assert p.sent == 40
    assert p.repeats == duplicates  # the report says how many went out twice
    assert p.attempts == transport.calls


async def test_an_outcome_waiting_for_the_database_is_written_once(env, caplog):
    """While a worker retries the write of a send's outcome, the claimer neither writes it a
    second time nor trips over it (it used to: 'list.remove(x): x not in list')."""
    db, settings, outage = env
    outbox = OutboxService(db, settings, UserService(db, settings))
    await add_users(db, 30, start=32_000)
    mid, _ = await outbox.broadcast_now("Siaran ketiga")
    written: Counter[int] = Counter()
    real = outbox.mark_sent

    async def counting(row, *args, **kwargs):
        result = await real(row, *args, **kwargs)
        written[row.id] += 1
        return result

    outbox.mark_sent = counting
    transport = SlowTransport(latency=0.3)
    lead = Leadership(db, holder="A", ttl=30)
    assert await lead.try_acquire()
    sender = Sender(
        outbox, transport, rate=25, leadership=lead, concurrency=4, db_retry_base=0.1,
        db_retry_cap=0.3, poll_interval=0.2,
    )  # fmt: skip
    await sender.start()
    try:
        assert await wait_until(lambda: _ready(transport.calls >= 4), 20)
        await outage.begin(2)  # the sends in flight finish while nothing can be written

        async def drained() -> bool:
            return not outage.active and (await outbox.get(mid)).pending == 0

        assert await wait_until(drained, 60)
    finally:
        await sender.stop()
    assert len(written) == 30 and max(written.values()) == 1
    assert sender.unrecorded == []
    assert "claim failed" not in caplog.text
    assert (await outbox.get(mid)).sent == 30
