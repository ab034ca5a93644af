"""Bot API methods about the bot itself: getMe, logOut/close, the webhook settings and the
command lists."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from bot.fakeapi.rules import _COMMAND_RE, _bad, _check_webhook_url, _scope_key

_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class _BotMethods:
    """getMe, webhook and command methods (part of :class:`FakeTelegram`)."""

    def _true(self, params: dict) -> bool:
        return True

    def _get_me(self, params: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: dict) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        self._updates.clear()
        self._delivered_upto = self._last_update_id

    def route_webhook(self, target: str | None) -> None:
        """Deliver webhook POSTs to ``target`` (e.g. ``http://127.0.0.1:8080``) plus the path of
        the registered HTTPS URL, as a TLS-terminating reverse proxy in front of the bot would;
        None: POST to the registered URL itself."""
        self.webhook_route = target.rstrip("/") if target else None

    def _webhook_target(self) -> str | None:
        """The address the webhook POSTs actually go to (see :meth:`route_webhook`)."""
        if not self.webhook_url or not self.webhook_route:
            return self.webhook_url
        parts = urlsplit(self.webhook_url)
        return self.webhook_route + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _set_webhook(self, params: dict) -> bool:
        url = str(params.get("url") or "").strip()
        if url:
            _check_webhook_url(url)
        secret = params.get("secret_token")
        if secret not in (None, ""):
            secret = str(secret)
            if len(secret) > 256:
                raise _bad("secret token is too long")
            if not _SECRET_TOKEN_RE.match(secret):
                raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._drop_pending()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = [str(x) for x in params["allowed_updates"]] or None
        self.webhook_url = url or None
        self.webhook_secret = params.get("secret_token") or None
        if self.webhook_url:
            self._ensure_webhook_task()
        return True

    def _get_webhook_info(self, params: dict) -> dict:
        info: dict = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            "max_connections": 40,
        }
        if self.webhook_last_error and self.webhook_url:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook_last_error
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _scope_and_language(self, params: dict) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        if scope is not None:
            kind = scope.get("type")
            if kind not in {
                "default",
                "all_private_chats",
                "all_group_chats",
                "all_chat_administrators",
                "chat",
                "chat_administrators",
                "chat_member",
            }:
                raise _bad("wrong parameter scope type")
            if (
                kind in ("chat", "chat_administrators", "chat_member")
                and scope.get("chat_id") not in self._chats
            ):
                raise _bad("chat not found")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return _scope_key(scope), language

    def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand: BotCommand must be an Object")
            command = item.get("command")
            description = item.get("description")
            if not isinstance(command, str) or not isinstance(description, str):
                raise _bad('can\'t parse BotCommand: Field "command" must be of type String')
            if not _COMMAND_RE.match(command.lower()):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command.lower(), "description": description})
        key = self._scope_and_language(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: dict) -> bool:
        self.commands.pop(self._scope_and_language(params), None)
        return True

    def _get_my_commands(self, params: dict) -> list[dict]:
        return [dict(c) for c in self.commands.get(self._scope_and_language(params), [])]
