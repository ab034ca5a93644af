"""Every handler of the bot, registered in one place.

Order matters: within one handler group the first matching handler wins, so the catch-alls
(free-text dialogue routing, unknown commands, unrecognised buttons) come last. Free-text
answers to a half-finished dialogue are routed by ``handlers.dialogue`` to the handler
registered for the user's ``pending`` state.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.feedback.codes import DEEPLINK_PREFIX
from handlers import dialogue, fallback, guard, tokens
from handlers.accounts import help, onboarding, opd_match, privacy, profile
from handlers.accounts.onboarding import register_start_payload
from handlers.common import stale
from handlers.dialogue import register_pending, set_default_text_handler
from handlers.feedback import cards, organizer, participant, wizard
from handlers.knowledge import browse, candidates, curation, gapcards, handoff, questions
from handlers.outbox import broadcast, compose, confirm
from handlers.schedules import kalender, reminders, subscriptions
from handlers.tickets import buttons, darurat, desk
from handlers.tokens import register_pending_kind


def register_handlers(app: Application) -> None:
    add = app.add_handler

    # -- edge updates (edits, channel posts, inline buttons, messages without a sender, other
    # update types): answered politely or ignored before any feature sees them
    add(TypeHandler(Update, guard.guard), group=-2)
    # -- dialogue state: a command ends a half-finished dialogue (runs before every command)
    add(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.COMMAND,
            dialogue.on_private_command,
        ),
        group=-1,
    )
    # -- stale buttons: a button of a finished or replaced dialogue changes nothing
    add(CallbackQueryHandler(tokens.gate, pattern=r".*~[a-z][A-Za-z0-9]{6}$"), group=-1)
    for pending, kind in (
        (reminders.PENDING_WHEN, tokens.REMINDER),
        (reminders.PENDING_TEXT, tokens.REMINDER),
        (reminders.PENDING_TIPS, tokens.TIPS),
        (compose.PENDING_COMPOSE, tokens.BROADCAST),
        (compose.PENDING_WHEN, tokens.BROADCAST),
        (wizard.PENDING_WIZARD, tokens.WIZARD),
        ("name", tokens.PROFILE),
        (gapcards.PENDING_FIND, tokens.GAPS),
    ):
        register_pending_kind(pending, kind)

    # -- accounts: /start, the OPD question, /profil, /privasi, /hapusdata, /bantuan
    add(CommandHandler("start", onboarding.cmd_start))
    add(CommandHandler("profil", profile.cmd_profile))
    add(CommandHandler("privasi", privacy.cmd_privacy))
    add(CommandHandler("hapusdata", privacy.cmd_delete))
    add(CommandHandler(["bantuan", "help"], help.cmd_help))
    add(CallbackQueryHandler(onboarding.on_opd_button, pattern=r"^opd:"))
    add(CallbackQueryHandler(profile.on_profile_button, pattern=r"^prof:"))
    add(CallbackQueryHandler(privacy.on_delete_button, pattern=r"^del:"))
    register_pending(opd_match.PENDING_OTHER, opd_match.on_opd_typed)
    register_pending(opd_match.PENDING_PICK, opd_match.on_opd_typed)
    register_pending("name", profile.on_name_text)

    # -- knowledge: questions and answers, /materi, the helpdesk handoff, curation
    add(CommandHandler("tanya", questions.cmd_tanya))
    add(CommandHandler("materi", browse.cmd_materi))
    add(CommandHandler("celah", curation.cmd_celah))
    add(CommandHandler("kandidat", candidates.cmd_kandidat))
    add(CommandHandler("muatulang", curation.cmd_muatulang))
    add(CallbackQueryHandler(gapcards.on_gap_button, pattern=r"^cl:"))
    add(CallbackQueryHandler(candidates.on_candidate_button, pattern=r"^kd:"))
    register_pending(gapcards.PENDING_FIND, gapcards.on_find_text)
    add(CallbackQueryHandler(questions.on_kb_button, pattern=r"^kb:"))
    add(CallbackQueryHandler(browse.on_materi_button, pattern=r"^mt:"))
    add(
        MessageHandler(
            filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & filters.Entity("mention"),
            questions.on_group_mention,
        )
    )
    register_pending(questions.COMMENT_PENDING, questions.on_vote_comment)
    set_default_text_handler(questions.on_private_text)

    # -- tickets: the helpdesk desk (/tiket, /jawab, /tutup, cards, the asker's thread),
    # /darurat for hacked accounts, and the daily digest of old tickets
    helpdesk = app.bot_data["core"].settings.helpdesk_chat_id
    if helpdesk is not None:
        # Only plain replies: commands and mentions in the helpdesk chat work as anywhere.
        add(
            MessageHandler(
                filters.Chat(chat_id=helpdesk) & filters.REPLY & ~filters.COMMAND,
                desk.on_helpdesk_reply,
            )
        )
    add(CommandHandler("tiket", desk.cmd_tiket))
    add(CommandHandler("jawab", desk.cmd_jawab))
    add(CommandHandler("tutup", desk.cmd_tutup))
    add(CallbackQueryHandler(buttons.on_desk_button, pattern=r"^tk:"))
    add(CallbackQueryHandler(handoff.on_asker_button, pattern=r"^tka:"))
    register_pending(handoff.PENDING_FOLLOWUP, handoff.on_followup_text)
    add(CommandHandler("darurat", darurat.cmd_darurat))
    add(CallbackQueryHandler(darurat.on_darurat_button, pattern=r"^dr:"))
    register_pending(darurat.PENDING_ACCOUNT, darurat.on_account_text)
    if app.job_queue is not None:
        app.job_queue.run_repeating(desk.digest_job, interval=1800, first=60, name="ticket_digest")

    # -- feedback: participants answering a survey, organizers running sessions
    add(CommandHandler("umpanbalik", participant.cmd_umpanbalik))
    add(CallbackQueryHandler(participant.on_participant_button, pattern=rf"^{participant.P}:"))
    register_pending(participant.PENDING_ANSWER, participant.on_answer_text)
    register_start_payload(DEEPLINK_PREFIX, participant.start_payload)
    add(CommandHandler("sesi", organizer.cmd_sesi))
    add(CommandHandler("laporan", organizer.cmd_laporan))
    add(CallbackQueryHandler(organizer.on_organizer_button, pattern=rf"^{cards.O}:"))
    register_pending(wizard.PENDING_WIZARD, wizard.on_wizard_text)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            participant.purge_job, interval=24 * 3600, first=600, name="feedback_purge"
        )

    # -- outbox: /siaran
    add(CommandHandler("siaran", compose.cmd_siaran))
    add(CallbackQueryHandler(broadcast.on_button, pattern=rf"^{compose.PREFIX}:"))
    add(CommandHandler("konfirmasi", confirm.cmd_konfirmasi))
    add(CallbackQueryHandler(confirm.on_confirm_button, pattern=r"^cf:"))
    add(CallbackQueryHandler(confirm.on_admin_button, pattern=r"^cfa:"))
    register_pending(compose.PENDING_COMPOSE, compose.on_compose)
    register_pending(compose.PENDING_WHEN, broadcast.on_when)

    # -- schedules: /pengingat, /langganan, /kalender
    add(CommandHandler("pengingat", reminders.cmd_pengingat))
    add(CommandHandler("kalender", kalender.cmd_kalender))
    add(CallbackQueryHandler(kalender.on_button, pattern=rf"^{kalender.PREFIX}:"))
    add(CommandHandler("langganan", subscriptions.cmd_langganan))
    add(CallbackQueryHandler(reminders.on_button, pattern=r"^pg:"))
    add(CallbackQueryHandler(subscriptions.on_sub_button, pattern=r"^sub:"))
    register_pending(reminders.PENDING_WHEN, reminders.on_when)
    register_pending(reminders.PENDING_TEXT, reminders.on_text)
    register_pending(reminders.PENDING_TIPS, subscriptions.on_tips_when)

    # -- catch-alls: private free text (dialogue answers or questions), unknown commands,
    # buttons no feature recognises (tampered, or from an old version of the bot), errors
    add(
        MessageHandler(
            # A reply to a ticket's message continues its thread (else handled as below).
            filters.UpdateType.MESSAGE
            & filters.ChatType.PRIVATE
            & filters.REPLY
            & ~filters.COMMAND
            & ~filters.StatusUpdate.ALL,
            handoff.on_private_reply,
        )
    )
    add(
        MessageHandler(
            # New messages only: an edited earlier message is not a new answer or question.
            filters.UpdateType.MESSAGE
            & filters.ChatType.PRIVATE
            & ~filters.COMMAND
            & ~filters.StatusUpdate.ALL,
            dialogue.on_private_message,
        )
    )
    add(MessageHandler(filters.COMMAND, fallback.on_unknown_command))
    add(CallbackQueryHandler(stale))
    app.add_error_handler(fallback.on_error)
