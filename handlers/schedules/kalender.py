"""/kalender: the next 30 days of the content calendar for the deployment's region, with the
content ideas, paged; one tap turns an event into a personal reminder (H-N at a chosen hour)
through the reminders service.

Callback data (at most 64 bytes; event ids are at most 40 characters):
``kal:p:<page>`` (a page of the list), ``kal:e:<event>:<yyyymmdd>`` (pick H-N),
``kal:l:<event>:<yyyymmdd>:<lead>`` (pick the hour), ``kal:h:<event>:<yyyymmdd>:<lead>:<hh>``
(save the reminder). A stale or tampered button changes nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.accounts.service import UserView
from bot.schedules.parse import ParsedSchedule
from bot.schedules.recurrence import ONCE, Rule
from bot.templates import render_plain
from bot.transport import Button
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

log = logging.getLogger(__name__)

PREFIX = "kal"
WINDOW_DAYS = 30
PAGE_SIZE = 4
LEADS = (7, 3, 1, 0)  # H-7, H-3, H-1, on the day
HOURS = (7, 8, 9, 10, 13, 16, 19)
DAY_RE = re.compile(r"[0-9]{8}")
PAGE_RE = re.compile(r"[0-9]{1,3}")
NUM_RE = re.compile(r"[0-9]{1,2}")


def label(kind: str, **ctx) -> str:
    return render_plain("kalender_button", kind=kind, **ctx)


def _day_code(d: date) -> str:
    return d.strftime("%Y%m%d")


def _parse_day(code: str) -> date | None:
    if not DAY_RE.fullmatch(code):
        return None
    try:
        return datetime.strptime(code, "%Y%m%d").date()
    except ValueError:
        return None


def _today(context: Ctx, user: UserView) -> tuple[datetime, date]:
    now = core(context).schedules.clock()
    return now, now.astimezone(ZoneInfo(user.timezone)).date()


# -- /kalender ---------------------------------------------------------------------------------
async def cmd_kalender(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "reminder_private_only", command="/kalender")
        return
    user = await registered_user(update, context)
    if user is None:
        return
    await _show_page(update, context, user, 0, as_edit=False)


async def _show_page(
    update: Update, context: Ctx, user: UserView, page: int, *, as_edit: bool
) -> None:
    schedules = core(context).schedules
    _, today = _today(context, user)
    window = schedules.calendar_window(today, WINDOW_DAYS)
    pages = max(1, -(-len(window) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * PAGE_SIZE
    items = [
        {
            "n": first + i + 1,
            "u": u,
            "left": (u.day - today).days,
            "where": schedules.region_names(u.event),
        }
        for i, u in enumerate(window[first : first + PAGE_SIZE])
    ]
    rows: list[list[Button]] = []
    pick = [
        Button(
            label("remind", n=item["n"]),
            callback_data=f"{PREFIX}:e:{item['u'].event.id}:{_day_code(item['u'].day)}",
        )
        for item in items
    ]
    rows += [pick[i : i + 2] for i in range(0, len(pick), 2)]
    nav = []
    if page > 0:
        nav.append(Button(label("prev"), callback_data=f"{PREFIX}:p:{page - 1}"))
    if page < pages - 1:
        nav.append(Button(label("next"), callback_data=f"{PREFIX}:p:{page + 1}"))
    if nav:
        rows.append(nav)
    ctx = {
        "items": items,
        "page": page + 1,
        "pages": pages,
        "total": len(window),
        "start": today,
        "end": today + timedelta(days=WINDOW_DAYS),
        "region": schedules.region_name(),
    }
    await respond(update, context, "kalender_list", as_edit=as_edit, buttons=rows, **ctx)


# -- buttons -----------------------------------------------------------------------------------
async def on_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, PREFIX)
    user = await current_user(update, context)
    q = update.callback_query
    if not parts or user is None or q is None:
        await stale(update, context)
        return
    step, args = parts[0], parts[1:]
    if step == "p" and len(args) == 1 and PAGE_RE.fullmatch(args[0]):
        await q.answer()
        await _show_page(update, context, user, int(args[0]), as_edit=True)
        return
    if step not in ("e", "l", "h") or len(args) < 2:
        await stale(update, context)
        return
    found = core(context).schedules.occurrence(args[0], _parse_day(args[1]) or date.min)
    now, today = _today(context, user)
    if found is None or found.day < today:
        await stale(update, context)
        return
    numbers = args[2:]
    if not all(NUM_RE.fullmatch(n) for n in numbers):
        await stale(update, context)
        return
    lead = int(numbers[0]) if numbers else None
    hour = int(numbers[1]) if len(numbers) > 1 else None
    expected = {"e": 0, "l": 1, "h": 2}[step]
    if (
        len(numbers) != expected
        or (lead is not None and (lead not in LEADS or found.day - timedelta(lead) < today))
        or (hour is not None and hour not in HOURS)
    ):
        await stale(update, context)
        return
    await q.answer()
    back = [Button(label("back"), callback_data=f"{PREFIX}:p:0")]
    code = f"{found.event.id}:{_day_code(found.day)}"
    if step == "e":
        leads = [n for n in LEADS if found.day - timedelta(n) >= today]
        rows = [
            [Button(label("lead", lead=n), callback_data=f"{PREFIX}:l:{code}:{n}") for n in leads],
            back,
        ]
        await edit(update, context, "kalender_pick_lead", buttons=rows, u=found, today=today)
        return
    assert lead is not None
    remind_day = found.day - timedelta(lead)
    if step == "l":
        tz = ZoneInfo(user.timezone)
        hours = [h for h in HOURS if datetime.combine(remind_day, time(h), tzinfo=tz) > now]
        buttons = [
            Button(label("hour", hour=h), callback_data=f"{PREFIX}:h:{code}:{lead}:{h}")
            for h in hours
        ]
        rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)] + [back]
        await edit(
            update,
            context,
            "kalender_pick_hour",
            buttons=rows,
            u=found,
            lead=lead,
            remind_day=remind_day,
            hours=hours,
            tz=user.timezone,
        )
        return
    assert hour is not None
    await _save(update, context, user, found, lead, Rule(ONCE, time(hour), on_date=remind_day))


async def _save(update: Update, context: Ctx, user: UserView, found, lead: int, rule: Rule):
    schedules = core(context).schedules
    text = render_plain("kalender_reminder_text", u=found, lead=lead)
    back = [[Button(label("back"), callback_data=f"{PREFIX}:p:0")]]
    # A second tap on the same button (or an old copy of it) does not make a second reminder.
    for r in await schedules.list_reminders(user.id):
        if r.text == text and r.rule == rule:
            await edit(update, context, "reminder_added", buttons=back, r=r)
            return
    view, problem = await schedules.add_reminder(
        user.id, text, ParsedSchedule(rule, user.timezone), user.timezone
    )
    if view is None:
        await edit(update, context, "reminder_not_added", buttons=back, problem=problem)
        return
    await edit(update, context, "reminder_added", buttons=back, r=view)
