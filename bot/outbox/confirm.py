"""Broadcasts that ask for confirmation ("minta konfirmasi").

A draft is marked by giving it the confirmation button (``cf:<broadcast id>``), so every
recipient's copy carries "✅ Sudah saya laksanakan". A press is one row in
``broadcast_confirmations`` (unique per broadcast and chat: pressing twice counts once). The
admin sees per-OPD counts, exports the list, and can remind those who have not confirmed:
the reminder is a new outbox message to exactly those chats, carrying the same button, so a
confirmation from the reminder counts for the original broadcast.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot.accounts.models import Opd, User
from bot.db import Database
from bot.db.base import utcnow
from bot.outbox.labels import olabel
from bot.outbox.models import (
    D_SENT,
    KIND_BROADCAST,
    MSG_DRAFT,
    MSG_RUNNING,
    BroadcastConfirmation,
    ConfirmView,
    Delivery,
    OutboxMessage,
)
from bot.outbox.store import OutboxService, Recipient, buttons_to_json
from bot.transport import Button

PREFIX = "cf"
NO_OPD = "(OPD belum diisi)"


def confirm_button(message_id: int) -> Button:
    return Button(olabel("cf_button"), callback_data=f"{PREFIX}:{message_id}")


def asks_confirmation(message_id: int, buttons: list | None) -> bool:
    data = f"{PREFIX}:{message_id}"
    return any(b.get("callback_data") == data for row in (buttons or []) for b in row)


@dataclass
class OpdLine:
    name: str
    confirmed: int = 0
    total: int = 0


@dataclass
class ConfirmReport:
    message_id: int
    text: str | None
    started_at: datetime | None
    recipients: int  # deliveries that reached the chat
    confirmed: int
    opds: list[OpdLine] = field(default_factory=list)
    reminders: int = 0
    last_reminder_at: datetime | None = None

    @property
    def missing(self) -> int:
        return self.recipients - self.confirmed


@dataclass(frozen=True)
class ConfirmRow:
    opd: str
    name: str | None
    username: str | None
    confirmed_at: datetime | None


class ConfirmService:
    def __init__(self, db: Database, outbox: OutboxService, clock=utcnow) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock

    async def set_asking(self, message_id: int, on: bool) -> bool:
        """Turn "minta konfirmasi" on or off for a draft."""
        rows = buttons_to_json([[confirm_button(message_id)]]) if on else None
        async with self.db.session() as s:
            res = await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == MSG_DRAFT)
                .values(buttons=rows)
            )
            return res.rowcount > 0

    async def is_asking(self, message_id: int) -> bool:
        async with self.db.session() as s:
            buttons = await s.scalar(
                select(OutboxMessage.buttons).where(OutboxMessage.id == message_id)
            )
        return asks_confirmation(message_id, buttons)

    async def confirm(self, message_id: int, chat_id: int) -> str:
        """A recipient pressed the button: "new", "again" or "invalid" (not a confirmation
        broadcast, or this chat never received it)."""
        async with self.db.session() as s:
            m = await s.get(OutboxMessage, message_id)
            if m is None or not asks_confirmation(message_id, m.buttons):
                return "invalid"
            row = (
                await s.execute(
                    select(Delivery.id, Delivery.user_id).where(
                        Delivery.message_id == message_id, Delivery.chat_id == chat_id
                    )
                )
            ).first()
            if row is None:
                return "invalid"
            user_id = row[1]
            stmt = (
                self.outbox._insert(BroadcastConfirmation)
                .values(
                    message_id=message_id,
                    chat_id=chat_id,
                    user_id=user_id,
                    confirmed_at=self.clock(),
                )
                .on_conflict_do_nothing(index_elements=["message_id", "chat_id"])
            )
            res = await s.execute(stmt)
            return "new" if res.rowcount else "again"

    async def _rows(self, s, message_id: int):
        return (
            await s.execute(
                select(
                    Delivery.chat_id,
                    User.name,
                    User.username,
                    Opd.name,
                    User.opd_other,
                    BroadcastConfirmation.confirmed_at,
                )
                .outerjoin(User, Delivery.user_id == User.id)
                .outerjoin(Opd, User.opd_id == Opd.id)
                .outerjoin(
                    BroadcastConfirmation,
                    (BroadcastConfirmation.message_id == Delivery.message_id)
                    & (BroadcastConfirmation.chat_id == Delivery.chat_id),
                )
                .where(Delivery.message_id == message_id, Delivery.status == D_SENT)
            )
        ).all()

    async def report(self, message_id: int) -> ConfirmReport | None:
        async with self.db.session() as s:
            m = await s.get(OutboxMessage, message_id)
            if m is None or not asks_confirmation(message_id, m.buttons):
                return None
            rows = await self._rows(s, message_id)
            reminders, last = await self._reminders(s, message_id)
        by: dict[str, OpdLine] = {}
        for _chat, _name, _username, opd, other, at in rows:
            key = opd or other or NO_OPD
            line = by.setdefault(key, OpdLine(key))
            line.total += 1
            line.confirmed += at is not None
        opds = sorted(by.values(), key=lambda o: (o.confirmed / o.total, o.name.lower()))
        return ConfirmReport(
            message_id=message_id,
            text=m.text,
            started_at=m.started_at,
            recipients=len(rows),
            confirmed=sum(1 for r in rows if r[5] is not None),
            opds=opds,
            reminders=reminders,
            last_reminder_at=last,
        )

    async def set_view(self, message_id: int, chat_id: int, view_message_id: int) -> None:
        """Remember where the admin looks at this broadcast's confirmations (the latest view
        wins), so new confirmations update that message."""
        async with self.db.session() as s:
            row = await s.get(ConfirmView, message_id)
            if row is None:
                s.add(
                    ConfirmView(
                        message_id=message_id,
                        chat_id=chat_id,
                        view_message_id=view_message_id,
                        updated_at=self.clock(),
                    )
                )
            else:
                row.chat_id, row.view_message_id = chat_id, view_message_id
                row.updated_at = self.clock()

    async def view(self, message_id: int) -> tuple[int, int] | None:
        async with self.db.session() as s:
            row = await s.get(ConfirmView, message_id)
            return None if row is None else (row.chat_id, row.view_message_id)

    async def recent(self, limit: int = 5) -> list[ConfirmReport]:
        """The latest broadcasts that ask for confirmation, newest first."""
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(OutboxMessage.id, OutboxMessage.buttons)
                    .where(OutboxMessage.kind == KIND_BROADCAST, OutboxMessage.status != MSG_DRAFT)
                    .order_by(OutboxMessage.id.desc())
                    .limit(200)
                )
            ).all()
        ids = [mid for mid, buttons in rows if asks_confirmation(mid, buttons)][:limit]
        out = []
        for mid in ids:
            r = await self.report(mid)
            if r is not None:
                out.append(r)
        return out

    @staticmethod
    async def _reminders(s, message_id: int) -> tuple[int, datetime | None]:
        n, last = (
            await s.execute(
                select(func.count(OutboxMessage.id), func.max(OutboxMessage.created_at)).where(
                    OutboxMessage.dedupe_key.like(f"confirm:remind:{message_id}:%")
                )
            )
        ).one()
        if last is not None and last.tzinfo is None:
            from datetime import UTC

            last = last.replace(tzinfo=UTC)
        return int(n or 0), last

    def _due(self, started: datetime | None, last: datetime | None, after: timedelta) -> bool:
        """A reminder may go ``after`` hours after the broadcast started, and again only
        ``after`` hours after the previous reminder (a double tap never sends two)."""
        now = self.clock()
        if started is None or now - started < after:
            return False
        return last is None or now - last >= after

    def can_remind(self, report: ConfirmReport, after: timedelta) -> bool:
        return bool(report.missing) and self._due(report.started_at, report.last_reminder_at, after)

    async def remind(self, message_id: int, text: str, after: timedelta) -> tuple[int, int] | None:
        """Queue a reminder to every recipient who has not confirmed. Returns (reminder id,
        recipients) or None when there is nobody to remind or it is too early."""
        try:
            return await self._remind(message_id, text, after)
        except IntegrityError:  # a second press at the same instant: the first one won
            return None

    async def _remind(self, message_id: int, text: str, after: timedelta):
        async with self.db.session() as s:
            m = await s.get(OutboxMessage, message_id)
            if m is None or not asks_confirmation(message_id, m.buttons):
                return None
            done, last = await self._reminders(s, message_id)
            if not self._due(m.started_at, last, after):
                return None
            todo = (
                await s.execute(
                    select(Delivery.chat_id, Delivery.user_id)
                    .outerjoin(
                        BroadcastConfirmation,
                        (BroadcastConfirmation.message_id == Delivery.message_id)
                        & (BroadcastConfirmation.chat_id == Delivery.chat_id),
                    )
                    .where(
                        Delivery.message_id == message_id,
                        Delivery.status == D_SENT,
                        BroadcastConfirmation.id.is_(None),
                    )
                )
            ).all()
            if not todo:
                return None
            rid, created = await self.outbox.create_message(
                KIND_BROADCAST,
                text=text,
                buttons=buttons_to_json([[confirm_button(message_id)]]),
                status=MSG_RUNNING,
                dedupe_key=f"confirm:remind:{message_id}:{done + 1}",
                creator_user_id=m.creator_user_id,
                creator_chat_id=m.creator_chat_id,
                session=s,
            )
            if not created:
                return None
            await self.outbox.enqueue(
                rid, [Recipient(chat_id=c, user_id=u) for c, u in todo], session=s
            )
            return rid, len(todo)

    async def export_rows(self, message_id: int) -> list[ConfirmRow]:
        async with self.db.session() as s:
            rows = await self._rows(s, message_id)
        out = [
            ConfirmRow(opd or other or NO_OPD, name, username, at)
            for _chat, name, username, opd, other, at in rows
        ]
        return sorted(out, key=lambda r: (r.opd.lower(), r.confirmed_at is not None, r.name or ""))

    async def export_xlsx(self, message_id: int, timezone: str) -> bytes:
        """The confirmation list as XLSX, times in the deployment's local zone."""
        from openpyxl import Workbook

        tz = ZoneInfo(timezone)
        rows = await self.export_rows(message_id)
        wb = Workbook()
        ws = wb.active
        ws.title = "Konfirmasi"
        ws.append(["OPD", "Nama", "Username", "Status", f"Waktu konfirmasi ({timezone})"])
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            at = r.confirmed_at.astimezone(tz).replace(tzinfo=None) if r.confirmed_at else None
            ws.append(
                [
                    r.opd,
                    r.name or "",
                    f"@{r.username}" if r.username else "",
                    "Sudah" if at else "Belum",
                    at,
                ]
            )
            counts[r.opd][0] += at is not None
            counts[r.opd][1] += 1
        for cell in ws["E"][1:]:
            cell.number_format = "dd/mm/yyyy hh:mm"
        per = wb.create_sheet("Per OPD")
        per.append(["OPD", "Sudah", "Penerima"])
        for name, (done, total) in sorted(counts.items()):
            per.append([name, done, total])
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
