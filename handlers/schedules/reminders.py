"""/pengingat (personal posting reminders: add, list, pause, delete); /langganan lives in
``handlers.schedules.subscriptions``.

Callback data: ``pg:add`` ``pg:cancel`` ``pg:p:<id>`` (pause) ``pg:r:<id>`` (resume)
``pg:d:<id>`` (delete?) ``pg:dy:<id>`` (yes, delete) ``pg:dn`` (keep), each with its dialogue
token (``handlers.tokens``); ``sub:tips`` ``sub:cal`` ``sub:tsch`` ``sub:tpause`` ``sub:tresume``.
Dialogue states: ``reminder_when`` -> ``reminder_text``; ``tips_when`` (admins).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from zoneinfo import ZoneInfo

from telegram import Update

from bot.accounts.service import UserView
from bot.dates import INVALID
from bot.outbox.labels import olabel
from bot.schedules.parse import ParsedSchedule, schedule_of
from bot.schedules.recurrence import Rule
from bot.schedules.service import REMINDER_TEXT_MAX
from bot.transport import Button
from handlers import tokens
from handlers.common import (
    Ctx,
    callback_parts,
    core,
    current_user,
    edit,
    is_private,
    registered_user,
    reply,
    respond,
    stale,
)
from handlers.when import flow_data, read_when, understand

log = logging.getLogger(__name__)

PENDING_WHEN = "reminder_when"
PENDING_TEXT = "reminder_text"
PENDING_TIPS = "tips_when"
CANCEL_WORDS = {"batal", "/batal", "cancel"}
ID_RE = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a database id


def button(key: str, data: str, **fmt) -> Button:
    return Button(olabel(key).format(**fmt) if fmt else olabel(key), callback_data=data)


async def ack(update: Update, key: str | None = None) -> None:
    q = update.callback_query
    if q is not None:
        await q.answer(text=olabel(key) if key else None)


def _zone_word(tz: str) -> str:
    return {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(tz, tz)


def text_of(update: Update) -> str | None:
    msg = update.effective_message
    return msg.text if msg is not None else None


# -- /pengingat --------------------------------------------------------------------------------
async def cmd_pengingat(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "reminder_private_only", command="/pengingat")
        return
    user = await registered_user(update, context)
    if user is None:
        return
    if context.args:
        await _got_schedule(update, context, user, " ".join(context.args))
        return
    await _show_list(update, context, user, as_edit=False)


async def _show_list(update: Update, context: Ctx, user: UserView, *, as_edit: bool) -> None:
    """The list with its buttons; a new list (the command) makes older lists' buttons stale."""
    items = await core(context).schedules.list_reminders(user.id)
    rows: list[list[Button]] = []
    for n, r in enumerate(items, start=1):
        toggle = (
            button("rem_resume", f"pg:r:{r.id}", n=n)
            if r.paused
            else button("rem_pause", f"pg:p:{r.id}", n=n)
        )
        rows.append([toggle, button("rem_delete", f"pg:d:{r.id}", n=n)])
    rows.append([button("rem_add", "pg:add")])
    token = await tokens.token_for(update, context, tokens.REMINDER_LIST, new=not as_edit)
    rows = tokens.tag_rows(rows, tokens.REMINDER_LIST, token)
    ctx = {"items": items, "tz": user.timezone}
    await respond(update, context, "reminder_list", as_edit=as_edit, buttons=rows, **ctx)


async def on_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "pg")
    user = await current_user(update, context)
    if not parts or user is None:
        await stale(update, context)
        return
    c = core(context)
    if parts == ["add"]:
        await c.users.set_pending(user.telegram_id, PENDING_WHEN)
        token = await tokens.token_for(update, context, tokens.REMINDER, new=True)
        await ack(update)
        await edit(
            update,
            context,
            "reminder_ask_when",
            buttons=tokens.tag_rows([[button("rem_cancel", "pg:cancel")]], tokens.REMINDER, token),
            tz=_zone_word(user.timezone),
        )
        return
    if parts == ["cancel"]:
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.REMINDER)
        await ack(update)
        await edit(update, context, "reminder_cancelled")
        return
    if parts == ["dn"]:  # "keep it" on the confirmation: back to the list
        await tokens.close(update, context, tokens.REMINDER_DELETE)
        await ack(update)
        await _show_list(update, context, user, as_edit=True)
        return
    if len(parts) != 2 or parts[0] not in ("p", "r", "d", "dy") or not ID_RE.fullmatch(parts[1]):
        await stale(update, context)
        return
    sid = int(parts[1])
    if parts[0] == "d":
        await _confirm_delete(update, context, user, sid)
        return
    if parts[0] == "dy":
        ok = await c.schedules.delete_reminder(user.id, sid)
        await tokens.close(update, context, tokens.REMINDER_DELETE)
        key = "rem_deleted"
    else:
        ok = await c.schedules.set_paused(user.id, sid, parts[0] == "p") is not None
        key = "rem_paused" if parts[0] == "p" else "rem_resumed"
    if not ok:
        await stale(update, context)
        return
    await ack(update, key)
    await _show_list(update, context, user, as_edit=True)


async def _confirm_delete(update: Update, context: Ctx, user: UserView, sid: int) -> None:
    """A reminder is deleted only after "Ya, hapus" on this question."""
    items = await core(context).schedules.list_reminders(user.id)
    r = next((r for r in items if r.id == sid), None)
    if r is None:
        await stale(update, context)
        return
    token = await tokens.token_for(update, context, tokens.REMINDER_DELETE, new=True)
    rows = [[button("rem_delete_yes", f"pg:dy:{sid}"), button("rem_delete_no", "pg:dn")]]
    await ack(update)
    await edit(
        update,
        context,
        "reminder_delete_confirm",
        buttons=tokens.tag_rows(rows, tokens.REMINDER_DELETE, token),
        r=r,
    )


async def on_when(update: Update, context: Ctx, user: UserView) -> None:
    text = text_of(update)
    if text is None:
        await reply(update, context, "reminder_parse_failed", tz=_zone_word(user.timezone))
        return
    await _got_schedule(update, context, user, text)


async def _got_schedule(update: Update, context: Ctx, user: UserView, text: str) -> None:
    c = core(context)
    if text.strip().lower() in CANCEL_WORDS:
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.REMINDER)
        await reply(update, context, "reminder_cancelled")
        return
    now = c.schedules.clock()
    data = dict(user.pending_data or {}) if user.pending == PENDING_WHEN else {}
    if (
        understand(text, now, user.timezone, "any", data).status == INVALID
        and (split := _split_inline(text)) is not None
        and understand(split[0], now, user.timezone, "any", data).status != INVALID
    ):
        # "setiap Senin 08.00: unggah info layanan" - the schedule and the text in one go
        text, data["body"] = split

    async def invalid(w) -> None:
        await reply(update, context, "reminder_parse_failed", tz=_zone_word(user.timezone))

    when = await read_when(
        update,
        context,
        user,
        text,
        mode="any",
        now=now,
        pending=PENDING_WHEN,
        data=data,
        invalid=invalid,
    )
    if when is None:
        return
    parsed = schedule_of(when, user.timezone)
    zone = parsed.timezone or user.timezone
    if parsed.rule.next_after(now, ZoneInfo(zone)) is None:
        await c.users.set_pending(user.telegram_id, PENDING_WHEN)
        await reply(update, context, "reminder_past")
        return
    f = parsed.rule.to_fields()
    fields = {
        "kind": f["kind"],
        "time": f["time"],
        "days": f["days"],
        "day": f["day"],
        "on_date": f["on_date"].isoformat() if f["on_date"] else None,
        "tz": zone,
    }
    await c.users.set_pending(user.telegram_id, PENDING_TEXT, fields)
    body = flow_data(data).get("body")
    if body:
        await _save(update, context, user, ParsedSchedule(parsed.rule, zone), body)
        return
    await reply(
        update, context, "reminder_ask_text", rule=parsed.rule, tz=zone, limit=REMINDER_TEXT_MAX
    )


def _split_inline(text: str) -> tuple[str, str] | None:
    """Split "<schedule>: <text>" at the first colon that is not part of a time (7:30)."""
    m = re.match(r"\s*([^\n]+?):(?!\d)\s*(\S.*)$", text, re.S)
    return (m.group(1), m.group(2)) if m else None


def _parsed_from(data: dict | None) -> ParsedSchedule | None:
    if not data:
        return None
    try:
        on = date.fromisoformat(data["on_date"]) if data.get("on_date") else None
        rule = Rule.from_fields(data["kind"], data["time"], data.get("days"), data.get("day"), on)
        ZoneInfo(data["tz"])
    except (KeyError, ValueError, TypeError):
        return None
    return ParsedSchedule(rule, data["tz"])


async def on_text(update: Update, context: Ctx, user: UserView) -> None:
    c = core(context)
    text = text_of(update)
    parsed = _parsed_from(user.pending_data)
    if parsed is None:
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "stale_button")
        return
    if text is None or not text.strip():
        await reply(
            update,
            context,
            "reminder_ask_text",
            rule=parsed.rule,
            tz=parsed.timezone,
            limit=REMINDER_TEXT_MAX,
        )
        return
    if text.strip().lower() in CANCEL_WORDS:
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.REMINDER)
        await reply(update, context, "reminder_cancelled")
        return
    await _save(update, context, user, parsed, text)


async def _save(
    update: Update, context: Ctx, user: UserView, parsed: ParsedSchedule, text: str
) -> None:
    """Store the reminder; a text that is too long keeps the dialogue open for a shorter one."""
    c = core(context)
    if len(text.strip()) > REMINDER_TEXT_MAX:
        await reply(update, context, "too_long", length=len(text.strip()), limit=REMINDER_TEXT_MAX)
        return
    view, problem = await c.schedules.add_reminder(user.id, text, parsed, user.timezone)
    await c.users.set_pending(user.telegram_id, None)
    await tokens.close(update, context, tokens.REMINDER)
    if view is None:
        await reply(update, context, "reminder_not_added", problem=problem)
        return
    await reply(update, context, "reminder_added", r=view)
