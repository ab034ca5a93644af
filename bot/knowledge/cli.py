"""``opdbot kb ...``: check the knowledge folder and try the search from the command line.

Mounted by ``bot/cli.py`` as ``app.add_typer(kb_app, name="kb")``; also runnable on its own
with ``python -m bot.knowledge.cli``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import typer

from bot.config import ConfigError, load_settings
from bot.knowledge import semantic
from bot.knowledge.entry import KnowledgeError
from bot.knowledge.loader import REVIEW_DAYS, check_knowledge, load_knowledge, stale_entries
from bot.knowledge.search import KnowledgeBase, SearchResult

kb_app = typer.Typer(
    help="Basis pengetahuan: periksa isi folder dan coba pencarian.",
    no_args_is_help=True,
    add_completion=False,
)


def _knowledge_dir() -> Path:
    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    semantic.configure(settings.vector_cache_dir)
    return settings.resolve_knowledge_dir()


def _load(root: Path) -> KnowledgeBase:
    try:
        return load_knowledge(root)
    except KnowledgeError as exc:
        typer.echo("Basis pengetahuan tidak bisa dimuat (jalankan `opdbot kb check`):", err=True)
        for p in exc.problems:
            typer.echo(str(p), err=True)
        raise typer.Exit(1) from None


@kb_app.command("check")
def check() -> None:
    """Periksa semua entri dan berkas konten; setiap masalah dicetak sebagai `berkas: masalah`."""
    root = _knowledge_dir()
    problems = check_knowledge(root)
    for p in problems:
        typer.echo(str(p))
    for file, warning in _calendar_warnings(root):
        typer.echo(f"peringatan: {file}: {warning}")
    if problems:
        typer.echo(f"{len(problems)} masalah ditemukan.", err=True)
        raise typer.Exit(1)
    kb = load_knowledge(root)
    typer.echo(
        f"OK: {len(kb.entries)} entri di {len(kb.pillars())} pilar, tidak ada masalah ({root})."
    )
    old = stale_entries(kb.entries, date.today())
    if old:
        typer.echo(
            f"{len(old)} entri terakhir diperbarui lebih dari {REVIEW_DAYS} hari lalu; periksa "
            "ulang faktanya (menu, batas, peraturan) lalu perbarui `updated:`:"
        )
        for e, age in old:
            where = f"; sumber: {' '.join(e.meta.sources)}" if e.meta.sources else ""
            typer.echo(f"{e.path}: updated {e.meta.updated.isoformat()} ({age} hari lalu){where}")


def _calendar_warnings(root: Path) -> list[tuple[str, str]]:
    """Calendar events without a confirmed date in the next 120 days (not problems)."""
    import importlib
    from datetime import datetime
    from zoneinfo import ZoneInfo

    content = importlib.import_module("bot.schedules.content")
    check_warnings = getattr(content, "check_warnings", None)
    if not callable(check_warnings):
        return []
    try:
        today = datetime.now(ZoneInfo(load_settings().timezone)).date()
    except ConfigError:
        today = datetime.now().date()
    return list(check_warnings(root, today))


def _stdin_lines() -> Iterator[str]:
    data = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
    if data is None:
        yield from (line.rstrip("\r\n") for line in sys.stdin)
        return
    first = True
    for raw in data:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if first:
            line = line.lstrip("\ufeff")
            first = False
        yield line


def _stdout_is_utf8() -> bool:
    enc = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return enc in ("utf8", "utf8sig")


def _readable(result: SearchResult) -> str:
    q = result.query or "(kosong)"
    hits = result.hits
    if result.answered and hits:
        best = hits[0]
        line = f"{q} → {best.id} ({best.score:.2f}) {best.title}"
        if result.ambiguous and len(hits) > 1:
            line += f" | ragu, mungkin juga: {hits[1].id} ({hits[1].score:.2f})"
        return line
    if hits:
        near = ", ".join(f"{h.id} ({h.score:.2f})" for h in hits)
        return f"{q} → belum ada jawaban; terdekat: {near}"
    return f"{q} → belum ada jawaban"


def answer_lines(kb: KnowledgeBase, questions: Iterable[str], as_json: bool) -> Iterator[str]:
    """One output line per question, in order."""
    ascii_only = not _stdout_is_utf8()
    for raw in questions:
        question = raw.strip()
        result = kb.search(question) if question else SearchResult(question, False, [], False, "")
        if as_json:
            yield json.dumps(result.to_json(), ensure_ascii=ascii_only)
        else:
            yield _readable(result)


def _with_learned(kb: KnowledgeBase) -> KnowledgeBase:
    """The files plus the phrasings accepted in the database, merged as the bot merges them.
    Reads only: the database is never migrated or changed from here."""
    import asyncio

    from bot.db import Database
    from bot.knowledge.learning import LearnedStore, merge_learned

    settings = load_settings()

    async def snapshot() -> dict[str, list[str]]:
        db = Database(settings.database_url)
        try:
            _, learned = await LearnedStore(db).snapshot()
            return learned
        finally:
            await db.dispose()

    try:
        learned = asyncio.run(snapshot())
    except Exception as exc:  # unreachable, or not migrated yet: one line, no traceback
        lines = str(exc).strip().splitlines()
        reason = lines[0][:200] if lines else type(exc).__name__
        typer.echo(
            f"Frasa yang dipelajari tidak bisa dibaca dari database ({reason}); "
            "jalankan `opdbot run` sekali atau periksa DATABASE_URL.",
            err=True,
        )
        raise typer.Exit(1) from None
    n = sum(len(v) for v in learned.values())
    typer.echo(f"(+{n} frasa yang dipelajari dari database)", err=True)
    return merge_learned(kb, learned) if n else kb


@kb_app.command("search")
def search(
    question: str | None = typer.Argument(
        None,
        metavar="PERTANYAAN",
        help="Pertanyaan; tanpa argumen, satu pertanyaan per baris dari stdin.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Satu objek JSON per baris: query, answered, hits."
    ),
    explain: bool = typer.Option(
        False, "--explain", help="Tampilkan sinyal, bobot model keputusan, dan keputusannya."
    ),
    with_db: bool = typer.Option(
        False,
        "--db",
        help="Sertakan frasa yang dipelajari dari pemakaian (/celah, /kandidat) di DATABASE_URL, "
        "sehingga hasilnya sama dengan bot yang berjalan.",
    ),
) -> None:
    """Cari jawaban seperti bot: satu pertanyaan, atau satu per baris dari stdin."""
    kb = _load(_knowledge_dir())
    if with_db:
        kb = _with_learned(kb)
    questions: Iterable[str] = [question] if question is not None else _stdin_lines()
    if explain:
        for q in questions:
            if q.strip():
                for line in kb.explain(q.strip()):
                    typer.echo(line)
                typer.echo("")
                sys.stdout.flush()
        return
    for line in answer_lines(kb, questions, as_json):
        typer.echo(line)
        sys.stdout.flush()


if __name__ == "__main__":
    kb_app()
