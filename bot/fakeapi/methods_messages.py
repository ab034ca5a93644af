"""Bot API methods on text messages: send, edit, delete, chat actions and answering
callback queries."""

from __future__ import annotations

import json
import time

from bot.fakeapi.rules import _CHAT_ACTIONS, _NOT_MODIFIED, _QUERY_TOO_OLD, _as_int, _bad
from bot.fakeapi.state import _set_or_drop, _without_reply


class _MessageMethods:
    """Message methods (part of :class:`FakeTelegram`)."""

    def _reply_to(self, params: dict, chat_id: int | str) -> dict | None:
        reply = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = _as_int(reply.get("message_id"), 0)
            allow = allow or bool(reply.get("allow_sending_without_reply"))
            chat_id = reply.get("chat_id", chat_id)
        elif reply is not None:
            raise _bad("can't parse ReplyParameters JSON object")
        if not message_id:
            return None
        replied = self._messages.get(chat_id, {}).get(message_id)
        if replied is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return _without_reply(replied)

    def _bot_message(self, chat: dict, params: dict) -> dict:
        message = self._new_message(chat, self.bot_user)
        reply = self._reply_to(params, chat["id"])
        if reply is not None:
            message["reply_to_message"] = reply
        return message

    def _send_message(self, params: dict) -> dict:
        chat = self._writable_chat(params, "sendMessage")
        text, entities = self._formatted(
            params.get("text"), params, entities_field="entities", limit=4096, what="text"
        )
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self._store(message)
        return json.loads(json.dumps(message))

    def _editable(self, params: dict, method: str) -> dict:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        self._writable_chat(params, method)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        message = self._messages.get(params["chat_id"], {}).get(message_id)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _edit_message_text(self, params: dict) -> dict:
        message = self._editable(params, "editMessageText")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(
            params.get("text"), params, entities_field="entities", limit=4096, what="text"
        )
        markup = self._markup(params)
        if (
            text == message["text"]
            and entities == message.get("entities")
            and markup == message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED)
        message["text"] = text
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _edit_message_caption(self, params: dict) -> dict:
        message = self._editable(params, "editMessageCaption")
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._formatted(
            params.get("caption") or "",
            params,
            entities_field="caption_entities",
            limit=1024,
            what="caption",
        )
        markup = self._markup(params)
        if (
            caption == message.get("caption", "")
            and entities == message.get("caption_entities")
            and markup == message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED)
        _set_or_drop(message, "caption", caption or None)
        _set_or_drop(message, "caption_entities", entities)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _edit_message_reply_markup(self, params: dict) -> dict:
        message = self._editable(params, "editMessageReplyMarkup")
        markup = self._markup(params)
        if markup == message.get("reply_markup"):
            raise _bad(_NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    def _answer_callback_query(self, params: dict) -> bool:
        query_id = params.get("callback_query_id")
        entry = self.callback_queries.get(str(query_id or ""))
        if entry is None or entry["answered"]:
            raise _bad(_QUERY_TOO_OLD)
        if time.monotonic() - entry.get("pressed", time.monotonic()) > self.callback_query_timeout:
            raise _bad(_QUERY_TOO_OLD)
        text = params.get("text") or ""
        if len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        entry["answered"] = True
        entry["answer"] = {
            "text": text or None,
            "show_alert": bool(params.get("show_alert")),
            "url": params.get("url"),
        }
        return True

    def _send_chat_action(self, params: dict) -> bool:
        self._writable_chat(params, "sendChatAction")
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _delete_message(self, params: dict) -> bool:
        self._writable_chat(params, "deleteMessage")
        messages = self._messages.get(params["chat_id"], {})
        message_id = params.get("message_id")
        if message_id not in messages:
            raise _bad("message to delete not found")
        del messages[message_id]
        return True
