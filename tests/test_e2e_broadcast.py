"""End to end through the fake Bot API: /siaran (compose, audience, preview, confirm, live
progress, cancel, schedule, history), 403 -> inactive, 429 -> retried once, 400 -> failed,
crash recovery by lease expiry, restart mid-broadcast, refusal for non-admins, and two
processes on one PostgreSQL never sending a delivery twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.accounts.models import User
from bot.outbox.models import Delivery, OutboxMessage
from tests.conftest import ADMIN_ID, PG_URL, buttons_of, make_settings, message_id_of
from tests.outbox_helpers import FakeTransport, add_users

WIB = ZoneInfo("Asia/Jakarta")


async def _admin(h) -> None:
    h.fake.user(ADMIN_ID, "Dewi")
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")


async def _people(h, n, start, **kw) -> list[int]:
    rows = await add_users(h.core.db, n, start=start, **kw)
    for _, chat in rows:
        h.fake.user(chat)
    return [chat for _, chat in rows]


def _data(call, prefix: str) -> str:
    found = [d for _, d in buttons_of(call) if d.startswith(prefix)]
    assert found, f"no button {prefix}* in {buttons_of(call)}"
    return found[0]


async def _received(h, chat_id, predicate=None, after=0):
    return await h.fake.wait_for(
        "sendMessage",
        chat_id=chat_id,
        after=after,
        predicate=lambda c: c.ok and (predicate is None or predicate(c)),
    )


async def _compose(h, text="Rapat koordinasi <admin> Jumat 09.00"):
    """/siaran, then the message: returns (audience question call, broadcast id)."""
    prompt = await h.say(ADMIN_ID, "/siaran")
    assert "Siaran baru" in prompt.text
    audience = await h.say(ADMIN_ID, text)
    mid = int(_data(audience, "bc:all:").split(":")[2])
    return audience, mid


async def _preview_all(h, audience, mid):
    mark = h.fake.mark()
    await h.press(ADMIN_ID, message_id_of(audience), f"bc:all:{mid}")
    return await h.fake.wait_for(
        "sendMessage", chat_id=ADMIN_ID, after=mark, predicate=lambda c: "Pratinjau" in c.text
    )


async def _wait_done(h, mid, seconds=10.0):
    for _ in range(int(seconds / 0.05)):
        p = await h.core.outbox.get(mid)
        if p.pending == 0:
            return p
        await asyncio.sleep(0.05)
    raise AssertionError(f"broadcast {mid} not drained: {p}")


async def test_compose_preview_confirm_progress_and_report(harness):
    h = harness
    await _admin(h)
    people = await _people(h, 5, start=7001)
    audience, mid = await _compose(h)
    assert "Semua pengguna aktif (6)" in [t for t, _ in buttons_of(audience)][0]
    mark = h.fake.mark()
    summary = await _preview_all(h, audience, mid)
    # The preview is exactly what recipients get, sent just before the summary.
    preview = [
        c for c in h.fake.calls_of("sendMessage", ADMIN_ID)[-3:] if "Rapat koordinasi" in c.text
    ][-1]
    assert h.fake.calls.index(preview) >= mark
    assert preview.text == "Rapat koordinasi &lt;admin&gt; Jumat 09.00"
    assert "<b>6</b> orang" in summary.text
    assert (await h.core.outbox.get(mid)).status == "draft"  # nothing queued before confirming
    progress = await h.press(ADMIN_ID, message_id_of(summary), f"bc:go:{mid}")
    assert progress.method == "editMessageText"
    assert "Siaran #" in progress.text and "%" in progress.text
    for chat in people:
        got = await _received(h, chat, lambda c: "Rapat koordinasi" in c.text)
        assert got.text == preview.text
    p = await _wait_done(h, mid)
    assert (p.total, p.sent, p.blocked, p.failed) == (6, 6, 0, 0)
    await h.core.background.reporter.tick()
    # the final report (a periodic progress edit may land after it, so not simply the last)
    report = await h.fake.wait_for(
        "editMessageText", chat_id=ADMIN_ID, predicate=lambda c: "▓" * 12 in c.text
    )
    assert int(report.params["message_id"]) == message_id_of(summary)
    assert "selesai" in report.text and "▓" * 12 in report.text and "<b>6</b>" in report.text
    assert not buttons_of(report)
    # Each recipient got it exactly once.
    for chat in people:
        assert len([c for c in h.fake.calls_of("sendMessage", chat) if c.ok]) == 1
    # History lists it with its report.
    prompt = await h.say(ADMIN_ID, "/siaran")
    history = await h.press(ADMIN_ID, message_id_of(prompt), "bc:list")
    assert f"#{mid}" in history.text and "Terkirim 6/6" in history.text
    await h.core.users.set_pending(ADMIN_ID, None)


async def test_media_broadcast_is_copied_and_opd_audience_is_picked(harness):
    h = harness
    await _admin(h)
    opds = await h.core.users.list_opds()
    a, b = opds[0], opds[1]
    in_a = await _people(h, 2, start=7101, opd=a.slug)
    in_b = await _people(h, 1, start=7111, opd=b.slug)
    others = await _people(h, 2, start=7121)
    await h.say(ADMIN_ID, "/siaran")
    mark = h.fake.mark()
    h.fake.send_media(ADMIN_ID, "photo", caption="Poster Harkitnas")
    audience = await h.next_call(ADMIN_ID, after=mark)
    mid = int(_data(audience, "bc:opd:").split(":")[2])
    page = await h.press(ADMIN_ID, message_id_of(audience), f"bc:opd:{mid}:0")
    assert "Pilih OPD" in page.text
    labels = dict((d, t) for t, d in buttons_of(page))
    assert (
        labels[f"bc:t:{mid}:{a.id}:0"].startswith("⬜") and "(2)" in labels[f"bc:t:{mid}:{a.id}:0"]
    )
    # Done with nothing chosen: refused with a short alert, nothing changes.
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(page), f"bc:done:{mid}")
    alert = await h.callback_answer(mark)
    assert "minimal satu OPD" in alert.params["text"]
    for opd in (a, b):
        page = await h.press(ADMIN_ID, message_id_of(page), f"bc:t:{mid}:{opd.id}:0")
    assert "☑️" in dict((d, t) for t, d in buttons_of(page))[f"bc:t:{mid}:{b.id}:0"]
    assert "<b>3</b> orang" in page.text
    # Tampered data (an OPD that does not exist) changes nothing.
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(page), f"bc:t:{mid}:999999:0")
    assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"]
    mark = h.fake.mark()
    await h.press(ADMIN_ID, message_id_of(page), f"bc:done:{mid}")
    summary = await h.fake.wait_for(
        "sendMessage", chat_id=ADMIN_ID, after=mark, predicate=lambda c: "Pratinjau" in c.text
    )
    preview = await h.fake.wait_for("copyMessage", chat_id=ADMIN_ID, after=mark)
    assert preview.ok and "<b>3</b> orang" in summary.text and a.name in summary.text
    assert "jangan hapus pesan aslinya" in summary.text
    await h.press(ADMIN_ID, message_id_of(summary), f"bc:go:{mid}")
    for chat in in_a + in_b:
        copy = await h.fake.wait_for("copyMessage", chat_id=chat)
        assert copy.ok and copy.params["from_chat_id"] == ADMIN_ID
        assert h.fake.message(chat, copy.result["message_id"])["caption"] == "Poster Harkitnas"
    await _wait_done(h, mid)
    for chat in others:
        assert not h.fake.calls_of("copyMessage", chat)


async def test_cancel_a_running_broadcast(harness):
    h = harness
    await _admin(h)
    people = await _people(h, 8, start=7201)
    bucket = h.core.background.sender.bucket
    bucket.hold(60)  # hold the sender so the cancel happens before anything is sent
    audience, mid = await _compose(h, "Akan dihentikan")
    summary = await _preview_all(h, audience, mid)
    progress = await h.press(ADMIN_ID, message_id_of(summary), f"bc:go:{mid}")
    stop = _data(progress, "bc:stop:")
    report = await h.press(ADMIN_ID, message_id_of(progress), stop)
    assert "dibatalkan" in report.text and "Tidak jadi dikirim: 9" in report.text
    bucket.hold(0)
    await asyncio.sleep(0.3)
    p = await h.core.outbox.get(mid)
    assert (p.status, p.sent, p.cancelled) == ("cancelled", 0, 9)
    for chat in people:
        assert not [c for c in h.fake.calls_of("sendMessage", chat) if "dihentikan" in c.text]
    # Pressing stop again: stale, politely answered.
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(progress), stop)
    assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"]


async def test_schedule_a_broadcast_then_it_starts_on_time_or_is_cancelled(harness):
    h = harness
    await _admin(h)
    await h.core.users.set_timezone(ADMIN_ID, "Asia/Jakarta")  # chose WIB in /profil
    people = await _people(h, 3, start=7301)
    audience, mid = await _compose(h, "Terjadwal untuk besok")
    summary = await _preview_all(h, audience, mid)
    ask = await h.press(ADMIN_ID, message_id_of(summary), f"bc:sch:{mid}")
    assert "Kapan siaran ini dikirim" in ask.text and "WIB" in ask.text
    bad = await h.say(ADMIN_ID, "setiap senin jam 8")
    assert "sekali" in bad.text
    past = await h.say(ADMIN_ID, "2020-01-01 08:00")
    assert "sudah lewat" in past.text
    done = await h.say(ADMIN_ID, "besok jam 08.00")
    assert "terjadwal" in done.text and "08.00 WIB" in done.text
    p = await h.core.outbox.get(mid)
    tomorrow = (datetime.now(WIB) + timedelta(days=1)).date()
    assert p.status == "scheduled"
    assert p.scheduled_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, tzinfo=WIB)
    sched = h.core.background.scheduler
    await sched.settle()
    assert f"broadcast:{mid}" in sched.job_ids()
    assert sched.next_run(f"broadcast:{mid}") == p.scheduled_at
    # The time comes (the clock is injected rather than waited for).
    assert await h.core.schedules.fire_broadcast(mid, p.scheduled_at) == "started"
    for chat in people:
        await _received(h, chat, lambda c: "Terjadwal untuk besok" in c.text)
    await _wait_done(h, mid)
    await h.core.background.reporter.tick()
    # the confirmation message becomes the report (other edits may arrive around it)
    await h.fake.wait_for(
        "editMessageText",
        chat_id=ADMIN_ID,
        predicate=lambda c: (
            int(c.params["message_id"]) == message_id_of(done) and "selesai" in c.text
        ),
    )
    # A second scheduled one is cancelled from its confirmation message.
    audience, mid2 = await _compose(h, "Tidak jadi")
    summary = await _preview_all(h, audience, mid2)
    await h.press(ADMIN_ID, message_id_of(summary), f"bc:sch:{mid2}")
    done2 = await h.say(ADMIN_ID, "27/12 jam 09.00")
    report = await h.press(ADMIN_ID, message_id_of(done2), f"bc:unsch:{mid2}")
    assert "dibatalkan" in report.text
    await sched.settle()
    assert f"broadcast:{mid2}" not in sched.job_ids()
    assert (await h.core.outbox.get(mid2)).status == "cancelled"


async def test_403_marks_inactive_429_is_retried_400_fails_with_reason(harness):
    h = harness
    await _admin(h)
    blocked, limited, fine = await _people(h, 3, start=7401)
    unknown = (await add_users(h.core.db, 1, start=7499))[0][1]  # the fake never saw this chat
    h.fake.block(blocked)
    h.fake.fail(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=limited,
    )
    mid, total = await h.core.outbox.broadcast_now("Uji kegagalan")
    assert total == 5
    p = await _wait_done(h, mid)
    assert (p.sent, p.blocked, p.failed) == (3, 1, 1)
    calls = h.fake.calls_of("sendMessage", limited)
    assert [c.status for c in calls] == [429, 200]  # paused, then the same row once more
    assert len(h.fake.calls_of("sendMessage", blocked)) == 1  # never retried
    async with h.core.db.session() as s:
        user = await s.scalar(select(User).where(User.chat_id == blocked))
        errors = dict(
            (
                await s.execute(
                    select(Delivery.chat_id, Delivery.error).where(Delivery.message_id == mid)
                )
            ).all()
        )
    assert user.is_active is False
    assert "chat not found" in errors[unknown].lower()
    # Inactive users are left out of the next broadcast ...
    _, total2 = await h.core.outbox.broadcast_now("Berikutnya")
    assert total2 == 4
    # ... until they write to the bot again.
    h.fake.unblock(blocked)
    await h.say(blocked, "/bantuan")
    assert (await h.core.users.get(blocked)).is_active


async def test_crash_recovery_lease_expiry_and_restart_lose_nothing(harness):
    h = harness
    await _admin(h)
    people = await _people(h, 12, start=7501)
    sender = h.core.background.sender
    sender.bucket.pause(60)
    mid, _ = await h.core.outbox.broadcast_now("Tahan banting")
    # A process that died mid-batch: 4 rows leased to it, never recorded.
    dead = await h.core.outbox.claim("dead-process", 4, lease_seconds=1)
    assert len(dead) == 4
    # Our own process is restarted while its sender holds rows (they are given back).
    await h.restart()
    await asyncio.sleep(1.1)  # the dead process's lease runs out
    p = await _wait_done(h, mid)
    assert p.sent == 13
    for chat in people + [ADMIN_ID]:
        got = [c for c in h.fake.calls_of("sendMessage", chat) if "Tahan banting" in c.text]
        assert len(got) == 1, chat


async def test_non_admins_are_refused_and_nothing_is_queued(harness):
    h = harness
    await _admin(h)
    await _people(h, 1, start=7601)
    refused = await h.say(7601, "/siaran")
    assert "hanya untuk admin" in refused.text
    audience, mid = await _compose(h, "Milik admin")
    # A non-admin pressing a broadcast button (forged on their own message) is refused.
    own = await h.say(7601, "/bantuan")
    mark = h.fake.mark()
    h.fake.press_button(7601, message_id_of(own), f"bc:go:{mid}")
    alert = await h.callback_answer(mark)
    assert "hanya untuk admin" in alert.params["text"].lower()
    async with h.core.db.session() as s:
        assert await s.scalar(select(func.count(Delivery.id))) == 0
        assert await s.scalar(select(OutboxMessage.status).where(OutboxMessage.id == mid)) == (
            "draft"
        )


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
async def test_two_processes_on_one_postgres_never_send_twice(fake, db_url):
    from bot.core import Core

    settings = make_settings(fake, db_url, broadcast_rate=30)
    cores = [await Core.create(settings, migrate=False) for _ in range(2)]
    transports = [FakeTransport(), FakeTransport()]
    try:
        for core, t in zip(cores, transports, strict=True):
            core.background.lead_retry = 0.2
            await core.start_background(t)
        leaders = [c.background.is_leader for c in cores]
        assert sorted(leaders) == [False, True]
        first = leaders.index(True)
        await add_users(cores[0].db, 40, start=7701)
        mid, _ = await cores[1 - first].outbox.broadcast_now("Bagian satu")
        for _ in range(200):
            if (await cores[0].outbox.get(mid)).pending == 0:
                break
            await asyncio.sleep(0.05)
        # The leader dies; the standby takes over and sends the rest.
        await cores[first].stop_background()
        mid2, _ = await cores[first].outbox.broadcast_now("Bagian dua")
        for _ in range(200):
            if (await cores[0].outbox.get(mid2)).pending == 0:
                break
            await asyncio.sleep(0.05)
        assert cores[1 - first].background.is_leader
        sent = [m.chat_id for t in transports for m in t.sent]
        assert len(sent) == 80 and len(set(sent)) == 40
        assert len(transports[first].sent) == 40 and len(transports[1 - first].sent) == 40
    finally:
        for core in cores:
            await core.stop_background()
            await core.close()


async def test_tampered_ids_too_big_or_not_ascii_are_answered_politely(harness):
    h = harness
    await _admin(h)
    audience, mid = await _compose(h, "Tetap draf")
    for data in (
        "bc:go:99999999999999999999",  # does not fit a database id
        "bc:stop:99999999999999999999",
        f"bc:t:{mid}:99999999999999999999:0",
        "bc:go:²",  # a digit for str.isdigit(), not for int()
        "bc:go:١",
    ):
        mark = h.fake.mark()
        h.fake.press_button(ADMIN_ID, message_id_of(audience), data)
        assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"], data
    assert (await h.core.outbox.get(mid)).status == "draft"
    await h.core.users.set_pending(ADMIN_ID, None)
