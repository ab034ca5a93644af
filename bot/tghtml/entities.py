"""Telegram's view of an HTML text: the plain text and its Bot API entities, as Telegram
derives them from ``parse_mode=HTML`` (what the fake Bot API stores and tests assert on)."""

from __future__ import annotations

import re

from bot.tghtml.parse import OPEN, TEXT, tokenize, utf16_length

_URL_SCHEME_RE = re.compile(r"^(?:https?|tg|ton)://\S+$", re.IGNORECASE)
_BARE_HOST_RE = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?:[/:?#]\S*)?$")


def _checked_url(url: str) -> str | None:
    url = url.strip()
    if _URL_SCHEME_RE.match(url):
        return url
    if _BARE_HOST_RE.match(url):
        return "http://" + url
    return None


_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse like Telegram: the plain text and its entities (Bot API dicts, UTF-16 offsets).

    Raises :class:`HtmlError` when Telegram would reject the text.
    """
    tokens = tokenize(text)
    out: list[str] = []
    offset = 0
    entities: list[dict] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, index into out
    for token in tokens:
        kind = token[0]
        if kind == TEXT:
            out.append(token[2])
            offset += utf16_length(token[2])
        elif kind == OPEN:
            stack.append((token[2], token[3], offset, len(out)))
        else:
            tag, argument, start, out_index = stack.pop()
            length = offset - start
            if length <= 0:
                continue
            entity: dict = {"offset": start, "length": length}
            if tag in _SIMPLE_ENTITY:
                entity["type"] = _SIMPLE_ENTITY[tag]
            elif tag == "a":
                url = _checked_url(argument or "".join(out[out_index:]))
                if url is None:
                    continue
                entity["type"] = "text_link"
                entity["url"] = url
            elif tag == "code":
                last = entities[-1] if entities else None
                if (
                    last is not None
                    and last["type"] == "pre"
                    and last["offset"] == start
                    and last["length"] == length
                ):
                    if argument:
                        last["language"] = argument
                    continue
                entity["type"] = "code"
                if argument:
                    entity["_language"] = argument
            elif tag == "pre":
                last = entities[-1] if entities else None
                if (
                    last is not None
                    and last["type"] == "code"
                    and last["offset"] == start
                    and last["length"] == length
                ):
                    language = last.pop("_language", None)
                    last["type"] = "pre"
                    if language:
                        last["language"] = language
                    continue
                entity["type"] = "pre"
            elif tag == "blockquote":
                entity["type"] = "expandable_blockquote" if argument else "blockquote"
            elif tag == "tg-emoji":
                entity["type"] = "custom_emoji"
                entity["custom_emoji_id"] = argument
            entities.append(entity)
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
