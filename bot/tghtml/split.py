"""Splitting Telegram HTML into messages that fit Telegram's length limit."""

from __future__ import annotations

from bot.tghtml.parse import CLOSE, OPEN, TEXT, tokenize, utf16_length, visible_length


def _ranges(atoms: list[tuple], widths: list[int], limit: int) -> list[tuple[int, int]]:
    """Cut the atom list into [start, end) ranges whose visible width is <= limit."""
    n = len(atoms)
    ranges: list[tuple[int, int]] = []
    i = 0
    threshold = max(1, limit // 4)
    while i < n:
        used = 0
        j = i
        chars: list[str] = []
        index: list[int] = []
        while j < n:
            if atoms[j][0] == TEXT:
                if used + widths[j] > limit:
                    break
                used += widths[j]
                chars.append(atoms[j][2])
                index.append(j)
            j += 1
        if j >= n:
            ranges.append((i, n))
            break
        window = "".join(chars)
        cut = -1
        p = window.rfind("\n\n")
        if p >= 0 and p + 2 >= threshold and window[:p].strip():
            cut = index[p + 1] + 1
        if cut < 0:
            p = window.rfind("\n")
            if p >= 0 and p + 1 >= threshold and window[:p].strip():
                cut = index[p] + 1
        if cut < 0:
            for p in range(len(window) - 1, 0, -1):
                if window[p].isspace() and window[:p].strip():
                    cut = index[p] + 1
                    break
        if cut < 0:
            cut = j
            while cut > i and atoms[cut - 1][0] == OPEN:
                cut -= 1
        while cut < n and atoms[cut][0] == CLOSE:
            cut += 1
        ranges.append((i, cut))
        i = cut
    return ranges


def split_message(text: str, limit: int = 4096) -> list[str]:
    """Split Telegram HTML into parts of visible length <= ``limit`` that each validate.

    Cuts prefer a paragraph break (blank line), then a line break, then a space, and never fall
    inside a tag or an entity. Tags open at a cut are closed at the end of the part and opened
    again (with their attributes) at the start of the next. The parts' texts concatenate back to
    the original text; only parts that would hold nothing but whitespace are merged into the
    previous part or dropped. A text that fits is returned unchanged as the only part.

    Raises :class:`HtmlError` (a ``ValueError``) for invalid HTML, ``ValueError`` for limit < 2.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    if visible_length(text) <= limit:
        return [text]
    atoms = tokenize(text, units=True)
    widths = [utf16_length(a[2]) if a[0] == TEXT else 0 for a in atoms]
    ranges = _ranges(atoms, widths, limit)

    # merge or drop parts that would be whitespace only (Telegram rejects them as empty)
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        content = "".join(atoms[k][2] for k in range(start, end) if atoms[k][0] == TEXT)
        if content.strip() or not merged:
            if content.strip():
                merged.append((start, end))
            continue
        prev_start, prev_end = merged[-1]
        if sum(widths[prev_start:end]) <= limit:
            merged[-1] = (prev_start, end)

    # render each range with the tags open at its start re-opened and those open at its end closed
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # raw open tag, tag name
    position = 0
    for start, end in merged:
        for k in range(position, start):  # atoms of dropped ranges still move the tag stack
            _apply(stack, atoms[k])
        prefix = "".join(raw for raw, _ in stack)
        body: list[str] = []
        for k in range(start, end):
            body.append(atoms[k][1])
            _apply(stack, atoms[k])
        suffix = "".join(f"</{tag}>" for _, tag in reversed(stack))
        parts.append(prefix + "".join(body) + suffix)
        position = end
    return parts


def _apply(stack: list[tuple[str, str]], atom: tuple) -> None:
    if atom[0] == OPEN:
        stack.append((atom[1], atom[2]))
    elif atom[0] == CLOSE:
        stack.pop()
