"""/hapusdata across the features: what is deleted and what stays, anonymous.

Exactly what ``/privasi`` and the confirmation promise (templates ``privacy`` and
``delete_confirm``):

- deleted: the user row (name, username, Telegram id, OPD, language, half-finished dialogues),
  personal reminders (their schedules, the reminder messages already sent or still queued and
  their deliveries), every delivery to the user's chat, questions forwarded to the Diskominfo
  helpdesk (the logged question; the ticket's texts and thread with the helpdesk's answers are
  scrubbed by :meth:`bot.tickets.service.TicketService.forget_user`, only the fact that a ticket
  existed stays), comments given with a rating, and the free-text answers of surveys that were
  not anonymous;
- kept without identity: other questions asked to the bot (no user, no OPD) with their ratings,
  the scores and choices of survey answers (unlinked from the participant by
  :meth:`bot.feedback.service.FeedbackService.forget`), broadcasts the user sent as an admin
  (official messages; the sender's chat is removed from them).
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update

from bot.db import Database
from bot.feedback.models import FeedbackAnswer, FeedbackResponse, FeedbackSession
from bot.knowledge.models import QuestionLog
from bot.outbox.models import (
    KIND_REMINDER,
    MSG_CANCELLED,
    MSG_DONE,
    BroadcastConfirmation,
    Delivery,
    OutboxMessage,
)
from bot.tickets.models import Ticket


async def erase_personal_texts(db: Database, user_id: int, chat_id: int) -> None:
    """Delete or anonymise the user's texts outside the user row (one transaction)."""
    async with db.session() as s:
        # survey free text of identified (non-anonymous) sessions
        identified = (
            select(FeedbackResponse.id)
            .join(FeedbackSession, FeedbackResponse.session_id == FeedbackSession.id)
            .where(FeedbackResponse.user_id == user_id, FeedbackSession.anonymous.is_(False))
        )
        await s.execute(
            update(FeedbackAnswer)
            .where(FeedbackAnswer.response_id.in_(identified), FeedbackAnswer.text.is_not(None))
            .values(text=None)
            .execution_options(synchronize_session=False)
        )
        # questions forwarded to the helpdesk: the logged question goes (the ticket and its
        # thread are scrubbed by TicketService.forget_user, which Core calls next)
        forwarded = list(
            (
                await s.scalars(
                    select(Ticket.question_id).where(
                        Ticket.user_id == user_id, Ticket.question_id.is_not(None)
                    )
                )
            ).all()
        )
        await s.execute(update(Ticket).where(Ticket.user_id == user_id).values(opd_name=None))
        if forwarded:
            await s.execute(
                delete(QuestionLog).where(
                    QuestionLog.id.in_(forwarded), QuestionLog.user_id == user_id
                )
            )
        # other questions stay, anonymous; comments given with a rating go
        await s.execute(
            update(QuestionLog)
            .where(QuestionLog.user_id == user_id)
            .values(user_id=None, opd_id=None, vote_comment=None)
        )
        # reminder messages (their text is the reminder's) and every delivery to the chat
        await s.execute(
            delete(OutboxMessage).where(
                OutboxMessage.kind == KIND_REMINDER, OutboxMessage.creator_user_id == user_id
            )
        )
        await s.execute(
            delete(Delivery).where(or_(Delivery.user_id == user_id, Delivery.chat_id == chat_id))
        )
        await s.execute(
            delete(BroadcastConfirmation).where(
                or_(
                    BroadcastConfirmation.user_id == user_id,
                    BroadcastConfirmation.chat_id == chat_id,
                )
            )
        )
        # broadcasts the user sent as an admin stay; their chat does not
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.creator_chat_id == chat_id)
            .values(creator_chat_id=None)
        )
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status_chat_id == chat_id)
            .values(status_chat_id=None, status_message_id=None)
        )
        await s.execute(  # a finished copy-broadcast no longer points into the chat
            update(OutboxMessage)
            .where(
                OutboxMessage.copy_from_chat_id == chat_id,
                OutboxMessage.status.in_([MSG_DONE, MSG_CANCELLED]),
            )
            .values(copy_from_chat_id=None, copy_message_id=None)
        )
