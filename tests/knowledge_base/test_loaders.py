from knowledge_base import DEMO_KB_DIR
from knowledge_base.loaders import load_paths


def test_folder_recurses_and_sources_are_relative(kb_dir):
    (kb_dir / "sub").mkdir()
    (kb_dir / "sub" / "notes.txt").write_text("Opening hours are nine to five.", encoding="utf-8")
    result = load_paths([kb_dir])
    sources = {d.source for d in result.documents}
    assert {"kb/refunds.md", "kb/shipping.md", "kb/sub/notes.txt", "kb/faq.csv#1"} == sources
    assert not result.failures


def test_markdown_title_and_faq_rows(kb_dir):
    docs = {d.source: d for d in load_paths([kb_dir]).documents}
    assert docs["kb/refunds.md"].title == "Refunds"
    faq = docs["kb/faq.csv#1"]
    assert (faq.kind, faq.title, faq.text) == ("faq", "Do you ship outside Europe?", "No, we ship within Europe only.")


def test_bad_files_are_reported_and_the_rest_loaded(kb_dir):
    (kb_dir / "image.png").write_bytes(b"\x89PNG\r\n")
    (kb_dir / "broken.csv").write_text("title,body\nx,y\n", encoding="utf-8")
    (kb_dir / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    result = load_paths([kb_dir, kb_dir / "missing.md"])
    assert set(result.failures) == {"kb/image.png", "kb/broken.csv", "kb/latin1.md", str(kb_dir / "missing.md")}
    assert "unsupported file type '.png'" in result.failures["kb/image.png"]
    assert "question and an answer column" in result.failures["kb/broken.csv"]
    assert len(result.documents) == 3


def test_demo_knowledge_base_is_a_realistic_help_center():
    result = load_paths([DEMO_KB_DIR])
    articles = [d for d in result.documents if d.kind == "article"]
    faq = [d for d in result.documents if d.kind == "faq"]
    assert not result.failures
    assert len(articles) >= 25 and len(faq) >= 10
    titles = " ".join(d.title.lower() for d in articles)
    for topic in ["order", "shipping", "return", "refund", "payment", "account", "privacy", "warranty", "contact"]:
        assert topic in titles, topic
