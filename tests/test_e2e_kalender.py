"""/kalender end to end through the fake Bot API: the next 30 days for the deployment's region
(Tabanan: Bali's days too) with content ideas, paging with inline buttons, and one tap turning an
event into a personal reminder (H-N at a chosen hour) that fires through the reminders service."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.commands import COMMANDS
from bot.schedules.calendar import EVENT_ID_MAX, load_calendar
from handlers.schedules.kalender import HOURS, LEADS, PREFIX
from tests.conftest import KNOWLEDGE, buttons_of, message_id_of
from tests.outbox_helpers import Clock, add_users

WITA = ZoneInfo("Asia/Makassar")
USER = 8801


def at(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WITA).astimezone(UTC)


async def _user(h, telegram_id=USER):
    h.fake.user(telegram_id, "Made")
    [(uid, chat)] = await add_users(h.core.db, 1, start=telegram_id, tz="Asia/Makassar")
    return uid, chat


def _data(call) -> list[str]:
    return [data for _, data in buttons_of(call)]


async def test_kalender_pages_and_one_tap_makes_a_personal_reminder(harness):
    h = harness
    uid, chat = await _user(h)
    h.core.schedules.clock = Clock(at(2026, 12, 28, 9))
    first = await h.say(USER, "/kalender")
    text = first.text
    assert "Kalender konten 30 hari ke depan" in text and "Kabupaten Tabanan" in text
    assert "28 Desember 2026 – 27 Januari 2027" in text and "halaman 1/2" in text
    assert "1. Tahun Baru Masehi" in text and "Jumat, 1 Januari 2027 · 4 hari lagi" in text
    assert "2. Isra Mikraj Nabi Muhammad SAW" in text and "Selasa, 5 Januari 2027" in text
    assert "3. Hari Raya Galungan" in text and "Provinsi Bali" in text
    assert "Foto penjor di lingkungan kantor" in text  # the content ideas
    assert "4. Hari Kesadaran Nasional" in text
    data = _data(first)
    assert data == [
        f"{PREFIX}:e:tahun-baru:20270101",
        f"{PREFIX}:e:isra-mikraj:20270105",
        f"{PREFIX}:e:galungan:20270113",
        f"{PREFIX}:e:hari-kesadaran-nasional:20270117",
        f"{PREFIX}:p:1",
    ]
    mid = message_id_of(first)
    second = await h.press(USER, mid, f"{PREFIX}:p:1", method="editMessageText")
    assert "halaman 2/2" in second.text and "5. Hari Raya Kuningan" in second.text
    assert "Tahun Baru Masehi" not in second.text
    assert _data(second) == [f"{PREFIX}:e:kuningan:20270123", f"{PREFIX}:p:0"]
    back = await h.press(USER, mid, f"{PREFIX}:p:0", method="editMessageText")
    assert "halaman 1/2" in back.text
    # Isra Mikraj -> H-3 -> 08.00: a one-off reminder on Saturday 2 January 2027, 08.00 WITA.
    leads = await h.press(USER, mid, f"{PREFIX}:e:isra-mikraj:20270105", method="editMessageText")
    assert "Pengingat untuk Isra Mikraj Nabi Muhammad SAW" in leads.text
    assert [t for t, _ in buttons_of(leads)] == [
        "H-7",
        "H-3",
        "H-1",
        "Hari H",
        "🗓 Kembali ke kalender",
    ]
    hours = await h.press(USER, mid, f"{PREFIX}:l:isra-mikraj:20270105:3", method="editMessageText")
    assert "H-3: Sabtu, 2 Januari 2027" in hours.text and "WITA" in hours.text
    assert f"{PREFIX}:h:isra-mikraj:20270105:3:8" in _data(hours)
    saved = await h.press(
        USER, mid, f"{PREFIX}:h:isra-mikraj:20270105:3:8", method="editMessageText"
    )
    assert "Pengingat disimpan" in saved.text and "Siapkan konten Isra Mikraj" in saved.text
    assert "Sabtu, 2 Januari 2027 pukul 08.00 WITA" in saved.text
    # A second tap on the same button does not make a second reminder.
    mark = h.fake.mark()
    h.fake.press_button(USER, mid, f"{PREFIX}:h:isra-mikraj:20270105:3:8")
    again = await h.fake.wait_for("editMessageText", chat_id=chat, after=mark)
    assert not again.ok  # the same text again: "message is not modified"
    [r] = await h.core.schedules.list_reminders(uid)
    assert r.rule.kind == "once" and r.rule.on_date == date(2027, 1, 2) and r.rule.hhmm == "08:00"
    assert r.timezone == "Asia/Makassar" and r.next_at == at(2027, 1, 2, 8)
    # It fires through the reminders service like any other reminder.
    mark = h.fake.mark()
    assert await h.core.schedules.fire_reminder(r.id, at(2027, 1, 2, 8)) == "sent"
    got = await h.fake.wait_for("sendMessage", chat_id=chat, after=mark)
    assert "Pengingat" in got.text and "Siapkan konten Isra Mikraj Nabi Muhammad SAW" in got.text
    assert "H-3: Selasa, 5 Januari 2027" in got.text


async def test_kalender_refuses_stale_and_tampered_buttons(harness):
    h = harness
    await _user(h)
    h.core.schedules.clock = Clock(at(2026, 12, 28, 9))
    first = await h.say(USER, "/kalender")
    mid = message_id_of(first)
    for data in (
        f"{PREFIX}:e:tidak-ada:20270105",  # no such event
        f"{PREFIX}:e:isra-mikraj:20270106",  # not its date
        f"{PREFIX}:e:isra-mikraj:20261225",  # in the past
        f"{PREFIX}:e:hari-jadi-tapanuli-selatan:20271124",  # another region's day
        f"{PREFIX}:l:isra-mikraj:20270105:5",  # not an offered lead
        f"{PREFIX}:l:tahun-baru:20270101:7",  # H-7 is already past
        f"{PREFIX}:h:isra-mikraj:20270105:3:11",  # not an offered hour
        f"{PREFIX}:h:isra-mikraj:20270105:3",  # incomplete
        f"{PREFIX}:p:x",
        f"{PREFIX}:zz",
    ):
        mark = h.fake.mark()
        h.fake.press_button(USER, mid, data)
        assert "tidak berlaku" in (await h.callback_answer(mark)).params["text"], data
    assert await h.core.schedules.list_reminders((await h.core.users.get(USER)).id) == []
    # A user who never pressed /start is asked to.
    h.fake.user(8899, "Baru")
    unknown = await h.say(8899, "/kalender")
    assert "/start" in unknown.text


async def test_kalender_in_the_menu_and_help(harness):
    h = harness
    await _user(h)
    assert "kalender" in [c.name for c in COMMANDS]
    help_text = (await h.say(USER, "/bantuan")).text
    assert "/kalender" in help_text


def test_button_data_fits_telegrams_64_bytes() -> None:
    events = load_calendar(KNOWLEDGE)
    longest = max(len(e.id) for e in events)
    assert longest <= EVENT_ID_MAX
    worst = f"{PREFIX}:h:{'x' * EVENT_ID_MAX}:20271231:{max(LEADS)}:{max(HOURS)}"
    assert len(worst.encode()) <= 64
