"""Telegram's 64-byte limit on ``callback_data``, and the widest form of every button payload
that carries an id from the content files.

The loaders (and so ``opdbot kb check``) refuse an id that could not fit the longest of its
forms, computed here from the prefixes the handlers really use; tests/test_callback_limits.py
walks every keyboard with ids of exactly these lengths to keep both sides in step.
"""

from __future__ import annotations

#: Telegram's limit for InlineKeyboardButton.callback_data, in bytes (UTF-8).
CALLBACK_DATA_MAX = 64
#: The dialogue token at the end of a dialogue's buttons (handlers.tokens), in bytes.
DIALOG_TAG_WIDTH = 8
#: A database id (BigInteger) at its widest (19 digits).
WIDEST_ROW_ID = str(2**63 - 1)

#: For each kind of content id, every callback_data form built around it (``{}`` is the id;
#: the other fields at their widest).
ID_FORMS: dict[str, tuple[str, ...]] = {
    # knowledge entries: an answer's "see also" and the choices for an ambiguous question
    # (kb:e:<entry>:<question log id>), /materi (mt:e:<entry>), a tip's "read more" (kb:e:..:0)
    "entry": ("kb:e:{}:" + WIDEST_ROW_ID, "mt:e:{}"),
    # the OPD list at registration and in /profil (opd:s:<slug>), the parent of a typed unit
    # (opd:ps:<slug>)
    "opd": ("opd:s:{}", "opd:ps:{}"),
    # feedback questionnaires offered by the /sesi wizard (fbo:w:template:<id>), with the
    # wizard's dialogue token at the end (handlers.tokens: "~" + kind letter + 6 characters)
    "questionnaire": ("fbo:w:template:{}" + DIALOG_TAG_WIDTH * "~",),
}
# Not listed: ids that are database numbers (at most 19 digits, see WIDEST_ROW_ID), session
# codes (6 characters), and closed sets such as pillars or the /darurat platforms (<= 12).

KIND_NAMES = {"entry": "id entri", "opd": "slug OPD", "questionnaire": "id kuesioner"}


def max_id_bytes(kind: str) -> int:
    """The longest id of that kind whose every callback_data form fits in 64 bytes."""
    longest_prefix = max(len(form.replace("{}", "").encode()) for form in ID_FORMS[kind])
    return CALLBACK_DATA_MAX - longest_prefix


def id_length_problem(kind: str, value: str) -> str | None:
    """None when ``value`` fits; else an Indonesian sentence for ``kb check``/the loader."""
    limit = max_id_bytes(kind)
    size = len(value.encode())
    if size <= limit:
        return None
    return (
        f"{KIND_NAMES[kind]} '{value}' terlalu panjang ({size} karakter, maksimal {limit}): "
        "tombol Telegram hanya memuat 64 byte data"
    )
