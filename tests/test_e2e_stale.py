"""Stale buttons: every button of a finished or replaced dialogue answers "Tombol ini sudah
tidak berlaku" and changes nothing - one test per dialogue, pressing the real (tagged) button
data the bot sent."""

from __future__ import annotations

import asyncio

from bot.fakeapi.rules import SEND_METHODS
from tests.conftest import ADMIN_ID, message_id_of, tagged_buttons_of
from tests.test_e2e_broadcast import _admin, _compose, _people, _preview_all
from tests.test_e2e_reminders import USER, _user


def data_of(call, startswith: str) -> str:
    found = [d for _, d in tagged_buttons_of(call) if d.startswith(startswith)]
    assert found, (startswith, tagged_buttons_of(call))
    return found[0]


async def press_stale(h, uid: int, call, startswith: str) -> None:
    """Press an old button: the answer says it no longer applies, nothing is sent or edited."""
    data = data_of(call, startswith)
    assert "~" in data and len(data.encode()) <= 64
    mark = h.fake.mark()
    h.fake.press_button(uid, message_id_of(call), data)
    answer = await h.callback_answer(mark)
    assert "Tombol ini sudah tidak berlaku" in answer.params["text"]
    await asyncio.sleep(0.3)
    sent = [c for c in list(h.fake.calls)[mark:] if c.ok and c.method in SEND_METHODS]
    assert [c for c in sent if c.chat_id == uid] == []


async def test_reminder_creation_cancel_after_saving(harness):
    h = harness
    uid, _ = await _user(h)
    listing = await h.say(USER, "/pengingat")
    ask = await h.press(USER, message_id_of(listing), data_of(listing, "pg:add"))
    await h.say(USER, "setiap senin 08.00")
    await h.say(USER, "Unggah info layanan")
    await press_stale(h, USER, ask, "pg:cancel")  # was: "Baik, dibatalkan" though saved
    assert len(await h.core.schedules.list_reminders(uid)) == 1
    # an older list is replaced by a newer /pengingat
    await h.say(USER, "/pengingat")
    await press_stale(h, USER, listing, "pg:add")


async def test_reminder_deletion_asks_first(harness):
    h = harness
    uid, _ = await _user(h)
    await h.say(USER, "/pengingat setiap senin 08.00: Unggah info layanan")
    listing = await h.say(USER, "/pengingat")
    confirm = await h.press(USER, message_id_of(listing), data_of(listing, "pg:d:"))
    assert "Hapus pengingat ini?" in confirm.text and "Unggah info layanan" in confirm.text
    assert len(await h.core.schedules.list_reminders(uid)) == 1  # one tap deletes nothing
    back = await h.press(USER, message_id_of(confirm), data_of(confirm, "pg:dn"))
    assert "Unggah info layanan" in back.text
    await press_stale(h, USER, confirm, "pg:dy:")  # the answered question
    assert len(await h.core.schedules.list_reminders(uid)) == 1
    confirm = await h.press(USER, message_id_of(back), data_of(back, "pg:d:"))
    gone = await h.press(USER, message_id_of(confirm), data_of(confirm, "pg:dy:"))
    assert "Belum ada pengingat" in gone.text
    assert await h.core.schedules.list_reminders(uid) == []
    await press_stale(h, USER, confirm, "pg:dn")


async def test_tip_schedule_cancel_after_saving(harness):
    h = harness
    h.fake.user(ADMIN_ID, "Dewi")
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")
    page = await h.say(ADMIN_ID, "/langganan")
    ask = await h.press(ADMIN_ID, message_id_of(page), data_of(page, "sub:tsch"))
    saved = await h.say(ADMIN_ID, "setiap kamis 09.00")
    assert "Kamis" in saved.text
    await press_stale(h, ADMIN_ID, ask, "sub:tx")
    cfg = await h.core.schedules.system("tips")
    assert cfg.rule.days == (3,) and not cfg.paused
    # a /langganan screen replaced by a newer one changes nothing
    old = await h.say(ADMIN_ID, "/langganan")
    await h.say(ADMIN_ID, "/langganan")
    before = (await h.core.users.get(ADMIN_ID)).tips_enabled
    await press_stale(h, ADMIN_ID, old, "sub:tips")
    assert (await h.core.users.get(ADMIN_ID)).tips_enabled == before


async def test_siaran_replaced_draft_cannot_be_sent(harness):
    h = harness
    await _admin(h)
    await _people(h, 2, start=7501)
    audience, mid = await _compose(h, "Draf lama")
    summary = await _preview_all(h, audience, mid)
    await h.say(ADMIN_ID, "/siaran")  # a new broadcast replaces the unfinished one
    await press_stale(h, ADMIN_ID, summary, "bc:go:")
    assert (await h.core.outbox.get(mid)).status == "draft"  # never sent
    # a finished one: scheduled, then its old "Batal" from the question
    audience, mid2 = await _compose(h, "Draf baru")
    summary = await _preview_all(h, audience, mid2)
    ask = await h.press(ADMIN_ID, message_id_of(summary), data_of(summary, "bc:sch:"))
    await h.say(ADMIN_ID, "besok jam 08.00")
    await press_stale(h, ADMIN_ID, ask, "bc:x:")
    assert (await h.core.outbox.get(mid2)).status == "scheduled"


async def test_sesi_wizard_cancel_after_creating(harness):
    h = harness
    listing = await h.say(ADMIN_ID, "/sesi")
    first = await h.press(ADMIN_ID, message_id_of(listing), data_of(listing, "fbo:n:"))
    await h.say(ADMIN_ID, "Pelatihan Canva")
    for _ in range(3):
        await h.say(ADMIN_ID, "-")
    prompt = await h.say(ADMIN_ID, "Canva")
    prompt = await h.press(ADMIN_ID, message_id_of(prompt), data_of(prompt, "fbo:w:template:"))
    prompt = await h.press(ADMIN_ID, message_id_of(prompt), data_of(prompt, "fbo:w:anonymous:0"))
    mark = h.fake.mark()
    card = await h.press(ADMIN_ID, message_id_of(prompt), data_of(prompt, "fbo:w:closes:none"))
    assert "Pelatihan Canva" in card.text
    await h.fake.wait_for("sendPhoto", chat_id=ADMIN_ID, after=mark)  # the QR code follows
    await press_stale(h, ADMIN_ID, first, "fbo:w:cancel")
    await press_stale(h, ADMIN_ID, prompt, "fbo:w:closes:none")  # no second session
    assert len(await h.core.feedback.list_sessions(await h.core.feedback.actor(ADMIN_ID))) == 1
    # feedback cards: the list shown before a newer /sesi is replaced
    await h.say(ADMIN_ID, "/sesi")
    await press_stale(h, ADMIN_ID, listing, "fbo:n:")
    assert (await h.core.users.get(ADMIN_ID)).pending is None  # no wizard started


async def test_profil_replaced_screen(harness):
    h = harness
    uid, _ = await _user(h)
    old = await h.say(USER, "/profil")
    await h.say(USER, "/profil")
    await press_stale(h, USER, old, "prof:name")
    assert (await h.core.users.get(USER)).pending is None


def test_callback_data_stays_within_64_bytes():
    from handlers.tokens import tag

    longest = "bc:t:999999999999999999:999999999999999999:99"
    assert len(tag(longest, "b", "AbC123").encode()) <= 64
