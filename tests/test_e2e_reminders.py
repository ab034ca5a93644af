"""End to end through the fake Bot API: /pengingat (add, list, pause, resume, delete, bad
input), reminders firing at their local time, /langganan, security tips and calendar
reminders at the right local hour in WIB and WITA (the clock is injected, never waited for),
and the admins' tips schedule changing without a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import ADMIN_ID, buttons_of, message_id_of
from tests.outbox_helpers import add_users

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
USER = 8001
HARI = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]


def at(zone, y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=zone).astimezone(UTC)


async def _user(h, telegram_id=USER, name="Komang", **kw):
    h.fake.user(telegram_id, name)
    rows = await add_users(h.core.db, 1, start=telegram_id, **kw)
    return rows[0]


async def _jobs(h) -> list[str]:
    sched = h.core.background.scheduler
    await sched.settle()  # changes reach the scheduler right away, not after a restart
    return sched.job_ids()


async def test_add_list_fire_pause_resume_delete(harness):
    h = harness
    uid, chat = await _user(h, tz="Asia/Jakarta")  # chose WIB (Tabanan's own zone is WITA)
    empty = await h.say(USER, "/pengingat")
    assert "Belum ada pengingat" in empty.text
    ask = await h.press(USER, message_id_of(empty), "pg:add")
    assert "Kapan Anda ingin diingatkan" in ask.text
    confused = await h.say(USER, "kapan-kapan saja")
    assert "belum saya pahami" in confused.text and "setiap Senin 08.00" in confused.text
    what = await h.say(USER, "setiap Senin & Kamis 08.00")
    assert "setiap Senin dan Kamis pukul 08.00 WIB" in what.text
    saved = await h.say(USER, "Unggah <info> layanan minggu ini")
    assert "Pengingat disimpan" in saved.text and "&lt;info&gt;" in saved.text
    [r] = await h.core.schedules.list_reminders(uid)
    assert f"reminder:{r.id}" in await _jobs(h)
    # Monday 08.00 WIB comes (injected): the reminder arrives through the outbox.
    mark = h.fake.mark()
    monday = r.next_at  # the next Monday or Thursday 08.00 WIB from now
    assert monday.astimezone(WIB).hour == 8 and monday.astimezone(WIB).weekday() in (0, 3)
    assert await h.core.schedules.fire_reminder(r.id, monday) == "sent"
    got = await h.fake.wait_for("sendMessage", chat_id=chat, after=mark)
    assert "Pengingat" in got.text and "Unggah &lt;info&gt; layanan" in got.text
    # List, pause (the job disappears), resume (it is back), delete.
    listing = await h.say(USER, "/pengingat")
    assert "setiap Senin dan Kamis" in listing.text
    paused = await h.press(USER, message_id_of(listing), f"pg:p:{r.id}")
    assert "dijeda" in paused.text
    assert f"reminder:{r.id}" not in await _jobs(h)
    resumed = await h.press(USER, message_id_of(listing), f"pg:r:{r.id}")
    assert "dijeda" not in resumed.text
    assert f"reminder:{r.id}" in await _jobs(h)
    confirm = await h.press(USER, message_id_of(listing), f"pg:d:{r.id}")
    assert "Hapus pengingat ini?" in confirm.text  # deleting asks first
    assert f"reminder:{r.id}" in await _jobs(h)
    gone = await h.press(USER, message_id_of(listing), f"pg:dy:{r.id}")
    assert "Belum ada pengingat" in gone.text
    assert f"reminder:{r.id}" not in await _jobs(h)
    # Someone else's (or tampered) reminder id: stale, nothing changes.
    for data in ("pg:d:424242", "pg:p:99999999999999999999", "pg:d:²"):
        mark = h.fake.mark()
        h.fake.press_button(USER, message_id_of(listing), data)
        assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"], data


async def test_one_shot_command_zone_words_and_once_reminders(harness):
    h = harness
    uid, chat = await _user(h, opd=None, tz="Asia/Makassar")
    what = await h.say(USER, "/pengingat tiap tgl 1 jam 9")
    assert "setiap tanggal 1 pukul 09.00 WITA" in what.text
    await h.say(USER, "Laporan bulanan ke pimpinan")
    day = (datetime.now(WIB) + timedelta(days=40)).date()
    what = await h.say(USER, f"/pengingat {day.isoformat()} 09:00 WIB")
    # a one-off written in another zone is converted to the user's own (09.00 WIB = 10.00 WITA)
    assert "sekali" in what.text and "pukul 10.00 WITA" in what.text
    done = await h.say(USER, "Siapkan ucapan Natal")
    assert f"Pertama kali: {HARI[day.weekday()]}, {day.day} " in done.text
    assert f"{day.year} pukul 10.00 WITA" in done.text
    past = await h.say(USER, "/pengingat 2020-01-01 09:00")
    assert "sudah lewat" in past.text
    await h.say(USER, "batal")
    monthly, once = await h.core.schedules.list_reminders(uid)
    assert monthly.timezone == "Asia/Makassar" and once.timezone == "Asia/Makassar"
    mark = h.fake.mark()
    when = at(WIB, day.year, day.month, day.day, 9)
    assert await h.core.schedules.fire_reminder(once.id, when) == "sent"
    await h.fake.wait_for("sendMessage", chat_id=chat, after=mark)
    assert [r.id for r in await h.core.schedules.list_reminders(uid)] == [monthly.id]
    assert f"reminder:{once.id}" not in await _jobs(h)


async def test_langganan_toggles_and_tips_follow_it(harness):
    h = harness
    uid, chat = await _user(h)
    page = await h.say(USER, "/langganan")
    assert "Tips keamanan akun: <b>aktif</b>" in page.text
    assert not any(d.startswith("sub:tsch") for _, d in buttons_of(page))  # not an admin
    off = await h.press(USER, message_id_of(page), "sub:tips")
    assert "Tips keamanan akun: <b>mati</b>" in off.text
    cal_off = await h.press(USER, message_id_of(page), "sub:cal")
    assert "Pengingat kalender konten: <b>mati</b>" in cal_off.text
    user = await h.core.users.get(USER)
    assert not user.tips_enabled and not user.calendar_enabled
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(page), "sub:tpause")  # admins only
    assert "admin" in (await h.callback_answer(mark)).params["text"].lower()
    assert not (await h.core.schedules.system("tips")).paused
    assert await h.core.schedules.run_tips(at(WIB, 2026, 11, 30, 9)) == 0
    assert await h.core.schedules.run_calendar(at(WIB, 2027, 2, 6, 8)) == 0
    on = await h.press(USER, message_id_of(page), "sub:tips")
    assert "Tips keamanan akun: <b>aktif</b>" in on.text
    assert await h.core.schedules.run_tips(at(WIB, 2026, 12, 7, 9)) == 1


async def test_tips_at_nine_local_in_wib_and_wita_with_read_more_button(harness):
    h = harness
    _, wib_chat = await _user(h, 8101)
    _, wita_chat = await _user(h, 8102, tz="Asia/Makassar")
    tips = h.core.schedules.tips()
    assert len(tips) >= 30
    mark = h.fake.mark()
    # Monday 08.00 WIB = 09.00 WITA: only the WITA user.
    assert await h.core.schedules.run_tips(at(WITA, 2026, 11, 30, 9)) == 1
    tip = await h.fake.wait_for("sendMessage", chat_id=wita_chat, after=mark)
    assert f"Tips Keamanan: {tips[0].title}" in tip.text
    assert buttons_of(tip) == [("📖 Baca selengkapnya", f"kb:e:{tips[0].entry}:0")]
    assert await h.core.schedules.run_tips(at(WIB, 2026, 11, 30, 8, 59)) == 0
    assert await h.core.schedules.run_tips(at(WIB, 2026, 11, 30, 9)) == 1
    await h.fake.wait_for("sendMessage", chat_id=wib_chat, after=mark)
    # The next Monday: the second tip, never the first again.
    mark = h.fake.mark()
    assert await h.core.schedules.run_tips(at(WIB, 2026, 12, 7, 9)) == 2
    nxt = await h.fake.wait_for("sendMessage", chat_id=wib_chat, after=mark)
    assert tips[1].title in nxt.text
    # "Baca selengkapnya" opens the knowledge entry.
    entry = await h.press(8101, message_id_of(nxt), f"kb:e:{tips[1].entry}:0")
    assert entry.ok


async def test_calendar_reminders_at_eight_local_in_wib_and_wita(harness):
    h = harness
    _, wib_chat = await _user(h, 8201)
    _, wita_chat = await _user(h, 8202, tz="Asia/Makassar")
    # Hari Pers Nasional is 9 February; H-3 is 6 February 08.00 local.
    sched = h.core.schedules
    mark = h.fake.mark()
    assert await sched.run_calendar(at(WITA, 2027, 2, 6, 7, 59)) == 0
    n = await sched.run_calendar(at(WITA, 2027, 2, 6, 8))
    assert n >= 1
    got = await h.fake.wait_for(
        "sendMessage",
        chat_id=wita_chat,
        after=mark,
        predicate=lambda c: "Hari Pers Nasional" in c.text,
    )
    assert "H-3: siapkan konten Hari Pers Nasional" in got.text and "Ide konten" in got.text
    assert not [c for c in h.fake.calls_of("sendMessage", wib_chat) if c.params.get("text")]
    assert await sched.run_calendar(at(WITA, 2027, 2, 6, 8, 30)) == 0  # 07.30 WIB
    assert await sched.run_calendar(at(WIB, 2027, 2, 6, 8)) == n
    await h.fake.wait_for(
        "sendMessage", chat_id=wib_chat, predicate=lambda c: "Hari Pers Nasional" in c.text
    )
    assert await sched.run_calendar(at(WIB, 2027, 2, 6, 18)) == 0  # never twice
    # After a restart, the catch-up does not send them again either.
    await h.restart()
    assert (await h.core.schedules.catch_up(at(WIB, 2027, 2, 6, 18)))["calendar"] == 0


async def test_admin_changes_the_tips_schedule_without_restart(harness):
    h = harness
    h.fake.user(ADMIN_ID, "Dewi")
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")
    page = await h.say(ADMIN_ID, "/langganan")
    assert "setiap Senin pukul 09.00" in page.text
    ask = await h.press(ADMIN_ID, message_id_of(page), "sub:tsch")
    assert "Jadwal tips keamanan" in ask.text
    bad = await h.say(ADMIN_ID, "besok jam 9")
    assert "harus berulang" in bad.text
    ok = await h.say(ADMIN_ID, "setiap Kamis 10.00")
    assert "setiap Kamis pukul 10.00" in ok.text
    await h.core.background.scheduler.settle()
    nxt = h.core.background.scheduler.next_run("tips")
    assert nxt is not None and nxt.astimezone(WIB).weekday() == 3
    assert nxt.astimezone(WIB).hour in (8, 9, 10)  # 10.00 in the earliest zone in use
    page = await h.say(ADMIN_ID, "/langganan")
    paused = await h.press(ADMIN_ID, message_id_of(page), "sub:tpause")
    assert "sedang dihentikan admin" in paused.text
    await h.core.background.scheduler.settle()
    assert "tips" not in h.core.background.scheduler.job_ids()


async def test_group_chats_point_to_the_private_chat(harness):
    h = harness
    await _user(h)
    for command in ("/pengingat", "/langganan"):
        answer = await h.say(USER, command, chat_id=-1001, chat_type="group")
        assert "chat pribadi" in answer.text and command in answer.text
    h.fake.user(ADMIN_ID, "Dewi")
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")
    answer = await h.say(ADMIN_ID, "/siaran", chat_id=-1001, chat_type="group")
    assert "chat pribadi" in answer.text
    assert (await h.core.users.get(ADMIN_ID)).pending is None


async def test_schedule_and_text_in_one_message_as_the_list_suggests(harness):
    h = harness
    uid, _ = await _user(h, tz="Asia/Makassar")
    empty = await h.say(USER, "/pengingat")
    assert "setiap Senin 08.00: unggah info" in empty.text  # the example it gives ...
    await h.press(USER, message_id_of(empty), "pg:add")
    saved = await h.say(USER, "setiap Senin 08.00: unggah <info> layanan minggu ini")
    assert "Pengingat disimpan" in saved.text  # ... works as written
    assert "unggah &lt;info&gt; layanan" in saved.text and "Senin pukul 08.00 WITA" in saved.text
    saved = await h.say(USER, "/pengingat senin-jumat 7:30: cek DM & komentar")
    assert "Pengingat disimpan" in saved.text and "hari kerja (Senin–Jumat)" in saved.text
    assert "pukul 07.30 WITA" in saved.text and "cek DM &amp; komentar" in saved.text
    first, second = await h.core.schedules.list_reminders(uid)
    assert first.text == "unggah <info> layanan minggu ini" and second.rule.days == (0, 1, 2, 3, 4)
    assert (await h.core.users.get(USER)).pending is None
    # Too long: said so, and the next message is taken as the (shorter) text.
    long = await h.say(USER, "/pengingat minggu 8 malam: " + "x" * 600)
    assert "terlalu panjang" in long.text
    done = await h.say(USER, "Rekap mingguan")
    assert "Pengingat disimpan" in done.text and "setiap Minggu pukul 20.00 WITA" in done.text


async def test_a_one_off_reminder_that_went_out_cannot_be_paused_from_an_old_list(harness):
    h = harness
    uid, chat = await _user(h)
    await h.say(USER, "/pengingat besok jam 9: kirim laporan")
    [r] = await h.core.schedules.list_reminders(uid)
    listing = await h.say(USER, "/pengingat")
    assert await h.core.schedules.fire_reminder(r.id, r.next_at) == "sent"
    mark = h.fake.mark()
    h.fake.press_button(USER, message_id_of(listing), f"pg:p:{r.id}")
    assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"]
    assert await h.core.schedules.list_reminders(uid) == []
