"""Pure functions that cut documents into passages that keep their headings, with overlap."""

from __future__ import annotations

import hashlib
import re

from chatbot.types import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


def split_sections(text: str) -> list[tuple[str, str]]:
    """Split Markdown into (heading path, body) pairs; the heading path is like `Returns > Damaged items`.

    The document's top `# ` title is left out of the path because every chunk carries the title anyway.
    """
    sections: list[tuple[str, str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            sections.append((" > ".join(h for level, h in stack if level > 1), content))
        body.clear()

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            stack = [(lvl, h) for lvl, h in stack if lvl < level] + [(level, match.group(2))]
        else:
            body.append(line)
    flush()
    return sections


def window_words(words: list[str], size: int, overlap: int) -> list[list[str]]:
    """Cut `words` into windows of at most `size` words, each starting `size - overlap` after the last.

    The last window is merged into the one before when it would be shorter than half a window.
    """
    if len(words) <= size:
        return [words]
    step = size - overlap
    windows = [words[i : i + size] for i in range(0, len(words) - overlap, step)]
    if len(windows) > 1 and len(windows[-1]) < size // 2:
        tail = windows.pop()
        windows[-1] = windows[-1] + tail[overlap:]
    return windows


def chunk_document(doc: Document, *, size: int = 120, overlap: int = 30) -> list[Chunk]:
    """Cut one document into chunks of about `size` words, each prefixed with its title and heading path.

    A FAQ entry is one chunk whatever its length: it is answered as a whole.
    """
    if doc.kind == "faq":
        return [_make_chunk(doc, 0, "", f"{doc.title}\n{doc.text.strip()}")]
    chunks: list[Chunk] = []
    for heading, body in split_sections(doc.text) or [("", doc.text)]:
        for window in window_words(body.split(), size, overlap):
            prefix = f"{doc.title} > {heading}" if heading else doc.title
            chunks.append(_make_chunk(doc, len(chunks), heading, f"{prefix}\n{' '.join(window)}"))
    return chunks


def _make_chunk(doc: Document, position: int, heading: str, text: str) -> Chunk:
    digest = hashlib.sha256(f"{doc.source}\x00{position}\x00{text}".encode()).hexdigest()[:16]
    return Chunk(
        chunk_id=digest,
        source=doc.source,
        title=doc.title,
        text=text,
        position=position,
        kind=doc.kind,
        heading=heading,
    )


def document_hash(doc: Document) -> str:
    """Content hash of a document; an unchanged hash means its chunks and vectors can be reused."""
    return hashlib.sha256(f"{doc.kind}\x00{doc.title}\x00{doc.text}".encode()).hexdigest()
