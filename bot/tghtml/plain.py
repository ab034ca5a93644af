"""Telegram HTML as readable terminal text (the CLI, the sandbox, the outbox previews)."""

from __future__ import annotations

import re

from bot.tghtml.parse import OPEN, TEXT, HtmlError, decode_entity, tokenize


def _wrap(inner: str, mark: str) -> str:
    core = inner.strip()
    if not core:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{mark}{core}{mark}{trail}"


def _render_plain(nodes: list, in_pre: bool = False, marks: bool = True) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        tag, argument, children = node
        inner = _render_plain(children, in_pre or tag == "pre", marks)
        if not marks and tag in (
            "b",
            "strong",
            "i",
            "em",
            "u",
            "ins",
            "s",
            "strike",
            "del",
            "code",
        ):
            out.append(inner)
        elif tag in ("b", "strong"):
            out.append(_wrap(inner, "*"))
        elif tag in ("i", "em"):
            out.append(_wrap(inner, "_"))
        elif tag in ("s", "strike", "del"):
            out.append(_wrap(inner, "~"))
        elif tag == "code":
            out.append(inner if in_pre else _wrap(inner, "`"))
        elif tag == "a":
            url = argument.strip()
            if url and url != inner.strip() and not url.startswith("tg://"):
                out.append(f"{inner} ({url})")
            else:
                out.append(inner)
        elif tag == "blockquote":
            out.append("\n".join("> " + line if line else ">" for line in inner.split("\n")))
        else:
            out.append(inner)
    return "".join(out)


_LOOSE_TAG_RE = re.compile(r"<[^>]*>")


def _loose_unescape(text: str) -> str:
    s = text + "\0"
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "&":
            code, end = decode_entity(s, i)
            if code and not 0xD800 <= code <= 0xDFFF:
                out.append(chr(code))
                i = end
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def html_to_plain(text: str, *, marks: bool = True) -> str:
    """Readable terminal text: tags stripped, entities unescaped, emphasis as plain marks.

    ``<b>`` becomes ``*x*``, ``<i>`` ``_x_``, ``<s>`` ``~x~``, ``<code>`` ```x```, links
    ``text (url)``, blockquote lines start with ``> ``; newlines are kept. Text that is not valid
    Telegram HTML is handled leniently (tags dropped, entities decoded) instead of raising.
    ``marks=False`` (the command line): emphasis is dropped, the words stay as they are.
    """
    try:
        tokens = tokenize(text)
    except HtmlError:
        return _loose_unescape(_LOOSE_TAG_RE.sub("", text))
    root: list = []
    stack: list[list] = [root]
    for token in tokens:
        if token[0] == TEXT:
            stack[-1].append(token[2])
        elif token[0] == OPEN:
            children: list = []
            stack[-1].append((token[2], token[3], children))
            stack.append(children)
        else:
            stack.pop()
    return _render_plain(root, marks=marks)
