"""Session codes, deep links and the respondent hash.

Identity: ``respondent_hash`` = sha256(session salt, session code, Telegram id) enforces one
response per participant. Anonymous sessions store nothing else about the participant
(``user_id`` stays NULL). The retention purge later unlinks every response: ``user_id`` NULL and
the hash replaced by a random value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# No I, L, O, 0, 1: the code is read aloud and typed from a projector.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
DEEPLINK_PREFIX = "fb_"


def generate_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(raw: str | None) -> str | None:
    """Upper-case, strip ``fb_``/spaces; None when it cannot be a session code."""
    if not raw:
        return None
    code = raw.strip()
    if code.lower().startswith(DEEPLINK_PREFIX):
        code = code[len(DEEPLINK_PREFIX) :]
    code = code.upper()
    if not 4 <= len(code) <= 16 or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def deep_link(code: str, bot_username: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={DEEPLINK_PREFIX}{code}"


def respondent_hash(salt: str, code: str, telegram_id: int, secret: str | None = None) -> str:
    """One participant of one session, without storing who. With FEEDBACK_SECRET set (kept
    outside the database) the hash is an HMAC, so a copy of the database alone cannot be used
    to recompute it for known Telegram ids."""
    message = f"{salt}:{code}:{telegram_id}".encode()
    if secret:
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()
