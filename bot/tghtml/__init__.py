"""Telegram's HTML parse mode: validation, plain-text rendering, length and splitting.

Pure functions, no ``telegram`` import:

- :mod:`bot.tghtml.parse`: the tokenizer (a port of TDLib's ``parse_html``), :class:`HtmlError`,
  :func:`validate_html` with Telegram's error wording, :func:`visible_length`,
  :func:`utf16_length`;
- :mod:`bot.tghtml.entities`: :func:`parse_html`, the plain text and its Bot API entities;
- :mod:`bot.tghtml.plain`: :func:`html_to_plain`, readable terminal text;
- :mod:`bot.tghtml.split`: :func:`split_message`, parts within Telegram's length limit.
"""

from bot.tghtml.entities import parse_html
from bot.tghtml.parse import (
    ALLOWED_TAGS,
    ERROR_PREFIX,
    HtmlError,
    utf16_length,
    validate_html,
    visible_length,
)
from bot.tghtml.plain import html_to_plain
from bot.tghtml.split import split_message

__all__ = [
    "ALLOWED_TAGS",
    "ERROR_PREFIX",
    "HtmlError",
    "html_to_plain",
    "parse_html",
    "split_message",
    "utf16_length",
    "validate_html",
    "visible_length",
]
