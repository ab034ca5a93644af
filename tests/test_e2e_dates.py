"""End to end: the one date parser in every flow, for the failures measured in the field -
/sesi closing "besok jam 5 sore", /siaran "kamis jam 7 pagi WITA", "tiap tanggal 1" without an
hour (asked for), and a day/month typed after its hour (asked about, never moved a year on)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import ADMIN_ID, message_id_of
from tests.test_e2e_broadcast import _admin, _compose, _people, _preview_all
from tests.test_e2e_reminders import USER, _user

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")


async def test_reminder_without_an_hour_is_asked_for_the_hour(harness):
    h = harness
    uid, _ = await _user(h, tz="Asia/Makassar")
    ask = await h.say(USER, "/pengingat tiap tanggal 1")
    assert "Jam berapa" in ask.text and "setiap tanggal 1" in ask.text
    what = await h.say(USER, "jam 9")
    assert "setiap tanggal 1 pukul 09.00 WITA" in what.text
    await h.say(USER, "Laporan bulanan")
    [r] = await h.core.schedules.list_reminders(uid)
    assert r.rule.kind == "monthly" and r.rule.day == 1 and r.rule.hhmm == "09:00"
    # "tiap akhir bulan" is shown as the month's last day, not as "tanggal 31"
    what = await h.say(USER, "/pengingat tiap akhir bulan jam 4 sore")
    assert "akhir bulan" in what.text and "tanggal 31" not in what.text


async def test_a_passed_day_is_asked_about_and_ya_takes_next_year(harness):
    h = harness
    uid, _ = await _user(h)
    earlier = datetime.now(WIB) - timedelta(hours=2)
    typed = f"{earlier.day}/{earlier.month} jam {earlier:%H.%M}"
    asked = await h.say(USER, f"/pengingat {typed}")
    assert "sudah lewat" in asked.text and "Maksud Anda" in asked.text
    assert str(earlier.year + 1) in asked.text
    assert await h.core.schedules.list_reminders(uid) == []  # nothing saved silently
    what = await h.say(USER, "ya")
    assert f"{earlier.day} " in what.text and f"{earlier.year + 1} pukul" in what.text
    await h.say(USER, "Ucapan hari jadi")
    [r] = await h.core.schedules.list_reminders(uid)
    assert r.rule.on_date.year == earlier.year + 1


async def test_siaran_kamis_jam_7_pagi_wita(harness):
    h = harness
    await _admin(h)
    await h.core.users.set_timezone(ADMIN_ID, "Asia/Jakarta")  # chose WIB (Tabanan is WITA)
    await _people(h, 2, start=7351)
    audience, mid = await _compose(h, "Rapat hari Kamis")
    summary = await _preview_all(h, audience, mid)
    await h.press(ADMIN_ID, message_id_of(summary), f"bc:sch:{mid}")
    done = await h.say(ADMIN_ID, "kamis jam 7 pagi WITA")
    assert "terjadwal" in done.text
    assert "Kamis" in done.text and "06.00 WIB (07.00 WITA)" in done.text
    p = await h.core.outbox.get(mid)
    local = p.scheduled_at.astimezone(WITA)
    assert local.weekday() == 3 and (local.hour, local.minute) == (7, 0)
    assert p.scheduled_at > datetime.now(WIB)


async def test_sesi_closing_besok_jam_5_sore(harness):
    h = harness
    await h.core.users.register(ADMIN_ID, ADMIN_ID, "Dewi")
    await h.core.users.set_timezone(ADMIN_ID, "Asia/Jakarta")  # chose WIB (Tabanan is WITA)
    listing = await h.say(ADMIN_ID, "/sesi")
    await h.press(ADMIN_ID, message_id_of(listing), "fbo:n:-")
    await h.say(ADMIN_ID, "Pelatihan Canva")
    for _ in range(3):  # dates, place, organizer skipped
        await h.say(ADMIN_ID, "-")
    prompt = await h.say(ADMIN_ID, "Canva")
    prompt = await h.press(ADMIN_ID, message_id_of(prompt), "fbo:w:template:default")
    prompt = await h.press(ADMIN_ID, message_id_of(prompt), "fbo:w:anonymous:0")
    ask = await h.say(ADMIN_ID, "besok")  # no hour: asked for, the wizard waits
    assert "Jam berapa" in ask.text
    card = await h.say(ADMIN_ID, "jam 5 sore")
    tomorrow = (datetime.now(WIB) + timedelta(days=1)).date()
    assert f"{tomorrow:%d-%m-%Y} 17:00" in card.text
