"""Knowledge questions in chat: answers, related entries, votes and their comments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.accounts.service import UserView
from bot.knowledge.entry import Entry
from bot.knowledge.gaps import has_words
from bot.knowledge.service import COMMENT_MAX, QUESTION_MAX
from bot.labels import label
from bot.templates import html
from bot.transport import Button
from handlers.common import (
    Ctx,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    reply,
    send,
    stale,
)
from handlers.knowledge.handoff import hand_off
from handlers.tickets.darurat import HACKED_ENTRY, darurat_button

log = logging.getLogger(__name__)

COMMENT_PENDING = "kb_comment"
COMMENT_TTL = timedelta(minutes=15)


def entry_ctx(entry: Entry) -> dict:
    return {
        "pillar": entry.pillar_info.display,
        "title": entry.title,
        "body": html(entry.html),
        "related": bool(entry.related_ids),
    }


def answer_buttons(
    context: Ctx, entry: Entry, log_id: int | None, user: UserView | None
) -> list[list[Button]]:
    """'See also' buttons for related entries, and 👍/👎 when this answers the user's question."""
    kb = core(context).qa.kb
    rows: list[list[Button]] = []
    if entry.id == HACKED_ENTRY and core(context).tickets.checklists:
        rows.append([darurat_button()])
    for rid in entry.related_ids[:3]:
        rel = kb.get(rid)
        if rel is not None:
            rows.append([Button(label("see_also") + rel.title, callback_data=f"kb:e:{rid}:0")])
    if log_id and user is not None:
        rows.append(
            [
                Button(label("vote_up"), callback_data=f"kb:v:{log_id}:u"),
                Button(label("vote_down"), callback_data=f"kb:v:{log_id}:d"),
            ]
        )
    return rows


TYPING_AFTER = 1.0  # seconds without an answer before the typing indicator is shown


async def _typing_later(context: Ctx, chat_id: int) -> None:
    await asyncio.sleep(TYPING_AFTER)
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)


async def answer_question(update: Update, context: Ctx, user: UserView | None, text: str) -> None:
    qa = core(context).qa
    chat = update.effective_chat
    assert chat is not None
    text = text.strip()
    if not text:
        await reply(update, context, "tanya_usage")
        return
    if len(text) > QUESTION_MAX:
        await reply(update, context, "too_long", length=len(text), limit=QUESTION_MAX)
        return
    if not has_words(text):  # "????", an emoji: not a question, nothing to log or hand over
        await reply(update, context, "no_words")
        return
    kind = qa.small_talk(text)
    if kind is not None:
        await reply(update, context, f"small_{kind}", name=user.name if user else None)
        return
    # The typing indicator is a courtesy, sent only when the answer does not follow at once
    # (it would otherwise spend a request of the token's budget for nothing).
    typing = asyncio.get_running_loop().create_task(_typing_later(context, chat.id))
    try:
        asked = await qa.ask(user, text)
    finally:
        typing.cancel()
    log_id = asked.log_id if user is not None else None
    if asked.entry is not None:
        await reply(
            update,
            context,
            "answer",
            buttons=answer_buttons(context, asked.entry, log_id, user),
            **entry_ctx(asked.entry),
        )
        return
    result = asked.result
    ambiguous = result.answered and result.ambiguous
    # "which one did you mean": the entries the decision would answer with; on a refusal only
    # the topics close enough to help (none for a question far from every entry)
    hits = [h for h in result.close if qa.kb.get(h.id) is not None][:3]
    rows = [[Button(h.title, callback_data=f"kb:e:{h.id}:{log_id or 0}")] for h in hits]
    handoff = qa.handoff_enabled and user is not None
    if handoff:
        rows.append([Button(label("ask_diskominfo"), callback_data=f"kb:h:{log_id}")])
    if ambiguous and hits:
        await reply(update, context, "answer_ambiguous", buttons=rows)
    else:
        await reply(
            update, context, "answer_none", buttons=rows, suggestions=bool(hits), handoff=handoff
        )


async def on_private_text(update: Update, context: Ctx, user: UserView | None) -> None:
    msg = update.effective_message
    assert msg is not None and msg.text is not None
    await answer_question(update, context, user, msg.text)


async def cmd_tanya(update: Update, context: Ctx) -> None:
    user = await current_user(update, context)
    await answer_question(update, context, user, " ".join(context.args or []))


async def on_group_mention(update: Update, context: Ctx) -> None:
    msg = update.effective_message
    me = f"@{core(context).bot_username or context.bot.username}".lower()
    if msg is None or msg.text is None:
        return
    # A mention entity of exactly this bot (not "@opdbot_lain" nor an e-mail address).
    ours = [e for e, t in msg.parse_entities(["mention"]).items() if t.lower() == me]
    if not ours:
        return
    text = msg.text
    e = ours[0]
    # Entity offsets count UTF-16 code units; emojis before the mention take two.
    raw = text.encode("utf-16-le")
    start, end = e.offset * 2, (e.offset + e.length) * 2
    text = (raw[:start] + raw[end:]).decode("utf-16-le").strip(" ,:")
    user = await current_user(update, context)
    await answer_question(update, context, user, text)


# -- buttons under answers ---------------------------------------------------------------------
def _is_id(arg: str) -> bool:
    """A database id in callback data: digits that fit a 64-bit integer (tampered data may not)."""
    return arg.isascii() and arg.isdigit() and len(arg) <= 18


async def on_kb_button(update: Update, context: Ctx) -> None:
    parts = callback_parts(update, "kb")
    qa = core(context).qa
    user = await current_user(update, context)
    if not parts:
        await stale(update, context)
        return
    action, args = parts[0], parts[1:]
    if action == "e" and len(args) == 2 and _is_id(args[1]):
        entry_id, log_id = args[0], int(args[1])
        entry = qa.kb.get(entry_id)
        if entry is None:
            await stale(update, context)
            return
        if log_id:
            await qa.chose(log_id, user, entry_id)
        await answer(update)
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        await send(
            context,
            chat_id,
            "answer",
            buttons=answer_buttons(context, entry, log_id or None, user),
            **entry_ctx(entry),
        )
    elif action == "v" and len(args) == 2 and _is_id(args[0]) and args[1] in ("u", "d"):
        if user is None or not await qa.vote(int(args[0]), user, 1 if args[1] == "u" else -1):
            await stale(update, context)
            return
        await answer(update, "vote_thanks")
        await _drop_vote_buttons(update, context)
        if args[1] == "d":
            await core(context).users.set_pending(
                user.telegram_id,
                COMMENT_PENDING,
                {"log": int(args[0]), "at": datetime.now(UTC).isoformat()},
            )
            rows = [[Button(label("skip"), callback_data=f"kb:s:{args[0]}")]]
            if qa.handoff_enabled:  # the answer did not help: a person at Diskominfo may
                rows.insert(0, [Button(label("ask_diskominfo"), callback_data=f"kb:h:{args[0]}")])
            await send(
                context,
                user.chat_id,
                "vote_comment_prompt",
                limit=COMMENT_MAX,
                handoff=qa.handoff_enabled,
                buttons=rows,
            )
    elif action == "s" and len(args) == 1:
        if user is None or user.pending != COMMENT_PENDING:
            await stale(update, context)
            return
        await core(context).users.set_pending(user.telegram_id, None)
        await answer(update, "cancelled")
        await edit(update, context, "vote_comment_saved")
    elif action == "h" and len(args) == 1 and _is_id(args[0]):
        if user is not None and user.pending == COMMENT_PENDING:
            await core(context).users.set_pending(user.telegram_id, None)  # no comment now
        await hand_off(update, context, user, int(args[0]))
    else:
        await stale(update, context)


async def _drop_vote_buttons(update: Update, context: Ctx) -> None:
    """Keep the 'see also' buttons, remove the vote row (one vote per answer)."""
    q = update.callback_query
    if q is None or q.message is None or q.message.reply_markup is None:
        return
    rows = [
        row
        for row in q.message.reply_markup.inline_keyboard
        if not any((b.callback_data or "").startswith("kb:v:") for b in row)
    ]
    try:
        await context.bot.edit_message_reply_markup(
            chat_id=q.message.chat.id,
            message_id=q.message.message_id,
            reply_markup=InlineKeyboardMarkup(rows) if rows else None,
        )
    except TelegramError as exc:
        log.debug("could not remove vote buttons: %s", exc)


async def on_vote_comment(update: Update, context: Ctx, user: UserView) -> None:
    users = core(context).users
    data = user.pending_data or {}
    msg = update.effective_message
    try:
        at = datetime.fromisoformat(str(data.get("at")))
    except ValueError:
        at = datetime.min.replace(tzinfo=UTC)
    if datetime.now(UTC) - at > COMMENT_TTL:
        # Too late to be a comment on that answer: it is a new question.
        await users.set_pending(user.telegram_id, None)
        if msg is not None and msg.text is not None:
            await answer_question(update, context, user, msg.text)
        else:
            await reply(update, context, "not_text")
        return
    if msg is None or msg.text is None:
        await reply(update, context, "vote_comment_prompt", limit=COMMENT_MAX)
        return
    if len(msg.text) > COMMENT_MAX:
        await reply(update, context, "too_long", length=len(msg.text), limit=COMMENT_MAX)
        return
    await core(context).qa.vote_comment(int(data.get("log", 0)), user, msg.text)
    await users.set_pending(user.telegram_id, None)
    await reply(update, context, "vote_comment_saved")
