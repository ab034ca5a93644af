"""Secrets the deployment generates itself and keeps in the database (``runtime_secrets``),
so that every process of one deployment uses the same value."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from bot.db import Database
from bot.inbox.models import RuntimeSecret

WEBHOOK = "webhook"


async def shared_secret(db: Database, name: str = WEBHOOK) -> str:
    """The secret called ``name``: generated on first use (``[A-Za-z0-9_-]``, 43 characters,
    what Telegram's ``secret_token`` accepts), then read back by every process."""
    async with db.session() as s:
        value = await s.scalar(select(RuntimeSecret.value).where(RuntimeSecret.name == name))
        if value:
            return value
        if db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        await s.execute(
            insert(RuntimeSecret)
            .values(name=name, value=secrets.token_urlsafe(32))
            .on_conflict_do_nothing(index_elements=["name"])
        )
    # another process may have won the insert: everyone uses the stored value
    async with db.session() as s:
        return await s.scalar(select(RuntimeSecret.value).where(RuntimeSecret.name == name))
