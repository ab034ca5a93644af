"""/sesi baru: creating a feedback session step by step (title, dates, place, organizer,
topics, questionnaire, anonymity, closing time)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update

from bot.accounts.service import UserView
from bot.dates import parse_date_range
from bot.feedback.errors import SessionInputError
from bot.feedback.templates import (
    MAX_TOPICS,
    TOPIC_MAX,
    SurveyTemplate,
    TemplateError,
    clean_topics,
    expand,
    split_topics,
)
from bot.templates import render, render_plain
from bot.transport import Button
from handlers import tokens
from handlers.common import (
    Ctx,
    core,
    keyboard,
    send,
)
from handlers.feedback.cards import O, send_qr, session_card
from handlers.feedback.shared import (
    TZ_LABELS,
    alert,
    btn,
    error_ctx,
    safe_edit,
    svc,
)
from handlers.when import read_when

PENDING_WIZARD = "fb_new"
WIZARD_STEPS = ["title", "dates", "place", "organizer", "topics", "template", "anonymous", "closes"]
OPTIONAL_STEPS = {"dates", "place", "organizer"}

# -- creating a session step by step ----------------------------------------------------------


def _question_count(tpl: SurveyTemplate, topics: list[str] | None) -> int:
    """How many questions a session gets (per-topic questions repeat for every topic)."""
    try:
        return len(expand(tpl, topics or tpl.default_topics)["questions"])
    except (TemplateError, ValueError):
        return len(tpl.questions)


def _wizard_buttons(context: Ctx, step: str, draft: dict | None = None) -> list[list[Button]]:
    rows: list[list[Button]] = []
    s = svc(context)
    if step == "topics":
        default = s.template().default_topics
        rows.append([Button(btn("default_topics", n=len(default)), f"{O}:w:topics:default")])
    elif step == "template":
        for tid, tpl in sorted(s.templates().items(), key=lambda kv: kv[0] != "default"):
            n = _question_count(tpl, (draft or {}).get("topics"))
            rows.append([Button(btn("template", title=tpl.title, n=n), f"{O}:w:template:{tid}")])
    elif step == "anonymous":
        rows.append(
            [
                Button(btn("no_anonymous"), f"{O}:w:anonymous:0"),
                Button(btn("yes_anonymous"), f"{O}:w:anonymous:1"),
            ]
        )
    elif step == "closes":
        rows.append([Button(btn("manual_close"), f"{O}:w:closes:none")])
    if step in OPTIONAL_STEPS:
        rows.append([Button(btn("wizard_skip"), f"{O}:w:{step}:skip")])
    rows.append([Button(btn("cancel"), f"{O}:w:cancel:-")])
    return rows


def _wizard_text(context: Ctx, step: str, user: UserView, error: str | None = None) -> str:
    s = svc(context)
    return render(
        "feedback_wizard",
        step=step,
        error=error,
        max_topics=MAX_TOPICS,
        default_topics=s.template().default_topics if step == "topics" else [],
        templates=list(s.templates().values()) if step == "template" else [],
        tz_label=TZ_LABELS.get(user.timezone, user.timezone),
    )


async def _wizard_prompt(
    update: Update,
    context: Ctx,
    user: UserView,
    step: str,
    error: str | None = None,
    *,
    as_edit: bool = False,
    draft: dict | None = None,
) -> None:
    if draft is None:
        draft = (user.pending_data or {}).get("draft") if user.pending == PENDING_WIZARD else None
    text = _wizard_text(context, step, user, error)
    token = await tokens.token_for(update, context, tokens.WIZARD)
    rows = tokens.tag_rows(_wizard_buttons(context, step, draft), tokens.WIZARD, token)
    if as_edit and update.callback_query is not None:
        await safe_edit(update, context, text, rows)
    else:
        await context.bot.send_message(chat_id=user.chat_id, text=text, reply_markup=keyboard(rows))


async def wizard_start(update: Update, context: Ctx, user: UserView) -> None:
    await core(context).users.set_pending(
        user.telegram_id, PENDING_WIZARD, {"step": "title", "draft": {}}
    )
    await tokens.token_for(update, context, tokens.WIZARD, new=True)  # older wizards: stale
    await _wizard_prompt(update, context, user, "title")


def _next_step(step: str) -> str | None:
    i = WIZARD_STEPS.index(step)
    return WIZARD_STEPS[i + 1] if i + 1 < len(WIZARD_STEPS) else None


async def _wizard_advance(
    update: Update, context: Ctx, user: UserView, draft: dict, step: str, *, as_edit: bool
) -> None:
    nxt = _next_step(step)
    users = core(context).users
    if nxt is not None:
        await users.set_pending(user.telegram_id, PENDING_WIZARD, {"step": nxt, "draft": draft})
        await _wizard_prompt(update, context, user, nxt, as_edit=as_edit, draft=draft)
        return
    await users.set_pending(user.telegram_id, None)
    await tokens.close(update, context, tokens.WIZARD)
    try:
        sv = await svc(context).create_session(
            draft["title"],
            starts_on=_date_or_none(draft.get("starts_on")),
            ends_on=_date_or_none(draft.get("ends_on")),
            place=draft.get("place"),
            organizer_name=draft.get("organizer"),
            topics=draft.get("topics"),
            template_id=draft.get("template") or "default",
            anonymous=bool(draft.get("anonymous")),
            closes_at=datetime.fromisoformat(draft["closes"]) if draft.get("closes") else None,
            created_by_telegram_id=user.telegram_id,
        )
    except SessionInputError as exc:
        await send(
            context, user.chat_id, "feedback_error", **error_ctx("input", message=exc.message)
        )
        return
    text, rows = await session_card(context, sv.code, user.tz)
    card_token = await tokens.token_for(update, context, tokens.CARD, new=True)
    rows = tokens.tag_rows(rows, tokens.CARD, card_token)
    if as_edit and update.callback_query is not None:
        await safe_edit(update, context, text, rows)
    else:
        await context.bot.send_message(chat_id=user.chat_id, text=text, reply_markup=keyboard(rows))
    await send_qr(context, user.chat_id, sv)


def _date_or_none(value: str | None):
    from datetime import date

    return date.fromisoformat(value) if value else None


async def wizard_button(update: Update, context: Ctx, user: UserView, arg: str) -> None:
    q = update.callback_query
    assert q is not None
    step_arg, _, value = arg.partition(":")
    data = (user.pending_data or {}) if user.pending == PENDING_WIZARD else {}
    if step_arg == "cancel":
        if user.pending == PENDING_WIZARD:
            await core(context).users.set_pending(user.telegram_id, None)
        await tokens.close(update, context, tokens.WIZARD)
        await q.answer()
        await safe_edit(update, context, render("feedback_notice", what="wizard_cancelled"))
        return
    step = data.get("step")
    if step is None or step != step_arg:
        await alert(update, "expired")
        return
    draft = dict(data.get("draft") or {})
    if value == "skip" and step in OPTIONAL_STEPS:
        pass
    elif step == "topics" and value == "default":
        draft["topics"] = None
    elif step == "template" and value in svc(context).templates():
        draft["template"] = value
    elif step == "anonymous" and value in ("0", "1"):
        draft["anonymous"] = value == "1"
    elif step == "closes" and value == "none":
        draft["closes"] = None
    else:
        await alert(update, "expired")
        return
    await q.answer()
    await _wizard_advance(update, context, user, draft, step, as_edit=True)


async def on_wizard_text(update: Update, context: Ctx, user: UserView) -> None:
    msg = update.effective_message
    data = user.pending_data or {}
    step = data.get("step")
    draft = dict(data.get("draft") or {})
    if step not in WIZARD_STEPS:
        await core(context).users.set_pending(user.telegram_id, None)
        return
    if msg is None or msg.text is None:  # a sticker, photo...: re-ask, saying why
        error = render_plain("feedback_wizard_error", what="not_text")
        await _wizard_prompt(update, context, user, step, error)
        return
    text = msg.text.strip()
    error = None
    if text == "-" and step in OPTIONAL_STEPS:
        pass
    elif step == "title":
        title = " ".join(text.split())
        if not 3 <= len(title) <= 200:
            error = render_plain("feedback_wizard_error", what="title", length=len(title))
        else:
            draft["title"] = title
    elif step == "dates":
        parsed = parse_date_range(text)
        if parsed is None:
            error = render_plain("feedback_wizard_error", what="dates")
        else:
            draft["starts_on"] = parsed[0].isoformat()
            draft["ends_on"] = parsed[1].isoformat() if parsed[1] else None
    elif step in ("place", "organizer"):
        value = " ".join(text.split())
        if len(value) > 200:
            error = render_plain(
                "feedback_wizard_error", what="too_long", length=len(value), limit=200
            )
        else:
            draft[step] = value
    elif step == "topics":
        try:
            topics = clean_topics(split_topics(text))
        except ValueError:
            topics = None
        if not topics:
            error = render_plain(
                "feedback_wizard_error", what="topics", max=MAX_TOPICS, limit=TOPIC_MAX
            )
        else:
            draft["topics"] = topics
    elif step == "closes":

        async def invalid(w) -> None:
            error = render_plain("feedback_wizard_error", what="closes")
            await _wizard_prompt(update, context, user, step, error)

        when = await read_when(
            update,
            context,
            user,
            text,
            mode="once",
            now=datetime.now(UTC),
            pending=PENDING_WIZARD,
            data=data,
            invalid=invalid,
        )
        if when is None:
            return
        draft["closes"] = when.moment.isoformat()
    else:  # template / anonymous are chosen with buttons
        error = render_plain("feedback_wizard_error", what="buttons")
    if error:
        await _wizard_prompt(update, context, user, step, error)
        return
    await _wizard_advance(update, context, user, draft, step, as_edit=False)
