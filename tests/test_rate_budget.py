"""One rate budget per token: replies first, broadcasts keep a floor, per-chat and per-group
rules, 429 pauses; the fake Bot API enforcing Telegram's flood limits; the whole bot with the
budget against the enforcing fake (no 429, under 30 messages in any second)."""

from __future__ import annotations

import asyncio
import time

import httpx

from bot.budget import BULK, REPLY, RateBudget
from bot.fakeapi import FakeTelegram


async def _take(budget, lane, log, chat=None):
    await budget.acquire(lane, chat)
    log.append((time.monotonic(), lane))


async def test_replies_first_broadcasts_keep_their_floor_and_the_total_is_capped():
    budget = RateBudget(40, bulk_floor=5)
    log: list[tuple[float, str]] = []
    t0 = time.monotonic()
    tasks = [asyncio.create_task(_take(budget, BULK, log)) for _ in range(60)]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(_take(budget, REPLY, log)) for _ in range(30)]
    await asyncio.gather(*tasks)
    times = [t for t, _ in log]
    replies_done = max(t for t, lane in log if lane == REPLY) - t0
    last_reply = max(i for i, (_, lane) in enumerate(log) if lane == REPLY)
    bulk_before = [lane for _, lane in log[:last_reply]].count(BULK)
    # the replies jump the queue of 60 broadcast sends; the broadcast keeps its floor (5/s)
    assert replies_done < 3.0
    assert 1 <= bulk_before <= 5 * replies_done + 2
    for t in times:  # never more than rate + 1 grants in any second
        assert sum(1 for u in times if t <= u < t + 1.0) <= 41
    assert budget.granted == {REPLY: 30, BULK: 60}


async def test_private_chat_burst_then_one_per_interval_and_group_window():
    budget = RateBudget(200, chat_rate=5, chat_burst=2, group_limit=3, group_window=0.6)
    log: list = []
    t0 = time.monotonic()
    await asyncio.gather(*[_take(budget, BULK, log, 42) for _ in range(4)])
    private = sorted(t - t0 for t, _ in log)
    assert private[1] < 0.1 and 0.15 < private[2] < 0.35 and 0.35 < private[3] < 0.6
    log.clear()
    t0 = time.monotonic()
    await asyncio.gather(*[_take(budget, REPLY, log, -100) for _ in range(5)])
    group = sorted(t - t0 for t, _ in log)
    assert group[2] < 0.1 and group[3] >= 0.55
    # replies in a private chat follow the user's actions: not held per chat
    log.clear()
    t0 = time.monotonic()
    await asyncio.gather(*[_take(budget, REPLY, log, 42) for _ in range(4)])
    assert max(t for t, _ in log) - t0 < 0.1
    # other chats are not held up by a busy one
    log.clear()
    t0 = time.monotonic()
    await _take(budget, REPLY, log, 43)
    assert log[0][0] - t0 < 0.1


async def test_flood_control_pauses_every_lane_and_courtesy_calls_are_skipped():
    budget = RateBudget(100)
    assert budget.try_acquire()
    assert not budget.try_acquire()  # the next grant is not free yet: skipped, not waited
    await asyncio.sleep(0.02)
    budget.pause(0.3)
    t0 = time.monotonic()
    log: list = []
    await asyncio.gather(_take(budget, REPLY, log), _take(budget, BULK, log))
    assert min(t for t, _ in log) - t0 >= 0.28
    assert not budget.try_acquire() or budget.paused_for == 0
    assert budget.skipped >= 1


async def _post(client, fake, method, **params):
    r = await client.post(fake.api_url + method, json=params)
    return r.status_code, r.json()


async def test_fake_enforces_global_per_chat_and_group_limits():
    fake = FakeTelegram()
    for uid in range(1, 9):
        fake.user(uid)
    fake.add_chat(-500, "supergroup", "Grup")
    await fake.start()
    try:
        fake.enforce_limits(per_second=5, chat_burst=2, group_per_minute=3)
        async with httpx.AsyncClient() as client:
            codes = [
                (await _post(client, fake, "sendMessage", chat_id=u, text="hai"))[0]
                for u in range(1, 7)
            ]
            assert codes == [200] * 5 + [429]
            status, body = await _post(client, fake, "sendMessage", chat_id=7, text="x")
            assert status == 429 and body["parameters"]["retry_after"] >= 1
            assert body["description"].startswith("Too Many Requests: retry after")
            await asyncio.sleep(1.05)
            codes = [
                (await _post(client, fake, "sendMessage", chat_id=8, text="x"))[0] for _ in range(3)
            ]
            assert codes == [200, 200, 429]  # one private chat: a burst of 2, then ~1/s
            await asyncio.sleep(1.05)
            codes = [
                (await _post(client, fake, "sendMessage", chat_id=-500, text="x"))[0]
                for _ in range(4)
            ]
            assert codes == [200, 200, 200, 429]  # a group: 3 a minute here
            # typing indicators are not messages
            status, _ = await _post(client, fake, "sendChatAction", chat_id=8, action="typing")
            assert status == 200
        assert fake.limit_hits == 4
    finally:
        await fake.stop()


async def test_the_bot_answers_a_burst_during_a_broadcast_without_429(fake, settings):
    from tests.conftest import Harness
    from tests.outbox_helpers import add_users

    fake.enforce_limits()
    h = Harness(fake, settings)
    await h.start()
    try:
        askers = await add_users(h.core.db, 40, start=60_000)
        targets = await add_users(h.core.db, 60, start=70_000)
        for _, chat in askers + targets:
            fake.user(chat)
        mark = fake.mark()
        mid, total = await h.core.outbox.broadcast_now("Siaran <b>uji</b> batas kecepatan")
        assert total == 100
        for _, chat in askers:
            fake.send_message(chat, "cara bikin caption yang menarik")
        asker_chats = {c for _, c in askers}

        async def answered() -> set:
            return {
                c.params["chat_id"]
                for c in fake.calls[mark:]
                if c.method == "sendMessage"
                and c.ok
                and c.params.get("chat_id") in asker_chats
                and "uji</b> batas" not in c.params.get("text", "")
            }

        for _ in range(400):
            p = await h.core.outbox.get(mid)
            if len(await answered()) == 40 and p.pending == 0:
                break
            await asyncio.sleep(0.1)
        assert len(await answered()) == 40
        assert (await h.core.outbox.get(mid)).sent == 100
        window = fake.calls[mark:]
        assert not [c for c in window if c.status == 429] and fake.limit_hits == 0
        sends = sorted(c.at for c in window if c.method in ("sendMessage", "editMessageText"))
        assert max(sum(1 for u in sends if t <= u < t + 1.0) for t in sends) <= 30
    finally:
        await h.stop()


class LateClock:
    """A clock whose every sleep oversleeps by ``late`` seconds (a busy event loop)."""

    def __init__(self, late: float) -> None:
        self.now = 100.0
        self.late = late

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds) + self.late
        await asyncio.sleep(0)


async def test_a_late_event_loop_does_not_lower_the_rate_nor_break_the_window():
    clock = LateClock(late=0.4 / 29)  # every wake-up 40 % of an interval late
    budget = RateBudget(29, clock=clock, sleep=clock.sleep)
    times: list[float] = []

    async def take() -> None:
        await budget.acquire(REPLY)
        times.append(clock())

    await asyncio.gather(*[take() for _ in range(300)])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate > 28.5, rate  # charged from its slot: was 29 / 1.4 = 20.7 a second
    assert budget.late_seconds / budget.paced_grants > 0.01  # the lateness was there
    for t in times:  # and still no more than rate + 1 in any second
        assert sum(1 for u in times if t <= u < t + 1.0) <= 30


async def test_a_held_grant_counts_until_it_is_released():
    budget = RateBudget(1000, window=3)  # 3 in any second
    for _ in range(3):
        await budget.acquire(BULK, hold=True)  # three requests on their way
    fourth = asyncio.create_task(budget.acquire(REPLY))
    await asyncio.sleep(0.1)
    assert not fourth.done()  # Telegram may not have seen the three yet: the window is full
    for _ in range(3):
        budget.release()  # answered: they count from now, for a second
    t0 = time.monotonic()
    await asyncio.wait_for(fourth, 3.0)
    assert 0.9 < time.monotonic() - t0 < 1.5
    async with budget.sending(REPLY, 42):
        assert budget._inflight == 1
    assert budget._inflight == 0


async def test_close_stops_the_dispatcher_and_cancels_waiters():
    """At shutdown the budget's dispatcher task is stopped (no "Task was destroyed but it is
    pending"), and a request still waiting for a grant is cancelled, not left hanging."""
    import asyncio

    from bot.budget import RateBudget

    budget = RateBudget(rate=1.0)
    await budget.acquire()  # the first grant at once: the dispatcher runs
    waiting = asyncio.create_task(budget.acquire())  # the next one waits about a second
    await asyncio.sleep(0.05)
    assert budget._task is not None and not budget._task.done()
    task = budget._task
    await budget.close()
    assert task.done() and budget._task is None
    await asyncio.sleep(0)
    assert waiting.cancelled() or isinstance(waiting.exception(), asyncio.CancelledError)
    await budget.close()  # twice is fine
