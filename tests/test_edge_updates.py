"""Edge updates (issue 13 point 6): every update type gets a polite answer or a silent
ignore, never an exception; an edited command is not run again."""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from bot.schedules.models import Schedule

USER = 4242
GROUP = -1004242


def _errors(caplog) -> list[str]:
    return [r.getMessage()[:300] for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_edited_command_is_not_run_again(harness, caplog):
    h = harness
    await h.say(USER, "/start")
    await h.settled()
    mark = h.fake.mark()
    queued = h.fake.send_message(USER, "/pengingat besok jam 10")
    await h.next_call(USER, after=mark)  # what should it say?
    added = await h.say(USER, "rapat koordinasi")
    assert "rapat koordinasi" in added.params["text"]
    await h.settled()
    before = await _schedules(h)
    mark = h.fake.mark()
    # the user corrects the command message itself, twice
    message_id = queued["message"]["message_id"]
    h.fake.edit_message(USER, message_id, "/pengingat besok jam 10 rapat koordinasi")
    h.fake.edit_message(USER, message_id, "/bantuan")
    await h.settled()
    assert [c.method for c in h.fake.calls[mark:] if c.method == "sendMessage"] == []
    assert await _schedules(h) == before
    assert _errors(caplog) == []


async def _schedules(h) -> int:
    async with h.core.db.session() as s:
        return await s.scalar(select(func.count()).select_from(Schedule))


def _group_message(**fields) -> dict:
    base = {
        "message_id": 77,
        "date": int(time.time()),
        "chat": {"id": GROUP, "type": "supergroup", "title": "Grup OPD"},
    }
    base.update(fields)
    return {"message": base}


async def test_odd_updates_are_ignored_or_answered_never_raise(harness, caplog):
    h = harness
    h.fake.add_chat(GROUP, "supergroup", "Grup OPD")
    h.fake.user(USER, "Ayu")
    channel = {"id": -1009999, "type": "channel", "title": "Kanal Dinas"}
    user = {"id": USER, "is_bot": False, "first_name": "Ayu"}
    now = int(time.time())
    silent = [
        # sent on behalf of a channel / an anonymous admin: no "from"
        _group_message(sender_chat=channel, text="/tanya cara pasang 2fa"),
        # from another bot
        _group_message(**{"from": {"id": 55, "is_bot": True, "first_name": "B"}}, text="/tanya"),
        # a private message without a sender (Telegram never sends it; still no exception)
        {"message": {"message_id": 5, "date": now, "chat": {"id": USER, "type": "private"}}},
        {"channel_post": {"message_id": 1, "date": now, "chat": channel, "text": "/start"}},
        {"edited_channel_post": {"message_id": 1, "date": now, "chat": channel, "text": "x"}},
        {
            "my_chat_member": {
                "chat": {"id": USER, "type": "private"},
                "from": user,
                "date": now,
                "old_chat_member": {"status": "member", "user": user},
                "new_chat_member": {"status": "kicked", "user": user, "until_date": 0},
            }
        },
        {"inline_query": {"id": "iq1", "from": user, "query": "2fa", "offset": ""}},
        {
            "poll": {
                "id": "p1",
                "question": "?",
                "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
            }
        },
        {
            "poll_answer": {
                "poll_id": "p1",
                "user": user,
                "option_ids": [0],
                "option_persistent_ids": ["o1"],
            }
        },
        {
            "message_reaction": {
                "chat": {"id": GROUP, "type": "supergroup"},
                "message_id": 3,
                "date": now,
                "user": user,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        },
        {
            "chat_join_request": {
                "chat": {"id": GROUP, "type": "supergroup"},
                "from": user,
                "user_chat_id": USER,
                "date": now,
            }
        },
        {
            "pre_checkout_query": {
                "id": "pc",
                "from": user,
                "currency": "IDR",
                "total_amount": 1,
                "invoice_payload": "x",
            }
        },
    ]
    mark = h.fake.mark()
    for payload in silent:
        h.fake.inject_update(payload)
    # a button of an inline message (no "message"): a short notice
    h.fake.press_inline_button(USER, "inline-1", "kb:v:1:u")
    await h.settled()
    calls = h.fake.calls[mark:]
    sends = [c for c in calls if c.method in ("sendMessage", "editMessageText", "sendDocument")]
    assert sends == []
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1 and answers[0].ok
    assert "obrolan langsung" in answers[0].params["text"]
    # a button on a message the bot can no longer see (deleted): the stale notice
    mark = h.fake.mark()
    h.fake.inject_update(
        {
            "callback_query": {
                "id": "cq-gone",
                "from": user,
                "message": {"chat": {"id": USER, "type": "private"}, "message_id": 9, "date": 0},
                "chat_instance": "1",
                "data": "kb:v:1:u",
            }
        }
    )
    await h.settled()
    answered = [c for c in h.fake.calls[mark:] if c.method == "answerCallbackQuery"]
    assert len(answered) == 1 and "tidak berlaku" in answered[0].params["text"]
    assert _errors(caplog) == []
    # and the bot still answers people as before
    reply = await h.say(USER, "/bantuan")
    assert reply.params["text"]


async def test_an_anonymous_admin_is_told_why_their_command_or_reply_does_nothing(harness, caplog):
    """Telegram hides who an anonymous group admin is (the message comes from the group,
    through @GroupAnonymousBot): the bot cannot act for them, so a command or a reply to the
    bot gets the reason; their other messages stay silent like any chatter."""
    h = harness
    h.fake.add_chat(GROUP, "supergroup", "Helpdesk Diskominfo")
    mark = h.fake.mark()
    h.fake.send_message(USER, "/tiket", chat_id=GROUP, chat_type="supergroup", anonymous_admin=True)
    told = await h.fake.wait_for("sendMessage", chat_id=GROUP, after=mark)
    assert "admin anonim" in told.params["text"] and "Remain Anonymous" in told.params["text"]
    # a reply to that message of the bot is also told
    mark = h.fake.mark()
    h.fake.send_message(
        USER,
        "Silakan ke Satpas <b>Polres</b>",
        chat_id=GROUP,
        chat_type="supergroup",
        reply_to_message_id=int(told.result["message_id"]),
        anonymous_admin=True,
    )
    again = await h.fake.wait_for("sendMessage", chat_id=GROUP, after=mark)
    assert "admin anonim" in again.params["text"] and "Polres" not in again.params["text"]
    # plain chatter by an anonymous admin: silence
    mark = h.fake.mark()
    h.fake.send_message(
        USER, "rapat jam 2 ya", chat_id=GROUP, chat_type="supergroup", anonymous_admin=True
    )
    await h.settled()
    assert [c for c in h.fake.calls[mark:] if c.method == "sendMessage"] == []
    assert _errors(caplog) == []
