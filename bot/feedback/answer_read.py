"""The read side of answering a questionnaire: one query for the session, the participant's
response and answers, and the :class:`Step` a participant sees (see :mod:`bot.feedback.answering`
for the write side)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.config import Settings
from bot.db import Database
from bot.db.base import utcnow
from bot.feedback.answers import display_answer, is_answered
from bot.feedback.codes import normalize_code, respondent_hash
from bot.feedback.errors import SessionClosed, SessionNotFound, SessionNotOpen
from bot.feedback.models import STATUS_SUBMITTED, FeedbackAnswer, FeedbackResponse, FeedbackSession
from bot.feedback.types import CLOSED, SCHEDULED, AnswerView, ReviewLine, SessionView, Step


@dataclass
class Resp:
    id: int
    status: str
    current_index: int
    revision: int = 0


_LIGHT_COLUMNS = [c for c in FeedbackSession.__table__.c if c.name != "questionnaire"]


def stamp(view: SessionView) -> datetime:
    """Now, for response timestamps. Anonymous sessions keep only the day (UTC), so the times
    cannot be matched against other records (e.g. when a user row changed) to re-identify."""
    now = utcnow()
    if view.anonymous:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now


class AnswerReader:
    """Reading a participant's place in a questionnaire (a mixin of the answering flow)."""

    db: Database
    settings: Settings
    # code -> (session id, salt, frozen questionnaire): none of them ever changes
    _frozen: dict[str, tuple[int, str, dict[str, Any]]]

    def _view(self, m, questionnaire: dict[str, Any]) -> SessionView:
        return SessionView(
            id=m["id"],
            code=m["code"],
            title=m["title"],
            starts_on=m["starts_on"],
            ends_on=m["ends_on"],
            place=m["place"],
            organizer_name=m["organizer_name"],
            topics=list(m["topics"] or []),
            template_id=m["template_id"],
            questionnaire=questionnaire,
            opens_at=m["opens_at"],
            closes_at=m["closes_at"],
            anonymous=m["anonymous"],
            created_by=m["created_by"],
            created_at=m["created_at"],
        )

    async def _read(
        self, code: str, telegram_id: int
    ) -> tuple[SessionView, str, Resp | None, dict[str, tuple[Any, str | None]]]:
        """(open session, respondent hash, response or None, answers by key)."""
        code_n = normalize_code(code)
        if code_n is None:
            raise SessionNotFound(code=code)
        async with self.db.session() as s:
            known = self._frozen.get(code_n)
            if known is None:
                row = (
                    await s.execute(
                        select(
                            FeedbackSession.id, FeedbackSession.salt, FeedbackSession.questionnaire
                        ).where(FeedbackSession.code == code_n)
                    )
                ).first()
                if row is None:
                    raise SessionNotFound(code=code)
                known = self._frozen[code_n] = (row[0], row[1], row[2])
            sid, salt, questionnaire = known
            rhash = respondent_hash(salt, code_n, telegram_id, self.settings.feedback_secret)
            rows = (
                await s.execute(
                    select(
                        *_LIGHT_COLUMNS,
                        FeedbackResponse.id.label("r_id"),
                        FeedbackResponse.status.label("r_status"),
                        FeedbackResponse.current_index.label("r_index"),
                        FeedbackResponse.revision.label("r_revision"),
                        FeedbackAnswer.key.label("a_key"),
                        FeedbackAnswer.value.label("a_value"),
                        FeedbackAnswer.text.label("a_text"),
                    )
                    .select_from(FeedbackSession)
                    .outerjoin(
                        FeedbackResponse,
                        (FeedbackResponse.session_id == FeedbackSession.id)
                        & (FeedbackResponse.respondent_hash == rhash),
                    )
                    .outerjoin(FeedbackAnswer, FeedbackAnswer.response_id == FeedbackResponse.id)
                    .where(FeedbackSession.id == sid)
                )
            ).all()
        if not rows:  # deleted meanwhile
            self._frozen.pop(code_n, None)
            raise SessionNotFound(code=code)
        m = rows[0]._mapping
        view = self._view(m, questionnaire)
        status = view.status()
        if status == SCHEDULED:
            raise SessionNotOpen(code=view.code, title=view.title, opens_at=view.opens_at)
        if status == CLOSED:
            raise SessionClosed(code=view.code, title=view.title, closes_at=view.closes_at)
        if m["r_id"] is None:
            return view, rhash, None, {}
        answers = {
            r._mapping["a_key"]: (r._mapping["a_value"], r._mapping["a_text"])
            for r in rows
            if r._mapping["a_key"] is not None
        }
        resp = Resp(m["r_id"], m["r_status"], m["r_index"], m["r_revision"])
        return view, rhash, resp, answers

    def _step(
        self,
        view: SessionView,
        resp: Resp,
        answers: dict[str, tuple[Any, str | None]],
        *,
        new: bool = False,
        resumed: bool = False,
        force_review: bool = False,
        missing: list[int] | None = None,
    ) -> Step:
        total = view.total
        index = resp.current_index
        if force_review:
            index = total
        submitted = resp.status == STATUS_SUBMITTED
        if index >= total:
            lines = []
            for i, q in enumerate(view.questions):
                value, text = answers.get(q["key"], (None, None))
                ans = display_answer(q, value, text) if is_answered(q, value, text) else None
                lines.append(ReviewLine(i + 1, q["short"], q["text"], q["required"], ans))
            return Step(
                kind="review",
                session=view,
                index=total,
                total=total,
                lines=lines,
                submitted=submitted,
                new=new,
                resumed=resumed,
                missing=missing or [],
            )
        q = view.questions[index]
        value, text = answers.get(q["key"], (None, None))
        ans = (
            AnswerView(value, text, display_answer(q, value, text))
            if is_answered(q, value, text)
            else None
        )
        selected = frozenset(value or []) if q["type"] == "multi" else frozenset()
        return Step(
            kind="question",
            session=view,
            index=index,
            total=total,
            question=q,
            answer=ans,
            selected=selected,
            submitted=submitted,
            new=new,
            resumed=resumed,
        )
