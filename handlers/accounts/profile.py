"""/profil: the user's name, OPD and role; changing them."""

from __future__ import annotations

from telegram import Update

from bot.accounts.models import ROLE_ADMIN, ROLE_ORGANIZER
from bot.accounts.service import NAME_MAX, UserView
from bot.labels import label
from bot.transport import Button
from handlers import tokens
from handlers.accounts.onboarding import TZ_LABELS, send_opd_question, short_text
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


# -- /profil -----------------------------------------------------------------------------------
def _role_label(role: str) -> str:
    return {
        ROLE_ADMIN: "Admin Diskominfo",
        ROLE_ORGANIZER: "Penyelenggara pelatihan",
    }.get(role, "Admin media sosial OPD")


async def private_only(update: Update, context: Ctx) -> bool:
    """Personal data is shown and changed in the private chat only, never in a group (where
    anyone could read it, or press the buttons)."""
    if is_private(update):
        return True
    await reply(update, context, "group_start", bot_username=core(context).bot_username)
    return False


async def cmd_profile(update: Update, context: Ctx) -> None:
    if not await private_only(update, context):
        return
    user = await registered_user(update, context)
    if user is None:
        return
    buttons = [
        [
            Button(label("change_name"), callback_data="prof:name"),
            Button(label("change_opd"), callback_data="prof:opd"),
        ],
        [Button(label("change_tz"), callback_data="prof:tz")],
    ]
    token = await tokens.token_for(update, context, tokens.PROFILE, new=True)
    buttons = tokens.tag_rows(buttons, tokens.PROFILE, token)
    await reply(
        update,
        context,
        "profile",
        buttons=buttons,
        user=user,
        tz_label=TZ_LABELS.get(user.timezone, user.timezone),
        role_label=_role_label(user.role),
        since=user.created_at.astimezone(user.tz).strftime("%d-%m-%Y"),
    )


async def on_profile_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "prof")
    user = await current_user(update, context)
    if parts is None or user is None or len(parts) > 2 or not is_private(update):
        await stale(update, context)
        return
    if parts[0] == "tz":
        await _timezone(update, context, user, parts[1] if len(parts) == 2 else None)
        return
    if len(parts) != 1:
        await stale(update, context)
        return
    await tokens.close(update, context, tokens.PROFILE)  # this screen is replaced
    if parts[0] == "name":
        await core(context).users.set_pending(user.telegram_id, "name")
        await answer(update)
        await edit(update, context, "profile_ask_name", limit=NAME_MAX)
    elif parts[0] == "opd":
        await answer(update)
        await send_opd_question(update, context, page=0, as_edit=True)
    else:
        await stale(update, context)


ZONES = {"wib": "Asia/Jakarta", "wita": "Asia/Makassar", "wit": "Asia/Jayapura"}


async def _timezone(update: Update, context: Ctx, user: UserView, choice: str | None) -> None:
    """prof:tz shows the zones; prof:tz:<wib|wita|wit|auto> saves one (auto: the OPD's or the
    deployment's zone)."""
    users = core(context).users
    if choice is None:
        rows = [
            [Button(name.upper(), callback_data=f"prof:tz:{name}") for name in ZONES],
            [Button(label("tz_auto"), callback_data="prof:tz:auto")],
        ]
        await answer(update)
        await edit(
            update,
            context,
            "profile_ask_tz",
            buttons=rows,
            current=TZ_LABELS.get(user.timezone, user.timezone),
        )
        return
    if choice != "auto" and choice not in ZONES:
        await stale(update, context)
        return
    updated = await users.set_timezone(user.telegram_id, ZONES.get(choice))
    if updated is None:
        await stale(update, context)
        return
    await answer(update, "saved")
    await edit(
        update,
        context,
        "profile_tz_saved",
        tz=TZ_LABELS.get(updated.timezone, updated.timezone),
        auto=choice == "auto",
    )


async def on_name_text(update: Update, context: Ctx, user: UserView) -> None:
    users = core(context).users
    text = await short_text(update, context, limit=NAME_MAX, prompt="profile_ask_name")
    if text is None:
        return
    updated = await users.set_name(user.telegram_id, text)
    await users.set_pending(user.telegram_id, None)
    await reply(update, context, "name_saved", name=updated.name)
