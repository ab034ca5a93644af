"""Helpers both feedback conversations use: button labels, times and dates for display,
error contexts for ``feedback_error.j2``, editing the pressed message, alerts."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.accounts.service import UserView
from bot.feedback.errors import FeedbackError
from bot.feedback.service import FeedbackService
from bot.feedback.types import SessionView
from bot.templates import render_plain
from handlers.common import Ctx, core, edit_pressed

TZ_LABELS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def svc(context: Ctx) -> FeedbackService:
    return core(context).feedback


@functools.lru_cache(maxsize=4096)
def _btn(key: str, items: tuple) -> str:
    return render_plain("feedback_button", key=key, **dict(items))


def btn(key: str, **ctx: Any) -> str:
    """A button label from ``feedback_button.j2`` (cached: a question has up to 20 buttons)."""
    return _btn(key, tuple(sorted(ctx.items())))


def chat_tz(context: Ctx, user: UserView | None = None) -> ZoneInfo:
    return user.tz if user is not None else core(context).settings.tz


def format_when(dt: datetime | None, tz: ZoneInfo) -> str | None:
    if dt is None:
        return None
    label = TZ_LABELS.get(str(tz), str(tz))
    return f"{dt.astimezone(tz).strftime('%d-%m-%Y %H:%M')} {label}"


def bot_username(context: Ctx) -> str | None:
    return core(context).bot_username or context.bot.username


def session_link(context: Ctx, code: str) -> str | None:
    username = bot_username(context)
    return svc(context).deep_link(code, username) if username else None


def format_dates(sv: SessionView) -> str | None:
    if sv.starts_on is None:
        return None
    text = sv.starts_on.strftime("%d-%m-%Y")
    if sv.ends_on and sv.ends_on != sv.starts_on:
        text += " s.d. " + sv.ends_on.strftime("%d-%m-%Y")
    return text


def error_ctx(reason: str, **ctx: Any) -> dict[str, Any]:
    """Context for ``feedback_error.j2`` with every variable defined."""
    base: dict[str, Any] = {
        "reason": reason,
        "code": "",
        "title": "",
        "opens_at": None,
        "closes_at": None,
        "message": "",
    }
    base.update(ctx)
    return base


def exc_error_ctx(exc: FeedbackError, tz: ZoneInfo) -> dict[str, Any]:
    params = dict(exc.params)
    return error_ctx(
        exc.reason,
        code=str(params.get("code") or "")[:20],
        title=params.get("title") or "",
        opens_at=format_when(params.get("opens_at"), tz),
        closes_at=format_when(params.get("closes_at"), tz),
        message=params.get("message") or "",
    )


async def safe_edit(update: Update, context: Ctx, text: str, buttons=None) -> None:
    """Edit the pressed message; a "not modified" answer from Telegram is not an error."""
    await edit_pressed(update, context, text, buttons)


async def alert(update: Update, reason: str, *, show: bool = True, **ctx: Any) -> None:
    q = update.callback_query
    if q is not None:
        await q.answer(text=render_plain("feedback_alert", reason=reason, **ctx), show_alert=show)
