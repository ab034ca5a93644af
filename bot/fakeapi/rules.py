"""Telegram's rules as the fake applies them: which methods send, parameter types, limits,
error wording, parse_mode/HTML and reply markup validation."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from bot.tghtml import HtmlError, parse_html, utf16_length

#: Methods that put or change content in a chat. ``fail(None, ...)``, ``stall(None, ...)`` and
#: ``rate_limit`` apply to these; :meth:`FakeTelegram.sent_to` lists them.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "copyMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

# Methods a blocked or deactivated chat refuses with 403.
_CHAT_WRITE_METHODS = SEND_METHODS | {"sendChatAction"}

_INT_FIELDS = frozenset(
    {
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "user_id",
        "max_connections",
        "duration",
        "width",
        "height",
    }
)
_CHAT_ID_FIELDS = frozenset({"chat_id", "from_chat_id"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "remove_caption",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
        "message_ids",
    }
)
_JSON_ERRORS = {
    "reply_markup": "Bad Request: can't parse reply keyboard markup JSON object",
    "entities": "Bad Request: can't parse entities JSON object",
    "caption_entities": "Bad Request: can't parse entities JSON object",
    "commands": "Bad Request: can't parse commands JSON object",
    "scope": "Bad Request: can't parse BotCommandScope JSON object",
    "reply_parameters": "Bad Request: can't parse ReplyParameters JSON object",
    "link_preview_options": "Bad Request: can't parse LinkPreviewOptions JSON object",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_UPDATE_TYPES_DEFAULT_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION_RE = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")
_BUTTON_URL_RE = re.compile(r"^(?:https?|tg)://\S+$", re.IGNORECASE)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> _ApiError:
    return _ApiError(400, "Bad Request: " + description)


class _Rules:
    """Request validation shared by the methods (part of :class:`FakeTelegram`)."""

    def _writable_chat(self, params: dict, method: str, field_name: str = "chat_id") -> dict:
        chat_id = params.get(field_name)
        if chat_id is None or chat_id == "":
            raise _bad(f"{field_name} is empty")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if method in _CHAT_WRITE_METHODS:
            if chat_id in self._deactivated:
                raise _ApiError(403, "Forbidden: user is deactivated")
            if chat_id in self._blocked:
                if chat["type"] == "private":
                    raise _ApiError(403, "Forbidden: bot was blocked by the user")
                if chat["type"] == "channel":
                    raise _ApiError(403, "Forbidden: bot is not a member of the channel chat")
                kind = "supergroup" if chat["type"] == "supergroup" else "group"
                raise _ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return chat

    def _formatted(
        self, text: Any, params: dict, *, entities_field: str, limit: int, what: str
    ) -> tuple[str, list[dict] | None]:
        """Text after parse_mode, Telegram-style validation; returns (text, entities)."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        mode = params.get("parse_mode") or ""
        entities: list[dict] | None = None
        if mode.lower() == "html":
            try:
                text, entities = parse_html(text)
            except HtmlError as exc:
                raise _ApiError(400, exc.description) from None
        elif mode and mode.lower() not in ("markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        else:
            given = params.get(entities_field)
            if given is not None:
                if not isinstance(given, list) or not all(
                    isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in given
                ):
                    raise _bad("can't parse entities JSON object")
                entities = given
        if what == "text" and not text.strip():
            raise _bad("message text is empty")
        if utf16_length(text) > limit:
            raise _bad("message is too long" if what == "text" else "message caption is too long")
        return text, (entities or None)

    def _markup(self, params: dict) -> dict | None:
        """Validated reply_markup; returns the inline keyboard to store on the message."""
        if "reply_markup" not in params:
            return None
        markup = params["reply_markup"]
        if isinstance(markup, str):
            if not markup.strip():
                return None
            raise _bad("can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise _bad("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            if sum(len(r) for r in rows) > 100 or any(len(r) > 8 for r in rows):
                raise _bad("REPLY_MARKUP_TOO_LONG")
            for row in rows:
                for button in row:
                    _check_inline_button(button)
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    text = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(text, str) or not text:
                        raise _bad(
                            'can\'t parse keyboard button: Field "text" must be of type String'
                        )
            return None
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return None
        raise _bad("can't parse reply keyboard markup JSON object")


def _scope_key(scope: dict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True, separators=(",", ":"))


def _as_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _check_webhook_url(url: str) -> None:
    """setWebhook's URL rules, with Telegram's wording: HTTPS only, ports 443, 80, 88, 8443."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
    try:
        port = parts.port or 443
    except ValueError:
        raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443") from None
    if port not in (80, 88, 443, 8443):
        raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def _check_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise _bad(prefix + "InlineKeyboardButton should be an Object")
    if "text" not in button:
        raise _bad(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise _bad(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise _bad("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions or button.get("callback_data") == "":
        raise _bad(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _bad(
            prefix + "exactly one of the optional fields must be used, found " + ", ".join(actions)
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or len(data.encode("utf-8")) > 64:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not _BUTTON_URL_RE.match(url):
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
