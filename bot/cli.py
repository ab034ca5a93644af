"""The ``opdbot`` command line (typer).

This is the composition root: ``run`` and ``sandbox`` import the Telegram layer (``handlers``)
lazily; everything else drives the core directly.
"""

from __future__ import annotations

import os
import signal
import sys

if os.getpid() == 1:  # PID 1 in a container ignores SIGTERM without a handler: honour it at once
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

import asyncio  # noqa: E402
import contextlib  # noqa: E402
from pathlib import Path  # noqa: E402

import typer  # noqa: E402

from bot.cli_id import install as install_indonesian  # noqa: E402
from bot.config import ConfigError, Settings, load_settings  # noqa: E402
from bot.logs import setup_logging  # noqa: E402

install_indonesian()  # click's and typer's own texts (help, errors) in Indonesian
app = typer.Typer(
    help="opdbot: asisten Telegram untuk admin media sosial OPD.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Migrasi basis data (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def run() -> None:
    """Migrasi basis data, lalu jalankan bot (polling; webhook bila WEBHOOK_URL diisi)."""
    settings = settings_or_exit()
    if not settings.telegram_bot_token:
        typer.echo(
            "TELEGRAM_BOT_TOKEN belum diisi: isi token dari @BotFather di .env, "
            "atau coba bot tanpa token dengan `opdbot sandbox`.",
            err=True,
        )
        raise typer.Exit(1)
    setup_logging(
        settings.log_level,
        secrets=(settings.telegram_bot_token, settings.webhook_secret, settings.feedback_secret),
    )
    from bot.accounts.opds import OpdFileError
    from bot.knowledge.entry import KnowledgeError
    from bot.startup import StartupError
    from handlers.runner import run_bot

    global _BOT_RAN
    _BOT_RAN = True
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_bot(settings))
    except StartupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except KnowledgeError as exc:
        typer.echo("Basis pengetahuan bermasalah (jalankan `opdbot kb check`):", err=True)
        for p in exc.problems:
            typer.echo(f"  {p}", err=True)
        raise typer.Exit(1) from None
    except OpdFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def sandbox(
    user_id: int = typer.Option(1000, help="ID Telegram pengguna yang disimulasikan."),
    name: str = typer.Option("Ayu", help="Nama depan pengguna yang disimulasikan."),
    admin: bool = typer.Option(True, help="Jadikan pengguna ini admin Diskominfo."),
    database_url: str = typer.Option(
        "sqlite+aiosqlite:///data/sandbox.sqlite3", help="Basis data sandbox."
    ),
) -> None:
    """Bot yang sama, luring, dengan Bot API palsu: mengobrol di terminal (tanpa token)."""
    settings = settings_or_exit()
    setup_logging("WARNING")
    from bot.sandbox import run_sandbox

    try:
        asyncio.run(
            run_sandbox(
                settings, user_id=user_id, name=name, admin=admin, database_url=database_url
            )
        )
    except KeyboardInterrupt:
        typer.echo("")


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", metavar="REVISI", help="Revisi tujuan."),
) -> None:
    """Naikkan skema ke REVISION (bawaan: head)."""
    from bot.db import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url, revision)
    typer.echo(f"Basis data sudah di revisi {revision}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., metavar="REVISI", help="Revisi tujuan, mis. base."),
) -> None:
    """Turunkan skema ke REVISION (mis. base)."""
    from bot.db import downgrade

    settings = settings_or_exit()
    downgrade(settings.database_url, revision)
    typer.echo(f"Basis data diturunkan ke {revision}.")


def kb_gaps(
    days: int = typer.Option(30, min=1, help="Rentang hari ke belakang."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Simpan juga sebagai CSV."),
) -> None:
    """Pertanyaan yang belum terjawab atau diberi 👎, dikelompokkan (sama dengan /celah)."""
    from bot.db import Database, upgrade_async
    from bot.knowledge.service import QAService
    from bot.templates import render
    from bot.tghtml import html_to_plain

    settings = settings_or_exit()

    async def go():
        await upgrade_async(settings.database_url)
        db = Database(settings.database_url)
        try:
            return await QAService(db, settings.resolve_knowledge_dir(), None).gaps(days)
        finally:
            await db.dispose()

    groups = asyncio.run(go())
    total = sum(g.count for g in groups)
    text = render("gaps", groups=groups, days=days, limit=len(groups) or 1, total=total)
    typer.echo(html_to_plain(text, marks=False))
    if csv_path is not None:
        from bot.knowledge.service import QAService

        csv_path.write_bytes(QAService.gaps_csv(groups, settings.tz))
        typer.echo(f"CSV: {csv_path}")


def _mount_features() -> None:
    from bot.knowledge.cli import kb_app
    from bot.knowledge.learned_cli import kb_learned

    kb_app.command("gaps")(kb_gaps)
    kb_app.command("learned")(kb_learned)
    app.add_typer(kb_app, name="kb", help="Basis pengetahuan: periksa, cari, celah, frasa.")
    # --- feature CLIs ---
    from bot.feedback.cli import feedback_app

    app.add_typer(feedback_app, name="feedback")
    from bot.outbox.cli import broadcast_app

    app.add_typer(broadcast_app, name="broadcast")
    # --- end feature CLIs ---


_mount_features()


# Set by ``run``: once the bot has stopped everything is closed, so the process ends at once
# instead of spending seconds tearing the interpreter down (a container stop must be quick).
_BOT_RAN = False


def main() -> None:
    code: int | str | None = 0
    try:
        app()
    except ConfigError as exc:  # raised by a sub-command that loads settings itself
        typer.echo(str(exc), err=True)
        code = 2
    except SystemExit as exc:
        code = exc.code
    if _BOT_RAN:
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    sys.exit(code)
