"""Security tips and content calendar: the real files load, and every problem is reported."""

from __future__ import annotations

import sys
import textwrap
import types
from datetime import date
from pathlib import Path

import pytest

from bot.schedules.calendar import (
    CALENDAR_FILE,
    events_without_dates,
    load_calendar,
    reminders_due,
)
from bot.schedules.content import check_content
from bot.schedules.tips import TIPS_FILE, load_tips
from bot.schedules.yamlfile import ContentError

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"

# The curriculum of DESIGN.md: the ids a tip may link to.
_CURRICULUM_IDS = """
    strategi-komunikasi-digital strategi-kalender-konten strategi-pilar-konten
    strategi-analisis-audiens strategi-pilih-platform strategi-krisis-komunikasi
    strategi-menanggapi-komentar strategi-hoaks strategi-kolaborasi-opd
    strategi-informasi-pembangunan desain-canva-memulai desain-ukuran-konten desain-brand-kit
    desain-template desain-tipografi-warna desain-infografis desain-video-pendek
    desain-ekspor-kualitas desain-aset-lisensi desain-aksesibilitas keamanan-2fa
    keamanan-kata-sandi keamanan-phishing keamanan-akun-diretas keamanan-akses-tim
    keamanan-perangkat keamanan-data-pribadi keamanan-aplikasi-pihak-ketiga
    keamanan-kode-cadangan etika-pedoman-medsos-instansi etika-netralitas-asn
    etika-ujaran-kebencian-sara etika-hak-cipta etika-akun-resmi etika-sop-persetujuan
    etika-privasi-warga etika-keterbukaan-informasi etika-bahasa-santun etika-koreksi-kesalahan
    konten-caption konten-5w1h konten-tagar konten-waktu-unggah konten-storytelling
    konten-siaran-langsung konten-judul-thumbnail-youtube analitik-metrik-dasar
    analitik-instagram-insights analitik-youtube-studio analitik-laporan-kinerja
    analitik-meningkatkan-interaksi analitik-evaluasi-postingan bantuan-pakai-bot
"""
CURRICULUM = set(_CURRICULUM_IDS.split())

GOOD_TIP = """\
  - id: tip-satu
    title: Judul
    text: Teks **tebal** yang pendek.
    entry: keamanan-2fa
"""

GOOD_EVENT = """\
  - id: hari-a
    name: Hari A
    date: "02-09"
    lead_days: [3]
    ideas: [ide satu, ide dua]
"""


def write(folder: Path, tips: str | None = None, events: str | None = None) -> Path:
    """A knowledge folder with valid files, except the parts given."""
    (folder / TIPS_FILE).write_text(tips if tips is not None else "tips:\n" + GOOD_TIP)
    (folder / CALENDAR_FILE).write_text(events if events is not None else "events:\n" + GOOD_EVENT)
    return folder


def own_problems(folder: Path, entry_ids: set[str] = CURRICULUM) -> list[tuple[str, str]]:
    names = {str(folder / TIPS_FILE), str(folder / CALENDAR_FILE)}
    return [p for p in check_content(folder, entry_ids) if p[0] in names]


def problem_texts(folder: Path, entry_ids: set[str] = CURRICULUM) -> str:
    return "\n".join(f"{f}: {p}" for f, p in own_problems(folder, entry_ids))


# --------------------------------------------------------------------------- real files


def test_real_tips_load() -> None:
    tips = load_tips(KNOWLEDGE)
    assert len(tips) >= 36
    assert len({t.id for t in tips}) == len(tips)
    assert all(t.id.startswith("tip-") and len(t.text) <= 500 for t in tips)
    assert {t.entry for t in tips} <= CURRICULUM
    # every security entry of the curriculum gets tips
    keamanan = {i for i in CURRICULUM if i.startswith("keamanan-")}
    assert keamanan <= {t.entry for t in tips}


def test_real_calendar_loads_with_required_days() -> None:
    events = {e.id: e for e in load_calendar(KNOWLEDGE)}
    assert events["hari-pers-nasional"].occurrences(2027) == [date(2027, 2, 9)]
    assert events["hut-ri"].lead_days == (7, 3)
    assert events["hari-kesadaran-nasional"].lead_days == (1,)
    assert len(events["hari-kesadaran-nasional"].occurrences(2026)) == 12
    assert events["hari-jadi-kabupaten-tabanan"].regions == ("tabanan",)
    assert events["hari-jadi-kabupaten-tabanan"].occurrences(2026) == [date(2026, 11, 29)]
    assert events["hari-jadi-provinsi-bali"].regions == ("bali",)
    assert events["hari-jadi-tapanuli-selatan"].regions == ("tapanuli-selatan",)
    # 2026 from the library equals the SKB 3 Menteri 2026
    assert events["idul-fitri"].occurrences(2026) == [date(2026, 3, 21)]
    assert events["isra-mikraj"].occurrences(2026) == [date(2026, 1, 16)]
    assert events["hari-suci-nyepi"].occurrences(2026) == [date(2026, 3, 19)]
    # pawukon cycles: Galungan twice in 2027, Kuningan ten days after
    assert events["galungan"].occurrences(2026) == [date(2026, 6, 17)]
    assert events["galungan"].occurrences(2027) == [date(2027, 1, 13), date(2027, 8, 11)]
    assert events["kuningan"].occurrences(2027) == [date(2027, 1, 23), date(2027, 8, 21)]
    for event_id in (
        "tahun-baru",
        "hari-kartini",
        "hari-pendidikan-nasional",
        "hari-kebangkitan-nasional",
        "hari-lahir-pancasila",
        "hari-sumpah-pemuda",
        "hari-pahlawan",
        "hari-ibu",
        "natal",
        "tahun-baru-imlek",
        "hari-suci-nyepi",
        "hari-raya-waisak",
        "idul-adha",
        "kuningan",
    ):
        assert event_id in events
    for event in events.values():
        assert 1 <= len(event.ideas) <= 6
        # every event has its dates of 2026 and 2027 (the library, a rule or the file)
        assert event.occurrences(2026) and event.occurrences(2027), event.id


def test_real_files_have_no_problems() -> None:
    assert own_problems(KNOWLEDGE) == []


# --------------------------------------------------------------------------- occurrences


def test_feb_29_is_skipped_in_common_years(tmp_path: Path) -> None:
    write(
        tmp_path,
        events="events:\n"
        + GOOD_EVENT.replace('"02-09"', '"02-29"')
        + "  - id: akhir\n    name: Akhir bulan\n    day_of_month: 31\n"
        "    lead_days: [0]\n    ideas: [x]\n",
    )
    leap, monthly = load_calendar(tmp_path)
    assert leap.occurrences(2027) == []
    assert leap.occurrences(2028) == [date(2028, 2, 29)]
    assert [d.month for d in monthly.occurrences(2026)] == [1, 3, 5, 7, 8, 10, 12]


def test_reminders_due_crosses_the_year(tmp_path: Path) -> None:
    write(
        tmp_path,
        events="events:\n"
        + GOOD_EVENT.replace('"02-09"', '"01-01"').replace("[3]", "[7, 3]")
        + '  - id: pindah\n    name: Pindah\n    dates:\n      2027: ["2027-01-05"]\n'
        "    lead_days: [0]\n    ideas: [x]\n",
    )
    events = load_calendar(tmp_path)
    due = reminders_due(events, date(2026, 12, 25))
    assert [(e.id, d, lead) for e, d, lead in due] == [("hari-a", date(2027, 1, 1), 7)]
    assert [e.id for e, _, _ in reminders_due(events, date(2027, 1, 5))] == ["pindah"]
    assert reminders_due(events, date(2026, 12, 26)) == []
    assert [e.id for e in events_without_dates(events, 2028)] == ["pindah"]


# --------------------------------------------------------------------------- problems


def test_valid_temp_folder_has_no_problems(tmp_path: Path) -> None:
    write(tmp_path)
    assert own_problems(tmp_path) == []
    assert [t.id for t in load_tips(tmp_path)] == ["tip-satu"]


def test_missing_files(tmp_path: Path) -> None:
    problems = own_problems(tmp_path)
    assert {f for f, _ in problems} == {str(tmp_path / TIPS_FILE), str(tmp_path / CALENDAR_FILE)}
    assert all("tidak ditemukan" in p for _, p in problems)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, tips="tips:\n  - id: tip-a\n    title: [tidak ditutup\n")
    problems = own_problems(tmp_path)
    assert len(problems) == 1
    assert problems[0][0] == str(tmp_path / TIPS_FILE)
    assert "YAML tidak valid di baris" in problems[0][1]
    with pytest.raises(ContentError) as info:
        load_tips(tmp_path)
    assert info.value.problems == problems


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    write(tmp_path, tips="tips:\n" + GOOD_TIP + "    text: kedua\n")
    assert "ditulis dua kali" in problem_texts(tmp_path)


def test_wrong_top_level(tmp_path: Path) -> None:
    write(tmp_path, tips="- id: tip-a\n", events="events: []\nlain: 1\n")
    text = problem_texts(tmp_path)
    assert "harus diawali 'tips:'" in text
    assert "'events' harus berupa daftar" in text
    assert "kunci tingkat atas tidak dikenal: lain" in text


def test_schema_error_names_the_item(tmp_path: Path) -> None:
    write(
        tmp_path,
        tips="tips:\n" + GOOD_TIP + "  - id: tip-dua\n    title: Tanpa teks\n"
        "    entry: keamanan-2fa\n    warna: merah\n  - judul saja\n",
    )
    text = problem_texts(tmp_path)
    assert "tip 'tip-dua': text: kolom wajib belum diisi" in text
    assert "tip 'tip-dua': warna: kolom tidak dikenal" in text
    assert "tip ke-3: harus berupa mapping" in text


def test_bad_tip_id_and_markup(tmp_path: Path) -> None:
    write(
        tmp_path,
        tips="tips:\n"
        + GOOD_TIP.replace("tip-satu", "Satu")
        + GOOD_TIP.replace("tip-satu", "tip-dua").replace("**tebal**", "<b>tebal</b>")
        + GOOD_TIP.replace("tip-satu", "tip-tiga").replace("**tebal**", "**tebal"),
    )
    text = problem_texts(tmp_path)
    assert "tip 'Satu': id: id harus slug" in text
    assert "tip 'tip-dua': text: teks berisi tag HTML" in text
    assert "tip 'tip-tiga': text: tanda ** untuk huruf tebal tidak berpasangan" in text


def test_duplicate_ids(tmp_path: Path) -> None:
    write(
        tmp_path,
        tips="tips:\n" + GOOD_TIP + GOOD_TIP,
        events="events:\n" + GOOD_EVENT + GOOD_EVENT,
    )
    problems = own_problems(tmp_path)
    assert (str(tmp_path / TIPS_FILE), "id ganda 'tip-satu' (butir ke-1 dan ke-2)") in problems
    assert (str(tmp_path / CALENDAR_FILE), "id ganda 'hari-a' (butir ke-1 dan ke-2)") in problems


def test_unknown_entry(tmp_path: Path) -> None:
    write(tmp_path, tips="tips:\n" + GOOD_TIP.replace("keamanan-2fa", "keamanan-tidak-ada"))
    assert own_problems(tmp_path) == [
        (str(tmp_path / TIPS_FILE), "tip 'tip-satu': entry 'keamanan-tidak-ada' tidak dikenal")
    ]
    # the loader does not know the entries; the check does
    assert load_tips(tmp_path)[0].entry == "keamanan-tidak-ada"


def test_text_too_long(tmp_path: Path) -> None:
    long_text = "kata " * 101  # 504 characters after stripping
    write(tmp_path, tips="tips:\n" + GOOD_TIP.replace("Teks **tebal** yang pendek.", long_text))
    text = problem_texts(tmp_path)
    assert "tip 'tip-satu': text: teks terlalu panjang: 504 karakter (maks 500)" in text
    with pytest.raises(ContentError):
        load_tips(tmp_path)


def test_exactly_one_date_rule(tmp_path: Path) -> None:
    none = GOOD_EVENT.replace('    date: "02-09"\n', "").replace("hari-a", "tanpa")
    both = GOOD_EVENT.replace("hari-a", "dua").replace(
        '    date: "02-09"\n', '    date: "02-09"\n    day_of_month: 17\n'
    )
    write(tmp_path, events="events:\n" + none + both)
    text = problem_texts(tmp_path)
    rules = "isi tepat satu dari date / day_of_month / holiday / cycle / dates"
    assert f"event 'tanpa': {rules}" in text
    assert "(yang terisi: tidak ada)" in text
    assert f"event 'dua': {rules}" in text
    assert "(yang terisi: date, day_of_month)" in text


@pytest.mark.parametrize("value", ['"02-30"', '"13-01"', '"2-9"', "2026-02-09", '"09 Feb"'])
def test_invalid_month_day(tmp_path: Path, value: str) -> None:
    write(tmp_path, events="events:\n" + GOOD_EVENT.replace('"02-09"', value))
    text = problem_texts(tmp_path)
    assert "event 'hari-a': date:" in text
    with pytest.raises(ContentError):
        load_calendar(tmp_path)


@pytest.mark.parametrize("value", ["[61]", "[-1]", "[]", "[3, 3]", "[tiga]"])
def test_invalid_lead_days(tmp_path: Path, value: str) -> None:
    write(tmp_path, events="events:\n" + GOOD_EVENT.replace("[3]", value))
    assert "event 'hari-a': lead_days" in problem_texts(tmp_path)


def test_lead_days_bounds_are_inclusive(tmp_path: Path) -> None:
    write(tmp_path, events="events:\n" + GOOD_EVENT.replace("[3]", "[0, 60]"))
    assert own_problems(tmp_path) == []
    assert load_calendar(tmp_path)[0].lead_days == (60, 0)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ('      2026: "2027-03-10"', "tidak berada di tahun 2026"),
        ('      2026: "2026-02-30"', "bukan tanggal YYYY-MM-DD"),
        ('      dua: "2026-03-10"', "tahun 'dua' tidak valid"),
        ('      2026: "2026-03-10"\n      2026: "2026-03-11"', "ditulis dua kali"),
    ],
)
def test_invalid_dates(tmp_path: Path, dates: str, expected: str) -> None:
    event = GOOD_EVENT.replace('    date: "02-09"\n', "    dates:\n" + dates + "\n")
    write(tmp_path, events="events:\n" + event)
    assert expected in problem_texts(tmp_path)


def test_ideas_and_day_of_month_limits(tmp_path: Path) -> None:
    event = textwrap.dedent(
        """\
          - id: bulanan
            name: Bulanan
            day_of_month: 32
            lead_days: [1]
            ideas: []
        """
    )
    write(tmp_path, events="events:\n" + textwrap.indent(event, "  "))
    text = problem_texts(tmp_path)
    assert "event 'bulanan': day_of_month: terlalu besar" in text
    assert "event 'bulanan': ideas: ideas harus berisi 1-6 ide konten" in text


# --------------------------------------------------------------------------- other checkers


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attrs: object) -> None:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_surveys_and_opds_checkers_are_called(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path)
    seen: list[Path] = []

    def check_surveys(folder: Path) -> list[tuple[str, str]]:
        seen.append(folder)
        return [("surveys/pelatihan.yaml", "pertanyaan tanpa teks")]

    def check_opds(folder: Path) -> list[tuple[str, str]]:
        raise RuntimeError("rusak")

    _fake_module(monkeypatch, "bot.feedback", __path__=[])
    _fake_module(monkeypatch, "bot.feedback.templates", check_surveys=check_surveys)
    _fake_module(monkeypatch, "bot.accounts.opds", check_opds=check_opds)
    problems = check_content(tmp_path, CURRICULUM)
    assert seen == [tmp_path]
    assert ("surveys/pelatihan.yaml", "pertanyaan tanpa teks") in problems
    assert any("bot.accounts.opds.check_opds gagal" in p for _, p in problems)


def test_missing_checkers_are_skipped(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path)
    # None in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "bot.feedback.templates", None)
    _fake_module(monkeypatch, "bot.accounts.opds")  # module without check_opds
    assert check_content(tmp_path, CURRICULUM) == []


def test_the_help_entry_names_every_command_of_the_menu():
    """``bantuan-pakai-bot`` is the answer to "bot ini bisa apa": it lists every command the
    bot offers in its menu (for users, organizers and admins), so none is a secret."""
    from bot.commands import COMMANDS

    body = (KNOWLEDGE / "bantuan" / "bantuan-pakai-bot.md").read_text(encoding="utf-8")
    missing = [c.name for c in COMMANDS if c.name != "start" and f"/{c.name}" not in body]
    assert not missing, f"bantuan-pakai-bot does not mention: {missing}"
