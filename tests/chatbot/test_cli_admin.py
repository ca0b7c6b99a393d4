"""`chatbot users`, `chatbot texts`, `chatbot conversations` (chatbot/cli_admin.py), through `CliRunner`."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from chatbot.cli import cli
from chatbot.errors import InputError
from chatbot.storage import SqlStore


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_users_can_be_added_listed_and_removed_with_a_prompted_password(settings):
    from click.testing import CliRunner

    from chatbot.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "maria", "--role", "staff"], input="a long secret\na long secret\n")
    assert result.exit_code == 0, result.output
    assert "maria" in runner.invoke(cli, ["users", "list"]).output
    with pytest.raises(InputError, match="at least 8"):
        runner.invoke(cli, ["users", "add", "ali", "--role", "staff", "--password", "short"], catch_exceptions=False)
    assert runner.invoke(cli, ["users", "remove", "maria"]).exit_code == 0
    assert "maria" not in runner.invoke(cli, ["users", "list"]).output


def test_texts_are_listed_reworded_and_reset(settings):
    listed = invoke("texts", "list").output
    assert "handoff (default): reply when the knowledge base does not answer" in listed
    assert "examples (default)" in listed and "(none)" in listed
    result = invoke("texts", "set", "handoff", "Un momento,", "le paso con una persona.")
    assert result.exit_code == 0 and "Un momento, le paso con una persona." in result.output
    invoke("texts", "set", "examples", "How do I renew my licence?", "Which documents do I need?")
    listed = invoke("texts", "list").output
    assert "handoff (reworded)" in listed and "    Un momento, le paso con una persona." in listed
    assert "    How do I renew my licence?\n    Which documents do I need?" in listed
    with pytest.raises(InputError, match="no text named 'greting'"):
        invoke("texts", "set", "greting", "Hola")
    assert "back to the default" in invoke("texts", "reset", "handoff").output
    assert "nothing to do" in invoke("texts", "reset", "handoff").output
    assert "handoff (default)" in invoke("texts", "list").output


def test_conversations_are_found_exported_deleted_and_purged_with_everything_they_hold(settings):
    store = SqlStore(settings.database_url)
    jane, old, other = store.create_conversation(), store.create_conversation(), store.create_conversation()
    store.add_message(jane, "user", "Hi, I am Jane.Doe@example.com and my parcel is late")
    store.add_message(jane, "assistant", "Sorry to hear that.")
    store.add_feedback(jane, -1, reason="too slow")
    store.add_message(old, "user", "Where is my order?")
    store.add_message(other, "user", "Do you ship to Norway?")
    with store.engine.begin() as conn:  # `old` was last active 100 days ago
        conn.exec_driver_sql(
            "UPDATE conversations SET updated_at = ? WHERE id = ?",
            (datetime.now(timezone.utc) - timedelta(days=100), old),
        )

    found = invoke("conversations", "find", "jane.doe@EXAMPLE.com")
    assert jane in found.output and other not in found.output
    out = settings.home / "jane.jsonl"
    assert "1 conversations written" in invoke("conversations", "export", "--out", str(out), "--id", jane).output
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [m["role"] for m in record["messages"]] == ["user", "assistant"]
    assert record["feedback"][0]["reason"] == "too slow" and record["last_active"]

    assert "deleted; 1 ids not found" in invoke("conversations", "delete", jane, "no-such-id").output
    assert "0 conversations deleted" in invoke("conversations", "delete", "--", "-older-id").output
    assert not store.conversation_exists(jane) and store.feedback() == []  # nothing of Jane is left
    assert "no conversation is older than 200 days" in invoke("conversations", "purge", "--older-than", "200").output
    assert "Aborted" in CliRunner().invoke(cli, ["conversations", "purge", "--older-than", "90"], input="n\n").output
    assert store.conversation_exists(old)
    assert "1 conversations deleted" in invoke("conversations", "purge", "--older-than", "90", "--yes").output
    assert not store.conversation_exists(old) and store.conversation_exists(other)
    bad = invoke("conversations", "export", "--out", str(out), "--since", "last week")
    assert bad.exit_code == 2 and "'last week' is not a date" in bad.output
