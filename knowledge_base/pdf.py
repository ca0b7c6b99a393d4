"""PDF pages to Markdown: whole paragraphs, headings by font size, list items, and no running headers, page numbers
or table-of-contents lines.

A PDF holds positioned lines, not paragraphs. Read line by line, a wrapped sentence is cut in two at every line end
and every page break, the running header ("CHAPTER 4. COMPATIBILITY ISSUES") sits between the halves, and a
section has no heading to name it. `pdfminer.six` lays the characters out into lines with their font sizes; this
module rebuilds the page from those lines (`pdf_markdown`, pure, tested on plain `Line`s) the way a reader sees it.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge_base.chunking import ends_clause

HEADING_SCALE = 1.15  # a line set at least this much larger than the body text is a heading
MAX_HEADING_WORDS = 25  # a larger line with more words is an emphasised paragraph, not a heading
MARGIN_SHARE = 0.12  # running headers and footers sit in the top and bottom 12% of the page
REPEATED_SHARE = 0.3  # ... at the same height on at least this share of the pages (and on 3 of them)
BULLETS = "•◦▪▫‣●○■□➢►–"

_PAGE_NUMBER = re.compile(r"^(?:page\s+)?[-–—]?\s*(?:\d+|[ivxlcdm]+)\s*[-–—]?(?:\s*(?:of|/)\s*\d+)?$", re.I)
# A table of contents: dot leaders (". . . . 13"), and its column of page numbers ("1 1 2 2 3"). LaTeX's leaders
# come apart into lines of their own (". . ." or "."), and entries keep a few ("1.1.1 The shell prompt . .").
_CONTENTS = re.compile(
    r"(?:\.\s?){5,}|…\s*\d+$|^(?:\d+|[ivxlc]+)(?:\s+(?:\d+|[ivxlc]+))*$|^[.\s]+$|(?:\s\.){2,}(?:\s+\d+)?$", re.I
)
_CONTENTS_HEADING = re.compile(r"^#+ (?:table of )?contents$|^#+ list of (?:tables|figures|illustrations)$", re.I)
_CONTENTS_ENTRY = re.compile(r"^(?:[\d.]+|[A-Z](?:\.\d+)+|[ivxlc]+\.?)(?:\s|$)|\s\d+$", re.I)
CONTENTS_SHARE = 0.5  # ... when at least this share of its blocks are entries
# Typewriter fonts set code and commands: LiberationMono, DejaVuSansMono, Courier, Consolas, CMTT10 (LaTeX).
_MONOSPACE = re.compile(r"mono|courier|consol|menlo|inconsolata|typewriter|cmtt|lmtt|(?:^|[^a-z])tt\d", re.I)
MONO_SHARE = 0.9  # a line set this much in a typewriter font (by characters) is code
_URL_CUT = re.compile(r"(?:https?://|www\.)\S*[./\-_#?=&]$")
_NUMBERED = re.compile(r"^(?:\d{1,2}[.)]|\(?[a-z][.)]|\(\d{1,2}\))\s")
_UNMAPPED = re.compile(r"\(cid:\d+\)")


@dataclass(frozen=True)
class Line:
    """One line of text as laid out on its page; lengths in PDF points, `top` and `bottom` measured from the top
    of the page."""

    page: int
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # font size, the median of the line's characters
    page_height: float
    mono: bool = False  # set in a typewriter font: a line of code or a command (`MONO_SHARE`)


def pdf_markdown(lines: list[Line]) -> str:
    """Markdown for a PDF's lines in reading order: headings as `##`..`######` by size, paragraphs on one line
    each, bullets as `- ` items; without page furniture (`furniture`) and table-of-contents lines."""
    if not lines:
        return ""
    body = body_size(lines)
    dropped = furniture(lines, body)
    kept = [
        line
        for k, line in enumerate(lines)
        if k not in dropped and (line.mono or not _CONTENTS.search(line.text))  # code may say "..."
    ]
    levels = heading_levels(kept, body)
    blocks: list[str] = []
    previous: Line | None = None
    indent = 0.0  # where the text of the current list item starts (its continuation lines align there)
    for line in kept:
        text = line.text
        # Code keeps its lines, in a fenced block: "# apt-get update" is a root prompt, not a heading, and a command
        # joined to the sentence before it could not be run. Its indentation is kept from where each line starts,
        # in characters of a typewriter font (0.6 of its size wide). A sentence that has not ended goes on in it
        # instead, on the next line: a web address set in the typewriter font ("from the Debian website" +
        # "(https://...)."); a command set apart below it ("execute the command" + "dpkg --list") is code.
        if (
            line.mono
            and not (text[0] in BULLETS and text[1:2] == " ")
            and not (
                previous is not None
                and not blocks[-1].startswith(("#", "```"))
                and not ends_clause(blocks[-1])
                and not new_paragraph(previous, line, blocks[-1], indent, body)
            )
        ):
            if previous is not None and previous.mono and blocks[-1].startswith("```"):
                spaces = " " * max(0, round((line.x0 - indent) / (0.6 * line.size)))
                blocks[-1] = blocks[-1].removesuffix("\n```") + f"\n{spaces}{text}\n```"
            else:
                blocks.append(f"```\n{text}\n```")
                indent = line.x0  # where the block's lines start
            previous = line
            continue
        level = levels.get(size_class(line)) if len(line.text.split()) <= MAX_HEADING_WORDS else None
        if level is not None:
            # A heading wrapped over lines ("4.1 On what ... GNU/Linux" + "run?") is one heading.
            if previous is not None and blocks and blocks[-1].startswith("#") and _same_heading(previous, line):
                blocks[-1] = joined(blocks[-1], text)
            else:
                blocks.append("#" * level + " " + text)
            previous, indent = line, 0.0
            continue
        bullet = text[0] in BULLETS and text[1:2] == " "
        if bullet:
            text = "- " + text[2:].lstrip()
        item = bullet or bool(_NUMBERED.match(text))
        # `previous` is None only before the first block.
        if (
            previous is None
            or blocks[-1].startswith(("#", "```"))
            or item
            or new_paragraph(previous, line, blocks[-1], indent, body)
        ):
            blocks.append(text)
            indent = line.x0 + body if item else 0.0
        else:
            blocks[-1] = joined(blocks[-1], text)
        previous = line
    blocks = without_contents(blocks)
    # List items on consecutive lines, as in Markdown; paragraphs and headings apart.
    return "".join(
        block if k == 0 else ("\n" if _is_item(blocks[k - 1]) and _is_item(block) else "\n\n") + block
        for k, block in enumerate(blocks)
    )


def without_contents(blocks: list[str]) -> list[str]:
    """`blocks` without the table of contents and the lists of tables and figures: a section so named whose blocks
    are mostly entries (a section number first, or a page number last), or none. Its lines repeat the headings of the
    document, so a question matches them better than the text that answers it; a "Contents" section of other
    text (what is in the box) stays."""
    kept: list[str] = []
    skipping = False
    for k, block in enumerate(blocks):
        if block.startswith("#"):
            end = next((j for j in range(k + 1, len(blocks)) if blocks[j].startswith("#")), len(blocks))
            entries = blocks[k + 1 : end]
            # Without entries, its leader lines are gone (`_CONTENTS`): a heading over nothing.
            skipping = bool(_CONTENTS_HEADING.match(block)) and (
                sum(bool(_CONTENTS_ENTRY.search(entry)) for entry in entries) >= CONTENTS_SHARE * len(entries)
            )
        if not skipping:
            kept.append(block)
    return kept


def _is_item(block: str) -> bool:
    return block.startswith("- ") or bool(_NUMBERED.match(block))


def size_class(line: Line) -> float:
    """`line`'s font size to half a point: the sizes of one style differ by rounding ("14.35", "14.3")."""
    return round(line.size * 2) / 2


def body_size(lines: list[Line]) -> float:
    """The font size of most of the text (by characters), to half a point."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[size_class(line)] += len(line.text)
    return sizes.most_common(1)[0][0]


def heading_levels(lines: list[Line], body: float) -> dict[float, int]:
    """Markdown heading level for each font size clearly larger than the body's: the largest 2 (`#` is the
    document's title), the next 3, ..., at most 6."""
    sizes = sorted({size_class(line) for line in lines if line.size >= HEADING_SCALE * body}, reverse=True)
    return {size: min(2 + k, 6) for k, size in enumerate(sizes)}


def furniture(lines: list[Line], body: float) -> set[int]:
    """Indices of the running headers, footers and page numbers.

    A page number alone in the top or bottom margin is one. A header or footer is a line in the margin, set
    apart from the text by more than a line's space, at a height where such a line stands on many pages. The
    first line of the text also stands at the same height on every page, but right above the second line.
    """
    pages: dict[int, list[int]] = {}
    for k, line in enumerate(lines):
        pages.setdefault(line.page, []).append(k)
    candidates: dict[int, tuple[bool, int]] = {}  # line index -> (in the top margin?, its height in 3-point steps)
    dropped: set[int] = set()
    for indices in pages.values():
        ordered = sorted(indices, key=lambda k: lines[k].top)
        for k in ordered:
            line = lines[k]
            margin = MARGIN_SHARE * line.page_height
            in_top, in_bottom = line.bottom <= margin, line.top >= line.page_height - margin
            if not (in_top or in_bottom):
                continue
            if _PAGE_NUMBER.match(line.text):
                dropped.add(k)
                continue
            if line.size >= HEADING_SCALE * body:
                continue  # a section's heading can open every page, and must stay
            if in_top:
                below = [lines[j].top for j in ordered if lines[j].top > line.bottom]
                gap = min(below) - line.bottom if below else 0.0  # alone on its page: the content
            else:
                above = [lines[j].bottom for j in ordered if lines[j].bottom < line.top]
                gap = line.top - max(above) if above else 0.0
            if gap >= body:
                candidates[k] = (in_top, round((line.top if in_top else line.page_height - line.bottom) / 3))
    pages_at: dict[tuple[bool, int], set[int]] = {}  # (top margin?, height) -> the pages with a candidate there
    for k, (top, height) in candidates.items():
        pages_at.setdefault((top, height), set()).add(lines[k].page)
    needed = max(3, REPEATED_SHARE * len(pages))
    for k, (top, height) in candidates.items():
        near = set().union(*(pages_at.get((top, h), set()) for h in (height - 1, height, height + 1)))
        if len(near) >= needed:
            dropped.add(k)
    return dropped


def _same_heading(previous: Line, line: Line) -> bool:
    same_size = abs(previous.size - line.size) < 0.5
    return previous.page == line.page and same_size and line.top - previous.bottom < line.size


def new_paragraph(previous: Line, line: Line, block: str, indent: float, body: float) -> bool:
    """True when `line` starts a new paragraph after `previous`, whose paragraph (or list item) so far is `block`.

    Across a page break, a paragraph goes on when its last line did not end a sentence. On a page, a new one
    starts after a wider gap than between lines, with an indented first line, after a short line that ends a
    sentence, or at the left of a list item's text (the text after the list).
    """
    ended = ends_clause(block)
    if line.page != previous.page:
        return ended and not block.endswith("-")
    if line.top - previous.bottom > 0.5 * body or abs(line.size - previous.size) >= 1:
        return True
    if indent and line.x0 < indent - 0.5 * body:
        return True
    return ended and (line.x0 > previous.x0 + 0.8 * body or previous.x1 < line.x1 - 2 * body)


def joined(block: str, text: str) -> str:
    """`text` appended to the paragraph `block`: "Pen-" + "tium" is "Pentium", "32-" + "bit" is "32-bit"."""
    if re.search(r"[^\W\d_]-$", block) and text[:1].islower():
        return block[:-1] + text
    if block.endswith("-") or _URL_CUT.search(block):  # "https://www." + "debian.org/ports/"
        return block + text
    return f"{block} {text}"


def pdf_lines(path: Path) -> list[Line]:
    """The text lines of a PDF in reading order, as `pdfminer.six` lays them out."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTTextContainer, LTTextLine

    lines: list[Line] = []
    for number, page in enumerate(extract_pages(path)):
        height = page.height
        for element in page:
            if not isinstance(element, LTTextContainer):
                continue
            for item in element:
                if not isinstance(item, LTTextLine):
                    continue
                # "(cid:149)": a glyph the font does not map to a character, which no reader can use.
                text = " ".join(_UNMAPPED.sub("", item.get_text()).replace("\x00", "").split())
                chars = [c for c in item if isinstance(c, LTChar) and not c.get_text().isspace()]
                if text and chars:
                    mono = sum(bool(_MONOSPACE.search(c.fontname)) for c in chars) >= MONO_SHARE * len(chars)
                    lines.append(
                        Line(number, text, item.x0, item.x1, height - item.y1, height - item.y0,
                             statistics.median(c.size for c in chars), height, mono)
                    )  # fmt: skip
    return lines


def pdf_title(path: Path) -> str:
    """The title in the PDF's document information, or ""."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    with path.open("rb") as fh:
        info: list[dict[str, Any]] = PDFDocument(PDFParser(fh)).info
    title = resolve1(info[0].get("Title")) if info else None
    if isinstance(title, bytes):
        return decode_text(title).strip()
    return title.strip() if isinstance(title, str) else ""
