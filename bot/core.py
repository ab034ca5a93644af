"""The application core, assembled once per process and shared by handlers, CLI and tests."""

from __future__ import annotations

import logging

from bot.accounts.dialogs import Dialogues
from bot.accounts.opds import load_opds, sync_opds
from bot.accounts.service import UserService
from bot.background import Background
from bot.budget import RateBudget
from bot.config import Settings
from bot.db import Database, upgrade_async
from bot.feedback.service import FeedbackService
from bot.inbox import InboxService
from bot.knowledge import semantic
from bot.knowledge.service import QAService
from bot.outbox import OutboxService
from bot.outbox.confirm import ConfirmService
from bot.schedules.service import ScheduleService
from bot.tickets.service import TicketService
from bot.transport import Transport

log = logging.getLogger(__name__)


class Core:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.knowledge_dir = settings.resolve_knowledge_dir()
        semantic.configure(settings.vector_cache_dir)
        self.users = UserService(db, settings)
        self.inbox = InboxService(db)
        self.dialogs = Dialogues(db)
        self.bot_username: str | None = None
        self.transport: Transport | None = None
        self.qa = QAService(db, self.knowledge_dir, settings.helpdesk_chat_id)
        self.feedback = FeedbackService(db, settings, self.users)
        self.outbox = OutboxService(db, settings, self.users)
        self.confirm = ConfirmService(db, self.outbox)
        self.schedules = ScheduleService(db, settings, self.outbox)
        self.tickets = TicketService(db, settings.helpdesk_chat_id)
        # one rate budget for every send of the token (replies, broadcasts, status edits)
        self.budget = RateBudget()
        self.background = Background(self)

    @classmethod
    async def create(cls, settings: Settings, *, migrate: bool = True) -> Core:
        if migrate:
            await upgrade_async(settings.database_url)
        core = cls(settings, Database(settings.database_url))
        await core.load_content()
        return core

    async def load_content(self) -> None:
        """Load the files in the knowledge folder that the core depends on."""
        opds = load_opds(self.knowledge_dir)
        await sync_opds(self.db, opds)
        self.users.default_timezone, self.users.region = opds.timezone, opds.region
        await self.qa.load()
        self.schedules.reload_content()
        self.tickets.load_checklists(self.knowledge_dir)

    async def start_background(self, transport: Transport) -> None:
        """Start the sender and scheduler (only one process per database runs them)."""
        self.transport = transport
        await self.background.start(transport)

    async def stop_background(self) -> None:
        await self.background.stop()

    async def delete_personal_data(self, telegram_id: int) -> bool:
        """/hapusdata, exactly as /privasi says (see :mod:`bot.accounts.erasure`): personal
        texts deleted, survey responses unlinked, then the user row deleted (last, so a
        failure half-way leaves the user able to run it again)."""
        from bot.accounts.erasure import erase_personal_texts

        user = await self.users.get(telegram_id)
        if user is None:
            return False
        await erase_personal_texts(self.db, user.id, user.chat_id)
        await self.inbox.forget_chats({user.chat_id, telegram_id})
        await self.tickets.forget_user(user.id)
        await self.feedback.forget(telegram_id)
        return await self.users.delete_personal_data(telegram_id)

    async def close(self) -> None:
        await self.budget.close()
        await self.db.dispose()
