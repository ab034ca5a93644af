"""Post-training feedback in chat.

Participants: ``/start fb_<code>`` (deep link or QR) -> one question at a time with inline
buttons, typed answers for free text, review, submit. Callback data ``fb:<action>:<code>:<index>
[:<arg>]`` where index is the question the button belongs to (stale buttons change nothing).

Organizers and admins: ``/sesi`` (list, create step by step, QR, open/close, reminders),
``/sesi organizer|cabut <id|@username>`` (admins), ``/laporan KODE [KODE2 ...]``.
Callback data ``fbo:<action>:<arg>``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.feedback import report
from bot.feedback.service import (
    DEEPLINK_PREFIX,
    Actor,
    FeedbackError,
    FeedbackService,
    InvalidAnswer,
    NoResponse,
    NotAllowed,
    SessionClosed,
    SessionInputError,
    SessionNotFound,
    SessionNotOpen,
    SessionView,
    StaleStep,
    Step,
    normalize_code,
    parse_date_range,
    parse_local_datetime,
)
from bot.feedback.templates import (
    MAX_TOPICS,
    TOPIC_MAX,
    SurveyTemplate,
    TemplateError,
    clean_topics,
    expand,
)
from bot.templates import html, render, render_plain
from bot.transport import Button
from bot.users import UserView
from handlers.account import register_start_payload
from handlers.common import (
    Ctx,
    core,
    current_user,
    is_private,
    keyboard,
    register_user,
    reply,
    send,
)
from handlers.dialogue import register_pending

log = logging.getLogger(__name__)

P = "fb"  # participant buttons
O = "fbo"  # organizer buttons  # noqa: E741
PENDING_ANSWER = "fb_answer"
PENDING_WIZARD = "fb_new"
MAX_COMPARE = 6
WIZARD_STEPS = ["title", "dates", "place", "organizer", "topics", "template", "anonymous", "closes"]
OPTIONAL_STEPS = {"dates", "place", "organizer"}
TZ_LABELS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
REVIEW_ROW = 7
REVIEW_MAX = 3900


def svc(context: Ctx) -> FeedbackService:
    return core(context).feedback


@functools.lru_cache(maxsize=4096)
def _btn(key: str, items: tuple) -> str:
    return render_plain("feedback_button", key=key, **dict(items))


def btn(key: str, **ctx: Any) -> str:
    """A button label from ``feedback_button.j2`` (cached: a question has up to 20 buttons)."""
    return _btn(key, tuple(sorted(ctx.items())))


def _tz(context: Ctx, user: UserView | None = None) -> ZoneInfo:
    return user.tz if user is not None else core(context).settings.tz


def _when(dt: datetime | None, tz: ZoneInfo) -> str | None:
    if dt is None:
        return None
    label = TZ_LABELS.get(str(tz), str(tz))
    return f"{dt.astimezone(tz).strftime('%d-%m-%Y %H:%M')} {label}"


def _bot_username(context: Ctx) -> str | None:
    return core(context).bot_username or context.bot.username


def _link(context: Ctx, code: str) -> str | None:
    username = _bot_username(context)
    return svc(context).deep_link(code, username) if username else None


def _dates(sv: SessionView) -> str | None:
    if sv.starts_on is None:
        return None
    text = sv.starts_on.strftime("%d-%m-%Y")
    if sv.ends_on and sv.ends_on != sv.starts_on:
        text += " s.d. " + sv.ends_on.strftime("%d-%m-%Y")
    return text


def _err(reason: str, **ctx: Any) -> dict[str, Any]:
    """Context for ``feedback_error.j2`` with every variable defined."""
    base: dict[str, Any] = {
        "reason": reason,
        "code": "",
        "title": "",
        "opens_at": None,
        "closes_at": None,
        "message": "",
    }
    base.update(ctx)
    return base


def _error_ctx(exc: FeedbackError, tz: ZoneInfo) -> dict[str, Any]:
    params = dict(exc.params)
    return _err(
        exc.reason,
        code=str(params.get("code") or "")[:20],
        title=params.get("title") or "",
        opens_at=_when(params.get("opens_at"), tz),
        closes_at=_when(params.get("closes_at"), tz),
        message=params.get("message") or "",
    )


async def _safe_edit(update: Update, context: Ctx, text: str, buttons=None) -> None:
    """Edit the pressed message; a "not modified" answer from Telegram is not an error."""
    q = update.callback_query
    assert q is not None and q.message is not None
    try:
        await context.bot.edit_message_text(
            chat_id=q.message.chat.id,
            message_id=q.message.message_id,
            text=text,
            reply_markup=keyboard(buttons),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _alert(update: Update, reason: str, *, show: bool = True, **ctx: Any) -> None:
    q = update.callback_query
    if q is not None:
        await q.answer(text=render_plain("feedback_alert", reason=reason, **ctx), show_alert=show)


# =============================================================================================
# participants
# =============================================================================================


def step_view(step: Step, *, error: dict | None = None, tz: ZoneInfo) -> tuple[str, list]:
    """The HTML text and the keyboard of a step."""
    code, i = step.session.code, step.index
    error_html = html(render("feedback_error_line", error=error)) if error else None
    if step.kind == "done":
        text = render("feedback_done", step=step, closes_at=_when(step.session.closes_at, tz))
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
    tz = _tz(context, user)
    if normalize_code(code) is None:
        await reply(update, context, "feedback_error", **_err("not_found", code=code[:20]))
        return
    try:
        step = await svc(context).start(code, tg_user.id)
    except FeedbackError as exc:
        await reply(update, context, "feedback_error", **_error_ctx(exc, tz))
        return
    await _remember(context, tg_user.id, step, user)
    await _send_step(update, context, step)


async def _start_payload(update: Update, context: Ctx, user: UserView, payload: str) -> None:
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
    if q is None or tg_user is None or not q.data:
        return
    parts = q.data.split(":")
    if len(parts) < 4 or parts[0] != P:
        await _alert(update, "expired")
        return
    action, code, index = parts[1], parts[2], _int(parts[3])
    arg = _int(parts[4]) if len(parts) > 4 else None
    needs_arg = action in ("a", "t", "g")
    if index is None or (needs_arg and arg is None) or normalize_code(code) is None:
        await _alert(update, "expired")
        return
    s = svc(context)
    tid = tg_user.id
    users = core(context).users
    if action == "p":
        await _forget_pending(context, tid, code)
        await q.answer()
        text = render("feedback_paused", code=code, link=_link(context, code))
        await _safe_edit(update, context, text)
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
            await _alert(update, "expired")
            return
    except InvalidAnswer as exc:
        await _alert(update, exc.reason, **exc.params)
        return
    except StaleStep:
        try:
            step = await s.current(code, tid)
        except FeedbackError as exc:
            await q.answer()
            await _safe_edit(
                update, context, render("feedback_error", **_error_ctx(exc, _tz(context)))
            )
            return
        await _alert(update, "stale", show=False)
        text, rows = step_view(step, tz=_tz(context))
        await _safe_edit(update, context, text, rows)
        return
    except FeedbackError as exc:
        await q.answer()
        if isinstance(exc, (SessionClosed, SessionNotFound, SessionNotOpen, NoResponse)):
            await _forget_pending(context, tid, code)
        await _safe_edit(update, context, render("feedback_error", **_error_ctx(exc, _tz(context))))
        return
    await q.answer()
    text, rows = step_view(step, tz=_tz(context))
    await _safe_edit(update, context, text, rows)
    await _remember(context, tid, step, await users.get(tid))


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
        await reply(update, context, "feedback_error", **_error_ctx(exc, user.tz))
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
        await reply(update, context, "feedback_error", **_error_ctx(exc, user.tz))
        return
    await _send_step(update, context, new)


# =============================================================================================
# organizers
# =============================================================================================


async def _actor(
    update: Update, context: Ctx, *, register: bool = False
) -> tuple[UserView | None, Actor | None]:
    """The user and what they may do; commands register on the fly (an admin listed in
    ADMIN_IDS may never have pressed /start), buttons need a registered user."""
    if register and update.effective_user is not None and not update.effective_user.is_bot:
        user, _ = await register_user(update, context)
    else:
        user = await current_user(update, context)
    if user is None:
        return None, None
    return user, await svc(context).actor(user.telegram_id)


def _session_buttons(item, status: str, *, anonymous: bool) -> list[list[Button]]:
    code = item.session.code
    rows = [
        [Button(btn("qr"), f"{O}:q:{code}"), Button(btn("report"), f"{O}:r:{code}")],
        [
            Button(btn("close"), f"{O}:c:{code}")
            if status == "open"
            else Button(btn("open"), f"{O}:o:{code}")
        ],
    ]
    if not anonymous and item.in_progress and status == "open":
        rows.append([Button(btn("remind"), f"{O}:m:{code}")])
    rows.append([Button(btn("refresh"), f"{O}:v:{code}"), Button(btn("list"), f"{O}:l:-")])
    return rows


async def _session_card(context: Ctx, code: str, tz: ZoneInfo) -> tuple[str, list]:
    item = await svc(context).session_item(code)
    sv = item.session
    status = sv.status()
    text = render(
        "feedback_session",
        item=item,
        status=status,
        dates=_dates(sv),
        opens_at=_when(sv.opens_at, tz),
        closes_at=_when(sv.closes_at, tz),
        link=_link(context, sv.code),
    )
    return text, _session_buttons(item, status, anonymous=sv.anonymous)


async def _session_list(context: Ctx, actor: Actor) -> tuple[str, list]:
    items = await svc(context).list_sessions(actor, limit=10)
    rows = [
        [
            Button(
                btn(
                    "session",
                    code=it.session.code,
                    title=it.session.title[:40],
                    status=it.session.status(),
                ),
                f"{O}:v:{it.session.code}",
            )
        ]
        for it in items
    ]
    rows.append([Button(btn("new"), f"{O}:n:-")])
    return render("feedback_sessions", items=items, admin=actor.is_admin), rows


async def cmd_sesi(update: Update, context: Ctx) -> None:
    if not is_private(update):
        await reply(update, context, "feedback_notice", what="private_only")
        return
    user, actor = await _actor(update, context, register=True)
    if user is None or actor is None:
        await reply(update, context, "not_registered")
        return
    args = list(context.args or [])
    sub = args[0].lower() if args else ""
    if sub in ("organizer", "penyelenggara", "cabut"):
        if not actor.is_admin:
            await reply(update, context, "admin_only")
            return
        if len(args) != 2:
            await reply(update, context, "feedback_notice", what="organizer_usage")
            return
        view = await svc(context).set_organizer(args[1], enable=sub != "cabut")
        if view is None:
            await reply(update, context, "feedback_notice", what="user_unknown", target=args[1])
            return
        await reply(
            update,
            context,
            "feedback_notice",
            what="organizer_set",
            name=view.name or view.username or str(view.telegram_id),
            role=view.role,
        )
        return
    if not actor.can_organize:
        await reply(update, context, "feedback_notice", what="not_organizer")
        return
    if sub == "baru":
        await _wizard_start(update, context, user)
        return
    if sub:
        sv = await svc(context).get_session(sub)
        if sv is None:
            await reply(update, context, "feedback_error", **_err("not_found", code=args[0][:20]))
            return
        if not svc(context).can_manage(actor, sv):
            await reply(update, context, "feedback_error", **_err("not_allowed"))
            return
        text, rows = await _session_card(context, sv.code, user.tz)
        await send_html_with(update, context, text, rows)
        return
    text, rows = await _session_list(context, actor)
    await send_html_with(update, context, text, rows)


async def send_html_with(update: Update, context: Ctx, text: str, rows) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat_id=chat.id, text=text, reply_markup=keyboard(rows))


async def on_organizer_button(update: Update, context: Ctx) -> None:
    q = update.callback_query
    if q is None or not q.data:
        return
    parts = q.data.split(":")
    if len(parts) < 3 or parts[0] != O:
        await _alert(update, "expired")
        return
    action, arg = parts[1], ":".join(parts[2:])
    user, actor = await _actor(update, context)
    if user is None or actor is None or not actor.can_organize:
        await _alert(update, "not_allowed")
        return
    if action == "w":
        await _wizard_button(update, context, user, arg)
        return
    if action == "l":
        await q.answer()
        text, rows = await _session_list(context, actor)
        await _safe_edit(update, context, text, rows)
        return
    if action == "n":
        await q.answer()
        await _wizard_start(update, context, user)
        return
    sv = await svc(context).get_session(arg)
    if sv is None:
        await _alert(update, "expired")
        return
    if not svc(context).can_manage(actor, sv):
        await _alert(update, "not_allowed")
        return
    s = svc(context)
    chat_id = q.message.chat.id if q.message else user.chat_id
    if action in ("o", "c"):
        await (s.open_session(sv.code) if action == "o" else s.close_session(sv.code))
        await q.answer(text=render_plain("feedback_alert", reason="saved"))
        text, rows = await _session_card(context, sv.code, user.tz)
        await _safe_edit(update, context, text, rows)
    elif action == "v":
        await q.answer()
        text, rows = await _session_card(context, sv.code, user.tz)
        await _safe_edit(update, context, text, rows)
    elif action == "q":
        await q.answer()
        await _send_qr(context, chat_id, sv)
    elif action == "r":
        await q.answer()
        await send_reports(context, chat_id, [sv], user.tz)
    elif action == "m":
        await _remind(update, context, user, sv)
    else:
        await _alert(update, "expired")


async def _send_qr(context: Ctx, chat_id: int, sv: SessionView) -> None:
    username = _bot_username(context)
    if not username:  # getMe always gives one; keep a polite path anyway
        await send(context, chat_id, "error")
        return
    png = await asyncio.to_thread(svc(context).qr_png, sv, username)
    caption = render(
        "feedback_caption", kind="qr", title=sv.title, code=sv.code, link=_link(context, sv.code)
    )
    await context.bot.send_photo(
        chat_id=chat_id, photo=png, filename=f"qr-{sv.code}.png", caption=caption
    )


async def _remind(update: Update, context: Ctx, user: UserView, sv: SessionView) -> None:
    if sv.anonymous:
        await _alert(update, "anonymous")
        return
    link = _link(context, sv.code)
    buttons = [[Button(btn("resume"), url=link)]] if link else None
    text = render("feedback_reminder", title=sv.title)
    try:
        n = await svc(context).queue_reminders(
            sv.code,
            core(context).outbox,
            text=text,
            buttons=buttons,
            creator_user_id=user.id,
            creator_chat_id=user.chat_id,
        )
    except NotAllowed:
        await _alert(update, "anonymous")
        return
    if n:
        await _alert(update, "reminded", show=False, n=n)
        await send(context, user.chat_id, "feedback_notice", what="reminded", n=n, title=sv.title)
    else:
        await _alert(update, "nobody")


async def send_reports(
    context: Ctx, chat_id: int, sessions: list[SessionView], tz: ZoneInfo
) -> None:
    """Summary message, chart PNG and (one session) the XLSX workbook."""
    s = svc(context)
    datas = [await s.report_data(sv.code) for sv in sessions]
    summaries = [report.summarize(d) for d in datas]
    chart = await asyncio.to_thread(report.chart_png, summaries)
    if len(summaries) == 1:
        sm, data = summaries[0], datas[0]
        texts = [
            {"label": tx.label, "total": len(tx.texts), "shown": tx.texts[:25]} for tx in sm.texts
        ]
        await send(
            context, chat_id, "feedback_report", sm=sm, texts=texts, dates=_dates(sm.session)
        )
        caption = render(
            "feedback_caption", kind="chart", title=sm.session.title, code=sm.session.code
        )
        await context.bot.send_photo(
            chat_id=chat_id,
            photo=chart,
            filename=f"grafik-{sm.session.code}.png",
            caption=caption,
        )
        xlsx = await asyncio.to_thread(report.xlsx_bytes, data, sm, tz=tz)
        caption = render(
            "feedback_caption", kind="xlsx", title=sm.session.title, code=sm.session.code
        )
        await context.bot.send_document(
            chat_id=chat_id,
            document=xlsx,
            filename=f"umpan-balik-{sm.session.code}.xlsx",
            caption=caption,
        )
        return
    await send(context, chat_id, "feedback_compare", summaries=summaries)
    caption = render("feedback_caption", kind="compare", codes=[sv.code for sv in sessions])
    await context.bot.send_photo(
        chat_id=chat_id, photo=chart, filename="perbandingan.png", caption=caption
    )


async def cmd_laporan(update: Update, context: Ctx) -> None:
    if not is_private(update):  # the XLSX holds participants' data: never into a group
        await reply(update, context, "feedback_notice", what="private_only")
        return
    user, actor = await _actor(update, context, register=True)
    if user is None or actor is None:
        await reply(update, context, "not_registered")
        return
    if not actor.can_organize:
        await reply(update, context, "feedback_notice", what="not_organizer")
        return
    codes = []
    for raw in context.args or []:
        if raw.upper() not in codes:
            codes.append(raw.upper())
    if not codes or len(codes) > MAX_COMPARE:
        await reply(update, context, "feedback_notice", what="laporan_usage", max=MAX_COMPARE)
        return
    sessions = []
    for raw in codes:
        sv = await svc(context).get_session(raw)
        if sv is None:
            await reply(update, context, "feedback_error", **_err("not_found", code=raw[:20]))
            return
        if not svc(context).can_manage(actor, sv):
            await reply(update, context, "feedback_error", **_err("not_allowed"))
            return
        sessions.append(sv)
    chat = update.effective_chat
    assert chat is not None
    await send_reports(context, chat.id, sessions, user.tz)


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
    rows = _wizard_buttons(context, step, draft)
    if as_edit and update.callback_query is not None:
        await _safe_edit(update, context, text, rows)
    else:
        await context.bot.send_message(chat_id=user.chat_id, text=text, reply_markup=keyboard(rows))


async def _wizard_start(update: Update, context: Ctx, user: UserView) -> None:
    await core(context).users.set_pending(
        user.telegram_id, PENDING_WIZARD, {"step": "title", "draft": {}}
    )
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
        await send(context, user.chat_id, "feedback_error", **_err("input", message=exc.message))
        return
    text, rows = await _session_card(context, sv.code, user.tz)
    if as_edit and update.callback_query is not None:
        await _safe_edit(update, context, text, rows)
    else:
        await context.bot.send_message(chat_id=user.chat_id, text=text, reply_markup=keyboard(rows))
    await _send_qr(context, user.chat_id, sv)


def _date_or_none(value: str | None):
    from datetime import date

    return date.fromisoformat(value) if value else None


async def _wizard_button(update: Update, context: Ctx, user: UserView, arg: str) -> None:
    q = update.callback_query
    assert q is not None
    step_arg, _, value = arg.partition(":")
    data = (user.pending_data or {}) if user.pending == PENDING_WIZARD else {}
    if step_arg == "cancel":
        if user.pending == PENDING_WIZARD:
            await core(context).users.set_pending(user.telegram_id, None)
        await q.answer()
        await _safe_edit(update, context, render("feedback_notice", what="wizard_cancelled"))
        return
    step = data.get("step")
    if step is None or step != step_arg:
        await _alert(update, "expired")
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
        await _alert(update, "expired")
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
            topics = clean_topics(text.splitlines())
        except ValueError:
            topics = None
        if not topics:
            error = render_plain(
                "feedback_wizard_error", what="topics", max=MAX_TOPICS, limit=TOPIC_MAX
            )
        else:
            draft["topics"] = topics
    elif step == "closes":
        when = parse_local_datetime(text, user.tz)
        if when is None or when <= datetime.now(user.tz):
            error = render_plain("feedback_wizard_error", what="closes")
        else:
            draft["closes"] = when.isoformat()
    else:  # template / anonymous are chosen with buttons
        error = render_plain("feedback_wizard_error", what="buttons")
    if error:
        await _wizard_prompt(update, context, user, step, error)
        return
    await _wizard_advance(update, context, user, draft, step, as_edit=False)


# =============================================================================================


async def _purge_job(context: Ctx) -> None:
    try:
        n = await svc(context).purge()
    except Exception:  # a failing purge must not stop the bot; it runs again tomorrow
        log.exception("feedback retention purge failed")
        return
    if n:
        log.info("feedback retention: %d responses unlinked", n)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("sesi", cmd_sesi))
    app.add_handler(CommandHandler("laporan", cmd_laporan))
    app.add_handler(CommandHandler("umpanbalik", cmd_umpanbalik))
    app.add_handler(CallbackQueryHandler(on_participant_button, pattern=rf"^{P}:"))
    app.add_handler(CallbackQueryHandler(on_organizer_button, pattern=rf"^{O}:"))
    register_pending(PENDING_ANSWER, on_answer_text)
    register_pending(PENDING_WIZARD, on_wizard_text)
    register_start_payload(DEEPLINK_PREFIX, _start_payload)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            _purge_job, interval=24 * 3600, first=600, name="feedback_purge"
        )
