"""Pure functions that cut documents into passages that keep their headings, with overlap."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from itertools import accumulate

from chatbot.types import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
# A fenced code block opens with three or more backticks or tildes (after at most 3 spaces) and closes with at
# least as many of the same character (CommonMark). Its lines are code: "# apt-get install foo" is a root prompt,
# not a heading, and "cd build" after "mkdir build" is a command of its own, not a wrapped sentence.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def code_blocks(lines: list[str]) -> list[int | None]:
    """The fenced code block each of `lines` belongs to, its opening and closing fences included (blocks numbered
    from 0), or None for a line outside code.

    A block that is never closed runs to the end of the text, as in CommonMark.
    """
    blocks: list[int | None] = []
    fence, number = "", -1
    for line in lines:
        if fence:
            blocks.append(number)
            fence = "" if closes(fence, line) else fence
        elif opening := fence_of(line):
            fence, number = opening, number + 1
            blocks.append(number)
        else:
            blocks.append(None)
    return blocks


def code_lines(lines: list[str]) -> list[bool]:
    """Whether each of `lines` belongs to a fenced code block (`code_blocks`)."""
    return [block is not None for block in code_blocks(lines)]


def fence_of(line: str) -> str:
    """The fence that `line` opens a code block with ("```" for "```python"), else ""."""
    match = _FENCE.match(line)
    return match.group(1) if match else ""


def closes(fence: str, line: str) -> bool:
    """Whether `line` closes a code block opened with `fence` ("```"): as many of its characters or more, alone."""
    match = _FENCE.match(line)
    return (
        match is not None
        and match.group(1)[0] == fence[0]
        and len(match.group(1)) >= len(fence)
        and not line.strip(" `~")
    )


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

    lines = text.splitlines()
    for line, code in zip(lines, code_lines(lines), strict=True):
        match = None if code else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            stack = [(lvl, h) for lvl, h in stack if lvl < level] + [(level, match.group(2))]
        else:
            body.append(line)
    flush()
    return sections


_BLOCK_START = re.compile(r"^\s*(?:[-*+•]\s|\d+[.)]\s|\||#|>)")


WRAPPED_SHARE = 0.7  # in a hard-wrapped text, a line at least this share of the wrap width was wrapped


def wrap_width(text: str) -> int | None:
    """The width that a plain text was hard-wrapped at, else None.

    Text exports, e-mails and man-page dumps end their lines near a fixed width (70-80 characters): most lines
    are nearly as long as the longest usual one. Markdown that is not wrapped has lines of any length.
    """
    lengths = sorted(len(line.strip()) for line in text.splitlines() if line.strip())
    if len(lengths) < 10:
        return None
    width = lengths[int(0.9 * len(lengths))]
    wrapped = sum(length >= WRAPPED_SHARE * width for length in lengths)
    return width if width <= 100 and wrapped >= 0.5 * len(lengths) else None


def unwrap_lines(text: str, width: int | None = None) -> str:
    """Join the lines of a wrapped sentence: a line that continues the one before (starts in lower case or
    with a digit, after a line that does not end a sentence) is the same sentence. PDFs, plain text and much
    Markdown wrap their paragraphs at a fixed width; list items, table rows, headings and short title lines
    stay lines of their own.

    In a text hard-wrapped at `width` (see `wrap_width`), a line also goes on after a line that was wrapped: one
    that fills the width and does not end a sentence ("... are available as" + "Debian packages, ...").
    """
    lines: list[str] = []
    given = text.splitlines()
    code = code_lines(given)
    for i, line in enumerate(given):
        stripped = line.strip()
        # Code keeps its lines, and the line after a code block starts a new one.
        joinable = bool(lines) and not code[i] and not (i > 0 and code[i - 1])
        previous = lines[-1].rstrip() if joinable else ""
        block = bool(_BLOCK_START.match(stripped))
        wrapped = width is not None and len(previous.strip()) >= WRAPPED_SHARE * width and not previous.startswith("#")
        continues = stripped[:1].islower() or (stripped[:1].isdigit() and not block) or (wrapped and not block)
        if previous and stripped and continues and previous[-1] not in ".!?:" and not stripped.startswith("|"):
            lines[-1] = f"{previous} {stripped}"
        else:
            lines.append(line)
    return "\n".join(lines)


def line_words(text: str) -> list[str]:
    """The words of `text`; the last word of each line keeps its line break (`"hours.\\n"`), so that list items,
    table rows and headings stay lines in the chunks cut from the words (see `join_words`).

    The first word of a line of fenced code keeps the line's indentation (`"    return"`): in Python or YAML the
    indentation is the meaning, and a passage that flattens it teaches a customer broken code.
    """
    lines = text.splitlines()
    words: list[str] = []
    for line, code in zip(lines, code_lines(lines), strict=True):
        if line_split := line.split():
            if code:
                line_split[0] = line[: len(line) - len(line.lstrip())] + line_split[0]
            line_split[-1] += "\n"
            words.extend(line_split)
    return words


def join_words(words: list[str]) -> str:
    """Words from `line_words` back into text: a space between words, a line break where a line ended."""
    return "".join(word if word.endswith("\n") else word + " " for word in words).strip()


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


# A word that ends a sentence ("days.", "days.)", "now!\""), when the next word starts one (see `starts_sentence`).
_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]»”’]*$")


def ends_sentence(text: str) -> bool:
    """True for text that ends in ".", "!" or "?", before any closing quotes or brackets ("(... 50 states.)")."""
    return bool(_ENDS_SENTENCE.search(text))


_ENDS_CLAUSE = re.compile(r"[.!?:;][\"')\]»”’]*$")


def ends_clause(text: str) -> bool:
    """True for text that ends a sentence (see `ends_sentence`) or a clause: ":" before what it announces, ";"
    between the items of a list written as one sentence."""
    return bool(_ENDS_CLAUSE.search(text))


def starts_sentence(word: str) -> bool:
    """True for a word that can begin a sentence: a capital ("Über" too) or a digit, after an opening quote."""
    first = word.lstrip("\"'([«“‘¿¡")[:1]
    return first.isupper() or first.isdigit()


# Abbreviations whose full stop ends no sentence before a capital: a title before a name ("Dr. Smith", "St. Louis"),
# "No." before a number ("Form No. 2"), and an initialism before a name or a time zone ("the U.S. Department of Labor",
# "P.O. Box 123", "8:00 p.m. ET"). An initialism does end one before the words that open sentences ("... in the U.S.
# You can ..."). English abbreviations: the list is short, and a sentence cut at one reads as a fragment ("Get help
# from the U.S." + "Department of Labor to find a job."). doc2dial's pages had 68 such cuts; token F1 (benchmarks/
# RESULTS.md, forty-first session) 39.86 -> 39.92, no set lower.
_TITLE = re.compile(r"(?<![\w.])(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|Ft|Sen|Rep|Gov|Gen|Capt|Lt|Sgt|Col)\.$")
_NUMBER_SIGN = re.compile(r"(?<![\w.])No\.$")
_INITIALISM = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,}$")
_SENTENCE_OPENERS = frozenset(
    """a all also an and any as at but by each every for he her his how i if in it its many most my no not on or our
    please she so some that the their then there these they this those to we what when where which who why you your
    one two three four five six seven eight nine ten""".split()
)


def sentence_break(word: str, following: str) -> bool:
    """True when a sentence ends after `word` and `following` begins the next one: `word` ends in ".", "!" or "?"
    (`ends_sentence`), `following` can start a sentence (`starts_sentence`), and `word` is no abbreviation that goes
    on with `following` ("U.S. Navy", "Dr. Smith", "No. 2", "p.m. ET")."""
    if not (ends_sentence(word) and starts_sentence(following)):
        return False
    if _TITLE.search(word) or (_NUMBER_SIGN.search(word) and following[:1].isdigit()):
        return False
    if _INITIALISM.search(word):
        return following.strip("\"'([«“‘").lower().rstrip(",.;:!?") in _SENTENCE_OPENERS
    return True


def word_lines(words: list[str]) -> list[list[str]]:
    """`words` (from `line_words`) grouped by the line they were on."""
    lines: list[list[str]] = [[]]
    for word in words:
        lines[-1].append(word)
        if word.endswith("\n"):
            lines.append([])
    return [line for line in lines if line]


def sentence_units(words: list[str]) -> list[list[str]]:
    """`words` (from `line_words`) grouped into sentences; a line (list item, table row, heading) ends one too.
    A sentence has two words at least: "1." opens a list item and "No." a sentence. A fenced code block is one
    unit, fences included: a passage holds all of it or, when it is longer than a window, whole lines of it in
    fences of their own (`code_pieces`)."""
    units: list[list[str]] = []
    unit: list[str] = []
    lines = word_lines(words)
    blocks = code_blocks([" ".join(line).rstrip("\n") for line in lines])
    for n, (line, block) in enumerate(zip(lines, blocks, strict=True)):
        if block is not None:
            unit.extend(line)
            if n + 1 == len(lines) or blocks[n + 1] != block:  # the block ends here
                units.append(unit)
                unit = []
            continue
        for i, word in enumerate(line):
            unit.append(word)
            following = line[i + 1] if i + 1 < len(line) else ""
            ends = len(unit) > 1 and sentence_break(word.rstrip("\n"), following)
            if word.endswith("\n") or ends:
                units.append(unit)
                unit = []
    if unit:
        units.append(unit)
    return units


def code_pieces(unit: list[str], size: int) -> list[list[str]]:
    """A fenced code block (a unit of `sentence_units`) in pieces of whole lines, each at most `size` words where
    its lines allow and each in fences of its own, so that every passage shows its code as code."""
    lines = word_lines(unit)
    fence = fence_of(lines[0][0])
    opening, body = (lines[0], lines[1:]) if fence else (["```\n"], lines)
    fence = fence or "```"
    if body and closes(fence, " ".join(body[-1]).rstrip("\n")):
        body = body[:-1]
    closing = [fence + "\n"]
    pieces: list[list[str]] = []
    piece: list[list[str]] = []
    budget = size - len(opening) - 1
    for line in body:
        if piece and sum(map(len, piece)) + len(line) > budget:
            pieces.append([*opening, *(w for ln in piece for w in ln), *closing])
            piece = []
        piece.append(line)
    pieces.append([*opening, *(w for ln in piece for w in ln), *closing])
    return pieces


def sentence_windows(words: list[str], size: int, overlap: int) -> list[list[str]]:
    """Cut `words` into windows of whole sentences, at most `size` words each, the next starting with the last
    sentences of the one before that fit in `overlap` words.

    A window cut inside a sentence gives passages that begin and end in mid-sentence ("don't qualify for TRICARE,
    you may ..."): read alone they mislead, and an answer quoting them starts with a fragment. A sentence longer
    than `size` words is cut by `window_words`. The last window is merged into the one before when it would add
    fewer than half a window of new words.
    """
    if len(words) <= size:
        return [words]
    units = [
        piece
        for unit in sentence_units(words)
        for piece in (
            code_pieces(unit, size) if fence_of(unit[0]) and len(unit) > size else window_words(unit, size, overlap)
        )
    ]
    windows: list[list[str]] = []
    new_words: list[int] = []  # words of each window that the window before does not hold
    start, shared = 0, 0
    while start < len(units):
        end, length = start, 0
        while end < len(units) and (end == start or length + len(units[end]) <= size):
            length += len(units[end])
            end += 1
        windows.append([word for unit in units[start:end] for word in unit])
        new_words.append(length - shared)
        if end == len(units):
            break
        # The next window repeats the last sentences of this one, up to `overlap` words, and moves on by at least one.
        back, shared = end, 0
        while back - 1 > start and shared + len(units[back - 1]) <= overlap:
            back -= 1
            shared += len(units[back])
        start = back
    if len(windows) > 1 and new_words[-1] < size // 2:
        tail = windows.pop()
        windows[-1] = windows[-1] + tail[len(tail) - new_words.pop() :]
    return windows


TokenCounter = Callable[[list[str]], list[int]]


def fit_tokens(prefix: str, words: list[str], max_tokens: int, count: TokenCounter) -> list[list[str]]:
    """Split `words` until every `prefix` + piece fits `max_tokens` (a single word always fits): between the
    sentences nearest its middle, a code block between its lines (`code_pieces`), a sentence in halves."""
    if len(words) <= 1 or count([f"{prefix}\n{join_words(words)}"])[0] <= max_tokens:
        return [words]
    units = sentence_units(words)
    if len(units) > 1:
        ends = list(accumulate(len(unit) for unit in units))[:-1]  # words before each cut
        # Not right after a sentence that announces what follows it ("Install them in this order:") if it can be.
        announced = {end for end, unit in zip(ends, units[:-1], strict=True) if unit[-1].rstrip().endswith(":")}
        middle = min(ends, key=lambda end: (end in announced, abs(2 * end - len(words))))
        pieces = [words[:middle], words[middle:]]
    else:
        pieces = code_pieces(words, len(words) // 2) if fence_of(words[0]) else []
        if len(pieces) < 2:  # one sentence, or a block of one long line
            pieces = [words[: len(words) // 2], words[len(words) // 2 :]]
    return [fitted for piece in pieces for fitted in fit_tokens(prefix, piece, max_tokens, count)]


def chunk_document(
    doc: Document,
    *,
    size: int = 120,
    overlap: int = 30,
    max_tokens: int | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """Cut one document into chunks of whole sentences, about `size` words, each prefixed with its title and
    heading path.

    With `max_tokens` and `count_tokens` (the embedder's tokenizer), a chunk that would exceed the embedder's
    input limit (long numbers, URLs, non-English text use more tokens per word) is split further, so that no
    text is silently cut off before it is embedded. A FAQ entry is one chunk whatever its length: it is
    answered as a whole.
    """
    if doc.kind == "faq":
        return [_make_chunk(doc, 0, "", f"{doc.title}\n{doc.text.strip()}")]
    width = wrap_width(doc.text)
    windows = [
        (heading, f"{doc.title} > {heading}" if heading else doc.title, window)
        for heading, body in split_sections(doc.text) or [("", doc.text)]
        for window in sentence_windows(line_words(unwrap_lines(body, width)), size, overlap)
    ]
    texts = [f"{prefix}\n{join_words(window)}" for _, prefix, window in windows]
    splits: dict[int, list[list[str]]] = {}
    if max_tokens is not None and count_tokens is not None:
        # One tokenizer call for all windows; only a rare window over the limit is counted again while split.
        for i, length in enumerate(count_tokens(texts)):
            if length > max_tokens:
                splits[i] = fit_tokens(windows[i][1], windows[i][2], max_tokens, count_tokens)
    chunks: list[Chunk] = []
    for i, (heading, prefix, window) in enumerate(windows):
        for piece in splits.get(i, [window]):
            chunks.append(_make_chunk(doc, len(chunks), heading, f"{prefix}\n{join_words(piece)}"))
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
        url=doc.url,
    )


# Raised when the same article text is cut into different chunks: 2 keeps line breaks (lists, table rows), 3 cuts
# between sentences, 4 joins the lines of hard-wrapped text (`wrap_width`), 5 keeps the indentation of fenced code.
# Articles hashed by an earlier chunking are then chunked and embedded again at their next ingest.
ARTICLE_CHUNKING = 5


_NUMBERED_ITEM = re.compile(r"^\s*(\d+)[.)]\s+")


def continues_a_list(body: str) -> bool:
    """True when a passage body starts inside a numbered list that began before it: its first numbered item, on
    one of its first two lines (the first may be the end of a line cut by the window), is not step 1."""
    for line in body.split("\n", 2)[:2]:
        if match := _NUMBERED_ITEM.match(line):
            return int(match.group(1)) > 1
    return False


def overlap_length(before: list[str], after: list[str]) -> int:
    """How many words `after` begins with that `before` ends with: a chunk repeats the last words of the one
    before it."""
    return next((k for k in range(min(len(before), len(after)), 0, -1) if before[-k:] == after[:k]), 0)


def with_list_start(previous_body: str, body: str) -> str:
    """`body` preceded by the start of the numbered list it continues, taken from `previous_body` (the window
    before it in the same section, which overlaps it by some words): from the list's introduction ("Follow these
    steps:") or its step 1. `body` unchanged when `previous_body` does not hold step 1."""
    before, after = line_words(previous_body), line_words(body)
    plain_before, plain_after = [w.strip() for w in before], [w.strip() for w in after]
    overlap = overlap_length(plain_before, plain_after)
    own_words = before[: len(before) - overlap]  # what only the window before holds
    lines = join_words(own_words + after).split("\n")
    # Step 1 of the list: the last "1." line among the lines that begin in `own_words`.
    own = join_words(own_words).count("\n") + 1 if own_words else 0
    first = next(
        (i for i in range(own - 1, -1, -1) if (m := _NUMBERED_ITEM.match(lines[i])) and m.group(1) == "1"), None
    )
    if first is None:
        return body
    if first > 0 and lines[first - 1].rstrip().endswith(":"):
        first -= 1
    return "\n".join(lines[first:])


def document_hash(doc: Document) -> str:
    """Content hash of a document, and of how it is chunked; an unchanged hash means its chunks and vectors can be
    reused."""
    # The URL joins the hash only when there is one. A FAQ entry is one chunk, as it always was.
    url = f"\x00{doc.url}" if doc.url else ""
    chunking = "" if doc.kind == "faq" else f"\x00chunking {ARTICLE_CHUNKING}"
    return hashlib.sha256(f"{doc.kind}\x00{doc.title}\x00{doc.text}{url}{chunking}".encode()).hexdigest()
