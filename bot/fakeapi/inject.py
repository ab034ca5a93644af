"""What users do, injected as updates: messages, edits, media and button presses."""

from __future__ import annotations

import json
import time

from bot.fakeapi.rules import _BOT_COMMAND_RE, _MENTION_RE
from bot.fakeapi.state import _without_reply
from bot.tghtml import utf16_length

#: who an anonymous group admin's messages come from (Telegram's own bot account)
ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class _Inject:
    """Update injection (part of :class:`FakeTelegram`)."""

    # ------------------------------------------------------------------ update injection

    def send_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        anonymous_admin: bool = False,
    ) -> dict:
        """The user writes ``text``; returns the queued update.

        Bot commands (``/cmd``, ``/cmd@bot``) and ``@username`` mentions get their entities.
        ``anonymous_admin``: a group admin with "Remain Anonymous" on; as Telegram does, the
        message comes from @GroupAnonymousBot on behalf of the group (``sender_chat``).
        """
        with self._lock:
            sender, chat = self._sender_and_chat(
                user_id, chat_id, chat_type, chat_title, first_name, username, language_code
            )
            if anonymous_admin:
                sender = dict(ANONYMOUS_ADMIN)
            message = self._new_message(chat, sender)
            if anonymous_admin:
                message["sender_chat"] = {
                    k: v for k, v in chat.items() if k in ("id", "type", "title", "username")
                }
            message["text"] = text
            entities = _user_entities(text)
            if entities:
                message["entities"] = entities
            if reply_to_message_id is not None:
                replied = self._messages[chat["id"]].get(reply_to_message_id)
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']}")
                message["reply_to_message"] = _without_reply(replied)
            self._store(message)
            return self._queue({"message": message})

    def edit_message(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict:
        """The user edits one of their earlier messages; returns the queued ``edited_message``."""
        with self._lock:
            chat_key = chat_id if chat_id is not None else user_id
            original = self._messages.get(chat_key, {}).get(message_id)
            if original is None or original.get("from", {}).get("id") != user_id:
                raise ValueError(f"no message {message_id} of user {user_id} in chat {chat_key}")
            edited = dict(original, text=text, edit_date=int(time.time()))
            entities = _user_entities(text)
            if entities:
                edited["entities"] = entities
            else:
                edited.pop("entities", None)
            self._store(edited)
            return self._queue({"edited_message": edited})

    def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> dict:
        """The user sends a photo, document, video, sticker, voice, location or contact."""
        with self._lock:
            sender, chat = self._sender_and_chat(
                user_id, chat_id, chat_type, None, None, None, None
            )
            message = self._new_message(chat, sender)
            n = next(self._ids)
            file_id, unique = f"fake-{kind}-{n}", f"u{kind[:2]}{n}"
            if kind == "photo":
                message["photo"] = [
                    {
                        "file_id": file_id + "-s",
                        "file_unique_id": unique + "s",
                        "width": 90,
                        "height": 68,
                        "file_size": 1520,
                    },
                    {
                        "file_id": file_id,
                        "file_unique_id": unique,
                        "width": 1280,
                        "height": 960,
                        "file_size": 154000,
                    },
                ]
            elif kind == "document":
                message["document"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "file_name": "dokumen.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 48213,
                }
            elif kind == "video":
                message["video"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "width": 720,
                    "height": 1280,
                    "duration": 15,
                    "mime_type": "video/mp4",
                    "file_size": 2400000,
                }
            elif kind == "sticker":
                message["sticker"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "\U0001f44d",
                }
            elif kind == "voice":
                message["voice"] = {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "duration": 4,
                    "mime_type": "audio/ogg",
                    "file_size": 9100,
                }
            elif kind == "location":
                message["location"] = {"latitude": -8.5389, "longitude": 115.1250}
            elif kind == "contact":
                message["contact"] = {
                    "phone_number": "+6281234567890",
                    "first_name": sender["first_name"],
                    "user_id": sender["id"],
                }
            else:
                raise ValueError(f"unknown media kind {kind!r}")
            if caption is not None:
                if kind not in ("photo", "document", "video", "voice"):
                    raise ValueError(f"a {kind} has no caption")
                message["caption"] = caption
            self._store(message)
            return self._queue({"message": message})

    def press_button(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> dict:
        """The user presses an inline button whose callback_data is ``data`` (any string:
        tampered or stale data included) on the message ``message_id`` of that chat."""
        with self._lock:
            sender = self._ensure_user(user_id)
            chat_id = user_id if chat_id is None else chat_id
            stored = self._messages.get(chat_id, {}).get(message_id)
            if stored is None:
                raise ValueError(f"no message {message_id} in chat {chat_id} to press a button on")
            query_id = str(4_000_000_000_000 + next(self._ids))
            query = {
                "id": query_id,
                "from": dict(sender),
                "message": json.loads(json.dumps(stored)),
                "chat_instance": str(abs(hash((chat_id, self.bot_user["id"]))) % 10**18),
                "data": data,
            }
            self.callback_queries[query_id] = {
                "query": query,
                "answered": False,
                "answer": None,
                "pressed": time.monotonic(),
            }
            return self._queue({"callback_query": query})

    def press_inline_button(self, user_id: int, inline_message_id: str, data: str) -> dict:
        """The user presses a button of an inline message (sent via inline mode, so the
        callback carries ``inline_message_id`` and no ``message``)."""
        with self._lock:
            sender = self._ensure_user(user_id)
            query_id = str(4_000_000_000_000 + next(self._ids))
            query = {
                "id": query_id,
                "from": dict(sender),
                "inline_message_id": inline_message_id,
                "chat_instance": str(abs(hash((inline_message_id, self.bot_user["id"]))) % 10**18),
                "data": data,
            }
            self.callback_queries[query_id] = {
                "query": query,
                "answered": False,
                "answer": None,
                "pressed": time.monotonic(),
            }
            return self._queue({"callback_query": query})

    def inject_update(self, payload: dict) -> dict:
        """Queue any update exactly as given (``update_id`` added): channel posts, chat member
        changes, messages without ``from``... whatever Telegram may send."""
        with self._lock:
            return self._queue(json.loads(json.dumps(payload)))


def _user_entities(text: str) -> list[dict]:
    entities = []
    for regex, kind in ((_BOT_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for match in regex.finditer(text):
            entities.append(
                {
                    "type": kind,
                    "offset": utf16_length(text[: match.start()]),
                    "length": utf16_length(match.group(0)),
                }
            )
    entities.sort(key=lambda e: e["offset"])
    return entities
