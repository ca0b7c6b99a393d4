import json

import numpy as np
import pytest

from chatbot.errors import IndexNotBuiltError
from knowledge_base.index import CURRENT, KnowledgeIndex
from knowledge_base.ingest import ingest
from tests.fakes import FakeEmbedder


def run(paths, index_dir, embedder, **kwargs):
    return ingest(paths, embedder=embedder, index_dir=index_dir, progress=False, **kwargs)


def test_first_ingest_builds_a_loadable_index(kb_dir, tmp_path, fake_embedder):
    report = run([kb_dir], tmp_path / "index", fake_embedder)
    assert sorted(report.added) == ["kb/faq.csv#1", "kb/refunds.md", "kb/shipping.md"]
    index = KnowledgeIndex.load(tmp_path / "index")
    assert len(index) == report.chunks_total == 4
    assert index.manifest.embedder == "fake-embedder" and index.manifest.dimension == 64
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, rtol=1e-5)


def test_reingest_unchanged_embeds_nothing_and_keeps_snapshot(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    snapshot = (tmp_path / "index" / CURRENT).read_text()
    fake_embedder.calls.clear()
    report = run([kb_dir], tmp_path / "index", fake_embedder)
    assert report.chunks_embedded == 0 and len(report.unchanged) == 3
    assert all(len(call) == 1 for call in fake_embedder.calls)  # only the dimension probe, no chunks
    assert (tmp_path / "index" / CURRENT).read_text() == snapshot


def test_changed_added_and_deleted_documents(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    (kb_dir / "shipping.md").write_text("# Shipping\nDelivery is free.", encoding="utf-8")
    (kb_dir / "refunds.md").unlink()
    (kb_dir / "warranty.md").write_text("# Warranty\nTwo years.", encoding="utf-8")
    report = run([kb_dir], tmp_path / "index", fake_embedder)
    assert report.updated == ["kb/shipping.md"]
    assert report.added == ["kb/warranty.md"]
    assert report.removed == ["kb/refunds.md"]
    assert report.chunks_embedded == 2
    index = KnowledgeIndex.load(tmp_path / "index")
    assert {c.source for c in index.chunks} == {"kb/shipping.md", "kb/warranty.md", "kb/faq.csv#1"}
    # Kept and new vectors still belong to their chunks.
    np.testing.assert_allclose(index.vectors, fake_embedder.embed([c.text for c in index.chunks]), atol=1e-5)


def test_a_file_that_fails_to_load_keeps_its_old_documents(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    (kb_dir / "faq.csv").write_text("nothing useful\n", encoding="utf-8")
    report = run([kb_dir], tmp_path / "index", fake_embedder)
    assert "kb/faq.csv" in report.failures and not report.removed
    assert "kb/faq.csv#1" in {c.source for c in KnowledgeIndex.load(tmp_path / "index").chunks}


def test_ingesting_another_folder_keeps_the_first(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    other = tmp_path / "policies"
    other.mkdir()
    (other / "privacy.md").write_text("# Privacy\nWe never sell data.", encoding="utf-8")
    report = run([other], tmp_path / "index", fake_embedder)
    assert report.added == ["policies/privacy.md"] and not report.removed
    assert report.documents_total == 4


def test_another_embedder_is_refused_with_a_clear_message(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    before = (tmp_path / "index" / CURRENT).read_text()
    with pytest.raises(IndexNotBuiltError, match="fake-embedder.*other-model.*--rebuild"):
        run([kb_dir], tmp_path / "index", FakeEmbedder(dimension=32, name="other-model"))
    assert (tmp_path / "index" / CURRENT).read_text() == before
    report = run([kb_dir], tmp_path / "index", FakeEmbedder(dimension=32, name="other-model"), rebuild=True)
    assert report.chunks_embedded == 4


def test_an_unfinished_snapshot_is_never_loaded(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    # A crash mid-save leaves a temporary folder behind; CURRENT still names the complete snapshot.
    (tmp_path / "index" / ".tmp-snapshot-crashed").mkdir()
    index = KnowledgeIndex.load(tmp_path / "index")
    assert len(index) == 4
    manifest = json.loads(
        (tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text() / "manifest.json").read_text()
    )
    assert set(manifest["documents"]) == {"kb/faq.csv#1", "kb/refunds.md", "kb/shipping.md"}


def test_loading_without_an_index_says_what_to_do(tmp_path):
    with pytest.raises(IndexNotBuiltError, match="chatbot kb ingest"):
        KnowledgeIndex.load(tmp_path / "nothing")


def test_remove_a_file_or_a_folder(kb_dir, tmp_path, fake_embedder):
    from chatbot.errors import InputError
    from knowledge_base.ingest import remove

    run([kb_dir], tmp_path / "index", fake_embedder)
    assert remove(["kb/faq.csv"], index_dir=tmp_path / "index") == ["kb/faq.csv#1"]
    index = KnowledgeIndex.load(tmp_path / "index")
    assert {c.source for c in index.chunks} == {"kb/refunds.md", "kb/shipping.md"}
    before = (tmp_path / "index" / CURRENT).read_text()
    with pytest.raises(InputError, match="'kb/nothing.md'"):
        remove(["kb/refunds.md", "kb/nothing.md"], index_dir=tmp_path / "index")
    assert (tmp_path / "index" / CURRENT).read_text() == before  # nothing removed
    assert sorted(remove(["kb"], index_dir=tmp_path / "index")) == ["kb/refunds.md", "kb/shipping.md"]
    assert len(KnowledgeIndex.load(tmp_path / "index")) == 0
    report = run([kb_dir], tmp_path / "index", fake_embedder)  # an emptied index can be filled again
    assert report.documents_total == 3


def test_ingest_measures_how_close_off_topic_requests_come_to_the_knowledge_base(kb_dir, tmp_path, fake_embedder):
    from dataclasses import replace

    from knowledge_base.ingest import OFFTOPIC_REQUESTS

    run([kb_dir], tmp_path / "index", fake_embedder)
    index = KnowledgeIndex.load(tmp_path / "index")
    requests = [line for line in OFFTOPIC_REQUESTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(requests) >= 100
    expected = float((index.vectors @ fake_embedder.embed(requests).T).max())
    assert index.manifest.offtopic_ceiling == pytest.approx(expected, abs=1e-4)

    # An index built before the ceiling was measured gets it at the next ingest, without re-embedding a chunk.
    KnowledgeIndex.build(replace(index.manifest, offtopic_ceiling=None), index.chunks, index.vectors).save(
        tmp_path / "index"
    )
    assert KnowledgeIndex.load(tmp_path / "index").manifest.offtopic_ceiling is None
    report = run([kb_dir], tmp_path / "index", fake_embedder)
    assert report.chunks_embedded == 0
    assert KnowledgeIndex.load(tmp_path / "index").manifest.offtopic_ceiling == pytest.approx(expected, abs=1e-4)


def test_a_page_address_added_later_reaches_the_chunks_and_old_indexes_still_load(kb_dir, tmp_path, fake_embedder):
    run([kb_dir], tmp_path / "index", fake_embedder)
    snapshot = tmp_path / "index" / (tmp_path / "index" / CURRENT).read_text().strip()
    lines = (snapshot / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [{k: v for k, v in json.loads(line).items() if k != "url"} for line in lines]  # as written before urls
    (snapshot / "chunks.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert {c.url for c in KnowledgeIndex.load(tmp_path / "index").chunks} == {""}

    refunds = kb_dir / "refunds.md"
    refunds.write_text("---\nurl: https://help.example.com/refunds\n---\n" + refunds.read_text(), encoding="utf-8")
    report = run([kb_dir], tmp_path / "index", fake_embedder)
    assert report.updated == ["kb/refunds.md"] and len(report.unchanged) == 2
    urls = {c.source: c.url for c in KnowledgeIndex.load(tmp_path / "index").chunks}
    assert urls == {"kb/refunds.md": "https://help.example.com/refunds", "kb/shipping.md": "", "kb/faq.csv#1": ""}


def test_a_page_that_repeats_the_others_is_reported(tmp_path, fake_embedder):
    pages = {
        name: "".join(f"The {name} rule number {i} applies to every order we ship. " for i in range(1, 6))
        for name in ("returns", "refunds", "delivery", "warranty")
    }
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in pages.items():
        (kb / f"{name}.md").write_text(f"# {name.title()}\n{text}", encoding="utf-8")
    (kb / "faq.csv").write_text("question,answer\nDo you ship abroad?,Yes.\n", encoding="utf-8")
    # A copy of one page is not a print page: each holds only the other.
    (kb / "returns-copy.md").write_text(f"# Returns\n{pages['returns']}", encoding="utf-8")
    assert run([kb], tmp_path / "index", fake_embedder).repeats == {}
    combined = "\n".join(f"## {name.title()}\n{text}" for name, text in pages.items())
    (kb / "print.md").write_text(f"# All articles\n{combined}", encoding="utf-8")
    report = run([kb], tmp_path / "index", fake_embedder)
    repeated = ["kb/delivery.md", "kb/refunds.md", "kb/returns-copy.md", "kb/returns.md", "kb/warranty.md"]
    assert report.repeats == {"kb/print.md": repeated}
    (note,) = report.repeat_notes()
    assert note.startswith("kb/print.md repeats the text of 5 other documents (kb/delivery.md, kb/refunds.md, "
                           "kb/returns-copy.md and 2 more). If it is a print or all-in-one page, remove it")  # fmt: skip
