import gradio as gr
import pytest
from fastapi import FastAPI

from chatbot.auth import Accounts
from chatbot.bot_texts import DEFAULT_TEXTS
from chatbot.review import ReviewDesk
from chatbot.storage import SqlStore
from chatbot.types import Answer, Chunk, Decision, Passage
from ui.app import build_app, build_pages
from ui.chat_widget import (
    as_markdown,
    as_text,
    format_answer,
    new_conversation,
    page_wording,
    pick_example,
    poll_staff_replies,
    record_feedback,
    record_reason,
    respond,
    restore_conversation,
    talk_to_person,
)


@pytest.fixture
def chat_service(make_service):
    return make_service(handoff_confidence=0.1)


def test_app_builds_without_launching(chat_service, settings):
    accounts = Accounts(SqlStore(settings.database_url))
    app = build_app(chat_service, accounts)
    assert isinstance(app, FastAPI)
    pages = build_pages(chat_service, accounts)
    assert set(pages) == {"/", "/review", "/operator"} and all(isinstance(p, gr.Blocks) for p in pages.values())
    assert pages["/"].title == "Help center chat"


def test_respond_streams_then_shows_sources(chat_service, fake_generator):
    fake_generator.enqueue(
        "Refunds reach credit cards within 5 to 10 business days. We check returns within 3 business days."
    )
    updates = list(respond(chat_service, "How long do refunds take?", [], "", 0))
    assert len(updates) >= 3  # streamed in pieces
    messages, conversation_id, box, seen = updates[-1]
    assert seen == chat_service.store.messages(conversation_id)[-1].id
    assert conversation_id and box == ""
    assert messages[0] == {"role": "user", "content": "How long do refunds take?"}
    final = messages[-1]["content"]
    assert "5 to 10 business days \\[1\\]" in final
    assert "**Sources**" in final and "kb/refunds\\.md" in final
    assert [m.role for m in chat_service.store.messages(conversation_id)] == ["user", "assistant"]


def test_without_a_knowledge_base_the_customer_is_told_a_person_will_answer(chat_service, fake_embedder, tmp_path):
    from chatbot.retrieval import HybridRetriever, IndexHandle

    chat_service.retriever = HybridRetriever(IndexHandle(tmp_path / "never-ingested"), fake_embedder)
    messages, conversation_id, box, _ = list(respond(chat_service, "How long do refunds take?", [], "", 0))[-1]
    assert messages[-1] == {"role": "assistant", "content": as_markdown(DEFAULT_TEXTS["handoff"])}
    assert box == "" and chat_service.store.status(conversation_id) == "needs_human"


def test_second_message_continues_the_same_conversation(chat_service):
    messages, cid, _, seen = list(respond(chat_service, "How long do refunds take?", [], "", 0))[-1]
    messages, cid2, _, _ = list(respond(chat_service, "And express delivery?", messages, cid, seen))[-1]
    assert cid2 == cid and len(messages) == 4
    assert len(chat_service.store.messages(cid)) == 4


def test_refused_message_keeps_the_text_and_stores_nothing(chat_service, monkeypatch):
    warnings = []
    monkeypatch.setattr(gr, "Warning", warnings.append)
    cid = chat_service.start_conversation()
    messages, _, box, _ = list(respond(chat_service, "x" * 5000, [], cid, 0))[-1]
    assert messages == [] and box == "x" * 5000
    assert "5000 characters" in warnings[0]
    assert chat_service.store.messages(cid) == []


def test_a_message_too_long_gets_the_operators_notice(chat_service, monkeypatch):
    warnings = []
    monkeypatch.setattr(gr, "Warning", warnings.append)
    chat_service.store.set_bot_text("too_long", "Mensaje de {length} caracteres; máximo {limit}.", user="omar")
    limit = chat_service.settings.max_question_chars
    messages, _, box, _ = list(respond(chat_service, "x" * (limit + 1), [], "", 0))[-1]
    assert warnings == [f"Mensaje de {limit + 1} caracteres; máximo {limit}."]
    assert messages == [] and box == "x" * (limit + 1)


def test_too_many_messages_get_the_operators_notice_and_keep_the_text(make_service, monkeypatch):
    warnings = []
    monkeypatch.setattr(gr, "Warning", warnings.append)
    service = make_service(rate_limit_client=1)
    service.store.set_bot_text("slow_down", "Despacio, por favor.", user="omar")
    messages, cid, _, seen = list(respond(service, "hello", [], "", 0, client="203.0.113.5"))[-1]
    messages, cid2, box, seen2 = list(respond(service, "thanks", messages, cid, seen, client="203.0.113.5"))[-1]
    assert warnings == ["Despacio, por favor."]
    assert box == "thanks" and cid2 == cid and seen2 == seen and len(messages) == 2
    assert len(service.store.messages(cid)) == 2
    *_, (_, _, box, _) = talk_to_person(service, [], "", 0, client="203.0.113.5")
    assert box and service.store.count_conversations() == 1  # the button is a message like any other


def test_text_from_anyone_is_shown_as_text():
    shown = as_text("<img src=x onerror=alert(1)> **bold** [link](http://evil)")
    assert "<img" not in shown and "&lt;img" in shown
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]\\(http" in shown


def test_code_in_an_answer_is_shown_as_code_with_its_indentation():
    text = "Save it in hooks.py [1]:\n```python <b>\ndef on_order(order):\n    return '<b>'\n```\n\nDone [1]."
    assert as_markdown(text) == (
        "Save it in hooks\\.py \\[1\\]:\n```pythonb\ndef on_order(order):\n    return '<b>'\n```\n\nDone \\[1\\]\\."
    )  # inside a block a Markdown renderer shows "<b>" as written; the language name keeps its letters only
    assert as_markdown("Run:\n~~~~\nmake") == "Run:\n~~~~\nmake\n~~~~"  # a block cut short is closed
    assert as_markdown("**no code** here") == as_text("**no code** here")
    sources = [Passage(Chunk(str(i), f"kb/{i}.md", f"T{i}", "text", 0), 0.1, 0.9) for i in range(1, 3)]
    shown = format_answer(Answer("Read it [2]:\n```\nname = sys.argv[1]\n```", Decision.GENERATED, 0.9, sources))
    assert "T2" in shown and "T1" not in shown  # "argv[1]" in code cites nothing


def test_handoff_answers_show_no_sources():
    chunk = Chunk("c", "kb/a.md", "A", "text", 0)
    answer = Answer("A person will reply.", Decision.HANDOFF_LOW_CONFIDENCE, 0.1, [Passage(chunk, 0.1, 0.1)])
    assert "Sources" not in format_answer(answer)


def test_new_conversation_clears_the_page():
    assert new_conversation() == ([], "", 0)


def test_only_cited_sources_are_listed_with_their_numbers():
    sources = [Passage(Chunk(str(i), f"kb/{i}.md", f"T{i}", "text", 0), 0.1, 0.9) for i in range(1, 4)]
    shown = format_answer(Answer("Refunds take 5 days [2].", Decision.GENERATED, 0.9, sources))
    assert "2\\. T2 — kb/2\\.md" in shown
    assert "T1" not in shown and "T3" not in shown


class Like:
    def __init__(self, index, liked):
        self.index, self.liked = index, liked


def test_talk_to_a_person_then_a_staff_reply_appears_in_the_customers_chat(chat_service):
    messages, cid, _, seen = list(talk_to_person(chat_service, [], "", 0))[-1]
    assert messages[0]["content"] == as_text(DEFAULT_TEXTS["person_request"])
    assert chat_service.store.status(cid) == "needs_human"
    assert poll_staff_replies(chat_service, messages, cid, seen) == (gr.skip(), gr.skip())  # nothing new
    from chatbot.auth import User

    ReviewDesk(chat_service.store).send(cid, "Hi, I am Maria <b>from support</b>.", user=User("maria", "staff"))
    shown, seen_now = poll_staff_replies(chat_service, messages, cid, seen)
    assert shown[-1]["content"].startswith("**Support team:** Hi, I am Maria &lt;b&gt;")
    assert seen_now > seen
    assert poll_staff_replies(chat_service, shown, cid, seen_now) == (gr.skip(), gr.skip())


def test_thumbs_down_asks_why_and_stores_the_reason_with_its_sentiment(chat_service, monkeypatch):
    monkeypatch.setattr(gr, "Info", lambda *a, **k: None)
    messages, cid, _, _ = list(respond(chat_service, "How long do refunds take?", [], "", 0))[-1]
    feedback_id, box = record_feedback(chat_service, messages, cid, Like([1, 0], False))
    assert box["visible"] is True
    record_reason(chat_service, feedback_id, "This is useless, terrible answer")
    rating, reason, sentiment, _ = chat_service.store.feedback()[-1]
    assert (rating, reason, sentiment) == (-1, "This is useless, terrible answer", "negative")
    _, box = record_feedback(chat_service, messages, cid, Like(1, True))
    assert box["visible"] is False and chat_service.store.feedback()[-1][0] == 1


def test_a_conversation_deleted_while_its_page_is_open_does_not_lock_the_customer_out(chat_service, monkeypatch):
    """An erasure request or the retention purge (`chatbot conversations delete|purge`) removes a conversation
    that a customer's tab still holds: the customer goes on in a new one, without error messages."""
    monkeypatch.setattr(gr, "Warning", lambda message: pytest.fail(f"warned: {message}"))
    monkeypatch.setattr(gr, "Info", lambda message: pytest.fail(f"told: {message}"))
    messages, cid, _, seen = list(respond(chat_service, "How long do refunds take?", [], "", 0))[-1]
    feedback_id, _ = record_feedback(chat_service, messages, cid, Like([1, 0], False))  # the reason box opens
    assert chat_service.store.delete_conversations([cid]) == 1
    assert poll_staff_replies(chat_service, messages, cid, seen) == (gr.skip(), gr.skip())
    assert record_reason(chat_service, feedback_id, "too late")["visible"] is False
    assert record_feedback(chat_service, messages, cid, Like([1, 0], True))[0] is None
    messages, new_cid, box, _ = list(respond(chat_service, "And express delivery?", messages, cid, seen))[-1]
    assert new_cid != cid and box == "" and messages[-1]["role"] == "assistant"
    assert [m.role for m in chat_service.store.messages(new_cid)] == ["user", "assistant"]
    assert not chat_service.store.conversation_exists(cid)


def test_a_reloaded_page_shows_the_conversation_the_browser_kept(chat_service, fake_generator):
    from datetime import datetime, timedelta, timezone

    from chatbot.auth import User
    from chatbot.review import ReviewDesk

    assert restore_conversation(chat_service, "") == ([], "", 0)
    assert restore_conversation(chat_service, "deleted-or-forged") == ([], "", 0)
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    shown, cid, _, _ = list(respond(chat_service, "How <b>long</b> do refunds take?", [], "", 0))[-1]
    list(respond(chat_service, "Can I talk to a human, please?", shown, cid, 0))  # handed off
    ReviewDesk(chat_service.store).send(cid, "Maria here, how can I help?", user=User("maria", "staff"))
    messages, restored_id, seen = restore_conversation(chat_service, cid)
    assert restored_id == cid and seen == chat_service.store.messages(cid)[-1].id
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "assistant"]
    assert messages[0]["content"] == "How &lt;b&gt;long&lt;/b&gt; do refunds take?"  # as text, as when sent
    assert messages[1]["content"] == shown[1]["content"]  # the answer with its sources, as it was shown
    assert "**Sources**" not in messages[3]["content"]  # the hand-off
    assert messages[4]["content"] == "**Support team:** Maria here, how can I help?"
    tomorrow = datetime.now(timezone.utc) + timedelta(hours=25)
    assert restore_conversation(chat_service, cid, now=tomorrow) == ([], "", 0)  # a day later: start afresh


def test_the_page_shows_the_knowledge_bases_own_examples_and_the_operators_wording(chat_service):
    heading, _, examples, box, *_ = page_wording(chat_service)
    assert box["placeholder"] == DEFAULT_TEXTS["input_placeholder"]
    assert heading.startswith("### Ask us anything\n")
    assert examples["samples"] == [["Do you ship outside Europe?"]] and examples["visible"]  # the test KB's FAQ
    assert pick_example(chat_service, 0) == "Do you ship outside Europe?"
    chat_service.store.set_bot_text("page_heading", "¿En qué podemos ayudarle?", user="omar")
    chat_service.store.set_bot_text("examples", "¿Cuánto tarda un reembolso?\n¿Dónde está mi pedido?", user="omar")
    chat_service.store.set_bot_text("person_button", "Hablar con una persona", user="omar")
    heading, _, examples, _, _, person, *_ = page_wording(chat_service)
    assert heading.startswith("### ¿En qué podemos ayudarle?") and person["value"] == "Hablar con una persona"
    assert examples["samples"] == [["¿Cuánto tarda un reembolso?"], ["¿Dónde está mi pedido?"]]
    assert pick_example(chat_service, 1) == "¿Dónde está mi pedido?" and pick_example(chat_service, 5) == ""
    chat_service.store.set_bot_text("examples", "", user="omar")  # the operator wants none: the FAQ's again
    assert page_wording(chat_service)[2]["samples"] == [["Do you ship outside Europe?"]]


def test_the_person_button_hands_over_in_the_operators_words_whatever_they_are(chat_service):
    chat_service.store.set_bot_text("person_request", "Quisiera hablar con una persona.", user="omar")
    chat_service.store.set_bot_text("requested_handoff", "Claro, le paso con una persona.", user="omar")
    *_, (messages, conversation_id, _, _) = talk_to_person(chat_service, [], "", 0)
    assert messages[0]["content"] == as_text("Quisiera hablar con una persona.")
    assert messages[1]["content"] == as_text("Claro, le paso con una persona.")
    assert chat_service.store.status(conversation_id) == "needs_human"  # not English, handed over all the same


def test_sources_with_a_page_link_to_it_and_nothing_else_becomes_a_link():
    def passage(url):
        chunk = Chunk("c", "help/refunds.md", "Refunds (card)", "Refunds take 5 days.", 0, url=url)
        return Passage(chunk, score=1.0, confidence=0.9)

    linked = format_answer(Answer("Refunds take 5 days [1].", Decision.EXTRACTED, 0.9, [passage(
        "https://help.example.com/refunds?from=chat#card (new)")]))  # fmt: skip
    assert "1\\. [Refunds \\(card\\)](https://help.example.com/refunds?from=chat#card%20%28new%29)" in linked
    for url in ("javascript:alert(1)", "/help/refunds", ""):
        shown = format_answer(Answer("Refunds take 5 days [1].", Decision.EXTRACTED, 0.9, [passage(url)]))
        assert "](" not in shown and as_text("help/refunds.md") in shown
