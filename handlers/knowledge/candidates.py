"""/kandidat: candidate phrasings (a user's pick among suggested entries, a 👍 after an
answer), one at a time, for a curator to accept or reject with one tap.

Callback data (``kd:``, with the dialogue token): ``kd:y:<id>:<pos>`` accept,
``kd:n:<id>:<pos>`` reject, ``kd:k:<pos>`` show the candidate at position ``pos`` (0-based,
most 👍 first). After a decision the message shows the next candidate in the same place.
"""

from __future__ import annotations

from telegram import Update

from bot.knowledge.curation import Candidate
from bot.labels import label
from bot.transport import Button
from handlers import tokens
from handlers.common import Ctx, admin_only, answer, callback_parts, core, edit, reply, stale
from handlers.knowledge.gapcards import tagged


def _num(arg: str) -> int | None:
    return int(arg) if arg.isascii() and arg.isdigit() and len(arg) <= 19 else None


def _rows(cand: Candidate | None) -> list[list[Button]] | None:
    if cand is None:
        return None
    pid, pos = cand.phrasing.id, cand.position - 1
    rows = [
        [
            Button(label("cand_accept"), callback_data=f"kd:y:{pid}:{pos}"),
            Button(label("cand_reject"), callback_data=f"kd:n:{pid}:{pos}"),
        ]
    ]
    if cand.total > 1:
        nxt = cand.position if cand.position < cand.total else 0
        rows.append([Button(label("cand_skip"), callback_data=f"kd:k:{nxt}")])
    return rows


async def _view(update: Update, context: Ctx, pos: int, *, new: bool = False, **notice) -> None:
    cand = await core(context).qa.curation.next_candidate(pos)
    rows = _rows(cand)
    if rows:
        rows = await tagged(update, context, rows, tokens.CANDIDATES, new=new)
    elif new:  # nothing to decide: an older /kandidat's buttons are stale all the same
        await tokens.close(update, context, tokens.CANDIDATES)
    ctx = {"cand": cand, "notice": None, "decided": "", "other": None, **notice}
    if new:
        await reply(update, context, "kb_candidate", buttons=rows, **ctx)
    else:
        await edit(update, context, "kb_candidate", buttons=rows, **ctx)


@admin_only
async def cmd_kandidat(update: Update, context: Ctx) -> None:
    await _view(update, context, 0, new=True)


@admin_only
async def on_candidate_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "kd")
    tg = update.effective_user
    if not parts or tg is None:
        await stale(update, context)
        return
    action, args = parts[0], [_num(a) for a in parts[1:]]
    if None in args:
        await stale(update, context)
        return
    if action == "k" and len(args) == 1:
        await answer(update)
        await _view(update, context, args[0])
    elif action in ("y", "n") and len(args) == 2:
        pid, pos = args
        accept = action == "y"
        res = await core(context).qa.curation.decide(pid, accept, tg.id)
        if res.status == "stale":
            await stale(update, context)
            await _view(update, context, pos)
            return
        if res.status == "ok":
            await answer(update, "cand_accepted" if accept else "cand_rejected")
            notice = "accepted" if accept else "rejected"
        else:  # taken / unknown: nothing changed, the same candidate again
            await answer(update)
            notice = res.status
        await _view(update, context, pos, notice=notice, decided=res.text, other=res.other)
    else:
        await stale(update, context)
