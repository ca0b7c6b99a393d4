"""What the assistant accepts as text typed by a person (a customer's message or reason, a staff reply), checked
before anything is stored or read by a model.

Control characters are removed, also from knowledge-base documents (`knowledge_base.loaders`): they are invisible,
PostgreSQL refuses to store NUL, and the bidirectional overrides (U+202A-U+202E, U+2066-U+2069) can make a message
read differently in the review console than what was sent ("Trojan Source", CVE-2021-42574). Line breaks and tabs
stay; the zero-width joiner inside emoji sequences (U+200D) stays. Payment card numbers are masked
(`chatbot.privacy`).
"""

from __future__ import annotations

import re

from chatbot.errors import InputError, TooLongError
from chatbot.privacy import mask_card_numbers

_PAGE_BREAKS = re.compile("[\x0b\x0c]")  # vertical tab, form feed (PDF text has them between pages)
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def remove_control_characters(text: str) -> str:
    """`text` without control characters and bidirectional overrides; form feeds and vertical tabs become line
    breaks. Line breaks, tabs and carriage returns stay."""
    return _CONTROL.sub("", _PAGE_BREAKS.sub("\n", text))


def checked_text(text: object, max_chars: int, *, what: str = "message") -> str:
    """`text` ready to store: control characters removed, line ends made "\\n", trimmed, card numbers masked.

    Args:
        text (`object`): what the person sent; anything but a string is refused.
        max_chars (`int`): the longest text accepted, counted after cleaning.
        what (`str`, *optional*, defaults to `"message"`): how the error names the text ("the reply is empty").

    Raises:
        InputError: not a string, or empty once cleaned (the message names which).
        TooLongError: longer than `max_chars`.
    """
    if not isinstance(text, str):
        raise InputError(f"a {what} must be text, got {type(text).__name__}")
    cleaned = remove_control_characters(text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned:
        raise InputError(f"the {what} is empty")
    if len(cleaned) > max_chars:
        length = len(cleaned)
        raise TooLongError(
            f"the {what} is {length} characters long; the limit is {max_chars}", length=length, limit=max_chars
        )
    return mask_card_numbers(cleaned)
