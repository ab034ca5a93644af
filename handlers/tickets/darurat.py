"""/darurat: a hacked or suspicious agency account. Platform -> what happened -> the account
-> an urgent incident ticket to the helpdesk at once -> the platform's recovery checklist, step
by step. Every step is stored on the ticket, and the buttons carry the ticket and the step, so
a restart in the middle of the checklist loses nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.db.base import utcnow
from bot.labels import label
from bot.outbox.models import KIND_BROADCAST
from bot.tickets.service import TicketView
from bot.transport import Button
from handlers.common import (
    Ctx,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    is_private,
    registered_user,
    reply,
    send_html,
    stale,
)
from handlers.tickets.cards import (
    SITUATIONS,
    P,
    card_buttons,
    card_text,
    refresh_helpdesk_card,
    situation_text,
)

log = logging.getLogger(__name__)

DR = "dr"  # dr:go | dr:p:<platform> | dr:s:<platform>:<situation> | dr:k:<ticket>:<i>:<d|b>
PENDING_ACCOUNT = "darurat_account"
ACCOUNT_MAX = 100
STEP_DONE = "done"
STEP_BLOCKED = "blocked"
# The knowledge entry whose answer also offers /darurat.
HACKED_ENTRY = "keamanan-akun-diretas"


def darurat_button() -> Button:
    return Button(label("dr_open"), callback_data=f"{DR}:go")


async def cmd_darurat(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "darurat_private_only")
        return
    if await registered_user(update, context) is None:
        return
    await _start(update, context, as_edit=False)


async def _start(update: Update, context: Ctx, *, as_edit: bool) -> None:
    checklists = core(context).tickets.checklists
    rows = [[Button(c.name, callback_data=f"{DR}:p:{key}")] for key, c in checklists.items()]
    rows.append([Button(label("cancel"), callback_data=f"{DR}:x")])
    kwargs = {"platforms": bool(checklists), "buttons": rows}
    if as_edit:
        await edit(update, context, "darurat_start", **kwargs)
    else:
        await reply(update, context, "darurat_start", **kwargs)


async def on_darurat_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, DR, 1)
    user = await current_user(update, context)
    if parts is None or user is None:
        await stale(update, context)
        return
    c = core(context)
    action = parts[0]
    if action == "go":
        await answer(update)
        await _start(update, context, as_edit=False)
    elif action == "x":
        if user.pending == PENDING_ACCOUNT:
            await c.users.set_pending(user.telegram_id, None)
        await answer(update, "cancelled")
        await edit(update, context, "darurat_cancelled")
    elif action == "p" and len(parts) == 2 and parts[1] in c.tickets.checklists:
        rows = [
            [Button(label(f"dr_sit_{s}"), callback_data=f"{DR}:s:{parts[1]}:{s}")]
            for s in SITUATIONS
        ]
        rows.append([Button(label("back"), callback_data=f"{DR}:b")])
        await answer(update)
        await edit(
            update,
            context,
            "darurat_situation",
            platform=c.tickets.checklists[parts[1]].name,
            buttons=rows,
        )
    elif action == "b":
        await answer(update)
        await _start(update, context, as_edit=True)
    elif (
        action == "s"
        and len(parts) == 3
        and parts[1] in c.tickets.checklists
        and parts[2] in SITUATIONS
    ):
        await c.users.set_pending(user.telegram_id, PENDING_ACCOUNT, {"p": parts[1], "s": parts[2]})
        await answer(update)
        await edit(
            update,
            context,
            "darurat_ask_account",
            platform=c.tickets.checklists[parts[1]].name,
            situation=situation_text(parts[2]),
            limit=ACCOUNT_MAX,
            buttons=[[Button(label("cancel"), callback_data=f"{DR}:x")]],
        )
    elif action == "k" and len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
        await _step(update, context, int(parts[1]), int(parts[2]), parts[3])
    else:
        await stale(update, context)


async def on_account_text(update: Update, context: Ctx, user) -> None:
    """The account's name: open the incident ticket now, then walk the checklist."""
    c = core(context)
    msg = update.effective_message
    data = user.pending_data or {}
    platform, situation = data.get("p"), data.get("s")
    if msg is None or not msg.text:
        await reply(update, context, "not_text")
        return
    account = " ".join(msg.text.split())
    if len(account) > ACCOUNT_MAX:
        await reply(update, context, "too_long", length=len(account), limit=ACCOUNT_MAX)
        return
    await c.users.set_pending(user.telegram_id, None)
    checklist = c.tickets.checklists.get(platform or "")
    if checklist is None or situation not in SITUATIONS:
        await reply(update, context, "darurat_cancelled")
        return
    from bot.templates import render_plain

    summary = render_plain(
        "darurat_summary",
        platform=checklist.name,
        account=account,
        situation=situation_text(situation),
    )
    t = await c.tickets.open_incident(user, platform, account, situation, summary)
    delivered = await _alert_helpdesk(context, t)
    await reply(
        update,
        context,
        "darurat_opened",
        id=t.id,
        delivered=delivered,
        recovery_url=checklist.recovery_url,
        platform=checklist.name,
    )
    await _show_step(update, context, t, 0, as_edit=False)


async def _alert_helpdesk(context: Ctx, t: TicketView) -> bool:
    """The incident card to the helpdesk chat, or to every admin when there is none."""
    c = core(context)
    text = card_text(context, t, in_helpdesk=True)
    if c.settings.helpdesk_chat_id is not None:
        try:
            msg = await send_html(
                context, c.settings.helpdesk_chat_id, text, buttons=card_buttons(t, utcnow())
            )
        except TelegramError as exc:
            log.error("incident %s: could not alert the helpdesk chat: %s", t.id, exc)
        else:
            await c.tickets.set_helpdesk_message(t.id, msg.chat_id, msg.message_id)
            return True
    told = False
    for admin in await c.users.admins():
        try:
            await send_html(
                context,
                admin.chat_id,
                card_text(context, t, in_helpdesk=False),
                buttons=card_buttons(t, utcnow()),
            )
            told = True
        except TelegramError as exc:
            log.warning("incident %s: could not alert admin %s: %s", t.id, admin.telegram_id, exc)
    return told


async def _show_step(update: Update, context: Ctx, t: TicketView, i: int, *, as_edit: bool):
    checklist = core(context).tickets.checklists.get(t.platform or "")
    if checklist is None:
        await stale(update, context)
        return
    if i >= len(checklist.steps):
        done = sum(1 for v in t.steps.values() if v == STEP_DONE)
        blocked = [
            checklist.steps[int(k)].title
            for k, v in sorted(t.steps.items(), key=lambda kv: int(kv[0]))
            if v == STEP_BLOCKED and int(k) < len(checklist.steps)
        ]
        kwargs = dict(id=t.id, done=done, total=len(checklist.steps), blocked=blocked)
        if as_edit:
            await edit(update, context, "darurat_done", **kwargs)
        else:
            await reply(update, context, "darurat_done", **kwargs)
        return
    step = checklist.steps[i]
    rows = [
        [
            Button(label("dr_done"), callback_data=f"{DR}:k:{t.id}:{i}:d"),
            Button(label("dr_blocked"), callback_data=f"{DR}:k:{t.id}:{i}:b"),
        ]
    ]
    if step.url:
        rows.insert(0, [Button(label("dr_open_link"), url=step.url)])
    kwargs = dict(id=t.id, n=i + 1, total=len(checklist.steps), step=step, buttons=rows)
    if as_edit:
        await edit(update, context, "darurat_step", **kwargs)
    else:
        await reply(update, context, "darurat_step", **kwargs)


async def _step(update: Update, context: Ctx, ticket_id: int, i: int, state: str) -> None:
    c = core(context)
    user = await current_user(update, context)
    if user is None or state not in ("d", "b"):
        await stale(update, context)
        return
    t = await c.tickets.set_step(ticket_id, user, i, STEP_DONE if state == "d" else STEP_BLOCKED)
    if t is None:
        await stale(update, context)
        return
    await answer(update)
    await _show_step(update, context, t, i + 1, as_edit=True)
    await refresh_helpdesk_card(context, t)


# -- the warning broadcast from an incident ticket ----------------------------------------------
async def warn_button(update: Update, context: Ctx, ticket_id: int, *, confirm: bool) -> None:
    c = core(context)
    t = await c.tickets.get(ticket_id)
    if t is None or not t.is_incident:
        await stale(update, context)
        return
    checklist = c.tickets.checklists.get(t.platform or "")
    from bot.templates import render

    text = render(
        "darurat_warning",
        platform=checklist.name if checklist else t.platform,
        account=t.account or "",
        opd=t.opd_name,
    )
    if not confirm:
        audience = await c.outbox.count_audience()
        await answer(update)
        await send_html(
            context,
            update.effective_chat.id,
            render("darurat_warn_preview", id=t.id, audience=audience) + "\n\n" + text,
            buttons=[
                [
                    Button(label("dr_warn_send"), callback_data=f"{P}:wy:{t.id}"),
                    Button(label("cancel"), callback_data=f"{P}:o:{t.id}"),
                ]
            ],
        )
        return
    tg = update.effective_user
    creator = await c.users.get(tg.id) if tg else None
    mid, created = await c.outbox.create_message(
        KIND_BROADCAST,
        text=text,
        dedupe_key=f"tickets:warn:{t.id}",
        creator_user_id=creator.id if creator else None,
        creator_chat_id=update.effective_chat.id if update.effective_chat else None,
    )
    total = await c.outbox.start_broadcast(mid)  # None when it already started
    await c.tickets.mark_warned(t.id)
    await answer(update)
    await edit(
        update,
        context,
        "darurat_warned",
        id=t.id,
        total=total or 0,
        again=not created and total is None,
    )
    fresh = await c.tickets.get(t.id)
    if fresh is not None:
        await refresh_helpdesk_card(context, fresh)
