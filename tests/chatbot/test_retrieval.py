import logging

import numpy as np
import pytest

from chatbot.errors import ConfigError, IndexNotBuiltError
from chatbot.grounding import names_nothing
from chatbot.retrieval import (
    OWN_SUBJECT_CONFIDENCE_WEIGHT,
    QUESTION_CONFIDENCE_WEIGHT,
    HybridRetriever,
    IndexHandle,
    build_query,
    leading_code_block,
    on_its_own,
    points_back,
    query_vector,
    reciprocal_rank_fusion,
)
from chatbot.types import Turn
from knowledge_base.ingest import ingest
from tests.fakes import FakeEmbedder


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 9]])
    assert [row for row, _ in fused] == [1, 3, 2, 9]


def test_rrf_weights_scale_each_ranking():
    fused = reciprocal_rank_fusion([[1, 2], [2, 1]], weights=[1.0, 0.5])
    assert [row for row, _ in fused] == [1, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 0.5 / 62)


def test_rrf_refuses_a_weight_count_that_does_not_match():
    with pytest.raises(ValueError, match="got 1 weights for 2 rankings"):
        reciprocal_rank_fusion([[1], [2]], weights=[1.0])


def test_query_vector_leans_to_the_question_however_long_the_history():
    question, earlier = np.array([1.0, 0.0, 0.0]), np.array([[0.0, 1.0, 0.0], [0.0, 0.6, 0.8]])
    assert query_vector(question, earlier[:0]) is question  # no history: the question's own vector
    combined = query_vector(question, earlier)
    assert np.linalg.norm(combined) == pytest.approx(1.0)
    assert combined @ question > combined @ earlier[0] > 0 and combined @ earlier[1] > 0


def test_a_question_that_points_back_is_told_from_one_that_stands_alone():
    assert points_back("Which countries is that available in?") and points_back("Is it free?")
    assert not points_back("When does express delivery arrive?") and not points_back("Do you ship to Italy")


@pytest.mark.parametrize(
    ("message", "bare"),
    [
        ("Yes, I am.", True),
        ("No, I haven\u2019t.", True),
        ("of course", True),
        ("Okay. What should I do?", True),
        ("Yes, 2 years", False),  # a number is the customer's own
        ("yes I would so I don't overpay", False),
        ("Do you ship to Italy", False),
    ],
)
def test_a_message_that_names_nothing_of_its_own_points_back(message, bare):
    assert names_nothing(message) is bare
    assert points_back(message) is bare


def test_query_puts_the_question_first_then_recent_customer_turns():
    history = [Turn("user", "I returned a lamp"), Turn("assistant", "Got it"), Turn("user", "It was broken")]
    assert build_query("how long?", history, turns=1) == "how long?\nIt was broken"
    assert build_query("how long?", history, turns=4) == "how long?\nIt was broken\nI returned a lamp"


def test_hybrid_retrieval_finds_the_relevant_passage(built_index, fake_embedder):
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    passages = retriever.retrieve("how long does express delivery take", [], k=3)
    assert passages[0].chunk.source == "kb/shipping.md"
    assert all(0.0 <= p.confidence <= 1.0 for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_follow_up_uses_the_conversation(built_index, fake_embedder):
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    history = [Turn("user", "I want my refund on my credit card")]
    assert retriever.retrieve("how long does that take", history, k=1)[0].chunk.source == "kb/refunds.md"


def test_a_bare_reply_is_searched_and_judged_with_the_conversation(built_index, fake_embedder):
    # "Yes, I am." alone looks like no passage; with what the customer said before it is as sure as that text.
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    history = [Turn("user", "I want my refund on my credit card"), Turn("assistant", "Got it.")]
    (passage,) = retriever.retrieve("Yes, I did.", history, k=1)
    assert passage.chunk.source == "kb/refunds.md"
    index = IndexHandle(built_index).get()
    (row,) = [i for i, c in enumerate(index.chunks) if c == passage.chunk]
    in_context = fake_embedder.embed(["Yes, I did.\nI want my refund on my credit card"])[0] @ index.vectors[row]
    assert passage.confidence == pytest.approx(max(float(in_context), 0.0), abs=1e-6)


def test_a_reply_to_a_question_asked_is_searched_with_that_question(built_index, fake_embedder):
    # "Yes" tells what the customer wants only with the question it answers.
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    history = [Turn("user", "I have a question"), Turn("assistant", "Was it sent by express delivery?")]
    assert retriever.retrieve("Yes", history, k=1)[0].chunk.source == "kb/shipping.md"
    history = [Turn("user", "I need help"), Turn("staff", "Is it about express delivery?")]
    assert retriever.retrieve("Yes, it is.", history, k=1)[0].chunk.source == "kb/shipping.md"


def test_a_new_question_after_another_topic_finds_its_own_passage(built_index, fake_embedder):
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    history = [
        Turn("user", "I sent my return back last week and I am still waiting for the refund of my credit card, "
                     "when do refunds reach credit cards and do refunds go back to the original payment method"),
        Turn("assistant", "Refunds reach credit cards within 5 to 10 business days."),
    ]  # fmt: skip
    passages = retriever.retrieve("when does express delivery arrive", history, k=1)
    assert passages[0].chunk.source == "kb/shipping.md"


def test_a_follow_up_with_a_subject_of_its_own_leans_less_on_the_conversation(tmp_path, fake_embedder):
    # "can I return furniture" after a refund question: alone, its words find the furniture section better than the
    # question and the conversation together find anything, so the refund conversation no longer pulls it toward
    # the return window that refunds and returns share words with.
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "refunds.md").write_text(
        "# Refunds\n\n## How long refunds take\nWe check returns within 3 business days. Refunds reach credit cards "
        "within 5 to 10 business days.\n\n## Refund method\nRefunds always go back to the original payment method.\n",
        encoding="utf-8",
    )
    (tmp_path / "kb" / "returns.md").write_text(
        "# Returns\n\n## Return window\nYou can return most items within 30 days of delivery.\n\n"
        "## Returning furniture\nFor large furniture, book a collection: our partner collects the sofa or table from "
        "your home.\n",
        encoding="utf-8",
    )
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    retriever = HybridRetriever(IndexHandle(tmp_path / "index"), fake_embedder)
    index = retriever.index.get()
    history = [Turn("user", "I want my refund on my credit card"), Turn("assistant", "Got it.")]
    question, together = fake_embedder.embed(
        ["can I return furniture", build_query("can I return furniture", history, 8)]
    )
    assert on_its_own(index, question, together)
    assert not on_its_own(index, *fake_embedder.embed(["how long", build_query("how long", history, 8)]))
    (passage,) = retriever.retrieve("can I return furniture", history, k=1)
    assert passage.chunk.section.endswith("Returning furniture")
    # As sure as the question alone and in its context, half each (a follow-up that needs the conversation: 0.2 alone).
    (row,) = [i for i, c in enumerate(index.chunks) if c.section == passage.chunk.section]
    expected = OWN_SUBJECT_CONFIDENCE_WEIGHT * question + (1 - OWN_SUBJECT_CONFIDENCE_WEIGHT) * together
    assert passage.confidence == pytest.approx(float(expected @ index.vectors[row]), abs=1e-6)


def test_a_follow_up_is_never_on_its_own_in_an_empty_knowledge_base(tmp_path, fake_embedder):
    (tmp_path / "kb").mkdir()
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    vectors = fake_embedder.embed(["can I return furniture", "can I return furniture\nmy refund"])
    assert not on_its_own(IndexHandle(tmp_path / "index").get(), *vectors)


def test_with_history_confidence_blends_the_question_alone_and_in_context(built_index, fake_embedder):
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    history = [Turn("user", "I want my refund on my credit card")]
    (passage,) = retriever.retrieve("is the weather nice today", history, k=1)
    index = IndexHandle(built_index).get()
    (row,) = [i for i, c in enumerate(index.chunks) if c == passage.chunk]
    alone, in_context = (
        fake_embedder.embed(
            ["is the weather nice today", "is the weather nice today\nI want my refund on my credit card"]
        )
        @ index.vectors[row]
    )
    blend = QUESTION_CONFIDENCE_WEIGHT * alone + (1 - QUESTION_CONFIDENCE_WEIGHT) * in_context
    assert passage.confidence == pytest.approx(max(blend, 0.0), abs=1e-6)
    assert passage.confidence < in_context  # the off-topic question borrows less from the conversation


def test_an_index_built_with_another_embedder_is_refused_with_both_names(built_index, fake_embedder):
    retriever = HybridRetriever(IndexHandle(built_index), FakeEmbedder(name="another-model"))
    with pytest.raises(ConfigError, match=r"'fake-embedder'.*'another-model'.*--rebuild"):
        retriever.retrieve("how long does express delivery take", [], k=3)
    with pytest.raises(ConfigError, match="another-model"):
        retriever.check()  # what `chatbot ask` runs first, to tell the operator
    HybridRetriever(IndexHandle(built_index), fake_embedder).check()  # the right one searches


def test_a_new_snapshot_is_picked_up_without_restart(built_index, fake_embedder, kb_dir):
    handle = IndexHandle(built_index)
    assert len(handle.get()) == 4
    (kb_dir / "warranty.md").write_text("# Warranty\nAll products have a two year warranty.", encoding="utf-8")
    ingest([kb_dir], embedder=fake_embedder, index_dir=built_index, progress=False)
    assert len(handle.get()) == 5


def test_a_passage_that_starts_inside_a_long_procedure_gets_the_steps_before_it(tmp_path, fake_embedder):
    steps = "".join(f"{i}. Do step number {i} of cancelling an order on the website\n" for i in range(1, 15))
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "cancel.md").write_text(f"# Cancel order\nTo cancel an order, follow these steps:\n{steps}",
                                               encoding="utf-8")  # fmt: skip
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    retriever = HybridRetriever(IndexHandle(tmp_path / "index"), fake_embedder)
    passages = retriever.retrieve("step number 14 of cancelling", [], k=2)
    indexed = IndexHandle(tmp_path / "index").get().chunks
    assert len(indexed) == 2 and indexed[1].text.split("\n")[1][:3] != "1. "  # the window cut the list
    (later,) = [p for p in passages if p.chunk.position == 1]
    body = later.chunk.text.split("\n")[1:]
    assert body[:2] == ["To cancel an order, follow these steps:", "1. Do step number 1 of cancelling an order on "
                        "the website"]  # fmt: skip
    assert body[-1] == "14. Do step number 14 of cancelling an order on the website"
    assert len(body) == 15  # every step once: the words both windows hold are not repeated


def test_a_passage_that_ends_by_pointing_ahead_gets_what_it_points_to(tmp_path, fake_embedder):
    intro = "".join(f"Applicants in district number {i} apply at the office downtown. " for i in range(1, 12))
    items = "- Proof of identity such as a valid passport.\n- Proof of address such as a utility bill.\n"
    (tmp_path / "kb").mkdir()
    hours = "".join(f"Office number {i} opens at nine and closes at five on weekdays. " for i in range(1, 8))
    (tmp_path / "kb" / "licence.md").write_text(f"# Licence\n{intro}\nBring the documents listed below.\n{items}\n"
                                                f"{hours}", encoding="utf-8")  # fmt: skip
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    indexed = IndexHandle(tmp_path / "index").get().chunks
    assert len(indexed) == 2 and indexed[0].text.endswith("Bring the documents listed below.")  # the window cut
    passages = HybridRetriever(IndexHandle(tmp_path / "index"), fake_embedder).retrieve("which documents", [], k=2)
    (first,) = [p for p in passages if p.chunk.position == 0]
    # The list that the pointer announces follows it, once; what comes after the list does not.
    assert first.chunk.text.endswith("Bring the documents listed below.\n" + items.strip())
    assert "opens at nine" not in first.chunk.text


def test_a_passage_that_ends_by_pointing_at_an_example_gets_the_whole_example(tmp_path, fake_embedder):
    # "Here's a trivial example:" and then the code, in the next chunk: the passage showed an empty code block.
    intro = "".join(f"Worker number {i} takes jobs off the queue until done. " for i in range(1, 12))
    code = "```\ndef worker():\n    while True:\n        job()\nworker()\n```"
    after = "".join(f"Thread number {i} stops when the main program stops it. " for i in range(1, 8))
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "threads.md").write_text(f"# Threads\n{intro}\nHere is a trivial example:\n{code}\n{after}\n",
                                                encoding="utf-8")  # fmt: skip
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    indexed = IndexHandle(tmp_path / "index").get().chunks
    assert indexed[0].text.endswith("Here is a trivial example:")  # the window cut before the code
    passages = HybridRetriever(IndexHandle(tmp_path / "index"), fake_embedder).retrieve("worker example", [], k=2)
    (first,) = [p for p in passages if p.chunk.position == 0]
    assert first.chunk.text.endswith("Here is a trivial example:\n" + code)  # as written, indented
    assert leading_code_block("\n" + code + "\nDone.") == code.split("\n")
    assert leading_code_block("Done.\n" + code) == []


def test_a_passage_that_ends_inside_a_list_gets_the_rest_of_the_list(tmp_path, fake_embedder):
    # The chunk window (120 words) ends inside the long 6th item; the next chunk holds its end and the other items.
    lines = [f"- Cause number {i} of rebuilds is a changed setting. Fix number {i} is to keep it stable." for i in
             range(1, 10)]  # fmt: skip
    lines[5] = "- " + " ".join(f"Sentence number {i} of the long sixth item is here." for i in range(1, 8))
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "rebuilds.md").write_text("# Rebuilds\nCauses of rebuilds:\n" + "\n".join(lines) +
                                                 "\nAfter the list.\n", encoding="utf-8")  # fmt: skip
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    indexed = IndexHandle(tmp_path / "index").get().chunks
    assert len(indexed) == 2 and "Sentence number 7" not in indexed[0].text  # the window cut the 6th item
    passages = HybridRetriever(IndexHandle(tmp_path / "index"), fake_embedder).retrieve("causes of rebuilds", [], k=2)
    (first,) = [p for p in passages if p.chunk.position == 0]
    # The cut item is finished, the other items follow, once each; the text after the list does not.
    assert first.chunk.text.split("\n")[1:] == ["Causes of rebuilds:", *lines]


def test_a_passage_that_opens_a_section_headed_by_a_question_starts_with_the_question(tmp_path, fake_embedder):
    answer = "".join(f"Refunds for order number {i} reach the card in ten days. " for i in range(1, 30))
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "faq.md").write_text(f"# FAQ\n## How long do refunds take?\n{answer}\n## Shipping costs\n"
                                            "Shipping is free above fifty euros.\n", encoding="utf-8")  # fmt: skip
    ingest([tmp_path / "kb"], embedder=fake_embedder, index_dir=tmp_path / "index", progress=False)
    indexed = IndexHandle(tmp_path / "index").get().chunks
    assert indexed[1].heading == "How long do refunds take?" and indexed[-1].heading == "Shipping costs"
    retriever = HybridRetriever(IndexHandle(tmp_path / "index"), fake_embedder)
    passages = retriever.retrieve("refunds", [], k=len(indexed))
    by_position = {p.chunk.position: p.chunk.text.split("\n")[1] for p in passages}
    # The section's first passage reads as the page does, question first; its second passage and a section named
    # by a topic, not a question, are as they were indexed.
    assert by_position[0] == "How long do refunds take?"
    assert by_position[1].startswith("Refunds for order number")
    assert by_position[len(indexed) - 1] == "Shipping is free above fifty euros."


def test_a_typo_is_searched_as_the_knowledge_base_spells_the_word(built_index, fake_embedder):
    retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
    assert retriever.spelled("When does exprses delivry arrive?") == "When does express delivery arrive?"
    typed = retriever.retrieve("When does exprses delivry arrive?", [], k=3)
    assert typed == retriever.retrieve("When does express delivery arrive?", [], k=3)
    assert typed[0].chunk.source == "kb/shipping.md"
    # The customer's earlier messages too: the follow-up is read with them.
    history = [Turn("user", "I want my refnud on my credti card")]
    assert retriever.retrieve("how long does that take", history, k=1)[0].chunk.source == "kb/refunds.md"
    assert retriever.retrieve("how long does that take", history, k=2) == retriever.retrieve(
        "how long does that take", [Turn("user", "I want my refund on my credit card")], k=2
    )


def test_warm_up_loads_the_snapshot_and_its_speller_before_the_first_question(built_index, fake_embedder, caplog):
    handle = IndexHandle(built_index)
    HybridRetriever(handle, fake_embedder).warm_up()
    assert handle._index is not None and "speller" in handle._index.__dict__  # loaded, its corrector built
    # Without a knowledge base (a fresh install) the service still starts; the first search reports it.
    empty = HybridRetriever(IndexHandle(built_index.parent / "none"), fake_embedder)
    with caplog.at_level(logging.WARNING, logger="chatbot.retrieval"):
        empty.warm_up()
    assert "knowledge base not loaded at start" in caplog.text
    with pytest.raises(IndexNotBuiltError):
        empty.retrieve("how long does express delivery take", [], k=3)


def test_a_short_article_and_a_faq_entry_are_whole_passages_a_chunk_of_a_long_page_is_not(kb_dir, tmp_path):
    sentences = [f"Rule {n} of our warranty covers the parts of product line {n} for two years." for n in range(30)]
    (kb_dir / "warranty.md").write_text("# Warranty\n\n" + " ".join(sentences), encoding="utf-8")
    embedder = FakeEmbedder()
    ingest([kb_dir], embedder=embedder, index_dir=tmp_path / "index", progress=False)
    retriever = HybridRetriever(IndexHandle(tmp_path / "index"), embedder)
    found = retriever.retrieve("warranty rule product line parts express delivery refund", [], k=20)
    whole = {p.chunk.source.rsplit("/", 1)[-1].split("#")[0]: p.whole for p in found}
    assert whole["shipping.md"] and whole["faq.csv"]
    assert not whole["warranty.md"]  # its chunks are parts of one long page
    assert not whole["refunds.md"]  # a page of two sections
