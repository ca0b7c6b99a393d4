from chatbot.types import Document
from knowledge_base.chunking import chunk_document, document_hash, split_sections, window_words


def test_split_sections_keeps_heading_path():
    text = "# Title\nintro\n## Returns\nreturn text\n### Damaged\ndamaged text\n## Refunds\nrefund text"
    assert split_sections(text) == [
        ("", "intro"),
        ("Returns", "return text"),
        ("Returns > Damaged", "damaged text"),
        ("Refunds", "refund text"),
    ]


def test_window_words_overlap_and_bounds():
    words = [str(i) for i in range(250)]
    windows = window_words(words, size=120, overlap=30)
    assert all(len(w) <= 120 for w in windows)
    assert windows[0][-30:] == windows[1][:30]
    assert windows[-1][-1] == "249"
    assert {w for window in windows for w in window} == set(words)


def test_short_tail_is_merged_not_left_alone():
    windows = window_words([str(i) for i in range(130)], size=120, overlap=30)
    assert len(windows) == 1 and len(windows[0]) == 130


def test_chunks_carry_title_heading_and_position():
    doc = Document("help/returns.md", "Returns", "# Returns\n## Damaged items\n" + "word " * 200)
    chunks = chunk_document(doc, size=120, overlap=30)
    assert len(chunks) == 2
    assert [c.position for c in chunks] == [0, 1]
    assert all(c.text.startswith("Returns > Damaged items\n") for c in chunks)
    assert all(c.source == "help/returns.md" and c.heading == "Damaged items" for c in chunks)
    assert len({c.chunk_id for c in chunks}) == 2


def test_faq_entry_is_one_chunk():
    doc = Document("faq.csv#1", "Do you ship abroad?", "No. " * 300, kind="faq")
    (chunk,) = chunk_document(doc)
    assert chunk.kind == "faq" and chunk.text.startswith("Do you ship abroad?\n")


def test_document_hash_changes_with_content_only():
    a = Document("a.md", "A", "text")
    assert document_hash(a) == document_hash(Document("a.md", "A", "text"))
    assert document_hash(a) != document_hash(Document("a.md", "A", "text!"))
