"""File I/O: turn files and folders into `Document`s. Everything else in the knowledge base is pure."""

from __future__ import annotations

import csv
import json
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatbot.errors import InputError
from chatbot.guard import remove_control_characters
from chatbot.types import Document
from knowledge_base.chunking import code_lines, fence_of
from knowledge_base.pdf import pdf_lines, pdf_markdown, pdf_title

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
FAQ_SUFFIXES = {".csv", ".jsonl"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | FAQ_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}
HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
# Page furniture that is not content: menus, banners, cookie notices, scripts.
HTML_NOISE = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg"]
# Furniture inside the main content, by the class or id help-center themes give it ("related-articles",
# "article-votes", "breadcrumbs", "cookie-banner"): a word of the name, between dashes or underscores, or a few
# run together ("relatedtopics": LibreOffice's help; "jp-relatedposts": WordPress).
HTML_FURNITURE = re.compile(
    r"(?:^|[-_])(?:breadcrumbs?|toc|nav|navbar|navheader|navfooter|navigation|related(?:topics|articles|posts|links)?|"
    r"relatives|recent|recently|"
    r"votes?|voting|share|sharing|social|comments?|sidebar|cookies?|consent|banner|pagination|pager|subscribe|"
    r"newsletter|promo|skip)(?:[-_]|$)",
    re.IGNORECASE,
)
# A block of text repeated on this share of a folder's web pages (and on at least 3) is the site's template
# ("Was this article helpful?", "Have more questions? Submit a request"): kept in the first page only.
TEMPLATE_SHARE = 0.5
TEMPLATE_MIN_PAGES = 3
MAX_TERM_WORDS = 12  # a defined term or a label is a name or a title; a longer one is a sentence (see `is_label`)
URLS_FILE = ".urls.json"  # a folder's {file: page address}, see `folder_urls`
FAQ_QUESTION_KEYS = ("question", "q", "instruction")
FAQ_ANSWER_KEYS = ("answer", "a", "response")
# Where a document's page for customers is given: front-matter keys, JSONL fields and FAQ columns, first found.
URL_KEYS = ("url", "canonical_url", "canonical", "source_url", "link")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass
class LoadResult:
    """Documents read from some paths, and the files that could not be read (path -> reason)."""

    documents: list[Document] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def load_paths(paths: list[Path]) -> LoadResult:
    """Load every supported file under `paths` (folders recurse).

    A file that cannot be read is reported in `failures` with the reason; the others are still loaded.
    Sources are relative to the given path's parent, so `ingest docs/` yields sources like `docs/refunds.md`.
    """
    result = LoadResult()
    for root in paths:
        root = Path(root)
        if not root.exists():
            result.failures[str(root)] = "no such file or folder"
            continue
        base = root.parent
        loaded: list[Document] = []
        pages = folder_urls(root)
        for file in _walk(root):
            source = file.relative_to(base).as_posix()
            try:
                documents = load_file(file, source)
            except (OSError, UnicodeDecodeError, ValueError, KeyError, csv.Error) as err:
                result.failures[source] = f"{type(err).__name__}: {err}"
                logger.warning("skipped %s: %s", file, err)
                continue
            page = pages.get(file.relative_to(root).as_posix(), "")
            # Text from PDFs and old exports can hold NUL and other control characters: PostgreSQL refuses to
            # store them (a passage quoted in an answer or a suggested reply is stored).
            loaded.extend(
                replace(d, url=d.url or page, title=remove_control_characters(d.title),
                        text=remove_control_characters(d.text))
                for d in documents
            )  # fmt: skip
        result.documents.extend(drop_site_template(loaded))
    return result


def folder_urls(root: Path) -> dict[str, str]:
    """{file under `root`: its page for customers} from `root/.urls.json` (`kb crawl` writes one; an operator may
    too, for PDFs and other files that cannot name their page), checked; {} without one."""
    path = root / URLS_FILE
    if not root.is_dir() or not path.exists():
        return {}
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{path} is not a JSON object of file -> address: {err}") from err
    if not isinstance(mapping, dict):
        raise InputError(f"{path} must be a JSON object of file -> address, got {type(mapping).__name__}")
    return {str(name): checked_url(str(url), f"{root.name}/{name}") for name, url in mapping.items()}


def drop_site_template(documents: list[Document]) -> list[Document]:
    """The documents with the blocks of text (paragraphs, headings) that recur on most of the web pages among them
    kept only in the first page that has them: a site's template around each article, which `html_to_markdown`
    cannot tell from content by its tags. One copy stays, because a template can hold facts ("Call us on ...")."""
    pages = [d for d in documents if d.source.lower().endswith((".html", ".htm"))]
    if len(pages) < TEMPLATE_MIN_PAGES:
        return documents
    counts = Counter(block for page in pages for block in set(page.text.split("\n\n")))
    template = {b for b, n in counts.items() if n >= max(TEMPLATE_MIN_PAGES, TEMPLATE_SHARE * len(pages))}
    if not template:
        return documents
    page_ids = {id(page) for page in pages}
    seen: set[str] = set()
    kept = []
    for doc in documents:
        if id(doc) in page_ids:
            blocks = doc.text.split("\n\n")
            text = "\n\n".join(b for b in blocks if b not in template or b not in seen)
            seen.update(b for b in blocks if b in template)
            doc = replace(doc, text=text) if text.strip() else doc  # a page of nothing but template stays whole
        kept.append(doc)
    return kept


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for file in sorted(root.rglob("*")):
        if file.is_file() and not any(part.startswith(".") for part in file.relative_to(root).parts):
            yield file


def load_file(path: Path, source: str) -> list[Document]:
    """Read one file into documents (a FAQ file gives one document per question)."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        meta, text = split_front_matter(path.read_text(encoding="utf-8"))
        title = str(meta.get("title") or "").strip() or markdown_title(text, default=path.stem)
        return [Document(source=source, title=title, text=text, url=page_url(meta, source))]
    if suffix in HTML_SUFFIXES:
        text, title, url = html_to_markdown(path.read_bytes())
        return [
            Document(
                source=source,
                title=title or markdown_title(text, default=path.stem),
                text=text,
                url=checked_url(url, source),
            )
        ]
    if suffix == ".pdf":
        return [pdf_document(path, source)]
    if suffix == ".docx":
        return [docx_document(path, source)]
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            return faq_documents(list(csv.DictReader(fh)), source)
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if rows and "text" in rows[0]:
            return jsonl_documents(rows, source)
        return faq_documents(rows, source)
    raise ValueError(
        f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
    )


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter, the rest) of a Markdown text that starts with a YAML block between `---` lines (Hugo,
    Jekyll, Docusaurus, MkDocs); ({}, text) without one. Front matter that is not a YAML mapping is a
    `ValueError`: left in, it would be indexed and quoted to customers as if it were the article."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        raise ValueError(f"the front matter (the block between the first two '---' lines) is not YAML: {err}") from err
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError(f"the front matter must be 'key: value' lines, got {type(meta).__name__}")
    return meta, text[match.end() :]


def is_web_address(url: str) -> bool:
    """True for an absolute http(s) address with a host and no white space (what a browser can open, what a
    crawl can start from); `url` is taken as given, not trimmed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. "http://[not-an-ipv6"
        return False
    return parts.scheme in ("http", "https") and bool(host) and not re.search(r"\s", url)


def checked_url(url: str, source: str) -> str:
    """`url` when it is an absolute http(s) address customers can open, else "" (logged when one was given)."""
    url = url.strip()
    if url and not is_web_address(url):
        logger.warning("%s: %r is not an absolute http(s) address; its citations will not link to it", source, url)
        return ""
    return url


def page_url(fields: dict, source: str) -> str:
    """The document's page for customers from the first of `URL_KEYS` in `fields` (checked), else ""."""
    lowered = {str(k).lower(): v for k, v in fields.items()}
    url = next((str(lowered[k]) for k in URL_KEYS if lowered.get(k)), "")
    return checked_url(url, source)


def html_to_markdown(data: bytes) -> tuple[str, str, str]:
    """(main content as Markdown-ish text with headings kept, page title, canonical address) of an HTML page.

    The main content is `<main>`, else `<article>`, else `<body>`, without navigation, headers, footers,
    sidebars, forms and scripts. Headings become `#` lines so that chunks keep them.
    """
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    # A saved help-center page names its own address: <link rel="canonical"> or <meta property="og:url">.
    canonical = soup.find("link", rel="canonical") or soup.find("meta", property="og:url")
    url = str(canonical.get("href") or canonical.get("content") or "") if canonical else ""
    root = soup.find("main") or soup.find("article") or soup.body or soup
    for tag in root.find_all(HTML_NOISE):
        tag.decompose()
    # A heading's or a defined term's permalink ("¶" in Sphinx, MkDocs and Texinfo, "#" in Docusaurus): a link
    # within the page with no word.
    for link in root.select(",".join(f"{h} a[href^='#']" for h in [*HEADINGS, "dt"])):
        if not any(ch.isalnum() for ch in link.get_text()):
            link.decompose()
    for pager in pagers(root):
        pager.decompose()
    total = len(root.get_text(" ", strip=True))
    for tag in root.find_all(lambda tag: _is_furniture(tag) or is_link_list(tag)):
        # Never most of the page: a theme may name the content's own container "has-sidebar". Never what a heading
        # says: docutils links each heading of a page with a table of contents back to it, as
        # <h2><a class="toc-backref">How fast are exceptions?</a></h2>, and "toc" names furniture elsewhere.
        inside_heading = tag.find_parent(HEADINGS) is not None
        if not tag.decomposed and not inside_heading and len(tag.get_text(" ", strip=True)) < 0.5 * total:
            tag.decompose()
    # A line break in the page's source is a space to a browser ("The <code>--offline</code> or\n<code>--frozen
    # </code> flags ..."): only block elements, added below, end lines; <pre> keeps its own.
    for piece in root.find_all(string=True):
        collapsed = re.sub(r"\s+", " ", piece)
        if type(piece) is NavigableString and collapsed != piece and piece.find_parent("pre") is None:
            piece.replace_with(collapsed)  # type(): comments and doctypes are strings too, and stay unread
    # A data table becomes one line per row (below); a table that holds headings, tables or code lays out the page
    # (examples side by side, code with its line numbers): left as is, its code in blocks of its own.
    data_tables = [table for table in root.find_all("table") if table.find(["table", "pre", *HEADINGS]) is None]
    # Preformatted text is code or a terminal session: a fenced block, so that its lines stay lines and a root
    # prompt ("# apt-get build-dep foo") is not read as a heading (`knowledge_base.chunking.code_lines`).
    # Its fence is longer than any fence inside it (a page that shows Markdown), which would otherwise close it.
    for pre in root.find_all("pre"):
        code = pre.get_text().strip("\n")
        fence = "`" * max([3, *(len(f) + 1 for line in code.splitlines() if (f := fence_of(line)).startswith("`"))])
        pre.replace_with(f"\n\n{fence}\n{code}\n{fence}\n\n")
    for table in data_tables:
        rows = [row.find_all(["th", "td"]) for row in table.find_all("tr")]
        texts = [[cell.get_text(" ", strip=True) for cell in row] for row in rows]
        # The first row names the columns when it is marked so (<th> in every cell with words, or <thead>); a table
        # that marks none of its cells leaves it to the cells' words (`table_lines`); <th> elsewhere heads rows.
        named = [cell for cell in rows[0] if cell.get_text(strip=True)] if rows else []
        marked = table.find("thead") is not None or (bool(named) and all(cell.name == "th" for cell in named))
        header = True if marked else (None if table.find("th") is None else False)
        table.replace_with("\n\n" + "\n".join(table_lines(texts, header=header)) + "\n\n")
    for level in range(1, 7):
        for heading in root.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for item in root.find_all("li"):
        # Steps keep their numbers ("1. Log in"); other list items become "- " lines.
        parent = item.parent
        if parent is not None and parent.name == "ol":
            siblings = parent.find_all("li", recursive=False)
            start = int(str(parent["start"])) if str(parent.get("start", "")).isdigit() else 1
            item.insert_before(f"\n{start + siblings.index(item)}. ")
        else:
            item.insert_before("\n- ")
    for term in [term for term in root.find_all("dt") if is_term(term)]:
        term.replace_with(f"\n{term.get_text(' ', strip=True)}: ")
    for block in root.find_all(["p", "div", "tr", "br", "section", "table", "ul", "ol", "dd", "dt"]):
        block.insert_after("\n")
    # Blocks are separated by one empty line and the words of a line by one space, except in code: its
    # indentation is its meaning (Python, YAML), and so can be its empty lines.
    raw = root.get_text().splitlines()
    lines: list[str] = []
    for line, in_code in zip(raw, code_lines(raw), strict=True):
        line = line.rstrip() if in_code else " ".join(line.split())
        if line or in_code or (lines and lines[-1]):
            lines.append(line)
    text = "\n".join(lines).strip("\n")
    if not text:
        raise ValueError("the page has no text content")
    return text, title, url


def is_term(tag: Any) -> bool:
    """True for a `<dt>` that names what the `<dd>` after it defines ("BASH_VERSION", "-e", "Billing cycle"): a few
    words without closing punctuation. Term and definition are then one line ("BASH_VERSION: The version number of
    the current instance of Bash."), a statement that says what it defines; on lines of their own the term reads as
    a title and the definition, quoted alone, never names its subject. A question or a sentence (a FAQ written as a
    definition list) stays a line of its own."""
    following = tag.find_next_sibling()
    return (
        following is not None
        and following.name == "dd"
        and is_label(tag.get_text(" ", strip=True))
        and tag.find(["p", "div", "pre", "ul", "ol", "table", *HEADINGS]) is None
    )


def is_link_list(tag: Any) -> bool:
    """True for a list of 3 or more items that are each nothing but a link: a table of contents ("In this
    article"), a menu or a list of related pages. Its lines repeat the headings of the page or of others, so a
    question matches them better than the text that answers it."""
    if tag.name not in ("ul", "ol", "dl"):
        return False
    items = tag.find_all(["li", "dt", "dd"], recursive=False)
    return len(items) >= 3 and all(
        (text := item.get_text(" ", strip=True))
        and text == " ".join(link.get_text(" ", strip=True) for link in item.find_all("a")).strip()
        for item in items
    )


def _is_furniture(tag: Any) -> bool:
    if any(HTML_FURNITURE.search(str(name)) for name in tag.get("class") or []):
        return True
    ident = str(tag.get("id") or "")
    return bool(ident and HTML_FURNITURE.search(ident)) and not is_anchor(tag)


def _letters_and_digits(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def is_anchor(tag: Any) -> bool:
    """True when the `id` of `tag` is the address of a heading, made from its words: that of a heading, or of a
    section named like its first heading. Such ids say what the text is about, not what part of the page it is:
    "How do I share global variables across modules?" is `<section id="how-do-i-share-global-variables-...">` in
    Sphinx, and "Cookies" is `<h2 id="cookies">` in most Markdown renderers."""
    if tag.name in HEADINGS:
        return True
    heading = tag.find(HEADINGS)
    return heading is not None and _letters_and_digits(heading.get_text()) == _letters_and_digits(str(tag["id"]))


_PAGER_WORDS = frozenset({"next", "previous", "prev", "up", "back", "to", "top"})
PAGER_RELS = ["next", "prev", "previous"]


def pagers(root: Any) -> list[Any]:
    """The blocks under `root` that link to the next and previous pages and say nothing else: "Next: Introduction,
    Previous: (dir), Up: (dir) [Contents][Index]" heads every section of a GNU Texinfo manual, in a
    `<div class="header">` that names nothing a theme's furniture would. Found from their rel=next/prev links (a
    few per page), not by testing every block."""
    blocks = {id(b): b for link in root.find_all("a", rel=PAGER_RELS) if (b := link.find_parent(["p", "div", "nav"]))}
    return [block for block in blocks.values() if _only_links(block)]


def _only_links(block: Any) -> bool:
    """True when `block` holds no heading and, besides its links, only words like "next", "previous", "up"."""
    if block.find(HEADINGS) is not None:
        return False
    text = block.get_text(" ")
    for link in block.find_all("a"):
        text = text.replace(link.get_text(" "), " ", 1)
    return set(re.findall(r"[^\W\d_]+", text.lower())) <= _PAGER_WORDS


def pdf_document(path: Path, source: str) -> Document:
    """A PDF's text layer as Markdown (`knowledge_base.pdf`); a scanned PDF without one is refused (no OCR)."""
    from pdfminer.psexceptions import PSException

    try:
        text, title = pdf_markdown(pdf_lines(path)), pdf_title(path)
    except PSException as err:
        raise ValueError(f"not a readable PDF: {err}") from err
    if not text:
        raise ValueError("the PDF has no text layer (scanned pages need OCR first)")
    # Without a title in its document information, a PDF's first heading is its title (its largest text is).
    heading = next((line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")), "")
    return Document(source=source, title=title or heading or markdown_title(text, default=path.stem), text=text)


def docx_document(path: Path, source: str) -> Document:
    """A Word document as Markdown: its headings as `#` lines (so chunks keep them), its lists as `- ` and `1. `
    items, each table row as "header: cell; header: cell" (a row read alone still says what its cells are), and
    its title from the document's properties, else its first heading. Old `.doc` files must be saved as `.docx`."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as err:
        raise ValueError(f"not a readable Word document (.docx): {err}") from err
    # Under a Title paragraph, "Heading 1" is a section.
    shift = 1 if any(_style_name(p) == "Title" for p in document.paragraphs) else 0
    lines: list[str] = []
    numbers: dict[int, int] = {}  # list level -> the last number given at that level
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            numbers.clear()
            lines.extend(["", *_table_lines(block), ""])
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        style = _style_name(block)
        kind, level = _list_item(block, style)
        if kind:
            if not numbers and len(lines) > 1 and lines[-1] == "" and not lines[-2].startswith("#"):
                lines.pop()  # the paragraph that introduces the list ("To return an item:") stays with it
            numbers = {lvl: n for lvl, n in numbers.items() if lvl <= level}
            numbers[level] = numbers.get(level, 0) + 1
            marker = f"{numbers[level]}." if kind == "number" else "-"
            lines.append(f"{'  ' * level}{marker} {text}")
            continue
        if numbers:
            lines.append("")  # the list ends
        numbers.clear()
        if style == "Title":
            lines.extend(["", f"# {text}", ""])
        elif style.startswith("Heading ") and style[8:].isdigit():
            lines.extend(["", f"{'#' * min(int(style[8:]) + shift, 6)} {text}", ""])
        else:
            lines.extend([text, ""])
    body = "\n".join(lines)
    body = "\n\n".join(part.strip() for part in re.split(r"\n{2,}", body) if part.strip())
    if not body:
        raise ValueError("the Word document has no text")
    title = (document.core_properties.title or "").strip()
    return Document(source=source, title=title or markdown_title(body, default=path.stem), text=body)


def _style_name(paragraph: Any) -> str:
    style = paragraph.style
    return str(style.name or "") if style is not None else ""


def _list_item(paragraph: Any, style: str) -> tuple[str, int]:
    """("number" | "bullet", level) for a list item, ("", 0) for other paragraphs. Word marks a list item by its
    style ("List Number 2") or by numbering on the paragraph itself, whose format is in the numbering part."""
    if style.startswith(("List Number", "List Bullet")):
        level = int(style[-1]) - 1 if style[-1].isdigit() else 0
        return ("number" if style.startswith("List Number") else "bullet"), level
    properties = paragraph._p.pPr
    numbering = properties.numPr if properties is not None else None
    if numbering is None or numbering.numId is None or numbering.numId.val == 0:  # numId 0: numbering removed
        return "", 0
    level = numbering.ilvl.val if numbering.ilvl is not None else 0
    try:
        definitions = paragraph.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return "bullet", level
    abstract = definitions.xpath(f'w:num[@w:numId="{numbering.numId.val}"]/w:abstractNumId/@w:val')
    formats = definitions.xpath(
        f'w:abstractNum[@w:abstractNumId="{abstract[0]}"]/w:lvl[@w:ilvl="{level}"]/w:numFmt/@w:val'
    ) if abstract else []  # fmt: skip
    return ("bullet" if not formats or formats[0] in ("bullet", "none") else "number"), level


def _table_lines(table: Any) -> list[str]:
    """One line per row of a Word table (see `table_lines`)."""
    return table_lines([[cell.text for cell in _distinct_cells(row)] for row in table.rows])


def table_lines(rows: list[list[str]], *, header: bool | None = None) -> list[str]:
    """One line per row of a table, given its cells' texts: "header: cell; header: cell" under a header row, else
    the cells. Each row then reads on its own, in a chunk and in an answer ("Express: 1-2 days; Price: 9.95").

    Args:
        rows (`list[list[str]]`): the cells' texts, row by row.
        header (`bool`, *optional*): whether the first row names the columns; unknown (a Word table, an HTML
            table without <th>), it does when none of its cells is a sentence. A table of steps or of settings
            and what they do ("Turning on protection" | "Choose File - Save As ... Save the document.") has none:
            a row of a label and its text is then "label: text".
    """
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if header is None:
        header = all(is_label(cell) for cell in rows[0] if cell) if rows else False
    if len(rows) < 2 or len(rows[0]) < 2 or not header:
        return [
            f"{row[0]}: {row[1]}" if len(row) == 2 and is_label(row[0]) and row[1] else "; ".join(c for c in row if c)
            for row in rows
        ]
    names, *body = rows
    return [
        "; ".join(f"{name}: {cell}" if name else cell for name, cell in zip(names, row, strict=False) if cell)
        for row in body
    ]


def is_label(text: str) -> bool:
    """True for a table cell or defined term that names something ("Turning on protection", "Price", "-e"): a few
    words without closing punctuation."""
    return 0 < len(text.split()) <= MAX_TERM_WORDS and text[-1] not in ".?!:;"


def _distinct_cells(row: Any) -> list[Any]:
    """The row's cells, a merged cell once (Word repeats it for every column it spans)."""
    seen: set[int] = set()
    cells = []
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            cells.append(cell)
    return cells


def markdown_title(text: str, *, default: str) -> str:
    """The first `# ` heading of a Markdown text (not a line of code: see `code_lines`), else `default` made
    readable."""
    lines = text.splitlines()
    for line, code in zip(lines, code_lines(lines), strict=True):
        if line.startswith("# ") and not code:
            return line[2:].strip()
    return default.replace("-", " ").replace("_", " ").strip().capitalize()


def jsonl_documents(rows: list[dict], source: str) -> list[Document]:
    """One article per `{"id", "title", "text", "url"}` row (url optional); the source is `file.jsonl#id` (the row
    number without id)."""
    docs = []
    for i, row in enumerate(rows):
        text = str(row.get("text") or "").strip()
        if not text:
            continue
        doc_id = str(row.get("id") or i + 1)
        title = str(row.get("title") or "").strip() or markdown_title(text, default=doc_id)
        where = f"{source}#{doc_id}"
        docs.append(Document(source=where, title=title, text=text, url=page_url(row, where)))
    if not docs:
        raise ValueError("the JSONL file has no row with a non-empty 'text'")
    return docs


def faq_documents(rows: list[dict], source: str) -> list[Document]:
    """One `kind="faq"` document per row with a question and an answer column (and optionally a url column)."""
    if not rows:
        raise ValueError("the FAQ file has no rows")
    keys = {k.lower(): k for k in rows[0]}
    q_key = next((keys[k] for k in FAQ_QUESTION_KEYS if k in keys), None)
    a_key = next((keys[k] for k in FAQ_ANSWER_KEYS if k in keys), None)
    if q_key is None or a_key is None:
        raise ValueError(f"a FAQ file needs a question and an answer column; found columns {list(rows[0])}")
    docs = []
    for i, row in enumerate(rows):
        question, answer = str(row.get(q_key) or "").strip(), str(row.get(a_key) or "").strip()
        if question and answer:
            where = f"{source}#{i + 1}"
            docs.append(Document(where, title=question, text=answer, kind="faq", url=page_url(row, where)))
    return docs
