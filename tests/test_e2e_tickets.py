"""End to end: the helpdesk desk. Handoffs become tickets; /tiket lists them; admins claim,
answer (reply or /jawab), hand over and close; two admins cannot answer the same ticket; the
asker continues the thread; the daily digest goes out once; everything survives a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.outbox.models import Delivery, OutboxMessage
from bot.tickets.digest import queue_digest
from bot.tickets.models import Ticket, TicketMessage
from tests.conftest import ADMIN_ID, buttons_of, helpdesk_bot, message_id_of

USER = 501
ADMIN2 = 1001
HELPDESK = -100777


async def _register(h, user_id=USER, name="Komang"):
    await h.register(user_id, name)


@pytest.fixture
async def desk(fake, db_url):
    async with helpdesk_bot(fake, db_url, HELPDESK, admin_ids=f"{ADMIN_ID},{ADMIN2}") as h:
        yield h


async def _ticket(h, question="cara perpanjang SIM", user_id=USER):
    """Ask something the KB does not cover and hand it to the helpdesk; returns the card."""
    ans = await h.say(user_id, question)
    data = next(d for _, d in buttons_of(ans) if d.startswith("kb:h:"))
    mark = h.fake.mark()
    h.fake.press_button(user_id, message_id_of(ans), data)
    card = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    sent = await h.next_call(user_id, after=mark, method="editMessageText")
    return card, sent


async def _tickets(h):
    async with h.core.db.session() as s:
        return (await s.scalars(select(Ticket).order_by(Ticket.id))).all()


async def test_handoff_becomes_a_ticket_listed_oldest_first(desk):
    h = desk
    await _register(h)
    await _register(h, ADMIN_ID, "Admin Satu")
    card, sent = await _ticket(h, "cara perpanjang SIM <b>C</b>")
    assert "Tiket #1" in card.params["text"]
    assert "perpanjang SIM &lt;b&gt;C&lt;/b&gt;" in card.params["text"]
    assert "tiket #1" in sent.params["text"]
    assert {d for _, d in buttons_of(card)} >= {"tk:c:1", "tk:h:1", "tk:x:1"}
    await _ticket(h, "harga cabai hari ini berapa")
    # staff cannot see the desk
    refused = await h.say(USER, "/tiket")
    assert "admin" in refused.params["text"].lower()
    listing = await h.say(ADMIN_ID, "/tiket")
    text = listing.params["text"]
    assert "Tiket terbuka: 2" in text
    assert text.index("#1") < text.index("#2")
    assert "menit" in text
    assert ("#1", "tk:o:1") in buttons_of(listing)
    # the same list in the helpdesk chat, for anyone there
    mark = h.fake.mark()
    h.fake.send_message(4242, "/tiket", chat_id=HELPDESK, chat_type="supergroup")
    there = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    assert "Tiket terbuka: 2" in there.params["text"]


async def test_two_admins_cannot_answer_the_same_ticket(desk):
    h = desk
    await _register(h)
    await _register(h, ADMIN_ID, "Admin Satu")
    await _register(h, ADMIN2, "Admin Dua")
    card, _ = await _ticket(h)
    # both press "Ambil" at once: exactly one wins
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(card), "tk:c:1", chat_id=HELPDESK)
    h.fake.press_button(ADMIN2, message_id_of(card), "tk:c:1", chat_id=HELPDESK)
    answers: list = []
    for _ in range(1000):  # both presses answered (a loaded machine may be slow)
        answers = [c for c in h.fake.calls[mark:] if c.method == "answerCallbackQuery"]
        if len(answers) >= 2:
            break
        await asyncio.sleep(0.01)
    texts = sorted(c.params.get("text", "") for c in answers)
    assert texts == ["Tiket ini sedang ditangani admin lain.", "Tiket ini sekarang Anda tangani."]
    (t,) = await _tickets(h)
    assert t.claimed_by in (ADMIN_ID, ADMIN2)
    winner, loser = (ADMIN_ID, ADMIN2) if t.claimed_by == ADMIN_ID else (ADMIN2, ADMIN_ID)
    # the other admin's answer is refused and never reaches the asker
    mark = h.fake.mark()
    held = await h.say(loser, "/jawab 1 Silakan ke Polres")
    assert "sedang ditangani" in held.params["text"]
    assert not [c for c in h.fake.calls[mark:] if c.params.get("chat_id") == USER]
    # the holder answers with /jawab: the asker gets it with a follow-up button
    mark = h.fake.mark()
    h.fake.send_message(winner, "/jawab 1 Silakan ke Satpas <i>Polres</i>")
    back = await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    assert "Pertanyaan #1 sudah dijawab" in back.params["text"]
    assert "Satpas &lt;i&gt;Polres&lt;/i&gt;" in back.params["text"]
    assert ("↩️ Tanya lanjutan", "tka:f:1") in buttons_of(back)
    done = await h.next_call(winner, after=mark)
    assert "sudah diteruskan" in done.params["text"]
    (t,) = await _tickets(h)
    assert t.status == "answered"


async def test_asker_continues_the_thread_and_admin_closes(desk):
    h = desk
    await _register(h)
    card, _ = await _ticket(h)
    mark = h.fake.mark()
    h.fake.send_message(
        ADMIN_ID,
        "Bawa KTP ke Satpas.",
        chat_id=HELPDESK,
        chat_type="supergroup",
        reply_to_message_id=message_id_of(card),
    )
    back = await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    await h.fake.wait_for(
        "sendMessage",
        chat_id=HELPDESK,
        after=mark,
        predicate=lambda c: "diteruskan" in c.params["text"],
    )
    # the asker replies to the answer: it goes back to the helpdesk as a follow-up
    mark = h.fake.mark()
    h.fake.send_message(USER, "kalau SIM <hilang>?", reply_to_message_id=message_id_of(back))
    fwd = await h.fake.wait_for(
        "sendMessage",
        chat_id=HELPDESK,
        after=mark,
        predicate=lambda c: "Lanjutan" in c.params["text"],
    )
    assert "Lanjutan tiket #1" in fwd.params["text"]
    assert "SIM &lt;hilang&gt;?" in fwd.params["text"]
    ok = await h.next_call(USER, after=mark)
    assert "ditambahkan ke <b>tiket #1</b>" in ok.params["text"]
    (t,) = await _tickets(h)
    assert t.status == "open"
    # the admin answers the follow-up by replying to it
    mark = h.fake.mark()
    h.fake.send_message(
        ADMIN_ID,
        "Urus surat kehilangan dulu.",
        chat_id=HELPDESK,
        chat_type="supergroup",
        reply_to_message_id=message_id_of(fwd),
    )
    again = await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    await h.fake.wait_idle()
    assert "surat kehilangan" in again.params["text"]
    # the follow-up button works too
    mark = h.fake.mark()
    prompt = await h.press(USER, message_id_of(again), "tka:f:1", method="sendMessage")
    assert "pesan lanjutan" in prompt.params["text"]
    h.fake.send_message(USER, "terima kasih, sudah jelas")
    await h.fake.wait_for(
        "sendMessage",
        chat_id=HELPDESK,
        after=mark,
        predicate=lambda c: "sudah jelas" in c.params["text"],
    )
    await h.fake.wait_idle()
    async with h.core.db.session() as s:
        msgs = (await s.scalars(select(TicketMessage).order_by(TicketMessage.id))).all()
    assert [m.direction for m in msgs] == ["in", "out", "in", "out", "in"]
    # closing tells the asker; the card loses its buttons
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(card), "tk:x:1", chat_id=HELPDESK)
    told = await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    assert "ditutup" in told.params["text"]
    (t,) = await _tickets(h)
    assert t.status == "closed" and t.closed_at is not None
    late = await h.say(ADMIN_ID, "/jawab 1 satu lagi")
    assert "sudah ditutup" in late.params["text"]


async def test_hand_over_to_another_admin_survives_a_restart(desk):
    h = desk
    await _register(h)
    await _register(h, ADMIN_ID, "Admin Satu")
    await _register(h, ADMIN2, "Admin Dua")
    card, _ = await _ticket(h)
    await h.press(ADMIN_ID, message_id_of(card), "tk:c:1", chat_id=HELPDESK)
    menu = await h.press(
        ADMIN_ID, message_id_of(card), "tk:h:1", chat_id=HELPDESK, method="editMessageText"
    )
    assert (("Admin Dua", f"tk:g:1:{ADMIN2}")) in buttons_of(menu)
    await h.restart()
    mark = h.fake.mark()
    h.fake.press_button(ADMIN_ID, message_id_of(card), f"tk:g:1:{ADMIN2}", chat_id=HELPDESK)
    # (other messages may reach the admin after a restart, e.g. the calendar's monthly notice)
    note = await h.fake.wait_for(
        "sendMessage",
        chat_id=ADMIN2,
        after=mark,
        predicate=lambda c: "dialihkan kepada Anda" in c.params.get("text", ""),
    )
    assert note.ok
    (t,) = await _tickets(h)
    assert t.claimed_by == ADMIN2 and t.claimed_name == "Admin Dua"
    # now the first admin can no longer answer it
    refused = await h.say(ADMIN_ID, "/jawab 1 coba")
    assert "sedang ditangani Admin Dua" in refused.params["text"]


async def test_jawab_usage_and_unknown_ticket(desk):
    h = desk
    await _register(h, ADMIN_ID, "Admin Satu")
    usage = await h.say(ADMIN_ID, "/jawab")
    assert "/jawab NOMOR" in usage.params["text"]
    missing = await h.say(ADMIN_ID, "/jawab 99 halo")
    assert "tidak ditemukan" in missing.params["text"]


async def test_daily_digest_once_per_day_to_admins(desk):
    h = desk
    await _register(h)
    await _register(h, ADMIN_ID, "Admin Satu")
    await _register(h, ADMIN2, "Admin Dua")
    await _ticket(h, "cara perpanjang SIM")
    await _ticket(h, "harga cabai hari ini berapa")
    now = datetime.now(UTC).replace(hour=5, minute=0, second=0)  # 12.00 WIB
    async with h.core.db.session() as s:
        await s.execute(
            update(Ticket).where(Ticket.id == 1).values(created_at=now - timedelta(hours=30))
        )
        await s.execute(
            update(Ticket).where(Ticket.id == 2).values(created_at=now - timedelta(hours=1))
        )
    assert await queue_digest(h.core, now) == 2
    assert await queue_digest(h.core, now + timedelta(hours=2)) == 0  # once a day
    async with h.core.db.session() as s:
        msg = (
            await s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("tickets:%")))
        ).one()
        chats = sorted((await s.scalars(select(Delivery.chat_id))).all())
    assert "#1" in msg.text and "#2" not in msg.text
    assert chats == sorted([ADMIN_ID, ADMIN2])
    got = await h.fake.wait_for(
        "sendMessage", chat_id=ADMIN2, predicate=lambda c: "24 jam" in c.params["text"]
    )
    assert "perpanjang SIM" in got.params["text"]
    # before 08.00 local time nothing goes out
    early = now.replace(hour=22)  # 05.00 WIB the next day
    assert await queue_digest(h.core, early) == 0


async def test_hapusdata_scrubs_ticket_texts(desk):
    h = desk
    await _register(h)
    card, _ = await _ticket(h, "cara perpanjang SIM rahasia-xyz")
    mark = h.fake.mark()
    h.fake.send_message(
        ADMIN_ID,
        "jawaban rahasia-xyz",
        chat_id=HELPDESK,
        chat_type="supergroup",
        reply_to_message_id=message_id_of(card),
    )
    await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    assert await h.core.delete_personal_data(USER)
    (t,) = await _tickets(h)
    assert "rahasia" not in t.question and t.user_id is None and t.asker_name is None
    async with h.core.db.session() as s:
        texts = (await s.scalars(select(TicketMessage.text))).all()
    assert texts and all("rahasia" not in x for x in texts)


async def test_only_the_leader_queues_the_digest(desk):
    """The digest job runs in every process; a process that does not lead queues nothing (on
    PostgreSQL a second process is a standby; on SQLite one whose background is not started)."""
    from bot.core import Core
    from tests.conftest import PG_URL
    from tests.outbox_helpers import FakeTransport

    h = desk
    await _register(h)
    await _register(h, ADMIN_ID, "Admin Satu")
    await _ticket(h, "cara perpanjang SIM")
    now = datetime.now(UTC).replace(hour=5, minute=0, second=0)  # 12.00 WIB
    async with h.core.db.session() as s:
        await s.execute(update(Ticket).values(created_at=now - timedelta(hours=30)))
    other = await Core.create(h.core.settings, migrate=False)
    try:
        if PG_URL:  # a second process on the same database: a standby
            await other.start_background(FakeTransport())
        assert h.core.background.is_leader and not other.background.is_leader
        assert await queue_digest(other, now) == 0
        async with h.core.db.session() as s:
            digests = select(OutboxMessage).where(OutboxMessage.dedupe_key.like("tickets:%"))
            assert (await s.scalars(digests)).all() == []
        await h.core.stop_background()  # the leader stepped down (a takeover is under way)
        assert await queue_digest(h.core, now) == 0
        await h.core.start_background(h.core.transport)
        assert h.core.background.is_leader
        assert await queue_digest(h.core, now) == 1
        assert await queue_digest(other, now) == 0
    finally:
        await other.stop_background()
        await other.close()
