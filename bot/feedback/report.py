"""Feedback reports: summary numbers, chart PNG (matplotlib), XLSX (openpyxl) and CSV.

The public surface for handlers, the CLI, tests and the bench (``report.summarize(...)``,
``report.chart_png(...)``...). The pieces live in :mod:`bot.feedback.summary` (loading and
summary numbers), :mod:`bot.feedback.chart` and :mod:`bot.feedback.export`.
"""

from __future__ import annotations

from bot.feedback.chart import chart_png
from bot.feedback.export import csv_bytes, csv_text, raw_columns, raw_rows, xlsx_bytes
from bot.feedback.summary import (
    ChoiceStat,
    NpsStat,
    RatingStat,
    ReportData,
    ResponseRow,
    Summary,
    TextStat,
    load_report_data,
    summarize,
)

__all__ = [
    "ChoiceStat",
    "NpsStat",
    "RatingStat",
    "ReportData",
    "ResponseRow",
    "Summary",
    "TextStat",
    "chart_png",
    "csv_bytes",
    "csv_text",
    "load_report_data",
    "raw_columns",
    "raw_rows",
    "summarize",
    "xlsx_bytes",
]
