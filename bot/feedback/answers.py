"""Answers to one question: parsing buttons and typed text, validation, display.

Pure functions on a question dict of the frozen questionnaire; :class:`InvalidAnswer` says why
an answer is refused.
"""

from __future__ import annotations

import re
from typing import Any

from bot.feedback.errors import InvalidAnswer


def _choice_label(q: dict[str, Any], choice_id: str) -> str:
    for c in q.get("choices", []):
        if c["id"] == choice_id:
            return c["label"]
    return choice_id


def _scale_label(q: dict[str, Any], value: int) -> str | None:
    for s in q.get("scale", []):
        if s["value"] == value:
            return s.get("label")
    return None


def display_answer(q: dict[str, Any], value: Any, text: str | None) -> str:
    """A short human-readable form of an answer (plain text; templates escape it)."""
    t = q["type"]
    if t == "rating":
        label = _scale_label(q, value)
        return f"{value} ({label})" if label else str(value)
    if t == "nps":
        return str(value)
    if t == "single":
        if value is None:
            return f"Lainnya: {text}" if text else ""
        return _choice_label(q, value)
    if t == "multi":
        parts = [_choice_label(q, v) for v in (value or [])]
        if text:
            parts.append(f"Lainnya: {text}")
        return ", ".join(parts)
    return text or ""


def is_answered(q: dict[str, Any], value: Any, text: str | None) -> bool:
    if q["type"] == "multi":
        return bool(value) or bool(text)
    if q["type"] == "text":
        return bool(text)
    if q["type"] == "single":
        return value is not None or bool(text)
    return value is not None


def parse_button(q: dict[str, Any], raw: int) -> tuple[Any, str | None]:
    """A button answer (rating/nps value, or the index of a single choice) -> (value, text)."""
    t = q["type"]
    if t == "rating":
        if not 1 <= raw <= 5:
            raise InvalidAnswer("out_of_range", min=1, max=5)
        return raw, None
    if t == "nps":
        if not 0 <= raw <= 10:
            raise InvalidAnswer("out_of_range", min=0, max=10)
        return raw, None
    if t == "single":
        choices = q["choices"]
        if not 0 <= raw < len(choices):
            raise InvalidAnswer("unknown_choice")
        return choices[raw]["id"], None
    raise InvalidAnswer("use_buttons")


# Control characters (except tab and newline) break exports (XLSX refuses them) and
# PostgreSQL refuses NUL in text: never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def parse_text(q: dict[str, Any], raw: str) -> tuple[Any, str | None]:
    """A typed answer -> (value, text). Numbers are accepted for rating/nps, a choice's exact
    label (or its number) for single choice, anything for free text and "Lainnya"."""
    text = strip_controls(raw or "").strip()
    t = q["type"]
    if not text:
        raise InvalidAnswer("empty")
    if t == "text":
        limit = int(q.get("max_length") or 1000)
        if len(text) > limit:
            raise InvalidAnswer("too_long", length=len(text), limit=limit)
        return None, text
    if t in ("rating", "nps"):
        if text.isdigit():
            return parse_button(q, int(text))
        raise InvalidAnswer("use_buttons")
    if t == "single":
        folded = text.casefold()
        for c in q["choices"]:
            if c["label"].casefold() == folded:
                return c["id"], None
        number = text.rstrip(".")
        if number.isdigit() and 1 <= int(number) <= len(q["choices"]):  # "3": the third one
            return q["choices"][int(number) - 1]["id"], None
        if q.get("allow_other"):
            limit = int(q.get("other_max_length") or 200)
            if len(text) > limit:
                raise InvalidAnswer("too_long", length=len(text), limit=limit)
            return None, text
        raise InvalidAnswer("use_buttons")
    # multi: typed text is the "Lainnya" part; the handler keeps the chosen ids
    if q.get("allow_other"):
        limit = int(q.get("other_max_length") or 200)
        if len(text) > limit:
            raise InvalidAnswer("too_long", length=len(text), limit=limit)
        return None, text
    raise InvalidAnswer("use_buttons")
