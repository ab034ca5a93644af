"""Logging set-up: one format, and secrets (the bot token, the webhook secret) removed from every
log record, whoever logs it (python-telegram-bot, httpx, uvicorn, ours) and wherever it goes."""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[RAHASIA]"


class RedactSecrets(logging.Filter):
    """Replaces each secret in the final message, the traceback text and the stack text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        needles: set[str] = set()
        for s in secrets:
            if not s:
                continue
            needles.add(s)
            if ":" in s:  # a bot token: its secret half also travels alone or URL-encoded
                needles.add(s.split(":", 1)[1])
                needles.add(s.replace(":", "%3A"))
        self.needles = sorted((n for n in needles if len(n) >= 8), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for n in self.needles:
            if n in text:
                text = text.replace(n, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.needles:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            message = str(record.msg)
        cleaned = self.redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_installed: RedactSecrets | None = None


def install_redaction(secrets: Iterable[str | None]) -> RedactSecrets:
    """Redact at record creation (covers every logger and handler, also ones added later, such
    as uvicorn's) and on the root handlers."""
    global _installed
    redact = RedactSecrets(secrets)
    if _installed is None:
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _installed is not None:
                _installed.filter(record)
            return record

        logging.setLogRecordFactory(factory)
    _installed = redact
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(redact)
    return redact


def redact_also(secret: str | None) -> None:
    """A secret known only at run time (the generated webhook secret) is redacted too."""
    if _installed is None or not secret or len(secret) < 8 or secret in _installed.needles:
        return
    _installed.needles = sorted([*_installed.needles, secret], key=len, reverse=True)


def setup_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request (with the token in the URL) at INFO: only at DEBUG do we want it
    quiet = logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING
    logging.getLogger("httpx").setLevel(quiet)
    logging.getLogger("httpcore").setLevel(quiet)
    logging.getLogger("apscheduler").setLevel(quiet)
    # libraries whose DEBUG lines are per token / per statement: never useful in the bot's log
    for noisy in ("markdown_it", "aiosqlite", "asyncio", "multipart", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.INFO))
    install_redaction(secrets)
