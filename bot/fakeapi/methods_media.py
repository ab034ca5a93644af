"""Bot API methods with files: sendPhoto, sendDocument, and copyMessage."""

from __future__ import annotations

import json
import re

from bot.fakeapi.codec import _Upload
from bot.fakeapi.rules import _bad
from bot.fakeapi.state import _set_or_drop


class _MediaMethods:
    """File methods (part of :class:`FakeTelegram`)."""

    def _file(self, params: dict, field_name: str, kind: str) -> tuple[dict, bytes | None]:
        """The sent file: (description, bytes or None when sent by file_id/URL)."""
        uploads: dict[str, _Upload] = params.get("__uploads__", {})
        value = params.get(field_name)
        upload = uploads.get(field_name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value[len("attach://") :])
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            n = next(self._ids)
            file_id = f"fake-{kind}-{n}"
            self.files[file_id] = upload.data
            return {
                "file_id": file_id,
                "file_unique_id": f"u{kind[:2]}{n}",
                "file_name": upload.filename,
                "mime_type": upload.content_type,
                "file_size": len(upload.data),
            }, upload.data
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {kind} in the request")
        if value in self.files:
            data = self.files[value]
            return {
                "file_id": value,
                "file_unique_id": "u" + value[-8:],
                "file_size": len(data),
            }, data
        if re.match(r"^https?://", value):
            n = next(self._ids)
            return {
                "file_id": f"fake-{kind}-{n}",
                "file_unique_id": f"u{kind[:2]}{n}",
                "file_name": value.rsplit("/", 1)[-1] or kind,
            }, None
        raise _bad("wrong file identifier/HTTP URL specified")

    def _media_message(self, params: dict, method: str) -> dict:
        chat = self._writable_chat(params, method)
        caption, entities = self._formatted(
            params.get("caption") or "",
            params,
            entities_field="caption_entities",
            limit=1024,
            what="caption",
        )
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _send_photo(self, params: dict) -> dict:
        info, data = self._file(params, "photo", "photo")
        message = self._media_message(params, "sendPhoto")
        width, height = _image_size(data) if data else (800, 600)
        base = {"file_id": info["file_id"], "file_unique_id": info["file_unique_id"]}
        scale = min(1.0, 90 / max(width, height, 1))
        message["photo"] = [
            {
                **base,
                "file_id": base["file_id"] + "-s",
                "file_unique_id": base["file_unique_id"] + "s",
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": max(1, (info.get("file_size") or 10000) // 10),
            },
            {**base, "width": width, "height": height, "file_size": info.get("file_size", 10000)},
        ]
        self._store(message)
        return json.loads(json.dumps(message))

    def _send_document(self, params: dict) -> dict:
        info, _ = self._file(params, "document", "document")
        message = self._media_message(params, "sendDocument")
        message["document"] = {k: v for k, v in info.items() if v is not None}
        self._store(message)
        return json.loads(json.dumps(message))

    def _copy_message(self, params: dict) -> dict:
        chat = self._writable_chat(params, "copyMessage")
        from_chat_id = params.get("from_chat_id")
        if from_chat_id is None:
            raise _bad("from_chat_id is empty")
        if from_chat_id not in self._chats:
            raise _bad("chat not found")
        source = self._messages.get(from_chat_id, {}).get(params.get("message_id"))
        if source is None:
            raise _bad("message to copy not found")
        markup = self._markup(params)
        message = self._bot_message(chat, params)
        for key in (
            "text",
            "entities",
            "photo",
            "document",
            "video",
            "sticker",
            "voice",
            "location",
            "contact",
            "caption",
            "caption_entities",
        ):
            if key in source:
                message[key] = json.loads(json.dumps(source[key]))
        if "caption" in params:
            caption, entities = self._formatted(
                params.get("caption") or "",
                params,
                entities_field="caption_entities",
                limit=1024,
                what="caption",
            )
            _set_or_drop(message, "caption", caption or None)
            _set_or_drop(message, "caption_entities", entities)
        if markup is not None:
            message["reply_markup"] = markup
        self._store(message)
        return {"message_id": message["message_id"]}


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 800, 600
