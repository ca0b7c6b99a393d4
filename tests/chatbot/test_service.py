import re

import pytest

from chatbot.bot_texts import DEFAULT_TEXTS
from chatbot.errors import InputError, RateLimitedError
from chatbot.types import Decision


def test_supported_answer_streams_sentence_by_sentence_with_citations(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    fake_generator.enqueue(
        "Refunds reach credit cards within 5 to 10 business days. We check returns within 3 business days."
    )
    cid = service.start_conversation()
    stream = service.reply(cid, "How long do refunds take?")
    pieces = list(stream)
    answer = stream.answer
    assert answer.decision is Decision.GENERATED and not answer.handed_off
    assert pieces == [
        "Refunds reach credit cards within 5 to 10 business days [1].",
        " We check returns within 3 business days [1].",
    ]
    assert answer.text == "".join(pieces)
    assert answer.sources[0].chunk.source == "kb/refunds.md"
    assert answer.model_version == "fake-generator"
    assert {"retrieval", "first_token", "total"} <= set(answer.latency_ms)


def test_a_numbered_list_from_the_model_is_checked_item_by_item(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    fake_generator.enqueue(
        "Here is how:\n1. Refunds reach credit cards within 5 to 10 business days.\n"
        "2. We check returns within 3 business days.\n3. Refunds take 48 hours in cash."
    )
    stream = service.reply(service.start_conversation(), "How long do refunds take?")
    pieces = list(stream)
    # The numbers "1." and "2." are no claims; the third item invents one and stops the model. The items the
    # passages support reach the customer as a list.
    assert pieces == [
        "1. Refunds reach credit cards within 5 to 10 business days [1].",
        "\n2. We check returns within 3 business days [1].",
    ]
    assert stream.answer.decision is Decision.GENERATED and stream.answer.text == "".join(pieces)


def _answer_of(stream):
    pieces = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as stop:
            return pieces, stop.value


def test_code_from_the_model_reaches_the_customer_whole_when_a_passage_holds_it(make_service, fake_generator):
    import time

    from chatbot.types import Chunk, Passage

    hooks = Passage(Chunk("c1", "hooks.md", "Order hooks", "Order hooks\nThe shop calls a hook after each payment. "
                          "Save it in your shop folder:\n```python\ndef on_order(order):\n    order.ship_free()\n```",
                          0), score=1.0, confidence=0.6)  # fmt: skip
    service = make_service(handoff_confidence=0.1)
    question = "How do I write an order hook?"
    fake_generator.enqueue(
        "The shop calls a hook after each payment. Save it in your shop folder:\n```python\n"
        "def on_order(order):\n    order.ship_free()\n```\nThe shop calls it after each payment."
    )
    pieces, answer = _answer_of(service._generate(question, [hooks], [], 0.6, {}, time.perf_counter()))
    assert answer.decision is Decision.GENERATED
    # The block is checked whole, cited outside the code, and keeps its indentation and lines of its own; the
    # sentence after it starts on a line of its own.
    assert pieces == [
        "The shop calls a hook after each payment [1].",
        "\nSave it in your shop folder [1]:\n```python\ndef on_order(order):\n    order.ship_free()\n```",
        "\nThe shop calls it after each payment [1].",
    ]
    # Code that no passage holds stops the model: a command that differs by a character is another command.
    fake_generator.enqueue(
        "The shop calls a hook after each payment. Save it in your shop folder:\n```python\n"
        "def on_order(order):\n    order.delete()\n```"
    )
    pieces, answer = _answer_of(service._generate(question, [hooks], [], 0.6, {}, time.perf_counter()))
    assert pieces == ["The shop calls a hook after each payment [1]."]
    assert "order.delete()" not in answer.text


def test_a_list_of_items_that_say_little_alone_answers_as_a_whole(make_service, fake_embedder):
    from chatbot.types import Chunk, Passage

    service = make_service(handoff_confidence=0.1)
    heading = "Items that cannot be returned"
    listing = Passage(Chunk("c1", "returns.md", "Returns", f"Returns > {heading}\n- Gift cards.\n- Food.", 0,
                            heading=heading), score=1.0, confidence=0.6)  # fmt: skip
    other = Passage(Chunk("c2", "late.md", "Returns", "Returns\nAfter 30 days we cannot accept returns any more.", 0),
                    score=1.0, confidence=0.6)  # fmt: skip
    question = "which items cannot be returned"
    # The fake embedder maps texts with the same words close together: the items alone are unlike the question,
    # the list under its heading is like it.
    answer = service._extract(question, [listing, other])
    assert answer == "Items that cannot be returned:\n- Gift cards.\n- Food [1]."  # the heading says what it lists
    # A page's own footnote marks ("Gift cards [7]") are no citations: the answer cites the passage it quotes.
    quoting = Passage(Chunk("c3", "returns.md", "Returns", f"Returns > {heading}\n- Gift cards [7].\n- Food [2].",
                            0, heading=heading), score=1.0, confidence=0.6)  # fmt: skip
    assert service._extract(question, [quoting, other]) == "Items that cannot be returned:\n- Gift cards.\n- Food [1]."
    # A heading that has its own colon ("Items that cannot be returned:") keeps just the one.
    colon = Passage(Chunk("c4", "returns.md", "Returns", f"Returns > {heading}:\n- Gift cards.\n- Food.", 0,
                          heading=f"{heading}:"), score=1.0, confidence=0.6)  # fmt: skip
    assert service._extract(question, [colon, other]) == "Items that cannot be returned:\n- Gift cards.\n- Food [1]."


def test_a_sentence_is_read_under_its_section_name(make_service):
    from chatbot.types import Chunk, Passage

    service = make_service(handoff_confidence=0.1)
    heading = "Refunds > How long do refunds take"
    timing = Passage(Chunk("c1", "refunds.md", "Refunds", f"{heading}\nAllow 5 to 10 business days for the bank to "
                           "show the money.", 0, heading=heading), score=1.0, confidence=0.5)  # fmt: skip
    other = Passage(Chunk("c2", "gift.md", "Gift cards", "Gift cards\nGift cards cannot be exchanged for refunds in "
                          "cash.", 0), score=1.0, confidence=0.5)  # fmt: skip
    # Alone, the sentence that answers shares no word with the question and the other one shares one; under its
    # section's name it is about what was asked.
    assert service._extract("how long do refunds take", [other, timing]) == (
        "Allow 5 to 10 business days for the bank to show the money [2]."
    )


def test_an_answer_of_the_passages_own_sentences_reads_more_passages_than_the_handoff_weighs(
    settings, fake_embedder, fake_generator, fake_sentiment
):
    from dataclasses import replace

    from chatbot.service import ChatService
    from chatbot.storage import SqlStore
    from chatbot.types import Chunk, Passage
    from tests.fakes import FakeRetriever

    texts = [
        "Refunds reach your card within 5 to 10 business days of the return.",
        "A refund is issued once the returned items have been checked in our warehouse.",
        "Orders can be returned within 30 days of delivery for a full refund.",
        "Refunds for orders paid by invoice are credited to the invoice account.",
        "Shipping costs are refunded only when the whole order is returned.",
        "Returns of furniture are collected at your home by the carrier.",
        "Sale items are refunded at the price paid, not the full price.",
        "Gift cards cannot be refunded or exchanged for cash.",
    ]

    def passages(*confidences):
        return [
            Passage(Chunk(f"c{k}", f"kb/page{k}.md", "Refunds", f"Refunds\n{text}", 0), 1 / (61 + k), confidence)
            for k, (text, confidence) in enumerate(zip(texts, confidences, strict=True))
        ]

    settings = replace(settings, answer_mode="extractive")
    assert settings.prompt_passages < settings.extract_passages == len(texts)

    def service(found):
        store = SqlStore(settings.database_url)
        return ChatService(
            FakeRetriever(found), fake_generator, fake_embedder, store, settings, sentiment=fake_sentiment
        )

    # The eighth passage found says it: its sentence is the answer, cited as the eighth source.
    answer = service(passages(0.62, 0.61, 0.6, 0.59, 0.58, 0.57, 0.56, 0.55)).ask("Can gift cards be refunded?")
    assert answer.decision is Decision.EXTRACTED
    assert answer.text == "Gift cards cannot be refunded or exchanged for cash [8]."
    assert [p.chunk.chunk_id for p in answer.sources] == [f"c{k}" for k in range(8)]
    # Whether there is evidence enough to answer is still a matter of the first three: a later passage more like
    # the question than they are does not turn a hand-off into an answer.
    answer = service(passages(0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.9)).ask("Can gift cards be refunded?")
    assert answer.decision is Decision.HANDOFF_LOW_CONFIDENCE


def test_invented_answer_never_reaches_the_customer(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    fake_generator.enqueue("Refunds take 48 hours and are paid in cash. " + "More invented text. " * 30)
    cid = service.start_conversation()
    stream = service.reply(cid, "How long do refunds take?")
    pieces = list(stream)
    assert "48" not in "".join(pieces)
    assert stream.answer.decision is Decision.EXTRACTED
    quoted = stream.answer.text.rsplit(" [", 1)[0]
    assert any(quoted in p.chunk.text for p in stream.answer.sources)  # the passages' own words, cited
    # The model was stopped at the first unsupported sentence, not run to the end.
    assert fake_generator.pieces_sent < 20


def test_weak_evidence_hands_off_and_flags_the_conversation(make_service, fake_generator):
    service = make_service(handoff_confidence=0.99)
    answer = service.ask("What is the capital of France?")
    assert answer.decision is Decision.HANDOFF_LOW_CONFIDENCE and answer.handed_off
    assert answer.text == DEFAULT_TEXTS["handoff"]
    assert fake_generator.history == []  # the model was not asked
    assert service.store.status(answer.conversation_id) == "needs_human"
    assert answer.sources  # staff still see what was found


def test_a_term_that_the_knowledge_base_defines_is_answered_though_its_passage_is_hardly_like_the_question(
    make_service, kb_dir, settings, fake_embedder
):
    from knowledge_base.ingest import ingest

    (kb_dir / "glossary.md").write_text(
        "# Glossary\n\n"
        "Billing cycle: The period between two invoices, one calendar month by default.\n\n"
        "Credit note: A document that cancels all or part of an invoice.\n\n"
        "Invoice: The bill we send at the end of each billing cycle.\n",
        encoding="utf-8",
    )
    ingest([kb_dir], embedder=fake_embedder, index_dir=settings.index_dir, progress=False)
    service = make_service(handoff_confidence=0.99, answer_mode="extractive")
    answer = service.ask("What is a credit note?")
    assert answer.decision is Decision.EXTRACTED
    assert answer.text.startswith("Credit note: A document that cancels all or part of an invoice")
    assert service.ask("What are credit notes?").decision is Decision.EXTRACTED
    # Nothing defines what else is asked: handed over as before.
    assert service.ask("What is a gift voucher?").decision is Decision.HANDOFF_LOW_CONFIDENCE
    assert service.ask("How do credit notes work?").decision is Decision.HANDOFF_LOW_CONFIDENCE


def test_customer_can_ask_for_a_person(make_service, fake_generator):
    service = make_service()
    answer = service.ask("Can I talk to a human please?")
    assert answer.decision is Decision.HANDOFF_REQUESTED
    assert service.store.status(answer.conversation_id) == "needs_human"
    follow_up = service.ask("Are you there?", answer.conversation_id)
    assert follow_up.decision is Decision.WAITING_FOR_STAFF
    assert fake_generator.history == []


@pytest.mark.parametrize("review_mode", ["auto", "review"])
def test_small_talk_is_answered_politely_and_the_bot_keeps_answering(make_service, fake_generator, review_mode):
    # Before: "hi" found no evidence, handed the conversation to staff, and every later question got "a member of
    # our support team will reply".
    service = make_service(handoff_confidence=0.1, answer_mode="extractive", review_mode=review_mode)
    greeting = service.ask("Hi there!")
    assert greeting.decision is Decision.SMALL_TALK and not greeting.handed_off
    assert greeting.text == DEFAULT_TEXTS["greeting"] and greeting.sources == []
    cid = greeting.conversation_id
    assert service.store.status(cid) != "needs_human"
    assert service.ask("ok thanks!", cid).text == DEFAULT_TEXTS["thanks"]
    question = service.ask("How long do refunds take?", cid)
    expected = Decision.HELD_FOR_REVIEW if review_mode == "review" else Decision.EXTRACTED
    assert question.decision is expected
    assert [m.role for m in service.store.history(cid, 10)] == ["user", "assistant"] * 3  # all stored
    assert fake_generator.history == []


def test_faq_match_gets_the_curated_answer(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1, faq_confidence=0.5)
    answer = service.ask("Do you ship outside Europe?")
    assert answer.decision is Decision.FAQ
    assert answer.text == "No, we ship within Europe only [1]."
    assert fake_generator.history == []


def test_extractive_mode_does_not_call_the_model(make_service, fake_generator):
    answer = make_service(handoff_confidence=0.1, answer_mode="extractive").ask("How long do refunds take?")
    assert answer.decision is Decision.EXTRACTED and fake_generator.history == []


def test_a_question_with_typos_gets_the_answer_of_the_question_spelled_right(make_service):
    service = make_service(handoff_confidence=0.1, answer_mode="extractive")
    stream = service.reply(None, "When do you chekc the retunrs?")
    typed = stream.result()
    right = service.ask("When do you check the returns?")
    assert typed.decision is Decision.EXTRACTED and typed.text == right.text
    assert typed.confidence == right.confidence and typed.sources == right.sources
    # What the customer wrote is stored as written.
    assert service.store.history(stream.conversation_id, 10)[0].content == "When do you chekc the retunrs?"


def test_a_reply_that_names_nothing_goes_on_instead_of_repeating_the_answer_then_to_a_person(
    tmp_path, settings, fake_embedder, fake_generator, fake_sentiment
):
    from dataclasses import replace

    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.service import ChatService
    from chatbot.storage import SqlStore
    from knowledge_base.ingest import ingest

    kb = tmp_path / "one-article"
    kb.mkdir()
    (kb / "parcels.md").write_text(
        "# Missing parcels\n\n"
        "Your order may have been sent in several parcels, so first check the packing slip and your shipping e-mails. "
        "If the parcel has not turned up within 2 business days, contact us with your order number. "
        "We then open an investigation with the carrier, which takes up to 5 business days. "
        "We resend the order or refund it in full once the investigation is complete.\n"
    )
    settings = replace(settings, handoff_confidence=0.0, answer_mode="extractive")
    ingest([kb], embedder=fake_embedder, index_dir=settings.index_dir, progress=False)
    retriever = HybridRetriever(IndexHandle(settings.index_dir), fake_embedder)
    store = SqlStore(settings.database_url)
    service = ChatService(retriever, fake_generator, fake_embedder, store, settings, sentiment=fake_sentiment)

    def sentences(text: str) -> set[str]:
        return {s.strip(" .") for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s*\[\d+\]", "", text))}

    first = service.ask("My parcel has not arrived", None)
    again = service.ask("Yes", first.conversation_id)  # alone, "Yes" looks most like the same two sentences
    assert again.decision is Decision.EXTRACTED
    assert sentences(again.text) and not sentences(first.text) & sentences(again.text)
    # The article has said all it says: one more "Yes" goes to a person instead of the same answer again.
    said = sentences(first.text) | sentences(again.text)
    while (last := service.ask("Yes", first.conversation_id)).decision is Decision.EXTRACTED:
        assert not sentences(last.text) & said
        said |= sentences(last.text)
    assert (
        last.decision is Decision.HANDOFF_NOTHING_NEW
        and last.text.startswith("That is all our help pages say about it")
        and service.store.status(first.conversation_id) == "needs_human"
    )
    # A message with words of its own is answered as it asks, said before or not.
    second = service.ask("My parcel has not arrived", None)
    assert service.ask("My parcel has not arrived", second.conversation_id).text == second.text


def test_a_reply_to_the_question_asked_is_answered_with_what_the_knowledge_base_says_about_it(make_service):
    service = make_service(handoff_confidence=0.1, answer_mode="extractive")
    conversation = service.start_conversation()
    service.store.add_message(conversation, "user", "I have a question")
    service.store.add_message(conversation, "staff", "Was it sent by express delivery?")
    answer = service.ask("Yes, it was.", conversation)
    assert answer.decision is Decision.EXTRACTED
    assert answer.text.startswith("Express delivery arrives the next business day")


def test_a_yes_to_the_bots_own_offer_of_more_help_is_searched_as_what_it_says(make_service, monkeypatch):
    from chatbot.grounding import answered_question

    service = make_service(handoff_confidence=0.1, answer_mode="extractive")
    conversation = service.ask("How long do refunds take?").conversation_id
    assert service.ask("thanks", conversation).text.endswith("Is there anything else I can help you with?")
    searched = []
    retrieve = service.retriever.retrieve
    monkeypatch.setattr(service.retriever, "retrieve", lambda q, h, k: searched.append(h) or retrieve(q, h, k))
    service.ask("Yes, express delivery", conversation)
    (history,) = searched  # the fixed reply is left out: what the customer and the bot's answers said stays
    assert [t.role for t in history] == ["user", "assistant", "user"]
    assert answered_question("Yes, express delivery", history) is None


def test_auto_mode_answers_from_the_passages_with_the_built_in_model_and_never_loads_it(make_service, fake_generator):
    from chatbot.generation import DEFAULT_GENERATOR_NAME

    fake_generator.name = DEFAULT_GENERATOR_NAME
    loads = []
    fake_generator.warm_up = lambda: loads.append(1)
    service = make_service(handoff_confidence=0.1)  # answer_mode "auto", the default
    service.warm_up()
    assert service.retriever.index._index is not None  # the knowledge base is loaded before the first customer
    answer = service.ask("How long do refunds take?")
    assert answer.decision is Decision.EXTRACTED and "[1]" in answer.text
    assert fake_generator.history == [] and loads == []


def test_auto_mode_lets_any_other_answer_model_write(make_service, fake_generator):
    fake_generator.enqueue("Refunds take 5 to 10 business days [1].")
    answer = make_service(handoff_confidence=0.1).ask("How long do refunds take?")  # a fine-tuned or bigger model
    assert answer.decision is Decision.GENERATED and len(fake_generator.history) == 1


def test_unverified_mode_streams_raw_tokens(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1, verify_answers=False)
    fake_generator.enqueue("Refunds are fast [1] [7].")
    stream = service.reply(service.start_conversation(), "How long do refunds take?")
    assert list(stream) == ["Refunds", " are", " fast", " [1]", " [7]."]
    assert stream.answer.text == "Refunds are fast [1]."


def test_follow_up_sees_its_own_conversation_only(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    first = service.ask("I returned a lamp, how long do refunds take?")
    service.ask("What is express delivery?")  # another customer
    service.ask("And to my credit card?", first.conversation_id)
    prompt = fake_generator.history[-1]
    contents = " ".join(m["content"] for m in prompt[1:])
    assert "lamp" in contents and "express" not in contents
    roles = [m["role"] for m in prompt]
    assert roles == ["system", "user", "assistant", "user"]


@pytest.mark.parametrize(("message", "error"), [("   ", "the message is empty"), ("x" * 3000, "3000 characters")])
def test_bad_messages_are_refused_and_nothing_is_stored(make_service, message, error):
    service = make_service()
    cid = service.start_conversation()
    with pytest.raises(InputError, match=error):
        service.reply(cid, message)
    assert service.store.messages(cid) == []


def test_control_characters_never_reach_the_store(make_service):
    service = make_service()
    answer = service.ask("How long do \x00refunds\x1b take?\u202e")
    assert service.store.messages(answer.conversation_id)[0].text == "How long do refunds take?"


def test_unknown_conversation_is_refused(make_service):
    with pytest.raises(InputError, match="no conversation with id 'forged'"):
        make_service().reply("forged", "hello")


def test_a_refused_first_message_leaves_no_conversation_behind(make_service):
    service = make_service()
    with pytest.raises(InputError, match="the message is empty"):
        service.reply(None, "  ")
    assert service.store.count_conversations() == 0


def test_one_conversation_may_send_only_so_many_messages_a_minute(make_service):
    service = make_service(rate_limit_conversation=2, rate_limit_client=0)
    cid = service.ask("hello").conversation_id
    service.ask("thanks", cid)
    with pytest.raises(RateLimitedError, match=f"conversation {cid} sent 2 messages in the last 60 s"):
        service.reply(cid, "bye")
    assert len(service.store.messages(cid)) == 4  # the refused message is not stored
    assert service.ask("bye").text  # another conversation is not held back by this one


def test_one_network_address_may_send_only_so_many_messages_a_minute(make_service):
    service = make_service(rate_limit_client=2, rate_limit_conversation=0)
    first = service.reply(None, "hello", client="203.0.113.5").conversation_id
    service.reply(None, "hi", client="203.0.113.5").result()
    with pytest.raises(RateLimitedError, match="client 203.0.113.5 sent 2 messages"):
        service.reply(first, "thanks", client="203.0.113.5")
    with pytest.raises(RateLimitedError):
        service.reply(None, "hello again", client="203.0.113.5")
    assert service.store.count_conversations() == 2  # a refused message starts no conversation
    service.reply(None, "hello", client="198.51.100.7").result()  # other addresses are served
    service.ask("hello")  # and the CLI, which names no address


def test_every_reply_is_stored_with_its_trace(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    answer = service.ask("How long do refunds take?")
    user, bot = service.store.messages(answer.conversation_id)
    assert (user.role, bot.role) == ("user", "assistant")
    assert bot.id == answer.message_id and bot.text == answer.text
    assert bot.decision == "generated" and bot.sources[0]["source"] == "kb/refunds.md"
    assert bot.latency_ms["total"] > 0


def test_echoes_and_questions_back_are_not_answers(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    fake_generator.enqueue('"How long do refunds take?" Do you mean refunds?')
    answer = service.ask("How long do refunds take?")
    assert answer.decision is Decision.EXTRACTED
    assert "?" not in answer.text


def test_result_after_streaming_keeps_the_answer(make_service, fake_generator):
    service = make_service(handoff_confidence=0.1)
    stream = service.reply(service.start_conversation(), "How long do refunds take?")
    list(stream)
    assert stream.result() is stream.answer and stream.answer is not None


def test_every_customer_message_gets_a_stored_sentiment(make_service):
    service = make_service(handoff_confidence=0.1)
    answer = service.ask("Thanks, how long do refunds take?")
    user, bot = service.store.messages(answer.conversation_id)
    assert user.sentiment.label == "positive" and bot.sentiment is None
    assert service.store.flag_reason(answer.conversation_id) == ""


def test_a_conversation_turning_negative_is_flagged_but_still_answered(make_service):
    service = make_service(handoff_confidence=0.1, negative_flag_score=0.9)
    first = service.ask("How long do refunds take? This is terrible")  # negative, 0.7: not yet
    assert service.store.flag_reason(first.conversation_id) == ""
    second = service.ask("Still no refund, this is awful", first.conversation_id)  # second negative in a row
    assert service.store.flag_reason(second.conversation_id) == "negative_sentiment"
    assert not second.handed_off  # staff look, the bot keeps helping


def test_one_very_negative_message_is_enough(make_service):
    service = make_service(handoff_confidence=0.1, negative_flag_score=0.9)
    answer = service.ask("Worst shop ever!")
    assert service.store.flag_reason(answer.conversation_id) == "negative_sentiment"


def test_sixteen_concurrent_conversations_with_a_real_model_all_get_their_own_answers(
    built_index, settings, fake_embedder, fake_sentiment, tiny_lm_dir
):
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from chatbot.generation import TransformersGenerator
    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.service import ChatService
    from chatbot.storage import SqlStore

    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=settings.models_dir, device="cpu")
    service = ChatService(
        HybridRetriever(IndexHandle(built_index), fake_embedder),
        generator,
        fake_embedder,
        SqlStore(settings.database_url),
        replace(settings, max_new_tokens=12),
        sentiment=fake_sentiment,
    )
    questions = [f"How long do refunds take for order {i}?" for i in range(16)]

    def converse(question):
        cid = service.start_conversation()
        return cid, service.ask(question, cid)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(converse, questions))
    assert len({cid for cid, _ in results}) == 16
    for (cid, answer), question in zip(results, questions, strict=True):
        assert answer.text and answer.decision is not Decision.HANDOFF_BAD_OUTPUT
        stored = service.store.messages(cid)
        assert [m.role for m in stored] == ["user", "assistant"] and stored[0].text == question


def test_an_answer_in_another_writing_system_never_reaches_the_customer(make_service, fake_generator):
    fake_generator.enqueue("退款需要五到十个工作日。")
    answer = make_service(verify_answers=False).ask("How long do refunds take?")
    assert answer.decision is Decision.HANDOFF_BAD_OUTPUT
    fake_generator.enqueue("退款需要五到十个工作日。")
    answer = make_service().ask("How long do refunds take?")
    assert answer.decision is Decision.EXTRACTED and "退款" not in answer.text


def test_a_model_too_slow_for_the_first_text_budget_is_stopped_and_the_passages_answer(make_service, fake_generator):
    fake_generator.delay = 0.05
    # Supported words, but no sentence end for a long time: nothing could be checked and shown.
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days " * 20)
    service = make_service(handoff_confidence=0.1, first_text_budget_ms=300)
    answer = service.ask("How long do refunds take?")
    assert answer.decision is Decision.EXTRACTED and not answer.handed_off
    assert answer.latency_ms["first_text_budget_hit"] == 300
    assert fake_generator.pieces_sent < 20  # the model was stopped at the budget, not run to its token limit
    quoted = answer.text.rsplit(" [", 1)[0]
    assert any(quoted in p.chunk.text for p in answer.sources)


def test_without_a_budget_a_slow_model_is_waited_for(make_service, fake_generator):
    fake_generator.delay = 0.02
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    service = make_service(handoff_confidence=0.1, first_text_budget_ms=0)
    answer = service.ask("How long do refunds take?")
    assert answer.decision is Decision.GENERATED
    assert "first_text_budget_hit" not in answer.latency_ms


def test_a_model_whose_first_piece_is_late_is_dropped_at_the_budget(make_service, fake_generator):
    import time

    fake_generator.first_delay = 5.0  # e.g. many prompts prefilled at once ahead of this one
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    service = make_service(handoff_confidence=0.1, first_text_budget_ms=300)
    started = time.perf_counter()
    answer = service.ask("How long do refunds take?")
    assert time.perf_counter() - started < 3.0  # answered at the budget, not after the model's 5 s
    assert answer.decision is Decision.EXTRACTED and answer.latency_ms["first_text_budget_hit"] == 300
    assert fake_generator.pieces_sent == 0


def test_an_answer_model_failing_midway_gives_way_to_the_passages(make_service, fake_generator, caplog):
    fake_generator.fail_after = 3  # before the first sentence ends: nothing checked was said
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    service = make_service(handoff_confidence=0.1)
    answer = service.ask("How long do refunds take?")
    assert answer.decision is Decision.EXTRACTED and not answer.handed_off
    quoted = answer.text.rsplit(" [", 1)[0]
    assert any(quoted in p.chunk.text for p in answer.sources)
    assert "connection reset" in caplog.text


def test_what_a_failing_model_said_and_a_passage_supports_stands(make_service, fake_generator):
    fake_generator.fail_after = 11  # after its first sentence
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days. Store credit is instant.")
    answer = make_service(handoff_confidence=0.1).ask("How long do refunds take?")
    assert answer.decision is Decision.GENERATED
    assert answer.text == "Refunds reach credit cards within 5 to 10 business days [1]."


def test_an_unverified_answer_model_failing_midway_gives_way_to_the_passages(make_service, fake_generator):
    fake_generator.fail_after = 4
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    service = make_service(handoff_confidence=0.1, verify_answers=False)
    stream = service.reply(None, "How long do refunds take?")
    assert "".join(stream).startswith("Refunds reach credit cards")  # streamed before the failure ...
    assert stream.answer.decision is Decision.EXTRACTED  # ... the final answer (what a page shows) is the passages'
    quoted = stream.answer.text.rsplit(" [", 1)[0]
    assert any(quoted in p.chunk.text for p in stream.answer.sources)


def test_a_knowledge_base_that_cannot_be_searched_hands_the_conversation_to_staff(
    settings, fake_embedder, fake_generator, fake_sentiment, tmp_path, caplog
):
    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.service import ChatService
    from chatbot.storage import SqlStore

    retriever = HybridRetriever(IndexHandle(tmp_path / "never-ingested"), fake_embedder)
    store = SqlStore(settings.database_url)
    service = ChatService(retriever, fake_generator, fake_embedder, store, settings, sentiment=fake_sentiment)
    stream = service.reply(None, "How long do refunds take?")
    assert "".join(stream) == DEFAULT_TEXTS["handoff"]  # the customer is told, not shown an error
    assert stream.answer.decision is Decision.HANDOFF_FAILED and stream.answer.handed_off
    cid = stream.conversation_id
    assert service.store.status(cid) == "needs_human"
    assert [m.role for m in service.store.messages(cid)] == ["user", "assistant"]
    assert "chatbot kb ingest" in caplog.text  # the operator's log says what to do
    assert fake_generator.history == []


def test_the_handoff_threshold_follows_what_off_topic_requests_reach_on_the_knowledge_base(settings):
    from dataclasses import replace

    from chatbot.service import MIN_AUTO_HANDOFF, handoff_threshold

    fixed = replace(settings, handoff_confidence=0.42, handoff_auto=True)
    assert handoff_threshold(fixed, 0.34) == 0.34  # a KB whose texts match every question less well
    assert handoff_threshold(fixed, 0.50) == 0.42  # never above the setting
    assert handoff_threshold(fixed, 0.05) == MIN_AUTO_HANDOFF
    assert handoff_threshold(fixed, None) == 0.42  # an index from before the measurement
    assert handoff_threshold(replace(fixed, handoff_auto=False), 0.34) == 0.42


def test_a_question_the_knowledge_base_matches_better_than_off_topic_requests_is_answered(make_service):
    question = "How long do refunds take?"
    strict = make_service(handoff_confidence=0.99, handoff_auto=False)
    assert strict.ask(question).decision is Decision.HANDOFF_LOW_CONFIDENCE
    service = make_service(handoff_confidence=0.99, answer_mode="extractive")
    service.retriever.offtopic_ceiling = lambda: 0.2  # off-topic requests come nowhere near this KB
    confidence = max(p.confidence for p in service.retriever.retrieve(question, [], 3))
    assert confidence >= 0.3
    assert service.ask(question).decision is Decision.EXTRACTED


def test_the_operators_wording_is_what_the_customer_reads_from_the_next_message(make_service):
    service = make_service(handoff_confidence=0.99)
    cid = service.start_conversation()
    assert service.ask("Hello!", cid).text == DEFAULT_TEXTS["greeting"]
    service.store.set_bot_text("greeting", "Hallo! Wie kann ich helfen?", user="omar")
    service.store.set_bot_text("handoff", "Das weiß ich nicht sicher; eine Kollegin meldet sich hier.", user="omar")
    service.store.set_bot_text("waiting", "Ihre Nachricht ist angekommen.", user="omar")
    assert service.ask("Hello!", cid).text == "Hallo! Wie kann ich helfen?"
    handed_off = service.ask("What is the capital of France?", cid)
    assert handed_off.handed_off and handed_off.text.startswith("Das weiß ich nicht sicher")
    assert service.ask("Are you there?", cid).text == "Ihre Nachricht ist angekommen."


def test_example_questions_are_the_operators_else_the_faqs_else_none(make_service, tmp_path):
    from chatbot.retrieval import HybridRetriever, IndexHandle

    service = make_service()
    assert service.example_questions() == ["Do you ship outside Europe?"]  # the test knowledge base's FAQ
    service.store.set_bot_text("examples", "How long do refunds take?\nWhere is my parcel?", user="omar")
    assert service.example_questions() == ["How long do refunds take?", "Where is my parcel?"]
    service.store.reset_bot_text("examples")
    service.retriever = HybridRetriever(IndexHandle(tmp_path / "no-index-yet"), service.embedder)
    assert service.example_questions() == []  # a deployment before its first ingest


def test_a_card_number_is_never_stored_nor_shown_to_a_model(make_service, fake_generator, fake_sentiment):
    service = make_service(handoff_confidence=0.1)
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    answer = service.ask("My card 4111 1111 1111 1111 was charged twice, how long do refunds take?")
    stored = service.store.messages(answer.conversation_id)[0].text
    assert stored == "My card [card ending 1111] was charged twice, how long do refunds take?"
    assert "4111 1111" not in str(fake_generator.history) + str(fake_sentiment.calls)
    feedback = service.add_feedback(answer.conversation_id, -1)
    service.add_feedback_reason(feedback, "still not refunded to 4111-1111-1111-1111")
    assert "4111-1111" not in str(service.store.feedback())


def test_a_curated_yes_or_no_is_given_only_to_the_entrys_own_question(make_service):
    service = make_service(handoff_confidence=0.1, faq_confidence=0.3)
    # "No, we ship within Europe only" answers "Do you ship outside Europe?"; to another question its "No" may be
    # wrong ("do you ship to Norway?" in a shop that does), the rest is still the curated answer.
    answer = service.ask("Can you ship to Norway in Europe?")
    assert answer.decision is Decision.FAQ
    assert answer.text == "We ship within Europe only [1]."
    exact = make_service(handoff_confidence=0.1, faq_confidence=0.3, faq_same_question=0.99)
    assert exact.ask("do you ship outside europe").text == "No, we ship within Europe only [1]."


def test_health_names_what_is_wrong_without_the_details(
    make_service, settings, fake_embedder, fake_generator, fake_sentiment, tmp_path, caplog
):
    from sqlalchemy import create_engine

    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.service import ChatService
    from chatbot.storage import SqlStore

    assert make_service().health() == {"database": "ok", "knowledge_base": "ok"}
    retriever = HybridRetriever(IndexHandle(tmp_path / "never-ingested"), fake_embedder)
    store = SqlStore(settings.database_url)
    service = ChatService(retriever, fake_generator, fake_embedder, store, settings, sentiment=fake_sentiment)
    assert service.health() == {"database": "ok", "knowledge_base": "missing"}
    store.engine = create_engine(f"sqlite:///{tmp_path}/no-such-folder/chatbot.db")  # a database gone away
    assert service.health() == {"database": "unreachable", "knowledge_base": "missing"}
    assert "the database cannot be reached" in caplog.text  # the operator's log has the details
