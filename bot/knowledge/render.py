"""Markdown (the body of a knowledge entry) -> Telegram's HTML subset.

Telegram understands only a few tags (``b i u s code pre a blockquote``), no lists, no
headings and no paragraphs, so:

- headings become a bold line; paragraphs are separated by a blank line;
- bullet lists become ``• item`` lines (nested: ``◦``), numbered lists ``1. item`` lines;
- ``**bold**``, ``*italic*``, ``~~strike~~``, `` `code` ``, fenced code, links and
  ``> quotes`` map to their tags; tables become one line per row; images keep their alt text;
- everything else is text, HTML-escaped (raw HTML in the Markdown is shown, never obeyed).
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

#: Telegram's limit for one message (characters after entity parsing).
MESSAGE_LIMIT = 4096
#: Room kept for what the bot puts around an entry (pillar line, buttons hint, footer).
FRAME_RESERVE = 200
BODY_LIMIT = MESSAGE_LIMIT - FRAME_RESERVE

_SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")

_md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def _text(s: str) -> str:
    return escape(s, quote=False)


class _Renderer:
    def __init__(self) -> None:
        self.in_quote = 0

    # -- inline ----------------------------------------------------------------------------

    def inline(self, node: SyntaxTreeNode, *, bold: bool = False, link: bool = False) -> str:
        out: list[str] = []
        for child in node.children:
            t = child.type
            if t == "text":
                out.append(_text(child.content))
            elif t == "softbreak":
                out.append(" ")
            elif t == "hardbreak":
                out.append("\n")
            elif t == "code_inline":
                out.append(f"<code>{_text(child.content)}</code>")
            elif t == "strong":
                inner = self.inline(child, bold=True, link=link)
                out.append(inner if bold else f"<b>{inner}</b>")
            elif t == "em":
                out.append(f"<i>{self.inline(child, bold=bold, link=link)}</i>")
            elif t == "s":
                out.append(f"<s>{self.inline(child, bold=bold, link=link)}</s>")
            elif t == "link":
                href = str(child.attrs.get("href", ""))
                inner = self.inline(child, bold=bold, link=True)
                if link or not href.lower().startswith(_SAFE_SCHEMES):
                    out.append(inner)
                else:
                    out.append(f'<a href="{escape(href, quote=True)}">{inner}</a>')
            elif t == "image":
                alt = "".join(c.content for c in child.children if c.type == "text")
                out.append(_text(alt or str(child.attrs.get("alt", ""))))
            elif t in ("html_inline",):
                out.append(_text(child.content))
            else:  # anything new: keep its text
                out.append(self.inline(child, bold=bold, link=link) if child.children else "")
        return "".join(out)

    # -- blocks ----------------------------------------------------------------------------

    def blocks(self, node: SyntaxTreeNode, depth: int = 0) -> list[tuple[str, str]]:
        """Rendered child blocks as ``(kind, html)``."""
        out: list[tuple[str, str]] = []
        for child in node.children:
            rendered = self.block(child, depth)
            if rendered is not None and rendered[1].strip():
                out.append(rendered)
        return out

    @staticmethod
    def join(blocks: list[tuple[str, str]], tight: bool = False) -> str:
        parts: list[str] = []
        prev_kind = ""
        for kind, html in blocks:
            if parts:
                parts.append("\n" if tight or prev_kind == "heading" else "\n\n")
            parts.append(html)
            prev_kind = kind
        return "".join(parts)

    def block(self, node: SyntaxTreeNode, depth: int) -> tuple[str, str] | None:
        t = node.type
        if t == "paragraph":
            return "p", self.inline(node.children[0]) if node.children else ""
        if t == "heading":
            inner = self.inline(node.children[0], bold=True) if node.children else ""
            return "heading", f"<b>{inner}</b>"
        if t == "bullet_list":
            return "list", self.list_items(node, depth, ordered=False)
        if t == "ordered_list":
            return "list", self.list_items(node, depth, ordered=True)
        if t == "blockquote":
            self.in_quote += 1
            inner = self.join(self.blocks(node, depth))
            self.in_quote -= 1
            if self.in_quote:  # Telegram does not nest quotes
                return "quote", inner
            return "quote", f"<blockquote>{inner}</blockquote>"
        if t in ("fence", "code_block"):
            code = _text(node.content.rstrip("\n"))
            lang = (node.info or "").strip().split(" ")[0]
            if lang and lang.replace("-", "").replace("_", "").isalnum():
                return "code", f'<pre><code class="language-{escape(lang)}">{code}</code></pre>'
            return "code", f"<pre>{code}</pre>"
        if t == "hr":
            return "hr", "———"
        if t == "table":
            return "table", self.table(node)
        if t == "html_block":
            return "p", _text(node.content.rstrip("\n"))
        if node.children:
            return "p", self.join(self.blocks(node, depth))
        return None

    def list_items(self, node: SyntaxTreeNode, depth: int, *, ordered: bool) -> str:
        indent = "   " * depth
        start = 1
        if ordered:
            try:
                start = int(str(node.attrs.get("start", 1)))
            except ValueError:
                start = 1
        lines: list[str] = []
        for i, item in enumerate(node.children):
            marker = f"{start + i}." if ordered else ("•" if depth == 0 else "◦")
            pad = indent + " " * (len(marker) + 1)
            item_lines: list[str] = []
            for kind, html in self.blocks(item, depth + 1):
                if kind == "list":  # nested lists come indented already
                    item_lines.extend(html.split("\n"))
                else:
                    item_lines.extend(
                        (line if not item_lines else pad + line) if j == 0 else pad + line
                        for j, line in enumerate(html.split("\n"))
                    )
            if not item_lines or item_lines[0].startswith(indent + "   "):
                item_lines.insert(0, "")
            lines.append(f"{indent}{marker} {item_lines[0]}".rstrip())
            lines.extend(item_lines[1:])
        return "\n".join(lines)

    def table(self, node: SyntaxTreeNode) -> str:
        rows: list[list[str]] = []
        header: list[str] = []
        for section in node.children:
            for tr in section.children:
                cells = [self.inline(c.children[0]) if c.children else "" for c in tr.children]
                if section.type == "thead":
                    header = cells
                else:
                    rows.append(cells)
        lines: list[str] = []
        if not rows and header:
            return " | ".join(header)
        for cells in rows:
            if header and len(header) == len(cells):
                first = cells[0]
                rest = [f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=True) if c]
                lines.append("• " + (f"<b>{first}</b> — " if first else "") + "; ".join(rest))
            else:
                lines.append("• " + " | ".join(cells))
        return "\n".join(lines)


def render_markdown(text: str) -> str:
    """Telegram HTML for a Markdown text."""
    renderer = _Renderer()
    tree = SyntaxTreeNode(_md.parse(text))
    return renderer.join(renderer.blocks(tree)).strip()


def entry_message(title: str, body_html: str) -> str:
    """Title and body as the bot sends an answer (without the bot's own frame)."""
    return f"<b>{_text(title)}</b>\n\n{body_html}"
