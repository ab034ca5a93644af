"""Parsing Telegram's HTML parse mode: validation, entities and visible length.

The parser follows TDLib's ``parse_html`` (the code the Bot API server runs for
``parse_mode=HTML``) closely, so :func:`validate_html` returns the same error wording Telegram
answers with, byte offsets included. One deliberate extra: a named entity written as ``&name;``
other than ``&lt; &gt; &amp; &quot;`` is reported as an error (Telegram would show it literally,
which is always a rendering bug in our texts).
"""

from __future__ import annotations

import re

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",  # only with class="tg-spoiler"
        "tg-spoiler",
        "a",  # href
        "code",  # optional class="language-xxx" inside <pre>
        "pre",
        "blockquote",  # optional attribute expandable
        "tg-emoji",  # emoji-id
    }
)

ERROR_PREFIX = "Bad Request: can't parse entities: "

#: token kinds of :func:`tokenize`
TEXT = 0
OPEN = 1
CLOSE = 2

_SPACE = frozenset(" \t\r\n\v\f\0")  # TDLib's is_space() also matches the terminating NUL
_WS = frozenset(" \t\r\n\v\f")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_ATTR_NAME_STOP = _SPACE | frozenset("=>/\"'")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL_RE = re.compile(r"[&<]")
_NAMED_RE = re.compile(r"&([A-Za-z]+);")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class HtmlError(ValueError):
    """Telegram would reject the text; ``description`` is Telegram's full error text."""

    def __init__(self, message: str) -> None:
        super().__init__(ERROR_PREFIX + message)
        self.message = message
        self.description = ERROR_PREFIX + message


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _lower(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts characters and entity offsets)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def decode_entity(s: str, pos: int) -> tuple[int, int]:
    """TDLib's decode_html_entity: (code point, end index) or (0, pos) when not an entity.

    ``s`` must end with a NUL sentinel.
    """
    end = pos + 1
    res = 0
    if s[end] == "#":
        end += 1
        if s[end] == "x":
            end += 1
            while s[end] in _HEX:
                if end - pos < 12:
                    res = res * 16 + int(s[end], 16)
                end += 1
        else:
            while s[end] in _DIGITS:
                if end - pos < 12:
                    res = res * 10 + ord(s[end]) - 48
                end += 1
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while s[end] in _ALPHA:
            end += 1
        value = _NAMED_ENTITIES.get(s[pos + 1 : end])
        if value is None:
            return 0, pos
        res = ord(value)
    if s[end] == ";":
        end += 1
    return res, end


def tokenize(text: str, *, units: bool = False) -> list[tuple]:
    """Split Telegram HTML into tokens, raising :class:`HtmlError` like Telegram would.

    Tokens: ``(TEXT, raw, decoded)``, ``(OPEN, raw, tag, argument)``, ``(CLOSE, raw, tag)``.
    With ``units=True`` every text token is one character or one entity (for splitting).
    """
    if "\0" in text:
        raise HtmlError("Text must not contain null bytes")
    s = text + "\0"
    n = len(text)
    tokens: list[tuple] = []
    stack: list[tuple[str, str, int]] = []  # tag, argument, decoded length when opened
    run_raw: list[str] = []
    run_dec: list[str] = []
    decoded_len = 0
    surrogate = False
    i = 0

    def flush() -> None:
        if run_raw:
            tokens.append((TEXT, "".join(run_raw), "".join(run_dec)))
            run_raw.clear()
            run_dec.clear()

    while i < n:
        match = _SPECIAL_RE.search(text, i)
        j = match.start() if match else n
        if j > i:
            chunk = text[i:j]
            if units:
                tokens.extend((TEXT, ch, ch) for ch in chunk)
            else:
                run_raw.append(chunk)
                run_dec.append(chunk)
            decoded_len += j - i
            i = j
            continue
        if s[i] == "&":
            code, end = decode_entity(s, i)
            if code:
                raw, ch = text[i:end], chr(code)
                if 0xD800 <= code <= 0xDFFF:
                    surrogate = True
                i = end
            else:
                named = _NAMED_RE.match(text, i)
                if named:
                    raise HtmlError(
                        f'Unsupported HTML entity "{named.group(0)}" at byte offset '
                        f"{_byte_offset(text, i)}"
                    )
                raw = ch = "&"
                i += 1
            if units:
                tokens.append((TEXT, raw, ch))
            else:
                run_raw.append(raw)
                run_dec.append(ch)
            decoded_len += 1
            continue

        # a tag
        flush()
        begin = i
        i += 1
        if s[i] != "/":
            while s[i] not in _SPACE and s[i] != ">":
                i += 1
            if s[i] == "\0":
                raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = _lower(text[begin + 1 : i])
            if tag not in ALLOWED_TAGS:
                raise HtmlError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            while s[i] != ">":
                while s[i] in _WS:
                    i += 1
                if s[i] == ">":
                    break
                attr_begin = i
                while s[i] not in _ATTR_NAME_STOP:
                    i += 1
                attr_name = text[attr_begin:i]
                if not attr_name:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while s[i] in _WS:
                    i += 1
                if s[i] != "=":
                    if s[i] == "\0":
                        raise HtmlError(
                            f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                        )
                    if tag == "blockquote" and attr_name == "expandable":
                        argument = "1"
                    continue
                i += 1
                while s[i] in _WS:
                    i += 1
                if s[i] == "\0":
                    raise HtmlError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                if s[i] != "'" and s[i] != '"':
                    token_begin = i
                    while s[i] in _NAME_TOKEN:
                        i += 1
                    value = _lower(text[token_begin:i])
                    if s[i] not in _SPACE and s[i] != ">":
                        raise HtmlError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = s[i]
                    i += 1
                    chars: list[str] = []
                    while s[i] != quote and s[i] != "\0":
                        if s[i] == "&":
                            code, end = decode_entity(s, i)
                            if code:
                                chars.append(chr(code))
                                i = end
                                continue
                        chars.append(s[i])
                        i += 1
                    if s[i] == quote:
                        i += 1
                    value = "".join(chars)
                if s[i] == "\0":
                    raise HtmlError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if (tag == "a" and attr_name == "href") or (
                    tag == "tg-emoji" and attr_name == "emoji-id"
                ):
                    argument = value
                elif tag == "blockquote" and attr_name == "expandable":
                    argument = "1"
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
            if tag == "span" and argument != "spoiler":
                raise HtmlError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            tokens.append((OPEN, text[begin : i + 1], tag, argument))
            stack.append((tag, argument, decoded_len))
            i += 1
        else:
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            while s[i] not in _SPACE and s[i] != ">":
                i += 1
            end_name = _lower(text[begin + 2 : i])
            while s[i] in _WS:
                i += 1
            if s[i] != ">":
                raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            tag, argument, opened_at = stack[-1]
            if end_name and end_name != tag:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            if (
                tag == "tg-emoji"
                and decoded_len > opened_at
                and not (argument.isascii() and argument.isdigit() and 0 < int(argument) < 2**63)
            ):
                raise HtmlError("Invalid custom emoji identifier specified")
            tokens.append((CLOSE, text[begin : i + 1], tag))
            stack.pop()
            i += 1
    flush()
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if surrogate and any(
        0xD800 <= ord(ch) <= 0xDFFF for tok in tokens if tok[0] == TEXT for ch in tok[2]
    ):
        raise HtmlError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    return tokens


def validate_html(text: str) -> str | None:
    """None when Telegram accepts ``text`` with ``parse_mode=HTML``, else its error description.

    >>> validate_html("<b>ok</b> &amp; fine")
    >>> validate_html("a <script>")
    'Bad Request: can\\'t parse entities: Unsupported start tag "script" at byte offset 2'
    """
    try:
        tokenize(text)
    except HtmlError as exc:
        return exc.description
    return None


def visible_length(text: str) -> int:
    """Length Telegram counts against the 4096 limit: the parsed text in UTF-16 code units.

    Raises :class:`HtmlError` (a ``ValueError``) when the text is not valid Telegram HTML.
    """
    return sum(utf16_length(tok[2]) for tok in tokenize(text) if tok[0] == TEXT)
