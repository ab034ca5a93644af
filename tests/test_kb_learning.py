"""Learning from use: phrasings in the database, picked up by every process; /celah decisions;
candidates; export to the knowledge files; old entries listed by ``opdbot kb check``."""

from __future__ import annotations

import asyncio
import sys
import types
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.db import Database
from bot.knowledge import service as service_mod
from bot.knowledge.export import append_questions, export_learned
from bot.knowledge.learning import merge_learned
from bot.knowledge.loader import load_knowledge, parse_entry, stale_entries
from bot.knowledge.models import KbRevision, LearnedPhrasing, QuestionLog
from bot.knowledge.service import QAService
from tests.kb_helpers import small_kb, write_entry

SIM = "cara perpanjang sim keliling"


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    return small_kb(tmp_path / "knowledge")


@pytest.fixture
async def db(db_url: str):
    d = Database(db_url)
    yield d
    await d.dispose()


async def _qa(db: Database, kdir: Path) -> QAService:
    qa = QAService(db, kdir, None)
    await qa.load()
    return qa


async def _top(qa: QAService, text: str) -> str | None:
    """The entry ranked first for ``text`` by ``qa`` (asking runs the revision check)."""
    hits = (await qa.ask(None, text)).result.hits
    return hits[0].id if hits else None


async def _unanswered(qa: QAService, text: str) -> int:
    asked = await qa.ask(None, text)
    assert asked.entry is None, text
    return asked.log_id


def test_merge_appends_new_phrasings_only(kdir: Path) -> None:
    kb = load_knowledge(kdir)
    merged = merge_learned(
        kb,
        {
            "konten-caption": ["Cara nulis caption yang menarik?", "caption buat hari jadi kota"],
            "tidak-ada": ["apa saja"],
        },
    )
    questions = merged.get("konten-caption").questions
    assert questions[-1] == "caption buat hari jadi kota"
    assert len(questions) == len(kb.get("konten-caption").questions) + 1  # duplicate skipped
    assert merged.get("keamanan-2fa") is kb.get("keamanan-2fa")
    assert merge_learned(kb, {}) is kb


async def test_attach_joins_the_index_of_another_process_within_seconds(db, kdir) -> None:
    a, b = await _qa(db, kdir), await _qa(db, kdir)
    log_id = await _unanswered(a, SIM)
    await _unanswered(b, SIM)
    item = await a.curation.item(log_id)
    assert item is not None and item.group.example == SIM
    done = await a.curation.attach(log_id, "bantuan-pakai-bot", curator=1000)
    assert done.status == "ok"
    # at once in the curator's process
    assert await _top(a, SIM) == "bantuan-pakai-bot"
    # the other process notices the revision within LEARNED_CHECK_SECONDS
    loop = asyncio.get_running_loop()
    start = loop.time()
    while await _top(b, SIM) != "bantuan-pakai-bot":
        assert loop.time() - start < 5, "process B never picked it up"
        await asyncio.sleep(0.1)
    assert loop.time() - start < service_mod.LEARNED_CHECK_SECONDS + 2
    assert SIM in b.kb.get("bantuan-pakai-bot").questions
    # a reload of the files keeps the learned phrasing
    assert (await b.reload()).ok
    assert SIM in b.kb.get("bantuan-pakai-bot").questions
    # and so does a fresh process
    c = await _qa(db, kdir)
    assert await _top(c, SIM) == "bantuan-pakai-bot"
    # attaching the same question again (a second curator) changes nothing
    again = await b.curation.attach(log_id, "bantuan-pakai-bot", curator=1001)
    assert again.status == "stale"  # the item left the report when it was attached


async def test_revision_check_is_throttled(db, kdir, monkeypatch) -> None:
    qa = await _qa(db, kdir)
    calls = 0
    real = qa.learning.revision

    async def counting() -> int:
        nonlocal calls
        calls += 1
        return await real()

    monkeypatch.setattr(qa.learning, "revision", counting)
    monkeypatch.setattr(service_mod, "LEARNED_CHECK_SECONDS", 60.0)
    for _ in range(5):
        await qa.ask(None, "cara pasang 2fa")
    assert calls == 0  # checked at load, next check not due yet
    monkeypatch.setattr(service_mod, "LEARNED_CHECK_SECONDS", 0.0)
    await qa.ask(None, "cara pasang 2fa")
    assert calls == 1


async def test_attach_refuses_a_question_another_entry_owns(db, kdir) -> None:
    qa = await _qa(db, kdir)
    async with db.session() as s:  # an answered-then-👎 question that is word for word
        row = QuestionLog(text="password manager aman gak", answered=False)  # another entry's
        s.add(row)
        await s.flush()
        log_id = row.id
    res = await qa.curation.attach(log_id, "keamanan-2fa", curator=1)
    assert res.status == "taken" and res.other.id == "keamanan-kata-sandi"
    assert (await qa.curation.attach(log_id, "tidak-ada", curator=1)).status == "unknown"
    assert await qa.learning.listing() == []


async def test_out_of_scope_never_comes_back_attached_only_until_then(db, kdir) -> None:
    qa = await _qa(db, kdir)
    scope_id = await _unanswered(qa, "harga cabai rawit hari ini")
    sim_id = await _unanswered(qa, SIM)
    assert len(await qa.gaps()) == 2
    group = await qa.curation.out_of_scope(scope_id, curator=1)
    assert group is not None and group.count == 1
    assert await qa.curation.out_of_scope(scope_id, curator=1) is None  # stale: already gone
    await _unanswered(qa, "harga cabai rawit hari ini berapa")  # asked again later
    assert [g.example for g in await qa.gaps()] == [SIM]
    draft = await qa.curation.draft(sim_id, curator=1)
    assert draft is not None and draft.entry_id == f"{draft.pillar}-perpanjang-sim-keliling"
    assert draft.title == "Cara perpanjang sim keliling"
    assert SIM in draft.questions
    assert await qa.gaps() == []
    # a later failure on the drafted topic shows up again (the entry is not there yet)
    await _unanswered(qa, SIM)
    assert [g.count for g in await qa.gaps()] == [1]


async def test_pick_and_thumbs_up_make_a_candidate_a_curator_accepts(db, kdir) -> None:
    qa = await _qa(db, kdir)
    from bot.accounts.service import UserService
    from bot.config import load_settings

    users = UserService(db, load_settings(database_url=db.url, _env_file=None))
    user, _ = await users.register(77, 77, "Ayu", None, None)
    log_id = (await qa.ask(user, SIM)).log_id
    await qa.chose(log_id, user, "bantuan-pakai-bot")
    await qa.chose(log_id, user, "bantuan-pakai-bot")  # a double tap: one candidate
    assert await qa.vote(log_id, user, 1)
    cand = await qa.curation.next_candidate()
    assert cand is not None and cand.total == 1 and cand.phrasing.votes == 1
    assert cand.phrasing.text == SIM and cand.entry.id == "bantuan-pakai-bot"
    await _unanswered(qa, SIM)  # someone else asks the same and leaves it: a /celah group
    assert [g.example for g in await qa.gaps()] == [SIM]
    assert (await qa.curation.decide(cand.phrasing.id, True, 1000)).status == "ok"
    assert await qa.gaps() == []  # accepted: its /celah group is done too
    assert (await qa.curation.decide(cand.phrasing.id, False, 1000)).status == "stale"
    assert await qa.curation.next_candidate() is None
    assert await _top(qa, SIM) == "bantuan-pakai-bot"
    # a 👎 after a pick withdraws the candidate
    log2 = (await qa.ask(user, "kamu bisa bantu apa aja")).log_id
    await qa.chose(log2, user, "bantuan-pakai-bot")
    assert (await qa.curation.next_candidate()) is not None
    await qa.vote(log2, user, -1)
    assert await qa.curation.next_candidate() is None


async def test_attach_acts_on_the_whole_group(db, kdir) -> None:
    qa = await _qa(db, kdir)
    first = await _unanswered(qa, SIM)
    await _unanswered(qa, "cara perpanjang SIM keliling online")
    await _unanswered(qa, "cara perpanjang sim keliling")  # asked twice: one phrasing
    (group,) = await qa.gaps()
    assert group.count == 3 and len(group.questions) == 2
    done = await qa.curation.attach(first, "bantuan-pakai-bot", curator=1)
    assert done.status == "ok"
    assert done.added == (SIM, "cara perpanjang SIM keliling online")
    accepted = await qa.learning.listing("accepted")
    assert [p.text for p in accepted] == list(done.added)
    assert await qa.learning.revision() == 1  # one change, one bump
    assert await qa.gaps() == []
    assert await _top(qa, "perpanjang sim keliling online") == "bantuan-pakai-bot"


async def test_attach_leaves_out_questions_another_entry_owns(db, kdir) -> None:
    qa = await _qa(db, kdir)
    async with db.session() as s:  # a group: one question is another entry's word for word
        rows = [
            QuestionLog(text="password manager aman gak", answered=False),
            QuestionLog(text="password manager aman gak buat tim humas", answered=False),
        ]
        s.add_all(rows)
        await s.flush()
        first = rows[0].id
    done = await qa.curation.attach(first, "keamanan-2fa", curator=1)
    assert done.status == "ok" and done.other.id == "keamanan-kata-sandi"
    assert done.added == ("password manager aman gak buat tim humas",)


async def test_entry_refs_and_typed_search(db, kdir) -> None:
    from bot.knowledge.curation import entry_ref

    qa = await _qa(db, kdir)
    cur = qa.curation
    refs = {entry_ref(e.id) for e in qa.kb.entries}
    assert len(refs) == len(qa.kb.entries)
    assert all(r.isdigit() and len(r) <= 8 for r in refs)
    assert entry_ref("keamanan-2fa") == entry_ref("keamanan-2fa")  # stable across processes
    assert cur.resolve(entry_ref("konten-caption")).id == "konten-caption"
    assert cur.resolve("123") is None or cur.resolve("123").id in qa.kb
    # typed: the exact id, a part of ids or titles, else the search
    assert [e.id for e in cur.find(" Keamanan-2FA ")] == ["keamanan-2fa"]
    assert {e.id for e in cur.find("kata sandi")} == {"keamanan-kata-sandi"}
    assert {e.id for e in cur.find("keamanan")} == {
        "keamanan-2fa",
        "keamanan-kata-sandi",
        "keamanan-akun-diretas",
    }
    assert cur.find("ukuran reels instagram")[0].id == "desain-ukuran-konten"
    assert cur.find("   ") == []


async def test_thumbs_up_after_an_answer_is_a_candidate(db, kdir) -> None:
    qa = await _qa(db, kdir)
    from bot.accounts.service import UserService
    from bot.config import load_settings

    users = UserService(db, load_settings(database_url=db.url, _env_file=None))
    user, _ = await users.register(78, 78, "Made", None, None)
    asked = await qa.ask(user, "langkah nyalain 2fa buat akun instagram dinas")
    assert asked.entry is not None and asked.entry.id == "keamanan-2fa"
    assert await qa.vote(asked.log_id, user, 1)
    cand = await qa.curation.next_candidate()
    assert cand is not None and cand.entry.id == "keamanan-2fa"
    assert cand.phrasing.source == "thumbs" and cand.phrasing.votes == 1
    # a question the entry has word for word teaches nothing
    known = await qa.ask(user, "gimana cara pasang 2fa di instagram")
    assert known.entry is not None and await qa.vote(known.log_id, user, 1)
    assert (await qa.curation.next_candidate()).total == 1
    # another user's answer cannot be voted on, so makes no candidate
    other, _ = await users.register(79, 79, "Putu", None, None)
    theirs = await qa.ask(other, "cara bikin password yang susah ditebak dong")
    assert not await qa.vote(theirs.log_id, user, 1)
    assert (await qa.curation.next_candidate()).total == 1


async def test_candidates_page_by_offset(db, kdir) -> None:
    qa = await _qa(db, kdir)
    for i, text in enumerate(("caption hut kota", "caption hari guru", "caption imlek")):
        log_id = (await qa.ask(None, text)).log_id
        await qa.learning.add_candidate("konten-caption", text, log_id)
        for _ in range(i):
            await qa.learning.vote_candidate(log_id, 1)
    first = await qa.curation.next_candidate()
    assert (first.phrasing.text, first.position, first.total) == ("caption imlek", 1, 3)
    second = await qa.curation.next_candidate(1)
    assert (second.phrasing.text, second.position) == ("caption hari guru", 2)
    past = await qa.curation.next_candidate(7)  # past the end (others decided meanwhile)
    assert (past.phrasing.text, past.position) == ("caption hut kota", 3)
    assert (await qa.curation.decide(first.phrasing.id, False, 1)).status == "ok"
    assert (await qa.curation.next_candidate()).total == 2


async def test_revision_counter_upserts(db) -> None:
    from bot.knowledge.learning import LearnedStore

    store = LearnedStore(db)
    assert await store.revision() == 0
    await store.accept_new("konten-caption", "caption hari jadi", None, 1)
    await store.accept_new("konten-caption", "caption hut ri", None, 1)
    await store.accept_new("konten-caption", "caption hut ri", None, 1)  # known: no change
    assert await store.revision() == 2
    async with db.session() as s:
        assert (await s.scalars(select(KbRevision))).one().value == 2
    (p, _) = await store.listing("accepted")
    assert await store.reject([p.id]) == [p.id]
    assert await store.revision() == 3
    assert [x.text for x in await store.listing("accepted")] == ["caption hut ri"]


# -- export ------------------------------------------------------------------------------------
FRONT = """---
id: konten-caption
# kurator: jangan ubah id
title: "Menulis caption: jelas dan mengajak"
pillar: konten
questions:
  - cara nulis caption yang menarik   # dari kelas Mei
  - >-
    caption panjang
    atau pendek
tags: [caption, menulis]
updated: 2026-11-22
---
Isi **tetap**.
"""


def test_append_questions_keeps_everything_else() -> None:
    out = append_questions(FRONT, ["caption: HUT kota?", "pakai 'emoji' boleh"])
    assert out.startswith(FRONT.split("tags:")[0])
    assert out.endswith("tags: [caption, menulis]\nupdated: 2026-11-22\n---\nIsi **tetap**.\n")
    added = out[len(FRONT.split("tags:")[0]) :].split("tags:")[0]
    assert added.count("\n") == 2 and added.startswith("  - ")
    entry, problems = parse_entry(out, "x.md")
    assert problems == [] and entry.questions[-2:] == ("caption: HUT kota?", "pakai 'emoji' boleh")
    assert entry.questions[1] == "caption panjang atau pendek"


@pytest.mark.parametrize(
    "front",
    [
        "---\nid: a\ntitle: A\npillar: konten\nupdated: 2026-11-22\n---\nisi\n",
        "---\nid: a\ntitle: A\npillar: konten\nquestions: []\nupdated: 2026-11-22\n---\nisi\n",
        "---\nid: a\ntitle: A\npillar: konten\nquestions:\n- satu\nupdated: 2026-11-22\n---\nisi\n",
        "---\r\nid: a\r\ntitle: A\r\npillar: konten\r\nquestions:\r\n  - satu\r\n"
        "updated: 2026-11-22\r\n---\r\nisi\r\n",
    ],
)
def test_append_questions_shapes(front: str) -> None:
    out = append_questions(front, ["dua baru"])
    entry, _ = parse_entry(out, "x.md")
    assert entry is not None and entry.questions[-1] == "dua baru"
    assert out.endswith(("---\nisi\n", "---\r\nisi\r\n"))
    if "\r\n" in front:
        assert "\n" not in out.replace("\r\n", "")


def test_append_questions_refuses_a_one_line_list() -> None:
    with pytest.raises(ValueError, match="satu baris"):
        append_questions(
            "---\nid: a\ntitle: A\npillar: konten\nquestions: [satu, dua]\n"
            "updated: 2026-11-22\n---\nisi\n",
            ["tiga"],
        )


async def test_export_round_trip(db, kdir) -> None:
    qa = await _qa(db, kdir)
    target = kdir / "konten" / "konten-caption.md"
    before = target.read_text(encoding="utf-8")
    await qa.learning.accept_new("konten-caption", "caption buat hut kabupaten", None, 1)
    await qa.learning.accept_new("konten-caption", "Cara nulis caption yang menarik", None, 1)
    await qa.learning.accept_new("tidak-ada", "apa saja", None, 1)
    log_id = await _unanswered(qa, SIM)
    draft = await qa.curation.draft(log_id, curator=1)
    report = await export_learned(qa.learning, kdir, load_knowledge(kdir))
    assert report.written == [(str(target), 1)]
    assert report.drafts == [str(kdir / "drafts" / f"{draft.entry_id}.md")]
    assert len(report.problems) == 1 and "tidak-ada" in report.problems[0]
    after = target.read_text(encoding="utf-8")
    assert after.replace("- caption buat hut kabupaten\n", "", 1) == before  # same indent
    # the files alone now hold the phrasing; the drafts folder does not break loading
    kb = load_knowledge(kdir)
    assert kb.get("konten-caption").questions[-1] == "caption buat hut kabupaten"
    assert draft.entry_id not in kb
    dentry, _ = parse_entry((kdir / "drafts" / f"{draft.entry_id}.md").read_text(), "d.md")
    assert dentry is not None and SIM in dentry.questions
    rows = await qa.learning.listing("accepted")
    assert {r.entry_id: r.exported for r in rows} == {
        "konten-caption": True,
        "tidak-ada": False,
    }
    again = await export_learned(qa.learning, kdir, kb)
    assert again.written == [] and again.drafts == []
    assert target.read_text(encoding="utf-8") == after


def test_cli_learned_export(db_url, kdir, monkeypatch) -> None:
    from bot.cli import app

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kdir))
    monkeypatch.chdir(kdir.parent)

    async def seed() -> None:
        d = Database(db_url)
        async with d.session() as s:
            s.add(
                LearnedPhrasing(
                    entry_id="konten-caption",
                    text="caption hut kabupaten",
                    key="caption hut kabupaten",
                    status="accepted",
                    source="curator",
                    votes=0,
                )
            )
        await d.dispose()

    asyncio.run(seed())
    runner = CliRunner()
    listed = runner.invoke(app, ["kb", "learned"])
    assert listed.exit_code == 0, listed.output
    assert "[diterima, belum diekspor] konten-caption: caption hut kabupaten" in listed.output
    out = runner.invoke(app, ["kb", "learned", "--export"])
    assert out.exit_code == 0, out.output
    assert "konten-caption.md: 1 pertanyaan ditambahkan" in out.output
    assert "caption hut kabupaten" in (kdir / "konten" / "konten-caption.md").read_text()
    assert "sudah diekspor" in runner.invoke(app, ["kb", "learned"]).output


# -- old entries ---------------------------------------------------------------------------------
def test_stale_entries_and_kb_check_lists_them(kdir, monkeypatch) -> None:
    write_entry(
        kdir,
        "konten-tagar",
        "konten",
        "Tagar",
        updated="2024-05-02",
        sources=["https://help.instagram.com/351460621611097"],
    )
    text = (kdir / "konten" / "konten-tagar.md").read_text()
    (kdir / "konten" / "konten-tagar.md").write_text(
        text.replace("updated: '2024-05-02'", "updated: 2024-05-02")
    )
    kb = load_knowledge(kdir)
    today = date(2026, 12, 1)
    old = stale_entries(kb.entries, today)
    assert [(e.id, age) for e, age in old] == [("konten-tagar", (today - date(2024, 5, 2)).days)]
    assert stale_entries(kb.entries, date(2024, 5, 2) + timedelta(days=365)) == []

    from bot.knowledge.cli import kb_app

    fake = types.ModuleType("bot.schedules.content")
    fake.check_content = lambda knowledge_dir, entry_ids: []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.schedules.content", fake)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kdir))
    monkeypatch.chdir(kdir.parent)
    result = CliRunner().invoke(kb_app, ["check"])
    assert result.exit_code == 0, result.output  # a reminder, not a failure
    line = next(x for x in result.output.splitlines() if "konten-tagar.md" in x)
    assert "updated 2024-05-02" in line and "help.instagram.com" in line
