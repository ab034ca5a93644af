"""Feedback reports: summary numbers, chart PNG (matplotlib), XLSX (openpyxl) and CSV.

``load_report_data`` reads one session from the database; everything else is pure and works
on :class:`ReportData` / :class:`Summary`, so tests check numbers without Telegram.

Only submitted responses count in the statistics; unfinished ones count for the completion
rate and appear in the raw export with their status.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
# Titles, topics and labels are user text: "$5 dan $10" must stay literal, never mathtext
# (which would garble it, or fail on a stray backslash). Only this module draws charts.
matplotlib.rcParams["text.parse_math"] = False

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.db import Database  # noqa: E402
from bot.feedback.service import (  # noqa: E402
    SessionNotFound,
    SessionView,
    _session_view,
    display_answer,
    is_answered,
    normalize_code,
)
from bot.models import Opd, User  # noqa: E402
from bot.models.feedback import (  # noqa: E402
    STATUS_SUBMITTED,
    FeedbackAnswer,
    FeedbackResponse,
    FeedbackSession,
)

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# What openpyxl refuses in cell text (IllegalCharacterError): C0 controls except tab/LF/CR.
ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
STATUS_LABELS = {STATUS_SUBMITTED: "terkirim", "in_progress": "belum selesai"}


# --------------------------------------------------------------------------- data


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
        view = _session_view(row)
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


# --------------------------------------------------------------------------- chart

SESSION_COLORS = ["#1f5fa8", "#e0862b", "#3b9a57", "#9b4fb3", "#c23b3b", "#6b7a8f"]
NPS_COLORS = {"det": "#d9534f", "pas": "#b8b8b8", "pro": "#2e9e5b"}


def _wrap_label(text: str, width: int = 28) -> str:
    return "\n".join(textwrap.wrap(text, width)[:3]) or text


def chart_png(summaries: list[Summary], *, dpi: int = 110) -> bytes:
    """One chart: mean per rating item (one bar per item; several sessions side by side), and
    the NPS breakdown (detractors / passives / promoters) per session."""
    if not summaries:
        raise ValueError("no summaries")
    labels: list[str] = []
    for sm in summaries:
        for r in sm.ratings:
            if r.label not in labels:
                labels.append(r.label)
    n_sessions = len(summaries)
    has_nps = any(sm.nps for sm in summaries)
    rows = max(len(labels), 1)
    bar_h = 0.8 / n_sessions
    height = max(4.0, 0.45 * rows * max(1.0, 0.6 * n_sessions) + 1.8)
    fig = Figure(figsize=(11, height + (2.2 if has_nps else 0)), dpi=dpi)
    FigureCanvasAgg(fig)
    if has_nps:
        grid = fig.add_gridspec(2, 1, height_ratios=[height, 0.9 + 0.45 * n_sessions])
        ax = fig.add_subplot(grid[0])
        ax_nps = fig.add_subplot(grid[1])
    else:
        ax = fig.add_subplot(1, 1, 1)
        ax_nps = None

    for si, sm in enumerate(summaries):
        stats = {r.label: r for r in sm.ratings}
        ys, means, ns = [], [], []
        for li, lab in enumerate(labels):
            r = stats.get(lab)
            if r is None or r.mean is None:
                continue
            ys.append(li - 0.4 + bar_h * (si + 0.5))
            means.append(r.mean)
            ns.append(r.n)
        name = f"{sm.session.code} · {sm.session.title}"
        bars = ax.barh(
            ys,
            means,
            height=bar_h * 0.9,
            color=SESSION_COLORS[si % len(SESSION_COLORS)],
            label=textwrap.shorten(name, 60, placeholder="…"),
        )
        for bar, mean, n in zip(bars, means, ns, strict=True):
            ax.text(
                bar.get_width() + 0.05,
                bar.get_y() + bar.get_height() / 2,
                f"{mean:.2f} (n={n})",
                va="center",
                fontsize=8 if n_sessions > 1 else 9,
            )
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels([_wrap_label(lab) for lab in labels], fontsize=9)
    ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)  # first item on top; room even with no bars
    ax.set_xlim(0, 5.9)
    ax.set_xticks([1, 2, 3, 4, 5])
    ax.axvline(3, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel("Rata-rata (1-5)")
    ax.grid(axis="x", alpha=0.3)
    if n_sessions == 1:
        sm = summaries[0]
        ax.set_title(
            textwrap.shorten(
                f"{sm.session.title} ({sm.session.code}) · {sm.submitted} respons",
                90,
                placeholder="…",
            ),
            fontsize=11,
        )
    else:
        ax.set_title("Perbandingan sesi: rata-rata per butir", fontsize=11)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=min(2, n_sessions),
            fontsize=8,
            frameon=False,
        )
    if not labels:
        ax.text(2.9, 0, "Belum ada penilaian", ha="center", va="center")
    elif not any(r.mean is not None for sm in summaries for r in sm.ratings):
        ax.text(
            2.9,
            (len(labels) - 1) / 2,
            "Belum ada respons terkirim",
            ha="center",
            va="center",
            fontsize=12,
            color="#666666",
        )

    if ax_nps is not None:
        ys = list(range(n_sessions))
        names, det, pas, pro, titles = [], [], [], [], []
        for sm in summaries:
            st = sm.nps[0] if sm.nps else None
            names.append(sm.session.code)
            det.append(st.pct(st.detractors) if st else 0)
            pas.append(st.pct(st.passives) if st else 0)
            pro.append(st.pct(st.promoters) if st else 0)
            score = st.score if st else None
            titles.append(
                f"NPS {score:+.0f} (n={st.n})" if st and score is not None else "NPS - (n=0)"
            )
        ax_nps.barh(ys, det, color=NPS_COLORS["det"], label="Detraktor (0-6)")
        ax_nps.barh(ys, pas, left=det, color=NPS_COLORS["pas"], label="Pasif (7-8)")
        left2 = [a + b for a, b in zip(det, pas, strict=True)]
        ax_nps.barh(ys, pro, left=left2, color=NPS_COLORS["pro"], label="Promotor (9-10)")
        for y, (d, p, r) in enumerate(zip(det, pas, pro, strict=True)):
            for start, width in ((0, d), (d, p), (d + p, r)):
                if width >= 7:
                    ax_nps.text(
                        start + width / 2,
                        y,
                        f"{width:.0f}%",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white",
                    )
        ax_nps.set_yticks(ys)
        ax_nps.set_yticklabels(
            [f"{n}\n{t}" for n, t in zip(names, titles, strict=True)], fontsize=8
        )
        ax_nps.invert_yaxis()
        ax_nps.set_xlim(0, 100)
        ax_nps.set_xlabel("% responden")
        ax_nps.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False
        )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


# --------------------------------------------------------------------------- exports


def _local(dt: datetime | None, tz: ZoneInfo) -> datetime | None:
    return dt.astimezone(tz).replace(tzinfo=None) if dt is not None else None


def _csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user text (CSV injection): prefix a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Sheet:
    """A streamed (write-only) sheet: rows go out as they are appended. Text that looks like a
    formula stays text (XLSX injection); dates get a readable format; header rows a style."""

    def __init__(self, ws, styles: dict[str, Any]) -> None:
        self.ws = ws
        self.styles = styles

    def append(self, values: list[Any], style: str | None = None) -> None:
        from openpyxl.cell import WriteOnlyCell

        out: list[Any] = []
        for value in values:
            if isinstance(value, str):  # control characters are not allowed in XLSX
                value = ILLEGAL_XLSX.sub("", value)
            plain = isinstance(value, (int, float)) or value is None
            if plain and style is None:
                out.append(value)
                continue
            cell = WriteOnlyCell(self.ws, value=value)
            if cell.data_type == "f":
                cell.data_type = "s"
            if isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
            if style is not None:
                for attr, v in self.styles[style].items():
                    setattr(cell, attr, v)
            out.append(cell)
        self.ws.append(out)


def raw_columns(session: SessionView) -> list[str]:
    cols = ["No", "Status", "Mulai", "Dikirim", "Terakhir diubah"]
    if not session.anonymous:
        cols += ["Nama", "OPD"]
    cols += [f"{i}. {q['short']}" for i, q in enumerate(session.questions, 1)]
    return cols


def raw_rows(data: ReportData, tz: ZoneInfo) -> list[list[Any]]:
    rows = []
    for n, r in enumerate(data.responses, 1):
        row: list[Any] = [
            n,
            STATUS_LABELS.get(r.status, r.status),
            _local(r.started_at, tz),
            _local(r.submitted_at, tz),
            _local(r.updated_at, tz),
        ]
        if not data.session.anonymous:
            row += [r.name or "", r.opd or ""]
        for q in data.session.questions:
            value, text = r.answers.get(q["key"], (None, None))
            if not is_answered(q, value, text):
                row.append(None)
            elif q["type"] in ("rating", "nps"):
                row.append(int(value))
            else:
                row.append(
                    display_answer(q, value, text).replace(", ", "; ")
                    if q["type"] == "multi"
                    else display_answer(q, value, text)
                )
        rows.append(row)
    return rows


def xlsx_bytes(data: ReportData, summary: Summary | None = None, *, tz: ZoneInfo) -> bytes:
    """A workbook with a "Ringkasan" (summary) sheet and a "Jawaban" (raw answers) sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    summary = summary or summarize(data)
    sv = data.session
    wb = Workbook(write_only=True)  # streamed: about twice as fast for big sessions
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F1")
    styles = {
        "title": {"font": Font(bold=True, size=13)},
        "header": {"font": bold, "fill": head_fill},
        "raw_header": {
            "font": bold,
            "fill": head_fill,
            "alignment": Alignment(wrap_text=True, vertical="top"),
        },
    }
    ws = wb.create_sheet("Ringkasan")
    ws.column_dimensions["A"].width = 42
    for col in "BCDEFGHIJKL":
        ws.column_dimensions[col].width = 14
    sheet = _Sheet(ws, styles)

    def put(row: list[Any], *, header: bool = False, title: bool = False) -> None:
        sheet.append(row, "title" if title else ("header" if header else None))

    put(["Laporan umpan balik pelatihan"], title=True)
    put(["Judul", sv.title])
    put(["Kode sesi", sv.code])
    dates = ""
    if sv.starts_on:
        dates = sv.starts_on.isoformat()
        if sv.ends_on and sv.ends_on != sv.starts_on:
            dates += f" s.d. {sv.ends_on.isoformat()}"
    put(["Tanggal", dates])
    put(["Tempat", sv.place or ""])
    put(["Penyelenggara", sv.organizer_name or ""])
    put(["Materi", "; ".join(sv.topics)])
    put(["Kuesioner", sv.questionnaire.get("title", sv.template_id)])
    put(["Anonim", "ya" if sv.anonymous else "tidak"])
    put(["Dibuka", _local(sv.opens_at, tz)])
    put(["Ditutup", _local(sv.closes_at, tz)])
    put([])
    put(["Responden mulai mengisi", summary.started])
    put(["Respons terkirim", summary.submitted])
    put(["Belum selesai", summary.in_progress])
    rate = summary.completion_rate
    put(["Tingkat penyelesaian (%)", round(rate, 1) if rate is not None else None])
    put([])
    put(["Butir penilaian (1-5)", "n", "Rata-rata", "1", "2", "3", "4", "5"], header=True)
    for r in summary.ratings:
        mean = round(r.mean, 2) if r.mean is not None else None
        put([r.label, r.n, mean] + [r.distribution[i] for i in range(1, 6)])
    for st in summary.nps:
        put([])
        put(
            [st.label, "n", "Promotor (9-10)", "Pasif (7-8)", "Detraktor (0-6)", "NPS"], header=True
        )
        score = round(st.score, 1) if st.score is not None else None
        put(["", st.n, st.promoters, st.passives, st.detractors, score])
        put(["Sebaran nilai"] + [str(i) for i in range(11)], header=True)
        put(["jumlah"] + [st.distribution[i] for i in range(11)])
    for ch in summary.choices:
        put([])
        put([ch.label, "Jumlah"], header=True)
        for lab, count in ch.counts:
            put([lab, count])
        for other in ch.other:
            put(["  Lainnya: " + other])
    for tx in summary.texts:
        put([])
        put([f"{tx.label} ({len(tx.texts)} jawaban)"], header=True)
        for t in tx.texts:
            put([t])

    raw = wb.create_sheet("Jawaban")
    cols = raw_columns(sv)
    for i in range(1, len(cols) + 1):
        raw.column_dimensions[get_column_letter(i)].width = 20 if i > 2 else 10
    raw.freeze_panes = "B2"
    raw_sheet = _Sheet(raw, styles)
    raw_sheet.append(cols, "raw_header")
    for row in raw_rows(data, tz):
        raw_sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(data: ReportData, *, tz: ZoneInfo) -> str:
    """The raw answers as CSV (one row per response, same columns as the "Jawaban" sheet)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(raw_columns(data.session))
    for row in raw_rows(data, tz):
        w.writerow(
            [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else _csv_safe(v) for v in row]
        )
    return out.getvalue()


def csv_bytes(data: ReportData, *, tz: ZoneInfo) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs show Indonesian text right."""
    return csv_text(data, tz=tz).encode("utf-8-sig")
