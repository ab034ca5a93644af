"""Stale buttons, one mechanism for every dialogue.

A dialogue's buttons carry its token at the end of their callback data, ``<data>~<kind><token>``
(kind: one letter, token: six characters; at most 64 bytes in all, Telegram's limit). Before
any feature sees a press, :func:`gate` (handler group -1) compares the token with the user's
open dialogue of that kind (``core.dialogs``): a button of a finished dialogue, or of one a
newer dialogue of the same kind replaced, answers "Tombol ini sudah tidak berlaku" and changes
nothing. Features read callback data through ``callback_parts``, which drops the tag.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.transport import Button
from handlers.common import DIALOG_TAG, Ctx, core, stale

log = logging.getLogger(__name__)

SEP = "~"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
_TAG = DIALOG_TAG

# Dialogue kinds (one letter each).
REMINDER = "r"  # creating a reminder (/pengingat -> Tambah)
REMINDER_LIST = "l"  # the /pengingat list
REMINDER_DELETE = "x"  # "delete this reminder?" confirmation
SUBSCRIPTIONS = "s"  # the /langganan screen
TIPS = "t"  # the tip schedule (/langganan, admins)
BROADCAST = "b"  # composing a broadcast (/siaran)
WIZARD = "w"  # the /sesi wizard
PROFILE = "p"  # /profil
CARD = "c"  # feedback session cards (/sesi)
GAPS = "g"  # a /celah report and its groups
CANDIDATES = "k"  # /kandidat, candidate phrasings

# A command abandons the free-text dialogue in progress: pending state -> its dialogue kind.
_PENDING_KINDS: dict[str, str] = {}


def register_pending_kind(pending: str, kind: str) -> None:
    _PENDING_KINDS[pending] = kind


def pending_kind(pending: str | None) -> str | None:
    return _PENDING_KINDS.get(pending or "")


def tag(data: str, kind: str, token: str) -> str:
    tagged = f"{data}{SEP}{kind}{token}"
    if len(tagged.encode()) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {tagged!r}")
    return tagged


def untag(data: str) -> str:
    m = _TAG.search(data)
    return data[: m.start()] if m else data


def tag_of(data: str | None) -> tuple[str, str] | None:
    m = _TAG.search(data or "")
    return (m.group(1), m.group(2)) if m else None


def tag_rows(
    rows: Sequence[Sequence[Button]] | None, kind: str, token: str
) -> list[list[Button]] | None:
    """The same keyboard with every callback button carrying the dialogue's token."""
    if rows is None:
        return None
    return [
        [
            Button(b.text, callback_data=tag(b.callback_data, kind, token), url=b.url)
            if b.callback_data and not _TAG.search(b.callback_data)
            else b
            for b in row
        ]
        for row in rows
    ]


def pressed_token(update: Update, kind: str) -> str | None:
    """The token of the pressed button, when it belongs to a dialogue of ``kind``."""
    q = update.callback_query
    t = tag_of(q.data if q else None)
    return t[1] if t and t[0] == kind else None


async def token_for(update: Update, context: Ctx, kind: str, *, new: bool = False) -> str:
    """The token for buttons of a dialogue of ``kind``: the pressed button's (the dialogue
    goes on), else the open one, else (or with ``new``) a fresh dialogue."""
    user = update.effective_user
    assert user is not None
    dialogs = core(context).dialogs
    if not new:
        token = pressed_token(update, kind) or await dialogs.current(user.id, kind)
        if token:
            return token
    return await dialogs.open(user.id, kind)


async def close(update: Update, context: Ctx, *kinds: str) -> None:
    user = update.effective_user
    if user is None:
        return
    for kind in kinds:
        await core(context).dialogs.close(user.id, kind)


async def gate(update: Update, context: Ctx) -> None:
    """Group -1: a tagged button whose dialogue is over is answered as stale, and stops here."""
    q = update.callback_query
    user = update.effective_user
    t = tag_of(q.data if q else None)
    if t is None or user is None:
        return
    if await core(context).dialogs.is_current(user.id, *t):
        return
    await stale(update, context)
    raise ApplicationHandlerStop
