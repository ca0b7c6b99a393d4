import gradio as gr
import pytest

from chatbot.types import Answer, Chunk, Decision, Passage
from ui.app import build_app
from ui.chat_widget import as_text, format_answer, new_conversation, respond


@pytest.fixture
def chat_service(make_service):
    return make_service(handoff_confidence=0.1)


def test_app_builds_without_launching(chat_service):
    app = build_app(chat_service)
    assert isinstance(app, gr.Blocks)
    assert app.title == "Help center chat"


def test_respond_streams_then_shows_sources(chat_service, fake_generator):
    fake_generator.enqueue(
        "Refunds reach credit cards within 5 to 10 business days. We check returns within 3 business days."
    )
    updates = list(respond(chat_service, "How long do refunds take?", [], ""))
    assert len(updates) >= 3  # streamed in pieces
    messages, conversation_id, box = updates[-1]
    assert conversation_id and box == ""
    assert messages[0] == {"role": "user", "content": "How long do refunds take?"}
    final = messages[-1]["content"]
    assert "5 to 10 business days \\[1\\]" in final
    assert "**Sources**" in final and "kb/refunds\\.md" in final
    assert [m.role for m in chat_service.store.messages(conversation_id)] == ["user", "assistant"]


def test_second_message_continues_the_same_conversation(chat_service):
    messages, cid, _ = list(respond(chat_service, "How long do refunds take?", [], ""))[-1]
    messages, cid2, _ = list(respond(chat_service, "And express delivery?", messages, cid))[-1]
    assert cid2 == cid and len(messages) == 4
    assert len(chat_service.store.messages(cid)) == 4


def test_refused_message_keeps_the_text_and_stores_nothing(chat_service, monkeypatch):
    warnings = []
    monkeypatch.setattr(gr, "Warning", warnings.append)
    cid = chat_service.start_conversation()
    messages, _, box = list(respond(chat_service, "x" * 5000, [], cid))[-1]
    assert messages == [] and box == "x" * 5000
    assert "5000 characters" in warnings[0]
    assert chat_service.store.messages(cid) == []


def test_text_from_anyone_is_shown_as_text():
    shown = as_text("<img src=x onerror=alert(1)> **bold** [link](http://evil)")
    assert "<img" not in shown and "&lt;img" in shown
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]\\(http" in shown


def test_handoff_answers_show_no_sources():
    chunk = Chunk("c", "kb/a.md", "A", "text", 0)
    answer = Answer("A person will reply.", Decision.HANDOFF_LOW_CONFIDENCE, 0.1, [Passage(chunk, 0.1, 0.1)])
    assert "Sources" not in format_answer(answer)


def test_new_conversation_clears_the_page():
    assert new_conversation() == ([], "")


def test_only_cited_sources_are_listed_with_their_numbers():
    sources = [Passage(Chunk(str(i), f"kb/{i}.md", f"T{i}", "text", 0), 0.1, 0.9) for i in range(1, 4)]
    shown = format_answer(Answer("Refunds take 5 days [2].", Decision.GENERATED, 0.9, sources))
    assert "2\\. T2 — kb/2\\.md" in shown
    assert "T1" not in shown and "T3" not in shown
