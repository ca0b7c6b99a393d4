import gradio as gr
import pytest

from chatbot.auth import Accounts
from chatbot.storage import SqlStore
from finetune.background import JobRunner
from ui.login import COOKIE
from ui.operator_console import OperatorConsole, checked_uploads


class FakeRequest:
    def __init__(self, token=None):
        self.cookies = {COOKIE: token} if token else {}


@pytest.fixture
def console(settings, fake_embedder, fake_generator, fake_sentiment):
    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.service import ChatService

    store = SqlStore(settings.database_url)
    accounts = Accounts(store)
    accounts.add_user("omar", "operator", "operator passphrase")
    accounts.add_user("maria", "staff", "staff passphrase")
    # The serving assistant over the deployment's (at first empty) knowledge base, as `chatbot serve` builds it.
    retriever = HybridRetriever(IndexHandle(settings.index_dir), fake_embedder)
    service = ChatService(retriever, fake_generator, fake_embedder, store, settings, sentiment=fake_sentiment)
    return OperatorConsole(settings, store, accounts, fake_embedder, JobRunner(), service=service)


def test_every_operator_action_refuses_anyone_but_a_signed_in_operator(console):
    staff = FakeRequest(console.accounts.login("maria", "staff passphrase"))
    for request in (FakeRequest(), FakeRequest("forged"), staff):
        with pytest.raises(gr.Error, match="sign in"):
            console.documents(request)
        with pytest.raises(gr.Error, match="sign in"):
            console.promote("x", False, request)
        with pytest.raises(gr.Error, match="sign in"):
            console.start_job("answers", None, True, 10, request)
        with pytest.raises(gr.Error, match="sign in"):
            console.save_text("handoff", "Hacked", request)


def test_operator_uploads_ingests_lists_and_removes_documents(console, tmp_path):
    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    doc = tmp_path / "gift cards.md"
    doc.write_text("# Gift cards\n\nGift cards never expire and can be used online and in stores.\n")
    result = console.ingest([str(doc)], request)
    assert "1 added" in result and "hands over below retrieval confidence" in result
    table = console.documents(request)
    assert list(table["Source"]) == ["uploads/gift_cards.md"] and list(table["Title"]) == ["Gift cards"]
    assert "1 documents removed" in console.remove("uploads/gift_cards.md", request)
    assert console.documents(request).empty


def test_the_operator_is_told_of_a_page_that_repeats_the_others(console, tmp_path):
    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    texts = [f"# {name}\n\n" + "".join(f"The {name} rule {i} holds for every order. " for i in range(5))
             for name in ("Returns", "Exchanges", "Warranty")]  # fmt: skip
    paths = [tmp_path / f"page{n}.md" for n in range(3)] + [tmp_path / "print.md"]
    for path, text in zip(paths, [*texts, "\n\n".join(texts)], strict=True):
        path.write_text(text, encoding="utf-8")
    result = console.ingest([str(p) for p in paths], request)
    assert "4 added" in result and "\n- note: uploads/print.md repeats the text of 3 other documents" in result


def test_uploads_are_checked_for_type_and_size(tmp_path):
    script = tmp_path / "evil.exe"
    script.write_bytes(b"MZ")
    with pytest.raises(gr.Error, match="evil.exe: files of type .exe"):
        checked_uploads([str(script)], [".md"])
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * (21 * 2**20))
    with pytest.raises(gr.Error, match="big.md is larger than 20 MB"):
        checked_uploads([str(big)], [".md"])
    with pytest.raises(gr.Error, match="at least one file"):
        checked_uploads([], [".md"])


def test_models_tab_promotes_and_rolls_back_with_clear_errors(console):
    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    assert console.versions(request).empty
    with pytest.raises(gr.Error, match="no model version named 'nope'"):
        console.promote("nope", False, request)
    with pytest.raises(gr.Error, match="no promoted answers model"):
        console.rollback("answers", request)
    line, losses = console.job_status(request)
    assert "No fine-tuning job" in line and losses.empty


def test_quality_over_time_counts_handoffs_feedback_and_negative_messages(make_service, console):
    service = make_service()
    cid = service.start_conversation()
    service.ask("What is the capital of Peru?", cid)  # handed off
    service.ask("This is terrible and useless", cid)  # negative (waiting for staff now)
    service.add_feedback(cid, -1)
    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    table = console.quality(request)
    rates = dict(zip(table["measure"], table["rate"], strict=True))
    assert rates["hand-off rate"] == 1.0 and rates["positive feedback"] == 0.0 and rates["negative messages"] == 0.5


def test_bot_texts_tab_rewords_refuses_bad_wording_and_restores_the_default(console):
    from chatbot.bot_texts import DEFAULT_TEXTS

    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    table = console.texts(request)
    assert "handoff" in set(table["Text"]) and set(table["State"]) == {"default"}
    assert console.text("handoff", request) == DEFAULT_TEXTS["handoff"]
    with pytest.raises(gr.Error, match="no text named 'handof'"):
        console.text("handof", request)
    assert "Saved **handoff**" in console.save_text("handoff", " Un momento, por favor. ", request)
    assert console.text("handoff", request) == "Un momento, por favor."
    row = console.texts(request).set_index("Text").loc["handoff"]
    assert row["State"] == "reworded" and row["Words in force"] == "Un momento, por favor."
    with pytest.raises(gr.Error, match="empty"):
        console.save_text("handoff", "   ", request)
    assert console.text("handoff", request) == "Un momento, por favor."  # the stored wording is kept
    message, words = console.reset_text("handoff", request)
    assert "back to the default" in message and words == DEFAULT_TEXTS["handoff"]
    assert console.store.bot_texts().is_default("handoff")


def test_operator_fetches_the_help_center_from_its_website(console, help_site, monkeypatch):
    from knowledge_base import crawl

    monkeypatch.setattr(crawl.time, "sleep", lambda seconds: None)
    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    base, _ = help_site
    result = console.crawl(base + "/help/", request)
    assert result.startswith("4 pages fetched, 1 skipped; 4 added") and "disallowed by robots.txt" in result
    assert len(console.documents(request)) == 4  # the PDF form too
    with pytest.raises(gr.Error, match="not a web address"):
        console.crawl("help.example.com", request)
    result = console.crawl(base + "/help/", request, exclude="/help/shipping/*, *.pdf")
    assert result.startswith("2 pages fetched, 3 skipped; 0 added, 0 updated, 2 unchanged, 2 removed")
    assert "excluded by '*.pdf'" in result
    with pytest.raises(gr.Error, match="'shipping' matches no address"):
        console.crawl(base + "/help/", request, exclude="shipping")


def test_operator_evaluates_the_bot_on_their_own_questions(console, tmp_path):
    import json
    from pathlib import Path

    request = FakeRequest(console.accounts.login("omar", "operator passphrase"))
    doc = tmp_path / "refunds.md"
    doc.write_text("# Refunds\n\nRefunds reach credit cards within 5 to 10 business days.\n")
    console.ingest([str(doc)], request)
    lines = [
        {"id": "r1", "question": "How long do refunds take?", "reference": "5 to 10 business days"},
        {"id": "x1", "question": "What is the capital of Peru?", "answerable": False},
    ]
    questions = tmp_path / "my questions.jsonl"
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report, plot = console.evaluate(str(questions), False, 0, request)
    assert report.startswith("# Answer evaluation: my questions.jsonl") and "(in use)" in report
    assert "## Decisions" in report and "Results, one line per question" in report
    assert plot is not None and Path(plot).stat().st_size > 0 and "![" not in report  # the plot is shown beside
    assert len(list((console.settings.home / "evaluations").glob("*.jsonl"))) == 1
    assert console.service.store.count_conversations() == 0  # the deployment's conversations are untouched

    staff = FakeRequest(console.accounts.login("maria", "staff passphrase"))
    with pytest.raises(gr.Error, match="sign in"):
        console.evaluate(str(questions), False, 0, staff)
    with pytest.raises(gr.Error, match="files of type .csv"):
        bad = tmp_path / "q.csv"
        bad.write_text("question\nhi\n")
        console.evaluate(str(bad), False, 0, request)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "question": "ok"}\n{"id": 2}\n')
    with pytest.raises(gr.Error, match="broken.jsonl:2 is not a question line"):
        console.evaluate(str(broken), False, 0, request)
