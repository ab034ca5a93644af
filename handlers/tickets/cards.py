"""Ticket cards: the text and buttons of a ticket, and keeping the helpdesk's copy current."""

from __future__ import annotations

from typing import Any

from bot.labels import label
from bot.templates import render
from bot.tghtml import split_message
from bot.tickets.models import T_CLOSED
from bot.tickets.service import CLAIM_STALE, TicketView
from bot.transport import Button
from handlers.common import Ctx, core, edit_html

P = "tk"  # desk buttons: tk:<action>:<ticket>[:<arg>]
SITUATIONS = ("login", "posts", "contact", "other")  # what happened, in /darurat


def situation_text(key: str | None) -> str:
    return label(f"dr_sit_{key}") if key in SITUATIONS else label("dr_sit_other")


def incident_ctx(context: Ctx, t: TicketView) -> dict[str, Any]:
    if not t.is_incident:
        return {"platform_name": None, "situation": None, "steps": []}
    checklist = core(context).tickets.checklists.get(t.platform or "")
    name = checklist.name if checklist else (t.platform or "?")
    steps = []
    if checklist is not None:
        for i, step in enumerate(checklist.steps):
            state = t.steps.get(str(i))
            mark = {"done": "✅", "blocked": "❌"}.get(state or "", "⬜")
            steps.append({"mark": mark, "title": step.title})
    return {"platform_name": name, "situation": situation_text(t.situation), "steps": steps}


def card_ctx(context: Ctx, t: TicketView, *, in_helpdesk: bool) -> dict[str, Any]:
    ctx: dict[str, Any] = {"t": t, "username": t.asker_username, "in_helpdesk": in_helpdesk}
    ctx.update(incident_ctx(context, t))
    return ctx


def card_text(context: Ctx, t: TicketView, *, in_helpdesk: bool) -> str:
    return split_message(render("ticket_card", **card_ctx(context, t, in_helpdesk=in_helpdesk)))[0]


def card_buttons(t: TicketView, now=None) -> list[list[Button]]:
    if t.status == T_CLOSED:
        return []
    first: list[Button] = []
    if t.claimed_by is None:
        first.append(Button(label("tk_claim"), callback_data=f"{P}:c:{t.id}"))
    elif now is not None and t.claimed_at is not None and now - t.claimed_at >= CLAIM_STALE:
        first.append(Button(label("tk_takeover"), callback_data=f"{P}:t:{t.id}"))
    first.append(Button(label("tk_handover"), callback_data=f"{P}:h:{t.id}"))
    rows = [first, [Button(label("tk_close"), callback_data=f"{P}:x:{t.id}")]]
    if t.is_incident and t.warned_at is None:
        rows.append([Button(label("tk_warn"), callback_data=f"{P}:w:{t.id}")])
    return rows


async def refresh_helpdesk_card(context: Ctx, t: TicketView) -> None:
    """Bring the ticket's card in the helpdesk chat up to date (best effort)."""
    if t.helpdesk_chat_id is None or t.helpdesk_message_id is None:
        return
    from bot.db.base import utcnow

    await edit_html(
        context,
        t.helpdesk_chat_id,
        t.helpdesk_message_id,
        card_text(context, t, in_helpdesk=True),
        card_buttons(t, utcnow()),
        quiet=True,
    )


def in_helpdesk_chat(context: Ctx, chat_id: int | None) -> bool:
    helpdesk = core(context).settings.helpdesk_chat_id
    return helpdesk is not None and chat_id == helpdesk
