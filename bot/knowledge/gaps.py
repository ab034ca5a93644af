"""The gaps report (/celah, ``opdbot kb gaps``): unanswered and 👎 questions, grouped.

Similar questions (``token_sort_ratio`` of their normalised forms at least
``GAP_SIMILARITY``) form one group, most frequent first. A curator's decision on a group
(:class:`~bot.knowledge.learning.MarkView`) takes it out of the report: ``scope`` (out of
scope) for good, so the question does not come back when asked again; ``attached`` and
``draft`` for the questions asked until then (a later one still shows up when the bot keeps
failing it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from bot.dates.words import ZONE_LABELS
from bot.knowledge.learning import MarkView
from bot.knowledge.models import QuestionLog

GAP_DAYS = 30
GAP_SIMILARITY = 70  # token_sort_ratio: word order ignored, extra words lower the score


@dataclass
class GapGroup:
    example: str
    count: int
    unanswered: int
    downvoted: int
    last_asked: datetime
    questions: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    #: the normalised question the group is keyed by, and its first question's log id
    key: str = ""
    first_id: int = 0
    ids: list[int] = field(default_factory=list)


def has_words(text: str) -> bool:
    """Whether a message holds words at all (two letters or digits), not just "????" or emoji."""
    return len(re.findall(r"[^\W_]", text or "")) >= 2


def gap_key(row: QuestionLog) -> str:
    return row.normalized or row.text.lower()


def _hidden(key: str, at: datetime, marks: Sequence[MarkView]) -> bool:
    for m in marks:
        if (m.kind == "scope" or at <= m.created_at) and (
            fuzz.token_sort_ratio(key, m.key) >= GAP_SIMILARITY
        ):
            return True
    return False


def group_gaps(rows: Sequence[QuestionLog], marks: Sequence[MarkView] = ()) -> list[GapGroup]:
    """Group the rows (oldest first), leaving out those a curator already decided on."""
    groups: list[tuple[str, GapGroup]] = []
    for r in rows:
        if not has_words(r.text):
            continue  # "????", emoji only: nothing a curator could write an entry for
        key = gap_key(r)
        if marks and _hidden(key, r.created_at, marks):
            continue
        target = None
        for gkey, g in groups:
            if fuzz.token_sort_ratio(key, gkey) >= GAP_SIMILARITY:
                target = g
                break
        if target is None:
            target = GapGroup(r.text, 0, 0, 0, r.created_at, key=key, first_id=r.id)
            groups.append((key, target))
        target.count += 1
        target.unanswered += 0 if r.answered else 1
        target.downvoted += 1 if r.vote == -1 else 0
        target.last_asked = max(target.last_asked, r.created_at)
        target.ids.append(r.id)
        if r.text not in target.questions:
            target.questions.append(r.text)
        if r.vote_comment:
            target.comments.append(r.vote_comment)
    out = [g for _, g in groups]
    out.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return out


def gaps_csv(groups: Sequence[GapGroup], tz: ZoneInfo | None = None) -> bytes:
    """The report as CSV (UTF-8 with BOM for Excel), times in local time ``tz`` (the
    reader's; UTC when not given). Free text typed by users that a spreadsheet would run as a
    formula (=, +, -, @, tab, CR) is prefixed with a quote."""
    zone = tz or ZoneInfo("UTC")
    label = ZONE_LABELS.get(str(zone), str(zone))

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
            f"terakhir ({label})",
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
                g.last_asked.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                cell(" | ".join(g.questions)),
                cell(" | ".join(g.comments)),
            ]
        )
    return buf.getvalue().encode("utf-8-sig")
