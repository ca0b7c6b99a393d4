import numpy as np
import pytest


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_every_dense_index_type_finds_the_nearest_vectors(kind):
    from knowledge_base.index import build_dense_index, dense_index_type

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = build_dense_index(vectors, kind)
    assert dense_index_type(index) == kind
    _, rows = index.search(vectors[:20], 1)
    assert (rows[:, 0] == np.arange(20)).mean() >= 0.9  # each vector is its own nearest neighbour


def test_auto_picks_exact_search_for_small_knowledge_bases_and_hnsw_beyond(monkeypatch):
    from knowledge_base import index as index_module

    vectors = np.eye(8, dtype=np.float32)
    assert index_module.dense_index_type(index_module.build_dense_index(vectors, "auto")) == "flat"
    monkeypatch.setattr(index_module, "FLAT_MAX_VECTORS", 4)
    assert index_module.dense_index_type(index_module.build_dense_index(vectors, "auto")) == "hnsw"
    with pytest.raises(ValueError, match="'annoy'"):
        index_module.build_dense_index(vectors, "annoy")


def test_the_requested_index_type_is_kept_by_later_ingests_and_removals(kb_dir, settings, fake_embedder):
    from knowledge_base.index import KnowledgeIndex
    from knowledge_base.ingest import ingest, remove

    ingest([kb_dir], embedder=fake_embedder, index_dir=settings.index_dir, dense_index="hnsw", progress=False)
    index = KnowledgeIndex.load(settings.index_dir)
    assert index.dense_type == "hnsw" and index.manifest.dense_index == "hnsw"
    query = index.vectors[0]
    assert index.search_dense(query, 1)[0][0] == 0
    remove([index.chunks[-1].source], index_dir=settings.index_dir)
    assert KnowledgeIndex.load(settings.index_dir).dense_type == "hnsw"
    report = ingest([kb_dir], embedder=fake_embedder, index_dir=settings.index_dir, dense_index="flat",
                    progress=False)  # fmt: skip
    assert report.chunks_embedded > 0 or KnowledgeIndex.load(settings.index_dir).dense_type == "flat"
    assert KnowledgeIndex.load(settings.index_dir).dense_type == "flat"


def test_building_and_loading_an_index_logs_nothing_below_the_applications_level(tmp_path):
    # bm25s sets DEBUG on its own logger when first imported: in a fresh process (as the CLI is), every ingest
    # printed "DEBUG bm25s: Building index from tokens" under a WARNING configuration.
    import subprocess
    import sys

    script = f"""
import logging
import numpy as np
logging.basicConfig(level=logging.WARNING)
from pathlib import Path
from chatbot.types import Chunk
from knowledge_base.index import KnowledgeIndex, Manifest
chunks = [Chunk(f"c{{i}}", "a.md", "A", f"refunds take {{i}} days", i) for i in range(3)]
index = KnowledgeIndex.build(Manifest("fake", 4, 120, 30), chunks, np.eye(3, 4, dtype=np.float32))
index.save(Path({str(tmp_path)!r}))
print(KnowledgeIndex.load(Path({str(tmp_path)!r})).search_bm25("refunds", 1))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert "DEBUG" not in done.stderr, done.stderr
    assert done.stdout.strip()  # the index was built, saved, loaded and searched


def test_faq_questions_come_once_each_in_ingest_order():
    from chatbot.types import Chunk
    from knowledge_base.index import KnowledgeIndex, Manifest

    chunks = [
        Chunk("a", "faq.csv#2", "Can I cancel?", "Yes, within an hour.", 0, kind="faq"),
        Chunk("b", "refunds.md", "Refunds", "Ten days.", 0),
        Chunk("c", "faq.csv#1", "Do you ship abroad?", "No. " * 50, 0, kind="faq"),
        Chunk("d", "faq.csv#1", "Do you ship abroad?", "No. " * 50, 1, kind="faq"),  # a long answer, two chunks
    ]
    index = KnowledgeIndex.build(Manifest("fake", 4, 120, 30), chunks, np.eye(4, 4, dtype=np.float32))
    assert index.faq_questions == ["Can I cancel?", "Do you ship abroad?"]


def test_keyword_search_hears_cant_as_cannot():
    from chatbot.types import Chunk
    from knowledge_base.index import KnowledgeIndex, Manifest

    chunks = [
        Chunk("a", "returns.md", "Returns", "Items that cannot be returned: gift cards and food.", 0),
        Chunk(
            "b", "returns.md", "Returns", "You can return most items. You can print a label. You can drop it off.", 1
        ),
        Chunk("c", "refunds.md", "Refunds", "Refunds take ten days.", 0),
    ]
    index = KnowledgeIndex.build(Manifest("fake", 4, 120, 30), chunks, np.eye(3, 4, dtype=np.float32))
    assert index.search_bm25("what can't be returned?", 1)[0][0] == 0
    assert index.search_bm25("what CAN’T be returned?", 1)[0][0] == 0  # any case, typographic apostrophe


def test_keyword_search_hears_two_words_as_the_one_the_knowledge_base_writes():
    from chatbot.types import Chunk
    from knowledge_base.index import KnowledgeIndex, Manifest

    chunks = [
        Chunk("a", "power.md", "Power", "Run shutdown before you unplug the machine.", 0),
        Chunk("b", "system.md", "System", "The system needs the right time zone.", 0),
        Chunk("c", "account.md", "Account", "Use the login page with your username.", 0),
    ]
    index = KnowledgeIndex.build(Manifest("fake", 4, 120, 30), chunks, np.eye(3, 4, dtype=np.float32))
    assert index.search_bm25("how do I shut down?", 1)[0][0] == 0
    assert index.search_bm25("where do I log in with my user name?", 1)[0][0] == 2
    assert index.search_bm25("wxyz", 1) == []  # no word of the knowledge base, joined or not


def test_the_words_typos_are_corrected_toward_are_counted_at_ingest_and_saved_with_the_snapshot(built_index):
    from knowledge_base.index import KnowledgeIndex, current_snapshot
    from knowledge_base.spelling import word_counts

    index = KnowledgeIndex.load(built_index)
    words = current_snapshot(built_index) / "words.json"
    assert words.exists()
    assert index._words == word_counts(c.text for c in index.chunks) and index._words["refunds"] >= 2
    assert index.speller.correct("refnuds by credti card") == "refunds by credit card"
    words.unlink()  # a snapshot written before the counts were saved: they are counted when first needed
    older = KnowledgeIndex.load(built_index)
    assert older._words is None and older.speller.correct("refnuds by credti card") == "refunds by credit card"
