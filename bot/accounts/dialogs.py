"""Dialogue tokens: which dialogue of each kind a user has open.

A dialogue (creating a reminder, composing a broadcast, the /sesi wizard, a /profil screen...)
gets a fresh token when it starts; its buttons carry the token. When it finishes, or a newer
dialogue of the same kind starts, the token no longer matches and the old buttons are stale.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select

from bot.accounts.models import User
from bot.db import Database

_ALPHABET = string.ascii_letters + string.digits
TOKEN_LEN = 6


def new_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LEN))


class Dialogues:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, telegram_id: int, kind: str) -> str:
        """Start a dialogue of ``kind`` (replacing any open one); returns its token."""
        token = new_token()
        async with self.db.session() as s:
            u = await s.scalar(select(User).where(User.telegram_id == telegram_id))
            if u is not None:
                u.dialogs = {**(u.dialogs or {}), kind: token}
        return token

    async def current(self, telegram_id: int, kind: str) -> str | None:
        async with self.db.session() as s:
            dialogs = await s.scalar(select(User.dialogs).where(User.telegram_id == telegram_id))
        return (dialogs or {}).get(kind)

    async def is_current(self, telegram_id: int, kind: str, token: str) -> bool:
        return token != "" and await self.current(telegram_id, kind) == token

    async def close(self, telegram_id: int, kind: str) -> None:
        """The dialogue of ``kind`` finished: its buttons are stale from now on."""
        async with self.db.session() as s:
            u = await s.scalar(select(User).where(User.telegram_id == telegram_id))
            if u is not None and u.dialogs and kind in u.dialogs:
                u.dialogs = {k: v for k, v in u.dialogs.items() if k != kind}
