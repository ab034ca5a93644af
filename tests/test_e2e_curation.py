"""End to end: curators teach the knowledge base from chat. /celah groups with buttons (attach
a group to a suggested entry or to a typed id, out of scope, draft entry), stale buttons, and
/kandidat (a user's pick and a 👍 after an answer, accepted or rejected with one tap); what was
learned answers at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.knowledge.models import LearnedPhrasing, QuestionLog
from tests.conftest import (
    ADMIN_ID,
    Harness,
    buttons_of,
    make_settings,
    message_id_of,
    tagged_buttons_of,
)
from tests.test_callback_limits import ENTRY_A, _knowledge_with_long_ids

USER = 611
SIM = ("cara perpanjang sim", "cara perpanjang SIM online", "cara perpanjang sim c")


async def _register(h, user_id=USER):
    mark = h.fake.mark()
    h.fake.send_message(user_id, "/start", first_name="Wayan")
    await h.fake.wait_for("sendMessage", chat_id=user_id, after=mark, timeout=20)
    await h.fake.wait_idle()


async def _logged(h) -> int:
    async with h.core.db.session() as s:
        return len((await s.scalars(select(QuestionLog))).all())


async def _ask_all(h, questions):
    before = await _logged(h)
    for q in questions:
        await h.say(USER, q)
    for _ in range(200):  # a reply can belong to the previous message on a loaded machine
        if await _logged(h) >= before + len(questions):
            return
        await asyncio.sleep(0.05)


def _data(call, prefix: str) -> list[str]:
    """Callback data (dialogue token included) of the buttons starting with ``prefix``."""
    return [d for _, d in tagged_buttons_of(call) if d.startswith(prefix)]


async def _tap(h, user, call, data, method=("editMessageText", "sendMessage")):
    """Press and return (the bot's next edit/send, the callback answer)."""
    mark = h.fake.mark()
    out = await h.press(user, message_id_of(call), data, method=method)
    return out, await h.callback_answer(mark)


async def _stale(h, user, call, data) -> None:
    mark = h.fake.mark()
    h.fake.press_button(user, message_id_of(call), data)
    assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"], data
    await h.fake.wait_idle()  # a stale candidate shows the current one again


async def _phrasings(h):
    async with h.core.db.session() as s:
        return (await s.scalars(select(LearnedPhrasing).order_by(LearnedPhrasing.id))).all()


async def test_celah_attaches_a_whole_group_which_answers_at_once(harness):
    h = harness
    await _register(h)
    await _register(h, ADMIN_ID)
    await _ask_all(h, [*SIM, "harga cabai hari ini"])
    report = await h.say(ADMIN_ID, "/celah")
    assert "Tekan nomor kelompok" in report.params["text"]
    numbers = [(t, d) for t, d in tagged_buttons_of(report) if d.startswith("cl:o:")]
    assert [t for t, _ in numbers] == ["1", "2"]
    # group 1 (three questions): its card lists them and the closest entries
    card, _ = await _tap(h, ADMIN_ID, report, numbers[0][1])
    assert card.method == "editMessageText"
    text = card.params["text"]
    assert "Kelompok celah 1" in text and "3× ditanyakan" in text
    assert all(q in text for q in SIM)
    attach = _data(card, "cl:a:")
    assert attach and all(_data(card, f"cl:{a}:") for a in "fsd") and _data(card, "cl:l")
    assert max(len(d.encode()) for d in _data(card, "cl:")) <= 64
    done, toast = await _tap(h, ADMIN_ID, card, attach[0])
    assert "seluruh kelompok" in toast.params["text"]
    assert "Dijadikan pertanyaan alternatif" in done.params["text"]
    learned = await _phrasings(h)
    assert sorted(p.text for p in learned) == sorted(SIM)
    assert {p.status for p in learned} == {"accepted"} and len({p.entry_id for p in learned}) == 1
    entry = h.core.qa.kb.get(learned[0].entry_id)
    assert f"<code>{entry.id}</code>" in done.params["text"]
    # the same question now gets that entry as its answer, with the vote buttons
    ans = await h.say(USER, "cara perpanjang SIM online")
    assert any(d.startswith("kb:v:") for _, d in buttons_of(ans)), ans.params["text"]
    assert h.core.qa.kb.search("cara perpanjang SIM online").hits[0].id == entry.id
    # pressing the attach button again: the group left the report, nothing changes
    await _stale(h, ADMIN_ID, card, attach[0])
    assert len(await _phrasings(h)) == 3
    # a new /celah: only the other group; the older report's buttons are stale
    again = await h.say(ADMIN_ID, "/celah")
    assert "cabai" in again.params["text"] and "perpanjang" not in again.params["text"]
    await _stale(h, ADMIN_ID, card, _data(done, "cl:l")[0])
    # a non-admin pressing such a button (without the admin's token: stale; without any
    # token: refused)
    await _stale(h, USER, ans, _data(again, "cl:o:")[0])
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), _data(again, "cl:o:")[0].split("~")[0])
    assert "hanya untuk admin" in (await h.callback_answer(mark)).params["text"]


async def test_celah_typed_id_out_of_scope_and_draft(harness):
    h = harness
    await _register(h)
    await _register(h, ADMIN_ID)
    await _ask_all(
        h, ["harga cabai hari ini", "harga cabai rawit hari ini", "jadwal samsat keliling"]
    )
    report = await h.say(ADMIN_ID, "/celah")
    card, _ = await _tap(h, ADMIN_ID, report, _data(report, "cl:o:")[0])
    assert "cabai" in card.params["text"]
    # 🔎: type words, pick among the matches
    prompt, _ = await _tap(h, ADMIN_ID, card, _data(card, "cl:f:")[0])
    assert "Ketik ID materi" in prompt.params["text"]
    found = await h.say(ADMIN_ID, "kata sandi")
    assert "keamanan-kata-sandi" in found.params["text"]
    assert _data(found, "cl:a:")
    nothing = await h.say(ADMIN_ID, "zzzqqq xyxyxy")
    assert "Tidak ada materi" in nothing.params["text"]
    # the exact id attaches at once
    done = await h.say(ADMIN_ID, "Bantuan-Pakai-Bot")
    assert "Dijadikan pertanyaan alternatif" in done.params["text"]
    assert "<code>bantuan-pakai-bot</code>" in done.params["text"]
    assert {(p.entry_id, p.text) for p in await _phrasings(h)} == {
        ("bantuan-pakai-bot", "harga cabai hari ini"),
        ("bantuan-pakai-bot", "harga cabai rawit hari ini"),
    }
    # the dialogue ended: the next text is a question again
    await h.say(ADMIN_ID, "cara perpanjang paspor")
    # back to the list from the result: the other groups
    listing, _ = await _tap(h, ADMIN_ID, done, _data(done, "cl:l")[0])
    assert "cabai" not in listing.params["text"] and "samsat" in listing.params["text"]
    samsat = next(
        d
        for t, d in tagged_buttons_of(listing)
        if d.startswith("cl:o:")
        and "samsat" in listing.params["text"].split(f"{t}. ", 1)[1].split("\n")[0]
    )
    card, _ = await _tap(h, ADMIN_ID, listing, samsat)
    scoped, toast = await _tap(h, ADMIN_ID, card, _data(card, "cl:s:")[0])
    assert "di luar cakupan" in scoped.params["text"] and "samsat" in scoped.params["text"]
    # the draft: from the list again
    listing, _ = await _tap(h, ADMIN_ID, scoped, _data(scoped, "cl:l")[0])
    assert "samsat" not in listing.params["text"] and "paspor" in listing.params["text"]
    card, _ = await _tap(h, ADMIN_ID, listing, _data(listing, "cl:o:")[0])
    drafted, _ = await _tap(h, ADMIN_ID, card, _data(card, "cl:d:")[0])
    (draft,) = await h.core.qa.learning.drafts()
    assert "cara perpanjang paspor" in draft.questions
    assert f"knowledge/drafts/{draft.entry_id}.md" in drafted.params["text"]
    # everything decided: the report is empty, and asked again later "samsat" stays out
    await _ask_all(h, ["jadwal samsat keliling hari ini"])
    empty = await h.say(ADMIN_ID, "/celah")
    assert "samsat" not in empty.params["text"]


@pytest.fixture
async def ambiguous_harness(fake, db_url, tmp_path):
    """The real knowledge base plus two entries that share a question's words (the callback
    limit test's long ids): "zebrakuda gajahungu" asks 'which one did you mean'."""
    knowledge = _knowledge_with_long_ids(tmp_path)
    h = Harness(fake, make_settings(fake, db_url, knowledge_dir=knowledge))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


async def test_kandidat_from_a_pick_and_a_thumbs_up(ambiguous_harness):
    h = ambiguous_harness
    await _register(h)
    await _register(h, ADMIN_ID)
    which = await h.say(USER, "zebrakuda gajahungu")
    pick = next(d for d in _data(which, "kb:e:") if d.startswith(f"kb:e:{ENTRY_A}:"))
    picked = await h.press(USER, message_id_of(which), pick)
    up = next(d for d in _data(picked, "kb:v:") if d.endswith(":u"))
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(picked), up)
    await h.callback_answer(mark)
    # a 👍 after a direct answer (a phrasing the entry does not have yet)
    question = "gimana biar akun ig dinas aman pakai 2fa"
    assert not h.core.qa.curation.knows("keamanan-2fa", question)
    ans = await h.say(USER, question)
    up = next(d for d in _data(ans, "kb:v:") if d.endswith(":u"))
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(ans), up)
    await h.callback_answer(mark)
    for _ in range(100):
        if len(await _phrasings(h)) == 2:
            break
        await asyncio.sleep(0.05)

    report = await h.say(ADMIN_ID, "/celah")
    assert "2 kandidat frasa" in report.params["text"] and "/kandidat" in report.params["text"]
    refused = await h.say(USER, "/kandidat")
    assert "hanya untuk admin" in refused.params["text"]
    card = await h.say(ADMIN_ID, "/kandidat")
    text = card.params["text"]
    assert "Kandidat frasa 1 dari 2" in text and "zebrakuda gajahungu" in text
    assert f"<code>{ENTRY_A}</code>" in text and "dipilih pengguna" in text
    # skip to the second, then accept it: the next (the first) takes its place
    second, _ = await _tap(h, ADMIN_ID, card, _data(card, "kd:k:")[0])
    assert "2 dari 2" in second.params["text"] and question in second.params["text"]
    assert "👍 setelah jawabannya" in second.params["text"]
    accept = _data(second, "kd:y:")[0]
    nxt, toast = await _tap(h, ADMIN_ID, second, accept)
    assert "Diterima" in toast.params["text"]
    assert "✅ Diterima" in nxt.params["text"] and "1 dari 1" in nxt.params["text"]
    # a double tap on the accepted one changes nothing
    await _stale(h, ADMIN_ID, second, accept)
    done, toast = await _tap(h, ADMIN_ID, nxt, _data(nxt, "kd:n:")[0])
    assert "Ditolak" in toast.params["text"]
    assert "Tidak ada kandidat" in done.params["text"] and not _data(done, "kd:")
    statuses = {p.text: p.status for p in await _phrasings(h)}
    assert statuses == {"zebrakuda gajahungu": "rejected", question: "accepted"}
    assert question in h.core.qa.kb.get("keamanan-2fa").questions
    # the older /kandidat's buttons are stale after a new one
    await h.say(ADMIN_ID, "/kandidat")
    await _stale(h, ADMIN_ID, card, _data(card, "kd:k:")[0])
