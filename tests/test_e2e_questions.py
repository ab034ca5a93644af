"""End to end: questions -> answers -> related -> votes; refusal -> handoff -> reply back;
/materi; admins' /celah and /muatulang (with a broken file)."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from sqlalchemy import select

from bot.knowledge.models import QuestionLog
from bot.tickets.models import Ticket, TicketMessage
from tests.conftest import (
    ADMIN_ID,
    KNOWLEDGE,
    Harness,
    buttons_of,
    helpdesk_bot,
    make_settings,
    message_id_of,
)

USER = 601
HELPDESK = -100777


async def _register(h, user_id=USER, name="Komang"):
    await h.register(user_id, name)


async def _logs(h):
    async with h.core.db.session() as s:
        return (await s.scalars(select(QuestionLog).order_by(QuestionLog.id))).all()


async def _wait_logged(h, n):
    """A reply seen by the fake can belong to the previous message on a loaded machine: wait
    until ``n`` questions are logged."""
    for _ in range(200):
        if len(await _logs(h)) >= n:
            return
        await asyncio.sleep(0.05)


async def test_question_gets_answer_with_related_and_votes(harness):
    h = harness
    await _register(h)
    ans = await h.say(USER, "gmn cara pasang 2fa di ig kantor??")
    text = ans.params["text"]
    assert "2FA" in text or "dua langkah" in text.lower()
    labels = buttons_of(ans)
    related = [d for _, d in labels if d.startswith("kb:e:")]
    votes = [d for _, d in labels if d.startswith("kb:v:")]
    assert related and len(votes) == 2
    # related entry opens as a new message
    rel = await h.press(USER, message_id_of(ans), related[0], method="sendMessage")
    assert rel.params["text"].split("\n")[1].startswith("<b>")
    # 👍 is stored; the vote row disappears
    log = (await _logs(h))[-1]
    assert log.answered and log.entry_id == "keamanan-2fa"
    up = next(d for d in votes if d.endswith(":u"))
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), up)
    await h.fake.wait_for("answerCallbackQuery", after=mark)
    edit = await h.fake.wait_for("editMessageReplyMarkup", after=mark)
    assert all(not d.startswith("kb:v:") for _, d in buttons_of(edit))
    assert (await _logs(h))[-1].vote == 1


async def test_downvote_asks_what_was_missing_and_stores_comment(harness):
    h = harness
    await _register(h)
    ans = await h.say(USER, "bagaimana cara bikin caption yang menarik")
    down = next(d for _, d in buttons_of(ans) if d.startswith("kb:v:") and d.endswith(":d"))
    prompt = await h.press(USER, message_id_of(ans), down, method="sendMessage")
    assert "Apa yang kurang" in prompt.params["text"]
    saved = await h.say(USER, "kurang contoh <caption> untuk dinas kesehatan")
    assert "kami catat" in saved.params["text"]
    log = (await _logs(h))[-1]
    assert log.vote == -1 and log.vote_comment == "kurang contoh <caption> untuk dinas kesehatan"
    # the next message is a question again
    again = await h.say(USER, "cara mengenali phishing di dm instagram")
    assert "Apa yang kurang" not in again.params["text"]


@pytest.mark.parametrize(
    "question",
    ["cara perpanjang SIM", "harga cabai hari ini berapa", "siapa presiden pertama amerika"],
)
async def test_out_of_scope_is_refused_politely(harness, question):
    h = harness
    await _register(h)
    ans = await h.say(USER, question)
    assert "belum punya jawaban" in ans.params["text"]
    # no helpdesk configured -> no handoff button
    assert all(not d.startswith("kb:h:") for _, d in buttons_of(ans))
    log = (await _logs(h))[-1]
    assert not log.answered and log.text == question


async def test_question_html_is_never_echoed_unescaped_and_long_text_refused(harness):
    h = harness
    await _register(h)
    ans = await h.say(USER, "<script>alert(1)</script> harga cabai")
    assert "<script>" not in ans.params["text"]
    long = await h.say(USER, "a" * 10_000)
    assert "terlalu panjang" in long.params["text"]


async def test_unregistered_user_still_gets_an_answer_without_vote_buttons(harness):
    ans = await harness.say(USER + 1, "cara bikin infografis yang bagus di canva")
    assert "<b>" in ans.params["text"]
    assert all(not d.startswith("kb:v:") for _, d in buttons_of(ans))


async def test_materi_browse_and_back(harness):
    h = harness
    root = await h.say(USER, "/materi")
    pillars = [d for _, d in buttons_of(root)]
    assert pillars[:6] == [
        f"mt:p:{p}" for p in ("strategi", "desain", "keamanan", "etika", "konten", "analitik")
    ]
    mid = message_id_of(root)
    pillar = await h.press(USER, mid, "mt:p:keamanan", method="editMessageText")
    entries = [d for _, d in buttons_of(pillar) if d.startswith("mt:e:")]
    assert "mt:e:keamanan-2fa" in entries and ("⬅️ Kembali", "mt:root") in buttons_of(pillar)
    entry = await h.press(USER, mid, "mt:e:keamanan-2fa", method="editMessageText")
    assert ("⬅️ Kembali", "mt:p:keamanan") in buttons_of(entry)
    back = await h.press(USER, mid, "mt:root", method="editMessageText")
    assert "Materi pelatihan" in back.params["text"]
    mark = h.fake.mark()
    h.fake.press_button(USER, mid, "mt:e:tidak-ada")
    stale = await h.fake.wait_for("answerCallbackQuery", after=mark)
    assert "tidak berlaku" in stale.params["text"]


async def test_group_answers_only_tanya_and_mentions(harness):
    h = harness
    group = -100600
    h.fake.add_chat(group, "supergroup", "Admin OPD")
    mark = h.fake.mark()
    h.fake.send_message(USER, "cara pasang 2fa", chat_id=group, chat_type="supergroup")
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.params.get("chat_id") == group]
    ans = await h.say(
        USER, "/tanya cara pasang 2fa di instagram", chat_id=group, chat_type="supergroup"
    )
    assert "reply_to_message_id" in ans.params or "reply_parameters" in ans.params
    me = h.core.bot_username
    ans2 = await h.say(
        USER, f"@{me} ukuran feed instagram berapa px", chat_id=group, chat_type="supergroup"
    )
    assert "1080" in ans2.params["text"]


@pytest.fixture
async def helpdesk_harness(fake, db_url):
    async with helpdesk_bot(fake, db_url, HELPDESK) as h:
        yield h


async def test_refusal_handoff_and_reply_back(helpdesk_harness):
    h = helpdesk_harness
    await _register(h, name="Putu <Dinkes>")
    ans = await h.say(USER, "cara perpanjang SIM")
    handoff = next(d for _, d in buttons_of(ans) if d.startswith("kb:h:"))
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), handoff)
    fwd = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    assert "Putu &lt;Dinkes&gt;" in fwd.params["text"] and "perpanjang SIM" in fwd.params["text"]
    confirm = await h.next_call(USER, after=mark, method="editMessageText")
    assert "diteruskan" in confirm.params["text"]
    # an admin replies in the helpdesk chat -> goes back to the asker
    mark = h.fake.mark()
    h.fake.send_message(
        ADMIN_ID,
        "Silakan ke Satpas Polres <b>Tabanan</b>",
        chat_id=HELPDESK,
        chat_type="supergroup",
        reply_to_message_id=message_id_of(fwd),
    )
    back = await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    assert "Pertanyaan #1 sudah dijawab" in back.params["text"]
    assert "Satpas Polres &lt;b&gt;Tabanan&lt;/b&gt;" in back.params["text"]
    ok = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    assert "diteruskan" in ok.params["text"]
    async with h.core.db.session() as s:
        row = (await s.scalars(select(Ticket))).one()
    assert row.status == "answered" and row.claimed_by == ADMIN_ID
    async with h.core.db.session() as s:
        out = (await s.scalars(select(TicketMessage).where(TicketMessage.direction == "out"))).one()
    assert out.text.startswith("Silakan ke Satpas")
    # other chatter in the helpdesk group is ignored
    mark = h.fake.mark()
    h.fake.send_message(ADMIN_ID, "rapat jam 2", chat_id=HELPDESK, chat_type="supergroup")
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.method == "sendMessage"]


async def test_celah_report_and_csv_for_admins_only(harness):
    h = harness
    await _register(h)
    for q in (
        "cara perpanjang sim",
        "cara perpanjang SIM online",
        "harga cabai",
        "cara perpanjang sim c",
    ):
        await h.say(USER, q)
    await _wait_logged(h, 4)
    refused = await h.say(USER, "/celah")
    assert "hanya untuk admin" in refused.params["text"]
    mark = h.fake.mark()
    report = await h.say(ADMIN_ID, "/celah")
    assert "perpanjang" in report.params["text"] and "3×" in report.params["text"]
    doc = await h.fake.wait_for("sendDocument", chat_id=ADMIN_ID, after=mark)
    assert doc.params["document"]["filename"].endswith(".csv")


@pytest.fixture
async def kb_copy_harness(fake, db_url, tmp_path):
    kdir = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, kdir)
    h = Harness(fake, make_settings(fake, db_url, knowledge_dir=kdir))
    await h.start()
    yield h, kdir
    await h.stop()


async def test_muatulang_with_broken_file_keeps_old_knowledge(kb_copy_harness):
    h, kdir = kb_copy_harness
    target = kdir / "keamanan" / "keamanan-2fa.md"
    target.write_text(target.read_text().replace("pillar: keamanan", "pillar: [rusak"))
    failed = await h.say(ADMIN_ID, "/muatulang")
    assert "dibatalkan" in failed.params["text"] and "keamanan-2fa.md" in failed.params["text"]
    ans = await h.say(USER, "gimana cara pasang 2fa di ig")
    assert "belum punya jawaban" not in ans.params["text"]
    # fixed file + a new entry -> reload succeeds
    target.write_text(target.read_text().replace("pillar: [rusak", "pillar: keamanan"))
    new = kdir / "bantuan" / "bantuan-kontak-diskominfo.md"
    new.write_text(
        "---\nid: bantuan-kontak-diskominfo\ntitle: Menghubungi helpdesk Diskominfo\n"
        "pillar: bantuan\nquestions:\n  - nomor wa helpdesk diskominfo berapa\n"
        "  - kontak diskominfo tabanan\n  - cara menghubungi admin diskominfo\n"
        "  - hubungi diskominfo lewat mana\n  - alamat kantor diskominfo\n"
        "  - email diskominfo apa\ntags: [kontak, helpdesk]\nrelated: [bantuan-pakai-bot]\n"
        "updated: 2026-11-27\n---\nHubungi helpdesk Diskominfo lewat tombol di bot ini.\n"
    )
    ok = await h.say(ADMIN_ID, "/muatulang")
    assert "dimuat ulang" in ok.params["text"]
    ans = await h.say(USER, "kontak helpdesk diskominfo")
    assert "Menghubungi helpdesk Diskominfo" in ans.params["text"]


async def test_greetings_and_thanks_are_not_questions(harness):
    h = harness
    await _register(h, name="Gede")
    hello = await h.say(USER, "Selamat pagiii min!")
    assert "Halo, <b>Gede</b>" in hello.params["text"] and "/materi" in hello.params["text"]
    thanks = await h.say(USER, "makasih ya kak 🙏")
    assert "Sama-sama" in thanks.params["text"]
    assert await _logs(h) == []  # pleasantries stay out of the question log and /celah


async def test_two_close_entries_ask_which_was_meant(harness):
    h = harness
    await _register(h)
    ans = await h.say(USER, "canva")
    # one word, several Canva entries: "which did you mean", or (when the decision finds none
    # likely enough) the close topics; either way the user picks
    assert "Maksud Anda yang mana" in ans.params["text"] or "Topik terdekat" in ans.params["text"]
    choices = [d for _, d in buttons_of(ans) if d.startswith("kb:e:")]
    assert choices
    picked = await h.press(USER, message_id_of(ans), choices[-1], method="sendMessage")
    entry_id = choices[-1].split(":")[2]
    assert h.core.qa.kb.get(entry_id).title in picked.params["text"]
    log = (await _logs(h))[-1]
    assert log.answered and log.entry_id == entry_id  # the user's choice is recorded
    assert any(d.startswith("kb:v:") for _, d in buttons_of(picked))


async def test_double_tap_on_handoff_forwards_once(helpdesk_harness):
    h = helpdesk_harness
    await _register(h)
    ans = await h.say(USER, "cara perpanjang SIM")
    handoff = next(d for _, d in buttons_of(ans) if d.startswith("kb:h:"))
    h.fake.press_button(USER, message_id_of(ans), handoff)
    h.fake.press_button(USER, message_id_of(ans), handoff)
    await h.fake.wait_idle()
    assert len(h.fake.calls_of("sendMessage", chat_id=HELPDESK)) == 1
    async with h.core.db.session() as s:
        assert len((await s.scalars(select(Ticket))).all()) == 1


async def test_handoff_when_the_bot_was_removed_from_the_helpdesk_chat(helpdesk_harness):
    h = helpdesk_harness
    await _register(h)
    ans = await h.say(USER, "cara perpanjang SIM")
    handoff = next(d for _, d in buttons_of(ans) if d.startswith("kb:h:"))
    h.fake.block(HELPDESK)
    told = await h.press(USER, message_id_of(ans), handoff, method="editMessageText")
    assert "belum bisa diteruskan" in told.params["text"]
    async with h.core.db.session() as s:
        assert (await s.scalars(select(Ticket))).all() == []
    # once the bot is back in the helpdesk chat, the same button works
    h.fake.unblock(HELPDESK)
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), handoff)
    fwd = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    assert "perpanjang SIM" in fwd.params["text"]


async def test_helpdesk_reply_to_an_asker_who_blocked_the_bot(helpdesk_harness):
    h = helpdesk_harness
    await _register(h)
    ans = await h.say(USER, "cara perpanjang SIM")
    handoff = next(d for _, d in buttons_of(ans) if d.startswith("kb:h:"))
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), handoff)
    fwd = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    await h.fake.wait_idle()
    h.fake.block(USER)
    said = await h.say(
        ADMIN_ID,
        "Ke Satpas ya",
        chat_id=HELPDESK,
        chat_type="supergroup",
        reply_to_message_id=message_id_of(fwd),
    )
    assert "memblokir" in said.params["text"]
    assert not (await h.core.users.get(USER)).is_active


async def test_helpdesk_reply_after_the_asker_deleted_their_data(helpdesk_harness):
    h = helpdesk_harness
    await _register(h)
    ans = await h.say(USER, "cara perpanjang SIM")
    handoff = next(d for _, d in buttons_of(ans) if d.startswith("kb:h:"))
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), handoff)
    fwd = await h.fake.wait_for("sendMessage", chat_id=HELPDESK, after=mark)
    confirm = await h.say(USER, "/hapusdata")
    await h.press(USER, message_id_of(confirm), "del:yes", method="editMessageText")
    said = await h.say(
        ADMIN_ID,
        "Ke Satpas ya",
        chat_id=HELPDESK,
        chat_type="supergroup",
        reply_to_message_id=message_id_of(fwd),
    )
    assert "menghapus datanya" in said.params["text"]


async def test_celah_csv_is_safe_for_spreadsheets(harness):
    h = harness
    await _register(h)
    await h.say(USER, '=HYPERLINK("http://x","klik") harga cabai')
    mark = h.fake.mark()
    await h.say(ADMIN_ID, "/celah")
    doc = await h.fake.wait_for("sendDocument", chat_id=ADMIN_ID, after=mark)
    data = h.fake.files[doc.result["document"]["file_id"]].decode("utf-8-sig")
    header, row = data.splitlines()[:2]
    assert header.startswith("kelompok,jumlah,belum_terjawab")
    assert "'=HYPERLINK" in row and ",=HYPERLINK" not in row


async def test_tampered_numbers_in_callbacks_are_stale_not_errors(harness):
    h = harness
    await _register(h)
    for data in (
        "kb:v:99999999999999999999999:u",
        "kb:h:99999999999999999999999",
        "kb:e:keamanan-2fa:99999999999999999999999",
        "kb:v:²:u",
        "kb:s:1",
        "opd:p:²",
    ):
        mark = h.fake.mark()
        h.fake.press_button(USER, 1, data)
        ans = await h.fake.wait_for("answerCallbackQuery", after=mark)
        await h.fake.wait_idle()
        assert "tidak berlaku" in ans.params.get("text", ""), data
        texts = [c.params.get("text", "") for c in h.fake.calls[mark:]]
        assert not any("kendala" in t for t in texts), data


async def test_group_mention_of_a_similarly_named_bot_is_ignored(harness):
    h = harness
    group = -100601
    h.fake.add_chat(group, "supergroup", "Admin OPD")
    me = h.core.bot_username
    mark = h.fake.mark()
    h.fake.send_message(USER, f"@{me}_lain cara pasang 2fa", chat_id=group, chat_type="supergroup")
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.params.get("chat_id") == group]
    ans = await h.say(
        USER, f"😀 tolong @{me}: ukuran story ig", chat_id=group, chat_type="supergroup"
    )
    assert "1080" in ans.params["text"]


async def test_gap_grouping_keeps_short_and_long_questions_apart(harness):
    h = harness
    await _register(h)
    for q in (
        "cara perpanjang sim",
        "cara perpanjang sim online",
        "harga cabai rawit",
        "harga cabai rawit hari ini di pasar kediri tabanan",
    ):
        await h.say(USER, q)
    # a reply seen by the fake can belong to the previous question on a loaded machine:
    # wait until all four questions are logged before grouping
    for _ in range(100):
        if len(await _logs(h)) == 4:
            break
        await asyncio.sleep(0.05)
    groups = await h.core.qa.gaps()
    sizes = sorted(g.count for g in groups)
    assert sizes == [1, 1, 2], [(g.example, g.count) for g in groups]


async def test_typing_indicator_only_when_the_answer_does_not_follow_at_once(harness, monkeypatch):
    from handlers.knowledge import questions

    h = harness
    await _register(h)
    monkeypatch.setattr(questions, "TYPING_AFTER", 60.0)  # the answer is always faster
    mark = h.fake.mark()
    await h.say(USER, "gmn cara pasang 2fa di ig kantor??")
    await asyncio.sleep(0.2)
    assert not [c for c in h.fake.calls[mark:] if c.method == "sendChatAction"]
    monkeypatch.setattr(questions, "TYPING_AFTER", 0.0)  # the answer is always slower
    mark = h.fake.mark()
    await h.say(USER, "cara bikin caption yang menarik")
    typing = [c for c in h.fake.calls[mark:] if c.method == "sendChatAction"]
    assert typing and typing[0].params["action"] == "typing"


#: questions near the knowledge base that it does not answer (some get close topics)
NEAR_MISSES = [
    "cara membuat press release kegiatan dinas",
    "cara membuat podcast untuk instansi",
    "bagaimana membuat video dokumentasi kegiatan yang bagus",
    "apakah lembaga di dalam kementerian perlu punya akun instagram sendiri",
    "cara promosi umkm binaan dinas di marketplace",
    "cara bikin konten video dokumentasi kegiatan",
]


async def test_refusal_is_plain_offers_close_topics_only_and_the_helpdesk(helpdesk_harness):
    h = helpdesk_harness
    await _register(h)
    far = await h.say(USER, "resep rendang padang")
    text = far.params["text"]
    assert "di luar materi yang saya kuasai" in text and "/materi" in text
    assert "Tanyakan ke Diskominfo" in text
    assert [d for _, d in buttons_of(far) if d.startswith("kb:e:")] == []  # nothing close
    assert any(d.startswith("kb:h:") for _, d in buttons_of(far))
    # a near miss: refused too, the close topics (and only those) are offered
    kb = h.core.qa.kb
    near = next((q for q in NEAR_MISSES if not kb.search(q).answered and kb.search(q).close), None)
    assert near is not None, [(q, kb.search(q).hits) for q in NEAR_MISSES]
    ans = await h.say(USER, near)
    assert "di luar materi yang saya kuasai" in ans.params["text"]
    assert "Topik terdekat" in ans.params["text"]
    offered = [d.split(":")[2] for _, d in buttons_of(ans) if d.startswith("kb:e:")]
    assert offered == [x.id for x in kb.search(near).close][:3]
    assert any(d.startswith("kb:h:") for _, d in buttons_of(ans))
