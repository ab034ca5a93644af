"""Knowledge questions in chat: answers, related entries, votes, helpdesk handoff, /materi,
and the admins' /celah and /muatulang."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.knowledge.models import PILLARS, Entry
from bot.labels import label
from bot.qa import COMMENT_MAX, QUESTION_MAX
from bot.templates import html
from bot.transport import Button
from bot.users import UserView
from handlers.common import (
    Ctx,
    admin_only,
    answer,
    callback_parts,
    core,
    current_user,
    edit,
    full_name,
    reply,
    send,
    stale,
)
from handlers.dialogue import register_pending, set_default_text_handler

log = logging.getLogger(__name__)

COMMENT_PENDING = "kb_comment"
COMMENT_TTL = timedelta(minutes=15)
GAPS_SHOWN = 15


def _entry_ctx(entry: Entry) -> dict:
    return {
        "pillar": entry.pillar_info.display,
        "title": entry.title,
        "body": html(entry.html),
        "related": bool(entry.related_ids),
    }


def _answer_buttons(
    context: Ctx, entry: Entry, log_id: int | None, user: UserView | None
) -> list[list[Button]]:
    """'See also' buttons for related entries, and 👍/👎 when this answers the user's question."""
    kb = core(context).qa.kb
    rows: list[list[Button]] = []
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
    kind = qa.small_talk(text)
    if kind is not None:
        await reply(update, context, f"small_{kind}", name=user.name if user else None)
        return
    with contextlib.suppress(TelegramError):  # the typing indicator is a courtesy
        await context.bot.send_chat_action(chat_id=chat.id, action=ChatAction.TYPING)
    asked = await qa.ask(user, text)
    log_id = asked.log_id if user is not None else None
    if asked.entry is not None:
        await reply(
            update,
            context,
            "answer",
            buttons=_answer_buttons(context, asked.entry, log_id, user),
            **_entry_ctx(asked.entry),
        )
        return
    hits = [h for h in asked.result.hits if qa.kb.get(h.id) is not None][:3]
    rows = [[Button(h.title, callback_data=f"kb:e:{h.id}:{log_id or 0}")] for h in hits]
    handoff = qa.handoff_enabled and user is not None
    if handoff:
        rows.append([Button(label("ask_diskominfo"), callback_data=f"kb:h:{log_id}")])
    if asked.result.answered and asked.result.ambiguous and hits:
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
            buttons=_answer_buttons(context, entry, log_id or None, user),
            **_entry_ctx(entry),
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
            await send(
                context,
                user.chat_id,
                "vote_comment_prompt",
                limit=COMMENT_MAX,
                buttons=[[Button(label("skip"), callback_data=f"kb:s:{args[0]}")]],
            )
    elif action == "s" and len(args) == 1:
        if user is None or user.pending != COMMENT_PENDING:
            await stale(update, context)
            return
        await core(context).users.set_pending(user.telegram_id, None)
        await answer(update, "cancelled")
        await edit(update, context, "vote_comment_saved")
    elif action == "h" and len(args) == 1 and _is_id(args[0]):
        await _handoff(update, context, user, int(args[0]))
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


# -- helpdesk handoff --------------------------------------------------------------------------
async def _handoff(update: Update, context: Ctx, user: UserView | None, log_id: int) -> None:
    qa = core(context).qa
    if user is None:
        await stale(update, context)
        return
    h = await qa.create_handoff(log_id, user)
    if h is None:
        await stale(update, context)
        return
    if h.new:
        try:
            msg = await send(
                context,
                h.helpdesk_chat_id,
                "handoff_helpdesk",
                name=user.name,
                opd=user.opd_name,
                username=user.username,
                question=h.question,
            )
        except TelegramError as exc:
            # The bot was removed from the helpdesk chat, or Telegram refused: say so honestly
            # instead of pretending the question went through.
            log.error("could not forward handoff %s to the helpdesk chat: %s", h.id, exc)
            await qa.cancel_handoff(h.id)
            await answer(update)
            await edit(update, context, "handoff_failed")
            return
        await qa.set_handoff_message(h.id, msg.message_id)
    await answer(update, "handoff_done")
    await edit(update, context, "handoff_sent")


async def on_helpdesk_reply(update: Update, context: Ctx) -> None:
    msg = update.effective_message
    if msg is None or msg.reply_to_message is None or update.effective_chat is None:
        return
    qa = core(context).qa
    h = await qa.handoff_for_reply(update.effective_chat.id, msg.reply_to_message.message_id)
    if h is None:
        return  # a reply to something else in the helpdesk chat
    text = msg.text or msg.caption or ""
    if h.asker_chat_id is None:
        await reply(
            update, context, "handoff_undeliverable", reason="penanya sudah menghapus datanya."
        )
        return
    if not text.strip():
        await reply(update, context, "handoff_undeliverable", reason="balasan harus berupa teks.")
        return
    try:
        await send(context, h.asker_chat_id, "handoff_answer", question=h.question, answer=text)
    except Forbidden:
        await core(context).users.mark_blocked(h.asker_chat_id)
        await reply(update, context, "handoff_undeliverable", reason="penanya memblokir bot.")
        return
    except TelegramError as exc:
        log.warning("handoff %s: could not deliver the answer: %s", h.id, exc)
        await reply(update, context, "handoff_undeliverable", reason="Telegram menolak pengiriman.")
        return
    await qa.record_handoff_answer(h.id, full_name(update) or "Diskominfo", text)
    await reply(update, context, "handoff_delivered")


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
        rows = _answer_buttons(context, entry, None, user)
        rows.append([Button(label("back"), callback_data=f"mt:p:{entry.pillar}")])
        await answer(update)
        await edit(update, context, "answer", buttons=rows, **_entry_ctx(entry))
    else:
        await stale(update, context)


# -- admins ------------------------------------------------------------------------------------
@admin_only
async def cmd_celah(update: Update, context: Ctx) -> None:
    qa = core(context).qa
    groups = await qa.gaps()
    await reply(
        update,
        context,
        "gaps",
        groups=groups,
        days=30,
        limit=GAPS_SHOWN,
        total=sum(g.count for g in groups),
    )
    if groups:
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        await context.bot.send_document(
            chat_id=update.effective_chat.id,  # type: ignore[union-attr]
            document=InputFile(qa.gaps_csv(groups), filename=f"celah-{stamp}.csv"),
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


def register(app: Application) -> None:
    helpdesk = app.bot_data["core"].settings.helpdesk_chat_id
    if helpdesk is not None:
        app.add_handler(
            # Only plain replies: commands and mentions in the helpdesk chat work as anywhere.
            MessageHandler(
                filters.Chat(chat_id=helpdesk) & filters.REPLY & ~filters.COMMAND,
                on_helpdesk_reply,
            )
        )
    app.add_handler(CommandHandler("tanya", cmd_tanya))
    app.add_handler(CommandHandler("materi", cmd_materi))
    app.add_handler(CommandHandler("celah", cmd_celah))
    app.add_handler(CommandHandler("muatulang", cmd_muatulang))
    app.add_handler(CallbackQueryHandler(on_kb_button, pattern=r"^kb:"))
    app.add_handler(CallbackQueryHandler(on_materi_button, pattern=r"^mt:"))
    app.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & filters.Entity("mention"),
            on_group_mention,
        )
    )
    register_pending(COMMENT_PENDING, on_vote_comment)
    set_default_text_handler(on_private_text)
