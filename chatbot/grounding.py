"""Pure checks that keep answers grounded: sentence splitting, support by a passage, citations, replies.

A small answer model paraphrases badly: it invents numbers and policies that sound right. Every generated
sentence is therefore checked against the passages it was given before a customer sees it; a sentence is
supported when one passage contains all of its numbers and most of its content words. When the model says
nothing supported, the answer is composed from the passages' own sentences instead (`chatbot.extractive`). A strong
model passes the check almost always, so the same path gets better with a better model rather than different.
"""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache
from itertools import groupby

from chatbot.types import Passage, Turn, cited_numbers
from knowledge_base.chunking import closes, code_blocks, fence_of, sentence_break

# Where a sentence may end: after ".", "!" or "?" and any closing quote or bracket; it ends when the next word
# can begin one and the word before is no abbreviation that goes on (`sentence_break`: "Über" and "¿Cómo" begin
# one, "e.g. the" and "U.S. Department" go on).
_SENTENCE_GAP = re.compile(r"(?<=[.!?])([\"')\]»”’]*)\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A number, or a range such as "5 to 10" / "5-10", which is one claim: "3 to 5 days" is not "3 days".
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s*(?:-|–|to)\s*(\d+(?:[.,]\d+)*))?")
_CITATION = re.compile(r"\s*\[\d+\]")
_LIST_MARKER = re.compile(r"^\s*([-*+•]|\d+[.)])\s+")
# Words that carry no claim: a sentence made of them only is neither supported nor contradicted.
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each even few for from further get gets had has
    have having he her here hers him his how however i if in into is it its itself just let may me might more
    most much must my no nor not now of off on once only or other our ours out over own please same shall she
    should so some such than that the their theirs them then there these they this those through to too under
    until up usually very via was we were what when where which while who whom why will with within would you
    your yours yourself typically generally normally also etc""".split()
)
MIN_SUPPORTED_SHARE = 0.75  # share of a sentence's content words that one passage must contain


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("english")


def stems(words: list[str]) -> list[str]:
    """English stems, so that "refunds" supports "refund" and "takes" supports "take"."""
    return _stemmer().stemWords(words)  # type: ignore[attr-defined]


def without_list_marker(sentence: str) -> str:
    """The sentence without a leading list marker ("1. ", "- ")."""
    return _LIST_MARKER.sub("", sentence, count=1)


def list_marker(sentence: str) -> str:
    """The list marker of a list item as it should be written ("-" for any bullet, "3." for "3)"), else ""."""
    match = _LIST_MARKER.match(sentence)
    if not match:
        return ""
    marker = match.group(1)
    return marker[:-1] + "." if marker[0].isdigit() else "-"


def line_split(line: str) -> list[str]:
    """The sentences of one line of text."""
    sentences, start = [], 0
    for gap in _SENTENCE_GAP.finditer(line):
        rest = line[gap.end() :]
        word = line[start : gap.end(1)].rsplit(maxsplit=1)[-1]
        if rest and sentence_break(word, rest.split(maxsplit=1)[0]):
            sentences.append(line[start : gap.end(1)])
            start = gap.end()
    return [*sentences, line[start:]]


def line_sentences(text: str) -> list[list[str]]:
    """The sentences of each non-empty line of `text`; a list item's marker stays on its first sentence."""
    lines = []
    for line in text.splitlines():
        marker = _LIST_MARKER.match(line)
        head = marker.group(0).strip() if marker else ""
        sentences = [s.strip() for s in line_split(line[marker.end() if marker else 0 :]) if s.strip()]
        if sentences:
            lines.append([f"{head} {sentences[0]}" if head else sentences[0], *sentences[1:]])
    return lines


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (and lines: list items and headings end a sentence too)."""
    return [sentence for line in line_sentences(text) for sentence in line]


def text_and_code(text: str) -> list[tuple[str, bool]]:
    """`text` in parts of prose and fenced code blocks, in order: (part, is code). A block keeps its fences; one that
    the passage cut before its end gets its closing fence."""
    lines = text.splitlines()
    parts = []
    for block, group in groupby(zip(lines, code_blocks(lines), strict=True), key=lambda pair: pair[1]):
        part = [line for line, _ in group]
        fence = fence_of(part[0]) if block is not None else ""
        if fence and (len(part) == 1 or not closes(fence, part[-1])):
            part.append(fence)
        parts.append(("\n".join(part), block is not None))
    return parts


def prose_of(parts: list[tuple[str, bool]]) -> str:
    """The prose of `text_and_code` parts, without the code: where citations are."""
    return "\n".join(part for part, code in parts if not code)


def cited_in(text: str, sources: int) -> list[int]:
    """The source numbers (1 to `sources`) that `text` cites in its prose (`cited_numbers`): "argv[1]" in code
    cites nothing."""
    return cited_numbers(prose_of(text_and_code(text)), sources)


def streamed_units(text: str) -> tuple[list[str], str]:
    """(the complete units of streamed model text, the rest that may still go on), for checking as it streams.

    A unit is a sentence of prose (`split_sentences`), or a fenced code block whole with the sentence that
    introduces it (one that ends in ":"): a block is complete once its closing fence line has ended. The last
    sentence is never complete (more may come), and an introduction waits while what follows may still open a
    block; the caller checks what is left when the stream ends.
    """
    *lines, partial = text.split("\n")  # the last line may go on
    units: list[str] = []
    prose: list[str] = []
    for block, group in groupby(zip(lines, code_blocks(lines), strict=True), key=lambda pair: pair[1]):
        part = [line for line, _ in group]
        if block is None:
            prose += part
            continue
        sentences = split_sentences("\n".join(prose))
        intro = [sentences.pop()] if sentences and sentences[-1].endswith(":") else []
        units += sentences
        prose = []
        if len(part) == 1 or not closes(fence_of(part[0]), part[-1]):  # the block goes on
            return units, "\n".join([*intro, *part, partial])
        units.append("\n".join([*intro, *part]))
    # The marker keeps the unfinished tail apart: it is never a complete sentence.
    *complete, rest = split_sentences("\n".join([*prose, partial]) + "\x00")
    rest = rest.removesuffix("\x00")
    if complete and complete[-1].endswith(":") and (not rest.strip() or rest.lstrip()[0] in "`~"):  # may open one
        return units + complete[:-1], f"{complete[-1]}\n{rest}"
    return units + complete, rest


def quoting_passage(blocks: list[str], passages: list[Passage]) -> int | None:
    """Index of the first passage whose code holds every one of the fenced `blocks`, line for line (indentation
    compared after removing what all lines of the block share), or None. Code is quoted, never paraphrased: a
    command that differs by a character is another command."""

    def lines_of(block: str) -> list[str]:
        inner = block.splitlines()[1:]
        if inner and closes(fence_of(block), inner[-1]):
            inner = inner[:-1]
        return [line.rstrip() for line in inner if line.strip()]

    def dedented(lines: list[str]) -> list[str]:
        return textwrap.dedent("\n".join(lines)).split("\n")

    wanted = [dedented(lines) for lines in map(lines_of, blocks) if lines]
    for i, passage in enumerate(passages):
        code = [line for part, is_code in text_and_code(passage.chunk.text) if is_code for line in lines_of(part)]
        runs = {tuple(dedented(code[k : k + len(w)])) for w in wanted for k in range(len(code) - len(w) + 1)}
        if wanted and all(tuple(w) in runs for w in wanted):
            return i
    return None


def passage_body(passage: Passage) -> str:
    """The passage text without the title line that chunking puts first."""
    _, _, body = passage.chunk.text.partition("\n")
    return body or passage.chunk.text


def content_terms(text: str) -> tuple[set[str], set[str]]:
    """(stemmed content words, numbers) of a text; citations like [1] are ignored."""
    text = _CITATION.sub(" ", text).lower()
    numbers = {"-".join(n.replace(",", "") for n in match if n) for match in _NUMBER.findall(text)}
    words = [w for w in _WORD.findall(text) if w not in _STOPWORDS and not w.isdigit() and len(w) > 1]
    return set(stems(words)), numbers


# Words that answer or ask without naming anything: with stopwords only, a message says "yes" or "what now" about
# what was said before ("Yes, I am.", "No, I haven't.", "Of course", "What should I do?").
_REPLY_WORDS = frozenset(
    """yes yeah yep yup nope sure right correct course ok okay exactly indeed certainly definitely absolutely
    i'm i've i'd that's it's don't didn't doesn't haven't hasn't isn't aren't wasn't weren't can't won't""".split()
)


@lru_cache(maxsize=1)
def _reply_stems() -> frozenset[str]:
    return frozenset(stems(sorted(_REPLY_WORDS)))


def names_nothing(message: str) -> bool:
    """True for a message with no word or number of its own: only stopwords and words of a reply ("Yes, I am.",
    "No, I haven't.", "What should I do?"). Its subject is the conversation."""
    words, numbers = content_terms(message.replace("\u2019", "'"))
    return not numbers and words <= _reply_stems()


# How a reply to a yes/no question starts: "Yes, I am.", "Oh yeah, I use one.", "No, I haven't.", "Right." A "no" or
# "right" only before a stop or a pronoun: "No refund came", "Right now I can't log in" are no replies. "I have ..."
# neither: "I have questions about permits" is as often a new subject (a bare "I have." names nothing, see below).
_YES_NO_REPLY = re.compile(
    r"^\W*(?:(?:oh|well|ah|ok|okay)\W+)?(?:(?:yes|yeah|yep|yup|sure|of course|absolutely|definitely|certainly)\b"
    r"|(?:no|nope|nah|correct|right|exactly)(?=\s*(?:[.,!;:]|$)|\s+(?:i|it|we|he|she|they|that|not)\b))",
    re.I,
)


def answered_question(message: str, history: list[Turn]) -> str | None:
    """The question that `message` answers: the last sentence of the conversation's last message, when that message
    is the assistant's or staff's, that sentence asks ("Was your vehicle registered in another state?") and `message`
    replies to it ("Yes", "No, it wasn't.", "Yes, in New Jersey.") without a question of its own. None otherwise.

    The question says what a reply such as "Yes" is about: searched and answered with it, the reply finds the
    passage that goes on from it.
    """
    if not history or history[-1].role not in ("assistant", "staff"):
        return None
    if not names_nothing(message):  # "Yes", "Okay. What should I do?": a reply, whatever it asks
        if "?" in message or not _YES_NO_REPLY.match(message.replace("\u2019", "'")):
            return None  # "Yes. And how long does a refund take?" asks something of its own
    sentences = split_sentences(without_citations(history[-1].content))
    if not sentences or not sentences[-1].rstrip().endswith("?"):
        return None
    return sentences[-1].strip()


def words_of(text: str) -> list[str]:
    """The words and numbers of `text`, lower-cased ("don't" is one word)."""
    return _WORD.findall(text.lower())


def without_citations(text: str) -> str:
    """`text` without bracketed numbers ("within 5 days [1]." -> "within 5 days.")."""
    return _CITATION.sub("", text)


def said_in(sentence: str, text: str) -> bool:
    """True when `text` (an earlier answer) holds `sentence` word for word, citations and punctuation aside."""
    words = " ".join(words_of(sentence))
    return bool(words) and f" {words} " in f" {' '.join(words_of(_CITATION.sub(' ', text)))} "


def supporting_passage(sentence: str, passages: list[Passage]) -> int | None:
    """Index of the first passage that supports `sentence`, or None when no passage does.

    Supported means: every number or range of the sentence occurs in the passage, and at least
    `MIN_SUPPORTED_SHARE` of its content words do. A sentence without content words (e.g. "Sure!") is
    supported by nothing: it adds nothing an answer needs.
    """
    words, numbers = content_terms(sentence)
    if not words:
        return None
    for i, passage in enumerate(passages):
        p_words, p_numbers = content_terms(passage.chunk.text)
        if numbers <= p_numbers and len(words & p_words) >= MIN_SUPPORTED_SHARE * len(words):
            return i
    return None


def cite(sentence: str, number: int) -> str:
    """The sentence with the citation `[number]` before its final punctuation, unless it cites already."""
    parts = text_and_code(sentence)
    if re.search(r"\[\d+\]", prose_of(parts)):  # "sys.argv[1]" in code is no citation
        return sentence
    if parts and parts[-1][1]:  # after a code block's closing fence, "[1]" would read as code (or keep the block open)
        head = "\n".join(part for part, _ in parts[:-1])  # earlier blocks stay where they are
        return f"{cite(head, number)}\n{parts[-1][0]}" if prose_of(parts[:-1]).strip() else f"{sentence}\n\n[{number}]"
    # ":" alone: after "e.g." it announces what follows, and the abbreviation keeps its full stop ("e.g. [1]:").
    match = re.search(r"(?:[.!?]+|:)$", sentence)
    if match:
        return f"{sentence[: match.start()]} [{number}]{match.group(0)}"
    return f"{sentence} [{number}]"
