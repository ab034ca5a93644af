"""Post-training feedback: sessions, answering one question at a time, retention.

Everything here is messenger-agnostic: handlers, the CLI, tests and the bench drive it with a
Telegram user id and get back plain data (:class:`Step`, :class:`SessionView`).

State lives in the database only: ``feedback_responses.current_index`` says where a participant
is, so a restart (or a day later) continues exactly there. Every action names the question index
its button belongs to; an action for another index is stale (:class:`StaleStep`) and changes
nothing.

Identity: ``respondent_hash`` = sha256(session salt, session code, Telegram id) enforces one
response per participant. Anonymous sessions store nothing else about the participant
(``user_id`` stays NULL). The retention purge later unlinks every response: ``user_id`` NULL and
the hash replaced by a random value.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from bot.config import Settings
from bot.db import Database
from bot.feedback.templates import (
    DEFAULT_TEMPLATE,
    SurveyTemplate,
    TemplateError,
    clean_topics,
    expand,
    load_template,
    load_templates,
    surveys_dir,
)
from bot.models import ROLE_ADMIN, ROLE_ORGANIZER, ROLE_STAFF, User, utcnow
from bot.models.feedback import (
    STATUS_IN_PROGRESS,
    STATUS_SUBMITTED,
    FeedbackAnswer,
    FeedbackResponse,
    FeedbackSession,
)
from bot.users import UserService, UserView

# No I, L, O, 0, 1: the code is read aloud and typed from a projector.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
DEEPLINK_PREFIX = "fb_"
TITLE_MIN, TITLE_MAX = 3, 200
PLACE_MAX = 200
ORGANIZER_MAX = 200

SCHEDULED, OPEN, CLOSED = "scheduled", "open", "closed"


# --------------------------------------------------------------------------- errors


class FeedbackError(Exception):
    """Base class. ``reason`` is a stable code the handlers map to a template."""

    reason = "error"

    def __init__(self, reason: str | None = None, **params: Any) -> None:
        self.reason = reason or self.reason
        self.params = params
        super().__init__(self.reason, params)


class SessionNotFound(FeedbackError):
    reason = "not_found"


class SessionNotOpen(FeedbackError):
    """Not open yet: ``params['opens_at']``."""

    reason = "not_open"


class SessionClosed(FeedbackError):
    reason = "closed"


class NoResponse(FeedbackError):
    """The participant has no response in this session (never started, or it was purged)."""

    reason = "no_response"


class StaleStep(FeedbackError):
    """A button of a question that is no longer the current one."""

    reason = "stale"


class InvalidAnswer(FeedbackError):
    """``reason``: out_of_range (min, max), unknown_choice, too_long (length, limit), empty,
    use_buttons, required, too_many_choices (max)."""

    reason = "invalid"


class SessionInputError(FeedbackError):
    """Bad input when creating a session; ``message`` is one readable Indonesian line."""

    reason = "input"

    def __init__(self, message: str) -> None:
        super().__init__("input", message=message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotAllowed(FeedbackError):
    reason = "not_allowed"


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class SessionView:
    id: int
    code: str
    title: str
    starts_on: date | None
    ends_on: date | None
    place: str | None
    organizer_name: str | None
    topics: list[str]
    template_id: str
    questionnaire: dict[str, Any]
    opens_at: datetime | None
    closes_at: datetime | None
    anonymous: bool
    created_by: int | None
    created_at: datetime

    @property
    def questions(self) -> list[dict[str, Any]]:
        return self.questionnaire["questions"]

    @property
    def total(self) -> int:
        return len(self.questions)

    def status(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        if self.closes_at is not None and now >= self.closes_at:
            return CLOSED
        if self.opens_at is not None and now < self.opens_at:
            return SCHEDULED
        return OPEN

    @property
    def is_open(self) -> bool:
        return self.status() == OPEN

    @property
    def deeplink_payload(self) -> str:
        return DEEPLINK_PREFIX + self.code


@dataclass(frozen=True)
class SessionListItem:
    session: SessionView
    submitted: int
    in_progress: int


@dataclass(frozen=True)
class AnswerView:
    value: Any
    text: str | None
    display: str


@dataclass(frozen=True)
class ReviewLine:
    number: int  # 1-based
    short: str
    question: str
    required: bool
    answer: str | None  # display text, None when unanswered


@dataclass(frozen=True)
class Step:
    """What to show the participant next."""

    kind: str  # "question" | "review" | "done"
    session: SessionView
    index: int  # current question index; == total on the review screen
    total: int
    question: dict[str, Any] | None = None
    answer: AnswerView | None = None
    selected: frozenset[str] = frozenset()  # multi: chosen ids
    lines: list[ReviewLine] = field(default_factory=list)
    submitted: bool = False  # the response was submitted before (editing it now)
    new: bool = False  # the response was just created
    resumed: bool = False  # an unfinished response picked up again
    missing: list[int] = field(default_factory=list)  # 1-based numbers of unanswered required

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class Actor:
    """Who is acting on sessions: an admin sees everything, an organizer their own sessions."""

    telegram_id: int | None
    user_id: int | None
    is_admin: bool
    is_organizer: bool

    @property
    def can_organize(self) -> bool:
        return self.is_admin or self.is_organizer


@dataclass(frozen=True)
class Participant:
    user_id: int
    chat_id: int
    name: str | None


# --------------------------------------------------------------------------- pure helpers


def generate_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(raw: str | None) -> str | None:
    """Upper-case, strip ``fb_``/spaces; None when it cannot be a session code."""
    if not raw:
        return None
    code = raw.strip()
    if code.lower().startswith(DEEPLINK_PREFIX):
        code = code[len(DEEPLINK_PREFIX) :]
    code = code.upper()
    if not 4 <= len(code) <= 16 or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def deep_link(code: str, bot_username: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={DEEPLINK_PREFIX}{code}"


def respondent_hash(salt: str, code: str, telegram_id: int, secret: str | None = None) -> str:
    """One participant of one session, without storing who. With FEEDBACK_SECRET set (kept
    outside the database) the hash is an HMAC, so a copy of the database alone cannot be used
    to recompute it for known Telegram ids."""
    message = f"{salt}:{code}:{telegram_id}".encode()
    if secret:
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def _choice_label(q: dict[str, Any], choice_id: str) -> str:
    for c in q.get("choices", []):
        if c["id"] == choice_id:
            return c["label"]
    return choice_id


def _scale_label(q: dict[str, Any], value: int) -> str | None:
    for s in q.get("scale", []):
        if s["value"] == value:
            return s.get("label")
    return None


def display_answer(q: dict[str, Any], value: Any, text: str | None) -> str:
    """A short human-readable form of an answer (plain text; templates escape it)."""
    t = q["type"]
    if t == "rating":
        label = _scale_label(q, value)
        return f"{value} ({label})" if label else str(value)
    if t == "nps":
        return str(value)
    if t == "single":
        if value is None:
            return f"Lainnya: {text}" if text else ""
        return _choice_label(q, value)
    if t == "multi":
        parts = [_choice_label(q, v) for v in (value or [])]
        if text:
            parts.append(f"Lainnya: {text}")
        return ", ".join(parts)
    return text or ""


def is_answered(q: dict[str, Any], value: Any, text: str | None) -> bool:
    if q["type"] == "multi":
        return bool(value) or bool(text)
    if q["type"] == "text":
        return bool(text)
    if q["type"] == "single":
        return value is not None or bool(text)
    return value is not None


def parse_button(q: dict[str, Any], raw: int) -> tuple[Any, str | None]:
    """A button answer (rating/nps value, or the index of a single choice) -> (value, text)."""
    t = q["type"]
    if t == "rating":
        if not 1 <= raw <= 5:
            raise InvalidAnswer("out_of_range", min=1, max=5)
        return raw, None
    if t == "nps":
        if not 0 <= raw <= 10:
            raise InvalidAnswer("out_of_range", min=0, max=10)
        return raw, None
    if t == "single":
        choices = q["choices"]
        if not 0 <= raw < len(choices):
            raise InvalidAnswer("unknown_choice")
        return choices[raw]["id"], None
    raise InvalidAnswer("use_buttons")


# Control characters (except tab and newline) break exports (XLSX refuses them) and
# PostgreSQL refuses NUL in text: never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def parse_text(q: dict[str, Any], raw: str) -> tuple[Any, str | None]:
    """A typed answer -> (value, text). Numbers are accepted for rating/nps, a choice's exact
    label (or its number) for single choice, anything for free text and "Lainnya"."""
    text = strip_controls(raw or "").strip()
    t = q["type"]
    if not text:
        raise InvalidAnswer("empty")
    if t == "text":
        limit = int(q.get("max_length") or 1000)
        if len(text) > limit:
            raise InvalidAnswer("too_long", length=len(text), limit=limit)
        return None, text
    if t in ("rating", "nps"):
        if text.isdigit():
            return parse_button(q, int(text))
        raise InvalidAnswer("use_buttons")
    if t == "single":
        folded = text.casefold()
        for c in q["choices"]:
            if c["label"].casefold() == folded:
                return c["id"], None
        number = text.rstrip(".")
        if number.isdigit() and 1 <= int(number) <= len(q["choices"]):  # "3": the third one
            return q["choices"][int(number) - 1]["id"], None
        if q.get("allow_other"):
            limit = int(q.get("other_max_length") or 200)
            if len(text) > limit:
                raise InvalidAnswer("too_long", length=len(text), limit=limit)
            return None, text
        raise InvalidAnswer("use_buttons")
    # multi: typed text is the "Lainnya" part; the handler keeps the chosen ids
    if q.get("allow_other"):
        limit = int(q.get("other_max_length") or 200)
        if len(text) > limit:
            raise InvalidAnswer("too_long", length=len(text), limit=limit)
        return None, text
    raise InvalidAnswer("use_buttons")


MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "pebruari": 2, "feb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}  # fmt: skip
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})")
_D_MONTH_Y = re.compile(r"(\d{1,2})\s*([a-z]+)\.?,?\s*(\d{4})?")
# Between two dates: "s.d.", "s/d", "sd", "sampai (dengan)", "hingga", dashes.
_RANGE_SEP = re.compile(
    r"\s*(?:(?<![a-z])s\.?\s?d\.?(?![a-z])|s/d|sampai(?:\s+dengan)?|hingga|[-–—]|\bto\b)\s*"
)
_CLOCK = re.compile(
    r"(?:^|\s)(?:pukul|pkl\.?|jam)?\s*(\d{1,2})[:.](\d{2})(?:\s*(?:wib|wita|wit))?$"
)


def _day(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000
    if not 2000 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, *, default_year: int | None = None) -> date | None:
    """'2026-12-01', '01-12-2026', '1/12/26', '1.12.2026', '1 Desember 2026', '1 Des 2026'.

    ``default_year`` completes '1 Desember' (the start of '1 Desember - 2 Januari 2027')."""
    text = " ".join(text.split()).lower().strip(" ,")
    if m := _YMD.fullmatch(text):
        return _day(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY.fullmatch(text):
        return _day(int(m[3]), int(m[2]), int(m[1]))
    if (m := _D_MONTH_Y.fullmatch(text)) and m[2] in MONTHS:
        year = int(m[3]) if m[3] else default_year
        return _day(year, MONTHS[m[2]], int(m[1])) if year else None
    return None


def parse_date_range(text: str) -> tuple[date, date | None] | None:
    """One date or a range: '01-12-2026 s.d. 02-12-2026', '1/12/2026-2/12/2026',
    '1-2 Desember 2026', '30 November s/d 2 Desember 2026' -> (start, end or None)."""
    raw = " ".join(text.split()).lower().strip(" .")
    single = parse_date(raw)
    if single is not None:
        return single, None
    for m in _RANGE_SEP.finditer(raw):
        left, right = raw[: m.start()].strip(), raw[m.end() :].strip()
        if not left or not right:
            continue
        end = parse_date(right)
        if end is None:
            continue
        start = parse_date(left, default_year=end.year)
        if start is None and left.isdigit():  # '1-2 Desember 2026': month and year of the end
            start = _day(end.year, end.month, int(left))
        if start is None:
            continue
        if start > end and start.month > end.month and not re.search(r"\d{4}", left):
            start = _day(end.year - 1, start.month, start.day)  # '30 Des - 2 Jan 2027'
        if start is None or end < start:
            return None
        return start, end
    return None


def parse_local_datetime(text: str, tz) -> datetime | None:
    """'02-12-2026 17:00', '2 Desember 2026 pukul 17.00', '2026-12-02T17:00' in zone ``tz``
    -> aware datetime; a date alone means the end of that day (23:59)."""
    text = re.sub(r"(\d)T(\d)", r"\1 \2", text)
    text = " ".join(text.split()).lower().strip(" .")
    clock = _CLOCK.search(text)
    if clock is not None:
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 23 or minute > 59:
            return None
        day = parse_date(text[: clock.start()].strip(" ,"))
    else:
        hour, minute = 23, 59
        day = parse_date(text)
    if day is None:
        return None
    return datetime.combine(day, time(hour, minute)).replace(tzinfo=tz)


def qr_png(url: str, title: str, code: str) -> bytes:
    """A printable PNG: the title on top, the QR code of ``url``, the code and link below."""
    import qrcode
    from PIL import Image, ImageDraw, ImageFont

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=16, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    qr_img = qr.make_image(fill_color="black", back_color="white").convert("RGB")

    def font(size: int, bold: bool = False):
        try:
            import matplotlib

            name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
            path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
            return ImageFont.truetype(str(path), size)
        except (OSError, ImportError):
            return ImageFont.load_default(size=size)

    width = max(qr_img.width, 900)
    title_font, code_font, small_font = font(40, True), font(56, True), font(26)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines = _wrap(probe, title, title_font, width - 80)[:4]
    line_h = 52
    top = 40 + line_h * len(lines) + 20
    height = top + qr_img.height + 235
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    y = 40
    for line in lines:
        w = draw.textlength(line, font=title_font)
        draw.text(((width - w) / 2, y), line, fill="black", font=title_font)
        y += line_h
    img.paste(qr_img, ((width - qr_img.width) // 2, top))
    y = top + qr_img.height + 20
    label = f"Kode: {code}"
    w = draw.textlength(label, font=code_font)
    draw.text(((width - w) / 2, y), label, fill="black", font=code_font)
    y += 80
    w = draw.textlength(url, font=small_font)
    draw.text(((width - w) / 2, y), url, fill="#333333", font=small_font)
    y += 45  # no camera (Telegram Desktop in the room): the code can be typed
    hint = f"atau ketik di bot: /umpanbalik {code}"
    w = draw.textlength(hint, font=small_font)
    draw.text(((width - w) / 2, y), hint, fill="#333333", font=small_font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _wrap(draw, text: str, font, max_width: float) -> list[str]:
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines or [""]


def _stamp(view: SessionView) -> datetime:
    """Now, for response timestamps. Anonymous sessions keep only the day (UTC), so the times
    cannot be matched against other records (e.g. when a user row changed) to re-identify."""
    now = utcnow()
    if view.anonymous:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now


def _session_view(row: FeedbackSession) -> SessionView:
    return SessionView(
        id=row.id,
        code=row.code,
        title=row.title,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        place=row.place,
        organizer_name=row.organizer_name,
        topics=list(row.topics or []),
        template_id=row.template_id,
        questionnaire=row.questionnaire,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        anonymous=row.anonymous,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(strip_controls(str(value)).split())
    if len(value) > limit:
        raise SessionInputError(f"teks terlalu panjang ({len(value)} karakter, maks. {limit})")
    return value or None


# --------------------------------------------------------------------------- the service


@dataclass
class _Resp:
    id: int
    status: str
    current_index: int
    revision: int = 0


_LIGHT_COLUMNS = [c for c in FeedbackSession.__table__.c if c.name != "questionnaire"]


class FeedbackService:
    def __init__(self, db: Database, settings: Settings, users: UserService | None = None) -> None:
        self.db = db
        self.settings = settings
        self.users = users or UserService(db, settings)
        # code -> (session id, salt, frozen questionnaire): none of them ever changes
        self._frozen: dict[str, tuple[int, str, dict[str, Any]]] = {}
        self._write_lock = asyncio.Lock() if db.is_sqlite else None

    # -- templates ---------------------------------------------------------------------------
    @property
    def surveys_dir(self) -> Path:
        return surveys_dir(self.settings.resolve_knowledge_dir())

    def templates(self) -> dict[str, SurveyTemplate]:
        return load_templates(self.surveys_dir)

    def template(self, template_id: str = DEFAULT_TEMPLATE) -> SurveyTemplate:
        try:
            return load_template(self.surveys_dir, template_id)
        except TemplateError as exc:
            raise SessionInputError(f"Template kuesioner: {exc}") from None

    # -- roles -------------------------------------------------------------------------------
    async def actor(self, telegram_id: int | None) -> Actor:
        if telegram_id is None:  # the command line: trusted, like an admin
            return Actor(None, None, True, True)
        view = await self.users.get(telegram_id)
        role = view.role if view else None
        is_admin = self.users.is_admin(telegram_id, role)
        return Actor(telegram_id, view.id if view else None, is_admin, role == ROLE_ORGANIZER)

    def can_manage(self, actor: Actor, session: SessionView) -> bool:
        if actor.is_admin:
            return True
        return (
            actor.is_organizer
            and actor.user_id is not None
            and (session.created_by == actor.user_id)
        )

    async def set_organizer(self, target: str, enable: bool = True) -> UserView | None:
        """Make a registered user (Telegram id or @username) an organizer, or back to staff.

        Returns the updated user, or None when no such registered user exists. Admins keep
        their admin role.
        """
        target = target.strip()
        if target.lstrip("-").isdigit():
            view = await self.users.get(int(target))
        else:
            view = await self.users.find_by_username(target)
        if view is None:
            return None
        if view.role == ROLE_ADMIN:
            return view
        return await self.users.set_role(view.telegram_id, ROLE_ORGANIZER if enable else ROLE_STAFF)

    # -- sessions ----------------------------------------------------------------------------
    async def create_session(
        self,
        title: str,
        *,
        starts_on: date | None = None,
        ends_on: date | None = None,
        place: str | None = None,
        organizer_name: str | None = None,
        topics: list[str] | None = None,
        template_id: str = DEFAULT_TEMPLATE,
        anonymous: bool = False,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
        created_by_telegram_id: int | None = None,
    ) -> SessionView:
        title = _clean(title, TITLE_MAX) or ""
        if len(title) < TITLE_MIN:
            raise SessionInputError(f"Judul sesi minimal {TITLE_MIN} karakter.")
        place = _clean(place, PLACE_MAX)
        organizer_name = _clean(organizer_name, ORGANIZER_MAX)
        if starts_on and ends_on and ends_on < starts_on:
            raise SessionInputError("Tanggal selesai tidak boleh sebelum tanggal mulai.")
        if ends_on and not starts_on:
            starts_on = ends_on
        now = utcnow()
        opens_at = opens_at or now
        if closes_at is not None and closes_at <= opens_at:
            raise SessionInputError("Waktu tutup harus setelah waktu buka.")
        tpl = self.template(template_id)
        try:
            topic_list = clean_topics(topics) if topics else list(tpl.default_topics)
        except ValueError as exc:
            raise SessionInputError(f"Daftar materi: {exc}") from None
        try:
            questionnaire = expand(tpl, topic_list)
        except TemplateError as exc:
            raise SessionInputError(f"Kuesioner: {exc}") from None
        created_by = None
        if created_by_telegram_id is not None:
            view = await self.users.get(created_by_telegram_id)
            created_by = view.id if view else None
        for _attempt in range(10):
            code = generate_code()
            try:
                async with self.db.session() as s:
                    if await s.scalar(
                        select(FeedbackSession.id).where(FeedbackSession.code == code)
                    ):
                        continue
                    row = FeedbackSession(
                        code=code,
                        title=title,
                        starts_on=starts_on,
                        ends_on=ends_on,
                        place=place,
                        organizer_name=organizer_name,
                        topics=topic_list,
                        template_id=tpl.id,
                        questionnaire=questionnaire,
                        opens_at=opens_at,
                        closes_at=closes_at,
                        anonymous=anonymous,
                        salt=secrets.token_hex(16),
                        created_by=created_by,
                    )
                    s.add(row)
                    await s.flush()
                    return _session_view(row)
            except IntegrityError:
                continue
        raise RuntimeError("tidak bisa membuat kode sesi yang unik")

    async def get_session(self, code: str) -> SessionView | None:
        code_n = normalize_code(code)
        if code_n is None:
            return None
        async with self.db.session() as s:
            row = await s.scalar(select(FeedbackSession).where(FeedbackSession.code == code_n))
            return _session_view(row) if row else None

    async def require_session(self, code: str) -> SessionView:
        view = await self.get_session(code)
        if view is None:
            raise SessionNotFound(code=code)
        return view

    async def list_sessions(
        self, actor: Actor | None = None, *, limit: int = 20
    ) -> list[SessionListItem]:
        """Newest first: every session for admins, their own for organizers."""
        async with self.db.session() as s:
            q = select(FeedbackSession).order_by(FeedbackSession.id.desc()).limit(limit)
            if actor is not None and not actor.is_admin:
                if not actor.is_organizer or actor.user_id is None:
                    return []
                q = q.where(FeedbackSession.created_by == actor.user_id)
            rows = (await s.scalars(q)).all()
            if not rows:
                return []
            counts = await s.execute(
                select(FeedbackResponse.session_id, FeedbackResponse.status, func.count())
                .where(FeedbackResponse.session_id.in_([r.id for r in rows]))
                .group_by(FeedbackResponse.session_id, FeedbackResponse.status)
            )
            by: dict[tuple[int, str], int] = {(sid, st): n for sid, st, n in counts.all()}
            return [
                SessionListItem(
                    _session_view(r),
                    by.get((r.id, STATUS_SUBMITTED), 0),
                    by.get((r.id, STATUS_IN_PROGRESS), 0),
                )
                for r in rows
            ]

    async def session_item(self, code: str) -> SessionListItem:
        """One session with its response counts."""
        async with self.db.session() as s:
            row = await self._session_row(s, code)
            counts = await s.execute(
                select(FeedbackResponse.status, func.count())
                .where(FeedbackResponse.session_id == row.id)
                .group_by(FeedbackResponse.status)
            )
            by = dict(counts.all())
            return SessionListItem(
                _session_view(row), by.get(STATUS_SUBMITTED, 0), by.get(STATUS_IN_PROGRESS, 0)
            )

    async def open_session(self, code: str) -> SessionView:
        """Open now (also re-opens a closed session; a future closing time is kept)."""
        now = utcnow()
        async with self.db.session() as s:
            row = await self._session_row(s, code)
            if row.opens_at is None or row.opens_at > now:
                row.opens_at = now
            if row.closes_at is not None and row.closes_at <= now:
                row.closes_at = None
            await s.flush()
            return _session_view(row)

    async def close_session(self, code: str) -> SessionView:
        now = utcnow()
        async with self.db.session() as s:
            row = await self._session_row(s, code)
            if row.closes_at is None or row.closes_at > now:
                row.closes_at = now
            await s.flush()
            return _session_view(row)

    def deep_link(self, session: SessionView | str, bot_username: str) -> str:
        code = session if isinstance(session, str) else session.code
        return deep_link(code, bot_username)

    def qr_png(self, session: SessionView, bot_username: str) -> bytes:
        return qr_png(deep_link(session.code, bot_username), session.title, session.code)

    async def _session_row(self, s, code: str) -> FeedbackSession:
        code_n = normalize_code(code)
        row = None
        if code_n is not None:
            row = await s.scalar(select(FeedbackSession).where(FeedbackSession.code == code_n))
        if row is None:
            raise SessionNotFound(code=code)
        return row

    # -- answering ---------------------------------------------------------------------------
    # The hot path (hundreds of participants at once) is one read and one short write:
    # - read: the session (light columns; the frozen questionnaire and the salt are cached per
    #   session, they never change), the response and its answers - one query once the salt of
    #   the session is known;
    # - write: guarded by the question index that was read (``WHERE current_index = :index``),
    #   so a concurrent or stale action changes nothing (StaleStep) without holding row locks,
    #   on PostgreSQL and SQLite alike. On SQLite the short write transactions are queued
    #   in-process (one writer; its busy handler would otherwise poll with growing sleeps).

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Any]:
        if self._write_lock is None:
            async with self.db.session() as s:
                yield s
            return
        async with self._write_lock, self.db.session() as s:
            yield s

    def _view(self, m, questionnaire: dict[str, Any]) -> SessionView:
        return SessionView(
            id=m["id"],
            code=m["code"],
            title=m["title"],
            starts_on=m["starts_on"],
            ends_on=m["ends_on"],
            place=m["place"],
            organizer_name=m["organizer_name"],
            topics=list(m["topics"] or []),
            template_id=m["template_id"],
            questionnaire=questionnaire,
            opens_at=m["opens_at"],
            closes_at=m["closes_at"],
            anonymous=m["anonymous"],
            created_by=m["created_by"],
            created_at=m["created_at"],
        )

    async def _read(
        self, code: str, telegram_id: int
    ) -> tuple[SessionView, str, _Resp | None, dict[str, tuple[Any, str | None]]]:
        """(open session, respondent hash, response or None, answers by key)."""
        code_n = normalize_code(code)
        if code_n is None:
            raise SessionNotFound(code=code)
        async with self.db.session() as s:
            known = self._frozen.get(code_n)
            if known is None:
                row = (
                    await s.execute(
                        select(
                            FeedbackSession.id, FeedbackSession.salt, FeedbackSession.questionnaire
                        ).where(FeedbackSession.code == code_n)
                    )
                ).first()
                if row is None:
                    raise SessionNotFound(code=code)
                known = self._frozen[code_n] = (row[0], row[1], row[2])
            sid, salt, questionnaire = known
            rhash = respondent_hash(salt, code_n, telegram_id, self.settings.feedback_secret)
            rows = (
                await s.execute(
                    select(
                        *_LIGHT_COLUMNS,
                        FeedbackResponse.id.label("r_id"),
                        FeedbackResponse.status.label("r_status"),
                        FeedbackResponse.current_index.label("r_index"),
                        FeedbackResponse.revision.label("r_revision"),
                        FeedbackAnswer.key.label("a_key"),
                        FeedbackAnswer.value.label("a_value"),
                        FeedbackAnswer.text.label("a_text"),
                    )
                    .select_from(FeedbackSession)
                    .outerjoin(
                        FeedbackResponse,
                        (FeedbackResponse.session_id == FeedbackSession.id)
                        & (FeedbackResponse.respondent_hash == rhash),
                    )
                    .outerjoin(FeedbackAnswer, FeedbackAnswer.response_id == FeedbackResponse.id)
                    .where(FeedbackSession.id == sid)
                )
            ).all()
        if not rows:  # deleted meanwhile
            self._frozen.pop(code_n, None)
            raise SessionNotFound(code=code)
        m = rows[0]._mapping
        view = self._view(m, questionnaire)
        status = view.status()
        if status == SCHEDULED:
            raise SessionNotOpen(code=view.code, title=view.title, opens_at=view.opens_at)
        if status == CLOSED:
            raise SessionClosed(code=view.code, title=view.title, closes_at=view.closes_at)
        if m["r_id"] is None:
            return view, rhash, None, {}
        answers = {
            r._mapping["a_key"]: (r._mapping["a_value"], r._mapping["a_text"])
            for r in rows
            if r._mapping["a_key"] is not None
        }
        resp = _Resp(m["r_id"], m["r_status"], m["r_index"], m["r_revision"])
        return view, rhash, resp, answers

    @staticmethod
    async def _move(s, resp: _Resp, new_index: int, now: datetime, **values: Any) -> None:
        """Set the response's position, only if nothing changed it since it was read."""
        res = await s.execute(
            update(FeedbackResponse)
            .where(FeedbackResponse.id == resp.id, FeedbackResponse.revision == resp.revision)
            .values(current_index=new_index, revision=resp.revision + 1, updated_at=now, **values)
        )
        if res.rowcount != 1:
            raise StaleStep(index=resp.current_index)
        resp.revision += 1

    async def start(self, code: str, telegram_id: int) -> Step:
        """Begin, resume, or (already submitted) show the review to edit before closing."""
        for _attempt in range(3):
            view, rhash, resp, answers = await self._read(code, telegram_id)
            if resp is not None:
                if resp.status == STATUS_SUBMITTED and resp.current_index != view.total:
                    try:  # editing a submitted response starts from the review
                        async with self._write() as s:
                            await self._move(s, resp, view.total, _stamp(view))
                    except StaleStep:
                        continue
                    resp.current_index = view.total
                return self._step(
                    view,
                    resp,
                    answers,
                    resumed=resp.status == STATUS_IN_PROGRESS and bool(answers),
                    force_review=resp.status == STATUS_SUBMITTED,
                )
            try:
                async with self._write() as s:
                    user_id = None
                    if not view.anonymous:
                        user_id = await s.scalar(
                            select(User.id).where(User.telegram_id == telegram_id)
                        )
                    now = _stamp(view)
                    rid = (
                        await s.execute(
                            insert(FeedbackResponse)
                            .values(
                                session_id=view.id,
                                user_id=user_id,
                                respondent_hash=rhash,
                                status=STATUS_IN_PROGRESS,
                                current_index=0,
                                revision=0,
                                started_at=now,
                                updated_at=now,
                            )
                            .returning(FeedbackResponse.id)
                        )
                    ).scalar_one()
                return self._step(view, _Resp(rid, STATUS_IN_PROGRESS, 0), {}, new=True)
            except IntegrityError:
                continue  # a concurrent start created it first: read it back
        raise RuntimeError("gagal memulai respons")

    async def current(self, code: str, telegram_id: int) -> Step:
        """The participant's current step (no change); NoResponse when they never started."""
        view, _, resp, answers = await self._read(code, telegram_id)
        if resp is None:
            raise NoResponse(code=view.code)
        return self._step(view, resp, answers)

    async def answer(self, code: str, telegram_id: int, index: int, raw: int) -> Step:
        """A button answer for question ``index`` (rating/nps value, or single choice index)."""

        def act(q, answers):
            value, text = parse_button(q, raw)
            return "set_next", (value, text)

        return await self._act(code, telegram_id, index, act)

    async def answer_text(self, code: str, telegram_id: int, index: int, raw: str) -> Step:
        """A typed answer for question ``index`` (see :func:`parse_text`)."""

        def act(q, answers):
            value, text = parse_text(q, raw)
            if q["type"] == "multi":
                kept = answers.get(q["key"], (None, None))[0] or []
                return "set_stay", (list(kept), text)
            return "set_next", (value, text)

        return await self._act(code, telegram_id, index, act)

    async def toggle(self, code: str, telegram_id: int, index: int, choice: int) -> Step:
        """Multiple choice: add or remove choice number ``choice`` (0-based)."""

        def act(q, answers):
            if q["type"] != "multi":
                raise InvalidAnswer("use_buttons")
            choices = q["choices"]
            if not 0 <= choice < len(choices):
                raise InvalidAnswer("unknown_choice")
            cid = choices[choice]["id"]
            value, text = answers.get(q["key"], (None, None))
            chosen = list(value or [])
            if cid in chosen:
                chosen.remove(cid)
            else:
                limit = q.get("max_choices")
                if limit and len(chosen) >= limit:
                    raise InvalidAnswer("too_many_choices", max=limit)
                chosen.append(cid)
            order = [c["id"] for c in choices]
            chosen.sort(key=order.index)
            return "set_stay", (chosen, text)

        return await self._act(code, telegram_id, index, act)

    async def next(self, code: str, telegram_id: int, index: int) -> Step:
        """Keep the current answer and go on (also ends a multiple choice question)."""

        def act(q, answers):
            value, text = answers.get(q["key"], (None, None))
            if q["required"] and not is_answered(q, value, text):
                raise InvalidAnswer("required")
            return "move", index + 1

        return await self._act(code, telegram_id, index, act)

    async def skip(self, code: str, telegram_id: int, index: int) -> Step:
        """Skip an optional question (removes an earlier answer to it)."""

        def act(q, answers):
            if q["required"]:
                raise InvalidAnswer("required")
            return "clear_next", None

        return await self._act(code, telegram_id, index, act)

    async def back(self, code: str, telegram_id: int, index: int) -> Step:
        """One question back (from the review screen: the last question)."""
        return await self._act(code, telegram_id, index, lambda q, a: ("move", index - 1))

    async def goto(self, code: str, telegram_id: int, index: int, target: int) -> Step:
        """From the review screen (``index`` == total): open question ``target`` to change it."""
        return await self._act(code, telegram_id, index, lambda q, a: ("move", target))

    async def submit(self, code: str, telegram_id: int) -> Step:
        """Submit from the review screen; a review with ``missing`` when required ones lack."""
        view, _, resp, answers = await self._read(code, telegram_id)
        if resp is None:
            raise NoResponse(code=view.code)
        if resp.current_index < view.total:
            raise StaleStep(index=resp.current_index)
        missing = [
            i + 1
            for i, q in enumerate(view.questions)
            if q["required"] and not is_answered(q, *answers.get(q["key"], (None, None)))
        ]
        if missing:
            return self._step(view, resp, answers, missing=missing)
        now = _stamp(view)
        was_submitted = resp.status == STATUS_SUBMITTED
        async with self._write() as s:
            await self._move(
                s,
                resp,
                view.total,
                now,
                status=STATUS_SUBMITTED,
                submitted_at=func.coalesce(FeedbackResponse.submitted_at, now),
            )
        resp.status = STATUS_SUBMITTED
        step = self._step(view, resp, answers)
        return Step(
            kind="done",
            session=view,
            index=view.total,
            total=view.total,
            lines=step.lines,
            submitted=was_submitted,
        )

    async def _act(self, code: str, telegram_id: int, index: int, fn) -> Step:
        view, _, resp, answers = await self._read(code, telegram_id)
        if resp is None:
            raise NoResponse(code=view.code)
        if index != resp.current_index or not 0 <= index <= view.total:
            raise StaleStep(index=resp.current_index)
        q = view.questions[index] if index < view.total else None
        if q is None:
            # the review screen only allows moving (back / goto)
            kind, arg = fn({"type": "review", "key": "", "required": False}, answers)
            if kind != "move":
                raise StaleStep(index=resp.current_index)
        else:
            kind, arg = fn(q, answers)
        now = _stamp(view)
        new_index = index
        if kind in ("set_next", "clear_next"):
            new_index = index + 1
        elif kind == "move":
            new_index = max(0, min(int(arg), view.total))
        try:
            async with self._write() as s:
                await self._move(s, resp, new_index, now)
                if kind in ("set_next", "set_stay"):
                    value, text = arg
                    if q["key"] in answers:
                        await s.execute(
                            update(FeedbackAnswer)
                            .where(
                                FeedbackAnswer.response_id == resp.id,
                                FeedbackAnswer.key == q["key"],
                            )
                            .values(value=value, text=text, updated_at=now)
                        )
                    else:
                        await s.execute(
                            insert(FeedbackAnswer).values(
                                response_id=resp.id,
                                key=q["key"],
                                value=value,
                                text=text,
                                updated_at=now,
                            )
                        )
                    answers[q["key"]] = (value, text)
                elif kind == "clear_next" and q["key"] in answers:
                    await s.execute(
                        delete(FeedbackAnswer).where(
                            FeedbackAnswer.response_id == resp.id, FeedbackAnswer.key == q["key"]
                        )
                    )
                    answers.pop(q["key"], None)
        except IntegrityError:  # the same answer inserted concurrently: this action is stale
            raise StaleStep(index=resp.current_index) from None
        resp.current_index = new_index
        return self._step(view, resp, answers)

    def _step(
        self,
        view: SessionView,
        resp: _Resp,
        answers: dict[str, tuple[Any, str | None]],
        *,
        new: bool = False,
        resumed: bool = False,
        force_review: bool = False,
        missing: list[int] | None = None,
    ) -> Step:
        total = view.total
        index = resp.current_index
        if force_review:
            index = total
        submitted = resp.status == STATUS_SUBMITTED
        if index >= total:
            lines = []
            for i, q in enumerate(view.questions):
                value, text = answers.get(q["key"], (None, None))
                ans = display_answer(q, value, text) if is_answered(q, value, text) else None
                lines.append(ReviewLine(i + 1, q["short"], q["text"], q["required"], ans))
            return Step(
                kind="review",
                session=view,
                index=total,
                total=total,
                lines=lines,
                submitted=submitted,
                new=new,
                resumed=resumed,
                missing=missing or [],
            )
        q = view.questions[index]
        value, text = answers.get(q["key"], (None, None))
        ans = (
            AnswerView(value, text, display_answer(q, value, text))
            if is_answered(q, value, text)
            else None
        )
        selected = frozenset(value or []) if q["type"] == "multi" else frozenset()
        return Step(
            kind="question",
            session=view,
            index=index,
            total=total,
            question=q,
            answer=ans,
            selected=selected,
            submitted=submitted,
            new=new,
            resumed=resumed,
        )

    # -- organizers: reminders ---------------------------------------------------------------
    async def unfinished(self, code: str) -> list[Participant]:
        """Participants who opened the questionnaire but did not submit (non-anonymous only).

        Anonymous sessions keep no link to participants, so nobody can be reminded:
        :class:`NotAllowed` with reason ``anonymous``.
        """
        async with self.db.session() as s:
            sess = await self._session_row(s, code)
            if sess.anonymous:
                raise NotAllowed("anonymous", code=sess.code)
            rows = await s.execute(
                select(User.id, User.chat_id, User.name)
                .join(FeedbackResponse, FeedbackResponse.user_id == User.id)
                .where(
                    FeedbackResponse.session_id == sess.id,
                    FeedbackResponse.status == STATUS_IN_PROGRESS,
                    User.is_active.is_(True),
                )
                .order_by(User.id)
            )
            return [Participant(uid, chat, name) for uid, chat, name in rows.all()]

    async def queue_reminders(
        self,
        code: str,
        outbox: Any,
        *,
        text: str,
        buttons: list | None = None,
        creator_user_id: int | None = None,
        creator_chat_id: int | None = None,
    ) -> int:
        """Remind every unfinished participant through the outbox (``bot.outbox``).

        One outbox message per session and day (``dedupe_key``), so pressing "remind" twice on
        the same day does not message anyone twice. Returns how many participants are queued.
        """
        from bot.models.outbox import KIND_SYSTEM, MSG_RUNNING
        from bot.outbox.store import Recipient, buttons_to_json

        people = await self.unfinished(code)
        if not people:
            return 0
        sess = await self.require_session(code)
        day = utcnow().astimezone(self.settings.tz).date().isoformat()
        message_id, _ = await outbox.create_message(
            KIND_SYSTEM,
            text=text,
            buttons=buttons_to_json(buttons) if buttons else None,
            creator_user_id=creator_user_id,
            creator_chat_id=creator_chat_id,
            status=MSG_RUNNING,
            dedupe_key=f"feedback-remind:{sess.code}:{day}",
        )
        await outbox.enqueue(
            message_id, [Recipient(chat_id=p.chat_id, user_id=p.user_id) for p in people]
        )
        return len(people)

    # -- retention ---------------------------------------------------------------------------
    async def purge(self, now: datetime | None = None, days: int | None = None) -> int:
        """Unlink responses not touched for ``feedback_retention_days``: ``user_id`` NULL and
        the respondent hash replaced by a random value. Answers stay for the statistics.
        Returns how many responses were unlinked."""
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=days or self.settings.feedback_retention_days)
        async with self.db.session() as s:
            result = await s.execute(
                update(FeedbackResponse)
                .where(FeedbackResponse.purged_at.is_(None), FeedbackResponse.updated_at < cutoff)
                .values(
                    user_id=None,
                    # unique per response, derived from nothing about the participant
                    respondent_hash=literal("purged-").concat(cast(FeedbackResponse.id, String)),
                    purged_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)

    async def forget(self, telegram_id: int) -> int:
        """Unlink every response of one participant now (for /hapusdata): ``user_id`` NULL and
        the respondent hash replaced, in every session. Answers stay, anonymous. Returns how
        many responses were unlinked."""
        now = utcnow()
        async with self.db.session() as s:
            sessions = (
                await s.execute(
                    select(FeedbackSession.id, FeedbackSession.code, FeedbackSession.salt)
                )
            ).all()
            hashes = [
                (sid, respondent_hash(salt, code, telegram_id, self.settings.feedback_secret))
                for sid, code, salt in sessions
            ]
            n = 0
            for sid, rhash in hashes:
                result = await s.execute(
                    update(FeedbackResponse)
                    .where(
                        FeedbackResponse.session_id == sid,
                        FeedbackResponse.respondent_hash == rhash,
                    )
                    .values(
                        user_id=None,
                        respondent_hash=literal("purged-").concat(
                            cast(FeedbackResponse.id, String)
                        ),
                        purged_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                n += int(result.rowcount or 0)
            return n

    # -- reports -----------------------------------------------------------------------------
    async def report_data(self, code: str):
        from bot.feedback.report import load_report_data

        return await load_report_data(self.db, code)
