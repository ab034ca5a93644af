"""/bantuan: what the bot can do, by role."""

from __future__ import annotations

from telegram import Update

from bot.accounts.models import ROLE_ORGANIZER
from handlers.common import (
    Ctx,
    core,
    current_user,
    is_private,
    reply,
)


async def cmd_help(update: Update, context: Ctx) -> None:
    user = await current_user(update, context)
    users = core(context).users
    tg_id = update.effective_user.id if update.effective_user else 0
    admin = users.is_admin(tg_id, user.role if user else None)
    organizer = admin or (user is not None and user.role == ROLE_ORGANIZER)
    await reply(
        update, context, "help", group=not is_private(update), admin=admin, organizer=organizer
    )
