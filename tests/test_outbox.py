"""The outbox core without Telegram: enqueue, claims and leases, pacing, failure paths,
progress, cancel, and the `opdbot broadcast` CLI."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.accounts.models import User
from bot.accounts.service import UserService
from bot.config import load_settings
from bot.db import Database
from bot.outbox import OutboxService, ProgressReporter, Recipient, Sender, TokenBucket
from bot.outbox.models import D_SENDING, Delivery, OutboxMessage
from bot.templates import render
from bot.transport import Button, RetryAfter, Transient
from tests.conftest import PG_URL
from tests.outbox_helpers import ERRORS, Clock, FakeTransport, Mono, add_users


@pytest.fixture
async def env(db_url):
    settings = load_settings(database_url=db_url, broadcast_rate=25, _env_file=None)
    db = Database(db_url)
    clock = Clock()
    users = UserService(db, settings)
    outbox = OutboxService(db, settings, users, clock=clock)
    yield db, outbox, clock
    await db.dispose()


def make_sender(outbox, transport, mono=None, **kw):
    mono = mono or Mono(outbox.clock)
    bucket = TokenBucket(25, clock=mono, sleep=mono.sleep)
    return Sender(outbox, transport, rate=25, bucket=bucket, monotonic=mono, **kw)


async def _statuses(db, message_id):
    async with db.session() as s:
        rows = await s.execute(
            select(Delivery.chat_id, Delivery.status, Delivery.attempts, Delivery.error).where(
                Delivery.message_id == message_id
            )
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows.all()}


async def test_enqueue_is_idempotent_per_message_and_chat(env):
    db, outbox, _ = env
    mid, created = await outbox.create_message("system", text="halo", dedupe_key="k1")
    again, created2 = await outbox.create_message("system", text="halo", dedupe_key="k1")
    assert created and not created2 and again == mid
    people = [Recipient(chat_id=c) for c in (1, 2, 3, 3)]
    assert await outbox.enqueue(mid, people) == 3
    assert await outbox.enqueue(mid, people + [Recipient(chat_id=4)]) == 4
    async with db.session() as s:
        assert await s.scalar(select(func.count(Delivery.id))) == 4


async def test_broadcast_goes_to_active_users_or_chosen_opds(env):
    db, outbox, _ = env
    await add_users(db, 3, start=10, opd="dinas-a")
    await add_users(db, 2, start=20, opd="dinas-b")
    await add_users(db, 2, start=30, active=False)
    mid, total = await outbox.broadcast_now("untuk semua")
    assert total == 5
    mid_b, total_b = await outbox.broadcast_now("untuk B", opd_slugs=["dinas-b"])
    assert total_b == 2
    assert set(await _statuses(db, mid_b)) == {20, 21}
    p = await outbox.get(mid)
    assert p.status == "running" and p.total == 5 and p.pending == 5 and p.eta_seconds == 0.2


async def test_claim_leases_rows_and_an_expired_lease_makes_them_due_again(env):
    db, outbox, clock = env
    mid, _ = await outbox.create_message("system", text="x", status="running")
    await outbox.enqueue(mid, [Recipient(chat_id=c) for c in range(1, 6)])
    first = await outbox.claim("A", 3, lease_seconds=60)
    second = await outbox.claim("B", 10, lease_seconds=60)
    assert [r.chat_id for r in first] == [1, 2, 3]
    assert [r.chat_id for r in second] == [4, 5]
    assert await outbox.claim("C", 10, lease_seconds=60) == []
    # "A" crashes: nothing recorded. Before the lease ends nothing is due ...
    clock.advance(seconds=59)
    assert await outbox.claim("C", 10, lease_seconds=60) == []
    # ... after it, A's rows (and B's) are due again and go to whoever claims next.
    clock.advance(seconds=2)
    again = await outbox.claim("C", 10, lease_seconds=60)
    assert sorted(r.chat_id for r in again) == [1, 2, 3, 4, 5]
    assert {r.owner for r in again} == {"C"}
    # A late result from the old owner of a failure does not overwrite C's lease.
    await outbox.mark_failed(first[0], "late")
    assert (await _statuses(db, mid))[1][0] == D_SENDING


async def test_crash_recovery_sends_every_row_and_repeats_only_in_flight(env):
    db, outbox, clock = env
    await add_users(db, 20, start=100)
    mid, _ = await outbox.broadcast_now("pengumuman")
    t = FakeTransport()
    # Process 1 claims 5 rows, sends 2 of them and dies before recording the second.
    crashed = await outbox.claim("dead", 5, lease_seconds=30)
    await outbox.mark_sent(crashed[0], await t.send(_msg(crashed[0])))
    await t.send(_msg(crashed[1]))  # in flight at the crash: sent, not recorded
    clock.advance(seconds=31)
    outcomes = await make_sender(outbox, t).drain()
    assert outcomes["sent"] == 19
    per_chat = {c: len(t.sent_to(c)) for c in range(100, 120)}
    assert all(n >= 1 for n in per_chat.values())  # nobody missing
    assert sum(per_chat.values()) - 20 == 1  # one repeat: the row in flight
    p = await outbox.get(mid)
    assert p.sent == 20 and p.pending == 0


def _msg(row):
    from bot.transport import OutMessage

    return OutMessage(chat_id=row.chat_id, text="pengumuman")


async def test_failure_paths_403_429_5xx_400(env):
    db, outbox, clock = env
    ids = await add_users(db, 6, start=200)
    mid, _ = await outbox.broadcast_now("halo")
    t = FakeTransport()
    t.fail(200, ERRORS["403"]())
    t.fail(201, ERRORS["429"]())
    t.fail(202, *[ERRORS["5xx"]() for _ in range(10)])
    t.fail(203, ERRORS["400"]())
    t.fail(204, ERRORS["bad"]())
    sender = make_sender(outbox, t, max_attempts=3, backoff_base=2.0)
    first = await sender.drain()
    # 429 paused every send for retry_after (7 s of fake time), then the same row went out.
    assert sender.bucket.pauses == 1
    assert first == {"blocked": 1, "retry_after": 1, "transient": 1, "failed": 2, "sent": 2}
    st = await _statuses(db, mid)
    assert st[200][0] == "blocked"
    assert st[201][:2] == ("sent", 1)  # the 429 did not count as an attempt
    assert st[203] == ("failed", 1, "Bad Request: chat not found")
    assert st[204][0] == "failed" and "message text is empty" in st[204][2]
    assert st[202][:2] == ("pending", 1)
    # 403: the user is inactive now and never retried.
    async with db.session() as s:
        assert (await s.get(User, ids[0][0])).is_active is False
    # The 5xx row backs off 2 s, then 4 s, then fails (max 3 attempts).
    clock.advance(seconds=2.1)
    assert (await sender.drain()) == {"transient": 1}
    clock.advance(seconds=3.8)
    assert (await sender.drain()) == {}
    clock.advance(seconds=0.3)
    assert (await sender.drain()) == {"failed": 1}
    st = await _statuses(db, mid)
    assert st[202][0] == "failed" and "after 3 attempts" in st[202][2]
    assert t.attempts[200] == 1 and t.attempts[201] == 2 and t.attempts[202] == 3
    p = await outbox.get(mid)
    assert (p.sent, p.blocked, p.failed, p.pending) == (2, 1, 3, 0)


async def test_cancel_stops_what_is_not_sent_yet(env):
    db, outbox, _ = env
    await add_users(db, 10, start=300)
    mid, _ = await outbox.broadcast_now("akan dibatalkan")
    t = FakeTransport()
    sender = make_sender(outbox, t)
    rows = await outbox.claim(sender.owner, 3, 60)
    await sender._prepare(rows)
    for r in rows[:2]:
        await sender.deliver(r)
    outbox.on_cancel.append(sender.cancelled)
    assert await outbox.cancel(mid)
    assert not await outbox.cancel(mid)  # already cancelled
    assert await sender.deliver(rows[2]) == "cancelled"
    assert await sender.drain() == {}
    p = await outbox.get(mid)
    assert (p.status, p.sent, p.cancelled, p.pending) == ("cancelled", 2, 8, 0)
    assert len(t.sent) == 2


async def test_token_bucket_paces_at_the_rate_and_pauses():
    mono = Mono()
    bucket = TokenBucket(25, clock=mono, sleep=mono.sleep)
    for _ in range(101):
        await bucket.acquire()
    # 101 tokens at 25/s: the first is free, the other 100 take 4 s of (fake) time.
    assert 3.9 <= mono.t - 1000.0 <= 4.1
    start = mono.t
    bucket.pause(10)
    await bucket.acquire()
    assert mono.t - start >= 10


async def test_sender_keeps_chats_apart_and_paces_overall(env):
    db, outbox, clock = env
    await add_users(db, 3, start=400)
    await outbox.broadcast_now("satu")
    await outbox.broadcast_now("dua")  # a second message to the same chats
    t = FakeTransport()
    sender = make_sender(outbox, t)
    t0 = clock.now
    first = await sender.drain()
    # The first message went out; the second to each chat waits for the one-second gap.
    assert first == {"sent": 3, "spaced": 3}
    clock.advance(seconds=1)
    assert await sender.drain() == {"sent": 3}
    assert [m.text for m in t.sent_to(400)] == ["satu", "dua"]
    # Six sends at 25/s: at least 5 * 40 ms of (fake) time went by in the bucket.
    assert sender.bucket.acquired == 6
    assert (clock.now - t0).total_seconds() >= 1 + 2 * 0.04


async def test_running_sender_delivers_and_reporter_edits_status_message(env):
    db, outbox, _ = env
    await add_users(db, 30, start=500)
    mid, _ = await outbox.create_message("broadcast", text="halo <b>semua</b>")
    await outbox.set_status_message(mid, 500, 77)
    t = FakeTransport()
    sender = Sender(outbox, t, rate=1000, poll_interval=0.05)
    reporter = ProgressReporter(outbox, t, render, lambda m: Button("stop", f"bc:stop:{m}"))
    await sender.start()
    try:
        await outbox.start_broadcast(mid)
        for _ in range(200):
            if len(t.sent) == 30:
                break
            await asyncio.sleep(0.02)
    finally:
        await sender.stop()
    assert len(t.sent) == 30 and t.sent[0].text == "halo <b>semua</b>"
    edited = await reporter.tick()
    assert edited == [mid]
    chat, msg_id, text, buttons = t.edits[-1]
    assert (chat, msg_id) == (500, 77) and buttons is None
    assert "selesai" in text and "▓" * 12 in text and "30" in text
    assert (await outbox.get(mid)).status == "done"
    assert await reporter.tick() == []  # nothing changes: no more edits


async def test_reporter_shows_progress_bar_and_cancel_button_while_running(env):
    db, outbox, _ = env
    await add_users(db, 4, start=600)
    mid, _ = await outbox.create_message("broadcast", text="x")
    await outbox.set_status_message(mid, 600, 5)
    await outbox.start_broadcast(mid)
    t = FakeTransport()
    sender = make_sender(outbox, t)
    rows = await outbox.claim(sender.owner, 2, 60)
    await sender._prepare(rows)
    for r in rows:
        await sender.deliver(r)
    reporter = ProgressReporter(outbox, t, render, lambda m: Button("stop", f"bc:stop:{m}"))
    assert await reporter.tick() == [mid]
    _, _, text, buttons = t.edits[-1]
    assert "sedang dikirim" in text and "50%" in text and "▓▓▓▓▓▓░░░░░░" in text
    assert buttons[0][0].callback_data == f"bc:stop:{mid}"
    assert "2</b> dari 4" in text


async def test_lease_is_released_when_pacing_makes_it_too_old(env):
    db, outbox, _ = env
    await add_users(db, 1, start=700)
    await outbox.broadcast_now("x")
    t = FakeTransport()
    mono = Mono()
    sender = make_sender(outbox, t, mono, lease_seconds=20)
    rows = await outbox.claim(sender.owner, 1, 20)
    await sender._prepare(rows)
    sender.bucket.pause(30)  # flood control longer than the lease
    assert await sender.deliver(rows[0], claimed_at=mono()) == "released"
    assert t.sent == []
    assert len(await outbox.claim("other", 5, 60)) == 1


async def test_transient_backoff_is_exponential_and_bounded(env):
    _, outbox, _ = env
    sender = Sender(outbox, FakeTransport(), rate=25, backoff_base=2, backoff_cap=30)
    assert [sender._backoff(n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
async def test_concurrent_claims_on_postgres_never_share_a_row(env, db_url):
    db, outbox, _ = env
    mid, _ = await outbox.create_message("system", text="x", status="running")
    await outbox.enqueue(mid, [Recipient(chat_id=c) for c in range(1, 401)])
    other_db = Database(db_url)
    other = OutboxService(other_db, outbox.settings, outbox.users, clock=outbox.clock)
    try:
        results = await asyncio.gather(
            *[(outbox if i % 2 else other).claim(f"o{i}", 25, 60) for i in range(20)]
        )
    finally:
        await other_db.dispose()
    ids = [r.id for rows in results for r in rows]
    assert len(ids) == len(set(ids)) == 400


async def test_retry_after_reason_and_transient_errors_are_kept(env):
    db, outbox, clock = env
    await add_users(db, 2, start=800)
    mid, _ = await outbox.broadcast_now("x")
    t = FakeTransport()
    t0 = clock.now
    t.fail(800, RetryAfter(3))
    t.fail(801, Transient("Timed out"))
    sender = make_sender(outbox, t)
    rows = await outbox.claim(sender.owner, 5, 60)
    await sender._prepare(rows)
    assert [await sender.deliver(r) for r in rows] == ["retry_after", "transient"]
    st = await _statuses(db, mid)
    assert "retry after 3" in st[800][2] and st[801][2] == "Timed out"
    async with db.session() as s:
        due = await s.scalar(select(Delivery.next_attempt_at).where(Delivery.chat_id == 800))
    assert due == t0 + timedelta(seconds=3)


def test_cli_broadcast_and_status(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.db import upgrade
    from bot.outbox.cli import broadcast_app

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"
    upgrade(url)

    async def seed():
        db = Database(url)
        await add_users(db, 3, start=900, opd="dinas-kominfo")
        await add_users(db, 2, start=950)
        await db.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    res = runner.invoke(broadcast_app, ["Rapat <b>Jumat</b>", "--opd", "dinas-kominfo"])
    assert res.exit_code == 0, res.output
    mid = int(res.stdout.strip().splitlines()[0])
    res = runner.invoke(broadcast_app, ["Untuk semua"])
    assert res.exit_code == 0 and int(res.stdout.split()[0]) == mid + 1
    res = runner.invoke(broadcast_app, ["status", str(mid), "--json"])
    assert res.exit_code == 0
    assert '"total": 3' in res.stdout and '"pending": 3' in res.stdout
    res = runner.invoke(broadcast_app, ["status", str(mid + 1)])
    assert "Penerima: 5" in res.stdout and "Menunggu: 5" in res.stdout
    assert "*" not in res.stdout  # plain text, no Telegram markup
    res = runner.invoke(broadcast_app, ["x", "--opd", "tidak-ada"])
    assert res.exit_code == 2 and "tidak-ada" in res.stderr
    res = runner.invoke(broadcast_app, ["status", "99"])
    assert res.exit_code == 1
    res = runner.invoke(broadcast_app, ["status", "99999999999999999999"])  # no traceback
    assert res.exit_code == 1 and "tidak ditemukan" in res.stderr
    # Nobody in that OPD: refused, nothing is queued.
    res = runner.invoke(broadcast_app, ["Halo", "--opd", "dinkes"])
    assert res.exit_code == 1 and "siaran tidak dibuat" in res.stderr and not res.stdout

    async def count():
        db = Database(url)
        async with db.session() as s:
            n = await s.scalar(select(func.count(OutboxMessage.id)))
        await db.dispose()
        return n

    assert asyncio.run(count()) == 2
