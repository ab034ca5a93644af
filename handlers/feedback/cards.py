"""A feedback session's card (status, link, buttons) and its QR code, for organizers."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from bot.feedback.types import SessionView
from bot.templates import render
from bot.transport import Button
from handlers.common import (
    Ctx,
    send,
)
from handlers.feedback.shared import (
    bot_username,
    btn,
    format_dates,
    format_when,
    session_link,
    svc,
)

O = "fbo"  # organizer buttons  # noqa: E741


async def send_qr(context: Ctx, chat_id: int, sv: SessionView) -> None:
    username = bot_username(context)
    if not username:  # getMe always gives one; keep a polite path anyway
        await send(context, chat_id, "error")
        return
    png = await asyncio.to_thread(svc(context).qr_png, sv, username)
    caption = render(
        "feedback_caption",
        kind="qr",
        title=sv.title,
        code=sv.code,
        link=session_link(context, sv.code),
    )
    await context.bot.send_photo(
        chat_id=chat_id, photo=png, filename=f"qr-{sv.code}.png", caption=caption
    )


def session_buttons(item, status: str, *, anonymous: bool) -> list[list[Button]]:
    code = item.session.code
    rows = [
        [Button(btn("qr"), f"{O}:q:{code}"), Button(btn("report"), f"{O}:r:{code}")],
        [
            Button(btn("close"), f"{O}:c:{code}")
            if status == "open"
            else Button(btn("open"), f"{O}:o:{code}")
        ],
    ]
    if not anonymous and item.in_progress and status == "open":
        rows.append([Button(btn("remind"), f"{O}:m:{code}")])
    rows.append([Button(btn("refresh"), f"{O}:v:{code}"), Button(btn("list"), f"{O}:l:-")])
    return rows


async def session_card(context: Ctx, code: str, tz: ZoneInfo) -> tuple[str, list]:
    item = await svc(context).session_item(code)
    sv = item.session
    status = sv.status()
    text = render(
        "feedback_session",
        item=item,
        status=status,
        dates=format_dates(sv),
        opens_at=format_when(sv.opens_at, tz),
        closes_at=format_when(sv.closes_at, tz),
        link=session_link(context, sv.code),
    )
    return text, session_buttons(item, status, anonymous=sv.anonymous)
