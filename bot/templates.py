"""Jinja2 environment for every text the bot sends (Telegram HTML, autoescape on)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.numfmt import desimal, ribuan


def _thousands(value: Any) -> str:
    return ribuan(value)


def _bar(fraction: float, width: int = 12) -> str:
    fraction = max(0.0, min(1.0, float(fraction or 0)))
    full = round(fraction * width)
    return "▓" * full + "░" * (width - full)


def _truncate_chars(value: str | None, limit: int = 200) -> str:
    if value is None:
        return ""
    value = str(value)
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _duration(value: Any) -> str:
    """A timedelta (or seconds) as people say it: "12 menit", "3 jam", "2 hari"."""
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value or 0)
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{max(minutes, 1)} menit"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} jam"
    return f"{hours // 24} hari"


def _truncate_words(value: str | None, limit: int = 40) -> str:
    """Cut at a word boundary, with "…" (a button label never ends in half a word)."""
    if value is None:
        return ""
    value = " ".join(str(value).split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut and not value[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


@lru_cache(maxsize=2)
def environment(autoescape: bool = True) -> Environment:
    env = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True)
        if autoescape
        else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=StrictUndefined,
    )
    env.filters["ribuan"] = _thousands
    env.filters["bar"] = _bar
    env.filters["potong"] = _truncate_chars
    env.filters["lama"] = _duration
    env.filters["potong_kata"] = _truncate_words
    env.filters["desimal"] = desimal
    return env


def render(name: str, /, **ctx: Any) -> str:
    """Render ``bot/templates/<name>.j2`` to Telegram HTML; user input is always escaped."""
    if not name.endswith(".j2"):
        name += ".j2"
    return environment(True).get_template(name).render(**ctx).strip()


def render_plain(name: str, /, **ctx: Any) -> str:
    """Render a template for plain-text places (callback answers, button labels)."""
    if not name.endswith(".j2"):
        name += ".j2"
    return environment(False).get_template(name).render(**ctx).strip()


def html(text: str) -> Markup:
    """Mark already-rendered Telegram HTML (e.g. a knowledge entry body) as safe."""
    return Markup(text)
