"""Feedback surveys end to end through the fake Bot API: deep link, every question type,
back/skip, typed answers, resume after a restart, edit before closing, anonymous and closed
sessions, /sesi (organizers, step-by-step creation, QR, reminders) and /laporan files."""

from __future__ import annotations

import hashlib
import io
import re

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from bot.feedback.models import FeedbackAnswer, FeedbackResponse
from tests.conftest import ADMIN_ID, buttons_of, message_id_of

P1, P2, ORG = 601, 602, 700


def _text(call) -> str:
    return call.params.get("text") or call.params.get("caption") or ""


async def _open(h, uid: int, code: str, marker: str = "/"):
    """``/start fb_<code>``; returns the bot's survey message (the one with a progress/review)."""
    mark = h.fake.mark()
    h.fake.send_message(uid, f"/start fb_{code}", first_name=f"P{uid}")
    return await h.fake.wait_for(
        "sendMessage",
        chat_id=uid,
        predicate=lambda c: (
            marker in _text(c)
            and (
                "fb:" in str(c.params.get("reply_markup"))
                or "Sesi" in _text(c)
                or "sesi" in _text(c)
            )
        ),
        after=mark,
    )


async def _reply_with(h, uid: int, text: str, needle: str):
    """Send ``text``; return the bot's first message to that chat containing ``needle``."""
    mark = h.fake.mark()
    h.fake.send_message(uid, text)
    return await h.fake.wait_for(
        "sendMessage", chat_id=uid, predicate=lambda c: needle in _text(c), after=mark
    )


async def _press(h, uid: int, call, data: str):
    return await h.press(uid, message_id_of(call), data, method="editMessageText")


def _data(call, startswith: str) -> str:
    return next(d for _, d in buttons_of(call) if d.startswith(startswith))


async def _answers(h, code: str) -> dict[str, tuple]:
    sv = await h.core.feedback.get_session(code)
    async with h.core.db.session() as s:
        rows = await s.execute(
            select(FeedbackAnswer.key, FeedbackAnswer.value, FeedbackAnswer.text)
            .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
            .where(FeedbackResponse.session_id == sv.id)
        )
        return {k: (v, t) for k, v, t in rows.all()}


async def test_default_questionnaire_every_step(harness):
    h = harness
    sv = await h.core.feedback.create_session("Pelatihan Medsos Tabanan", place="Tabanan")
    code = sv.code
    q = await _open(h, P1, code, "1/14")
    text = _text(q)
    assert "Pelatihan Medsos Tabanan" in text and "relevan" in text
    labels = buttons_of(q)
    assert labels[0] == ("1 · Sangat tidak setuju", f"fb:a:{code}:0:1")
    assert ("5 · Sangat setuju", f"fb:a:{code}:0:5") in labels
    assert not any(d.startswith(f"fb:s:{code}") for _, d in labels)  # required: no skip
    q = await _press(h, P1, q, f"fb:a:{code}:0:4")
    assert "2/14" in _text(q)
    # back shows the earlier answer ticked, "Lanjut" keeps it
    q = await _press(h, P1, q, f"fb:b:{code}:1")
    assert "1/14" in _text(q) and "Jawaban Anda sekarang" in _text(q)
    assert ("✅ 4 · Setuju", f"fb:a:{code}:0:4") in buttons_of(q)
    q = await _press(h, P1, q, f"fb:n:{code}:0")
    assert "2/14" in _text(q)
    # text where a button is expected: re-asked with the buttons, nothing stored
    reask = await h.say(P1, "materinya bagus sekali")
    assert "tombol" in _text(reask) and "2/14" in _text(reask)
    assert any(d == f"fb:a:{code}:1:5" for _, d in buttons_of(reask))
    # a typed number is a valid rating
    q = await h.say(P1, "5")
    assert "3/14" in _text(q)
    for i in range(2, 11):
        q = await _press(h, P1, q, f"fb:a:{code}:{i}:{5 if i % 2 else 4}")
    assert "12/14" in _text(q)
    nps_buttons = [d for _, d in buttons_of(q) if d.startswith(f"fb:a:{code}:11:")]
    assert len(nps_buttons) == 11
    q = await _press(h, P1, q, f"fb:a:{code}:11:9")
    assert "13/14" in _text(q) and "Keamanan digital" in str(buttons_of(q))
    q = await _press(h, P1, q, f"fb:a:{code}:12:2")  # single choice: third topic
    assert "14/14" in _text(q) and "boleh dilewati" in _text(q)
    # over-long free text refused with its length, then a valid one
    too_long = await h.say(P1, "x" * 1200)
    assert "1.200" in _text(too_long) and "1.000" in _text(too_long)
    review = await h.say(P1, "Tambah waktu praktik <b>Canva</b>")
    assert "Periksa jawaban" in _text(review)
    assert "&lt;b&gt;Canva&lt;/b&gt;" in _text(review)  # user text escaped
    # change answer 1 from the review, come back to the review, submit
    q = await _press(h, P1, review, f"fb:g:{code}:14:0")
    assert "1/14" in _text(q)
    q = await _press(h, P1, q, f"fb:a:{code}:0:2")
    for i in range(1, 14):
        q = await _press(h, P1, q, f"fb:n:{code}:{i}")
    assert "Periksa jawaban" in _text(q) and "2 (Tidak setuju)" in _text(q)
    done = await _press(h, P1, q, f"fb:x:{code}:14")
    assert "Terima kasih" in _text(done)
    answers = await _answers(h, code)
    assert answers["relevansi"] == (2, None)
    assert answers["penerapan"] == (5, None)
    assert answers["rekomendasi"] == (9, None)
    assert answers["paling_bermanfaat"] == ("t3", None)
    assert answers["saran"] == (None, "Tambah waktu praktik <b>Canva</b>")
    assert len(answers) == 14
    # a participant who came by QR is asked for their OPD, and may skip it
    ask = await h.fake.wait_for(
        "sendMessage", chat_id=P1, predicate=lambda c: "OPD mana" in c.params["text"]
    )
    assert ("Lewati", "opd:k") in buttons_of(ask)
    skipped = await h.press(P1, message_id_of(ask), "opd:k", method="editMessageText")
    assert "/profil" in _text(skipped)
    # the survey dialogue is over: free text is a knowledge question again
    user = await h.core.users.get(P1)
    assert user.pending is None and not user.has_opd
    # an old button after submitting changes nothing
    stale = await _press(h, P1, q, f"fb:a:{code}:3:1")
    assert "Periksa jawaban" in _text(stale)
    assert (await _answers(h, code))["narasumber"] != (1, None)


async def test_multi_choice_other_text_and_skip(harness):
    h = harness
    sv = await h.core.feedback.create_session("Webinar", template_id="singkat", topics=["Canva"])
    code = sv.code
    q = await _open(h, P2, code, "1/5")
    q = await _press(h, P2, q, f"fb:a:{code}:0:5")
    q = await _press(h, P2, q, f"fb:a:{code}:1:4")
    q = await _press(h, P2, q, f"fb:a:{code}:2:10")
    assert "4/5" in _text(q) and "Selesai memilih" in str(buttons_of(q))
    q = await _press(h, P2, q, f"fb:t:{code}:3:0")
    q = await _press(h, P2, q, f"fb:t:{code}:3:4")
    assert ("☑️ Video pendek (Reels/Shorts)", f"fb:t:{code}:3:0") in buttons_of(q)
    assert ("⬜ Analitik dan laporan kinerja", f"fb:t:{code}:3:1") in buttons_of(q)
    q = await h.say(P2, "Fotografi ponsel")  # typed "Lainnya" keeps the ticks
    assert "4/5" in _text(q) and "Fotografi ponsel" in _text(q)
    q = await _press(h, P2, q, f"fb:n:{code}:3")
    assert "5/5" in _text(q)
    q = await _press(h, P2, q, f"fb:s:{code}:4")
    assert "Periksa jawaban" in _text(q) and "dilewati" in _text(q)
    done = await _press(h, P2, q, f"fb:x:{code}:5")
    assert "Terima kasih" in _text(done)
    answers = await _answers(h, code)
    assert answers["topik_lanjutan"] == (["video", "live"], "Fotografi ponsel")
    assert "saran" not in answers


async def test_resume_after_restart_and_pause(harness):
    h = harness
    sv = await h.core.feedback.create_session(
        "Pelatihan Tapsel", template_id="singkat", topics=["X"]
    )
    code = sv.code
    q = await _open(h, P1, code, "1/5")
    q = await _press(h, P1, q, f"fb:a:{code}:0:3")
    await h.restart()
    # the pending dialogue survived: a typed rating continues at question 2
    q = await h.say(P1, "4")
    assert "3/5" in _text(q)
    await h.restart()
    q = await _open(h, P1, code, "3/5")
    assert "Selamat datang kembali" in _text(q)
    paused = await _press(h, P1, q, f"fb:p:{code}:2")
    assert "tersimpan" in _text(paused) and f"start=fb_{code}" in _text(paused)
    assert (await h.core.users.get(P1)).pending is None
    q = await _open(h, P1, code, "3/5")  # a day later, via the QR again
    assert (await _answers(h, code))["penerapan"] == (4, None)


async def test_edit_before_close_then_closed(harness):
    h = harness
    sv = await h.core.feedback.create_session("Kelas Etika", template_id="singkat", topics=["X"])
    code = sv.code
    q = await _open(h, P1, code, "1/5")
    for i, v in enumerate((4, 4, 8)):
        q = await _press(h, P1, q, f"fb:a:{code}:{i}:{v}")
    q = await _press(h, P1, q, f"fb:n:{code}:3")
    q = await _press(h, P1, q, f"fb:s:{code}:4")
    await _press(h, P1, q, f"fb:x:{code}:5")
    # answering again before closing edits the same response
    review = await _open(h, P1, code, "Periksa jawaban")
    assert "Simpan perubahan" in str(buttons_of(review))
    q = await _press(h, P1, review, f"fb:g:{code}:5:2")
    q = await _press(h, P1, q, f"fb:a:{code}:2:10")
    q = await _press(h, P1, q, f"fb:n:{code}:3")
    q = await _press(h, P1, q, f"fb:s:{code}:4")
    saved = await _press(h, P1, q, f"fb:x:{code}:5")
    assert "Perubahan jawaban Anda sudah disimpan" in _text(saved)
    async with h.core.db.session() as s:
        assert len((await s.scalars(select(FeedbackResponse))).all()) == 1
    assert (await _answers(h, code))["rekomendasi"] == (10, None)
    await h.core.feedback.close_session(code)
    closed = await h.say(P1, f"/start fb_{code}")
    assert "sudah ditutup" in _text(closed)
    old = await _press(h, P1, review, f"fb:g:{code}:5:0")
    assert "sudah ditutup" in _text(old)


async def test_anonymous_unknown_and_scheduled(harness):
    h = harness
    sv = await h.core.feedback.create_session(
        "Anonim", template_id="singkat", anonymous=True, topics=["X"]
    )
    q = await _open(h, P2, sv.code, "1/5")
    assert "anonim" in _text(q)
    await _press(h, P2, q, f"fb:a:{sv.code}:0:1")
    async with h.core.db.session() as s:
        resp = (await s.scalars(select(FeedbackResponse))).one()
        # no user link, only a keyed digest (a bare hash of the id could be recomputed)
        assert resp.user_id is None and re.fullmatch(r"[0-9a-f]{64}", resp.respondent_hash)
        assert resp.respondent_hash != hashlib.sha256(str(P2).encode()).hexdigest()
    missing = await _reply_with(h, P1, "/start fb_ZZZZZZ", "tidak ditemukan")
    assert "ZZZZZZ" in _text(missing)
    from datetime import timedelta

    from bot.db.base import utcnow

    later = await h.core.feedback.create_session("Besok", opens_at=utcnow() + timedelta(days=1))
    soon = await _reply_with(h, P1, f"/start fb_{later.code}", "belum dibuka")
    assert "Besok" in _text(soon)


async def test_laporan_summary_chart_and_xlsx(harness):
    h = harness
    fb = h.core.feedback
    sv = await fb.create_session("Pelatihan Tabanan", template_id="singkat", topics=["X"])
    other = await fb.create_session("Pelatihan Tapsel", template_id="singkat", topics=["X"])
    for uid, (a, b, n) in ((P1, (5, 4, 10)), (P2, (3, 4, 6))):
        await h.core.users.register(uid, uid, f"P{uid}")
        for code in (sv.code, other.code):
            await fb.start(code, uid)
            await fb.answer(code, uid, 0, a)
            await fb.answer(code, uid, 1, b)
            await fb.answer(code, uid, 2, n)
            await fb.next(code, uid, 3)
            await fb.answer_text(code, uid, 4, f"Saran dari {uid} & kawan")
            await fb.submit(code, uid)
    # a plain participant may not see reports
    await h.core.users.register(P1, P1, "P601")
    refused = await h.say(P1, f"/laporan {sv.code}")
    assert "penyelenggara" in _text(refused)
    mark = h.fake.mark()
    h.fake.send_message(ADMIN_ID, f"/laporan {sv.code.lower()}")
    summary = await h.fake.wait_for("sendMessage", chat_id=ADMIN_ID, after=mark)
    text = _text(summary)
    assert "Respons terkirim: <b>2</b>" in text
    assert "Penilaian keseluruhan: <b>4,00</b> dari 2 orang (" in text
    assert "NPS +0" in text and "promotor 1" in text and "detraktor 1" in text
    assert "Saran dari 601 &amp; kawan" in text
    photo = await h.fake.wait_for("sendPhoto", chat_id=ADMIN_ID, after=mark)
    img = Image.open(io.BytesIO(h.fake.files[photo.result["photo"][-1]["file_id"]]))
    assert img.width >= 800 and img.height >= 400
    doc = await h.fake.wait_for("sendDocument", chat_id=ADMIN_ID, after=mark)
    assert doc.result["document"]["file_name"] == f"umpan-balik-{sv.code}.xlsx"
    wb = load_workbook(io.BytesIO(h.fake.files[doc.result["document"]["file_id"]]))
    assert wb.sheetnames == ["Ringkasan", "Jawaban"]
    assert wb["Jawaban"].max_row == 3
    # two codes: a comparison message and one chart
    mark = h.fake.mark()
    h.fake.send_message(ADMIN_ID, f"/laporan {sv.code} {other.code}")
    compare = await h.fake.wait_for("sendMessage", chat_id=ADMIN_ID, after=mark)
    assert "Perbandingan" in _text(compare) and other.code in _text(compare)
    photo = await h.fake.wait_for("sendPhoto", chat_id=ADMIN_ID, after=mark)
    assert sv.code in _text(photo) and other.code in _text(photo)
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.method == "sendDocument"]
    unknown = await h.say(ADMIN_ID, "/laporan ZZZZZZ")
    assert "tidak ditemukan" in _text(unknown)
    # never into a group: the workbook holds participants' data
    mark = h.fake.mark()
    group = await h.say(ADMIN_ID, f"/laporan {sv.code}", chat_id=-100777, chat_type="supergroup")
    assert "chat pribadi" in _text(group)
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.method in ("sendDocument", "sendPhoto")]


async def test_sesi_organizer_wizard_qr_and_reminder(harness):
    h = harness
    not_yet = await h.say(ORG, "/sesi", first_name="Panitia", username="panitia_tabanan")
    assert "penyelenggara" in _text(not_yet)
    made = await h.say(ADMIN_ID, "/sesi organizer @panitia_tabanan")
    assert "penyelenggara pelatihan" in _text(made)
    listing = await h.say(ORG, "/sesi")
    assert "Belum ada sesi" in _text(listing)
    prompt = await h.press(ORG, message_id_of(listing), "fbo:n:-")
    assert "judul" in _text(prompt).lower()
    prompt = await h.say(ORG, "Pelatihan <i>Medsos</i> OPD")
    assert "Tanggal" in _text(prompt)
    bad = await h.say(ORG, "besok pagi")
    assert "tidak dikenali" in _text(bad)
    prompt = await h.say(ORG, "01-12-2026 s.d. 02-12-2026")
    prompt = await h.say(ORG, "Aula Diskominfo Tabanan")
    prompt = await _press(h, ORG, prompt, "fbo:w:organizer:skip")
    assert "Materi" in _text(prompt)
    prompt = await h.say(ORG, "Strategi komunikasi\nDesain Canva\n\nKeamanan digital")
    assert "kuesioner" in _text(prompt)
    prompt = await _press(h, ORG, prompt, "fbo:w:template:default")
    assert "anonim" in _text(prompt)
    prompt = await _press(h, ORG, prompt, "fbo:w:anonymous:0")
    mark = h.fake.mark()
    card = await _press(h, ORG, prompt, "fbo:w:closes:none")
    text = _text(card)
    assert "Pelatihan &lt;i&gt;Medsos&lt;/i&gt; OPD" in text
    assert "01-12-2026 s.d. 02-12-2026" in text and "Aula Diskominfo Tabanan" in text
    assert "12 pertanyaan" in text  # 6 + 3 topics + NPS + best + saran
    photo = await h.fake.wait_for("sendPhoto", chat_id=ORG, after=mark)
    assert "start=fb_" in _text(photo)
    png = h.fake.files[photo.result["photo"][-1]["file_id"]]
    assert Image.open(io.BytesIO(png)).width >= 600
    items = await h.core.feedback.list_sessions(await h.core.feedback.actor(ORG))
    (item,) = items
    code = item.session.code
    assert item.session.topics == ["Strategi komunikasi", "Desain Canva", "Keamanan digital"]
    # a participant starts but does not finish; the organizer reminds through the outbox
    q = await _open(h, P1, code, "1/")
    await _press(h, P1, q, f"fb:a:{code}:0:4")
    card = await _press(h, ORG, card, f"fbo:v:{code}")
    assert "belum selesai: 1" in _text(card)
    mark = h.fake.mark()
    h.fake.press_button(ORG, message_id_of(card), f"fbo:m:{code}")
    reminder = await h.fake.wait_for(
        "sendMessage", chat_id=P1, after=mark, predicate=lambda c: "belum selesai" in _text(c)
    )
    assert f"start=fb_{code}" in str(reminder.params.get("reply_markup"))
    # pressing again the same day queues nobody twice
    await h.fake.wait_idle()
    mark = h.fake.mark()
    h.fake.press_button(ORG, message_id_of(card), f"fbo:m:{code}")
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.method == "sendMessage" and c.chat_id == P1]
    # close from the card: participants get the closed message
    closed = await _press(h, ORG, card, f"fbo:c:{code}")
    assert "ditutup" in _text(closed)
    assert "sudah ditutup" in _text(await h.say(P1, f"/start fb_{code}"))
    # another organizer's session is not theirs
    foreign = await h.core.feedback.create_session("Milik admin")
    refused = await h.say(ORG, f"/sesi {foreign.code}")
    assert "hanya untuk penyelenggara" in _text(refused)


async def test_typed_code_tampered_buttons_and_stickers(harness):
    """/umpanbalik KODE (no camera to scan the QR) for a brand-new user; a button of another
    session must not detach the current survey; a sticker re-asks with the buttons."""
    h = harness
    sv = await h.core.feedback.create_session("Kelas <b>A</b> & B", template_id="singkat")
    code = sv.code
    usage = await h.say(P1, "/umpanbalik")
    assert "/umpanbalik AB3CDE" in _text(usage)
    mark = h.fake.mark()
    h.fake.send_message(P1, f"/umpanbalik {code.lower()}", first_name="Baru")
    q = await h.fake.wait_for(
        "sendMessage", chat_id=P1, after=mark, predicate=lambda c: "1/5" in _text(c)
    )
    assert "Kelas &lt;b&gt;A&lt;/b&gt; &amp; B" in _text(q)
    assert (await h.core.users.get(P1)) is not None  # registered on the way
    # a tampered/old button of an unknown session: polite, and the survey stays attached
    gone = await _press(h, P1, q, "fb:a:ZZZZZZ:0:1")
    assert "tidak ditemukan" in _text(gone)
    sticker_mark = h.fake.mark()
    h.fake.send_media(P1, "sticker")
    reask = await h.fake.wait_for("sendMessage", chat_id=P1, after=sticker_mark)
    assert "teks atau tombol" in _text(reask) and "1/5" in _text(reask)
    assert any(d == f"fb:a:{code}:0:5" for _, d in buttons_of(reask))
    q = await h.say(P1, "4")  # typed answers still reach the survey
    assert "2/5" in _text(q)
    assert (await _answers(h, code))["keseluruhan"] == (4, None)
    # unparsable data: a generic "expired" answer, nothing edited
    mark = h.fake.mark()
    h.fake.press_button(P1, message_id_of(q), f"fb:a:{code}:1:x")
    ans = await h.fake.wait_for("answerCallbackQuery", after=mark)
    assert "tidak berlaku" in ans.params.get("text", "")
    await h.fake.wait_idle()
    assert not [c for c in h.fake.calls[mark:] if c.method == "editMessageText"]
    empty = await _reply_with(h, P2, "/start fb_", "tidak ditemukan")
    assert "<b></b>" not in _text(empty)  # no empty code in bold


async def test_wizard_odd_dates_sticker_and_question_count(harness):
    h = harness
    listing = await h.say(ADMIN_ID, "/sesi")
    await h.press(ADMIN_ID, message_id_of(listing), "fbo:n:-")
    mark = h.fake.mark()
    h.fake.send_media(ADMIN_ID, "sticker")
    reask = await h.fake.wait_for("sendMessage", chat_id=ADMIN_ID, after=mark)
    assert "hanya bisa membaca teks" in _text(reask) and "judul" in _text(reask)
    await h.say(ADMIN_ID, "Pelatihan Tapsel")
    prompt = await h.say(ADMIN_ID, "1-2 Desember 2026")
    assert "Tempat" in _text(prompt)
    await h.say(ADMIN_ID, "-")
    await h.say(ADMIN_ID, "-")
    prompt = await h.say(ADMIN_ID, "Strategi\nCanva")
    # the default questionnaire repeats its topic question: 6 + 2 topics + 3 = 11 questions
    assert ("📝 Evaluasi Pelatihan (11 pertanyaan)", "fbo:w:template:default") in buttons_of(prompt)
    prompt = await _press(h, ADMIN_ID, prompt, "fbo:w:template:default")
    prompt = await _press(h, ADMIN_ID, prompt, "fbo:w:anonymous:0")
    card = await h.say(ADMIN_ID, "3 Desember 2099 pukul 17.00")
    assert "01-12-2026 s.d. 02-12-2026" in _text(card) and "03-12-2099 17:00" in _text(card)
    assert "11 pertanyaan" in _text(card)
