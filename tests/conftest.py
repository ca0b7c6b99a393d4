"""Test set-up: offline hub, a private data directory per test, no network for unit tests, tiny models."""

import os

# Read once when huggingface_hub is imported (huggingface/transformers#42308): set before anything imports it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import socket  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.help_site import help_site  # noqa: E402, F401  (a fixture: a help center served on loopback)
from tests.tiny_models import build_tiny_causal_lm, build_tiny_sentence_transformer, seeded  # noqa: E402


def pytest_configure(config):
    # The CLI re-raises project errors under tests instead of turning them into one-line messages.
    sys._called_from_test = True


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the test process with pytest's exit status once everything is reported, without the interpreter's
    finalization.

    After every test had passed, that finalization aborted in 2 of the last 10 CI runs ("terminate called without an
    active exception", exit 134), most likely in native code: the Python threads left then are idle (the answer
    model's worker waiting on its queue, tqdm's monitor; benchmarks/RESULTS.md, thirtieth and thirty-first sessions).
    Which library aborts is not known. Every fixture has been torn down by now, and pytest has removed its lock and old
    temporary directories. `chatbot serve`'s own exit is tested as a real process (tests/ui/test_served_app.py).
    """
    status = config.stash.get(_EXIT_STATUS, None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


@pytest.fixture(autouse=True)
def chatbot_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data directory and no CHATBOT_* setting from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("CHATBOT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "chatbot-home"
    monkeypatch.setenv("CHATBOT_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def block_network(request, monkeypatch):
    """Unit tests may talk to this machine only; anything else is a bug (a download, a telemetry call)."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or "/" in host):
            return real_connect(sock, address)
        raise RuntimeError(f"network access in a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    """A random-weight 2-layer GPT-2 with a word-level tokenizer and a ChatML chat template, saved to disk."""
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_embedder_dir(tmp_path_factory) -> Path:
    """A random-weight 2-layer BERT saved as a sentence-transformers folder (16 dimensions)."""
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory, tiny_embedder_dir) -> Path:
    """A 3-label sentiment model folder (random head on the tiny BERT), as `TransformersSentimentClassifier` loads."""
    import json

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = tmp_path_factory.mktemp("tiny-sentiment")
    raw = tiny_embedder_dir.parent / "raw"
    with seeded():  # the head is initialised at random
        AutoModelForSequenceClassification.from_pretrained(raw, num_labels=3).save_pretrained(path)
    AutoTokenizer.from_pretrained(raw).save_pretrained(path)
    (path / "labels.json").write_text(json.dumps({"labels": ["negative", "neutral", "positive"]}))
    return path


KB_DIR = Path(__file__).parent / "data" / "kb"


@pytest.fixture
def kb_dir(tmp_path) -> Path:
    """A writable copy of the small test knowledge base (two articles and a one-question FAQ)."""
    import shutil

    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target


@pytest.fixture
def settings(chatbot_home):
    from chatbot.config import Settings

    return Settings.from_env()


@pytest.fixture
def fake_embedder():
    from tests.fakes import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture
def fake_generator():
    from tests.fakes import FakeGenerator

    return FakeGenerator()


@pytest.fixture
def built_index(kb_dir, settings, fake_embedder):
    """The test knowledge base ingested with the fake embedder into the test's data directory."""
    from knowledge_base.ingest import ingest

    ingest([kb_dir], embedder=fake_embedder, index_dir=settings.index_dir, progress=False)
    return settings.index_dir


@pytest.fixture
def fake_sentiment():
    from tests.fakes import FakeSentiment

    return FakeSentiment()


@pytest.fixture
def make_service(built_index, settings, fake_embedder, fake_generator, fake_sentiment):
    """Build the real assistant service with fake models and `Settings` overrides: real retrieval
    (FAISS + BM25 over the test knowledge base) and a real SQLite store."""
    from dataclasses import replace

    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.service import ChatService
    from chatbot.storage import SqlStore

    def make(**overrides):
        s = replace(settings, **overrides)
        retriever = HybridRetriever(IndexHandle(built_index), fake_embedder)
        store = SqlStore(s.database_url)
        return ChatService(retriever, fake_generator, fake_embedder, store, s, sentiment=fake_sentiment)

    return make


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for this test session (skips where none can run; see tests/postgres.py)."""
    from tests.postgres import TemporaryPostgres, why_unavailable

    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    server = TemporaryPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, chatbot_home) -> str:
    """The URL of a new, empty database: each test using it runs on SQLite and again on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{chatbot_home / 'chatbot.db'}"
    return request.getfixturevalue("postgres_server").new_database()
