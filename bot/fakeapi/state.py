"""Users, chats, messages and the update queue, and the events that wake waiters up."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any


class _State:
    """Known users and chats, stored messages, queued updates (part of :class:`FakeTelegram`,
    whose ``__init__`` sets the attributes up)."""

    # ------------------------------------------------------------------ users and chats

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        """Register (or update) a user and their private chat (chat id == user id).

        A new user gets first name "Budi" and language "id" unless given; for a known user only
        the fields given change.
        """
        with self._lock:
            existing = self._users.get(user_id)
            if existing is None:
                existing = {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": first_name or "Budi",
                    "language_code": language_code or "id",
                }
                self._users[user_id] = existing
            else:
                if first_name is not None:
                    existing["first_name"] = first_name
                if language_code is not None:
                    existing["language_code"] = language_code
            if last_name is not None:
                existing["last_name"] = last_name
            if username is not None:
                existing["username"] = username
            chat = self._chats.setdefault(user_id, {"id": user_id, "type": "private"})
            chat["first_name"] = existing["first_name"]
            for key in ("last_name", "username"):
                if key in existing:
                    chat[key] = existing[key]
            self._messages.setdefault(user_id, {})
            return dict(existing)

    def add_chat(self, chat_id: int, type: str = "group", title: str = "Grup") -> None:  # noqa: A002
        """Make a group/supergroup/channel (or private) chat known to the fake."""
        with self._lock:
            if type == "private":
                chat = {"id": chat_id, "type": "private", "first_name": title}
            else:
                chat = {"id": chat_id, "type": type, "title": title}
            self._chats[chat_id] = chat
            self._messages.setdefault(chat_id, {})

    # ------------------------------------------------------------------ internals: state

    def _ensure_user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict:
        if user_id not in self._users or first_name or username or language_code:
            self.user(user_id, first_name, username=username, language_code=language_code)
        return self._users[user_id]

    def _sender_and_chat(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        chat_title: str | None,
        first_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> tuple[dict, dict]:
        sender = self._ensure_user(user_id, first_name, username, language_code)
        if chat_id is None or chat_id == user_id:
            return sender, self._chats[user_id]
        if chat_id not in self._chats:
            if chat_type == "private":
                chat_type = "group"
            self.add_chat(chat_id, chat_type, chat_title or "Grup")
        return sender, self._chats[chat_id]

    def _new_message(self, chat: dict, sender: dict) -> dict:
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(chat),
            "date": int(time.time()),
        }

    def _store(self, message: dict) -> None:
        self._messages.setdefault(message["chat"]["id"], {})[message["message_id"]] = message

    def _queue(self, payload: dict) -> dict:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **payload}
        self._updates.append(update)
        self._last_update_id = update_id
        self._notify_threadsafe(updates=True)
        return json.loads(json.dumps(update))

    def _notify_threadsafe(self, *, updates: bool = False) -> None:
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._notify(updates=updates)
        else:
            self._loop.call_soon_threadsafe(lambda: self._notify(updates=updates))

    def _notify(self, *, updates: bool = False, calls: bool = False) -> None:
        self._last_activity = time.monotonic()
        if updates:
            self._wake_updates()
        if calls:
            self._calls_event.set()
            self._calls_event = asyncio.Event()
        self._activity_event.set()
        self._activity_event = asyncio.Event()

    def _wake_updates(self) -> None:
        self._updates_event.set()
        self._updates_event = asyncio.Event()


def _set_or_drop(target: dict, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _without_reply(message: dict) -> dict:
    copied = json.loads(json.dumps(message))
    copied.pop("reply_to_message", None)
    return copied
