"""``opdbot kb learned``: what the bot learned from use; ``--export`` writes it to the files.

Mounted by ``bot/cli.py`` as ``kb_app.command("learned")``.
"""

from __future__ import annotations

import asyncio

import typer

from bot.config import ConfigError, load_settings
from bot.knowledge.entry import KnowledgeError
from bot.knowledge.export import ExportReport, export_learned
from bot.knowledge.learning import DraftView, LearnedStore, PhrasingView
from bot.knowledge.loader import DRAFTS_DIR, load_knowledge

_STATUS = {"candidate": "kandidat", "accepted": "diterima", "rejected": "ditolak"}


def _listing(rows: list[PhrasingView], drafts: list[DraftView]) -> None:
    if not rows and not drafts:
        typer.echo("Belum ada frasa atau draf yang dipelajari.")
        return
    for r in rows:
        state = _STATUS.get(r.status, r.status)
        if r.status == "accepted":
            state += ", sudah diekspor" if r.exported else ", belum diekspor"
        votes = f", {r.votes}👍" if r.votes else ""
        typer.echo(f"#{r.id} [{state}{votes}] {r.entry_id}: {r.text}")
    for d in drafts:
        state = "sudah diekspor" if d.exported else "belum diekspor"
        typer.echo(f"draf {d.entry_id} [{state}] {d.title}")


def _report(report: ExportReport) -> None:
    for file, added in report.written:
        typer.echo(f"{file}: {added} pertanyaan ditambahkan")
    for file in report.drafts:
        typer.echo(f"{file}: draf baru")
    for problem in report.problems:
        typer.echo(problem, err=True)
    if not (report.written or report.drafts or report.problems):
        typer.echo("Tidak ada yang perlu diekspor.")


def kb_learned(
    export: bool = typer.Option(
        False,
        "--export",
        help="Tulis frasa yang diterima ke daftar questions berkas materinya dan draf ke "
        f"knowledge/{DRAFTS_DIR}/, lalu tandai sudah diekspor.",
    ),
    reject: list[int] = typer.Option(  # noqa: B008
        [], "--reject", help="Tolak frasa dengan ID ini (boleh berulang); keluar dari indeks."
    ),
) -> None:
    """Frasa pertanyaan dan draf materi yang dipelajari dari pemakaian (/celah, /kandidat)."""
    from bot.db import Database, upgrade_async

    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    root = settings.resolve_knowledge_dir()

    async def go() -> int:
        await upgrade_async(settings.database_url)
        db = Database(settings.database_url)
        store = LearnedStore(db)
        try:
            if reject:
                changed = await store.reject(reject)
                typer.echo(f"{len(changed)} frasa ditolak.")
            if export:
                try:
                    kb = await asyncio.to_thread(load_knowledge, root)
                except KnowledgeError as exc:
                    typer.echo("Basis pengetahuan bermasalah (jalankan `opdbot kb check`):")
                    for p in exc.problems:
                        typer.echo(str(p), err=True)
                    return 1
                report = await export_learned(store, root, kb)
                _report(report)
                return 1 if report.problems else 0
            if not reject:
                _listing(await store.listing(), await store.drafts())
            return 0
        finally:
            await db.dispose()

    code = asyncio.run(go())
    if code:
        raise typer.Exit(code)
