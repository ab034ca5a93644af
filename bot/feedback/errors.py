"""Feedback errors: every failure carries a stable ``reason`` the handlers map to a template."""

from __future__ import annotations

from typing import Any


class FeedbackError(Exception):
    """Base class. ``reason`` is a stable code the handlers map to a template."""

    reason = "error"

    def __init__(self, reason: str | None = None, **params: Any) -> None:
        self.reason = reason or self.reason
        self.params = params
        super().__init__(self.reason, params)


class SessionNotFound(FeedbackError):
    reason = "not_found"


class SessionNotOpen(FeedbackError):
    """Not open yet: ``params['opens_at']``."""

    reason = "not_open"


class SessionClosed(FeedbackError):
    reason = "closed"


class NoResponse(FeedbackError):
    """The participant has no response in this session (never started, or it was purged)."""

    reason = "no_response"


class StaleStep(FeedbackError):
    """A button of a question that is no longer the current one."""

    reason = "stale"


class InvalidAnswer(FeedbackError):
    """``reason``: out_of_range (min, max), unknown_choice, too_long (length, limit), empty,
    use_buttons, required, too_many_choices (max)."""

    reason = "invalid"


class SessionInputError(FeedbackError):
    """Bad input when creating a session; ``message`` is one readable Indonesian line."""

    reason = "input"

    def __init__(self, message: str) -> None:
        super().__init__("input", message=message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotAllowed(FeedbackError):
    reason = "not_allowed"
