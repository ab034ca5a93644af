"""Request decoding: query string, form-urlencoded, JSON and multipart bodies into typed
parameters (as Telegram reads them), uploads kept apart."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from bot.fakeapi.rules import _BOOL_FIELDS, _CHAT_ID_FIELDS, _INT_FIELDS, _JSON_FIELDS


@dataclass
class _Upload:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _CHAT_ID_FIELDS:
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if name in _INT_FIELDS:
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1", "yes")
    if name in _JSON_FIELDS:
        if not value.strip():
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value  # kept raw; the method answers with Telegram's parse error
    return value


def _decode_params(query: str, content_type: str, body: bytes) -> tuple[dict, dict]:
    """Request fields (query string + body) decoded; uploads separately by field name."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    uploads: dict[str, _Upload] = {}
    kind = content_type.split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise ValueError("can't parse JSON encoded request") from None
            if not isinstance(data, dict):
                raise ValueError("can't parse JSON encoded request")
            raw.update(data)
        elif kind == "multipart/form-data":
            match = re.search(r'boundary="?([^";]+)"?', content_type)
            if match is None:
                raise ValueError("can't parse multipart/form-data request")
            fields, uploads = _parse_multipart(body, match.group(1).encode("latin-1"))
            raw.update(fields)
        else:
            raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    params = {name: _decode_value(name, value) for name, value in raw.items()}
    for name, upload in uploads.items():
        params[name] = {
            "filename": upload.filename,
            "size": len(upload.data),
            "content_type": upload.content_type,
        }
    return params, uploads


_DISPOSITION_RE = re.compile(r'(\w+)\*?=(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _parse_multipart(body: bytes, boundary: bytes) -> tuple[dict[str, str], dict[str, _Upload]]:
    fields: dict[str, str] = {}
    uploads: dict[str, _Upload] = {}
    delimiter = b"--" + boundary
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        attrs = {
            m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _DISPOSITION_RE.finditer(headers.get("content-disposition", ""))
        }
        name = attrs.get("name")
        if name is None:
            continue
        name = name.replace('\\"', '"')
        if "filename" in attrs:
            filename = unquote(attrs["filename"].replace('\\"', '"'))
            content_type = headers.get("content-type", "application/octet-stream")
            uploads[name] = _Upload(filename, content_type, content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, uploads
