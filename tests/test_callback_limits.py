"""Every keyboard the bot can build keeps callback_data within Telegram's 64 bytes, also with
content ids at the longest the loaders accept and database ids at their widest.

The walk: a new user registers (OPD list), the admin sends every command of the menu, asks a
question, composes a broadcast, adds a reminder, creates a feedback session step by step, and a
participant answers it; on every message the bot sends or edits, one button of each shape is
pressed (depth first, so step-by-step flows run to their end). The fake Bot API refuses
callback_data over 64 bytes as Telegram does (BUTTON_DATA_INVALID), so a payload that is too
long fails the call as well as the assertion.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from bot.accounts.opds import load_opds
from bot.callbacks import (
    CALLBACK_DATA_MAX,
    ID_FORMS,
    WIDEST_ROW_ID,
    id_length_problem,
    max_id_bytes,
)
from bot.commands import menu
from bot.knowledge.loader import check_knowledge
from bot.knowledge.models import LearnedPhrasing, QuestionLog
from tests.conftest import ADMIN_ID, KNOWLEDGE, Harness, make_settings, message_id_of

USER = 2001
SKIP = {"del:yes"}  # deleting the admin's own data would end the walk
MAX_PRESSES = 220


def _long(stem: str, size: int) -> str:
    return stem + "-" + "x" * (size - len(stem) - 1)


ENTRY_A = _long("bantuan-uji-tombol-a", max_id_bytes("entry"))
ENTRY_B = _long("bantuan-uji-tombol-b", max_id_bytes("entry"))
OPD_SLUG = _long("opd-uji-tombol", max_id_bytes("opd"))
QUESTIONNAIRE = _long("kuesioner-uji", max_id_bytes("questionnaire"))

ENTRY = """---
id: {id}
title: Uji {w1} dengan id terpanjang
pillar: bantuan
questions:
  - bagaimana cara {w1} di aplikasi
  - langkah {w2} untuk pemula
  - kenapa {w3} gagal terus
  - apa itu {w1} dan {w2}
  - kapan sebaiknya {w3}
  - contoh {w2} yang benar
tags: [{w1}]
related: [{other}]
updated: 2026-12-01
---
Isi uji untuk {w1}: langkah pertama, langkah kedua.
"""

WORDS = {
    "a": {"w1": "zebrakuda", "w2": "merpatilaut", "w3": "kancilbiru"},
    "b": {"w1": "gajahungu", "w2": "rusaemas", "w3": "badakputih"},
    "c": {"w1": "kerbaumerah", "w2": "singalaut", "w3": "harimaukuning"},
}


def _knowledge_with_long_ids(root: Path) -> Path:
    target = root / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    for letter, me, other in (("a", ENTRY_A, ENTRY_B), ("b", ENTRY_B, ENTRY_A)):
        (target / "bantuan" / f"{me}.md").write_text(
            ENTRY.format(id=me, other=other, **WORDS[letter]), encoding="utf-8"
        )
    opd_file = target / "opd.yaml"
    data = yaml.safe_load(opd_file.read_text(encoding="utf-8"))
    data["opds"].insert(0, {"slug": OPD_SLUG, "name": "Badan Uji Tombol", "kind": "badan"})
    opd_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    survey = (target / "surveys" / "singkat.yaml").read_text(encoding="utf-8")
    survey = re.sub(r"(?m)^id: singkat$", f"id: {QUESTIONNAIRE}", survey)
    (target / "surveys" / f"{QUESTIONNAIRE}.yaml").write_text(survey, encoding="utf-8")
    return target


def _callback_buttons(call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    if not isinstance(markup, dict):
        return []
    return [
        b["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for b in row
        if "callback_data" in b
    ]


class Walker:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.fake = h.fake
        self.shapes: set[str] = set()
        # content ids other than the long ones collapse into one shape: one of each is pressed
        kb = h.core.qa.kb
        self.content_ids = {e.id for e in kb.entries} | {
            o.slug for o in load_opds(h.core.knowledge_dir).opds
        }
        self.content_ids |= set(h.core.feedback.templates())
        self.content_ids -= {ENTRY_A, ENTRY_B, OPD_SLUG, QUESTIONNAIRE}
        self.payloads: set[str] = set()
        self.presses = 0

    def _collect(self, mark: int, user: int, stack: list[tuple[int, str]]) -> None:
        found: list[tuple[int, str]] = []
        for call in self.fake.calls[mark:]:
            if not call.ok or call.params.get("chat_id") != user:
                continue
            for data in _callback_buttons(call):
                self.payloads.add(data)
                shape = ":".join(
                    "*" if part in self.content_ids else re.sub(r"\d+", "#", part)
                    for part in data.split(":")
                )
                if shape in self.shapes or data in SKIP:
                    continue
                self.shapes.add(shape)
                found.append((message_id_of(call), data))
        stack.extend(reversed(found))  # the first button of the newest message goes first

    async def settle(self, user: int, mark: int) -> None:
        """Until the bot has answered in that chat (a search can take a while on a loaded
        machine without any HTTP traffic) and then gone quiet."""
        for _ in range(400):
            if any(c.chat_id == user for c in self.fake.calls[mark:]):
                break
            await asyncio.sleep(0.025)
        await self.fake.wait_idle(quiet=0.3, timeout=15)

    async def say(self, user: int, text_: str, *, walk: bool = True) -> None:
        mark = self.fake.mark()
        self.fake.send_message(user, text_)
        await self.settle(user, mark)
        if walk:
            await self.walk(user, mark)

    async def press(self, user: int, data_prefix: str) -> None:
        """Press the newest button starting with ``data_prefix`` (to steer a flow)."""
        for call in reversed(self.fake.calls):
            if call.ok and call.params.get("chat_id") == user:
                for data in _callback_buttons(call):
                    if data.startswith(data_prefix):
                        mark = self.fake.mark()
                        self.fake.press_button(user, message_id_of(call), data)
                        await self.settle(user, mark)
                        return
        raise AssertionError(f"no button {data_prefix}... for {user}")

    async def walk(self, user: int, mark: int) -> None:
        stack: list[tuple[int, str]] = []
        self._collect(mark, user, stack)
        while stack:
            assert self.presses < MAX_PRESSES, "walk did not end"
            message_id, data = stack.pop()
            self.presses += 1
            mark = self.fake.mark()
            try:
                self.fake.press_button(user, message_id, data)
            except ValueError:  # the message is gone (deleted by the bot)
                continue
            await self.settle(user, mark)
            self._collect(mark, user, stack)


def test_id_limits_follow_from_the_longest_prefix():
    assert max_id_bytes("entry") == CALLBACK_DATA_MAX - len("kb:e::" + WIDEST_ROW_ID)
    assert max_id_bytes("opd") == CALLBACK_DATA_MAX - len("opd:ps:")
    # the wizard's buttons end with its dialogue token (handlers.tokens)
    assert max_id_bytes("questionnaire") == CALLBACK_DATA_MAX - len("fbo:w:template:") - 8
    for kind, forms in ID_FORMS.items():
        longest = "x" * max_id_bytes(kind)
        assert all(len(f.format(longest).encode()) <= CALLBACK_DATA_MAX for f in forms)
        assert id_length_problem(kind, longest) is None
        assert "maksimal" in id_length_problem(kind, longest + "x")


@pytest.mark.parametrize("kind", ["entry", "opd", "questionnaire"])
def test_kb_check_and_loaders_refuse_an_id_one_byte_too_long(tmp_path, kind):
    from bot.accounts.opds import OpdFileError, load_opds
    from bot.feedback.templates import TemplateError, load_template_file
    from bot.knowledge.entry import KnowledgeError
    from bot.knowledge.loader import load_knowledge

    knowledge = _knowledge_with_long_ids(tmp_path)
    assert check_knowledge(knowledge) == []
    too_long = max_id_bytes(kind) + 1
    if kind == "entry":
        new_id = _long("bantuan-uji-tombol-c", too_long)
        path = knowledge / "bantuan" / f"{new_id}.md"
        path.write_text(ENTRY.format(id=new_id, other=ENTRY_A, **WORDS["c"]), encoding="utf-8")
        with pytest.raises(KnowledgeError):
            load_knowledge(knowledge)
    elif kind == "opd":
        new_id = _long("opd-uji-tombol-c", too_long)
        opd_file = knowledge / "opd.yaml"
        data = yaml.safe_load(opd_file.read_text(encoding="utf-8"))
        data["opds"].append({"slug": new_id, "name": "Dinas Terlalu Panjang", "kind": "dinas"})
        opd_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        with pytest.raises(OpdFileError):
            load_opds(knowledge)
    else:
        new_id = _long("kuesioner-uji-c", too_long)
        survey = (knowledge / "surveys" / "singkat.yaml").read_text(encoding="utf-8")
        path = knowledge / "surveys" / f"{new_id}.yaml"
        path.write_text(re.sub(r"(?m)^id: singkat$", f"id: {new_id}", survey), encoding="utf-8")
        with pytest.raises(TemplateError):
            load_template_file(path)
    problems = [str(p) for p in check_knowledge(knowledge)]
    assert any(new_id in p and "terlalu panjang" in p for p in problems), problems


@pytest.fixture
async def long_ids_harness(fake, db_url, tmp_path):
    knowledge = _knowledge_with_long_ids(tmp_path)
    assert check_knowledge(knowledge) == []
    h = Harness(fake, make_settings(fake, db_url, knowledge_dir=knowledge))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


async def test_every_keyboard_fits_callback_data(long_ids_harness):
    h = long_ids_harness
    w = Walker(h)
    # question log ids at their widest: the next question gets id 9223372036854775807 (SQLite
    # then picks random ids, PostgreSQL's sequence would be exhausted: one question at the edge)
    async with h.core.db.session() as s:
        s.add(QuestionLog(id=int(WIDEST_ROW_ID) - 1, text="lama", answered=False))
        if not h.core.db.is_sqlite:
            await s.execute(
                text("SELECT setval(pg_get_serial_sequence('question_log', 'id'), :i)"),
                {"i": int(WIDEST_ROW_ID) - 1},
            )

    # a new user registers: the OPD list (with the longest slug first), its pages
    await w.say(USER, "/start")
    # the admin: every command of the menu
    await w.say(ADMIN_ID, "/start")
    for command, _ in menu("admin"):
        await w.say(ADMIN_ID, f"/{command}")
    # an ambiguous question (the first logged: the widest log id): both long entries offered
    await w.say(ADMIN_ID, "zebrakuda gajahungu")
    if not h.core.db.is_sqlite:  # the sequence is at its end: back to ordinary ids
        async with h.core.db.session() as s:
            await s.execute(
                text("SELECT setval(pg_get_serial_sequence('question_log', 'id'), 1000)")
            )
    # an answer with "see also" the other long entry, and the votes
    await w.say(ADMIN_ID, "bagaimana cara zebrakuda di aplikasi")
    # /celah: a group of unanswered questions at a wide log id, the long entries suggested
    gap_id = int(WIDEST_ROW_ID) - 2
    async with h.core.db.session() as s:
        s.add(
            QuestionLog(
                id=gap_id, text="merpatilaut rusaemas badakputih kancilbiru", answered=False
            )
        )
    mark = w.fake.mark()
    await w.say(ADMIN_ID, "/celah", walk=False)
    await w.press(ADMIN_ID, f"cl:o:{gap_id}")
    await w.walk(ADMIN_ID, mark)
    # /kandidat: candidate phrasings, one at the widest id
    async with h.core.db.session() as s:
        s.add(
            LearnedPhrasing(
                id=int(WIDEST_ROW_ID),
                entry_id=ENTRY_B,
                text="gajahungu rusaemas badakputih",
                key="gajahungu rusaemas badakputih",
                status="candidate",
                source="pick",
                votes=3,
            )
        )
    await h.core.qa.learning.add_candidate(ENTRY_A, "zebrakuda kancilbiru merpatilaut", gap_id)
    await w.say(ADMIN_ID, "/kandidat")
    # a broadcast: compose, audience (OPD pages), preview, send, progress
    await w.say(ADMIN_ID, "/siaran", walk=False)
    await w.say(ADMIN_ID, "Siaran uji tombol")
    # a reminder, then its list
    await w.say(ADMIN_ID, "/pengingat", walk=False)
    await w.press(ADMIN_ID, "pg:add")
    await w.say(ADMIN_ID, "setiap Senin 08.00 unggah konten", walk=False)
    await w.say(ADMIN_ID, "/pengingat")
    # a feedback session step by step (the questionnaire list has the longest id)
    await w.say(ADMIN_ID, "/sesi", walk=False)
    await w.press(ADMIN_ID, "fbo:n:")
    await w.say(ADMIN_ID, "Pelatihan Uji Tombol")
    # a participant answers a session of the long questionnaire
    session = await h.core.feedback.create_session(
        "Sesi Uji Tombol", template_id=QUESTIONNAIRE, created_by_telegram_id=ADMIN_ID
    )
    await w.say(USER, f"/start fb_{session.code}")
    await w.say(ADMIN_ID, "/sesi")

    too_long = sorted(p for p in w.payloads if len(p.encode()) > CALLBACK_DATA_MAX)
    assert too_long == []
    refused = [c for c in h.fake.calls if c.error and "BUTTON_DATA_INVALID" in c.error]
    assert refused == []
    # the long ids really were on buttons, at the widest question log id
    assert f"opd:s:{OPD_SLUG}" in w.payloads
    assert f"mt:e:{ENTRY_A}" in w.payloads
    assert f"kb:e:{ENTRY_B}:{WIDEST_ROW_ID}" in w.payloads, sorted(
        p for p in w.payloads if p.startswith("kb")
    )
    # the wizard's buttons carry its dialogue token (handlers.tokens) after the id
    assert any(
        re.fullmatch(rf"fbo:w:template:{QUESTIONNAIRE}~[a-z][A-Za-z0-9]{{6}}", p)
        for p in w.payloads
    )
    assert max(len(p.encode()) for p in w.payloads) == CALLBACK_DATA_MAX
    # and every button family the registry handles was seen
    families = {p.split(":", 1)[0] for p in w.payloads}
    assert {
        "opd",
        "prof",
        "del",
        "kb",
        "mt",
        "fb",
        "fbo",
        "bc",
        "pg",
        "sub",
        "cl",
        "kd",
    } <= families
    # the curation buttons at the widest ids: a /celah group's actions, /kandidat's decisions
    for action in ("o", "a", "f", "s", "d"):
        assert any(p.startswith(f"cl:{action}:{gap_id}") for p in w.payloads), action
    for action in ("y", "n"):
        assert any(p.startswith(f"kd:{action}:{WIDEST_ROW_ID}:") for p in w.payloads), action
