"""Admins' curation: /celah (knowledge gaps; its buttons: ``gapcards``), /kandidat (candidate
phrasings: ``candidates``) and /muatulang (reload the content)."""

from __future__ import annotations

from datetime import datetime

from telegram import InputFile, Update

from handlers import tokens
from handlers.common import (
    Ctx,
    admin_only,
    core,
    current_user,
    reply,
)
from handlers.knowledge.gapcards import GAPS_DAYS, report_view, tagged


# -- admins ------------------------------------------------------------------------------------
@admin_only
async def cmd_celah(update: Update, context: Ctx) -> None:
    """The report, with a numbered button per group (see ``handlers.knowledge.gapcards``)."""
    qa = core(context).qa
    groups = await qa.gaps(days=GAPS_DAYS)
    ctx, rows = report_view(groups, await qa.curation.pending())
    if rows:  # a new report: the buttons of an older one are stale
        rows = await tagged(update, context, rows, new=True)
    else:
        await tokens.close(update, context, tokens.GAPS)
    await reply(update, context, "gaps", buttons=rows, **ctx)
    if groups:
        user = await current_user(update, context)
        tz = user.tz if user is not None else core(context).settings.tz
        stamp = datetime.now(tz).strftime("%Y%m%d")
        await context.bot.send_document(
            chat_id=update.effective_chat.id,  # type: ignore[union-attr]
            document=InputFile(qa.gaps_csv(groups, tz), filename=f"celah-{stamp}.csv"),
        )


@admin_only
async def cmd_muatulang(update: Update, context: Ctx) -> None:
    result = await core(context).qa.reload()
    if result.ok:
        await reply(update, context, "reload_ok", entries=result.entries)
    else:
        await reply(
            update, context, "reload_failed", entries=result.entries, problems=result.problems
        )
