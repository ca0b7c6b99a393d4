from chatbot.types import Document
from knowledge_base.chunking import (
    chunk_document,
    code_lines,
    document_hash,
    ends_clause,
    ends_sentence,
    join_words,
    line_words,
    sentence_units,
    sentence_windows,
    split_sections,
    unwrap_lines,
    window_words,
    wrap_width,
)


def test_split_sections_keeps_heading_path():
    text = "# Title\nintro\n## Returns\nreturn text\n### Damaged\ndamaged text\n## Refunds\nrefund text"
    assert split_sections(text) == [
        ("", "intro"),
        ("Returns", "return text"),
        ("Returns > Damaged", "damaged text"),
        ("Refunds", "refund text"),
    ]


def test_lines_of_fenced_code_are_neither_headings_nor_wrapped_sentences():
    text = (
        "# Building\nInstall the tools first:\n```bash\n# apt-get build-dep foo\ncd foo\n~~~\nmake\n```\n"
        "then run the tests.\n## Testing\nRun make check."
    )
    lines = text.splitlines()
    assert code_lines(lines) == [False, False, True, True, True, True, True, True, False, False, False]
    # "~~~" does not close a block opened with backticks; "# apt-get" is a root prompt, not a heading.
    assert split_sections(text) == [
        (
            "",
            "Install the tools first:\n```bash\n# apt-get build-dep foo\ncd foo\n~~~\nmake\n```\nthen run the tests.",
        ),
        ("Testing", "Run make check."),
    ]
    # Lower-case lines go on the sentence before them, except in code and right after it.
    assert unwrap_lines("Run the\nbuild:\n```\nmkdir out\ncd out\n```\nthen wait.") == (
        "Run the build:\n```\nmkdir out\ncd out\n```\nthen wait."
    )
    assert code_lines(["````", "```", "still code", "````", "text"]) == [True, True, True, True, False]
    assert code_lines(["```", "never closed"]) == [True, True]


def test_a_passage_keeps_the_indentation_of_fenced_code():
    text = (
        "# Hooks\n## Writing a hook\nA hook is a Python function:\n```python\ndef on_order(order):\n"
        "    if order.total > 100:\n        order.ship_free()\n```\nIt runs  after   payment."
    )
    (chunk,) = chunk_document(Document(source="hooks.md", title="Hooks", text=text))
    assert chunk.text == (
        "Hooks > Writing a hook\nA hook is a Python function:\n```python\ndef on_order(order):\n"
        "    if order.total > 100:\n        order.ship_free()\n```\nIt runs after payment."
    )


def test_a_code_block_is_one_unit_and_a_long_one_is_cut_between_lines_in_fences_of_its_own():
    text = "Run this first:\n```sh\nmake clean\nmake all\n```\nThen wait. It takes long."
    assert [join_words(unit) for unit in sentence_units(line_words(text))] == [
        "Run this first:", "```sh\nmake clean\nmake all\n```", "Then wait.", "It takes long.",
    ]  # fmt: skip
    script = "\n".join(f"echo step {i} of the long install script" for i in range(40))
    windows = [join_words(w) for w in sentence_windows(line_words(f"Run:\n```sh\n{script}\n```\nDone now."), 120, 30)]
    assert len(windows) == 3
    assert all(w.count("```") == 2 for w in windows)  # each piece opens and closes its fence
    assert windows[0].startswith("Run:\n```sh\necho step 0 ") and windows[-1].endswith("```\nDone now.")
    lines = [line for w in windows for line in w.splitlines() if line.startswith("echo")]
    assert lines == script.splitlines()  # every line once, none cut


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


def test_sentences_end_at_a_full_stop_before_a_capital_and_at_the_end_of_a_line():
    words = line_words('Refunds take 5 days. U.S. cards take longer. "Really?" Yes. Call us.\n1. Item one\n- Item two')
    assert [" ".join(w.strip() for w in unit) for unit in sentence_units(words)] == [
        "Refunds take 5 days.",
        "U.S. cards take longer.",
        '"Really?" Yes.',
        "Call us.",
        "1. Item one",
        "- Item two",
    ]
    german = line_words("Die Rückgabe ist kostenlos. Über 30 Tage gilt sie nicht. «Gut.» Ende.")
    assert [len(unit) for unit in sentence_units(german)] == [4, 6, 1 + 1]


def test_an_abbreviation_ends_no_sentence_before_the_name_it_belongs_to():
    text = (
        "Get help from the U.S. Department of Labor. Call 8 a.m. to 9 p.m. ET. Write to P.O. Box 12, St. Louis. "
        "Dr. Smith reads Form No. 2 in the U.S. You get an answer. No. 2 is short. Bring chairs, tables, etc. They fit."
    )
    assert [join_words(unit) for unit in sentence_units(line_words(text))] == [
        "Get help from the U.S. Department of Labor.",
        "Call 8 a.m. to 9 p.m. ET.",
        "Write to P.O. Box 12, St. Louis.",
        "Dr. Smith reads Form No. 2 in the U.S.",
        "You get an answer.",
        "No. 2 is short.",
        "Bring chairs, tables, etc.",
        "They fit.",
    ]


def sentence(number, length):
    return f"Sentence{number} " + "word " * (length - 2) + "end."


def test_windows_hold_whole_sentences_and_repeat_the_last_ones_that_fit_the_overlap():
    text = " ".join(sentence(i, 20) for i in range(15))  # 300 words
    windows = [join_words(window) for window in sentence_windows(line_words(text), size=120, overlap=30)]
    assert all(w.startswith("Sentence") and w.endswith("end.") for w in windows)
    assert all(len(w.split()) <= 120 for w in windows)
    # 6 sentences of 20 words per window; the next starts with the last one (20 of the 30 overlap words).
    assert [w.split()[0] for w in windows] == ["Sentence0", "Sentence5", "Sentence10"]
    assert {f"Sentence{i}" for i in range(15)} <= set(" ".join(windows).split())


def test_a_sentence_longer_than_a_window_is_cut_by_words():
    words = line_words(sentence(0, 10) + " " + sentence(1, 300) + " " + sentence(2, 10))
    windows = sentence_windows(words, size=120, overlap=30)
    assert all(len(w) <= 120 + 60 for w in windows)  # a short last piece joins the window before
    assert {w for window in windows for w in window} == set(words)
    assert join_words(windows[-1]).endswith("end.")


def test_a_short_last_window_is_merged_into_the_one_before():
    text = " ".join(sentence(i, 20) for i in range(7))  # 140 words: the second window would add 20
    (window,) = sentence_windows(line_words(text), size=120, overlap=30)
    assert len(window) == 140


def test_chunks_carry_title_heading_and_position():
    doc = Document("help/returns.md", "Returns", "# Returns\n## Damaged items\n" + "word " * 200)
    chunks = chunk_document(doc, size=120, overlap=30)
    assert len(chunks) == 2
    assert [c.position for c in chunks] == [0, 1]
    assert all(c.text.startswith("Returns > Damaged items\n") for c in chunks)
    assert all(c.source == "help/returns.md" and c.heading == "Damaged items" for c in chunks)
    assert len({c.chunk_id for c in chunks}) == 2


def test_chunks_keep_the_lines_of_lists_and_tables():
    text = "# Contact\n## How to reach us\nYou can reach us:\n- **Phone**: +31 20 555 0199\n\n- **Chat**: any time\n| a | b |"
    (chunk,) = chunk_document(Document("contact.md", "Contact", text))
    assert chunk.text == (
        "Contact > How to reach us\nYou can reach us:\n- **Phone**: +31 20 555 0199\n- **Chat**: any time\n| a | b |"
    )
    long_list = "Steps:\n" + "".join(f"{i}. do step number {i} of the many steps here\n" for i in range(1, 40))
    chunks = chunk_document(Document("steps.md", "Steps", long_list), size=120, overlap=30)
    assert len(chunks) > 1
    # Windows start and end mid-line at worst; every line break inside a window is kept.
    assert all(line.strip() for c in chunks for line in c.text.splitlines())
    assert sum(c.text.count("\n") for c in chunks) >= 39


def test_wrapped_sentences_are_joined_but_lists_and_titles_stay_lines():
    wrapped = (
        "Refunds reach your card within\n5 to 10 business days, once we have\nchecked the items.\n"
        "Opening hours\nWe answer Monday to Friday.\n- Take photos of the box\n  and the items\n2. Send them"
    )
    (chunk,) = chunk_document(Document("refunds.pdf", "Refunds", wrapped))
    assert chunk.text.split("\n")[1:] == [
        "Refunds reach your card within 5 to 10 business days, once we have checked the items.",
        "Opening hours",
        "We answer Monday to Friday.",
        "- Take photos of the box and the items",
        "2. Send them",
    ]


def test_a_hard_wrapped_text_joins_lines_cut_at_its_width_whatever_the_next_line_starts_with():
    # A text export wrapped at 60 characters: "Debian packages, ..." goes on the sentence before it.
    paragraph = [
        "Several free implementations of Java technology are sold as",
        "Debian packages, providing both Java Development Kits and the",
        "Runtime Environments. You can write, debug and run Java code",
        "using Debian.",
    ]
    others = [f"Line number {i} of another paragraph that is also wrapped here." for i in range(8)]
    text = "\n".join(["5.7. (How) Does Debian support Java?", "", *paragraph, "", *others, "", "Short title", "Body."])
    assert wrap_width(text) == 61 and wrap_width("## Returns\n" + "A line that is not wrapped at all. " * 20) is None
    (chunk,) = chunk_document(Document("faq.txt", "FAQ", text))
    lines = chunk.text.split("\n")[1:]
    assert lines[:2] == ["5.7. (How) Does Debian support Java?", " ".join(paragraph)]
    assert lines[-2:] == ["Short title", "Body."]  # a short line is not wrapped: it stays a line


def test_faq_entry_is_one_chunk():
    doc = Document("faq.csv#1", "Do you ship abroad?", "No. " * 300, kind="faq")
    (chunk,) = chunk_document(doc)
    assert chunk.kind == "faq" and chunk.text.startswith("Do you ship abroad?\n")


def test_a_sentence_ends_at_its_stop_and_a_clause_also_at_a_colon_or_semicolon():
    for text in ["Refunds take 5 days.", "Is it free?", "(... in all 50 states.)", 'He said "now!"']:
        assert ends_sentence(text) and ends_clause(text)
    for text in ["Bring the following:", "cards; PayPal;", "Choose one of:)"]:
        assert ends_clause(text) and not ends_sentence(text)
    for text in ["Refunds take 5", "see www.example.com/", "3.5 kg", ""]:
        assert not ends_clause(text)


def test_document_hash_changes_with_content_only():
    import hashlib

    a = Document("a.md", "A", "text")
    assert document_hash(a) == document_hash(Document("a.md", "A", "text"))
    assert document_hash(a) != document_hash(Document("a.md", "A", "text!"))
    linked = Document("a.md", "A", "text", url="https://help.example.com/a")
    assert document_hash(linked) != document_hash(a)  # a new address is re-ingested, and reaches the chunks
    assert {c.url for c in chunk_document(linked)} == {"https://help.example.com/a"}
    # Articles chunked by an earlier version are chunked again (lists now keep their lines); FAQ entries, one
    # chunk each as before, keep their hash: re-ingesting them costs nothing.
    assert document_hash(a) != hashlib.sha256(b"article\x00A\x00text").hexdigest()
    assert document_hash(Document("f.csv#1", "Q?", "A.", kind="faq")) == hashlib.sha256(b"faq\x00Q?\x00A.").hexdigest()


def test_chunks_over_the_embedders_token_limit_are_split_so_nothing_is_cut_off():
    from knowledge_base.chunking import chunk_document

    def count(texts):  # a tokenizer that splits numbers digit by digit, like WordPiece on long ids
        return [sum(len(w) if w.isdigit() else 1 for w in t.split()) + 2 for t in texts]

    text = " ".join(["order 1234567890"] * 30)  # 60 words, 330 "tokens"
    doc = Document(source="ids.md", title="Ids", text=text)
    chunks = chunk_document(doc, size=120, overlap=30, max_tokens=64, count_tokens=count)
    assert len(chunks) > 1
    assert all(count([c.text])[0] <= 64 for c in chunks)
    assert sum(c.text.count("1234567890") for c in chunks) == 30  # every word kept, none twice
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunk_document(doc, size=120, overlap=30) == chunk_document(doc, size=120, overlap=30, max_tokens=1000,
                                                                         count_tokens=count)  # fmt: skip


def test_a_chunk_over_the_token_limit_is_split_between_sentences_and_between_lines_of_code():
    def count(texts):  # every character of a long id is a token
        return [sum(len(w) if len(w) > 8 else 1 for w in t.split()) for t in texts]

    ids = "\n".join(f"pkg install {i:03d}-a1b2c3d4e5f6" for i in range(6))
    text = f"Each package has a long id. Install them in this order:\n```sh\n{ids}\n```\nThen restart the shop."
    chunks = chunk_document(Document(source="ids.md", title="Ids", text=text), max_tokens=60, count_tokens=count)
    assert all(count([c.text])[0] <= 60 for c in chunks)
    bodies = [c.text.partition("\n")[2] for c in chunks]
    code = [b for b in bodies if "pkg" in b]
    assert len(code) > 1 and all(b.startswith("```sh\n") and b.endswith("\n```") for b in code)  # each fenced
    prose = [b for b in bodies if b not in code]  # cut between sentences, not inside one
    assert prose == ["Each package has a long id.", "Install them in this order:", "Then restart the shop."]
    assert [line for b in bodies for line in b.splitlines() if line.startswith("pkg")] == ids.splitlines()


def test_the_real_embedder_counts_tokens_with_its_own_tokenizer(tiny_embedder_dir):
    from knowledge_base.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(str(tiny_embedder_dir), device="cpu")
    short, longer = embedder.count_tokens(["how long do refunds take", "how long do refunds take to arrive"])
    assert short >= 5 and longer > short  # one token per known word (plus special tokens when the model adds them)
    assert embedder.max_tokens() > 0


def test_the_start_of_a_list_comes_from_the_window_before():
    from knowledge_base.chunking import continues_a_list, with_list_start

    before = (
        "Hello.\nTo cancel, follow these steps:\n1. Log in to your account.\n2. Open the Orders page.\n3. Pick the"
    )
    body = "2. Open the Orders page.\n3. Pick the order you want.\n4. Click Cancel.\nThat is all."
    assert continues_a_list(body) and continues_a_list("the order.\n4. Click Cancel.")
    assert not continues_a_list("1. Log in.\n2. Open Orders.") and not continues_a_list("Plain text.\nMore text.")
    assert with_list_start(before, body) == (
        "To cancel, follow these steps:\n1. Log in to your account.\n2. Open the Orders page.\n"
        "3. Pick the order you want.\n4. Click Cancel.\nThat is all."
    )
    assert with_list_start("No list in the window before.", body) == body
