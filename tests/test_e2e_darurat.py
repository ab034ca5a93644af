"""End to end: /darurat for a hacked agency account, the checklist files, the incident ticket
and the warning broadcast from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.knowledge.loader import check_knowledge
from bot.outbox.models import OutboxMessage
from bot.tickets.checklists import PLATFORMS, load_checklists
from bot.tickets.models import Ticket
from tests.conftest import (
    ADMIN_ID,
    KNOWLEDGE,
    buttons_of,
    helpdesk_bot,
    message_id_of,
)

USER = 601
OTHER = 602
HELPDESK = -100888


async def _register(h, user_id=USER, name="Wayan"):
    await h.register(user_id, name)


@pytest.fixture
async def desk(fake, db_url):
    async with helpdesk_bot(fake, db_url, HELPDESK) as h:
        yield h


def test_every_platform_has_a_valid_checklist():
    lists = load_checklists(KNOWLEDGE)
    assert list(lists) == list(PLATFORMS)
    for c in lists.values():
        assert c.recovery_url.startswith("https://") and c.sources
        assert len(c.steps) >= 3
    assert not [p for p in check_knowledge(KNOWLEDGE) if "darurat" in p.file]


def test_kb_check_reports_broken_and_missing_checklists(tmp_path: Path):
    root = tmp_path / "k"
    shutil.copytree(KNOWLEDGE, root)
    (root / "darurat" / "x.yaml").unlink()
    data = yaml.safe_load((root / "darurat" / "tiktok.yaml").read_text())
    data["recovery_url"] = "http://tiktok.com"
    data["steps"] = data["steps"][:1]
    (root / "darurat" / "tiktok.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    (root / "darurat" / "friendster.yaml").write_text("platform: friendster\n")
    found = {(Path(p.file).name, p.problem) for p in check_knowledge(root)}
    names = {n for n, _ in found}
    assert {"x.yaml", "tiktok.yaml", "friendster.yaml"} <= names
    tiktok = " ".join(p for n, p in found if n == "tiktok.yaml")
    assert "recovery_url" in tiktok and "steps" in tiktok
    assert set(load_checklists(root)) == set(PLATFORMS) - {"x", "tiktok"}


async def test_darurat_flow_opens_an_urgent_ticket_and_survives_a_restart(desk):
    h = desk
    await _register(h)
    start = await h.say(USER, "/darurat")
    assert "Akun di platform mana?" in start.params["text"]
    assert ("Instagram", "dr:p:instagram") in buttons_of(start)
    sit = await h.press(USER, message_id_of(start), "dr:p:instagram", method="editMessageText")
    assert ("Ada unggahan atau pesan aneh", "dr:s:instagram:posts") in buttons_of(sit)
    ask = await h.press(USER, message_id_of(sit), "dr:s:instagram:posts", method="editMessageText")
    assert "nama akun" in ask.params["text"]
    mark = h.fake.mark()
    h.fake.send_message(USER, "@dinkes.<tabanan>")
    alert = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    assert "INSIDEN #1" in alert.params["text"]
    assert "@dinkes.&lt;tabanan&gt;" in alert.params["text"]
    assert "Ada unggahan atau pesan aneh" in alert.params["text"]
    step1 = await h.fake.wait_for(
        "sendMessage",
        chat_id=USER,
        after=mark,
        predicate=lambda c: "langkah 1 dari" in c.params["text"],
    )
    (t,) = await _tickets(h)
    assert t.kind == "incident" and t.urgent and t.platform == "instagram"
    # step 1 done, then the bot restarts in the middle of the checklist
    step2 = await h.press(USER, message_id_of(step1), "dr:k:1:0:d", method="editMessageText")
    assert "langkah 2 dari" in step2.params["text"]
    await h.restart()
    step3 = await h.press(USER, message_id_of(step2), "dr:k:1:1:b", method="editMessageText")
    assert "langkah 3 dari" in step3.params["text"]
    (t,) = await _tickets(h)
    assert t.steps == {"0": "done", "1": "blocked"}
    # the helpdesk card shows the progress
    # (the card edit follows the reporter's edit by one grant of the rate budget: wait for it)
    card = await h.fake.wait_for(
        "editMessageText",
        chat_id=HELPDESK,
        predicate=lambda c: "❌ 2." in c.params.get("text", ""),
    )
    assert "✅ 1." in card.params["text"] and "❌ 2." in card.params["text"]
    # someone else cannot act on the reporter's ticket (tampered button data)
    other = await h.say(OTHER, "/start", first_name="Orang Lain")
    await h.fake.wait_idle()
    mark = h.fake.mark()
    h.fake.press_button(OTHER, message_id_of(other), "dr:k:1:2:d")
    ans = await h.fake.wait_for("answerCallbackQuery", after=mark)
    assert "tidak berlaku" in ans.params.get("text", "")
    # finish the checklist
    checklist = h.core.tickets.checklists["instagram"]
    msg = step3
    for i in range(2, len(checklist.steps)):
        msg = await h.press(USER, message_id_of(msg), f"dr:k:1:{i}:d", method="editMessageText")
    assert f"{len(checklist.steps) - 1} dari {len(checklist.steps)} langkah" in msg.params["text"]
    assert checklist.steps[1].title in msg.params["text"]
    # the incident is an open ticket, listed first for admins
    listing = await h.say(ADMIN_ID, "/tiket")
    assert "🚨" in listing.params["text"] and "#1" in listing.params["text"]


async def test_hacked_answer_offers_darurat_and_admin_warns_everyone(desk):
    h = desk
    await _register(h)
    await _register(h, OTHER, "Made")
    await _register(h, ADMIN_ID, "Admin")
    ans = await h.say(USER, "akun ig dinas kami diretas, gimana cara mengembalikannya")
    assert ("🚨 Lapor darurat: akun diretas", "dr:go") in buttons_of(ans)
    start = await h.press(USER, message_id_of(ans), "dr:go", method="sendMessage")
    sit = await h.press(USER, message_id_of(start), "dr:p:tiktok", method="editMessageText")
    await h.press(USER, message_id_of(sit), "dr:s:tiktok:login", method="editMessageText")
    mark = h.fake.mark()
    h.fake.send_message(USER, "@dispar.tabanan")
    alert = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    assert ("📣 Siarkan peringatan", "tk:w:1") in buttons_of(alert)
    preview = await h.press(
        ADMIN_ID, message_id_of(alert), "tk:w:1", chat_id=HELPDESK, method="sendMessage"
    )
    assert "@dispar.tabanan" in preview.params["text"] and "Jangan klik" in preview.params["text"]
    mark = h.fake.mark()
    done = await h.press(
        ADMIN_ID, message_id_of(preview), "tk:wy:1", chat_id=HELPDESK, method="editMessageText"
    )
    assert "sedang dikirim" in done.params["text"]
    warned = await h.fake.wait_for(
        "sendMessage",
        chat_id=OTHER,
        after=mark,
        predicate=lambda c: "Peringatan keamanan" in c.params["text"],
    )
    assert "@dispar.tabanan" in warned.params["text"]
    # pressing again never sends it twice
    again = await h.press(
        ADMIN_ID, message_id_of(preview), "tk:wy:1", chat_id=HELPDESK, method="editMessageText"
    )
    assert "tidak dikirim dua kali" in again.params["text"]
    async with h.core.db.session() as s:
        n = len(
            (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))).all()
        )
    assert n == 1


async def test_darurat_only_in_private_and_cancel(desk):
    h = desk
    await _register(h)
    group = await h.say(USER, "/darurat", chat_id=-5001, chat_type="group")
    assert "chat pribadi" in group.params["text"]
    start = await h.say(USER, "/darurat")
    sit = await h.press(USER, message_id_of(start), "dr:p:whatsapp", method="editMessageText")
    ask = await h.press(USER, message_id_of(sit), "dr:s:whatsapp:other", method="editMessageText")
    bye = await h.press(USER, message_id_of(ask), "dr:x", method="editMessageText")
    assert "dibatalkan" in bye.params["text"]
    # the next message is a question again, not an account name
    ans = await h.say(USER, "cara pasang 2fa di instagram")
    assert "2FA" in ans.params["text"] or "dua langkah" in ans.params["text"].lower()
    assert await _tickets(h) == []


async def _tickets(h):
    async with h.core.db.session() as s:
        return (await s.scalars(select(Ticket).order_by(Ticket.id))).all()
