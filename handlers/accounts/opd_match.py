"""A typed OPD name: matched to the list (aliases, then fuzzy) with a confirm button, or kept
as a unit under the OPD the user picks, so broadcasts to that OPD reach it and its zone applies.

Dialogue states: ``opd_pick`` (the OPD question is showing; a typed text that names a listed OPD
is taken as the answer, anything else is a question as usual),
``opd_other`` (after "✏️ Lainnya"), ``opd_unit`` (the typed unit waits for its parent).
Buttons: ``opd:u`` (not in the list: pick the parent), ``opd:pp:<page>``, ``opd:ps:<slug>``
(the parent), ``opd:pn`` (no parent: keep the name as typed).
"""

from __future__ import annotations

import math

from telegram import Update

from bot.accounts.matching import SURE, match_opd
from bot.accounts.service import OPD_OTHER_MAX, UserView
from bot.labels import label
from bot.transport import Button
from handlers.common import Ctx, answer, core, edit, reply, stale

PENDING_PICK = "opd_pick"
PENDING_OTHER = "opd_other"
PENDING_UNIT = "opd_unit"
PARENT_PAGE = 8


async def on_opd_typed(update: Update, context: Ctx, user: UserView) -> None:
    """A typed answer to "Anda dari OPD mana?"."""
    from handlers.accounts.onboarding import short_text

    c = core(context)
    text = await short_text(update, context, limit=OPD_OTHER_MAX, prompt="opd_other_prompt")
    if text is None:
        return
    opds = await c.users.list_opds()
    found = match_opd(
        text, [(o.slug, o.name, list(o.aliases)) for o in opds], region=c.users.region
    )
    strong = bool(found) and (found[0].exact or found[0].score >= SURE)
    if user.pending == PENDING_PICK and not strong:
        # Typed at the picker but not an OPD we know: most likely a question ("harga cabai
        # berapa"), so it is answered as one; units not in the list go through "Lainnya".
        from handlers import dialogue

        await c.users.set_pending(user.telegram_id, None)
        await dialogue.on_private_message(update, context)
        return
    await c.users.set_pending(user.telegram_id, PENDING_UNIT, {"unit": " ".join(text.split())})
    rows: list[list[Button]] = []
    if found and (found[0].exact or found[0].score >= SURE) and len(found) == 1:
        rows.append(
            [
                Button(
                    label("opd_yes").format(name=found[0].name),
                    callback_data=f"opd:s:{found[0].slug}",
                )
            ]
        )
    else:
        rows += [[Button(f.name, callback_data=f"opd:s:{f.slug}")] for f in found]
    rows.append([Button(label("opd_not_listed"), callback_data="opd:u")])
    await reply(
        update,
        context,
        "opd_match",
        buttons=rows,
        typed=text,
        sure=bool(found) and len(rows) == 2 and (found[0].exact or found[0].score >= SURE),
        found=bool(found),
    )


async def parent_page(update: Update, context: Ctx, user: UserView, page: int) -> None:
    unit = (user.pending_data or {}).get("unit") if user.pending == PENDING_UNIT else None
    if not unit:
        await stale(update, context)
        return
    opds = [o for o in await core(context).users.list_opds() if o.parent_id is None]
    pages = max(1, math.ceil(len(opds) / PARENT_PAGE))
    page = min(max(page, 0), pages - 1)
    chunk = opds[page * PARENT_PAGE : (page + 1) * PARENT_PAGE]
    rows = [[Button(o.name, callback_data=f"opd:ps:{o.slug}")] for o in chunk]
    nav = []
    if page > 0:
        nav.append(Button(label("prev"), callback_data=f"opd:pp:{page - 1}"))
    if page < pages - 1:
        nav.append(Button(label("next"), callback_data=f"opd:pp:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([Button(label("opd_no_parent"), callback_data="opd:pn")])
    await answer(update)
    await edit(update, context, "opd_parent", buttons=rows, unit=unit, page=page, pages=pages)


async def choose_parent(update: Update, context: Ctx, user: UserView, slug: str | None) -> None:
    from handlers.accounts.onboarding import finish_opd

    c = core(context)
    unit = (user.pending_data or {}).get("unit") if user.pending == PENDING_UNIT else None
    if not unit:
        await stale(update, context)
        return
    if slug is None:
        updated = await c.users.set_opd_other(user.telegram_id, unit)
    else:
        updated = await c.users.set_unit(user.telegram_id, slug, unit)
    if updated is None:
        await stale(update, context)
        return
    await c.users.set_pending(user.telegram_id, None)
    await answer(update, "saved")
    await finish_opd(update, context, updated, as_edit=True, first=not user.has_opd)
