"""Question answering around the knowledge base: asking, votes, gaps (the helpdesk's
tickets are :mod:`bot.tickets`)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select

from bot.accounts.service import UserView
from bot.db import Database
from bot.db.base import utcnow
from bot.knowledge.curation import Curation
from bot.knowledge.entry import Entry, KnowledgeError, Problem
from bot.knowledge.gaps import GAP_DAYS, GapGroup, gaps_csv, group_gaps
from bot.knowledge.learning import LearnedStore, merge_learned
from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.knowledge.models import QuestionLog
from bot.knowledge.search import SearchResult
from bot.knowledge.tokens import collapse_runs, fold

log = logging.getLogger(__name__)

QUESTION_MAX = 1000
COMMENT_MAX = 500
#: how often (seconds) a process checks whether another one accepted a learned phrasing
LEARNED_CHECK_SECONDS = 1.0

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
        self._files: KnowledgeBase | None = None  # the folder alone, before learned phrasings
        self._learned_rev: int | None = None
        self._learned_checked = float("-inf")
        self._reload_lock = asyncio.Lock()
        self.learning = LearnedStore(db)
        self.curation = Curation(self)

    # -- the knowledge base ------------------------------------------------------------------
    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            raise RuntimeError("knowledge base not loaded")
        return self._kb

    async def load(self) -> None:
        files = await asyncio.to_thread(load_knowledge, self.knowledge_dir)
        async with self._reload_lock:
            await self._install(files)
        log.info("basis pengetahuan dimuat: %d entri", len(self.kb.entries))

    async def reload(self) -> ReloadResult:
        """Load the folder again; on any problem keep the knowledge in service unchanged."""
        async with self._reload_lock:
            try:
                new = await asyncio.to_thread(load_knowledge, self.knowledge_dir)
            except KnowledgeError as exc:
                return ReloadResult(False, len(self.kb.entries), exc.problems)
            await self._install(new)
            return ReloadResult(True, len(new.entries), [])

    async def _install(self, files: KnowledgeBase) -> None:
        """Serve ``files`` with the accepted learned phrasings (under ``_reload_lock``)."""
        rev, learned = await self.learning.snapshot()
        merged = await asyncio.to_thread(merge_learned, files, learned)
        # one assignment: readers see the old or the new base, never a mix
        self._files, self._kb, self._learned_rev = files, merged, rev
        self._learned_checked = time.monotonic()

    async def refresh_learned(self, force: bool = False) -> None:
        """Rebuild the index when learned phrasings changed (in any process): a one-row read
        at most every ``LEARNED_CHECK_SECONDS`` (``force``: now)."""
        now = time.monotonic()
        if self._files is None or (
            not force and now - self._learned_checked < LEARNED_CHECK_SECONDS
        ):
            return
        self._learned_checked = now
        if not force and await self.learning.revision() == self._learned_rev:
            return
        async with self._reload_lock:
            if await self.learning.revision() != self._learned_rev:
                await self._install(self._files)

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
        await self.refresh_learned()
        kb = self.kb
        # off the event loop: the embedding takes tens of milliseconds, other chats go on
        result = await asyncio.to_thread(kb.search, text)
        entry = None
        if result.answered and not result.ambiguous and result.hits:
            entry = kb.get(result.hits[0].id)
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
        picked = None
        async with self.db.session() as s:
            row = await s.get(QuestionLog, log_id)
            if row is not None and user is not None and row.user_id == user.id:
                row.entry_id, row.answered = entry_id, True
                picked = row.text
        if picked is not None and not self.curation.knows(entry_id, picked):
            # a way of asking for this entry: a candidate phrasing
            await self.learning.add_candidate(entry_id, picked, log_id)
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
            answered = (row.entry_id, row.text) if row.answered and row.entry_id else None
        if value > 0 and answered is not None and not self.curation.knows(*answered):
            # 👍 after an answer: the way it was asked becomes a candidate (no-op after a pick,
            # whose candidate exists already)
            await self.learning.add_candidate(*answered, log_id, source="thumbs")
        await self.learning.vote_candidate(log_id, value)
        return True

    async def vote_comment(self, log_id: int, user: UserView, comment: str) -> bool:
        comment = " ".join(comment.split())[:COMMENT_MAX]
        async with self.db.session() as s:
            row = await self._own_question(s, log_id, user)
            if row is None or not comment:
                return False
            row.vote_comment = comment
            return True

    # -- gaps --------------------------------------------------------------------------------
    async def gaps(self, days: int = GAP_DAYS, now: datetime | None = None) -> list[GapGroup]:
        """Unanswered and 👎 questions of the last ``days`` days, similar ones grouped,
        most frequent first, without the ones a curator already decided on."""
        since = (now or utcnow()) - timedelta(days=days)
        async with self.db.session() as s:
            rows = (
                await s.scalars(
                    select(QuestionLog)
                    .where(
                        QuestionLog.created_at >= since,
                        or_(QuestionLog.answered.is_(False), QuestionLog.vote == -1),
                    )
                    .order_by(QuestionLog.created_at, QuestionLog.id)
                )
            ).all()
        return group_gaps(rows, await self.learning.marks())

    gaps_csv = staticmethod(gaps_csv)
