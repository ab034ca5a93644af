"""Writing what was learned back into the knowledge folder (``opdbot kb learned --export``).

Accepted phrasings are appended to the ``questions:`` list of their entry's file; nothing else
in the file changes (comments, key order, quoting and the body stay as the curator wrote
them). Draft entries become ``knowledge/drafts/<id>.md`` (the loader skips that folder) for a
curator to finish and move into a pillar folder.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.learning import DraftView, LearnedStore, PhrasingView, phrasing_key
from bot.knowledge.loader import DRAFTS_DIR, parse_entry, split_front_matter
from bot.knowledge.search import KnowledgeBase
from bot.templates import render_plain

_FENCE_RE = re.compile(r"^---[ \t]*\r?\n?$")
_KEY_RE = re.compile(r"^questions[ \t]*:[ \t]*(.*?)[ \t]*(?:#.*)?\r?\n?$")
_ITEM_RE = re.compile(r"^([ \t]*)-[ \t]")
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _item(text: str, indent: str, newline: str) -> str:
    dumped = yaml.safe_dump([text], allow_unicode=True, width=1_000_000, default_style=None)
    return indent + dumped.rstrip("\n") + newline


def append_questions(text: str, new: Sequence[str]) -> str:
    """``text`` (an entry file) with ``new`` appended to its front matter's ``questions``.

    Raises ValueError when the front matter has a shape this edit cannot keep intact.
    """
    raw_front, _ = split_front_matter(text)
    before = yaml.load(raw_front, Loader=_YamlLoader) or {}
    if not new:
        return text
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    close = next((i for i in range(1, len(lines)) if _FENCE_RE.match(lines[i])), None)
    if close is None:
        raise ValueError("front matter tidak ditutup dengan baris '---'")
    key_at = next((i for i in range(1, close) if _KEY_RE.match(lines[i])), None)
    if key_at is None:  # no questions yet: a new block just before the closing line
        block = ["questions:" + newline] + [_item(q, "  ", newline) for q in new]
        lines[close:close] = block
    else:
        rest = _KEY_RE.match(lines[key_at]).group(1)  # type: ignore[union-attr]
        if rest in ("", "[]"):
            indent, last = "  ", key_at
            for i in range(key_at + 1, close):
                line = lines[i]
                m = _ITEM_RE.match(line)
                if m:
                    if last == key_at:
                        indent = m.group(1)
                    last = i
                elif not line.strip() or line.lstrip().startswith("#"):
                    continue
                elif line[:1] in (" ", "\t") and last != key_at:
                    last = i  # a long item folded over several lines
                else:
                    break
            if rest == "[]":
                lines[key_at] = "questions:" + newline
            lines[last + 1 : last + 1] = [_item(q, indent, newline) for q in new]
        else:
            raise ValueError("daftar questions ditulis dalam satu baris; ubah ke bentuk '- ...'")
    out = "".join(lines)
    after = yaml.load(split_front_matter(out)[0], Loader=_YamlLoader) or {}
    expected = dict(before)
    expected["questions"] = [*(before.get("questions") or []), *new]
    if after != expected:
        raise ValueError("front matter tidak bisa diubah dengan aman; tambahkan secara manual")
    return out


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)


def draft_file(draft: DraftView, kb: KnowledgeBase | None = None) -> str:
    """The text of a draft entry file: front matter, then notes for the curator."""
    meta: dict[str, Any] = {
        "id": draft.entry_id,
        "title": draft.title,
        "pillar": draft.pillar,
        "questions": list(draft.questions),
        "tags": [],
        "related": [n for n in draft.near if kb is None or n in kb][:3],
        "updated": date.today(),
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1_000_000)
    near = []
    for n in draft.near:
        e = kb.get(n) if kb is not None else None
        near.append({"id": n, "title": e.title if e is not None else ""})
    body = render_plain(
        "kb_draft_file",
        questions=draft.questions,
        near=near,
        pillar=draft.pillar,
        created=draft.created_at.date().isoformat(),
    )
    return f"---\n{front}---\n{body}\n"


@dataclass
class ExportReport:
    written: list[tuple[str, int]] = field(default_factory=list)  # (file, phrasings added)
    drafts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exported_ids: list[int] = field(default_factory=list)


def _by_entry(rows: Sequence[PhrasingView]) -> dict[str, list[PhrasingView]]:
    out: dict[str, list[PhrasingView]] = {}
    for r in rows:
        out.setdefault(r.entry_id, []).append(r)
    return out


def _export_entry(path: Path, questions: Sequence[str], rows: Sequence[PhrasingView]) -> int:
    """Append the phrasings the file does not have yet; how many were added."""
    text = path.read_text(encoding="utf-8")
    have = {phrasing_key(q) for q in questions}
    add: list[str] = []
    for r in rows:
        k = phrasing_key(r.text)
        if k not in have:
            have.add(k)
            add.append(r.text)
    new_text = append_questions(text, add)
    _, problems = parse_entry(new_text, str(path))
    if problems:
        raise ValueError("; ".join(p.problem for p in problems))
    if add:
        _write(path, new_text)
    return len(add)


def _export_draft(target: Path, text: str) -> str | None:
    """Write a draft file; the problem when it cannot be written."""
    if target.exists():
        return f"{target}: sudah ada, draf tidak ditimpa"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, text)
    except OSError as exc:
        return f"{target}: {exc.strerror or exc}"
    return None


async def export_learned(store: LearnedStore, root: Path, kb: KnowledgeBase) -> ExportReport:
    """Write accepted, not yet exported phrasings and pending drafts under ``root``; mark
    what was written (or already there) as exported."""
    report = ExportReport()
    pending = [p for p in await store.listing("accepted") if not p.exported]
    for entry_id, rows in _by_entry(pending).items():
        entry = kb.get(entry_id)
        if entry is None or not entry.path:
            report.problems.append(f"{entry_id}: materi tidak ada lagi, {len(rows)} frasa dilewati")
            continue
        path = Path(entry.path)
        try:
            added = await asyncio.to_thread(_export_entry, path, entry.questions, rows)
        except (OSError, ValueError) as exc:
            report.problems.append(f"{path}: {exc}")
            continue
        report.written.append((str(path), added))
        report.exported_ids.extend(r.id for r in rows)
    await store.mark_exported(report.exported_ids)

    done: list[int] = []
    for d in await store.drafts(pending_only=True):
        target = root / DRAFTS_DIR / f"{d.entry_id}.md"
        problem = await asyncio.to_thread(_export_draft, target, draft_file(d, kb))
        if problem is not None:
            report.problems.append(problem)
            continue
        report.drafts.append(str(target))
        done.append(d.id)
    await store.mark_drafts_exported(done)
    return report
