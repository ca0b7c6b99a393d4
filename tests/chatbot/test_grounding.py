"""Checks of generated answers against their passages: sentences, support, citations, replies."""

import pytest

from chatbot.grounding import (
    answered_question,
    cite,
    cited_in,
    quoting_passage,
    said_in,
    split_sentences,
    streamed_units,
    supporting_passage,
)
from chatbot.types import Turn
from tests.chatbot.passages import HOOKS, REFUNDS, SHIPPING


def test_split_sentences():
    assert split_sentences("One thing. Two 2.5 things! Three?\n- a list item\nEnd") == [
        "One thing.",
        "Two 2.5 things!",
        "Three?",
        "- a list item",
        "End",
    ]


def test_sentences_begin_with_capitals_of_any_script_and_end_after_closing_quotes():
    assert split_sentences(
        "Wir liefern nach Deutschland. Über 50 Euro ist der Versand frei. ¿Cómo pago? Con tarjeta."
    ) == [
        "Wir liefern nach Deutschland.",
        "Über 50 Euro ist der Versand frei.",
        "¿Cómo pago?",
        "Con tarjeta.",
    ]
    assert split_sentences('Choose "Cancel order." Then confirm. See e.g. the returns page.') == [
        'Choose "Cancel order."',
        "Then confirm.",
        "See e.g. the returns page.",
    ]


def test_an_abbreviation_before_a_name_ends_no_sentence():
    assert split_sentences(
        "Get help from the U.S. Department of Labor. Open 8 a.m. to 9 p.m. ET. We ship in the U.S. You pay no duty. Dr. Li signs."
    ) == [
        "Get help from the U.S. Department of Labor.",
        "Open 8 a.m. to 9 p.m. ET.",
        "We ship in the U.S.",
        "You pay no duty.",
        "Dr. Li signs.",
    ]


def test_a_numbered_list_item_is_one_sentence_with_its_number():
    assert split_sentences("Follow these steps:\n1. Log in to your account.\n2) Open Orders. Pick the order.") == [
        "Follow these steps:",
        "1. Log in to your account.",
        "2) Open Orders.",
        "Pick the order.",
    ]


def test_streamed_text_is_checked_in_sentences_and_whole_code_blocks():
    text = (
        "Hooks run after each payment. Save it in your shop folder:\n```python\ndef on_order(order):\n"
        "    order.ship_free()\n```\nThe shop reloads it. And then"
    )
    units, pending = [], ""
    for start in range(0, len(text), 3):  # as a model streams it, a few characters at a time
        done, pending = streamed_units(pending + text[start : start + 3])
        units += done
        # Nothing of the block is let out before its closing fence: no line of code is checked as a sentence.
        assert not any(unit.startswith(("def", "    ")) for unit in units)
    assert units == [
        "Hooks run after each payment.",
        "Save it in your shop folder:\n```python\ndef on_order(order):\n    order.ship_free()\n```",
        "The shop reloads it.",
    ]
    assert pending == "And then"
    # An introduction waits for what follows; prose after it lets it go as a sentence of its own.
    assert streamed_units("Here is how:\n") == ([], "Here is how:\n")
    assert streamed_units("Here is how:\n1. Open") == (["Here is how:"], "1. Open")


def test_code_is_supported_only_by_a_passage_that_holds_it_as_written():
    block = "```python\ndef on_order(order):\n    if order.total > 100:\n```"
    assert quoting_passage([block], [REFUNDS, HOOKS]) == 1
    # Indented as a whole (inside a list item) is the same code; another command, or other indentation, is not.
    assert quoting_passage(["```\n  def on_order(order):\n      if order.total > 100:\n```"], [HOOKS]) == 0
    assert quoting_passage(["```\ndef on_order(order):\nif order.total > 100:\n```"], [HOOKS]) is None
    assert quoting_passage(["```\ndef on_refund(order):\n```"], [REFUNDS, HOOKS]) is None
    assert quoting_passage(["```\norder.ship_free()"], [HOOKS]) == 0  # cut short by the token limit


def test_citations_are_read_from_the_prose_only():
    assert cited_in("Read the first argument [2]:\n```\nname = sys.argv[1]\n```", 3) == [2]
    assert cited_in("```\nname = sys.argv[1]\n```", 3) == [1, 2, 3]  # cites nothing: every source


def test_a_paraphrase_of_a_passage_is_supported():
    assert supporting_passage("Refunds reach your credit card within 5 to 10 business days.", [SHIPPING, REFUNDS]) == 1


def test_an_invented_number_is_not_supported():
    assert supporting_passage("Refunds reach your card within 48 hours.", [SHIPPING, REFUNDS]) is None


def test_a_range_is_one_claim():
    # "3" and "5" occur in the refunds passage, but not the range "3 to 5" (that is shipping).
    assert supporting_passage("Refunds reach credit cards within 3 to 5 business days.", [SHIPPING, REFUNDS]) is None


def test_invented_policy_words_are_not_supported():
    assert supporting_passage("Refunds are paid in cash at the post office.", [REFUNDS]) is None


def test_cite_puts_the_citation_before_the_final_stop():
    assert cite("Refunds take 5 days.", 2) == "Refunds take 5 days [2]."
    assert cite("Refunds take 5 days [1].", 2) == "Refunds take 5 days [1]."
    assert cite("Refunds take 5 days", 1) == "Refunds take 5 days [1]"
    assert cite("Is it free?!", 1) == "Is it free [1]?!"
    # A colon after an abbreviation announces what follows; the abbreviation keeps its full stop.
    assert cite("Create the file, e.g.:", 1) == "Create the file, e.g. [1]:"
    assert cite("Set it up as follows:\n```\n[Match]\n```", 3) == "Set it up as follows [3]:\n```\n[Match]\n```"


def test_said_in_finds_a_sentence_word_for_word_in_an_earlier_answer():
    earlier = "First check the packing slip. If it has not turned up within 2 days, contact us [1]."
    assert said_in("If it has not turned up within 2 days, contact us.", earlier)
    assert said_in("First check the packing slip", earlier)
    assert not said_in("Contact us within 14 days.", earlier)
    assert not said_in("us", "Contact bus drivers.")  # whole words only
    assert not said_in("...", earlier)


def test_a_range_written_differently_is_the_same_range():
    assert supporting_passage("Refunds reach credit cards in 5-10 business days.", [SHIPPING, REFUNDS]) == 1


@pytest.mark.parametrize(
    ("message", "last", "question"),
    [
        ("Yes", "Was your vehicle registered in another state?", "Was your vehicle registered in another state?"),
        ("No, I haven\u2019t.", "Glad to help [1]. Have you sent it back [2]?", "Have you sent it back?"),
        ("yes, in New Jersey", "Is the car registered in another state?", "Is the car registered in another state?"),
        ("I do", "Do you have a receipt?", "Do you have a receipt?"),
        ("Oh yeah, I use one of those plans", "Do you use a dental plan?", "Do you use a dental plan?"),
        ("Sure, it's 12345.", "Could you give me your order number?", "Could you give me your order number?"),
        ("Okay. What should I do?", "Have you sent it back?", "Have you sent it back?"),  # names nothing
        # the message asks something new, or the last message asked nothing
        ("How long does a refund take?", "Do you have a receipt?", None),
        ("Yes. And how long does a refund take?", "Have you sent it back?", None),
        ("I have questions about permits for people under 18", "Do you want an Enhanced ID?", None),
        ("No refund has reached my card", "Anything else I can help with?", None),
        ("Right now I cannot log in", "Anything else I can help with?", None),
        ("Yes", "Refunds take 5 days [1].", None),
        ("yesterday I sent it back", "Have you sent it back?", None),
    ],
)
def test_a_reply_to_the_last_question_asked_is_told_from_other_messages(message, last, question):
    history = [Turn("user", "I want a refund"), Turn("assistant", last)]
    assert answered_question(message, history) == question
    staff = [Turn("user", "I want a refund"), Turn("staff", last)]
    assert answered_question(message, staff) == question
    # The customer's own earlier question is not one the customer answers.
    assert answered_question(message, [Turn("assistant", "Hello"), Turn("user", last)]) is None
    assert answered_question(message, []) is None
