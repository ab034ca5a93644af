"""/langganan: security tips and content-calendar subscriptions, the tip schedule."""

from __future__ import annotations

from telegram import Update

from bot.accounts.service import UserView
from bot.schedules.parse import schedule_of
from handlers import tokens
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
    respond,
    stale,
)
from handlers.schedules.reminders import CANCEL_WORDS, PENDING_TIPS, ack, button, text_of
from handlers.when import read_when


# -- /langganan --------------------------------------------------------------------------------
async def cmd_langganan(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "reminder_private_only", command="/langganan")
        return
    user = await registered_user(update, context)
    if user is None:
        return
    await _show_subscriptions(update, context, user, as_edit=False)


async def _show_subscriptions(update: Update, context: Ctx, user: UserView, *, as_edit: bool):
    c = core(context)
    admin = c.users.is_admin(user.telegram_id, user.role)
    tips_cfg = await c.schedules.system("tips")
    cal_cfg = await c.schedules.system("calendar")
    rows = [
        [button("sub_tips_on" if user.tips_enabled else "sub_tips_off", "sub:tips")],
        [button("sub_cal_on" if user.calendar_enabled else "sub_cal_off", "sub:cal")],
    ]
    if admin:
        rows.append([button("sub_tips_schedule", "sub:tsch")])
        rows.append(
            [
                button("sub_tips_resume_all", "sub:tresume")
                if tips_cfg.paused
                else button("sub_tips_pause_all", "sub:tpause")
            ]
        )
    ctx = {"user": user, "tips": tips_cfg, "calendar": cal_cfg, "admin": admin}
    token = await tokens.token_for(update, context, tokens.SUBSCRIPTIONS, new=not as_edit)
    rows = tokens.tag_rows(rows, tokens.SUBSCRIPTIONS, token)
    await respond(update, context, "subscriptions", as_edit=as_edit, buttons=rows, **ctx)


async def on_sub_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "sub")
    user = await current_user(update, context)
    if not parts or user is None or len(parts) != 1:
        await stale(update, context)
        return
    c = core(context)
    action = parts[0]
    if action in ("tips", "cal"):
        if action == "tips":
            user = await c.users.set_subscriptions(user.telegram_id, tips=not user.tips_enabled)
        else:
            user = await c.users.set_subscriptions(
                user.telegram_id, calendar=not user.calendar_enabled
            )
        if user is None:
            await stale(update, context)
            return
        await ack(update, "saved")
        await _show_subscriptions(update, context, user, as_edit=True)
        return
    if action == "tx":  # "Batal" while asked for the tip schedule
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.TIPS)
        await ack(update)
        await edit(update, context, "reminder_cancelled")
        return
    if action not in ("tsch", "tpause", "tresume"):
        await stale(update, context)
        return
    if not c.users.is_admin(user.telegram_id, user.role):
        await answer(update, "admin_only", alert=True)
        return
    if action == "tsch":
        await c.users.set_pending(user.telegram_id, PENDING_TIPS)
        await tokens.close(update, context, tokens.SUBSCRIPTIONS)  # this screen is replaced
        token = await tokens.token_for(update, context, tokens.TIPS, new=True)
        rows = tokens.tag_rows([[button("rem_cancel", "sub:tx")]], tokens.TIPS, token)
        await ack(update)
        await edit(update, context, "tips_ask_when", buttons=rows)
        return
    await c.schedules.set_system("tips", None, paused=action == "tpause")
    await ack(update, "saved")
    await _show_subscriptions(update, context, user, as_edit=True)


async def on_tips_when(update: Update, context: Ctx, user: UserView) -> None:
    c = core(context)
    text = (text_of(update) or "").strip()
    if not c.users.is_admin(user.telegram_id, user.role):
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "admin_only")
        return
    if text.lower() in CANCEL_WORDS:
        await c.users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.TIPS)
        await reply(update, context, "reminder_cancelled")
        return

    async def invalid(w) -> None:
        await reply(update, context, "tips_when_invalid")

    data = user.pending_data if user.pending == PENDING_TIPS else None
    when = await read_when(
        update,
        context,
        user,
        text,
        mode="repeat",
        now=c.schedules.clock(),
        pending=PENDING_TIPS,
        data=data,
        invalid=invalid,
    )
    if when is None:
        return
    parsed = schedule_of(when, user.timezone)
    cfg = await c.schedules.set_system("tips", parsed.rule, paused=False)
    await c.users.set_pending(user.telegram_id, None)
    await tokens.close(update, context, tokens.TIPS)
    await reply(update, context, "tips_schedule_saved", rule=cfg.rule)
