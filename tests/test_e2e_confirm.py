"""End to end: a broadcast that asks for confirmation. The admin turns it on in the /siaran
preview; recipients get "✅ Sudah saya laksanakan"; /konfirmasi shows who confirmed per OPD;
those who have not are reminded through the outbox (after CONFIRM_REMIND_HOURS); the list
exports as XLSX with local times."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from bot.outbox.models import BroadcastConfirmation, OutboxMessage
from tests.conftest import ADMIN_ID, Harness, buttons_of, make_settings, message_id_of
from tests.outbox_helpers import add_users


@pytest.fixture
async def h(fake, db_url):
    harness = Harness(fake, make_settings(fake, db_url, timezone="Asia/Makassar"))
    await harness.start()
    yield harness
    await harness.stop()


async def _people(h, n, start, opd):
    rows = await add_users(h.core.db, n, start=start, opd=opd)
    for _, chat in rows:
        h.fake.user(chat)
    return [chat for _, chat in rows]


async def _wait_sent(h, mid, n, seconds=15.0):
    for _ in range(int(seconds / 0.05)):
        p = await h.core.outbox.get(mid)
        if p.sent >= n and p.pending == 0:
            return p
        await asyncio.sleep(0.05)
    raise AssertionError(f"broadcast {mid} not drained")


async def _confirmation_broadcast(h, text="Wajib ganti sandi akun dinas hari ini"):
    h.fake.user(ADMIN_ID, "Dewi")
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")
    await h.say(ADMIN_ID, "/siaran")
    audience = await h.say(ADMIN_ID, text)
    mid = int(next(d for _, d in buttons_of(audience) if d.startswith("bc:all:")).split(":")[2])
    mark = h.fake.mark()
    await h.press(ADMIN_ID, message_id_of(audience), f"bc:all:{mid}")
    summary = await h.fake.wait_for(
        "sendMessage", chat_id=ADMIN_ID, after=mark, predicate=lambda c: "Pratinjau" in c.text
    )
    assert ("☑️ Minta konfirmasi penerima", f"bc:cf:{mid}") in buttons_of(summary)
    on = await h.press(ADMIN_ID, message_id_of(summary), f"bc:cf:{mid}", method="editMessageText")
    assert "Minta konfirmasi" in on.text and f"/konfirmasi {mid}" in on.text
    assert any(d == f"bc:cf:{mid}" and "aktif" in t for t, d in buttons_of(on))
    await h.press(ADMIN_ID, message_id_of(on), f"bc:go:{mid}")
    return mid


async def test_recipients_confirm_once_and_admin_sees_per_opd(h):
    dinkes = await _people(h, 3, 7101, "dinas-kesehatan")
    dispar = await _people(h, 2, 7201, "dinas-pariwisata")
    mid = await _confirmation_broadcast(h)
    await _wait_sent(h, mid, 6)
    got = await h.fake.wait_for("sendMessage", chat_id=dinkes[0], predicate=lambda c: c.ok)
    assert ("✅ Sudah saya laksanakan", f"cf:{mid}") in buttons_of(got)
    # two recipients confirm; one presses twice; it counts once
    for chat in (dinkes[0], dinkes[0], dispar[1]):
        msg = [c for c in h.fake.calls_of("sendMessage", chat) if c.ok][0]
        mark = h.fake.mark()
        h.fake.press_button(chat, message_id_of(msg), f"cf:{mid}")
        await h.fake.wait_for("answerCallbackQuery", after=mark)
    answers = [c.params.get("text") for c in h.fake.calls if c.method == "answerCallbackQuery"]
    assert answers[-3:] == [
        "Terima kasih, konfirmasi Anda tercatat.",
        "Konfirmasi Anda sudah tercatat sebelumnya.",
        "Terima kasih, konfirmasi Anda tercatat.",
    ]
    async with h.core.db.session() as s:
        n = await s.scalar(select(func.count(BroadcastConfirmation.id)))
    assert n == 2
    # a tampered button on someone who never received it is refused
    h.fake.user(9999)
    await h.core.users.register(9999, 9999, "Asing")
    other = await h.say(9999, "/bantuan")
    mark = h.fake.mark()
    h.fake.press_button(9999, message_id_of(other), f"cf:{mid}")
    ans = await h.fake.wait_for("answerCallbackQuery", after=mark)
    assert "tidak berlaku" in ans.params.get("text", "")
    # the admin's view, per OPD
    listing = await h.say(ADMIN_ID, "/konfirmasi", method="sendMessage")
    assert (f"#{mid} · 2/6", f"cfa:v:{mid}") in buttons_of(listing)
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(listing), f"cfa:v:{mid}")
    view = await h.fake.wait_for(
        "editMessageText", after=mark, predicate=lambda c: "Konfirmasi siaran" in c.text
    )
    assert "<b>2</b> dari 6" in view.text
    assert "1/3 · Dinas Kesehatan" in view.text and "1/2 · Dinas Pariwisata" in view.text
    assert "0/1 · (OPD belum diisi)" in view.text  # the admin
    # not yet 3 hours: no reminder button
    assert not [d for _, d in buttons_of(view) if d.startswith("cfa:r:")]
    # staff cannot see it
    refused = await h.say(dinkes[1], "/konfirmasi")
    assert "hanya untuk admin" in refused.text


async def test_remind_those_who_have_not_confirmed_and_export(h):
    dinkes = await _people(h, 3, 7301, "dinas-kesehatan")
    mid = await _confirmation_broadcast(h, "Isi laporan bulanan <b>hari ini</b>")
    await _wait_sent(h, mid, 4)
    msg = [c for c in h.fake.calls_of("sendMessage", dinkes[0]) if c.ok][0]
    mark = h.fake.mark()
    h.fake.press_button(dinkes[0], message_id_of(msg), f"cf:{mid}")
    await h.fake.wait_for("answerCallbackQuery", after=mark)
    # four hours later
    async with h.core.db.session() as s:
        started = await s.scalar(select(OutboxMessage.started_at).where(OutboxMessage.id == mid))
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == mid)
            .values(started_at=started - timedelta(hours=4))
        )
    view = await h.say(ADMIN_ID, f"/konfirmasi {mid}")
    remind = next(d for t, d in buttons_of(view) if d == f"cfa:r:{mid}")
    assert ("🔔 Ingatkan yang belum (3)", remind) in buttons_of(view)
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(view), remind)
    h.fake.press_button(ADMIN_ID, message_id_of(view), remind)  # a double tap
    for chat in dinkes[1:]:
        r = await h.fake.wait_for(
            "sendMessage", chat_id=chat, after=mark, predicate=lambda c: "Pengingat" in c.text
        )
        assert "Isi laporan bulanan" in r.text
        assert ("✅ Sudah saya laksanakan", f"cf:{mid}") in buttons_of(r)
    await h.fake.wait_idle()
    # the one who confirmed is not reminded; nobody twice
    assert not [c for c in h.fake.calls_of("sendMessage", dinkes[0])[1:] if "Pengingat" in c.text]
    for chat in dinkes[1:]:
        assert len([c for c in h.fake.calls_of("sendMessage", chat) if "Pengingat" in c.text]) == 1
    # confirming from the reminder counts for the broadcast
    r = [c for c in h.fake.calls_of("sendMessage", dinkes[1]) if "Pengingat" in c.text][0]
    mark = h.fake.mark()
    h.fake.press_button(dinkes[1], message_id_of(r), f"cf:{mid}")
    await h.fake.wait_for("answerCallbackQuery", after=mark)
    report = await h.core.confirm.report(mid)
    assert report.confirmed == 2 and report.reminders == 1
    # XLSX with local (WITA) times
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(view), f"cfa:x:{mid}")
    doc = await h.fake.wait_for("sendDocument", chat_id=ADMIN_ID, after=mark)
    assert doc.params["document"]["filename"] == f"konfirmasi-siaran-{mid}.xlsx"
    data = await h.core.confirm.export_xlsx(mid, "Asia/Makassar")
    ws = load_workbook(io.BytesIO(data))["Konfirmasi"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][4] == "Waktu konfirmasi (Asia/Makassar)"
    status = sorted(r[3] for r in rows[1:])
    assert status == ["Belum", "Belum", "Sudah", "Sudah"]
    confirmed = [r for r in rows[1:] if r[3] == "Sudah"]
    async with h.core.db.session() as s:
        first = await s.scalar(select(func.min(BroadcastConfirmation.confirmed_at)))
    local = first.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Makassar")).replace(tzinfo=None)
    assert min(r[4] for r in confirmed).replace(microsecond=0) == local.replace(microsecond=0)


async def test_an_open_view_updates_live_as_recipients_confirm(h):
    people = await _people(h, 4, 7401, "dinas-sosial")
    mid = await _confirmation_broadcast(h)
    await _wait_sent(h, mid, 5)
    # the view is a new message (the broadcast's own status message may be edited meanwhile)
    view = await h.say(ADMIN_ID, f"/konfirmasi {mid}", method="sendMessage")
    assert "<b>0</b> dari 5" in view.text
    mark = h.fake.mark()
    for chat in people[:3]:  # a burst: the view is updated once it settles, not per press
        msg = [c for c in h.fake.calls_of("sendMessage", chat) if c.ok][0]
        h.fake.press_button(chat, message_id_of(msg), f"cf:{mid}")
    live = await h.fake.wait_for(
        "editMessageText",
        chat_id=ADMIN_ID,
        after=mark,
        predicate=lambda c: "<b>3</b> dari 5" in c.text,
        timeout=20,
    )
    assert int(live.params["message_id"]) == message_id_of(view)
    assert "3/4 · Dinas Sosial" in live.text
    edits = [
        c
        for c in h.fake.calls[mark:]
        if c.method == "editMessageText" and "Konfirmasi siaran" in c.text
    ]
    assert len(edits) <= 2
