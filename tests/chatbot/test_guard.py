import pytest

from chatbot.errors import InputError, TooLongError
from chatbot.guard import checked_text


def test_invisible_characters_go_and_what_people_see_stays():
    sent = "Where is\x00 my order?\r\nIt was\tpaid\x1b[31m on the 3rd\x7f\x85"
    assert checked_text(sent, 200) == "Where is my order?\nIt was\tpaid[31m on the 3rd"
    family = "👨\u200d👩\u200d👧 thanks!"  # the zero-width joiner holds the emoji together
    assert checked_text(family, 200) == family
    assert checked_text("Ça coûte 20 €, ¿verdad? 谢谢", 200) == "Ça coûte 20 €, ¿verdad? 谢谢"


def test_bidirectional_overrides_cannot_reorder_what_staff_read():
    # U+202E shows the rest right to left: "refund 0001 $" could display as "$ 1000 dnufer" in the console.
    assert checked_text("please refund \u202e0001 $\u202c now \u2066x\u2069", 200) == "please refund 0001 $ now x"


def test_card_numbers_are_masked():
    assert checked_text("card 4111 1111 1111 1111 was charged", 200) == "card [card ending 1111] was charged"


@pytest.mark.parametrize(
    ("text", "what", "error"),
    [
        (" \x00\u202e \r\n", "message", "the message is empty"),
        ("x" * 11, "reply", "the reply is 11 characters long; the limit is 10"),
        (42, "message", "a message must be text, got int"),
    ],
)
def test_refusals_name_what_is_wrong(text, what, error):
    with pytest.raises(InputError, match=error):
        checked_text(text, 10, what=what)


def test_a_text_too_long_says_by_how_much():
    with pytest.raises(TooLongError) as caught:
        checked_text("x" * 12, 10)
    assert (caught.value.length, caught.value.limit) == (12, 10)
