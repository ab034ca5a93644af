"""/materi: browsing the knowledge base by pillar."""

from __future__ import annotations

from telegram import Update

from bot.knowledge.entry import PILLARS
from bot.labels import label
from bot.transport import Button
from handlers.common import (
    Ctx,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    reply,
    stale,
)
from handlers.knowledge.questions import answer_buttons, entry_ctx


# -- /materi -----------------------------------------------------------------------------------
def _pillar_rows(context: Ctx) -> list[list[Button]]:
    kb = core(context).qa.kb
    rows = []
    for slug, p in PILLARS.items():
        if kb.by_pillar(slug):
            rows.append([Button(p.display, callback_data=f"mt:p:{slug}")])
    return rows


async def cmd_materi(update: Update, context: Ctx) -> None:
    await reply(update, context, "materi_root", buttons=_pillar_rows(context))


async def on_materi_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "mt")
    kb = core(context).qa.kb
    if not parts:
        await stale(update, context)
        return
    if parts == ["root"]:
        await answer(update)
        await edit(update, context, "materi_root", buttons=_pillar_rows(context))
    elif parts[0] == "p" and len(parts) == 2 and parts[1] in PILLARS:
        entries = kb.by_pillar(parts[1])
        rows = [[Button(e.title, callback_data=f"mt:e:{e.id}")] for e in entries]
        rows.append([Button(label("back"), callback_data="mt:root")])
        await answer(update)
        await edit(
            update,
            context,
            "materi_pillar",
            buttons=rows,
            pillar=PILLARS[parts[1]].display,
            count=len(entries),
        )
    elif parts[0] == "e" and len(parts) == 2 and kb.get(parts[1]) is not None:
        entry = kb.get(parts[1])
        user = await current_user(update, context)
        rows = answer_buttons(context, entry, None, user)
        rows.append([Button(label("back"), callback_data=f"mt:p:{entry.pillar}")])
        await answer(update)
        await edit(update, context, "answer", buttons=rows, **entry_ctx(entry))
    else:
        await stale(update, context)
