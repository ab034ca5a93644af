"""Question answering around the knowledge base: asking, votes, helpdesk handoff, gaps."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz
from sqlalchemy import or_, select

from bot.accounts.service import UserView
from bot.db import Database
from bot.db.base import utcnow
from bot.knowledge.entry import Entry, KnowledgeError, Problem
from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.knowledge.models import Handoff, QuestionLog
from bot.knowledge.search import SearchResult
from bot.knowledge.tokens import collapse_runs, fold

log = logging.getLogger(__name__)

QUESTION_MAX = 1000
COMMENT_MAX = 500
HANDOFF_ANSWER_MAX = 3500
GAP_DAYS = 30
GAP_SIMILARITY = 70  # token_sort_ratio: word order ignored, extra words lower the score

# Chat pleasantries are not questions: answer them kindly, keep them out of the gap report.
_FILLERS = {
    "min",
    "mimin",
    "kak",
    "pak",
    "bu",
    "bang",
    "mas",
    "mbak",
    "gan",
    "admin",
    "bot",
    "ya",
    "yah",
    "nih",
    "dong",
    "deh",
    "sih",
    "nya",
    "semua",
    "all",
    "banget",
    "bgt",
}
_GREETINGS = {
    "halo",
    "hallo",
    "helo",
    "hai",
    "hi",
    "hello",
    "pagi",
    "siang",
    "sore",
    "malam",
    "selamat pagi",
    "selamat siang",
    "selamat sore",
    "selamat malam",
    "permisi",
    "assalamualaikum",
    "asalamualaikum",
    "salam",
    "om swastiastu",
    "tes",
    "test",
    "p",
}
_THANKS = {
    "terima kasih",
    "terimakasih",
    "makasih",
    "trims",
    "thanks",
    "thank you",
    "thx",
    "tq",
    "tengkyu",
    "suwun",
    "matur suksma",
    "siap",
    "mantap",
    "sip",
    "baik",
    "oke siap",
    "terima kasih banyak",
    "makasih banyak",
    "noted",
    "paham",
    "sudah paham",
    "ok",
    "oke",
    "okey",
    "okay",
    "ok siap",
}


@dataclass(frozen=True)
class Asked:
    log_id: int
    result: SearchResult
    entry: Entry | None  # the answer, when confident and not ambiguous


@dataclass(frozen=True)
class HandoffView:
    id: int
    question: str
    user_id: int | None
    asker_chat_id: int | None
    helpdesk_chat_id: int
    helpdesk_message_id: int | None
    status: str
    new: bool = True  # False: this question had already been forwarded


@dataclass
class GapGroup:
    example: str
    count: int
    unanswered: int
    downvoted: int
    last_asked: datetime
    questions: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    entries: int
    problems: list[Problem]


class QAService:
    def __init__(self, db: Database, knowledge_dir: Path, helpdesk_chat_id: int | None) -> None:
        self.db = db
        self.knowledge_dir = knowledge_dir
        self.helpdesk_chat_id = helpdesk_chat_id
        self._kb: KnowledgeBase | None = None
        self._reload_lock = asyncio.Lock()

    # -- the knowledge base ------------------------------------------------------------------
    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            raise RuntimeError("knowledge base not loaded")
        return self._kb

    async def load(self) -> None:
        self._kb = await asyncio.to_thread(load_knowledge, self.knowledge_dir)
        log.info("basis pengetahuan dimuat: %d entri", len(self._kb.entries))

    async def reload(self) -> ReloadResult:
        """Load the folder again; on any problem keep the knowledge in service unchanged."""
        async with self._reload_lock:
            try:
                new = await asyncio.to_thread(load_knowledge, self.knowledge_dir)
            except KnowledgeError as exc:
                return ReloadResult(False, len(self.kb.entries), exc.problems)
            self._kb = new  # one assignment: readers see the old or the new base, never a mix
            return ReloadResult(True, len(new.entries), [])

    @property
    def handoff_enabled(self) -> bool:
        return self.helpdesk_chat_id is not None

    # -- asking ------------------------------------------------------------------------------
    @staticmethod
    def small_talk(text: str) -> str | None:
        """'greeting' or 'thanks' when the message is only a pleasantry, else None."""
        words = [collapse_runs(w) for w in re.findall(r"[a-z]+", fold(text))]
        words = [w for w in words if w not in _FILLERS]
        phrase = " ".join(words)
        if phrase in _GREETINGS:
            return "greeting"
        if phrase in _THANKS:
            return "thanks"
        return None

    async def ask(self, user: UserView | None, text: str) -> Asked:
        text = " ".join(text.split())[:QUESTION_MAX]
        result = self.kb.search(text)
        entry = None
        if result.answered and not result.ambiguous and result.hits:
            entry = self.kb.get(result.hits[0].id)
        top = result.hits[0] if result.hits else None
        async with self.db.session() as s:
            row = QuestionLog(
                user_id=user.id if user else None,
                opd_id=None,
                text=text,
                normalized=result.normalized,
                answered=entry is not None,
                entry_id=entry.id if entry else (top.id if top else None),
                score=top.score if top else None,
            )
            s.add(row)
            await s.flush()
            log_id = row.id
        return Asked(log_id, result, entry)

    async def chose(self, log_id: int, user: UserView | None, entry_id: str) -> Entry | None:
        """The asker picked an entry (from 'which did you mean' or the closest topics)."""
        entry = self.kb.get(entry_id)
        if entry is None:
            return None
        async with self.db.session() as s:
            row = await s.get(QuestionLog, log_id)
            if row is not None and user is not None and row.user_id == user.id:
                row.entry_id, row.answered = entry_id, True
        return entry

    async def _own_question(self, s, log_id: int, user: UserView) -> QuestionLog | None:
        row = await s.get(QuestionLog, log_id)
        if row is None or row.user_id != user.id:
            return None
        return row

    async def vote(self, log_id: int, user: UserView, value: int) -> bool:
        if value not in (1, -1):
            return False
        async with self.db.session() as s:
            row = await self._own_question(s, log_id, user)
            if row is None:
                return False
            row.vote = value
            return True

    async def vote_comment(self, log_id: int, user: UserView, comment: str) -> bool:
        comment = " ".join(comment.split())[:COMMENT_MAX]
        async with self.db.session() as s:
            row = await self._own_question(s, log_id, user)
            if row is None or not comment:
                return False
            row.vote_comment = comment
            return True

    # -- helpdesk handoff --------------------------------------------------------------------
    async def create_handoff(self, log_id: int, user: UserView) -> HandoffView | None:
        if self.helpdesk_chat_id is None:
            return None
        async with self.db.session() as s:
            row = await self._own_question(s, log_id, user)
            if row is None:
                return None
            old = await s.scalar(
                select(Handoff).where(Handoff.question_id == row.id).order_by(Handoff.id).limit(1)
            )
            if old is not None:  # a double tap: forward each question once
                return HandoffView(
                    old.id,
                    old.question,
                    old.user_id,
                    user.chat_id,
                    old.helpdesk_chat_id,
                    old.helpdesk_message_id,
                    old.status,
                    new=False,
                )
            h = Handoff(
                question_id=row.id,
                user_id=user.id,
                question=row.text,
                helpdesk_chat_id=self.helpdesk_chat_id,
            )
            s.add(h)
            await s.flush()
            return HandoffView(
                h.id, h.question, user.id, user.chat_id, h.helpdesk_chat_id, None, h.status
            )

    async def cancel_handoff(self, handoff_id: int) -> None:
        """Forget a handoff whose question could not be delivered to the helpdesk chat."""
        async with self.db.session() as s:
            h = await s.get(Handoff, handoff_id)
            if h is not None:
                await s.delete(h)

    async def set_handoff_message(self, handoff_id: int, message_id: int) -> None:
        async with self.db.session() as s:
            h = await s.get(Handoff, handoff_id)
            if h is not None:
                h.helpdesk_message_id = message_id

    async def handoff_for_reply(self, chat_id: int, message_id: int) -> HandoffView | None:
        """The handoff whose forwarded question is the message a helpdesk admin replied to."""
        from bot.accounts.models import User

        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(Handoff, User.chat_id)
                    .outerjoin(User, Handoff.user_id == User.id)
                    .where(
                        Handoff.helpdesk_chat_id == chat_id,
                        Handoff.helpdesk_message_id == message_id,
                    )
                )
            ).first()
            if row is None:
                return None
            h, asker_chat = row
            return HandoffView(
                h.id,
                h.question,
                h.user_id,
                asker_chat,
                h.helpdesk_chat_id,
                h.helpdesk_message_id,
                h.status,
            )

    async def record_handoff_answer(self, handoff_id: int, answered_by: str, answer: str) -> None:
        async with self.db.session() as s:
            h = await s.get(Handoff, handoff_id)
            if h is not None:
                h.answer = answer[:HANDOFF_ANSWER_MAX]
                h.answered_by = answered_by[:200]
                h.answered_at = utcnow()
                h.status = "answered"

    # -- gaps --------------------------------------------------------------------------------
    async def gaps(self, days: int = GAP_DAYS, now: datetime | None = None) -> list[GapGroup]:
        """Unanswered and 👎 questions of the last ``days`` days, similar ones grouped,
        most frequent first."""
        since = (now or utcnow()) - timedelta(days=days)
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(QuestionLog)
                    .where(
                        QuestionLog.created_at >= since,
                        or_(QuestionLog.answered.is_(False), QuestionLog.vote == -1),
                    )
                    .order_by(QuestionLog.created_at)
                )
            ).all()
        groups: list[tuple[str, GapGroup]] = []
        for r in rows:
            key = r.normalized or r.text.lower()
            target = None
            for gkey, g in groups:
                if fuzz.token_sort_ratio(key, gkey) >= GAP_SIMILARITY:
                    target = g
                    break
            if target is None:
                target = GapGroup(r.text, 0, 0, 0, r.created_at)
                groups.append((key, target))
            target.count += 1
            target.unanswered += 0 if r.answered else 1
            target.downvoted += 1 if r.vote == -1 else 0
            target.last_asked = max(target.last_asked, r.created_at)
            if r.text not in target.questions:
                target.questions.append(r.text)
            if r.vote_comment:
                target.comments.append(r.vote_comment)
        out = [g for _, g in groups]
        out.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
        return out

    @staticmethod
    def gaps_csv(groups: list[GapGroup]) -> bytes:
        """The report as CSV (UTF-8 with BOM for Excel). Free text typed by users that a
        spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with a quote."""

        def cell(text: str) -> str:
            return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(
            [
                "kelompok",
                "jumlah",
                "belum_terjawab",
                "jempol_bawah",
                "terakhir",
                "pertanyaan",
                "komentar",
            ]
        )
        for i, g in enumerate(groups, 1):
            w.writerow(
                [
                    i,
                    g.count,
                    g.unanswered,
                    g.downvoted,
                    g.last_asked.isoformat(timespec="minutes"),
                    cell(" | ".join(g.questions)),
                    cell(" | ".join(g.comments)),
                ]
            )
        return buf.getvalue().encode("utf-8-sig")
