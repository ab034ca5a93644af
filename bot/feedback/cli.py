"""``opdbot feedback ...``: training feedback sessions from the command line.

Mounted by ``bot/cli.py``: ``app.add_typer(feedback_app, name="feedback")``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from bot.config import ConfigError, Settings, load_settings

feedback_app = typer.Typer(
    help="Umpan balik pelatihan: sesi, kode QR, laporan dan ekspor.",
    no_args_is_help=True,
)

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _run(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(core)`` with a migrated database; print feedback errors politely."""
    from bot.core import Core
    from bot.feedback.errors import FeedbackError, SessionInputError, SessionNotFound

    settings = _settings()

    async def go() -> T:
        core = await Core.create(settings)
        try:
            return await fn(core)
        finally:
            await core.close()

    try:
        return asyncio.run(go())
    except SessionNotFound as exc:
        typer.echo(f"Sesi dengan kode '{exc.params.get('code')}' tidak ditemukan.", err=True)
        raise typer.Exit(1) from None
    except SessionInputError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    except FeedbackError as exc:
        typer.echo(f"Gagal: {exc.reason}", err=True)
        raise typer.Exit(1) from None


def _parse_date(value: str | None, name: str) -> date | None:
    """YYYY-MM-DD, or the forms organizers type in chat (01-12-2026, 1 Desember 2026)."""
    from bot.dates import parse_date

    if not value:
        return None
    day = parse_date(value)
    if day is None:
        raise typer.BadParameter(f"{name}: format tanggal YYYY-MM-DD, mis. 2026-12-01")
    return day


def _write(path: Path, blob: bytes) -> None:
    """Write an output file; a missing folder or a directory path is a polite error."""
    try:
        path.write_bytes(blob)
    except OSError as exc:
        typer.echo(f"Tidak bisa menulis berkas {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None


def _parse_time(
    value: str | None, name: str, settings: Settings, *, future: bool = False
) -> datetime | None:
    """A moment in the words the bot understands in chat ('2026-12-01 08:00', 'besok jam 5
    sore', 'kamis jam 16.00 WITA') in the configured time zone -> aware datetime."""
    from bot.dates import NEED_TIME, PAST, parse_when

    if not value:
        return None
    now = datetime.now(settings.tz)
    when = parse_when(value, now, settings.timezone, mode="once")
    if when.status == NEED_TIME:
        raise typer.BadParameter(f"{name}: jamnya belum ada, mis. '{value} 08:00'")
    if when.status == PAST and not future and when.moment is not None:
        return when.moment  # opening in the past: open from now on
    if when.status == PAST:
        hint = f" Maksud Anda '{when.suggestion}'?" if when.suggestion else ""
        raise typer.BadParameter(f"{name}: waktu itu sudah lewat.{hint}")
    if not when.ok or when.moment is None:
        raise typer.BadParameter(
            f"{name}: waktu tidak dikenali; mis. '2026-12-01 08:00' atau 'besok jam 5 sore'"
        )
    return when.moment


def _topics(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    from bot.feedback.templates import split_topics

    return [t for v in values for t in split_topics(v)] or None


def bot_username(settings: Settings, given: str | None) -> str | None:
    """The bot's @username: as given, else asked from the Bot API (getMe) with the token."""
    if given:
        return given.lstrip("@")
    if not settings.telegram_bot_token:
        return None
    import httpx

    try:
        r = httpx.get(
            f"{settings.telegram_base_url}{settings.telegram_bot_token}/getMe", timeout=10
        )
        data = r.json()
    except (httpx.HTTPError, ValueError):
        return None
    if data.get("ok"):
        return data["result"].get("username")
    return None


def _fmt_local(dt: datetime | None, settings: Settings) -> str:
    return dt.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if dt else "-"


STATUS_WORDS = {"open": "dibuka", "closed": "ditutup", "scheduled": "belum dibuka"}

CODE_ARGUMENT = typer.Argument(..., metavar="KODE", help="Kode sesi, mis. ABC234.")
BOT_OPTION = typer.Option(
    None, "--bot", help="Username bot (tanpa @); bawaan: ditanyakan ke Bot API dengan token."
)


@feedback_app.command("new")
def new(
    title: str = typer.Option(..., "--title", help="Judul pelatihan."),
    start: str = typer.Option(None, "--start", help="Tanggal mulai (YYYY-MM-DD)."),
    end: str = typer.Option(None, "--end", help="Tanggal selesai (YYYY-MM-DD)."),
    place: str = typer.Option(None, "--place", help="Tempat."),
    organizer: str = typer.Option(None, "--organizer", help="Nama penyelenggara."),
    topic: list[str] = typer.Option(
        None, "--topic", help="Materi yang diajarkan (boleh berulang, atau dipisah ';')."
    ),
    template: str = typer.Option("default", "--template", help="Template kuesioner."),
    anonymous: bool = typer.Option(False, "--anonymous/--named", help="Sesi anonim."),
    opens: str = typer.Option(
        None,
        "--opens",
        help="Dibuka pada, mis. '2026-12-01 08:00' atau 'besok jam 8' (bawaan: kini).",
    ),
    closes: str = typer.Option(
        None, "--closes", help="Ditutup pada, mis. '2026-12-02 17:00' atau 'besok jam 5 sore'."
    ),
    bot: str = BOT_OPTION,
) -> None:
    """Buat sesi umpan balik baru; mencetak kode dan tautan."""
    settings = _settings()
    kwargs = dict(
        starts_on=_parse_date(start, "--start"),
        ends_on=_parse_date(end, "--end"),
        place=place,
        organizer_name=organizer,
        topics=_topics(topic),
        template_id=template,
        anonymous=anonymous,
        opens_at=_parse_time(opens, "--opens", settings),
        closes_at=_parse_time(closes, "--closes", settings, future=True),
    )

    async def go(core):
        return await core.feedback.create_session(title, **kwargs)

    sv = _run(go)
    typer.echo(f"Sesi dibuat: {sv.title}")
    typer.echo(f"Kode: {sv.code}")
    typer.echo(f"Pertanyaan: {sv.total}; anonim: {'ya' if sv.anonymous else 'tidak'}")
    typer.echo(
        f"Dibuka: {_fmt_local(sv.opens_at, settings)}; ditutup: "
        f"{_fmt_local(sv.closes_at, settings)}"
    )
    username = bot_username(settings, bot)
    if username:
        typer.echo(f"Tautan: https://t.me/{username}?start={sv.deeplink_payload}")
    else:
        typer.echo(f"Peserta: buka bot lalu kirim /start {sv.deeplink_payload}")


@feedback_app.command("list")
def list_sessions(limit: int = typer.Option(20, help="Jumlah sesi terbaru.")) -> None:
    """Daftar sesi terbaru dengan jumlah respons."""
    settings = _settings()
    items = _run(lambda core: core.feedback.list_sessions(None, limit=limit))
    if not items:
        typer.echo("Belum ada sesi.")
    for it in items:
        sv = it.session
        typer.echo(
            f"{sv.code}  {STATUS_WORDS[sv.status()]:<12}  terkirim {it.submitted:>4}  "
            f"belum selesai {it.in_progress:>4}  {sv.title}  "
            f"(dibuka {_fmt_local(sv.opens_at, settings)})"
        )


@feedback_app.command("open")
def open_session(code: str = CODE_ARGUMENT) -> None:
    """Buka (atau buka kembali) sesi sekarang."""
    sv = _run(lambda core: core.feedback.open_session(code))
    typer.echo(f"Sesi {sv.code} dibuka.")


@feedback_app.command("close")
def close_session(code: str = CODE_ARGUMENT) -> None:
    """Tutup sesi sekarang: peserta tidak bisa mengisi atau mengubah jawaban lagi."""
    sv = _run(lambda core: core.feedback.close_session(code))
    typer.echo(f"Sesi {sv.code} ditutup.")


@feedback_app.command("qr")
def qr(
    code: str = CODE_ARGUMENT,
    output: Path = typer.Option(None, "--output", "-o", help="Berkas PNG (bawaan: qr-KODE.png)."),
    bot: str = BOT_OPTION,
) -> None:
    """Kode QR PNG siap cetak untuk ruang pelatihan."""
    settings = _settings()
    username = bot_username(settings, bot)
    if not username:
        typer.echo(
            "Username bot tidak diketahui: isi --bot NAMA_BOT atau TELEGRAM_BOT_TOKEN.", err=True
        )
        raise typer.Exit(1)

    async def go(core):
        sv = await core.feedback.require_session(code)
        return sv, await asyncio.to_thread(core.feedback.qr_png, sv, username)

    sv, png = _run(go)
    output = output or Path(f"qr-{sv.code}.png")
    _write(output, png)
    typer.echo(f"QR sesi {sv.code} disimpan di {output} ({len(png)} bita).")
    typer.echo(f"Tautan: https://t.me/{username}?start={sv.deeplink_payload}")


@feedback_app.command("export")
def export(
    code: str = CODE_ARGUMENT,
    format: str = typer.Option("xlsx", "--format", "-f", help="xlsx atau csv."),
    output: Path = typer.Option(None, "--output", "-o", help="Berkas tujuan."),
) -> None:
    """Ekspor jawaban: XLSX (ringkasan + jawaban mentah) atau CSV (jawaban mentah)."""
    from bot.feedback.report import csv_bytes, xlsx_bytes

    fmt = format.lower().strip()
    if fmt not in ("xlsx", "csv"):
        raise typer.BadParameter("--format harus xlsx atau csv")
    settings = _settings()
    data = _run(lambda core: core.feedback.report_data(code))
    blob = xlsx_bytes(data, tz=settings.tz) if fmt == "xlsx" else csv_bytes(data, tz=settings.tz)
    output = output or Path(f"umpan-balik-{data.session.code}.{fmt}")
    _write(output, blob)
    typer.echo(f"{len(data.responses)} respons diekspor ke {output}.")


@feedback_app.command("report")
def report(
    codes: list[str] = typer.Argument(
        ..., metavar="KODE", help="Satu kode, atau beberapa untuk perbandingan."
    ),
    png: Path = typer.Option(None, "--png", help="Simpan grafik PNG ke berkas ini."),
) -> None:
    """Ringkasan angka (dan grafik PNG) satu sesi, atau perbandingan beberapa sesi."""
    from bot.feedback.report import chart_png, summarize
    from bot.numfmt import desimal

    async def go(core):
        return [summarize(await core.feedback.report_data(c)) for c in codes]

    summaries = _run(go)
    for sm in summaries:
        typer.echo(f"== {sm.session.code}: {sm.session.title}")
        rate = sm.completion_rate
        typer.echo(
            f"Respons terkirim {sm.submitted} dari {sm.started} yang mulai mengisi"
            + (f" ({desimal(rate, 0)}% selesai)" if rate is not None else "")
        )
        for r in sm.ratings:
            mean = desimal(r.mean, 2) if r.mean is not None else "-"
            dist = ", ".join(
                f"{v} memberi {k}" for k, v in sorted(r.distribution.items(), reverse=True) if v
            )
            typer.echo(
                f"  {r.label:<40} rata-rata {mean:>5} dari {r.n} orang"
                + (f" ({dist})" if dist else "")
            )
        for st in sm.nps:
            score = desimal(st.score, 1, sign=True) if st.score is not None else "-"
            typer.echo(
                f"  NPS {score} (n={st.n}; promotor {st.promoters}, pasif {st.passives}, "
                f"detraktor {st.detractors})"
            )
        for ch in sm.choices:
            typer.echo(f"  {ch.label}: " + ", ".join(f"{lab} {n}" for lab, n in ch.counts))
        for tx in sm.texts:
            typer.echo(f"  {tx.label}: {len(tx.texts)} jawaban teks")
    if png is not None:
        _write(png, chart_png(summaries))
        typer.echo(f"Grafik disimpan di {png}.")


@feedback_app.command("purge")
def purge(
    days: int = typer.Option(
        None, "--days", min=1, help="Batas umur (hari); bawaan FEEDBACK_RETENTION_DAYS."
    ),
) -> None:
    """Putuskan tautan respons lama dengan identitas peserta (retensi data)."""
    settings = _settings()
    n = _run(lambda core: core.feedback.purge(days=days))
    typer.echo(
        f"{n} respons yang lebih tua dari {days or settings.feedback_retention_days} hari "
        "tidak lagi tertaut ke peserta."
    )


@feedback_app.command("organizer")
def organizer(
    target: str = typer.Argument(
        ..., metavar="PENGGUNA", help="ID Telegram atau @username pengguna terdaftar."
    ),
    remove: bool = typer.Option(False, "--remove", help="Cabut peran penyelenggara."),
) -> None:
    """Jadikan pengguna penyelenggara pelatihan (atau cabut perannya)."""
    view = _run(lambda core: core.feedback.set_organizer(target, not remove))
    if view is None:
        typer.echo(
            f"Pengguna {target} belum terdaftar (minta ia mengirim /start ke bot).", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"{view.name or view.telegram_id}: peran sekarang {view.role}.")
