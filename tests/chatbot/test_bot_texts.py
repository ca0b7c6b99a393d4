import pytest

from chatbot.bot_texts import DEFAULT_TEXTS, MAX_EXAMPLES, MAX_TEXT_CHARS, SPECS, BotTexts, check_text
from chatbot.errors import InputError


def test_an_unknown_text_is_refused_by_name_with_the_known_ones():
    with pytest.raises(InputError, match=r"no text named 'handof'.*handoff"):
        check_text("handof", "Un momento")


@pytest.mark.parametrize(
    ("key", "text", "error"),
    [
        ("handoff", "   ", "empty.*reset"),
        ("greeting", "x" * (MAX_TEXT_CHARS + 1), f"{MAX_TEXT_CHARS + 1} characters"),
        ("examples", "\n".join(f"question {i}?" for i in range(MAX_EXAMPLES + 1)), f"{MAX_EXAMPLES + 1} example"),
        ("examples", "How?\n" + "why " * 60, "at most 200"),
        ("thanks", 42, "must be text, got int"),
        ("too_long", "Máximo {limite} caracteres.", r"uses \{limite\}; it can use \{length\}, \{limit\}"),
        ("too_long", "Máximo {limit} caracteres }", "brace that opens or closes nothing"),
        ("too_long", "Máximo {} caracteres.", r"uses \{\}"),
    ],
)
def test_bad_wording_is_refused_with_what_is_wrong(key, text, error):
    with pytest.raises(InputError, match=error):
        check_text(key, text)


def test_wording_is_trimmed_and_examples_are_one_per_line():
    assert check_text("handoff", "  Un momento, por favor.\r\n") == "Un momento, por favor."
    assert check_text("examples", " How do I renew?\r\n\n  Where is the office? \n") == (
        "How do I renew?\nWhere is the office?"
    )
    assert check_text("examples", "") == ""  # no examples at all is a choice too


def test_stored_wording_goes_over_the_defaults_and_forgotten_keys_are_ignored():
    texts = BotTexts.from_stored({"handoff": "Un momento.", "examples": "A?\nB?", "retired_key": "old"})
    assert texts["handoff"] == "Un momento." and not texts.is_default("handoff")
    assert texts["greeting"] == SPECS["greeting"].default and texts.is_default("greeting")
    assert texts.examples() == ["A?", "B?"] and DEFAULT_TEXTS.examples() == []
    assert "retired_key" not in texts.stored


def test_a_text_with_placeholders_is_filled_in_and_other_texts_keep_their_braces():
    texts = BotTexts.from_stored({"too_long": check_text("too_long", "Máximo {limit} caracteres ({length}).")})
    assert texts.filled("too_long", length=2500, limit=2000) == "Máximo 2000 caracteres (2500)."
    assert "2500 characters long" in DEFAULT_TEXTS.filled("too_long", length=2500, limit=2000)
    assert check_text("greeting", "Hola {nombre}") == "Hola {nombre}"  # shown as written
    # Stored before it could be checked (or by hand in the database): the default is shown instead of an error.
    assert BotTexts.from_stored({"too_long": "{oops}"}).filled("too_long", length=3, limit=2).startswith("Your")
