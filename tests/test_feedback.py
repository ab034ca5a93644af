"""Feedback surveys, core level: templates, answering rules, anonymity, retention, reports."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from bot.accounts.models import User
from bot.accounts.service import UserService
from bot.config import load_settings
from bot.dates import NEED_TIME, parse_date_range, parse_when
from bot.db import Database
from bot.db.base import utcnow
from bot.feedback import report
from bot.feedback.answers import parse_button, parse_text
from bot.feedback.codes import CODE_ALPHABET, normalize_code
from bot.feedback.errors import (
    InvalidAnswer,
    NoResponse,
    NotAllowed,
    SessionClosed,
    SessionInputError,
    SessionNotFound,
    SessionNotOpen,
    StaleStep,
)
from bot.feedback.models import FeedbackAnswer, FeedbackResponse, FeedbackSession
from bot.feedback.service import FeedbackService
from bot.feedback.templates import check_surveys, expand, load_template

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"
TOPICS5 = [
    "Strategi komunikasi pemerintah",
    "Desain visual dengan Canva",
    "Keamanan digital",
    "Etika dan tata kelola akun instansi",
    "Penulisan konten dan analitik kinerja",
]


@pytest.fixture
async def svc(db_url):
    settings = load_settings(database_url=db_url, knowledge_dir=KNOWLEDGE, _env_file=None)
    db = Database(db_url)
    service = FeedbackService(db, settings, UserService(db, settings))
    try:
        yield service
    finally:
        await db.dispose()


async def register(svc: FeedbackService, tid: int, name: str = "Peserta") -> None:
    await svc.users.register(tid, tid, name, f"user{tid}")


async def fill(svc, code, tid, answers: dict, *, submit: bool = True):
    """Answer every question of the session the way ``answers`` says (key -> answer).

    rating/nps: int; single: choice index or ("text", str); multi: list of indexes;
    text: str; missing key on an optional question: skip.
    """
    step = await svc.start(code, tid)
    while step.kind == "question":
        q = step.question
        a = answers.get(q["key"])
        if a is None:
            step = await svc.skip(code, tid, step.index)
        elif isinstance(a, tuple):
            step = await svc.answer_text(code, tid, step.index, a[1])
        elif q["type"] == "multi":
            for i in a:
                step = await svc.toggle(code, tid, step.index, i)
            step = await svc.next(code, tid, step.index)
        elif q["type"] == "text":
            step = await svc.answer_text(code, tid, step.index, a)
        else:
            step = await svc.answer(code, tid, step.index, a)
    assert step.kind == "review"
    if submit:
        step = await svc.submit(code, tid)
        assert step.kind == "done"
    return step


# --------------------------------------------------------------------------- templates


def test_shipped_templates_are_valid():
    assert check_surveys(KNOWLEDGE) == []
    assert check_surveys(KNOWLEDGE / "surveys") == []
    tpl = load_template(KNOWLEDGE / "surveys", "default")
    frozen = expand(tpl, tpl.default_topics)
    qs = frozen["questions"]
    assert [q["key"] for q in qs[:6]] == [
        "relevansi",
        "penerapan",
        "materi",
        "narasumber",
        "tempo",
        "fasilitas",
    ]
    assert [q["short"] for q in qs[6:11]] == TOPICS5  # one rating per topic taught
    assert all(q["type"] == "rating" for q in qs[:11])
    assert qs[11]["type"] == "nps" and len(qs[11]["scale"]) == 11
    assert qs[12]["type"] == "single" and qs[12]["allow_other"]
    assert [c["label"] for c in qs[12]["choices"]] == TOPICS5
    assert qs[13]["type"] == "text" and not qs[13]["required"]
    assert len(qs) == 14
    # the short template exists and has a multiple choice question
    short = expand(load_template(KNOWLEDGE / "surveys", "singkat"), ["Materi"])
    assert {q["type"] for q in short["questions"]} == {"rating", "nps", "multi", "text"}


def test_check_surveys_reports_broken_files(tmp_path):
    d = tmp_path / "surveys"
    d.mkdir()
    (d / "rusak.yaml").write_text("id: rusak\nquestions: [\n", encoding="utf-8")
    (d / "salah.yaml").write_text(
        "id: salah\ntitle: Salah\nquestions:\n"
        "  - key: a\n    type: rating\n    text: 'Nilai {topic}'\n"
        "  - key: b\n    type: teks\n    text: Apa saran Anda?\n",
        encoding="utf-8",
    )
    (d / "beda.yaml").write_text(
        "id: lain\ntitle: Beda nama\nquestions:\n  - {key: a, type: text, text: Saran}\n",
        encoding="utf-8",
    )
    (d / "pilihan.yaml").write_text(
        "id: pilihan\ntitle: Pilihan\nquestions:\n"
        "  - {key: p, type: single, text: Pilih satu}\n"
        "  - {key: q, type: text, text: Saran, max_length: 99999}\n",
        encoding="utf-8",
    )
    problems = dict(check_surveys(tmp_path))
    assert set(problems) == {
        str(d / "rusak.yaml"),
        str(d / "salah.yaml"),
        str(d / "beda.yaml"),
        str(d / "pilihan.yaml"),
        str(d / "default.yaml"),
    }
    assert "YAML" in problems[str(d / "rusak.yaml")]
    assert "per_topic" in problems[str(d / "salah.yaml")]
    assert "questions.1.type" in problems[str(d / "salah.yaml")]
    assert "nama berkas" in problems[str(d / "beda.yaml")]
    assert "choices" in problems[str(d / "pilihan.yaml")]
    assert "default" in problems[str(d / "default.yaml")]


# --------------------------------------------------------------------------- validation


def test_parse_rules():
    tpl = load_template(KNOWLEDGE / "surveys", "default")
    qs = {q["key"]: q for q in expand(tpl, TOPICS5)["questions"]}
    assert parse_button(qs["relevansi"], 5) == (5, None)
    with pytest.raises(InvalidAnswer) as e:
        parse_button(qs["relevansi"], 6)
    assert e.value.reason == "out_of_range" and e.value.params == {"min": 1, "max": 5}
    assert parse_button(qs["rekomendasi"], 0) == (0, None)
    with pytest.raises(InvalidAnswer):
        parse_button(qs["rekomendasi"], 11)
    assert parse_button(qs["paling_bermanfaat"], 2) == ("t3", None)
    with pytest.raises(InvalidAnswer) as e:
        parse_button(qs["paling_bermanfaat"], 5)
    assert e.value.reason == "unknown_choice"
    # typed answers: digits for scales, labels or free text for single choice with "other"
    assert parse_text(qs["relevansi"], " 4 ") == (4, None)
    with pytest.raises(InvalidAnswer) as e:
        parse_text(qs["relevansi"], "bagus sekali")
    assert e.value.reason == "use_buttons"
    assert parse_text(qs["paling_bermanfaat"], "keamanan DIGITAL") == ("t3", None)
    assert parse_text(qs["paling_bermanfaat"], "Kolaborasi OPD") == (None, "Kolaborasi OPD")
    assert parse_text(qs["saran"], "  Tambah praktik  ") == (None, "Tambah praktik")
    with pytest.raises(InvalidAnswer) as e:
        parse_text(qs["saran"], "x" * 1001)
    assert e.value.reason == "too_long" and e.value.params == {"length": 1001, "limit": 1000}
    with pytest.raises(InvalidAnswer) as e:
        parse_text(qs["saran"], "   ")
    assert e.value.reason == "empty"
    assert parse_date_range("01-12-2026") == (date(2026, 12, 1), None)
    assert parse_date_range("1/12/2026 s.d. 2/12/2026") == (date(2026, 12, 1), date(2026, 12, 2))
    assert parse_date_range("2026-12-02 - 2026-12-01") is None  # ends before it starts
    assert parse_date_range("besok") is None
    jkt = ZoneInfo("Asia/Jakarta")
    now = datetime(2026, 11, 30, 9, tzinfo=jkt)
    assert parse_when("02-12-2026 17.00", now, "Asia/Jakarta", mode="once").moment == datetime(
        2026, 12, 2, 17, tzinfo=jkt
    )
    assert parse_when("02-12-2026", now, "Asia/Jakarta", mode="once").status == NEED_TIME
    assert normalize_code("fb_abc234") == "ABC234"
    assert normalize_code("ab1") is None and normalize_code("ABCDE0") is None


# --------------------------------------------------------------------------- sessions


async def test_create_session_and_codes(svc):
    sv = await svc.create_session(
        "  Pelatihan   Medsos OPD Tabanan ", place="Aula Diskominfo", topics=["A", "B", "a"]
    )
    assert len(sv.code) == 6 and set(sv.code) <= set(CODE_ALPHABET)
    assert sv.title == "Pelatihan Medsos OPD Tabanan"
    assert sv.topics == ["A", "B"]  # repeated topics dropped
    assert sv.total == 6 + 2 + 3
    assert sv.status() == "open"
    assert svc.deep_link(sv, "@opdbot") == f"https://t.me/opdbot?start=fb_{sv.code}"
    assert (await svc.get_session(sv.code.lower())).id == sv.id
    with pytest.raises(SessionInputError):
        await svc.create_session("ab")
    with pytest.raises(SessionInputError):
        await svc.create_session("Judul sah", template_id="tidak-ada")
    with pytest.raises(SessionInputError):
        now = utcnow()
        await svc.create_session("Judul sah", opens_at=now, closes_at=now - timedelta(hours=1))
    png = svc.qr_png(sv, "opdbot")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width >= 600 and img.height >= 700


async def test_answer_flow_back_skip_review_submit(svc):
    sv = await svc.create_session("Kelas singkat", template_id="singkat", topics=["Canva"])
    code, tid = sv.code, 501
    step = await svc.start(code, tid)
    assert step.kind == "question" and step.new and (step.number, step.total) == (1, 5)
    with pytest.raises(InvalidAnswer):
        await svc.skip(code, tid, 0)  # required
    step = await svc.answer(code, tid, 0, 4)
    assert step.index == 1
    with pytest.raises(StaleStep):
        await svc.answer(code, tid, 0, 5)  # the first question's old button
    step = await svc.back(code, tid, 1)
    assert step.index == 0 and step.answer.value == 4 and step.answer.display == "4 (Baik)"
    step = await svc.next(code, tid, 0)  # keep the answer
    step = await svc.answer_text(code, tid, 1, "5")
    step = await svc.answer(code, tid, 2, 10)
    assert step.question["type"] == "multi"
    step = await svc.toggle(code, tid, 3, 0)
    step = await svc.toggle(code, tid, 3, 2)
    step = await svc.toggle(code, tid, 3, 0)  # unticked again
    assert step.selected == {"krisis"}
    step = await svc.toggle(code, tid, 3, 1)
    step = await svc.toggle(code, tid, 3, 3)
    with pytest.raises(InvalidAnswer) as e:
        await svc.toggle(code, tid, 3, 4)  # max_choices: 3
    assert e.value.params == {"max": 3}
    step = await svc.answer_text(code, tid, 3, "Podcast")  # "Lainnya" keeps the ticks
    assert step.index == 3 and step.answer.text == "Podcast"
    assert step.selected == {"analitik", "krisis", "desain"}
    step = await svc.next(code, tid, 3)
    with pytest.raises(InvalidAnswer) as e:
        await svc.answer_text(code, tid, 4, "x" * 501)
    assert e.value.params == {"length": 501, "limit": 500}
    step = await svc.skip(code, tid, 4)
    assert step.kind == "review"
    assert [line.answer for line in step.lines] == [
        "4 (Baik)",
        "5 (Sangat baik)",
        "10",
        "Analitik dan laporan kinerja, Komunikasi krisis dan hoaks, Desain lanjutan di Canva, "
        "Lainnya: Podcast",
        None,
    ]
    step = await svc.goto(code, tid, 5, 1)  # change question 2 from the review
    step = await svc.answer(code, tid, 1, 3)
    assert step.index == 2
    step = await svc.goto(code, tid, 2, 0)  # not on the review screen: still just a move
    assert step.index == 0
    for i in range(5):
        step = await svc.next(code, tid, i) if i != 4 else await svc.skip(code, tid, 4)
    assert step.kind == "review"
    done = await svc.submit(code, tid)
    assert done.kind == "done" and not done.submitted
    async with svc.db.session() as s:
        resp = (await s.scalars(select(FeedbackResponse))).one()
        assert resp.status == "submitted" and resp.submitted_at is not None
        n = await s.scalar(select(text("count(*)")).select_from(FeedbackAnswer))
        assert n == 4  # the skipped text question stores nothing


async def test_submit_refuses_missing_required(svc):
    sv = await svc.create_session("Kelas singkat", template_id="singkat", topics=["Canva"])
    await svc.start(sv.code, 7)
    await svc.answer(sv.code, 7, 0, 5)
    # jump to the review screen by moving through with "next" where allowed is not possible:
    with pytest.raises(InvalidAnswer) as e:
        await svc.next(sv.code, 7, 1)
    assert e.value.reason == "required"
    with pytest.raises(StaleStep):
        await svc.submit(sv.code, 7)  # not on the review screen yet
    # simulate a questionnaire whose required answer vanished: delete it, then submit
    await fill(svc, sv.code, 7, {"keseluruhan": 5, "penerapan": 4, "rekomendasi": 9}, submit=False)
    async with svc.db.session() as s:
        await s.execute(FeedbackAnswer.__table__.delete().where(FeedbackAnswer.key == "penerapan"))
    step = await svc.submit(sv.code, 7)
    assert step.kind == "review" and step.missing == [2]


async def test_one_response_per_participant_and_edit_before_close(svc):
    await register(svc, 42, "Made")
    sv = await svc.create_session("Kelas singkat", template_id="singkat", topics=["Canva"])
    # many simultaneous starts by the same person make one response
    await asyncio.gather(*(svc.start(sv.code, 42) for _ in range(5)))
    await fill(svc, sv.code, 42, {"keseluruhan": 3, "penerapan": 3, "rekomendasi": 6})
    step = await svc.start(sv.code, 42)  # again: the review of the submitted answers
    assert step.kind == "review" and step.submitted
    step = await svc.goto(sv.code, 42, step.total, 0)
    step = await svc.answer(sv.code, 42, 0, 5)
    # leaving in the middle of an edit and coming back shows the review again
    step = await svc.start(sv.code, 42)
    assert step.kind == "review" and step.lines[0].answer == "5 (Sangat baik)"
    done = await svc.submit(sv.code, 42)
    assert done.kind == "done" and done.submitted
    async with svc.db.session() as s:
        rows = (await s.scalars(select(FeedbackResponse))).all()
        assert len(rows) == 1 and rows[0].user_id is not None
    await svc.close_session(sv.code)
    with pytest.raises(SessionClosed):
        await svc.start(sv.code, 42)
    with pytest.raises(SessionClosed):
        await svc.answer(sv.code, 42, 0, 1)
    await svc.open_session(sv.code)  # re-opened: editing allowed again
    assert (await svc.start(sv.code, 42)).kind == "review"


async def test_write_based_on_an_old_read_changes_nothing(svc):
    sv = await svc.create_session("Kelas", template_id="singkat", topics=["X"])
    await svc.start(sv.code, 5)
    _, _, old, _ = await svc._read(sv.code, 5)
    await svc.answer(sv.code, 5, 0, 4)  # another process answered meanwhile
    with pytest.raises(StaleStep):
        async with svc._write() as s:
            await svc._move(s, old, 3, utcnow())
    assert (await svc.current(sv.code, 5)).index == 1


async def test_unknown_scheduled_and_unstarted(svc):
    with pytest.raises(SessionNotFound):
        await svc.start("ZZZZZZ", 1)
    with pytest.raises(SessionNotFound):
        await svc.start("bukan kode!", 1)
    sv = await svc.create_session("Nanti", opens_at=utcnow() + timedelta(days=1))
    with pytest.raises(SessionNotOpen) as e:
        await svc.start(sv.code, 1)
    assert e.value.params["opens_at"] is not None
    await svc.open_session(sv.code)
    with pytest.raises(NoResponse):
        await svc.answer(sv.code, 1, 0, 5)
    assert (await svc.start(sv.code, 1)).kind == "question"


async def test_anonymous_session_stores_no_identity(svc):
    tid = 987654321
    await register(svc, tid, "Ketut Anonim")
    sv = await svc.create_session("Anonim", template_id="singkat", anonymous=True, topics=["X"])
    await fill(svc, sv.code, tid, {"keseluruhan": 2, "penerapan": 2, "rekomendasi": 1})
    # again: still one response (the salted hash recognises the participant)
    assert (await svc.start(sv.code, tid)).submitted
    async with svc.db.session() as s:
        resp = (await s.scalars(select(FeedbackResponse))).one()
        assert resp.user_id is None
        assert str(tid) not in resp.respondent_hash
        # only the day is kept, so times cannot be matched against other records
        for stamp in (resp.started_at, resp.updated_at, resp.submitted_at):
            assert (stamp.hour, stamp.minute, stamp.second, stamp.microsecond) == (0, 0, 0, 0)
        # nothing in any feedback table mentions the Telegram id or the name
        for table in ("feedback_sessions", "feedback_responses", "feedback_answers"):
            for row in (await s.execute(text(f"SELECT * FROM {table}"))).all():
                dump = " ".join(str(v) for v in row)
                assert str(tid) not in dump and "Ketut" not in dump
    data = await svc.report_data(sv.code)
    assert data.responses[0].name is None
    with pytest.raises(NotAllowed):
        await svc.unfinished(sv.code)  # nobody can be reminded in an anonymous session


async def test_unfinished_participants(svc):
    for tid in (11, 12, 13):
        await register(svc, tid, f"P{tid}")
    sv = await svc.create_session("Kelas", template_id="singkat", topics=["X"])
    await fill(svc, sv.code, 11, {"keseluruhan": 4, "penerapan": 4, "rekomendasi": 8})
    await svc.start(sv.code, 12)
    await svc.start(sv.code, 13)
    await svc.users.mark_blocked(13)
    people = await svc.unfinished(sv.code)
    assert [(p.chat_id, p.name) for p in people] == [(12, "P12")]


async def test_retention_purge(svc):
    await register(svc, 21, "Lama")
    await register(svc, 22, "Baru")
    sv = await svc.create_session("Kelas", template_id="singkat", topics=["X"])
    await fill(svc, sv.code, 21, {"keseluruhan": 4, "penerapan": 4, "rekomendasi": 8})
    await fill(svc, sv.code, 22, {"keseluruhan": 5, "penerapan": 5, "rekomendasi": 10})
    old = utcnow() - timedelta(days=svc.settings.feedback_retention_days + 1)
    async with svc.db.session() as s:
        uid = await s.scalar(select(User.id).where(User.telegram_id == 21))
        await s.execute(
            update(FeedbackResponse).where(FeedbackResponse.user_id == uid).values(updated_at=old)
        )
    assert await svc.purge() == 1
    assert await svc.purge() == 0  # already unlinked
    async with svc.db.session() as s:
        rows = {r.id: r for r in (await s.scalars(select(FeedbackResponse))).all()}
        purged = [r for r in rows.values() if r.purged_at is not None]
        kept = [r for r in rows.values() if r.purged_at is None]
        assert len(purged) == 1 and purged[0].user_id is None
        assert purged[0].respondent_hash.startswith("purged-")
        assert len(kept) == 1 and kept[0].user_id is not None
    # the answers stay for the statistics
    sm = report.summarize(await svc.report_data(sv.code))
    assert sm.submitted == 2 and sm.ratings[0].mean == 4.5


async def test_forget_one_participant(svc):
    await register(svc, 41, "Hapus saya")
    await register(svc, 42, "Tetap")
    named = await svc.create_session("Bernama", template_id="singkat", topics=["X"])
    anon = await svc.create_session("Anonim", template_id="singkat", topics=["X"], anonymous=True)
    for code in (named.code, anon.code):
        for tid in (41, 42):
            await svc.start(code, tid)
    assert await svc.forget(41) == 2
    async with svc.db.session() as s:
        rows = (await s.scalars(select(FeedbackResponse))).all()
        purged = [r for r in rows if r.purged_at is not None]
        assert len(purged) == 2 and all(r.user_id is None for r in purged)
    # the other participant is untouched and still recognised
    assert not (await svc.start(named.code, 42)).new
    # the forgotten one would start afresh, with no link to the old answers
    assert (await svc.start(named.code, 41)).new


async def test_organizer_role_and_listing(svc):
    await register(svc, 31, "Org")
    await register(svc, 32, "Staf")
    assert (await svc.set_organizer("@user31")).role == "organizer"
    assert await svc.set_organizer("@tidakada") is None
    org = await svc.actor(31)
    staff = await svc.actor(32)
    assert org.can_organize and not org.is_admin and not staff.can_organize
    mine = await svc.create_session("Sesi saya", created_by_telegram_id=31)
    other = await svc.create_session("Sesi lain")
    assert svc.can_manage(org, mine) and not svc.can_manage(org, other)
    assert [it.session.code for it in await svc.list_sessions(org)] == [mine.code]
    assert await svc.list_sessions(staff) == []
    assert len(await svc.list_sessions(await svc.actor(None))) == 2
    assert (await svc.set_organizer("31", enable=False)).role == "staff"


# --------------------------------------------------------------------------- reports


async def _hand_example(svc):
    """Five submitted responses and one unfinished, with numbers computed by hand below."""
    sv = await svc.create_session("Pelatihan Tabanan", place="Tabanan", organizer_name="Kominfo")
    base = {k: 4 for k in ("penerapan", "materi", "narasumber", "tempo", "fasilitas")}
    base.update({f"topik_{i}": 4 for i in range(1, 6)})
    people = [
        # relevansi, NPS, paling bermanfaat, saran
        (5, 10, 0, "Tambah sesi praktik"),
        (4, 9, 0, None),
        (4, 9, 2, '=HYPERLINK("http://x")'),
        (3, 7, ("text", "Kolaborasi antar OPD"), None),
        (5, 5, 0, None),
    ]
    for i, (rel, nps, best, saran) in enumerate(people):
        answers = dict(base, relevansi=rel, rekomendasi=nps, paling_bermanfaat=best)
        if saran:
            answers["saran"] = saran
        await fill(svc, sv.code, 100 + i, answers)
    step = await svc.start(sv.code, 200)  # unfinished: answers must not count
    await svc.answer(sv.code, 200, step.index, 1)
    return sv


async def test_report_numbers_match_hand_computation(svc):
    sv = await _hand_example(svc)
    sm = report.summarize(await svc.report_data(sv.code))
    assert (sm.started, sm.submitted, sm.in_progress) == (6, 5, 1)
    assert sm.completion_rate == pytest.approx(100 * 5 / 6)
    rel = next(r for r in sm.ratings if r.key == "relevansi")
    assert rel.n == 5 and rel.mean == pytest.approx(4.2)  # (5+4+4+3+5)/5
    assert rel.distribution == {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}
    assert len(sm.ratings) == 11
    (nps,) = sm.nps
    # promoters 10, 9, 9 = 3; passive 7 = 1; detractor 5 = 1 -> 60% - 20% = 40
    assert (nps.n, nps.promoters, nps.passives, nps.detractors) == (5, 3, 1, 1)
    assert nps.score == pytest.approx(40.0)
    (best,) = sm.choices
    assert dict(best.counts)["Strategi komunikasi pemerintah"] == 3
    assert dict(best.counts)["Keamanan digital"] == 1
    assert dict(best.counts)["Lainnya"] == 1 and best.other == ["Kolaborasi antar OPD"]
    (saran,) = sm.texts
    assert sorted(saran.texts) == sorted(["Tambah sesi praktik", '=HYPERLINK("http://x")'])


async def test_xlsx_csv_and_chart(svc):
    sv = await _hand_example(svc)
    data = await svc.report_data(sv.code)
    sm = report.summarize(data)
    tz = svc.settings.tz
    wb = load_workbook(io.BytesIO(report.xlsx_bytes(data, sm, tz=tz)))
    assert wb.sheetnames == ["Ringkasan", "Jawaban"]
    summary_rows = {r[0]: r for r in wb["Ringkasan"].iter_rows(values_only=True) if r and r[0]}
    assert summary_rows["Kode sesi"][1] == sv.code
    assert summary_rows["Respons terkirim"][1] == 5
    assert summary_rows["Tingkat penyelesaian (%)"][1] == pytest.approx(83.3)
    rel = summary_rows["Relevansi dengan pekerjaan"]
    assert rel[1:8] == (5, 4.2, 0, 0, 1, 2, 2)
    all_rows = list(wb["Ringkasan"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(all_rows) if r[0] == "Rekomendasi (NPS)")
    assert all_rows[at][1:6] == ("n", "Promotor (9-10)", "Pasif (7-8)", "Detraktor (0-6)", "NPS")
    assert all_rows[at + 1][1:6] == (5, 3, 1, 1, 40)
    raw = list(wb["Jawaban"].iter_rows(values_only=True))
    header = raw[0]
    # local times, and the column titles say in which zone
    assert header[:7] == (
        "No",
        "Status",
        "Mulai (WIB)",
        "Dikirim (WIB)",
        "Terakhir diubah (WIB)",
        "Nama",
        "OPD",
    )
    assert header[7] == "1. Relevansi dengan pekerjaan"
    assert len(raw) == 7  # 6 responses
    col = {h: i for i, h in enumerate(header)}
    first = raw[1]
    assert first[col["1. Relevansi dengan pekerjaan"]] == 5
    assert first[col["12. Rekomendasi (NPS)"]] == 10
    assert first[col["13. Materi paling bermanfaat"]] == "Strategi komunikasi pemerintah"
    assert raw[4][col["13. Materi paling bermanfaat"]] == "Lainnya: Kolaborasi antar OPD"
    assert raw[6][1] == "belum selesai"
    # user text that looks like a formula stays text
    cell = wb["Jawaban"].cell(row=4, column=col["14. Saran perbaikan"] + 1)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"

    blob = report.csv_bytes(data, tz=tz)
    assert blob.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(blob.decode("utf-8-sig"))))
    assert rows[0] == list(header) and len(rows) == 7
    assert rows[3][col["14. Saran perbaikan"]].startswith("'=")

    png = report.chart_png([sm])
    img = Image.open(io.BytesIO(png))
    img.load()
    assert img.format == "PNG" and 800 <= img.width <= 2000 and 400 <= img.height <= 2500
    other = await svc.create_session("Pelatihan Tapsel", topics=["Strategi", "Canva"])
    await fill(
        svc,
        other.code,
        300,
        {
            "relevansi": 2,
            "penerapan": 3,
            "materi": 3,
            "narasumber": 3,
            "tempo": 3,
            "fasilitas": 3,
            "topik_1": 3,
            "topik_2": 3,
            "rekomendasi": 3,
            "paling_bermanfaat": 1,
        },
    )
    both = [sm, report.summarize(await svc.report_data(other.code))]
    img2 = Image.open(io.BytesIO(report.chart_png(both)))
    img2.load()
    assert img2.height > img.height  # two bars per item, two NPS rows


def test_cli_new_export_report_qr_purge(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    from bot.feedback.cli import feedback_app as app

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "new",
            "--title",
            "Pelatihan CLI",
            "--start",
            "2026-12-01",
            "--topic",
            "Strategi; Canva",
            "--template",
            "singkat",
            "--anonymous",
            "--closes",
            "2027-01-01 17:00",
        ],
    )
    assert res.exit_code == 0, res.output
    code = next(line.split()[-1] for line in res.output.splitlines() if line.startswith("Kode:"))
    assert "start fb_" + code in res.output
    out = tmp_path / "hasil.xlsx"
    res = runner.invoke(app, ["export", code, "--format", "xlsx", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert load_workbook(out).sheetnames == ["Ringkasan", "Jawaban"]
    res = runner.invoke(app, ["export", code, "--format", "csv", "-o", str(tmp_path / "h.csv")])
    assert res.exit_code == 0 and (tmp_path / "h.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    res = runner.invoke(app, ["report", code, "--png", str(tmp_path / "g.png")])
    assert res.exit_code == 0, res.output
    assert "Respons terkirim 0 dari 0" in res.output
    assert Image.open(tmp_path / "g.png").format == "PNG"
    res = runner.invoke(app, ["qr", code, "--bot", "opdbot", "-o", str(tmp_path / "qr.png")])
    assert res.exit_code == 0 and Image.open(tmp_path / "qr.png").width >= 600
    res = runner.invoke(app, ["qr", code])
    assert res.exit_code == 1 and "--bot" in res.output
    res = runner.invoke(app, ["export", "ZZZZZZ", "--format", "csv"])
    assert res.exit_code == 1 and "tidak ditemukan" in res.output
    res = runner.invoke(app, ["close", code])
    assert res.exit_code == 0 and "ditutup" in res.output
    res = runner.invoke(app, ["purge", "--days", "30"])
    assert res.exit_code == 0 and res.output.startswith("0 respons")


async def test_session_row_keeps_frozen_questionnaire(svc, tmp_path):
    """Editing the YAML later never changes a session that already exists."""
    sv = await svc.create_session("Beku", template_id="singkat", topics=["X"])
    async with svc.db.session() as s:
        row = await s.scalar(select(FeedbackSession).where(FeedbackSession.code == sv.code))
        assert row.questionnaire["questions"][0]["key"] == "keseluruhan"
        assert len(row.salt) == 32


# --------------------------------------------------------------------------- regressions


def test_dates_typed_the_way_organizers_write_them():
    d = date
    assert parse_date_range("1 Des 2026") == (d(2026, 12, 1), None)
    assert parse_date_range("2026/12/01") == (d(2026, 12, 1), None)
    assert parse_date_range("1/12/26") == (d(2026, 12, 1), None)
    assert parse_date_range("1-12-2026 s.d 2-12-2026") == (d(2026, 12, 1), d(2026, 12, 2))
    assert parse_date_range("01/12/2026-02/12/2026") == (d(2026, 12, 1), d(2026, 12, 2))
    assert parse_date_range("1-12-2026 sd 2-12-2026") == (d(2026, 12, 1), d(2026, 12, 2))
    assert parse_date_range("1-2 Desember 2026") == (d(2026, 12, 1), d(2026, 12, 2))
    assert parse_date_range("30 November s/d 2 Desember 2026") == (
        d(2026, 11, 30),
        d(2026, 12, 2),
    )
    assert parse_date_range("30 Des - 2 Jan 2027") == (d(2026, 12, 30), d(2027, 1, 2))
    assert parse_date_range("5-3 Desember 2026") is None  # ends before it starts
    assert parse_date_range("31-02-2026") is None and parse_date_range("1 Desemberr 2026") is None
    wita = ZoneInfo("Asia/Makassar")
    want = datetime(2026, 12, 2, 17, tzinfo=wita)
    now = datetime(2026, 11, 30, 9, tzinfo=wita)

    def closes(text):
        return parse_when(text, now, "Asia/Makassar", mode="once")

    assert closes("2 Desember 2026 pukul 17.00").moment == want
    assert closes("2026-12-02T17:00").moment == want
    assert closes("2 Des 2026, 17.00 WITA").moment == want
    assert closes("02-12-2026").status == NEED_TIME  # the hour is asked for
    assert closes("02-12-2026 25:00").status == "invalid"


def test_typed_answers_drop_control_characters_and_take_choice_numbers():
    tpl = load_template(KNOWLEDGE / "surveys", "default")
    qs = {q["key"]: q for q in expand(tpl, TOPICS5)["questions"]}
    assert parse_text(qs["saran"], "a\x00b\x0bc\r\nd") == (None, "abc\nd")
    # "3" at a single choice is the third choice, not a "Lainnya: 3" answer
    assert parse_text(qs["paling_bermanfaat"], "3") == ("t3", None)
    assert parse_text(qs["paling_bermanfaat"], "9") == (None, "9")  # no 9th choice: other


async def test_reports_survive_math_signs_and_control_characters(svc):
    sv = await svc.create_session(
        "Biaya $5 dan $10", template_id="singkat", topics=[r"Rumus $\foo$"]
    )
    await fill(
        svc,
        sv.code,
        8,
        {"keseluruhan": 4, "penerapan": 4, "rekomendasi": 9, "saran": "ok"},
    )
    # text that reached the database another way (older rows, the CLI, imports)
    async with svc.db.session() as s:
        await s.execute(
            update(FeedbackAnswer).where(FeedbackAnswer.key == "saran").values(text="ok\x0bsip")
        )
    data = await svc.report_data(sv.code)
    sm = report.summarize(data)
    png = report.chart_png([sm])  # mathtext would fail on "\foo"
    assert Image.open(io.BytesIO(png)).format == "PNG"
    wb = load_workbook(io.BytesIO(report.xlsx_bytes(data, sm, tz=svc.settings.tz)))
    raw = list(wb["Jawaban"].iter_rows(values_only=True))
    assert raw[1][-1] == "oksip"


def test_cli_writes_politely_and_reads_typed_dates(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    from bot.feedback.cli import feedback_app as app

    runner = CliRunner()
    res = runner.invoke(app, ["new", "--title", "Tanggal", "--start", "1 Desember 2026"])
    assert res.exit_code == 0, res.output
    code = next(line.split()[-1] for line in res.output.splitlines() if line.startswith("Kode:"))
    for args in (
        ["export", code, "-o", str(tmp_path / "tidak-ada" / "x.xlsx")],
        ["export", code, "-o", str(tmp_path)],
        ["report", code, "--png", str(tmp_path / "tidak-ada" / "g.png")],
        ["qr", code, "--bot", "opdbot", "-o", str(tmp_path / "tidak-ada" / "q.png")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 1, (args, res.output)
        assert "Tidak bisa menulis berkas" in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)


def test_respondent_hash_with_a_secret_is_not_recomputable_from_the_database_alone():
    from bot.feedback.codes import respondent_hash

    plain = respondent_hash("garam", "ABC123", 42)
    keyed = respondent_hash("garam", "ABC123", 42, "rahasia-server")
    assert plain != keyed
    assert keyed == respondent_hash("garam", "ABC123", 42, "rahasia-server")
    assert keyed != respondent_hash("garam", "ABC123", 42, "rahasia-lain")
