"""Extractive answers: which of the passages' sentences answer, and how they are put together."""

import numpy as np
import pytest

from chatbot.extractive import (
    MAX_LIST_WORDS,
    asked_term,
    candidate_sentences,
    defines_term,
    expects_quantity,
    extractive_answer,
    is_customer_heading,
    leans_back,
    list_runs,
    points_forward,
    question_coverage,
    referenced_names,
    refers_to,
    with_definition,
    without_yes_no,
)
from chatbot.grounding import (
    cite,
)
from tests.chatbot.passages import HOOKS, REFUNDS, SHIPPING, passage

STEPS = passage(
    "I'm here to help you cancel your order today. To cancel it, please follow these steps:\n"
    "1. Log in to your account.\n"
    "2. **Open** Orders. Pick the order.\n"
    "3) Click Cancel next to the order details.\n"
    "If anything goes wrong, our support team is available around the clock.",
    title="Cancel order",
)


def test_an_answer_that_touches_a_list_brings_the_whole_list_one_item_per_line():
    candidates = candidate_sentences([STEPS])
    assert [(c.marker, c.continues) for c in candidates] == [
        ("", False), ("", False), ("1.", False), ("2.", False), ("2.", True), ("3.", False), ("", False),
    ]  # fmt: skip
    # The third step looks most like "how do I cancel my order"; the answer is the list, from its introduction.
    answer = extractive_answer(candidates, np.array([0.5, 0.4, 0.2, 0.3, 0.1, 0.9, 0.1]), [0.8])
    assert answer == (
        "To cancel it, please follow these steps:\n"
        "1. Log in to your account.\n"
        "2. Open Orders. Pick the order.\n"
        "3. Click Cancel next to the order details [1]."
    )
    # A sentence that introduces the list brings it too; what follows the list is a paragraph of its own.
    answer = extractive_answer(candidates, np.array([0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.85]), [0.8])
    assert answer.startswith(
        "I'm here to help you cancel your order today. To cancel it, please follow these steps:\n1."
    )
    assert answer.endswith("details.\n\nIf anything goes wrong, our support team is available around the clock [1].")


def test_list_runs_are_the_lists_with_their_introductions():

    candidates = candidate_sentences([STEPS, passage("We never charge for returns.\n- Gift cards.\n- Food.")])
    assert [[candidates[k].text for k in run] for run in list_runs(candidates)] == [
        ["To cancel it, please follow these steps:", "Log in to your account.", "Open Orders.", "Pick the order.",
         "Click Cancel next to the order details."],
        ["Gift cards.", "Food."],
    ]  # fmt: skip


def test_a_short_sentence_ending_in_a_colon_is_kept_only_before_a_list():
    texts = [c.text for c in candidate_sentences([passage("Topic:\nWe never charge for returns in the first month.")])]
    assert texts == ["We never charge for returns in the first month."]
    texts = [c.text for c in candidate_sentences([passage("Not accepted:\n- Gift cards.\n- Food.")])]
    assert texts == ["Not accepted:", "Gift cards.", "Food."]


def test_steps_that_begin_in_the_passage_before_are_marked():
    rest = passage("4. Enter your shipping address and payment method.\n5. Review the order and click Place order.")
    answer = extractive_answer(candidate_sentences([rest]), np.array([0.2, 0.9]), [0.8])
    assert answer == (
        "…\n4. Enter your shipping address and payment method.\n5. Review the order and click Place order [1]."
    )


def test_a_list_too_long_for_an_answer_is_cut_and_says_so():
    items = "".join(f"- option number {i} is one of the many ways to pay for an order\n" for i in range(20))
    candidates = candidate_sentences([passage(f"We accept these payment methods:\n{items}")])
    answer = extractive_answer(candidates, np.array([0.9] + [0.1] * 20), [0.8])
    lines = answer.splitlines()
    assert lines[0] == "We accept these payment methods:" and lines[1].startswith("- option number 0 ")
    assert lines[-1] == "… [1]"  # the rest is in the cited source
    assert len(" ".join(line.removeprefix("- ") for line in lines[:-1]).split()) <= MAX_LIST_WORDS  # markers aside


def test_a_code_block_is_one_candidate_that_keeps_its_lines_and_comes_with_its_introduction():
    candidates = candidate_sentences([HOOKS])
    assert [c.code for c in candidates] == [False, False, True, False]
    assert candidates[2].text == (
        "```python\ndef on_order(order):\n    if order.total > 100:\n        order.ship_free()\n```"
    )
    # The sentence that introduces the block is the best: the block, whole, comes with it; prose after it is a
    # paragraph of its own, and the citation stays out of the code.
    answer = extractive_answer(candidates, np.array([0.5, 0.9, 0.3, 0.1]), [0.8])
    assert answer == (
        "Save it in your shop folder [1]:\n```python\ndef on_order(order):\n    if order.total > 100:\n"
        "        order.ship_free()\n```"
    )
    answer = extractive_answer(candidates, np.array([0.9, 0.85, 0.3, 0.8]), [0.8])
    assert answer.endswith("        order.ship_free()\n```\n\nThe shop reloads its hooks within one minute [1].")


def test_a_sentence_before_a_code_block_ends_in_a_colon():
    candidates = candidate_sentences(
        [passage("To see every installed package, run the command\n```\ndpkg --list\n```")]
    )
    answer = extractive_answer(candidates, np.array([0.9, 0.4]), [0.8])
    assert answer == "To see every installed package, run the command [1]:\n```\ndpkg --list\n```"


def test_a_code_block_cut_at_the_end_of_its_passage_is_closed():
    (block,) = [c for c in candidate_sentences([passage("Run these commands:\n~~~~\nmake\nmake install")]) if c.code]
    assert block.text == "~~~~\nmake\nmake install\n~~~~"
    assert cite("Run:\n```\nmake\n```", 2) == "Run [2]:\n```\nmake\n```"
    assert cite("```\nmake\n```", 2) == "```\nmake\n```\n\n[2]"
    assert cite("Read the first argument:\n```\nname = sys.argv[1]\n```", 2) == (
        "Read the first argument [2]:\n```\nname = sys.argv[1]\n```"
    )  # "[1]" in code is no citation
    # Every block of an answer with several stays; the citation goes in the prose before the last one.
    assert cite("List all:\n```\ndpkg --list\n```\n\nOr one:\n```\ndpkg --status foo\n```", 1) == (
        "List all:\n```\ndpkg --list\n```\n\nOr one [1]:\n```\ndpkg --status foo\n```"
    )


def test_extractive_answer_takes_the_best_sentence_and_cites_its_passage():
    candidates = candidate_sentences([SHIPPING, REFUNDS])
    assert [c[2] for c in candidates][1] == "We check returns within 3 business days."
    similarities = np.array([0.1, 0.2, 0.9])
    assert (
        extractive_answer(candidates, similarities, [0.5, 0.5])
        == "Refunds reach credit cards within 5 to 10 business days [2]."
    )


def test_question_coverage_is_the_share_of_the_questions_words_a_sentence_has():
    coverage = question_coverage(
        "Can I schedule another road test?",
        [
            "You can schedule another road test, but you pay a fee.",  # schedule, another, road, test
            "Use the road test system to book a test.",  # road, test
            "Tests are scheduled online.",  # stems: test, schedul
            "Call 555 0100.",
        ],
    )
    np.testing.assert_allclose(coverage, [1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(
        question_coverage("Is item 42 back?", ["Item 42 is back.", "Item 7 is back."]), [1, 2 / 3]
    )
    assert question_coverage("What now?", ["Refunds take 5 days."]).tolist() == [0.0]  # nothing of its own to find


def test_the_sentence_with_the_questions_words_answers_when_the_cosines_are_close():
    road_test = passage(
        "Use the road test system to book, confirm or cancel a test online. "
        "You can schedule another road test, but you must pay a fee after two failed tests.",
        title="Road tests",
    )
    candidates = candidate_sentences([road_test, SHIPPING])
    similarities = np.array([0.62, 0.58, 0.1])  # "can I schedule another road test?"
    coverages = question_coverage("can I schedule another road test?", [c.text for c in candidates])
    assert extractive_answer(candidates, similarities, [0.7, 0.3], coverages=coverages, max_words=20) == (
        "You can schedule another road test, but you must pay a fee after two failed tests [1]."
    )
    # By cosine alone the first sentence wins.
    assert extractive_answer(candidates, similarities, [0.7, 0.3], max_words=20).startswith("Use the road test system")


def test_a_short_statement_answers_only_when_it_is_the_most_like_the_question():
    privacy = passage(
        "We use your data to process orders and deliver your parcels. "
        "We share delivery details with carriers only. We never sell your data. See Cookies."
    )
    candidates = candidate_sentences([privacy])
    assert [(c.text, c.short) for c in candidates][2:] == [("We never sell your data.", True)]  # "See Cookies." is out
    # "Do you sell my data?": the statement answers, whole; the first sentence, nearly as like the question, is not
    # next to it and says something else.
    assert extractive_answer(candidates, np.array([0.63, 0.32, 0.68]), [0.6]) == "We never sell your data [1]."
    # "What do you use my data for?": alone, as like the question as its neighbours, it is an aside.
    assert extractive_answer(candidates, np.array([0.7, 0.3, 0.6]), [0.6]) == (
        "We use your data to process orders and deliver your parcels. We share delivery details with carriers only [1]."
    )


def test_a_short_line_without_a_full_stop_is_a_label_not_an_answer():
    # A section name over another title line is no title itself, and no statement: alone it answered "Yes".
    page = passage(
        "Drivers from other Countries\n"
        "Only New York state residents need New York State driver licenses\n"
        "You can drive in New York State with a valid driver license from another country."
    )
    candidates = candidate_sentences([page])
    assert [(c.text, c.heading) for c in candidates] == [
        ("Only New York state residents need New York State driver licenses", True),
        ("You can drive in New York State with a valid driver license from another country.", False),
    ]
    assert extractive_answer(candidates, np.array([0.2, 0.1]), [0.5]) == (
        "You can drive in New York State with a valid driver license from another country [1]."
    )


def test_a_title_line_names_the_topic_and_what_follows_it_answers():
    page = passage(
        "VA's official podcast\n"
        "Borne the Battle spotlights inspiring Veteran stories and VA benefits.\n"
        "Offices\n"
        "Find a VA office near you with the facility locator."
    )
    candidates = candidate_sentences([page])
    assert [(c.text[:6], c.heading) for c in candidates] == [
        ("VA's o", True),
        ("Borne ", False),
        ("Office", True),
        ("Find a", False),
    ]
    # "Does the VA have an official podcast?"
    answer = extractive_answer(candidates, np.array([0.9, 0.6, 0.2, 0.1]), [0.8])
    assert answer == "Borne the Battle spotlights inspiring Veteran stories and VA benefits [1]."


def test_the_lines_of_a_list_without_markers_are_no_titles():
    hours = passage("Our stores are open at these times:\nMonday to Friday 9 am to 6 pm\nSaturday 10 am to 4 pm")
    assert not any(c.heading for c in candidate_sentences([hours]))


def test_extractive_answer_continues_with_relevant_following_sentence():
    candidates = candidate_sentences([REFUNDS])
    answer = extractive_answer(candidates, np.array([0.8, 0.7]), [0.6])
    assert answer == (
        "We check returns within 3 business days. Refunds reach credit cards within 5 to 10 business days [1]."
    )


def test_extractive_answer_prefers_the_passage_retrieval_trusted():
    candidates = candidate_sentences([SHIPPING, REFUNDS])
    # The shipping sentence looks a little more like the question, but retrieval trusts the refunds passage.
    answer = extractive_answer(candidates, np.array([0.62, 0.3, 0.6]), [0.3, 0.8])
    assert answer.endswith("[2].")


def test_quantity_questions_prefer_sentences_with_numbers():

    assert expects_quantity("How long do refunds take?") and expects_quantity("When do you open?")
    assert not expects_quantity("Can I pay with PayPal?")
    policy = passage(
        "We send an e-mail when the refund is issued to you. The money reaches you within 5 to 10 business days."
    )
    candidates = candidate_sentences([policy])
    assert extractive_answer(candidates, np.array([0.50, 0.30]), [0.7]).startswith("We send")
    assert "5 to 10" in extractive_answer(candidates, np.array([0.50, 0.30]), [0.7], wants_quantity=True)


def test_extractive_answer_brings_the_sentence_after_the_best_one_but_not_unrelated_ones():
    policy = passage(
        "If you have the minimum health coverage required by law this year. "
        "You will not have to pay the fee when you file your taxes. "
        "Our offices are closed on public holidays across the country."
    )
    candidates = candidate_sentences([policy])
    answer = extractive_answer(candidates, np.array([0.8, 0.2, 0.1]), [0.6])
    assert answer == (
        "If you have the minimum health coverage required by law this year. "
        "You will not have to pay the fee when you file your taxes [1]."
    )


def test_a_nearly_as_relevant_sentence_joins_the_answer_only_next_to_it():
    page = passage(
        "Refunds reach credit cards within 5 to 10 business days of our check. "
        "Gift card refunds arrive as a new gift card code by e-mail. "
        "We check returned items within 3 business days of their arrival. "
        "Exchanges for another size are shipped within 2 business days of the check."
    )
    candidates = candidate_sentences([page])
    # The best sentence (the third) brings the next one; the first, nearly as like the question, is the answer to
    # another case further up the page and stays out.
    answer = extractive_answer(candidates, np.array([0.75, 0.3, 0.8, 0.2]), [0.6])
    assert answer == (
        "We check returned items within 3 business days of their arrival. "
        "Exchanges for another size are shipped within 2 business days of the check [1]."
    )
    # The sentence right before the best one joins when it is nearly as like the question.
    answer = extractive_answer(candidates, np.array([0.2, 0.75, 0.8, 0.2]), [0.6])
    assert answer.startswith("Gift card refunds arrive as a new gift card code by e-mail. We check returned items")
    # A short article or a FAQ entry answers one question: there the first sentence joins too.
    answer = extractive_answer(candidates, np.array([0.75, 0.3, 0.8, 0.2]), [0.6], whole=[True])
    assert answer.startswith("Refunds reach credit cards within 5 to 10 business days of our check. We check returned")


def test_a_list_next_to_the_answer_is_next_to_it_whole():
    styles = passage(
        "To create a style by dragging:\n"
        "1. Open the Styles deck in the sidebar of the window.\n"
        "2. Drag the selected text to the deck and release it.\n"
        "The dragging method does not work for table styles in any document.",
        title="Styles",
    )
    candidates = candidate_sentences([styles])
    # The sentence after the list is the best; the list's first step, nearly as like the question, is not next to it,
    # but its list is.
    answer = extractive_answer(candidates, np.array([0.5, 0.75, 0.2, 0.8]), [0.6])
    assert answer == (
        "To create a style by dragging:\n"
        "1. Open the Styles deck in the sidebar of the window.\n"
        "2. Drag the selected text to the deck and release it.\n\n"
        "The dragging method does not work for table styles in any document [1]."
    )


def test_a_numbered_list_goes_on_past_a_note_under_a_step():

    steps = passage(
        "To assign a script to an event:\n"
        "1. Choose Tools - Customize - Events.\n"
        "2. Select to save in LibreOffice or in the current document.\n"
        "This sets the scope of the new event assignment.\n"
        "3. Select an event from the list and click OK.",
        title="Scripts",
    )
    candidates = candidate_sentences([steps])
    assert [[candidates[k].text for k in run] for run in list_runs(candidates)] == [
        ["To assign a script to an event:", "Choose Tools - Customize - Events.",
         "Select to save in LibreOffice or in the current document.", "This sets the scope of the new event assignment.",
         "Select an event from the list and click OK."],
    ]  # fmt: skip
    # The last step is most like "how do I assign a script to an event": the answer is every step.
    answer = extractive_answer(candidates, np.array([0.5, 0.3, 0.3, 0.2, 0.9]), [0.8])
    assert answer.startswith("To assign a script to an event:\n1. Choose Tools")
    assert answer.endswith("2. Select to save in LibreOffice or in the current document.\n\n"
                           "This sets the scope of the new event assignment.\n"
                           "3. Select an event from the list and click OK [1].")  # fmt: skip
    # Numbered questions with their answers are a FAQ's entries, each its own; so is a list that starts again.
    faq = passage(
        "1. Is there a fee for the icons?\nThere is no fee when you renew your photo document.\n"
        "2. Can I have the icons removed?\nYes, at any DMV office.",
        title="Icons",
    )
    again = passage("1. Log in to your account.\nThen, for a refund:\n1. Open Orders.\n2. Click Refund.")
    for page in (faq, again):
        candidates = candidate_sentences([page])
        assert all(len(run) <= 3 for run in list_runs(candidates)), [
            candidates[k].text for k in list_runs(candidates)[0]
        ]


def test_a_question_heading_names_the_topic_but_the_answer_leaves_it_out():
    faq = passage(
        "Can I still keep my commercial driver license? "
        "Yes, you keep it with the intrastate-only restriction on your license card."
    )
    candidates = candidate_sentences([faq])
    # The heading looks most like the customer's question; the sentence after it is the answer.
    answer = extractive_answer(candidates, np.array([0.9, 0.4]), [0.7])
    # Its "Yes" answers the heading's question, which need not be the customer's: it is left out.
    assert answer == "You keep it with the intrastate-only restriction on your license card [1]."
    only_questions = candidate_sentences([passage("Can I still keep my commercial driver license today?")])
    assert extractive_answer(only_questions, np.array([0.9]), [0.7]).endswith("today [1]?")  # nothing else to say


def test_the_sentence_after_a_heading_is_the_next_one_kept():
    faq = passage(
        "Can I manage my health benefits online? Yes, you can. "
        "Sign in on the website to refill prescriptions and send messages to your care team."
    )
    candidates = candidate_sentences([faq])
    assert [c.text for c in candidates] == [
        "Can I manage my health benefits online?",
        "Sign in on the website to refill prescriptions and send messages to your care team.",
    ]
    # The heading looks most like the question, and its answer is 0.5 below the 0.75 x share of the best.
    answer = extractive_answer(candidates, np.array([0.9, 0.4]), [0.7])
    assert answer == "Sign in on the website to refill prescriptions and send messages to your care team [1]."


def test_a_heading_that_ends_its_passage_is_answered_from_the_next_one():
    end = passage("Letters are sent to the address on your record. How do I respond to the insurance letter?")
    start = passage(
        "How do I respond to the insurance letter? Send proof of coverage from your insurance company within 30 days."
    )
    other = passage("Insurance letters and orders are explained on this page for every vehicle owner.")
    candidates = candidate_sentences([end, start, other])
    # The heading scores best where the first passage ends it; the copy that opens the second passage has its answer.
    similarities = np.array([0.3, 0.9, 0.9, 0.4, 0.6])
    answer = extractive_answer(candidates, similarities, [0.7, 0.6, 0.65])
    assert answer == "Send proof of coverage from your insurance company within 30 days [2]."
    # Without the next passage, a sentence that says something beats repeating the question.
    candidates = candidate_sentences([end, other])
    answer = extractive_answer(candidates, np.array([0.3, 0.9, 0.6]), [0.7, 0.65])
    assert answer == "Insurance letters and orders are explained on this page for every vehicle owner [2]."
    # When the heading's own passage says more on the question, that is the answer.
    answer = extractive_answer(candidates, np.array([0.8, 0.9, 0.6]), [0.7, 0.65])
    assert answer == "Letters are sent to the address on your record [1]."


@pytest.mark.parametrize(
    ("sentence", "forward"),
    [
        ("To prove you receive SSI, you must bring one of the documents listed below to the DMV.", True),
        ("You may be able to get benefits if the below descriptions are true for you.", True),
        ("Follow these steps:", True),
        ("The fee is calculated as follows.", True),
        ("Standard delivery costs 4.95 euros below that.", False),
        ("Temperatures below zero can damage the plants.", False),
    ],
)
def test_a_sentence_points_forward_when_its_point_comes_after_it(sentence, forward):
    assert points_forward(sentence) is forward


def test_a_pointer_that_ends_its_passage_is_answered_from_the_next_one():
    pointer = "To prove you receive SSI, you must bring one of the documents listed below to the DMV."
    end = passage(f"Fees are listed on the fees page for each kind of card. {pointer}")
    start = passage(f"{pointer} An award letter from the Social Security Administration dated this year.")
    candidates = candidate_sentences([end, start])
    answer = extractive_answer(candidates, np.array([0.2, 0.9, 0.9, 0.3]), [0.7, 0.6])
    assert answer == f"{pointer} An award letter from the Social Security Administration dated this year [2]."
    # Without its continuation, the pointer still says what to bring and where.
    answer = extractive_answer(candidate_sentences([end]), np.array([0.2, 0.9]), [0.7])
    assert answer == f"{pointer[:-1]} [1]."


def test_a_sentence_ending_in_a_colon_without_what_it_announces_is_left_out():
    # The page's next section holds what it announces: quoted alone, "...projects:" tells the customer nothing.
    announces = passage("Continuous integration builds and tests every change. A basic CI will build and test:")
    other = passage("Run the tests with the test command before you push.", title="Tests")
    candidates = candidate_sentences([announces, other])
    answer = extractive_answer(candidates, np.array([0.5, 0.9, 0.6]), [0.8, 0.6])
    assert answer == "Continuous integration builds and tests every change [1]."
    # Alone in its passage, it gives way to the next best sentence.
    candidates = candidate_sentences([passage("A basic CI will build and test your projects:"), other])
    assert extractive_answer(candidates, np.array([0.9, 0.6]), [0.8, 0.6]) == (
        "Run the tests with the test command before you push [2]."
    )
    # Before the list it announces, it stays.
    steps = passage("A basic CI will build and test your projects:\n1. Build the code.\n2. Run the tests.")
    assert extractive_answer(candidate_sentences([steps]), np.array([0.9, 0.5, 0.5]), [0.8]) == (
        "A basic CI will build and test your projects:\n1. Build the code.\n2. Run the tests [1]."
    )


def test_a_question_to_the_customer_is_part_of_the_answer():
    reply = passage(
        "It would be my pleasure to help you see the accepted payment options. "
        "Could you please tell me the name of the store you are asking about? "
        "Once I know that, I can list the payment methods it accepts."
    )
    answer = extractive_answer(candidate_sentences([reply]), np.array([0.9, 0.6, 0.5]), [0.7])
    assert "Could you please tell me the name of the store you are asking about" in answer


@pytest.mark.parametrize(
    ("sentence", "heading"),
    [
        ("What can I do?", True),
        ("Can I keep my CDL?", True),
        ("What is the Affordable Care Act?", True),
        ("Could you please provide your order number?", False),
        ("Have you received a letter from us?", False),
        ("You can renew online.", False),
        ("I am studying in New York State.", True),
        ("I need to replace the inspection sticker.", True),
        ("I can help you with that.", False),
        ("In most cases the fee is waived.", False),
    ],
)
def test_customer_headings_are_questions_and_situations_not_put_to_the_reader(sentence, heading):
    assert is_customer_heading(sentence) is heading


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        ('See "Promo codes and price match" and "Gift cards".', ["Promo codes and price match", "Gift cards"]),
        ("See the DMV Document Guide [3] for more information about identification.", ["the DMV Document Guide"]),
        ("For further information, see Report Lost Plates.", ["Report Lost Plates"]),
        ("Learn more about **REAL ID** documents [7].", ["REAL ID documents"]),
        ("You can see the status in My account.", []),
        ("Seeing a delay is normal.", []),
    ],
)
def test_a_cross_reference_names_the_articles_it_sends_the_reader_to(sentence, names):
    assert referenced_names(sentence) == names


def test_a_cross_reference_refers_to_the_passages_of_the_article_it_names():
    promo = passage("Codes have an end date and a minimum order value.", title="Promo codes, sales and price match")
    assert refers_to('See "Promo codes and price match".', promo)
    assert not refers_to('See "Gift cards and gift orders".', promo)
    assert not refers_to("Codes have an end date and a minimum order value.", promo)


def test_a_cross_reference_to_a_retrieved_article_gives_way_to_the_article():
    pointer = passage('See "Promo codes and price match" and "Gift cards and gift orders".', title="Payment problems")
    promo = passage("Codes have an end date and a minimum order value.", title="Promo codes, sales and price match")
    assert [c.text for c in candidate_sentences([pointer, promo])] == [
        "Codes have an end date and a minimum order value."
    ]
    # Without the article it names, the cross-reference stays: it says where to read on.
    assert [c.text for c in candidate_sentences([pointer, REFUNDS])][0].startswith("See ")


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("It is a DMV-approved course for new drivers.", True),
        ("They take 5 to 10 business days.", True),
        ("You can also find every order under My account.", True),
        ("However, gift cards cannot be returned.", True),
        ("It appears that you want to cancel your order.", False),
        ("It is important to keep your receipt.", False),
        ("Refunds take 5 to 10 business days.", False),
        ("Items must be unused.", False),
    ],
)
def test_a_sentence_that_points_back_leans_on_the_one_before(sentence, leans):
    assert leans_back(sentence) is leans


def test_an_answer_sentence_that_leans_back_brings_the_sentence_before():
    course = passage(
        "New drivers must take the pre-licensing course. It is a five-hour classroom course taught by approved schools."
    )
    answer = extractive_answer(candidate_sentences([course]), np.array([0.3, 0.9]), [0.8])
    assert answer.startswith("New drivers must take the pre-licensing course. It is a five-hour")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No. We ship to the EU and Norway only.", "We ship to the EU and Norway only."),
        ("Yes, free of charge within 1 hour.", "Free of charge within 1 hour."),
        ("No problem, we can help.", "No problem, we can help."),
        ("Nobody can see your card number.", "Nobody can see your card number."),
        ("No.", "No."),
    ],
)
def test_a_leading_yes_or_no_is_left_out(text, expected):
    assert without_yes_no(text) == expected


def test_a_passage_sentence_answers_without_the_pages_own_yes():
    (candidate,) = candidate_sentences([passage("Yes, you can return sale items within 30 days.")])
    assert candidate.text == "You can return sale items within 30 days."


def test_a_heading_that_tells_the_situation_before_it_asks_is_left_out_whole():
    faq = passage(
        "My parcel has not arrived after ten days. What can I do?\n"
        "Call the carrier with your tracking number and ask them to trace the parcel."
    )
    candidates = candidate_sentences([faq])
    # "What can I do?" is too short to be a candidate; the situation before it is part of the heading.
    assert [(c.text[:9], c.heading) for c in candidates] == [("My parcel", True), ("Call the ", False)]
    answer = extractive_answer(candidates, np.array([0.9, 0.5]), [0.9])
    assert answer == "Call the carrier with your tracking number and ask them to trace the parcel [1]."
    # A paragraph that ends in a question is no heading: what it tells the reader stays an answer.
    long_line = (
        "Parcels are handed to the carrier on the day after payment, and most arrive within three working days. " * 2
    )
    first = candidate_sentences([passage(long_line + "Why wait?\nOrder today.")])[0]
    assert first.text.startswith("Parcels are handed") and not first.heading


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**Note:** refunds take **5 days**.", "Note: refunds take 5 days."),
        ("This is __not refundable__ at all.", "This is not refundable at all."),
        ("Use `pip install shop` to add it.", "Use pip install shop to add it."),
        # Not emphasis: what a technical page says as written.
        (
            "Collect the arguments using the * and ** specifiers.",
            "Collect the arguments using the * and ** specifiers.",
        ),
        ("Pass them on as **kwargs to the next call.", "Pass them on as **kwargs to the next call."),
        ("Python calls __init__ when the object is made.", "Python calls __init__ when the object is made."),
        ("The pattern ‘**’ matches all files.", "The pattern ‘**’ matches all files."),
    ],
)
def test_emphasis_marks_are_left_out_but_stars_and_underscores_in_text_stay(text, expected):
    (candidate,) = candidate_sentences([passage(text)])
    assert candidate.text == expected


def test_the_line_of_a_definition_list_answers_without_the_next_terms_definition():
    # A web page's definition list, as `knowledge_base.loaders.html_to_markdown` writes it: term and definition on
    # one line. The next line defines another term; it is no continuation of the answer.
    glossary = passage(
        "Billing cycle: The period between two invoices, one calendar month by default.\n"
        "Credit note: A document that cancels all or part of an invoice.\n"
        "Invoice: The bill we send at the end of each billing cycle.",
        title="Glossary",
    )
    candidates = candidate_sentences([glossary])
    answer = extractive_answer(candidates, np.array([0.2, 0.8, 0.3]), [0.7])
    assert answer == "Credit note: A document that cancels all or part of an invoice [1]."
    # A statement is still followed by the sentence after it (`test_extractive_answer_brings_the_sentence_after...`).
    prose = passage("Note: invoices are sent by e-mail every month. You can download them in your account too.")
    answer = extractive_answer(candidate_sentences([prose]), np.array([0.8, 0.2]), [0.7])
    assert answer.endswith("You can download them in your account too [1].")
    # A sentence with a colon in it is no definition: the sentences before it in its passage can come too.
    prose = passage(
        "As of version 3.9, there is a major new release every 12 months. "
        "There are two production-ready versions of Python: 2.x and 3.x. The recommended version is 3.x."
    )
    answer = extractive_answer(candidate_sentences([prose]), np.array([0.7, 0.8, 0.3]), [0.7])
    assert answer.startswith("As of version 3.9")


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("What is a coroutine?", "coroutine"),
        ("what's HISTSIZE", "HISTSIZE"),
        ('What does "TEMPORARY VISITOR" mean?', "TEMPORARY VISITOR"),
        ("What are credit notes?", "credit notes"),
        ("define deductible", "deductible"),
        ("How do I pay?", None),
        ("What is the procedure if I was not a resident of New York when I bought my car?", None),  # no term
    ],
)
def test_a_question_that_asks_what_a_term_means_names_the_term(question, term):
    assert asked_term(question) == term


@pytest.mark.parametrize(
    ("sentence", "term", "defines"),
    [
        ("Credit note: A document that cancels all or part of an invoice.", "credit notes", True),
        ("A credit note is a document that cancels an invoice.", "credit note", True),
        ("HISTSIZE means the number of commands to remember.", "HISTSIZE", True),
        ("The shell sets the default value to the value of HISTSIZE.", "HISTSIZE", False),
        ("A credit note cancels an invoice.", "credit note", False),
        ("Credit notes are sent by e-mail.", "credit note", False),  # about credit notes, not what they are
        ("Invoice: The bill we send at the end of each billing cycle.", "credit note", False),
    ],
)
def test_a_sentence_defines_a_term_when_it_opens_with_the_term_and_what_it_is(sentence, term, defines):
    assert defines_term(sentence, term) is defines


def test_the_definition_of_the_term_asked_about_answers_before_sentences_that_mention_it():
    # The Bash manual: for "What is HISTSIZE?" a sentence that uses the variable was as like the question as the line
    # that defines it, and its passage was a little more trusted.
    startup = passage("The shell sets the default value to the value of HISTSIZE after reading any startup files.")
    variables = passage(
        "HISTIGNORE: A colon-separated list of patterns used to decide which command lines should be saved. "
        "HISTIGNORE subsumes the function of HISTCONTROL.\n"
        "HISTSIZE: The maximum number of commands to remember on the history list. "
        "If the value is 0, commands are not saved in the history list.\n"
        "HISTTIMEFORMAT: If this variable is set and not null, its value is used as a format string.",
        title="Bash Variables",
    )
    candidates = candidate_sentences([startup, variables])
    similarities = np.array([0.52, 0.45, 0.47, 0.49, 0.46, 0.44])
    assert extractive_answer(candidates, similarities, [0.40, 0.38]).startswith("The shell sets")
    answer = extractive_answer(candidates, similarities, [0.40, 0.38], term=asked_term("What is HISTSIZE?"))
    # The definition and the rest of its entry; nothing of the other variables' entries, however alike.
    assert answer == (
        "HISTSIZE: The maximum number of commands to remember on the history list. "
        "If the value is 0, commands are not saved in the history list [2]."
    )


def test_a_passage_found_lower_that_defines_the_term_asked_about_is_read_in_place_of_the_last_one_shown():
    uses = [passage("Import the module before you call the finder."), passage("A finder is cached per path entry.")]
    other = passage("Importer objects both find and load modules.", title="Glossary")
    glossary = passage(
        "finder: An object that tries to find the loader for a module being imported.", title="Glossary"
    )
    passages = [*uses, other, glossary]
    assert with_definition(passages[:2], passages, "finder") == [uses[0], glossary]
    # One shown defines it, or none found does: the passages shown stay as they were.
    assert with_definition(passages[:2], passages, "importer") == passages[:2]
    assert with_definition([glossary, *uses], [glossary, *uses, other], "finder") == [glossary, *uses]
