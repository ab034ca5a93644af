"""Answering a questionnaire, one question at a time (the participant side of the service).

State lives in the database only: ``feedback_responses.current_index`` says where a participant
is, so a restart (or a day later) continues exactly there. Every action names the question index
its button belongs to; an action for another index is stale (:class:`StaleStep`) and changes
nothing.

The hot path (hundreds of participants at once) is one read and one short write:
- read: the session (light columns; the frozen questionnaire and the salt are cached per
  session, they never change), the response and its answers - one query once the salt of
  the session is known;
- write: guarded by the question index that was read (``WHERE current_index = :index``),
  so a concurrent or stale action changes nothing (StaleStep) without holding row locks,
  on PostgreSQL and SQLite alike. On SQLite the short write transactions are queued
  in-process (one writer; its busy handler would otherwise poll with growing sleeps).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.accounts.models import User
from bot.config import Settings
from bot.db import Database
from bot.feedback.answer_read import AnswerReader, Resp, stamp
from bot.feedback.answers import is_answered, parse_button, parse_text
from bot.feedback.errors import (
    InvalidAnswer,
    NoResponse,
    StaleStep,
)
from bot.feedback.models import (
    STATUS_IN_PROGRESS,
    STATUS_SUBMITTED,
    FeedbackAnswer,
    FeedbackResponse,
)
from bot.feedback.types import Step


class AnsweringFlow(AnswerReader):
    """The answering methods of :class:`bot.feedback.service.FeedbackService` (a mixin: the
    service sets ``db``, ``settings``, the questionnaire cache and the SQLite write lock)."""

    db: Database
    settings: Settings
    # code -> (session id, salt, frozen questionnaire): none of them ever changes
    _frozen: dict[str, tuple[int, str, dict[str, Any]]]
    _write_lock: asyncio.Lock | None

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Any]:
        if self._write_lock is None:
            async with self.db.session() as s:
                yield s
            return
        async with self._write_lock, self.db.session() as s:
            yield s

    @staticmethod
    async def _move(s, resp: Resp, new_index: int, now: datetime, **values: Any) -> None:
        """Set the response's position, only if nothing changed it since it was read."""
        res = await s.execute(
            update(FeedbackResponse)
            .where(FeedbackResponse.id == resp.id, FeedbackResponse.revision == resp.revision)
            .values(current_index=new_index, revision=resp.revision + 1, updated_at=now, **values)
        )
        if res.rowcount != 1:
            raise StaleStep(index=resp.current_index)
        resp.revision += 1

    async def start(self, code: str, telegram_id: int) -> Step:
        """Begin, resume, or (already submitted) show the review to edit before closing."""
        for _attempt in range(3):
            view, rhash, resp, answers = await self._read(code, telegram_id)
            if resp is not None:
                if resp.status == STATUS_SUBMITTED and resp.current_index != view.total:
                    try:  # editing a submitted response starts from the review
                        async with self._write() as s:
                            await self._move(s, resp, view.total, stamp(view))
                    except StaleStep:
                        continue
                    resp.current_index = view.total
                return self._step(
                    view,
                    resp,
                    answers,
                    resumed=resp.status == STATUS_IN_PROGRESS and bool(answers),
                    force_review=resp.status == STATUS_SUBMITTED,
                )
            try:
                async with self._write() as s:
                    user_id = None
                    if not view.anonymous:
                        user_id = await s.scalar(
                            select(User.id).where(User.telegram_id == telegram_id)
                        )
                    now = stamp(view)
                    rid = (
                        await s.execute(
                            insert(FeedbackResponse)
                            .values(
                                session_id=view.id,
                                user_id=user_id,
                                respondent_hash=rhash,
                                status=STATUS_IN_PROGRESS,
                                current_index=0,
                                revision=0,
                                started_at=now,
                                updated_at=now,
                            )
                            .returning(FeedbackResponse.id)
                        )
                    ).scalar_one()
                return self._step(view, Resp(rid, STATUS_IN_PROGRESS, 0), {}, new=True)
            except IntegrityError:
                continue  # a concurrent start created it first: read it back
        raise RuntimeError("gagal memulai respons")

    async def current(self, code: str, telegram_id: int) -> Step:
        """The participant's current step (no change); NoResponse when they never started."""
        view, _, resp, answers = await self._read(code, telegram_id)
        if resp is None:
            raise NoResponse(code=view.code)
        return self._step(view, resp, answers)

    async def answer(self, code: str, telegram_id: int, index: int, raw: int) -> Step:
        """A button answer for question ``index`` (rating/nps value, or single choice index)."""

        def act(q, answers):
            value, text = parse_button(q, raw)
            return "set_next", (value, text)

        return await self._act(code, telegram_id, index, act)

    async def answer_text(self, code: str, telegram_id: int, index: int, raw: str) -> Step:
        """A typed answer for question ``index`` (see :func:`parse_text`)."""

        def act(q, answers):
            value, text = parse_text(q, raw)
            if q["type"] == "multi":
                kept = answers.get(q["key"], (None, None))[0] or []
                return "set_stay", (list(kept), text)
            return "set_next", (value, text)

        return await self._act(code, telegram_id, index, act)

    async def toggle(self, code: str, telegram_id: int, index: int, choice: int) -> Step:
        """Multiple choice: add or remove choice number ``choice`` (0-based)."""

        def act(q, answers):
            if q["type"] != "multi":
                raise InvalidAnswer("use_buttons")
            choices = q["choices"]
            if not 0 <= choice < len(choices):
                raise InvalidAnswer("unknown_choice")
            cid = choices[choice]["id"]
            value, text = answers.get(q["key"], (None, None))
            chosen = list(value or [])
            if cid in chosen:
                chosen.remove(cid)
            else:
                limit = q.get("max_choices")
                if limit and len(chosen) >= limit:
                    raise InvalidAnswer("too_many_choices", max=limit)
                chosen.append(cid)
            order = [c["id"] for c in choices]
            chosen.sort(key=order.index)
            return "set_stay", (chosen, text)

        return await self._act(code, telegram_id, index, act)

    async def next(self, code: str, telegram_id: int, index: int) -> Step:
        """Keep the current answer and go on (also ends a multiple choice question)."""

        def act(q, answers):
            value, text = answers.get(q["key"], (None, None))
            if q["required"] and not is_answered(q, value, text):
                raise InvalidAnswer("required")
            return "move", index + 1

        return await self._act(code, telegram_id, index, act)

    async def skip(self, code: str, telegram_id: int, index: int) -> Step:
        """Skip an optional question (removes an earlier answer to it)."""

        def act(q, answers):
            if q["required"]:
                raise InvalidAnswer("required")
            return "clear_next", None

        return await self._act(code, telegram_id, index, act)

    async def back(self, code: str, telegram_id: int, index: int) -> Step:
        """One question back (from the review screen: the last question)."""
        return await self._act(code, telegram_id, index, lambda q, a: ("move", index - 1))

    async def goto(self, code: str, telegram_id: int, index: int, target: int) -> Step:
        """From the review screen (``index`` == total): open question ``target`` to change it."""
        return await self._act(code, telegram_id, index, lambda q, a: ("move", target))

    async def submit(self, code: str, telegram_id: int) -> Step:
        """Submit from the review screen; a review with ``missing`` when required ones lack."""
        view, _, resp, answers = await self._read(code, telegram_id)
        if resp is None:
            raise NoResponse(code=view.code)
        if resp.current_index < view.total:
            raise StaleStep(index=resp.current_index)
        missing = [
            i + 1
            for i, q in enumerate(view.questions)
            if q["required"] and not is_answered(q, *answers.get(q["key"], (None, None)))
        ]
        if missing:
            return self._step(view, resp, answers, missing=missing)
        now = stamp(view)
        was_submitted = resp.status == STATUS_SUBMITTED
        async with self._write() as s:
            await self._move(
                s,
                resp,
                view.total,
                now,
                status=STATUS_SUBMITTED,
                submitted_at=func.coalesce(FeedbackResponse.submitted_at, now),
            )
        resp.status = STATUS_SUBMITTED
        step = self._step(view, resp, answers)
        return Step(
            kind="done",
            session=view,
            index=view.total,
            total=view.total,
            lines=step.lines,
            submitted=was_submitted,
        )

    async def _act(self, code: str, telegram_id: int, index: int, fn) -> Step:
        view, _, resp, answers = await self._read(code, telegram_id)
        if resp is None:
            raise NoResponse(code=view.code)
        if index != resp.current_index or not 0 <= index <= view.total:
            raise StaleStep(index=resp.current_index)
        q = view.questions[index] if index < view.total else None
        if q is None:
            # the review screen only allows moving (back / goto)
            kind, arg = fn({"type": "review", "key": "", "required": False}, answers)
            if kind != "move":
                raise StaleStep(index=resp.current_index)
        else:
            kind, arg = fn(q, answers)
        now = stamp(view)
        new_index = index
        if kind in ("set_next", "clear_next"):
            new_index = index + 1
        elif kind == "move":
            new_index = max(0, min(int(arg), view.total))
        try:
            async with self._write() as s:
                await self._move(s, resp, new_index, now)
                if kind in ("set_next", "set_stay"):
                    value, text = arg
                    if q["key"] in answers:
                        await s.execute(
                            update(FeedbackAnswer)
                            .where(
                                FeedbackAnswer.response_id == resp.id,
                                FeedbackAnswer.key == q["key"],
                            )
                            .values(value=value, text=text, updated_at=now)
                        )
                    else:
                        await s.execute(
                            insert(FeedbackAnswer).values(
                                response_id=resp.id,
                                key=q["key"],
                                value=value,
                                text=text,
                                updated_at=now,
                            )
                        )
                    answers[q["key"]] = (value, text)
                elif kind == "clear_next" and q["key"] in answers:
                    await s.execute(
                        delete(FeedbackAnswer).where(
                            FeedbackAnswer.response_id == resp.id, FeedbackAnswer.key == q["key"]
                        )
                    )
                    answers.pop(q["key"], None)
        except IntegrityError:  # the same answer inserted concurrently: this action is stale
            raise StaleStep(index=resp.current_index) from None
        resp.current_index = new_index
        return self._step(view, resp, answers)
