"""/celah buttons: open a group of unanswered questions, then attach the whole group to an
entry as alternate questions (one of the closest entries, or one found by a typed id), mark it
out of scope, or start a draft entry.

Callback data (``cl:``, at most 41 bytes with the dialogue token): ``cl:l`` the list again,
``cl:o:<qid>`` open a group, ``cl:a:<qid>:<ref>`` attach to an entry (``ref``:
:func:`bot.knowledge.curation.entry_ref`, entry ids can be 40 bytes long), ``cl:f:<qid>`` type
an id, ``cl:s:<qid>`` out of scope, ``cl:d:<qid>`` start a draft. ``qid`` is the log id of the
group's first question. The buttons of one /celah carry its dialogue token (a newer /celah
makes them stale); the core re-reads the report on every press, so a group another curator
already handled is stale too.
"""

from __future__ import annotations

from telegram import Update

from bot.accounts.service import UserView
from bot.knowledge.curation import Attached, GapItem, entry_ref
from bot.knowledge.entry import Entry
from bot.labels import label
from bot.transport import Button
from handlers import tokens
from handlers.common import (
    Ctx,
    admin_only,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    is_private,
    reply,
    stale,
)

PENDING_FIND = "kb_gapfind"
GAPS_DAYS = 30
GAPS_SHOWN = 15
GAP_BUTTONS = GAPS_SHOWN  # numbered buttons under the report, five a row
QUESTIONS_SHOWN = 8
_LABEL_MAX = 60


def _id(arg: str) -> int | None:
    return int(arg) if arg.isascii() and arg.isdigit() and len(arg) <= 19 else None


def _title(entry: Entry) -> str:
    t = entry.title
    return t if len(t) <= _LABEL_MAX else t[: _LABEL_MAX - 1].rstrip() + "…"


def report_view(groups, candidates: int = 0) -> tuple[dict, list[list[Button]]]:
    """The /celah report's template values and its numbered buttons (``candidates``: how
    many candidate phrasings wait in /kandidat)."""
    numbers = [
        Button(str(i), callback_data=f"cl:o:{g.first_id}")
        for i, g in enumerate(groups[:GAP_BUTTONS], 1)
    ]
    rows = [numbers[i : i + 5] for i in range(0, len(numbers), 5)]
    ctx = {
        "groups": groups,
        "days": GAPS_DAYS,
        "limit": GAPS_SHOWN,
        "total": sum(g.count for g in groups),
        "has_buttons": bool(rows),
        "candidates": candidates,
    }
    return ctx, rows


async def tagged(
    update: Update, context: Ctx, rows: list[list[Button]], kind: str = tokens.GAPS, *, new=False
) -> list[list[Button]]:
    """``rows`` carrying the dialogue's token (``new``: a fresh dialogue, older buttons go
    stale). An admin who never pressed /start has no dialogues: the core's own checks (the
    report is read again on every press) are what keeps their buttons safe."""
    if await current_user(update, context) is None:
        return rows
    token = await tokens.token_for(update, context, kind, new=new)
    return tokens.tag_rows(rows, kind, token) or []


def _attach_rows(qid: int, entries: list[Entry]) -> list[list[Button]]:
    return [
        [Button(label("gap_attach") + _title(e), callback_data=f"cl:a:{qid}:{entry_ref(e.id)}")]
        for e in entries
    ]


def _item_rows(item: GapItem) -> list[list[Button]]:
    qid = item.group.first_id
    rows = _attach_rows(qid, item.suggestions)
    rows.append([Button(label("gap_find"), callback_data=f"cl:f:{qid}")])
    rows.append(
        [
            Button(label("gap_scope"), callback_data=f"cl:s:{qid}"),
            Button(label("gap_draft"), callback_data=f"cl:d:{qid}"),
        ]
    )
    rows.append([Button(label("gap_list"), callback_data="cl:l")])
    return rows


def _list_row() -> list[list[Button]]:
    return [[Button(label("gap_list"), callback_data="cl:l")]]


async def _zone(update: Update, context: Ctx):
    user = await current_user(update, context)
    return user.tz if user is not None else core(context).settings.tz


async def _show_list(update: Update, context: Ctx) -> None:
    qa = core(context).qa
    groups = await qa.gaps(days=GAPS_DAYS)
    ctx, rows = report_view(groups, await qa.curation.pending())
    await edit(update, context, "gaps", buttons=await tagged(update, context, rows), **ctx)


async def _show_item(update: Update, context: Ctx, qid: int) -> None:
    qa = core(context).qa
    groups = await qa.gaps(days=GAPS_DAYS)
    number = next((i for i, g in enumerate(groups, 1) if qid in g.ids), None)
    item = await qa.curation.item(qid)
    if item is None or number is None:
        await stale(update, context)
        return
    tz = await _zone(update, context)
    rows = await tagged(update, context, _item_rows(item))
    await answer(update)
    await edit(
        update,
        context,
        "gap_item",
        buttons=rows,
        number=number,
        group=item.group,
        suggestions=item.suggestions,
        shown=QUESTIONS_SHOWN,
        last_asked=item.group.last_asked.astimezone(tz).strftime("%d-%m-%Y %H:%M"),
    )


async def _done(update: Update, context: Ctx, *, as_reply: bool = False, **ctx) -> None:
    rows = await tagged(update, context, _list_row())
    if as_reply:
        await reply(update, context, "gap_done", buttons=rows, **ctx)
    else:
        await edit(update, context, "gap_done", buttons=rows, **ctx)


def _attached_ctx(res: Attached) -> dict:
    return {
        "status": res.status,
        "text": res.text,
        "entry": res.entry,
        "other": res.other,
        "added": list(res.added),
    }


async def _attach(
    update: Update, context: Ctx, qid: int, entry: Entry, *, as_reply: bool = False
) -> None:
    user = update.effective_user
    assert user is not None
    res = await core(context).qa.curation.attach(qid, entry.id, user.id)
    if res.status in ("stale", "unknown"):
        if as_reply:
            await reply(update, context, "stale_button")
        else:
            await stale(update, context)
        return
    await answer(update, "gap_done" if res.status in ("ok", "known") else None)
    await _done(update, context, as_reply=as_reply, **_attached_ctx(res))


async def _clear_find(context: Ctx, user: UserView | None) -> None:
    if user is not None and user.pending == PENDING_FIND:
        await core(context).users.set_pending(user.telegram_id, None)


@admin_only
async def on_gap_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "cl")
    qa = core(context).qa
    user = await current_user(update, context)
    tg = update.effective_user
    if not parts or tg is None:
        await stale(update, context)
        return
    action, args = parts[0], parts[1:]
    qid = _id(args[0]) if args else None
    if action != "f":
        await _clear_find(context, user)
    if action == "l" and not args:
        await answer(update)
        await _show_list(update, context)
    elif action == "o" and len(args) == 1 and qid is not None:
        await _show_item(update, context, qid)
    elif action == "a" and len(args) == 2 and qid is not None:
        item = await qa.curation.item(qid)
        entry = qa.curation.resolve(args[1], item.suggestions if item else ())
        if item is None or entry is None:
            await stale(update, context)
            return
        await _attach(update, context, qid, entry)
    elif action == "f" and len(args) == 1 and qid is not None:
        item = await qa.curation.item(qid)
        if item is None or user is None:
            await stale(update, context)
            return
        if not is_private(update):
            await answer(update, "gap_find_private", alert=True)
            return
        await core(context).users.set_pending(user.telegram_id, PENDING_FIND, {"q": qid})
        await answer(update)
        back = [[Button(label("back"), callback_data=f"cl:o:{qid}")]]
        await edit(
            update,
            context,
            "gap_find",
            buttons=await tagged(update, context, back),
            example=item.group.example,
            asked=None,
            found=[],
        )
    elif action == "s" and len(args) == 1 and qid is not None:
        group = await qa.curation.out_of_scope(qid, tg.id)
        if group is None:
            await stale(update, context)
            return
        await answer(update, "gap_done")
        await _done(update, context, status="scope", group=group)
    elif action == "d" and len(args) == 1 and qid is not None:
        draft = await qa.curation.draft(qid, tg.id)
        if draft is None:
            await stale(update, context)
            return
        await answer(update, "gap_done")
        await _done(update, context, status="draft", draft=draft)
    else:
        await stale(update, context)


async def on_find_text(update: Update, context: Ctx, user: UserView) -> None:
    """The id (or words) a curator typed after 🔎: the exact id attaches at once; otherwise
    the matching entries are offered as buttons (typing again searches again)."""
    c = core(context)
    msg = update.effective_message
    qid = (user.pending_data or {}).get("q")
    if not c.users.is_admin(user.telegram_id, user.role) or not isinstance(qid, int):
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "stale_button")
        return
    item = await c.qa.curation.item(qid)
    if item is None:
        await c.users.set_pending(user.telegram_id, None)
        await reply(update, context, "stale_button")
        return
    typed = (msg.text or "").strip() if msg is not None else ""
    if not typed:
        await reply(update, context, "gap_find", example=item.group.example, asked=None, found=[])
        return
    found = c.qa.curation.find(typed[:200])
    if len(found) == 1 and found[0].id == typed.lower():
        await c.users.set_pending(user.telegram_id, None)
        await _attach(update, context, qid, found[0], as_reply=True)
        return
    rows = _attach_rows(qid, found) + [[Button(label("back"), callback_data=f"cl:o:{qid}")]]
    await reply(
        update,
        context,
        "gap_find",
        buttons=await tagged(update, context, rows),
        example=item.group.example,
        asked=typed,
        found=found,
    )
