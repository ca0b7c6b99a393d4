import json
import re
from importlib.util import find_spec

import pytest
from click.testing import CliRunner

from chatbot.cli import cli


@pytest.fixture
def tiny_env(monkeypatch, tiny_lm_dir, tiny_embedder_dir, tiny_classifier_dir):
    """The CLI on tiny local models: the same code path as a hub id or a real local model folder."""
    monkeypatch.setenv("CHATBOT_GENERATOR_MODEL", str(tiny_lm_dir))
    monkeypatch.setenv("CHATBOT_EMBEDDER_MODEL", str(tiny_embedder_dir))
    monkeypatch.setenv("CHATBOT_SENTIMENT_MODEL", str(tiny_classifier_dir))
    monkeypatch.setenv("CHATBOT_DEVICE", "cpu")


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["kb"],
        ["kb", "ingest"],
        ["kb", "crawl"],
        ["kb", "stats"],
        ["ask"],
        ["serve"],
        ["texts"],
        ["texts", "set"],
        ["eval", "sentiment"],
    ],
)
def test_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output and ("Example" in result.output or "Commands:" in result.output)


def test_ingest_then_stats(tiny_env, kb_dir, chatbot_home):
    result = invoke("kb", "ingest", str(kb_dir))
    assert result.exit_code == 0, result.output
    assert "3 added, 0 updated, 0 unchanged, 0 removed; 4 chunks embedded" in result.output
    again = invoke("kb", "ingest", str(kb_dir))
    assert "0 added, 0 updated, 3 unchanged, 0 removed; 0 chunks embedded" in again.output
    stats = invoke("kb", "stats")
    assert "2 articles, 1 FAQ entries" in stats.output and str(chatbot_home) in stats.output
    assert "hand-off:   below confidence" in stats.output and "off-topic requests reach" in stats.output


def test_remove(tiny_env, kb_dir):
    invoke("kb", "ingest", str(kb_dir))
    result = invoke("kb", "remove", "kb/refunds.md")
    assert result.exit_code == 0 and "1 documents removed: kb/refunds.md" in result.output
    assert "1 articles, 1 FAQ entries" in invoke("kb", "stats").output


def test_home_option_overrides_the_environment(tiny_env, kb_dir, tmp_path):
    result = invoke("--home", str(tmp_path / "elsewhere"), "kb", "ingest", str(kb_dir))
    assert result.exit_code == 0
    assert (tmp_path / "elsewhere" / "index" / "CURRENT").exists()


def test_ingest_names_a_page_that_repeats_the_others(tiny_env, kb_dir):
    texts = [f"# {name}\n" + "".join(f"The {name} rule {i} holds for every order. " for i in range(5))
             for name in ("Returns", "Exchanges", "Warranty")]  # fmt: skip
    for n, text in enumerate(texts):
        (kb_dir / f"page{n}.md").write_text(text, encoding="utf-8")
    (kb_dir / "print.md").write_text("\n".join(texts), encoding="utf-8")
    result = invoke("kb", "ingest", str(kb_dir))
    assert result.exit_code == 0, result.output
    assert "note: kb/print.md repeats the text of 3 other documents (kb/page0.md, kb/page1.md, kb/page2.md)" in (
        result.output
    )
    assert "`chatbot kb remove SOURCE`" in result.output


def test_ingest_reports_bad_files_and_needs_a_path(tiny_env, kb_dir):
    (kb_dir / "notes.pages").write_bytes(b"PK")
    (kb_dir / "broken.docx").write_bytes(b"PK")
    result = CliRunner().invoke(cli, ["kb", "ingest", str(kb_dir)])
    assert result.exit_code == 0
    assert "skipped kb/notes.pages: ValueError: unsupported file type '.pages'" in result.output
    assert "skipped kb/broken.docx: ValueError: not a readable Word document (.docx)" in result.output
    result = CliRunner().invoke(cli, ["kb", "ingest"])
    assert result.exit_code == 2 and "give at least one file or folder" in result.output


def test_ask_json_has_answer_decision_and_sources(tiny_env, kb_dir, monkeypatch):
    monkeypatch.setenv("CHATBOT_HANDOFF_CONFIDENCE", "0")
    invoke("kb", "ingest", str(kb_dir))
    result = invoke("ask", "--json", "How long do refunds take?")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{") :])
    assert {"answer", "handed_off", "confidence", "sources"} <= set(data)
    assert data["answer"] and isinstance(data["handed_off"], bool)
    assert {"text", "score", "source"} <= set(data["sources"][0])


def test_ask_prints_numbered_sources(tiny_env, kb_dir, monkeypatch):
    monkeypatch.setenv("CHATBOT_HANDOFF_CONFIDENCE", "0")
    invoke("kb", "ingest", str(kb_dir))
    result = invoke("ask", "How long do refunds take?")
    assert result.exit_code == 0
    assert re.search(r"Sources:\n  \[\d\] \S", result.output)


def test_ask_without_a_knowledge_base_says_what_to_do(tiny_env):
    result = CliRunner().invoke(cli, ["ask", "How long do refunds take?"])
    assert isinstance(result.exception, Exception) and "chatbot kb ingest" in str(result.exception)


@pytest.mark.skipif(find_spec("gradio") is None, reason="the web UI needs the [ui] extra (gradio)")
def test_serve_builds_the_app_and_launches_it(tiny_env, kb_dir, monkeypatch):
    invoke("kb", "ingest", str(kb_dir))
    launched = {}
    app = object()

    def fake_serve(served, **kwargs):
        launched.update(kwargs, app=served)

    monkeypatch.setattr("ui.app.build_app", lambda service, accounts: app)
    monkeypatch.setattr("ui.server.serve", fake_serve)
    result = invoke("serve", "--port", "7999", "--host", "127.0.0.1")
    assert result.exit_code == 0, result.output
    expected = {"app": app, "host": "127.0.0.1", "port": 7999, "forwarded_allow_ips": None}
    assert launched == expected  # None: uvicorn's default, a reverse proxy on this host
    result = invoke("serve", "--forwarded-allow-ips", "10.0.0.2,10.0.0.3")
    assert result.exit_code == 0 and launched["forwarded_allow_ips"] == "10.0.0.2,10.0.0.3"
    assert "chatbot users add" in result.output  # no staff account yet: the operator is told how to add one


def test_ingest_and_remove_keep_the_database_document_list_equal_to_the_index(kb_dir, settings, monkeypatch):
    from chatbot.kb_admin import ingest_paths, remove_sources, sync_documents
    from chatbot.storage import SqlStore
    from tests.fakes import FakeEmbedder

    ingest_paths(settings, [kb_dir], embedder=FakeEmbedder(), progress=False)
    store = SqlStore(settings.database_url)
    records = [r for r, _ in store.documents()]
    assert {r.source for r in records} >= {"kb/refunds.md", "kb/shipping.md"}
    refunds = next(r for r in records if r.source == "kb/refunds.md")
    assert refunds.title == "Refunds" and refunds.chunks >= 1 and len(refunds.content_hash) == 64
    remove_sources(settings, ["kb/refunds.md"])
    assert "kb/refunds.md" not in {r.source for r, _ in store.documents()}
    # A crash between the index swap and the database update: the next sync repairs the database.
    store.sync_documents([])
    assert store.documents() == []
    assert sync_documents(settings) == len(records) - 1


def test_kb_crawl_fetches_the_site_and_answers_link_to_its_pages(tiny_env, help_site, monkeypatch):
    from knowledge_base import crawl

    monkeypatch.setattr(crawl.time, "sleep", lambda seconds: None)  # the polite pause between requests
    base, _ = help_site
    result = invoke("kb", "crawl", base + "/help/", "--exclude", "/help/shipping/*")
    assert "3 pages fetched" in result.output and "disallowed by robots.txt" in result.output
    assert f"skipped {base}/help/shipping/: excluded by '/help/shipping/*'" in result.output
    assert "3 added" in result.output
    monkeypatch.setenv("CHATBOT_HANDOFF_CONFIDENCE", "0")
    answer = json.loads(invoke("ask", "--json", "How long do refunds take?").output)
    assert base + "/help/refunds.html" in {s["url"] for s in answer["sources"]}


def test_eval_sentiment_scores_a_labelled_file_and_writes_each_prediction(tiny_env, tmp_path):
    data = tmp_path / "feedback.csv"
    data.write_text("comment,stars\nGreat service,5\nNever again,1\nWhere is my parcel?,3\n,2\n", encoding="utf-8")
    out = tmp_path / "predictions.jsonl"
    result = invoke(
        "eval", "sentiment", "--data", str(data), "--text-column", "comment", "--label-column", "stars",
        "--label-map", "1=negative,2=negative,3=neutral,4=positive,5=positive", "--out", str(out),
    )  # fmt: skip
    report = json.loads(result.output)
    assert report["examples"] == 3 and 0 <= report["macro_f1"] <= 1 and set(report["confusion"]) == {
        "negative", "neutral", "positive"}  # fmt: skip
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["gold"] for r in rows] == ["positive", "negative", "neutral"] and all(r["label"] for r in rows)
