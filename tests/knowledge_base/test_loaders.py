import pytest

from chatbot.errors import InputError
from knowledge_base import DEMO_KB_DIR
from knowledge_base.chunking import chunk_document, split_sections
from knowledge_base.loaders import load_paths
from tests.docx_files import write_numbered_by_hand_docx, write_shipping_docx
from tests.pdfs import write_pdf


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


def test_a_comment_in_code_is_not_the_title(tmp_path):
    (tmp_path / "setup.md").write_text("```bash\n# install the client\npip install acme\n```\n# Setting up\nRun it.")
    (tmp_path / "shell.html").write_text(
        "<html><body><pre># apt-get install acme</pre><p>Then log in.</p></body></html>"
    )
    docs = {d.source.rsplit("/", 1)[-1]: d for d in load_paths([tmp_path]).documents}
    assert docs["setup.md"].title == "Setting up"
    assert docs["shell.html"].title == "Shell"  # no <title>, no heading: the file's name


def test_a_preformatted_block_that_shows_markdown_fences_stays_one_block(tmp_path):
    (tmp_path / "docs.html").write_text(
        "<html><body><h1>Writing help pages</h1><pre>Put code in fences:\n```\n# make\n```</pre>"
        "<h2>Links</h2><p>Link every page.</p></body></html>"
    )
    from knowledge_base.chunking import split_sections

    (doc,) = load_paths([tmp_path]).documents
    assert "````\nPut code in fences:\n```\n# make\n```\n````" in doc.text
    # "# make" is no heading, and the text after the block is not code.
    assert [heading for heading, _ in split_sections(doc.text)] == ["", "Links"]


def test_code_on_a_web_page_keeps_its_indentation_and_empty_lines(tmp_path):
    # As Sphinx highlights it: spans per token, the indentation in the text between them.
    (tmp_path / "threads.html").write_text(
        "<html><body><h1>Threads</h1><p>Here is an   example:</p>"
        '<div class="highlight"><pre><span></span><span class="k">def</span> worker():\n'
        '    <span class="k">while</span> True:\n        job()\n\n\nworker()\n</pre></div>'
        "<p>Then   start it.</p><p></p><p>Done.</p></body></html>"
    )
    (doc,) = load_paths([tmp_path]).documents
    assert doc.text == (
        "# Threads\n\nHere is an example:\n\n```\ndef worker():\n    while True:\n        job()\n\n\nworker()\n```"
        "\n\nThen start it.\n\nDone."
    )


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


def test_jsonl_documents_and_jsonl_faq(tmp_path):
    import json

    (tmp_path / "docs.jsonl").write_text(
        "\n".join(
            json.dumps(r) for r in [{"id": "a1", "title": "Returns", "text": "Thirty days."}, {"text": "No title"}]
        ),
        encoding="utf-8",
    )
    (tmp_path / "faq.jsonl").write_text(json.dumps({"question": "Open on Sunday?", "answer": "No."}), encoding="utf-8")
    docs = {d.source: d for d in load_paths([tmp_path / "docs.jsonl", tmp_path / "faq.jsonl"]).documents}
    assert (docs["docs.jsonl#a1"].title, docs["docs.jsonl#a1"].kind) == ("Returns", "article")
    assert docs["docs.jsonl#2"].text == "No title"
    assert docs["faq.jsonl#1"].kind == "faq"


def test_html_keeps_main_content_and_headings_not_navigation(tmp_path):
    (tmp_path / "page.html").write_text(
        """<html><head><title>Returns | Shop</title><script>var x = 1;</script></head><body>
        <nav><a href="/">Home</a> <a href="/cart">Cart</a></nav>
        <header>Free shipping over 50 euros!</header>
        <main><h1>Returns</h1><p>You can return items within <b>30 days</b>.</p>
        <h2>Damaged items</h2><ul><li>Take photos</li><li>Contact us</li></ul>
        <h2>Cancelling</h2><ol><li>Log in</li><li>Open <b>Orders</b></li></ol><ol start="3"><li>Click Cancel</li></ol></main>
        <footer>© Shop 2026 · Privacy</footer></body></html>""",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path / "page.html"]).documents
    assert doc.title == "Returns | Shop"
    assert "# Returns" in doc.text and "## Damaged items" in doc.text
    assert "You can return items within 30 days." in doc.text and "- Take photos" in doc.text
    assert "\n1. Log in\n2. Open Orders\n" in doc.text and "\n3. Click Cancel" in doc.text  # steps keep numbers
    for noise in ("Home", "Cart", "Free shipping", "Privacy", "var x"):
        assert noise not in doc.text


def test_html_lists_of_links_and_tables_of_contents_are_left_out(tmp_path):
    (tmp_path / "page.html").write_text(
        """<html><body><main><h1>Returns</h1>
        <p>In this article:</p><ul><li><a href="#when">When can I return?</a></li>
        <li><a href="#how">How do I return?</a></li><li><a href="#refund">When is my refund paid?</a></li></ul>
        <div class="toc"><p>Table of Contents</p><dl><dt><a href="#when">1. When can I return?</a></dt></dl></div>
        <h2 id="when">When can I return?</h2><p>Within 30 days.</p>
        <h2 id="how">How do I return?</h2><p>Carriers that collect the parcel:</p>
        <ul><li><a href="/ups">UPS</a> on weekdays</li><li><a href="/dhl">DHL</a> on Saturdays</li>
        <li><a href="/post">The post office</a>, every day</li></ul>
        <p>See also:</p><ul><li><a href="/exchanges">Exchanges</a></li><li><a href="/refunds">Refunds</a></li></ul>
        <p>The refund is paid within 10 days of our receiving the parcel.</p></main></body></html>""",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path / "page.html"]).documents
    assert doc.text.count("When can I return?") == 1 and "Table of Contents" not in doc.text
    assert "How do I return?" in doc.text and "When is my refund paid?" not in doc.text
    assert "- UPS on weekdays\n- DHL on Saturdays\n- The post office, every day" in doc.text  # links with text
    assert "- Exchanges\n- Refunds" in doc.text  # two links are not a menu


def test_html_source_line_breaks_are_spaces_and_tables_become_rows(tmp_path):
    # Generated help pages wrap their source at a fixed width: a browser shows one paragraph, and so must the text.
    (tmp_path / "page.html").write_text(
        """<html><body><main><h2>Working offline</h2>
<p>The <a href="#o"><code>--offline</code></a> or
<code>--frozen</code> flags keep the tool
off the network.<!-- draft: mention
vendoring --></p>
<ul>
<li>
<p>A build script that prints
a missing file.</p>
</li>
</ul>
<pre>cargo fetch
cargo build --offline</pre>
<pre># apt-get install cargo</pre>
<table><tr><th>Service</th><th>Days</th><th>Price</th></tr>
<tr><td>Standard</td><td>3-5</td><td>4.95</td></tr><tr><td>Express</td><td>1</td><td>9.95</td></tr></table>
<table><tr><td><h3>Layout</h3><p>Kept as text.</p></td></tr></table>
</main></body></html>""",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path / "page.html"]).documents
    assert "\nThe --offline or --frozen flags keep the tool off the network.\n" in doc.text
    assert "draft" not in doc.text  # a comment is not content
    assert "\n- A build script that prints a missing file.\n" in doc.text
    # Preformatted text keeps its lines, as fenced code: its "# " lines are root prompts, not headings.
    assert "\n```\ncargo fetch\ncargo build --offline\n```\n" in doc.text
    assert "\nService: Standard; Days: 3-5; Price: 4.95\nService: Express; Days: 1; Price: 9.95\n" in doc.text
    assert "### Layout" in doc.text and "Kept as text." in doc.text
    assert "\n```\n# apt-get install cargo\n```\n" in doc.text
    assert [heading for heading, _ in split_sections(doc.text)] == ["Working offline", "Working offline > Layout"]


def test_a_table_without_a_header_row_reads_row_by_row(tmp_path):
    # LibreOffice's help: a table of what to do, with no <th>. Its first row was read as the columns' names:
    # "Turning on protection: Turning off protection; Choose File - Save As ...: Open the document, ...".
    (tmp_path / "page.html").write_text(
        "<html><body><h1>Protecting documents</h1><table>"
        "<tr><td><p>Turning on protection</p></td><td><p>Choose File - Save As and mark the check box.</p></td></tr>"
        "<tr><td><p>Turning off protection</p></td><td><p>Open the document with its password.</p></td></tr>"
        "</table><h2>Sizes</h2><table><tr><th>Weight</th><td>2 kg</td></tr><tr><th>Height</th><td>30 cm</td></tr>"
        "</table><h2>Prices</h2><table><tr><td>Plan</td><td>Price</td></tr><tr><td>Basic</td><td>4.95</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert "\nTurning on protection: Choose File - Save As and mark the check box.\n" in doc.text
    assert "\nTurning off protection: Open the document with its password.\n" in doc.text
    assert "\nWeight: 2 kg\nHeight: 30 cm\n" in doc.text  # <th> heads each row here, not the columns
    assert doc.text.endswith("\nPlan: Basic; Price: 4.95")  # a first row of labels still names the columns


def test_pdf_text_layer_and_broken_pdf(tmp_path):
    write_pdf(tmp_path / "warranty.pdf", "Warranty lasts two years.", title="Warranty")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    result = load_paths([tmp_path])
    (doc,) = result.documents
    assert doc.title == "Warranty" and "Warranty lasts two years." in doc.text
    assert f"{tmp_path.name}/broken.pdf" in result.failures


def test_word_documents_keep_headings_lists_and_tables(tmp_path):
    write_shipping_docx(tmp_path / "shipping.docx")
    (doc,) = load_paths([tmp_path / "shipping.docx"]).documents
    assert doc.source == "shipping.docx" and doc.title == "Shipping and delivery"
    assert doc.text == (
        "# Shipping and delivery\n\n## Delivery times\n\nTo get your order tomorrow:\n1. Order before 2 pm.\n"
        "2. Choose Express at checkout.\n\nWe e-mail the tracking link.\n\n"
        "Option: Standard; Time: 3-5 business days; Price: 4.95 euros\nOption: Express; Price: 9.95 euros\n\n"
        "### Where we ship\n\n- Netherlands\n- Belgium"
    )
    # Chunks know their section, as for Markdown and web pages.
    assert [c.heading for c in chunk_document(doc)][-1] == "Delivery times > Where we ship"


def test_word_lists_numbered_on_the_paragraph_and_a_broken_file(tmp_path):
    write_numbered_by_hand_docx(tmp_path / "returns.docx")
    (tmp_path / "old.docx").write_bytes(b"PK\x03\x04 not really")
    result = load_paths([tmp_path])
    (doc,) = result.documents
    assert doc.title == "Returns"
    assert doc.text == "How to return an item:\n1. Open Orders.\n2. Choose Return.\n- Keep the receipt."
    assert "not a readable Word document" in result.failures[f"{tmp_path.name}/old.docx"]


def test_markdown_front_matter_gives_title_and_page_and_is_not_indexed(tmp_path):
    (tmp_path / "refunds.md").write_text(
        "---\ntitle: How refunds work\nurl: https://help.example.com/refunds\ntags: [money]\n---\n"
        "Refunds reach your card within 10 days.\n",
        encoding="utf-8",
    )
    (tmp_path / "relative.md").write_text("---\nurl: /help/returns/\n---\n# Returns\nThirty days.\n", encoding="utf-8")
    (tmp_path / "plain.md").write_text("# Plain\nA line.\n---\nAfter a rule.\n", encoding="utf-8")
    docs = {d.source.split("/")[-1]: d for d in load_paths([tmp_path]).documents}
    refunds = docs["refunds.md"]
    assert (refunds.title, refunds.url) == ("How refunds work", "https://help.example.com/refunds")
    assert refunds.text == "Refunds reach your card within 10 days.\n"  # no 'tags:' quoted to customers
    assert (docs["relative.md"].title, docs["relative.md"].url) == ("Returns", "")  # not an address to open
    assert docs["plain.md"].text.startswith("# Plain") and docs["plain.md"].url == ""


def test_broken_front_matter_is_reported_not_indexed(tmp_path):
    (tmp_path / "bad.md").write_text("---\ntitle: [unclosed\n---\nText.\n", encoding="utf-8")
    (tmp_path / "list.md").write_text("---\n- a\n- b\n---\nText.\n", encoding="utf-8")
    result = load_paths([tmp_path])
    assert "front matter" in result.failures[f"{tmp_path.name}/bad.md"] and not result.documents
    assert "'key: value' lines, got list" in result.failures[f"{tmp_path.name}/list.md"]


def test_pages_from_html_canonical_links_jsonl_fields_and_faq_columns(tmp_path):
    import json

    (tmp_path / "page.html").write_text(
        '<html><head><title>Returns</title><link rel="canonical" href="https://help.example.com/returns"></head>'
        "<body><main><p>Thirty days.</p></main></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "docs.jsonl").write_text(
        json.dumps({"id": "a1", "title": "Fees", "text": "No fees.", "url": "https://help.example.com/fees"}),
        encoding="utf-8",
    )
    (tmp_path / "faq.csv").write_text(
        "question,answer,URL\nOpen on Sunday?,No.,https://help.example.com/hours\nPhone?,+31 20 555 0199,\n",
        encoding="utf-8",
    )
    docs = {d.source.split("/")[-1]: d for d in load_paths([tmp_path]).documents}
    assert docs["page.html"].url == "https://help.example.com/returns"
    assert docs["docs.jsonl#a1"].url == "https://help.example.com/fees"
    assert docs["faq.csv#1"].url == "https://help.example.com/hours" and docs["faq.csv#2"].url == ""


def help_center_page(title, body, related):
    """A page as help-center themes make them: the template's boxes inside <main>, around the article."""
    return f"""<html><head><title>{title} – Help Center</title></head><body><main role="main">
      <ol class="breadcrumbs"><li>Help Center</li><li>Orders</li></ol>
      <article><h1>{title}</h1><div class="article-body"><p>{body}</p></div></article>
      <div class="article-votes"><span>Was this article helpful?</span><button>Yes</button><button>No</button></div>
      <div><p>Have more questions? Submit a request</p></div>
      <section class="related-articles"><h3>Related articles</h3><ul><li>{related}</li></ul></section>
      <div id="cookie-banner">We use cookies to improve your experience.</div>
    </main></body></html>"""


def test_a_help_centers_template_is_left_out_of_its_articles(tmp_path):
    pages = {
        "refunds": ("Refunds", "Refunds reach your card within 10 business days.", "Returns"),
        "returns": ("Returns", "You have 30 days to return an item.", "Refunds"),
        "delivery": ("Delivery", "Standard delivery takes 2 to 4 business days.", "Returns"),
        "invoices": ("Invoices", "Invoices are in My account under Orders.", "Delivery"),
    }
    for name, (title, body, related) in pages.items():
        (tmp_path / f"{name}.html").write_text(help_center_page(title, body, related), encoding="utf-8")
    docs = {d.source.split("/")[-1]: d for d in load_paths([tmp_path]).documents}
    assert docs["refunds.html"].text == "# Refunds\n\nRefunds reach your card within 10 business days."
    for page in docs.values():  # by their tags: breadcrumbs, votes, related articles, cookie banner
        for furniture in ("Help Center", "helpful", "Related", "cookies"):
            assert furniture not in page.text
    # By repetition: the same line on every page stays in the first page only (it might hold a fact).
    assert [name for name, d in sorted(docs.items()) if "Submit a request" in d.text] == ["delivery.html"]


def test_a_page_whose_container_is_named_like_furniture_keeps_its_content(tmp_path):
    (tmp_path / "page.html").write_text(
        '<html><body><main><div class="layout has-sidebar"><h1>Warranty</h1><p>Two years on every product.</p>'
        '<div class="sidebar">Popular: Returns</div></div></main></body></html>',
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert "Two years on every product." in doc.text and "Popular" not in doc.text


def test_furniture_named_in_words_run_together_is_left_out(tmp_path):
    # LibreOffice's help ends every page with links to other pages, one per line, in <div class="relatedtopics">.
    (tmp_path / "page.html").write_text(
        "<html><body><h1>Footnotes</h1><p>Choose Insert - Footnote and Endnote.</p>"
        '<div class="relatedtopics"><p>Related Topics</p><div><p><a href="endnotes.html">Endnotes</a></p>'
        '<p><a href="captions.html">Captions</a></p></div></div></body></html>',
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert doc.text == "# Footnotes\n\nChoose Insert - Footnote and Endnote."


def test_generated_documentation_keeps_its_headings_without_their_permalinks(tmp_path):
    # Sphinx/docutils with a local table of contents: each heading's text is a link back to it, of class
    # "toc-backref", and ends with a permalink "¶". The headings were lost ("## ¶"), and with them the questions.
    (tmp_path / "faq.html").write_text(
        '<html><body><div class="body" role="main"><section id="faq">'
        '<h1><a class="toc-backref" href="#id1">Design FAQ</a><a class="headerlink" href="#faq">¶</a></h1>'
        '<nav class="contents"><ul><li><a href="#fast">How fast are exceptions?</a></li></ul></nav>'
        '<section id="fast"><h2><a class="toc-backref" href="#id2">How fast are exceptions?</a>'
        '<a class="headerlink" href="#fast" title="Permalink to this heading">¶</a></h2>'
        "<p>A try/except block is extremely efficient if no exceptions are raised.</p></section>"
        '<h2 id="c">Section <a href="#c">C</a> <a class="hash-link" href="#c">#</a></h2><p>Text.</p>'
        '<div class="toc-sidebar"><p>On this page</p></div></section></div></body></html>',
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert doc.text.startswith("# Design FAQ\n\n## How fast are exceptions?\n\nA try/except block")
    assert "## Section C\n" in doc.text  # a link with words stays, a bare "#" goes
    assert "¶" not in doc.text and "On this page" not in doc.text  # furniture outside headings still goes


def test_a_defined_term_and_its_definition_are_one_line(tmp_path):
    # Glossaries, option lists and settings references are definition lists. On a line of its own the term read as a
    # title, and the definition, quoted as an answer, never said what it defines ("The version number of the current
    # instance of Bash."). A FAQ written as a definition list keeps its questions on lines of their own.
    (tmp_path / "glossary.html").write_text(
        "<html><body><h1>Glossary</h1><dl>"
        "<dt><code>-e</code></dt>\n<dd>\n<p>Exit immediately if a command fails.</p><p>Set it in scripts.</p></dd>"
        '<dt id="cycle"><span>Billing cycle <a class="copiable-anchor" href="#cycle"> &para;</a></span></dt>'
        "<dd>The period between two invoices.</dd><dt>Plans</dt><dd><ul><li>Basic</li><li>Pro</li></ul></dd>"
        "</dl><h2>FAQ</h2><dl><dt>Can I change my plan?</dt><dd><p>Yes, at any time.</p></dd></dl></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert doc.text == (
        "# Glossary\n\n-e: Exit immediately if a command fails.\nSet it in scripts.\n\n"
        "Billing cycle: The period between two invoices.\n\n"
        "Plans:\n- Basic\n- Pro\n\n"
        "## FAQ\n\nCan I change my plan?\nYes, at any time."
    )


def test_the_next_and_previous_links_of_a_manual_are_no_content(tmp_path):
    # GNU Texinfo heads every section with them, in a <div class="header">.
    (tmp_path / "manual.html").write_text(
        '<html><body><div class="header"><p>Next: <a href="#Intro" rel="next">Introduction</a>, Previous: '
        '<a href="dir.html" rel="prev">(dir)</a>, Up: <a href="dir.html" rel="up">(dir)</a> &nbsp; '
        '[<a href="#toc" rel="contents">Contents</a>]</p></div><h2>1 Introduction</h2>'
        '<p>Bash is the shell of the GNU system. Refunds are in the <a href="#r" rel="next">next section</a>.</p>'
        "</body></html>",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert doc.text == "## 1 Introduction\n\nBash is the shell of the GNU system. Refunds are in the next section."


def test_a_heading_whose_address_sounds_like_furniture_stays(tmp_path):
    # Headings and sections get ids from their words; "cookies", "share" and "nav" name furniture elsewhere.
    (tmp_path / "privacy.html").write_text(
        '<html><body><main><h1 id="privacy">Privacy</h1><h2 id="cookies">Cookies</h2><p>We use two cookies.</p>'
        '<section id="how-do-i-share-my-wishlist"><h2>How do I share my wishlist?</h2><p>Press Share.</p></section>'
        '<div id="sidebar"><p>Popular: Returns</p></div><div id="comments"><p>Great article!</p></div>'
        "</main></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert doc.text == (
        "# Privacy\n\n## Cookies\n\nWe use two cookies.\n\n## How do I share my wishlist?\n\nPress Share."
    )


def test_code_in_a_table_stays_a_block_of_code(tmp_path):
    # A tip box (DocBook) or examples side by side (MkDocs) lay out code in a table: read as a data table, its code
    # became one line of a row, fences inline.
    (tmp_path / "tips.html").write_text(
        "<html><body><h1>Aliases</h1><table><tr><th>Tip</th></tr><tr><td><p>Shorten long options:</p>"
        "<pre>alias ls='ls --time-style=+%d.%m.%y'\nalias ll='ls -l'</pre></td></tr></table>"
        "<table><tr><th>Service</th><th>Days</th></tr><tr><td>Express</td><td>1</td></tr></table></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_paths([tmp_path]).documents
    assert "Shorten long options:\n\n```\nalias ls='ls --time-style=+%d.%m.%y'\nalias ll='ls -l'\n```" in doc.text
    assert doc.text.endswith("Service: Express; Days: 1")  # a table of data is still read row by row


def test_a_folders_urls_file_gives_its_files_pages(tmp_path):
    write_pdf(tmp_path / "warranty.pdf", "Warranty lasts two years.", title="Warranty")
    (tmp_path / "faq.csv").write_text("question,answer\nOpen on Sunday?,No.\n", encoding="utf-8")
    (tmp_path / "own.md").write_text("---\nurl: https://help.example.com/own\n---\nText.\n", encoding="utf-8")
    (tmp_path / ".urls.json").write_text(
        '{"warranty.pdf": "https://help.example.com/warranty.pdf", "faq.csv": "https://help.example.com/faq", '
        '"own.md": "https://help.example.com/other", "gone.md": "javascript:alert(1)"}',
        encoding="utf-8",
    )
    urls = {d.source.split("/")[-1]: d.url for d in load_paths([tmp_path]).documents}
    assert urls == {
        "warranty.pdf": "https://help.example.com/warranty.pdf",
        "faq.csv#1": "https://help.example.com/faq",
        "own.md": "https://help.example.com/own",  # the document's own address wins
    }
    (tmp_path / ".urls.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match=r"\.urls\.json must be a JSON object"):
        load_paths([tmp_path])


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://help.example.com/returns", True),
        ("HTTP://HELP.EXAMPLE.COM", True),
        ("http://[::1]:8080/help", True),
        ("/help/returns/", False),
        ("help.example.com", False),
        ("ftp://help.example.com/", False),
        ("javascript:alert(1)", False),
        ("https:///returns", False),
        ("http:// help.example.com", False),
        ("https://help.example.com/a b", False),
        ("http://[not-an-ipv6", False),
    ],
)
def test_one_rule_says_what_a_web_address_is(url, ok):
    """The same rule decides which citations link (loaders) and where a crawl may start (crawl)."""
    from knowledge_base.loaders import is_web_address

    assert is_web_address(url) is ok


def test_control_characters_in_documents_never_reach_the_index(tmp_path):
    """Text from PDFs and old exports can hold NUL and form feeds: PostgreSQL refuses to store NUL, and a passage
    is stored when an answer or a suggested reply quotes it."""
    from knowledge_base.loaders import load_paths

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "returns.md").write_text("# Ret\x00urns\n\nThirty\x00 days.\x0cPage two.\x1b\n", "utf-8")
    (doc,) = load_paths([tmp_path / "kb"]).documents
    assert (doc.title, doc.text) == ("Returns", "# Returns\n\nThirty days.\nPage two.\n")
