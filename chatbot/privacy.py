"""Personal data in text.

Payment card numbers are masked in every customer and staff message before it is stored, embedded, classified or
shown to a model: a chat log must not become a store of card numbers (PCI DSS forbids keeping them unprotected),
and customers do paste them ("why was 4111 1111 1111 1111 charged twice?"). The last four digits stay, so staff
can still tell which card is meant. Training data goes further: e-mail addresses and phone numbers go too.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Card numbers: 13-19 digits, optionally grouped by spaces or dashes; only Luhn-valid ones count (an order number
# rarely passes the check: 1 in 10 random digit runs do, and those are 13-19 digits long).
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# Phone numbers need separators or a leading +, so that order and tracking numbers stay.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]?\d{3,4}\b")


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn check that payment card numbers carry."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _replace_cards(text: str, replacement: str) -> str:
    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return replacement.format(last4=digits[-4:]) if luhn_valid(digits) else match.group(0)

    return _CARD.sub(card, text)


def mask_card_numbers(text: str) -> str:
    """`text` with each payment card number replaced by "[card ending 1111]"."""
    return _replace_cards(text, "[card ending {last4}]")


def scrub_pii(text: str) -> str:
    """Replace e-mail addresses, card numbers and phone numbers with placeholders (for training data)."""
    text = _EMAIL.sub("{{Email Address}}", text)
    text = _replace_cards(text, "{{{{Card Number}}}}")
    return _PHONE.sub("{{Phone Number}}", text)
