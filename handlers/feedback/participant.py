"""Post-training feedback in chat: participants answering a survey.

``/start fb_<code>`` (deep link or QR) or ``/umpanbalik KODE`` -> one question at a time with
inline buttons, typed answers for free text, review, submit. Callback data
``fb:<action>:<code>:<index>[:<arg>]`` where index is the question the button belongs to (stale
buttons change nothing). Also the daily retention purge of responses.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from telegram import Update

from bot.accounts.service import UserView
from bot.feedback.codes import DEEPLINK_PREFIX, normalize_code
from bot.feedback.errors import (
    FeedbackError,
    InvalidAnswer,
    NoResponse,
    SessionClosed,
    SessionNotFound,
    SessionNotOpen,
    StaleStep,
)
from bot.feedback.types import Step
from bot.templates import html, render
from bot.transport import Button
from handlers.common import Ctx, callback_data, core, is_private, keyboard, register_user, reply
from handlers.feedback.shared import (
    alert,
    btn,
    chat_tz,
    error_ctx,
    exc_error_ctx,
    format_when,
    safe_edit,
    session_link,
    svc,
)

log = logging.getLogger(__name__)

P = "fb"  # participant buttons
PENDING_ANSWER = "fb_answer"
REVIEW_ROW = 7
REVIEW_MAX = 3900


def step_view(step: Step, *, error: dict | None = None, tz: ZoneInfo) -> tuple[str, list]:
    """The HTML text and the keyboard of a step."""
    code, i = step.session.code, step.index
    error_html = html(render("feedback_error_line", error=error)) if error else None
    if step.kind == "done":
        text = render("feedback_done", step=step, closes_at=format_when(step.session.closes_at, tz))
        return text, []
    if step.kind == "review":
        text = render("feedback_review", step=step, error_html=error_html, cut=120, short_cut=60)
        if len(text) > REVIEW_MAX:  # long questionnaires: shorter lines, still one message
            text = render("feedback_review", step=step, error_html=error_html, cut=25, short_cut=25)
        rows: list[list[Button]] = [
            [Button(btn("save" if step.submitted else "submit"), f"{P}:x:{code}:{i}")]
        ]
        numbers = [Button(str(n), f"{P}:g:{code}:{i}:{n - 1}") for n in range(1, step.total + 1)]
        rows += [numbers[k : k + REVIEW_ROW] for k in range(0, len(numbers), REVIEW_ROW)]
        rows.append(
            [Button(btn("back"), f"{P}:b:{code}:{i}"), Button(btn("pause"), f"{P}:p:{code}:{i}")]
        )
        return text, rows
    q = step.question
    assert q is not None
    intro = step.session.questionnaire.get("intro")
    text = render("feedback_question", step=step, error_html=error_html, intro=intro)
    current = step.answer.value if step.answer else None
    rows = []
    if q["type"] == "rating":
        for s in q["scale"]:
            label = btn("scale", value=s["value"], label=s["label"], chosen=current == s["value"])
            rows.append([Button(label, f"{P}:a:{code}:{i}:{s['value']}")])
    elif q["type"] == "nps":
        cells = [
            Button(btn("nps", value=v, chosen=current == v), f"{P}:a:{code}:{i}:{v}")
            for v in range(11)
        ]
        rows += [cells[:6], cells[6:]]
    elif q["type"] == "single":
        for j, c in enumerate(q["choices"]):
            label = btn("choice", label=c["label"], chosen=current == c["id"])
            rows.append([Button(label, f"{P}:a:{code}:{i}:{j}")])
    elif q["type"] == "multi":
        for j, c in enumerate(q["choices"]):
            label = btn("multi", label=c["label"], chosen=c["id"] in step.selected)
            rows.append([Button(label, f"{P}:t:{code}:{i}:{j}")])
        rows.append([Button(btn("multi_done"), f"{P}:n:{code}:{i}")])
    nav = []
    if i > 0:
        nav.append(Button(btn("back"), f"{P}:b:{code}:{i}"))
    if not q["required"]:
        nav.append(Button(btn("skip"), f"{P}:s:{code}:{i}"))
    if step.answer is not None and q["type"] != "multi":
        nav.append(Button(btn("keep"), f"{P}:n:{code}:{i}"))
    if nav:
        rows.append(nav)
    rows.append([Button(btn("pause"), f"{P}:p:{code}:{i}")])
    return text, rows


async def _send_step(
    update: Update, context: Ctx, step: Step, *, error: dict | None = None
) -> None:
    chat = update.effective_chat
    assert chat is not None
    text, rows = step_view(step, error=error, tz=core(context).settings.tz)
    await context.bot.send_message(chat_id=chat.id, text=text, reply_markup=keyboard(rows))


async def _remember(context: Ctx, telegram_id: int, step: Step, user: UserView | None) -> None:
    """Keep (or end) the pending dialogue so typed text reaches the survey."""
    users = core(context).users
    want = None if step.kind == "done" else PENDING_ANSWER
    data = None if want is None else {"code": step.session.code}
    if user is not None and user.pending == want and (user.pending_data or None) == data:
        return
    if user is None and want is None:
        return
    await users.set_pending(telegram_id, want, data)


async def _forget_pending(context: Ctx, telegram_id: int, code: str) -> None:
    """End the survey dialogue, but only if it is about session ``code``: a button of another
    (old, closed or tampered) session must not detach typed answers from the current survey."""
    users = core(context).users
    user = await users.get(telegram_id)
    if user is None or user.pending != PENDING_ANSWER:
        return
    if normalize_code((user.pending_data or {}).get("code")) == normalize_code(code):
        await users.set_pending(telegram_id, None)


async def start_deeplink(update: Update, context: Ctx, code: str) -> None:
    """``/start fb_<code>``: begin, resume, or review (edit) the participant's response."""
    tg_user = update.effective_user
    if tg_user is None:
        return
    code = code[len(DEEPLINK_PREFIX) :] if code.lower().startswith(DEEPLINK_PREFIX) else code
    user = await core(context).users.get(tg_user.id)
    tz = chat_tz(context, user)
    if normalize_code(code) is None:
        await reply(update, context, "feedback_error", **error_ctx("not_found", code=code[:20]))
        return
    try:
        step = await svc(context).start(code, tg_user.id)
    except FeedbackError as exc:
        await reply(update, context, "feedback_error", **exc_error_ctx(exc, tz))
        return
    await _remember(context, tg_user.id, step, user)
    await _send_step(update, context, step)


async def start_payload(update: Update, context: Ctx, user: UserView, payload: str) -> None:
    await start_deeplink(update, context, payload)


async def cmd_umpanbalik(update: Update, context: Ctx) -> None:
    """``/umpanbalik KODE``: the code shown under the QR, typed (Telegram Desktop in the
    training room cannot scan a QR code)."""
    args = list(context.args or [])
    if not is_private(update):
        await reply(update, context, "feedback_notice", what="private_only")
        return
    if len(args) != 1:
        await reply(update, context, "feedback_notice", what="umpanbalik_usage")
        return
    _, created = await register_user(update, context)
    if created:
        await reply(update, context, "privacy")
    await start_deeplink(update, context, args[0])


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 3:
        return None
    return int(value)


async def on_participant_button(update: Update, context: Ctx) -> None:
    q = update.callback_query
    tg_user = update.effective_user
    data = callback_data(update)
    if q is None or tg_user is None or not data:
        return
    parts = data.split(":")
    if len(parts) < 4 or parts[0] != P:
        await alert(update, "expired")
        return
    action, code, index = parts[1], parts[2], _int(parts[3])
    arg = _int(parts[4]) if len(parts) > 4 else None
    needs_arg = action in ("a", "t", "g")
    if index is None or (needs_arg and arg is None) or normalize_code(code) is None:
        await alert(update, "expired")
        return
    s = svc(context)
    tid = tg_user.id
    users = core(context).users
    if action == "p":
        await _forget_pending(context, tid, code)
        await q.answer()
        text = render("feedback_paused", code=code, link=session_link(context, code))
        await safe_edit(update, context, text)
        return
    try:
        if action == "a":
            step = await s.answer(code, tid, index, arg)
        elif action == "t":
            step = await s.toggle(code, tid, index, arg)
        elif action == "n":
            step = await s.next(code, tid, index)
        elif action == "s":
            step = await s.skip(code, tid, index)
        elif action == "b":
            step = await s.back(code, tid, index)
        elif action == "g":
            step = await s.goto(code, tid, index, arg)
        elif action == "x":
            step = await s.submit(code, tid)
        else:
            await alert(update, "expired")
            return
    except InvalidAnswer as exc:
        await alert(update, exc.reason, **exc.params)
        return
    except StaleStep:
        try:
            step = await s.current(code, tid)
        except FeedbackError as exc:
            await q.answer()
            await safe_edit(
                update, context, render("feedback_error", **exc_error_ctx(exc, chat_tz(context)))
            )
            return
        await alert(update, "stale", show=False)
        text, rows = step_view(step, tz=chat_tz(context))
        await safe_edit(update, context, text, rows)
        return
    except FeedbackError as exc:
        await q.answer()
        if isinstance(exc, (SessionClosed, SessionNotFound, SessionNotOpen, NoResponse)):
            await _forget_pending(context, tid, code)
        await safe_edit(
            update, context, render("feedback_error", **exc_error_ctx(exc, chat_tz(context)))
        )
        return
    await q.answer()
    text, rows = step_view(step, tz=chat_tz(context))
    await safe_edit(update, context, text, rows)
    user = await users.get(tid)
    await _remember(context, tid, step, user)
    first = action == "x" and step.kind == "done" and not step.submitted
    if first and user is not None and not user.has_opd:
        # A participant who came by QR: which OPD (skippable), so reports can group by OPD.
        from handlers.accounts.onboarding import send_opd_question

        await send_opd_question(update, context, page=0, as_edit=False, skippable=True)


async def on_answer_text(update: Update, context: Ctx, user: UserView) -> None:
    """Typed text while a survey is pending: a free-text answer, a typed rating, "Lainnya"...

    Text where a button answer is expected re-asks with the buttons; over-long text is refused
    with its length. Nothing is stored unless it is a valid answer.
    """
    s = svc(context)
    users = core(context).users
    tid = user.telegram_id
    code = (user.pending_data or {}).get("code")
    msg = update.effective_message
    if not code or msg is None:
        await users.set_pending(tid, None)
        return
    try:
        step = await s.current(code, tid)
    except FeedbackError as exc:
        await users.set_pending(tid, None)
        await reply(update, context, "feedback_error", **exc_error_ctx(exc, user.tz))
        return
    if msg.text is None:
        await _send_step(update, context, step, error={"reason": "not_text"})
        return
    if step.kind != "question":
        await _send_step(update, context, step, error={"reason": "review_buttons"})
        return
    try:
        new = await s.answer_text(code, tid, step.index, msg.text)
    except InvalidAnswer as exc:
        error = {"reason": exc.reason, "hint_pause": True, **exc.params}
        await _send_step(update, context, step, error=error)
        return
    except FeedbackError as exc:
        await users.set_pending(tid, None)
        await reply(update, context, "feedback_error", **exc_error_ctx(exc, user.tz))
        return
    await _send_step(update, context, new)


async def purge_job(context: Ctx) -> None:
    try:
        n = await svc(context).purge()
    except Exception:  # a failing purge must not stop the bot; it runs again tomorrow
        log.exception("feedback retention purge failed")
        return
    if n:
        log.info("feedback retention: %d responses unlinked", n)
