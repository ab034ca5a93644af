"""The raw answers and the summary as files: XLSX (openpyxl, streamed) and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.dates.words import zone_label
from bot.feedback.answers import display_answer, is_answered
from bot.feedback.models import STATUS_SUBMITTED
from bot.feedback.summary import ReportData, Summary, summarize
from bot.feedback.types import SessionView

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# What openpyxl refuses in cell text (IllegalCharacterError): C0 controls except tab/LF/CR.
ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
STATUS_LABELS = {STATUS_SUBMITTED: "terkirim", "in_progress": "belum selesai"}


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


def raw_columns(session: SessionView, tz: ZoneInfo | None = None) -> list[str]:
    """Column titles; the times are local, so their titles name the zone (WIB / WITA / WIT)."""
    z = f" ({zone_label(str(tz))})" if tz is not None else ""
    cols = ["No", "Status", f"Mulai{z}", f"Dikirim{z}", f"Terakhir diubah{z}"]
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
    put([f"Dibuka ({zone_label(str(tz))})", _local(sv.opens_at, tz)])
    put([f"Ditutup ({zone_label(str(tz))})", _local(sv.closes_at, tz)])
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
    cols = raw_columns(sv, tz)
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
    w.writerow(raw_columns(data.session, tz))
    for row in raw_rows(data, tz):
        w.writerow(
            [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else _csv_safe(v) for v in row]
        )
    return out.getvalue()


def csv_bytes(data: ReportData, *, tz: ZoneInfo) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs show Indonesian text right."""
    return csv_text(data, tz=tz).encode("utf-8-sig")
