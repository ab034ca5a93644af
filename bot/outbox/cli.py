"""``opdbot broadcast``: queue a broadcast from the command line, and see its report.

    opdbot broadcast "Teks siaran" [--opd SLUG]...   queue to every active user (or those OPDs);
                                                     prints the broadcast id on stdout
    opdbot broadcast status ID [--json]              the counts (sent, blocked, failed, ...)

A running ``opdbot run`` (the process holding the sender) delivers what is queued here.
"""

from __future__ import annotations

import asyncio
import json
from html import escape

import click
import typer
from typer.core import TyperGroup

SEND_COMMAND = "kirim"


class _BroadcastGroup(TyperGroup):
    """``opdbot broadcast TEXT`` is short for ``opdbot broadcast kirim TEXT``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [SEND_COMMAND, *args]
        return super().parse_args(ctx, args)


broadcast_app = typer.Typer(
    cls=_BroadcastGroup,
    help="Siaran ke pengguna bot: antrekan teks, lihat laporannya.",
    no_args_is_help=True,
)


def _settings():
    from bot.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


async def _open(settings):
    from bot.accounts.opds import OpdFileError, load_opds, sync_opds
    from bot.accounts.service import UserService
    from bot.db import Database, upgrade_async
    from bot.outbox import OutboxService

    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:  # the OPD list, as `opdbot run` syncs it (for --opd on a fresh database)
        await sync_opds(db, load_opds(settings.resolve_knowledge_dir()))
    except OpdFileError as exc:
        typer.echo(str(exc), err=True)
    users = UserService(db, settings)
    return db, users, OutboxService(db, settings, users)


def _plain(template: str, **ctx) -> str:
    from bot.templates import render
    from bot.tghtml import html_to_plain

    return html_to_plain(render(template, **ctx), marks=False)


@broadcast_app.command(SEND_COMMAND)
def send(
    text: str = typer.Argument(
        ..., metavar="TEKS", help="Isi siaran (teks biasa, atau HTML Telegram)."
    ),
    opd: list[str] = typer.Option(  # noqa: B006
        [], "--opd", help="Hanya ke pengguna OPD ini (slug; boleh diulang)."
    ),
) -> None:
    """Antrekan siaran ke semua pengguna aktif (atau OPD tertentu); cetak ID siaran."""
    from bot.tghtml import validate_html, visible_length

    settings = _settings()
    body = text.strip()
    if not body:
        typer.echo(_plain("broadcast_cli_error", problem="empty"), err=True)
        raise typer.Exit(2)
    as_html = validate_html(body) is None
    if not as_html:
        body = escape(body, quote=False)
    if visible_length(body) > 4096:
        typer.echo(_plain("broadcast_cli_error", problem="too_long"), err=True)
        raise typer.Exit(2)

    async def go():
        db, users, outbox = await _open(settings)
        try:
            known = {o.slug for o in await users.list_opds()}
            unknown = sorted(set(opd) - known)
            if unknown:
                return None, unknown, sorted(known)
            if await outbox.count_audience(sorted(set(opd)) or None) == 0:
                return None, [], []  # nobody to send to: nothing is queued
            mid, total = await outbox.broadcast_now(body, opd_slugs=sorted(set(opd)) or None)
            return (mid, total), [], []
        finally:
            await db.dispose()

    result, unknown, known = asyncio.run(go())
    if result is None and not unknown:
        typer.echo(_plain("broadcast_cli_error", problem="no_recipients", opds=opd), err=True)
        raise typer.Exit(1)
    if result is None:
        typer.echo(
            _plain("broadcast_cli_error", problem="unknown_opd", unknown=unknown, known=known),
            err=True,
        )
        raise typer.Exit(2)
    mid, total = result
    typer.echo(str(mid))
    typer.echo(
        _plain("broadcast_cli_queued", id=mid, total=total, opds=sorted(set(opd)), html=as_html),
        err=True,
    )


@broadcast_app.command("status")
def status(
    broadcast_id: int = typer.Argument(..., metavar="ID", help="ID siaran."),
    as_json: bool = typer.Option(False, "--json", help="Keluaran JSON satu baris."),
) -> None:
    """Laporan siaran: terkirim, memblokir bot, gagal, menunggu."""
    settings = _settings()
    if not 0 < broadcast_id < 2**63:  # not an id the database can hold
        typer.echo(_plain("broadcast_cli_error", problem="not_found", id=broadcast_id), err=True)
        raise typer.Exit(1)

    async def go():
        db, _users, outbox = await _open(settings)
        try:
            return await outbox.get(broadcast_id)
        finally:
            await db.dispose()

    p = asyncio.run(go())
    if p is None:
        typer.echo(_plain("broadcast_cli_error", problem="not_found", id=broadcast_id), err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "id": p.id,
                    "kind": p.kind,
                    "status": p.status,
                    "total": p.total,
                    "sent": p.sent,
                    "blocked": p.blocked,
                    "failed": p.failed,
                    "cancelled": p.cancelled,
                    "pending": p.pending,
                    "attempts": p.attempts,
                    "repeats": p.repeats,
                    "eta_seconds": p.eta_seconds,
                }
            )
        )
        return
    typer.echo(_plain("broadcast_report", p=p))
