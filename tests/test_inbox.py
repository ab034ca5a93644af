"""The durable inbox (bot.inbox): storing, claiming with leases, per-chat order, processing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db import Database
from bot.inbox import InboxService, chat_key_of, update_kind
from bot.inbox.models import U_DONE, U_FAILED, InboxUpdate
from bot.inbox.processor import InboxProcessor


def msg(update_id: int, chat: int, text: str = "halo", user: int | None = None) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
            "from": {"id": user or abs(chat), "is_bot": False, "first_name": "Budi"},
            "text": text,
        },
    }


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _rows(db: Database) -> list[InboxUpdate]:
    async with db.session() as s:
        return list((await s.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id))).all())


def test_chat_key_and_kind():
    assert chat_key_of(msg(1, 42)) == 42
    assert chat_key_of(msg(1, -100)) == -100
    inline = {"update_id": 2, "callback_query": {"id": "q", "from": {"id": 7}, "data": "x"}}
    assert chat_key_of(inline) == 7 and update_kind(inline) == "callback_query"
    pressed = {
        "update_id": 3,
        "callback_query": {"id": "q", "from": {"id": 7}, "message": {"chat": {"id": -5}}},
    }
    assert chat_key_of(pressed) == -5
    assert chat_key_of({"update_id": 4, "poll": {"id": "p"}}) is None
    assert update_kind({"update_id": 5}) == "unknown"


async def test_store_ignores_a_repeated_update_id(db_url):
    db = Database(db_url)
    inbox = InboxService(db)
    try:
        assert await inbox.store([msg(10, 42), msg(11, 42)]) == {10, 11}
        assert await inbox.store([msg(10, 42, "lagi"), msg(12, 43)]) == {12}
        rows = await _rows(db)
        assert [r.update_id for r in rows] == [10, 11, 12]
        assert '"halo"' in rows[0].payload  # the first copy is kept
    finally:
        await db.dispose()


async def test_claims_keep_one_chat_with_one_process_and_in_order(db_url):
    db = Database(db_url)
    inbox = InboxService(db)
    try:
        await inbox.store([msg(1, 42), msg(2, 42), msg(3, 43)])
        first = await inbox.claim("a", 1, 30)
        assert [c.update_id for c in first] == [1]
        # process b may not take chat 42's next update while a holds the first
        other = await inbox.claim("b", 10, 30)
        assert [c.update_id for c in other] == [3]
        assert await inbox.claim("b", 10, 30) == []
        # a itself may (its own queue keeps the order)
        mine = await inbox.claim("a", 10, 30)
        assert [c.update_id for c in mine] == [2]
        assert await inbox.finish("a", [first[0].id, mine[0].id]) == 2
        assert await inbox.finish("b", [other[0].id]) == 1
        rows = await _rows(db)
        assert {r.status for r in rows} == {U_DONE}
        # nothing personal stays in handled rows
        assert all(r.payload is None and r.chat_key is None for r in rows)
    finally:
        await db.dispose()


async def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(db_url):
    db = Database(db_url)
    clock = Clock()
    inbox = InboxService(db, clock=clock)
    try:
        await inbox.store([msg(1, 42), msg(2, 42)])
        held = await inbox.claim("frozen", 10, 15)
        assert len(held) == 2
        clock.now += timedelta(seconds=10)
        assert await inbox.claim("standby", 10, 15) == []
        clock.now += timedelta(seconds=6)
        taken = await inbox.claim("standby", 10, 15)
        assert [c.update_id for c in taken] == [1, 2] and taken[0].attempts == 2
        assert await inbox.renew("frozen", [c.id for c in held], 15) == set()
        assert await inbox.finish("frozen", [c.id for c in held]) == 0
        assert await inbox.finish("standby", [c.id for c in taken]) == 2
    finally:
        await db.dispose()


async def test_an_update_that_keeps_failing_is_given_up_and_purged_later(db_url):
    db = Database(db_url)
    clock = Clock()
    inbox = InboxService(db, clock=clock, max_attempts=2)
    try:
        await inbox.store([msg(1, 42)])
        for _ in range(2):
            assert len(await inbox.claim("p", 10, 5)) == 1
            clock.now += timedelta(seconds=6)  # the process died while handling it
        assert await inbox.claim("p", 10, 5) == []
        (row,) = await _rows(db)
        assert row.status == U_FAILED and row.payload is None
        assert await inbox.purge(timedelta(hours=48)) == 0
        clock.now += timedelta(hours=49)
        assert await inbox.purge(timedelta(hours=48)) == 1
        assert await _rows(db) == []
    finally:
        await db.dispose()


async def test_recover_gives_back_what_a_crashed_run_held(db_url):
    db = Database(db_url)
    inbox = InboxService(db)
    try:
        await inbox.store([msg(1, 42)])
        await inbox.claim("crashed", 10, 60)
        assert await inbox.claim("next", 10, 60) == []
        assert await inbox.recover() == 1
        assert [c.update_id for c in await inbox.claim("next", 10, 60)] == [1]
    finally:
        await db.dispose()


async def test_a_busy_chat_never_delays_another_chat(db_url):
    db = Database(db_url)
    inbox = InboxService(db)
    release = asyncio.Event()
    seen: list[tuple[int, int]] = []
    other_done = asyncio.Event()

    async def handle(payload: dict) -> None:
        chat = payload["message"]["chat"]["id"]
        seen.append((chat, payload["update_id"]))
        if chat == -100:
            await release.wait()
        else:
            other_done.set()

    proc = InboxProcessor(inbox, handle, concurrency=2, sweep=0.05)
    try:
        await inbox.store([msg(i, -100, user=i) for i in range(1, 101)])
        await inbox.store([msg(500, 77)])
        await proc.start()
        # the group's first update blocks; its 99 others hold no slot, so chat 77 runs
        await asyncio.wait_for(other_done.wait(), 10)
        assert seen[0] == (-100, 1) and (77, 500) in seen
        release.set()
        for _ in range(500):
            if await inbox.handled_upto(500):
                break
            await asyncio.sleep(0.02)
        group = [u for c, u in seen if c == -100]
        assert group == list(range(1, 101))  # one chat's updates in order
        assert {r.status for r in await _rows(db)} == {U_DONE}
    finally:
        await proc.stop()
        await db.dispose()


async def test_stop_gives_back_updates_not_started(db_url):
    db = Database(db_url)
    inbox = InboxService(db)
    started = asyncio.Event()

    async def handle(payload: dict) -> None:
        started.set()
        await asyncio.sleep(30)

    proc = InboxProcessor(inbox, handle, concurrency=1, sweep=0.05)
    try:
        await inbox.store([msg(1, 42), msg(2, 42)])
        await proc.start()
        await asyncio.wait_for(started.wait(), 10)
        await proc.stop(grace=0.2)
        # the running one was cut short and the queued one never started: both wait again
        taken = await inbox.claim("next", 10, 30)
        assert [c.update_id for c in taken] == [1, 2]
    finally:
        await db.dispose()
