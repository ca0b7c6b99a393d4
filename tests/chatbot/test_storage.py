import pytest

from chatbot.errors import StoreError
from chatbot.storage import SqlStore
from chatbot.types import Answer, Chunk, Decision, Passage, Sentiment


@pytest.fixture
def store(database_url):
    return SqlStore(database_url)


def test_conversation_ids_are_unguessable(store):
    ids = {store.create_conversation() for _ in range(300)}  # 1 token in 64 starts with "-": redrawn, not cut
    assert len(ids) == 300 and all(len(i) == 24 and not i.startswith("-") for i in ids)


def test_messages_round_trip_with_sources_and_latency(store, tmp_path):
    cid = store.create_conversation()
    store.add_message(cid, "user", "How long do refunds take?")
    chunk = Chunk("c1", "kb/refunds.md", "Refunds", "Refunds take 5 days.", 0, url="https://help.example.com/r")
    answer = Answer(
        "5 days [1].",
        Decision.GENERATED,
        0.8,
        [Passage(chunk, 0.03, 0.8)],
        model_version="m1",
        latency_ms={"total": 12.5},
    )
    store.add_message(cid, "assistant", answer.text, answer)

    reopened = SqlStore(store.engine.url.render_as_string(hide_password=False))  # survives a restart
    user, bot = reopened.messages(cid)
    assert (user.role, user.text, user.sources) == ("user", "How long do refunds take?", [])
    assert (bot.decision, bot.confidence, bot.model_version, bot.latency_ms) == (
        "generated",
        0.8,
        "m1",
        {"total": 12.5},
    )
    assert bot.sources[0]["source"] == "kb/refunds.md" and bot.sources[0]["text"] == "Refunds take 5 days."
    assert bot.sources[0]["url"] == "https://help.example.com/r"  # staff see the page the customer was sent to
    assert reopened.history(cid, 1)[0].content == "5 days [1]."


def test_history_is_the_last_messages_oldest_first(store):
    cid = store.create_conversation()
    for n in range(5):
        store.add_message(cid, "user", f"question {n}", sentiment=Sentiment("negative", 0.9) if n == 3 else None)
        store.add_message(cid, "assistant", f"answer {n}")
    turns = store.history(cid, 3)
    assert [(t.role, t.content) for t in turns] == [
        ("assistant", "answer 3"),
        ("user", "question 4"),
        ("assistant", "answer 4"),
    ]
    assert store.history(cid, 4)[0].sentiment == Sentiment("negative", 0.9)
    assert len(store.history(cid, 100)) == 10 and store.history(cid, 0) == []


def test_conversation_ids_never_start_with_a_dash(store, monkeypatch):
    import secrets

    tokens = iter(["-U96LFo9-P-tBapNuZU57XM2", "-x1VbQ0c4sHq9yN3mZpLr8wT", "Kq2VbQ0c4sHq9yN3mZpLr8w-"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(tokens))
    assert store.create_conversation() == "Kq2VbQ0c4sHq9yN3mZpLr8w-"  # a command line would read "-U..." as an option


def test_conversations_do_not_share_messages(store):
    a, b = store.create_conversation(), store.create_conversation()
    store.add_message(a, "user", "secret order LK-12345678")
    assert store.messages(b) == [] and store.history(b, 10) == []


def test_unknown_conversation_is_an_error(store):
    with pytest.raises(StoreError, match="no conversation with id 'nope'"):
        store.add_message("nope", "user", "hi")


def test_handoff_status(store):
    cid = store.create_conversation()
    assert store.status(cid) == "bot"
    store.mark_needs_human(cid, "handoff_requested")
    assert store.status(cid) == "needs_human"
    assert store.handling(cid) == ("needs_human", "")
    store.set_status(cid, "staff", assigned_to="maria")
    assert store.handling(cid) == ("staff", "maria")
    assert store.handling("nope") is None


def test_migrations_run_once(store):
    assert store.migrate() == []
    assert store.count_conversations() == 0


def test_a_database_from_before_sentiment_is_upgraded_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE _migrations (name VARCHAR(100) PRIMARY KEY, applied_at DATETIME);
        INSERT INTO _migrations VALUES ('m001_conversations_messages', '2026-11-01'), ('m002_model_versions', '2026-11-01');
        CREATE TABLE conversations (id VARCHAR(64) PRIMARY KEY, created_at DATETIME, updated_at DATETIME,
            status VARCHAR(32), handoff_reason VARCHAR(64));
        CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id VARCHAR(64), created_at DATETIME,
            role VARCHAR(16), text TEXT, decision VARCHAR(64), confidence FLOAT, sources JSON, model_version VARCHAR(200),
            latency_ms JSON);
        INSERT INTO conversations VALUES ('c1', '2026-11-01', '2026-11-01', 'bot', '');
        INSERT INTO messages (conversation_id, created_at, role, text, decision, sources, model_version, latency_ms)
            VALUES ('c1', '2026-11-01', 'user', 'old question', '', '[]', '', '{}');
        """
    )
    old.commit()
    old.close()
    store = SqlStore(f"sqlite:///{path}")
    (message,) = store.messages("c1")
    assert message.text == "old question" and message.sentiment is None  # nothing lost
    assert store.flag_reason("c1") == ""
    store.flag("c1", "negative_sentiment")
    assert store.flag_reason("c1") == "negative_sentiment"
    assert store.migrate() == []


def _open_store(url: str) -> int:
    return len(SqlStore(url).migrate())  # the constructor migrates; this must then find nothing left to do


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_opening_a_new_database_at_once_each_get_a_working_store(kind, tmp_path, request):
    # What `torchrun --nproc_per_node N -m finetune.train` (and replicas starting together) do on a fresh home:
    # every process opens the database; the migrations must run once, not fail in the processes that lose the race.
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'race{attempt}.db'}"
        else:
            url = request.getfixturevalue("postgres_server").new_database()
        with context.Pool(4) as pool:
            assert pool.map(_open_store, [url] * 4) == [0, 0, 0, 0]
        assert SqlStore(url).migrate() == []


def test_bot_texts_are_reworded_and_reset_without_touching_the_others(store):
    from chatbot.bot_texts import DEFAULT_TEXTS

    assert store.set_bot_text("handoff", "  Un momento, le paso con una persona. ", user="omar") == (
        "Un momento, le paso con una persona."
    )
    store.set_bot_text("handoff", "Einen Moment bitte.", user="omar")  # a second rewording replaces the first
    store.set_bot_text("greeting", "Hallo!", user="omar")
    texts = store.bot_texts()
    assert texts["handoff"] == "Einen Moment bitte." and texts["greeting"] == "Hallo!"
    assert texts["thanks"] == DEFAULT_TEXTS["thanks"]
    assert store.reset_bot_text("handoff") is True and store.reset_bot_text("handoff") is False
    assert store.bot_texts()["handoff"] == DEFAULT_TEXTS["handoff"] and store.bot_texts()["greeting"] == "Hallo!"


def test_bad_bot_text_is_refused_and_the_stored_one_kept(store):
    from chatbot.errors import InputError

    store.set_bot_text("handoff", "Einen Moment bitte.", user="omar")
    with pytest.raises(InputError, match="empty"):
        store.set_bot_text("handoff", " ", user="omar")
    with pytest.raises(InputError, match="no text named 'nope'"):
        store.reset_bot_text("nope")
    assert store.bot_texts()["handoff"] == "Einen Moment bitte."


def test_deleting_a_conversation_takes_everything_it_holds_and_nothing_else(store):
    chunk = Chunk("c1", "kb/refunds.md", "Refunds", "Refunds take 5 days.", 0)
    keep, gone = store.create_conversation(), store.create_conversation()
    for cid in (keep, gone):
        store.add_message(cid, "user", f"My e-mail is Someone@Example.com, conversation {cid[:4]}")
        store.add_draft(cid, Answer("5 days [1].", Decision.EXTRACTED, 0.5, [Passage(chunk, 0.1, 0.5)]))
        store.add_feedback(cid, -1, reason="slow")
    assert set(store.conversation_ids(containing="someone@example")) == {keep, gone}  # any case
    assert store.conversation_ids(containing="some%@example") == []  # the text itself, not a LIKE pattern
    assert store.delete_conversations([gone, "missing"]) == 1
    assert store.conversation_ids() == [keep] and len(store.drafts()) == 1 and len(store.feedback()) == 1
    assert store.messages(gone) == [] and len(store.messages(keep)) == 1
