"""Report data and summary numbers of a feedback session.

``load_report_data`` reads one session from the database; :func:`summarize` is pure and works
on :class:`ReportData`, so tests check numbers without Telegram.

Only submitted responses count in the statistics; unfinished ones count for the completion
rate and appear in the raw export with their status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.accounts.models import Opd, User
from bot.db import Database
from bot.feedback.answers import is_answered
from bot.feedback.codes import normalize_code
from bot.feedback.errors import SessionNotFound
from bot.feedback.models import STATUS_SUBMITTED, FeedbackAnswer, FeedbackResponse, FeedbackSession
from bot.feedback.types import SessionView, session_view


@dataclass(frozen=True)
class ResponseRow:
    id: int
    status: str
    started_at: datetime
    submitted_at: datetime | None
    updated_at: datetime
    name: str | None  # only for non-anonymous sessions, until the retention purge
    opd: str | None
    answers: dict[str, tuple[Any, str | None]]

    @property
    def submitted(self) -> bool:
        return self.status == STATUS_SUBMITTED


@dataclass(frozen=True)
class ReportData:
    session: SessionView
    responses: list[ResponseRow]


async def load_report_data(db: Database, code: str) -> ReportData:
    code_n = normalize_code(code)
    async with db.session() as s:
        row = None
        if code_n:
            row = await s.scalar(select(FeedbackSession).where(FeedbackSession.code == code_n))
        if row is None:
            raise SessionNotFound(code=code)
        view = session_view(row)
        q = (
            select(
                FeedbackResponse.id,
                FeedbackResponse.status,
                FeedbackResponse.started_at,
                FeedbackResponse.submitted_at,
                FeedbackResponse.updated_at,
                User.name,
                Opd.name,
                User.opd_other,
            )
            .outerjoin(User, User.id == FeedbackResponse.user_id)
            .outerjoin(Opd, Opd.id == User.opd_id)
            .where(FeedbackResponse.session_id == row.id)
            .order_by(FeedbackResponse.id)
        )
        resp_rows = (await s.execute(q)).all()
        answer_rows = (
            await s.execute(
                select(
                    FeedbackAnswer.response_id,
                    FeedbackAnswer.key,
                    FeedbackAnswer.value,
                    FeedbackAnswer.text,
                )
                .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
                .where(FeedbackResponse.session_id == row.id)
            )
        ).all()
    by_response: dict[int, dict[str, tuple[Any, str | None]]] = {}
    for rid, key, value, text in answer_rows:
        by_response.setdefault(rid, {})[key] = (value, text)
    responses = [
        ResponseRow(
            id=rid,
            status=status,
            started_at=started,
            submitted_at=submitted,
            updated_at=updated,
            name=None if view.anonymous else name,
            opd=None if view.anonymous else (opd_name or opd_other),
            answers=by_response.get(rid, {}),
        )
        for rid, status, started, submitted, updated, name, opd_name, opd_other in resp_rows
    ]
    return ReportData(view, responses)


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class RatingStat:
    key: str
    label: str
    n: int
    mean: float | None
    distribution: dict[int, int]  # 1..5 -> count


@dataclass(frozen=True)
class NpsStat:
    key: str
    label: str
    n: int
    promoters: int
    passives: int
    detractors: int
    distribution: dict[int, int]  # 0..10 -> count

    @property
    def score(self) -> float | None:
        """% promoters (9-10) minus % detractors (0-6); None without answers."""
        if not self.n:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.n

    def pct(self, part: int) -> float:
        return 100.0 * part / self.n if self.n else 0.0


@dataclass(frozen=True)
class ChoiceStat:
    key: str
    label: str
    multi: bool
    n: int  # respondents who answered
    counts: list[tuple[str, int]]  # (choice label, count) in questionnaire order
    other: list[str]  # typed "Lainnya" answers


@dataclass(frozen=True)
class TextStat:
    key: str
    label: str
    texts: list[str]


@dataclass(frozen=True)
class Summary:
    session: SessionView
    started: int
    submitted: int
    in_progress: int
    ratings: list[RatingStat] = field(default_factory=list)
    nps: list[NpsStat] = field(default_factory=list)
    choices: list[ChoiceStat] = field(default_factory=list)
    texts: list[TextStat] = field(default_factory=list)

    @property
    def completion_rate(self) -> float | None:
        """Submitted / started, in percent; None when nobody started."""
        return 100.0 * self.submitted / self.started if self.started else None


def summarize(data: ReportData) -> Summary:
    done = [r for r in data.responses if r.submitted]
    ratings: list[RatingStat] = []
    nps: list[NpsStat] = []
    choices: list[ChoiceStat] = []
    texts: list[TextStat] = []
    for q in data.session.questions:
        key, label, t = q["key"], q["short"], q["type"]
        answered = [
            r.answers[key] for r in done if key in r.answers and is_answered(q, *r.answers[key])
        ]
        if t == "rating":
            values = [int(v) for v, _ in answered if v is not None]
            dist = {i: values.count(i) for i in range(1, 6)}
            mean = sum(values) / len(values) if values else None
            ratings.append(RatingStat(key, label, len(values), mean, dist))
        elif t == "nps":
            values = [int(v) for v, _ in answered if v is not None]
            dist = {i: values.count(i) for i in range(11)}
            prom = sum(1 for v in values if v >= 9)
            det = sum(1 for v in values if v <= 6)
            nps.append(NpsStat(key, label, len(values), prom, len(values) - prom - det, det, dist))
        elif t in ("single", "multi"):
            counter = {c["id"]: 0 for c in q["choices"]}
            other: list[str] = []
            for value, text in answered:
                chosen = value if t == "multi" else ([value] if value is not None else [])
                for cid in chosen or []:
                    if cid in counter:
                        counter[cid] += 1
                if text:
                    other.append(text)
            counts = [(c["label"], counter[c["id"]]) for c in q["choices"]]
            if q.get("allow_other"):
                counts.append(("Lainnya", len(other)))
            choices.append(ChoiceStat(key, label, t == "multi", len(answered), counts, other))
        elif t == "text":
            texts.append(TextStat(key, label, [text for _, text in answered if text]))
    return Summary(
        session=data.session,
        started=len(data.responses),
        submitted=len(done),
        in_progress=len(data.responses) - len(done),
        ratings=ratings,
        nps=nps,
        choices=choices,
        texts=texts,
    )
