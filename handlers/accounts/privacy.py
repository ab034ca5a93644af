"""/privasi and /hapusdata (with confirmation)."""

from __future__ import annotations

from telegram import Update

from bot.labels import label
from bot.transport import Button
from handlers.accounts.profile import private_only
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
    stale,
)


# -- /privasi, /hapusdata, /bantuan ------------------------------------------------------------
async def cmd_privacy(update: Update, context: Ctx) -> None:
    await reply(update, context, "privacy")


async def cmd_delete(update: Update, context: Ctx) -> None:
    if not await private_only(update, context):
        return
    user = await registered_user(update, context)
    if user is None:
        return
    buttons = [
        [
            Button(label("yes_delete"), callback_data="del:yes"),
            Button(label("cancel"), callback_data="del:no"),
        ]
    ]
    await reply(update, context, "delete_confirm", buttons=buttons)


async def on_delete_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "del")
    user = await current_user(update, context)
    bad = parts not in (["yes"], ["no"])
    if bad or user is None or not is_private(update):
        await stale(update, context)
        return
    if parts == ["yes"]:
        await core(context).delete_personal_data(user.telegram_id)
        await answer(update)
        await edit(update, context, "delete_done")
    else:
        await answer(update, "cancelled")
        await edit(update, context, "delete_cancelled")
