"""End to end through the fake Bot API: /start, the OPD question, /profil, /privasi,
/hapusdata, /bantuan, commands menu, and bad input."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.accounts.models import User
from bot.knowledge.models import QuestionLog
from tests.conftest import ADMIN_ID, buttons_of, message_id_of

USER = 501


async def _start(h, user_id=USER, **kw):
    mark = h.fake.mark()
    h.fake.send_message(user_id, "/start", **kw)
    # welcome, privacy notice, OPD question (the last one carries the keyboard)
    opd_q = await h.fake.wait_for(
        "sendMessage",
        chat_id=user_id,
        predicate=lambda c: "OPD mana" in c.params.get("text", ""),
        after=mark,
    )
    return mark, opd_q


async def _count_users(h) -> int:
    async with h.core.db.session() as s:
        return await s.scalar(select(func.count(User.id)))


async def test_start_registers_greets_privacy_and_asks_opd(harness):
    h = harness
    mark, opd_q = await _start(h, first_name="Wayan")
    sent = [
        c for c in h.fake.calls_of("sendMessage", chat_id=USER) if h.fake.calls.index(c) >= mark
    ]
    texts = [c.params["text"] for c in sent]
    assert "Halo" in texts[0] and "Wayan" in texts[0]
    assert any("UU No. 27 Tahun 2022" in t and "/hapusdata" in t for t in texts)
    assert all(c.params.get("parse_mode") == "HTML" for c in sent)
    labels = buttons_of(opd_q)
    assert (
        labels[0][1].startswith("opd:s:")
        and len([b for b in labels if b[1].startswith("opd:s:")]) == 8
    )
    assert ("✏️ Lainnya", "opd:o") in labels
    assert any(d == "opd:p:1" for _, d in labels)
    assert await _count_users(h) == 1
    user = await h.core.users.get(USER)
    assert user is not None and user.name == "Wayan" and not user.has_opd


async def test_second_start_updates_not_duplicates(harness):
    h = harness
    await _start(h)
    await h.fake.wait_idle()
    await h.say(USER, "/start")
    await h.fake.wait_idle()
    assert await _count_users(h) == 1


async def test_choose_opd_by_page_and_button(harness):
    h = harness
    _, opd_q = await _start(h)
    mid = message_id_of(opd_q)
    page2 = await h.press(USER, mid, "opd:p:1", method="editMessageText")
    assert "halaman 2/" in page2.params["text"]
    assert ("◀️ Sebelumnya", "opd:p:0") in buttons_of(page2)
    slug_button = next(d for _, d in buttons_of(page2) if d.startswith("opd:s:"))
    done = await h.press(USER, mid, slug_button, method="editMessageText")
    assert "Tersimpan" in done.params["text"]
    user = await h.core.users.get(USER)
    assert user.opd_slug == slug_button.split(":")[2]
    # Tabanan is in Bali: the OPD's timezone (WITA) becomes the user's effective timezone.
    assert user.timezone == "Asia/Makassar"
    assert user.privacy_accepted


async def test_other_opd_free_text_is_escaped(harness):
    h = harness
    _, opd_q = await _start(h)
    prompt = await h.press(USER, message_id_of(opd_q), "opd:o", method="editMessageText")
    assert "ketik nama OPD" in prompt.params["text"]
    reply = await h.say(USER, "<b>Dinas</b> & <script>alert(1)</script>")
    assert "&lt;b&gt;Dinas&lt;/b&gt; &amp; &lt;script&gt;" in reply.params["text"]
    assert "<script>" not in reply.params["text"]
    # not in the list: pick a parent, or keep it as typed
    parents = await h.press(USER, message_id_of(reply), "opd:u", method="editMessageText")
    assert "&lt;script&gt;" in parents.params["text"]
    saved = await h.press(USER, message_id_of(parents), "opd:pn", method="editMessageText")
    assert "&lt;script&gt;" in saved.params["text"] and "<script>" not in saved.params["text"]
    user = await h.core.users.get(USER)
    assert user.opd_name == "<b>Dinas</b> & <script>alert(1)</script>"


async def test_other_opd_rejects_sticker_and_overlong_text(harness):
    h = harness
    _, opd_q = await _start(h)
    await h.press(USER, message_id_of(opd_q), "opd:o", method="editMessageText")
    mark = h.fake.mark()
    h.fake.send_media(USER, "sticker")
    again = await h.fake.wait_for("sendMessage", chat_id=USER, after=mark)
    assert "ketik nama OPD" in again.params["text"]
    too_long = await h.say(USER, "x" * 10_000)
    assert "10.000 karakter" in too_long.params["text"]
    user = await h.core.users.get(USER)
    assert user.opd_name is None and user.pending == "opd_other"


async def test_profile_change_name_with_html(harness):
    h = harness
    await _start(h, first_name="Budi")
    await h.fake.wait_idle()
    prof = await h.say(USER, "/profil")
    assert "Budi" in prof.params["text"] and "belum dipilih" in prof.params["text"]
    ask = await h.press(USER, message_id_of(prof), "prof:name", method="editMessageText")
    assert "Ketik nama" in ask.params["text"]
    done = await h.say(USER, "  Budi <i>Santoso</i>  ")
    assert "Budi &lt;i&gt;Santoso&lt;/i&gt;" in done.params["text"]
    assert (await h.core.users.get(USER)).name == "Budi <i>Santoso</i>"
    # change OPD from the profile
    prof = await h.say(USER, "/profil")
    opd_q = await h.press(USER, message_id_of(prof), "prof:opd", method="editMessageText")
    first = next(d for _, d in buttons_of(opd_q) if d.startswith("opd:s:"))
    await h.press(USER, message_id_of(prof), first, method="editMessageText")
    assert (await h.core.users.get(USER)).opd_slug == first.split(":")[2]


async def test_privacy_command(harness):
    reply = await harness.say(USER, "/privasi")
    assert "Pemberitahuan privasi" in reply.params["text"]
    assert "/hapusdata" in reply.params["text"]


async def test_delete_data_requires_confirmation_and_anonymises_questions(harness):
    h = harness
    await _start(h)
    await h.fake.wait_idle()
    user = await h.core.users.get(USER)
    async with h.core.db.session() as s:
        s.add(QuestionLog(user_id=user.id, text="cara pasang 2fa"))
    confirm = await h.say(USER, "/hapusdata")
    data = [d for _, d in buttons_of(confirm)]
    assert data == ["del:yes", "del:no"]
    cancel = await h.press(USER, message_id_of(confirm), "del:no", method="editMessageText")
    assert "Dibatalkan" in cancel.params["text"]
    assert await h.core.users.get(USER) is not None
    confirm = await h.say(USER, "/hapusdata")
    done = await h.press(USER, message_id_of(confirm), "del:yes", method="editMessageText")
    assert "sudah dihapus" in done.params["text"]
    assert await h.core.users.get(USER) is None
    async with h.core.db.session() as s:
        rows = (await s.scalars(select(QuestionLog))).all()
    assert [(r.text, r.user_id) for r in rows] == [("cara pasang 2fa", None)]


async def test_help_differs_for_admins(harness):
    h = harness
    staff = await h.say(USER, "/bantuan")
    assert "/materi" in staff.params["text"] and "/siaran" not in staff.params["text"]
    admin = await h.say(ADMIN_ID, "/bantuan")
    assert "/siaran" in admin.params["text"] and "/celah" in admin.params["text"]


async def test_commands_registered_per_language_and_admin_scope(harness):
    calls = harness.fake.calls_of("setMyCommands")
    by_key = {
        (c.params.get("scope", {}).get("type"), c.params.get("language_code")): c for c in calls
    }
    default_id = by_key[("default", None)]
    names = [c["command"] for c in default_id.params["commands"]]
    assert "start" in names and "siaran" not in names
    assert by_key[("default", "en")].params["commands"][0]["description"] == "Start and register"
    admin_calls = [c for c in calls if c.params.get("scope", {}).get("type") == "chat"]
    assert admin_calls and all(c.params["scope"]["chat_id"] == ADMIN_ID for c in admin_calls)
    assert "siaran" in [c["command"] for c in admin_calls[0].params["commands"]]


async def test_unknown_command_and_tampered_callback(harness):
    h = harness
    reply = await h.say(USER, "/entahlah <b>")
    assert (
        "tidak dikenal" in reply.params["text"] and "<code>/entahlah</code>" in reply.params["text"]
    )
    await _start(h)
    await h.fake.wait_idle()
    before = await h.core.users.get(USER)
    for data in ("opd:s:tidak-ada", "opd:p:abc", "opd:zz", "del:maybe", "prof:x:y", "bc", "x:1"):
        mark = h.fake.mark()
        h.fake.press_button(USER, 1, data)
        ans = await h.fake.wait_for("answerCallbackQuery", after=mark)
        assert "tidak berlaku" in ans.params.get("text", "")
    after = await h.core.users.get(USER)
    assert after.opd_slug == before.opd_slug and after.name == before.name


async def test_group_only_reacts_to_commands_and_mentions(harness):
    h = harness
    group = -100500
    h.fake.add_chat(group, "supergroup", "Grup Admin OPD")
    mark = h.fake.mark()
    h.fake.send_message(USER, "halo semua, rapat jam 9", chat_id=group, chat_type="supergroup")
    h.fake.send_message(USER, "/lainbot@otherbot", chat_id=group, chat_type="supergroup")
    await h.fake.wait_idle()
    assert [c for c in h.fake.calls[mark:] if c.params.get("chat_id") == group] == []
    reply = await h.say(USER, "/bantuan", chat_id=group, chat_type="supergroup")
    assert "/tanya" in reply.params["text"]


async def test_error_handler_is_polite(harness, monkeypatch):
    h = harness

    async def boom(*_a, **_k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(h.core.users, "list_opds", boom)
    mark = h.fake.mark()
    h.fake.send_message(USER, "/start")
    err = await h.fake.wait_for(
        "sendMessage", chat_id=USER, predicate=lambda c: "kendala" in c.params["text"], after=mark
    )
    assert "secret" not in err.params["text"] and "RuntimeError" not in err.params["text"]


async def test_many_users_start_at_once(harness):
    h = harness
    users = list(range(2000, 2040))
    mark = h.fake.mark()
    for uid in users:
        h.fake.send_message(uid, "/start", first_name=f"Peserta{uid}")
    for uid in users:
        await h.fake.wait_for(
            "sendMessage",
            chat_id=uid,
            predicate=lambda c: "OPD mana" in c.params.get("text", ""),
            after=mark,
            timeout=30,
        )
    assert await _count_users(h) == len(users)
    # every user's three messages arrived in order: welcome, privacy, OPD question
    for uid in users[:5]:
        texts = [c.params["text"] for c in h.fake.calls_of("sendMessage", chat_id=uid)]
        assert "Halo" in texts[0] and "privasi" in texts[1] and "OPD mana" in texts[2]


async def test_a_command_ends_a_half_finished_dialogue(harness):
    h = harness
    await _start(h, first_name="Nyoman")
    await h.fake.wait_idle()
    prof = await h.say(USER, "/profil")
    await h.press(USER, message_id_of(prof), "prof:name", method="editMessageText")
    await h.say(USER, "/materi")  # changed their mind
    answer = await h.say(USER, "cara pasang 2fa di instagram")
    assert "Nama Anda sekarang" not in answer.params["text"]
    assert (await h.core.users.get(USER)).name == "Nyoman"


async def test_edited_messages_are_not_new_answers(harness):
    h = harness
    _, opd_q = await _start(h)
    await h.press(USER, message_id_of(opd_q), "opd:o", method="editMessageText")
    mark = h.fake.mark()
    first = h.fake.send_message(USER, "Puskesmas Kediri")
    saved = await h.next_call(USER, after=mark)
    assert "Puskesmas Kediri" in saved.params["text"]
    await h.fake.wait_idle()
    mark = h.fake.mark()
    h.fake.edit_message(USER, first["message"]["message_id"], "Puskesmas Kediri I")
    await h.fake.wait_idle()
    assert [c for c in h.fake.calls[mark:] if c.method == "sendMessage"] == []
    user = await h.core.users.get(USER)
    assert user.pending_data == {"unit": "Puskesmas Kediri"}


async def test_pressing_the_same_page_twice_is_not_an_error(harness):
    h = harness
    _, opd_q = await _start(h)
    mid = message_id_of(opd_q)
    await h.press(USER, mid, "opd:p:1", method="editMessageText")
    await h.fake.wait_idle()
    mark = h.fake.mark()
    h.fake.press_button(USER, mid, "opd:p:1")  # an old keyboard in another client
    await h.fake.wait_idle()
    sent = [c.params["text"] for c in h.fake.calls[mark:] if c.method == "sendMessage"]
    assert not any("kendala" in t for t in sent)
    assert h.fake.calls_of("answerCallbackQuery")[-1].ok


async def test_delete_and_profile_in_a_group_point_to_the_private_chat(harness):
    h = harness
    group = -100501
    h.fake.add_chat(group, "supergroup", "Grup Admin OPD")
    await _start(h)
    await _start(h, user_id=USER + 1)
    await h.fake.wait_idle()
    for cmd in ("/hapusdata", "/profil"):
        reply = await h.say(USER, cmd, chat_id=group, chat_type="supergroup")
        assert "chat langsung" in reply.params["text"]
        assert not reply.params.get("reply_markup")
    assert await h.core.users.get(USER) is not None and await h.core.users.get(USER + 1)
