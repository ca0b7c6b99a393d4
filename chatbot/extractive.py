"""Extractive answers: an answer composed from the retrieved passages' own sentences, cited.

A small answer model paraphrases badly, and without one the product still answers: the sentence most like the
question (its cosine, its passage's retrieval confidence, its share of the question's words) with what its passage
says next to it or nearly as like the question, lists whole, as the customer should read them. The same choice
answers when a generated answer says nothing that the passages support (see `chatbot.grounding`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from chatbot.grounding import (
    MIN_SUPPORTED_SHARE,
    cite,
    content_terms,
    line_sentences,
    list_marker,
    passage_body,
    stems,
    text_and_code,
    without_citations,
    without_list_marker,
    words_of,
)
from chatbot.types import Passage
from knowledge_base.chunking import ends_clause, ends_sentence

# Markdown's strong emphasis around words ("**Note**", "__not refundable__") and code spans' backticks. A lone "**"
# ("the * and ** specifiers", "**kwargs", the pattern '**') is text, and so is a name in dunders ("__init__"):
# underscores mark strong emphasis here only around words with a space between them.
_EMPHASIS = re.compile(
    r"(?<![\w*])\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*(?![\w*])|(?<!\w)__(?=[^\s_])([^_]*?\s[^_]*?)(?<=\S)__(?!\w)"
)
MIN_ANSWER_WORDS = 6  # shorter sentences are mostly cross-references ("See Returns.") or fragments ...
MIN_STATEMENT_WORDS = 3  # ... but from 3 words on one can answer outright, when it is the most like the question
# A sentence of the answer's passage at least this share as like the question as the best one joins the answer.
SAME_TOPIC = 0.75
# What a sentence's share of the question's own words (`question_coverage`, read with its section's name) adds to its
# score. MiniLM's cosine of a sentence with a question is noisy: for "can I schedule another road test?" it preferred
# "Use the DMV Road test system to schedule confirm, cancel or reschedule a driving skills road test ..." to "You can
# schedule another road test, but you must pay additional fees if ...". Only the choice of the answering sentence
# uses it; which of the passage's other sentences come too stays a matter of cosine. Token F1 (benchmarks/RESULTS.md,
# twenty-ninth session), 0.3 against none: doc2dial +0.8, Bitext +0.9, Debian FAQ +0.9 (even from 0.2 to 0.7);
# counting the sentence's words alone, doc2dial gained 1.4 but Bitext lost 1.8.
COVERAGE_WEIGHT = 0.3
MAX_HEADING_WORDS = 30  # a longer line that ends in a question is a paragraph, not a heading
MAX_TITLE_WORDS = 12  # a longer line without closing punctuation is a cut sentence or a table row, not a title
# What a sentence that defines the term a "What is X?" question asks about adds to its score. Mentions of a term
# are often as like the question as its definition ("The shell sets the default value to the value of HISTSIZE" beside
# "HISTSIZE: The maximum number of commands to remember"), and a glossary's long entries lower its passages' scores.
DEFINITION_BONUS = 0.1
MAX_LIST_WORDS = 160  # a list (steps, options) comes whole when the answer, list included, stays this short
# (Bitext: 110 cut 12 of 300 answers' lists, token F1 60.60; 160 cut none, 60.80)


class Candidate(NamedTuple):
    """A sentence of a retrieved passage that can be part of an extractive answer."""

    passage: int  # index of its passage among the retrieved ones
    position: int  # its place among the passage's sentences
    text: str  # as a customer should read it (see `plain_sentence`)
    marker: str = ""  # "-" or "1." when it belongs to a list item
    continues: bool = False  # a later sentence of the same list item
    heading: bool = False  # part of a heading in the customer's voice (see `is_customer_heading`), or a title
    code: bool = False  # a fenced code block, whole: its text keeps the fences and every line as written
    title: bool = False  # a section's title written as a line of the text (see `is_title`)
    short: bool = False  # under MIN_ANSWER_WORDS words: answers only as the statement most like the question


def plain_sentence(sentence: str) -> str:
    """A passage sentence without Markdown emphasis, list markers, bracketed numbers and a leading "Yes,"/"No.", as
    a customer should read it. A page's own footnote marks ("a DMV office [1]") would read as citations of the
    wrong passages, and its "Yes" answers the page's question, not necessarily the customer's."""
    plain = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), without_list_marker(sentence)).replace("`", "")
    return without_yes_no(without_citations(plain).strip())


_YES_NO = re.compile(r"^(?:yes|no)\s*[,.!;]\s+", re.I)


def without_yes_no(text: str) -> str:
    """`text` without a leading "Yes," / "No." ("No. We ship to the EU only." -> "We ship to the EU only.").

    A FAQ answer or help page answers its own question: "Do you ship outside Europe?" -> "No. We ship to the EU and
    Norway only." Put to "do you ship to Norway?", its "No" is wrong and the rest is right.
    """
    match = _YES_NO.match(text)
    if not match or match.end() == len(text):
        return text
    rest = text[match.end() :]
    return rest[0].upper() + rest[1:]


# "See X", "For more information, see X", "Learn more about X", "Refer to X": a sentence that sends the reader to
# another article. What it names follows (in quotes when there are several: 'See "Refunds" and "Gift cards".').
_REFERENCE = re.compile(
    r"^(?:for (?:more|further|additional) (?:information|details|help)[^,]*,\s*)?(?:please\s+)?"
    r"(?:see|refer to|(?:learn|find out|read) more about)\s+(?P<names>.+)$",
    re.I,
)
_QUOTED = re.compile(r"[\"“”]([^\"“”]+)[\"“”]")
# What follows the name: "... for more information about X", "... page", the full stop.
_REFERENCE_TAIL = re.compile(
    r"\s*(?:\bfor (?:more|further|additional) (?:information|details)\b.*|\bpage\b.*|[.!]+)$", re.I
)


def referenced_names(sentence: str) -> list[str]:
    """The names of the articles a cross-reference sentence sends the reader to, else [].

    'See "Promo codes" and "Gift cards".' -> ["Promo codes", "Gift cards"]; "See the DMV Document Guide for more
    information." -> ["the DMV Document Guide"]; a sentence that is not a cross-reference -> [].
    """
    match = _REFERENCE.match(plain_sentence(sentence))
    if not match:
        return []
    names = match.group("names")
    return _QUOTED.findall(names) or [_REFERENCE_TAIL.sub("", names).strip()]


def refers_to(sentence: str, passage: Passage) -> bool:
    """True when `sentence` sends the reader to the article or section `passage` belongs to: the words of a name
    it gives are (nearly all) words of the passage's title and headings."""
    names = referenced_names(sentence)
    if not names:
        return False
    place, _ = content_terms(f"{passage.chunk.title} {passage.chunk.heading}")
    for name in names:
        words, _ = content_terms(name)
        if words and len(words & place) >= MIN_SUPPORTED_SHARE * len(words):
            return True
    return False


def candidate_sentences(passages: list[Passage]) -> list[Candidate]:
    """The sentences of the passages' bodies that can be part of an answer.

    Sentences under `MIN_ANSWER_WORDS` words are left out (unless nothing else is left), except list items and
    the sentences that introduce a list ("Before you do:"): a list is answered whole (see `extractive_answer`).
    A statement of `MIN_STATEMENT_WORDS` or more that ends as a sentence does is kept but marked `short`: it answers
    only when it is the one most like the question ("We never sell your data."; `extractive_answer`). Without its
    full stop it is a label ("Drivers from other Countries" in a run of section names, a table cell), no answer.
    A section's title written as a line of the text (`is_title`: plain text, PDF, pages without heading markup) is
    a heading of any length: it names the topic, and what follows it answers.
    So are cross-references to an article that another of the passages comes from ('See "Promo codes".'): that
    passage answers in its own words (`refers_to`). A cross-reference to an article not among them stays: it
    tells the customer where to read on.
    """
    every: list[Candidate] = []
    for i, passage in enumerate(passages):
        # (text, list marker, continues an item, heading, code, title)
        sentences: list[tuple[str, str, bool, bool, bool, bool]] = []
        for part, code in text_and_code(passage_body(passage)):
            if code:
                sentences.append((part, "", False, False, True, False))
                continue
            lines = line_sentences(part)
            for number, line in enumerate(lines):
                marker = list_marker(line[0])
                plain = [plain_sentence(s) for s in line]
                # A heading can say the customer's situation before it asks ("My parcel has not arrived. What can I
                # do?"): a short line that ends in such a question, with its answer on the lines after it, is a
                # heading, all of it.
                words = len(" ".join(plain).split())
                asks = (
                    number < len(lines) - 1
                    and not marker
                    and words <= MAX_HEADING_WORDS
                    and is_customer_heading(plain[-1])
                )
                title = (
                    len(plain) == 1
                    and number < len(lines) - 1
                    and not marker
                    and words <= MAX_TITLE_WORDS
                    and is_title(plain[0], lines[number + 1])
                )
                for n, text in enumerate(plain):
                    heading = asks or title or is_customer_heading(text)
                    sentences.append((text, marker, n > 0 and bool(marker), heading, False, title))
        every.extend(Candidate(i, j, *sentence) for j, sentence in enumerate(sentences) if sentence[0])
    places = {(c.passage, c.position): c for c in every}

    def introduces_a_list(c: Candidate) -> bool:
        after = places.get((c.passage, c.position + 1))
        return announces(c.text) and after is not None and bool(after.marker or after.code)

    def short(c: Candidate) -> bool:
        return len(c.text.split()) < MIN_ANSWER_WORDS and not (c.marker or c.code or c.title or introduces_a_list(c))

    marked = [c._replace(short=short(c)) for c in every]
    kept = [
        c
        for c in marked
        if (
            not c.short
            or (len(c.text.split()) >= MIN_STATEMENT_WORDS and not c.heading and ends_sentence(c.text.rstrip()))
        )
        and not any(refers_to(c.text, p) for j, p in enumerate(passages) if j != c.passage)
    ]
    return kept if any(not c.short for c in kept) else every


_QUANTITY_QUESTION = re.compile(
    r"\b(how (long|much|many|soon|fast|late|early|often)|when|what time|which day|until when|deadline)\b", re.I
)


def expects_quantity(question: str) -> bool:
    """True for questions whose answer is a duration, amount, time or count ("How long do refunds take?")."""
    return bool(_QUANTITY_QUESTION.search(question))


# "What is a coroutine?", "what's HISTSIZE", "What does TEMPORARY VISITOR mean?", "define deductible": the
# question names a term and asks what it is.
_DEFINITION_QUESTION = re.compile(
    r"^\W*(?:what(?:'s|\u2019s| is| are)|what does|what do|define|meaning of)\s+(?:(?:a|an|the)\s+)?(?P<term>.+?)"
    r"(?:\s+mean)?[\s?.!]*$",
    re.I,
)
# "X: ...", "X means ...", "X refers to ...", and "X is a/an/the ..." ("Iterators are required to have ..." says
# something about iterators, not what they are).
_DEFINITION_OPENING = re.compile(
    r"^\W*(?:(?:a|an|the)\s+)?(?P<term>[^:]+?)(?::\s|\s+(?:means|refers to)\s|\s+(?:is|are)\s+(?:a|an|the|one)\s)",
    re.I,
)


def asked_term(question: str) -> str | None:
    """The term that `question` asks the meaning of ("What is a coroutine?" -> "coroutine"), or None for another kind
    of question. A term of more than `MAX_TITLE_WORDS` words is a question about something else ("What is the
    procedure if ..."). English only."""
    match = _DEFINITION_QUESTION.match(question.strip())
    if match is None:
        return None
    term = match.group("term").strip(" \"'\u201c\u201d")
    return term if 0 < len(term.split()) <= MAX_TITLE_WORDS else None


def _term_words(text: str) -> list[str]:
    return stems(words_of(text.replace("\u2019", "'")))


def defines_term(sentence: str, term: str) -> bool:
    """True when `sentence` (a candidate's text: plain already) opens by defining `term`: "coroutine: Coroutines are
    ...", "A coroutine is ...", "HISTSIZE means ..."; words compared by their stems, so "coroutines" is "coroutine"."""
    match = _DEFINITION_OPENING.match(sentence)
    return match is not None and _term_words(match.group("term")) == _term_words(term)


def passage_defines(passage: Passage, term: str) -> bool:
    """True when one of `passage`'s sentences defines `term` (`defines_term`)."""
    return any(defines_term(c.text, term) for c in candidate_sentences([passage]))


def with_definition(shown: list[Passage], passages: list[Passage], term: str) -> list[Passage]:
    """`shown` (the first of `passages`), or when none of them defines `term` and a later passage does, `shown` with
    the first such passage in place of its last one. A glossary's chunk holds several terms and is hardly like a
    question that names one: the Python glossary's line for "finder" was in the fourth passage found, "importer"
    in the eighth, and an FAQ answer that uses the word was read instead."""
    if not shown or any(passage_defines(p, term) for p in shown):
        return shown
    later = next((p for p in passages[len(shown) :] if passage_defines(p, term)), None)
    return shown if later is None else [*shown[:-1], later]


def question_coverage(question: str, sentences: list[str]) -> np.ndarray:
    """For each sentence, the share of the question's content words and numbers (`content_terms`) that it has too;
    all 0.0 when the question has none ("What now?")."""
    words, numbers = content_terms(question)
    asked = words | numbers
    if not asked:
        return np.zeros(len(sentences), dtype=np.float32)
    found = [len(asked & (w | n)) for w, n in map(content_terms, sentences)]
    return np.array(found, dtype=np.float32) / len(asked)


_TO_THE_READER = re.compile(r"\b(?:you|your|yours|yourself)\b", re.I)


def is_customer_heading(sentence: str) -> bool:
    """True for a sentence in the customer's voice that heads a section rather than tells the reader something.

    doc2dial's pages head sections with the customer's question ("What can I do?", "Can I keep my CDL?") or
    situation ("I am studying in New York State."); support replies ask the customer for details ("could you
    please provide your order number?"), which is an answer. So: a question, or a sentence that starts with "I",
    that does not address the reader.
    """
    if _TO_THE_READER.search(sentence):
        return False
    return sentence.rstrip().endswith("?") or bool(re.match(r"I\b", sentence))


def is_title(line: str, next_line: list[str]) -> bool:
    """True for a line that titles what follows it ("VA's official podcast" over "Borne the Battle spotlights ..."):
    no closing punctuation, not in the customer's voice (`is_customer_heading`), and followed by prose or a list
    (`next_line`'s sentences), not by another such line, as the lines of a list without markers or a table are.

    doc2dial's pages, text extracted from PDFs and pages without heading markup keep their section titles as lines.
    """
    if not line[-1:].isalnum() or is_customer_heading(line):
        return False
    return bool(list_marker(next_line[0])) or next_line[-1].rstrip()[-1:] in (".", "!", "?", ":")


# "This", "they", "however", "also" ... at a sentence's start point back to the sentence before. "It" does too,
# except as the empty subject of "It appears that ...", "It is important to ...".
_LEANS_BACK = re.compile(
    r"^(?:this|that|these|those|they|such|however|also|but|otherwise|then|in (?:that|this) case|if so|if not"
    r"|it(?! (?:appears|seems|would|looks|sounds|is (?:important|possible|recommended|best|necessary|my|our))))\b"
    r"|^\w+(?: \w+)? (?:can |will |may |must )?also\b",
    re.I,
)


def leans_back(sentence: str) -> bool:
    """True for a sentence that cannot be read without the one before it ("They take 5 days.", "You can also ...")."""
    return bool(_LEANS_BACK.match(sentence))


def extractive_answer(
    candidates: list[Candidate],
    similarities: np.ndarray,
    passage_confidences: list[float],
    *,
    wants_quantity: bool = False,
    max_words: int = 60,
    passage_weight: float = 0.5,
    quantity_bonus: float = 0.1,
    coverages: np.ndarray | None = None,
    coverage_weight: float = COVERAGE_WEIGHT,
    term: str | None = None,
    definition_bonus: float = DEFINITION_BONUS,
    whole: list[bool] | None = None,
) -> str:
    """Compose an answer from the best passage sentences, cited.

    A sentence scores `(1 - passage_weight) * its cosine with the question + passage_weight * its passage's
    retrieval confidence + coverage_weight * its share of the question's words`: a short sentence can look like the
    question by chance, while the passage score saw the whole context.

    Args:
        candidates (`list[Candidate]`): from `candidate_sentences`.
        similarities (`np.ndarray`): cosine of the question with each candidate sentence.
        passage_confidences (`list[float]`): retrieval confidence of each passage.
        max_words (`int`, *optional*, defaults to 60): length bound of the answer.
        wants_quantity (`bool`, *optional*, defaults to `False`): the question asks for a duration, amount or
            time (see `expects_quantity`); sentences with a number then get `quantity_bonus`, because sentence
            embeddings barely notice that "within 5 to 10 business days" answers "how long".
        passage_weight (`float`, *optional*, defaults to 0.5): share of the passage score in a sentence's score.
        quantity_bonus (`float`, *optional*, defaults to 0.1): added to the similarity of sentences with a number.
        coverages (`np.ndarray`, *optional*): each sentence's `question_coverage`; none counts as 0.
        coverage_weight (`float`, *optional*, defaults to `COVERAGE_WEIGHT`): what a full coverage adds to a
            sentence's score.
        term (`str`, *optional*): the term the question asks the meaning of (`asked_term`); a sentence that
            defines it (`defines_term`) gets `definition_bonus` added to its score.
        definition_bonus (`float`, *optional*, defaults to `DEFINITION_BONUS`): see `term`.
        whole (`list[bool]`, *optional*): for each passage, whether it is one answer to one question (`Passage.whole`):
            its sentences that are nearly as like the question join the answer from anywhere in it, not only next to
            the answer. None: no passage is.
    """
    if not candidates:
        return ""
    similarities = np.asarray(similarities, dtype=np.float32)
    # A short statement answers when no other statement is as like the question ("Do you sell my data?" -> "We never
    # sell your data."); otherwise it is left out, as a fragment or an aside. Token F1 (benchmarks/RESULTS.md,
    # twenty-sixth session): doc2dial 35.69 -> 36.12, Debian FAQ 57.67 -> 57.87, Bitext unchanged; admitting short
    # statements anywhere in the answer lost (doc2dial 35.45, Debian FAQ 55.19).
    statements = [k for k, c in enumerate(candidates) if not c.heading]
    best_statement = max(statements, key=lambda k: similarities[k], default=None)
    keep = [k for k, c in enumerate(candidates) if not c.short or k == best_statement]
    coverages = np.zeros(len(candidates), dtype=np.float32) if coverages is None else np.asarray(coverages)
    candidates, similarities, coverages = [candidates[k] for k in keep], similarities[keep], coverages[keep]
    passage_scores = np.array([passage_confidences[c.passage] for c in candidates], dtype=np.float32)
    if wants_quantity:
        has_number = np.array([bool(re.search(r"\d", c.text)) for c in candidates])
        similarities = similarities + quantity_bonus * has_number
    scores = (1 - passage_weight) * similarities + passage_weight * passage_scores
    scores = scores + coverage_weight * coverages
    if term is not None:
        scores = scores + definition_bonus * np.array([defines_term(c.text, term) for c in candidates])
    best = answering_sentence(candidates, scores, similarities)
    passage, position = candidates[best].passage, candidates[best].position
    # The sentence that names the topic is often followed by the one that answers ("If you have minimum
    # coverage, ..." -> "you won't have to pay the fee"): the passage's next sentence comes too. Then the
    # passage's other sentences that are nearly as relevant, while the answer stays short: policies often give the
    # rule in one sentence and the number in another. From a passage cut from a longer page, only those next to one
    # the answer has: there an answer is one stretch of the passage, and a sentence further on that is as like the
    # question is mostly about something else (the next question of a FAQ page, another case). A short article or a
    # FAQ entry answers one question (`whole`): from anywhere in it. Token F1 (benchmarks/RESULTS.md,
    # thirty-seventh session) against anywhere in every passage: doc2dial 38.57 -> 39.17, Debian FAQ 61.45 -> 63.98,
    # Python FAQ 60.23 -> 64.38, LibreOffice 75.56 -> 75.06, Bitext 64.10 -> 63.94 (next to the answer in short
    # articles too: 61.32).
    # "Next" skips what `candidate_sentences` left out: after the heading "Can I manage my benefits online?" the
    # passage says "Yes." (too short to keep) and then how.
    # After a list item comes the next item or the text after the list: its list, whole, is what follows it.
    later = [k for k, c in enumerate(candidates) if c.passage == passage and c.position > position]
    following = [] if candidates[best].marker or not later else [min(later, key=lambda k: candidates[k].position)]
    same = sorted((k for k, c in enumerate(candidates) if c.passage == passage), key=lambda k: -similarities[k])
    # A definition list's line ("BASH_VERSION: The version number ...") goes on with its own entry only: the sentences
    # after it up to the next line that defines a term. The others, next or alike, are about other terms.
    if defines(candidates[best].text):
        entry_end = min(
            (c.position for c in candidates if c.passage == passage and c.position > position and defines(c.text)),
            default=None,
        )
        own = {
            k
            for k, c in enumerate(candidates)
            if c.passage == passage and position < c.position and (entry_end is None or c.position < entry_end)
        }
        following, same = ([k for k in ks if k in own] for ks in (following, same))
    # A sentence that leans on the one before it ("It is a DMV-approved course.", "You can also ...") brings that one:
    # alone, the customer cannot tell what "it" is.
    before = [k for k, c in enumerate(candidates) if c.passage == passage and c.position == position - 1]
    leans = leans_back(candidates[best].text) and not candidates[best].marker
    chosen = [best] + [k for k in before if leans and not candidates[k].marker]
    # A heading is left out below, so its words do not count, and what follows it is its answer, whatever its length.
    heading = candidates[best].heading
    runs = list_runs(candidates)
    for k in following + same:
        said = [c for c in chosen if not candidates[c].heading]
        words = sum(len(candidates[c].text.split()) for c in said) + len(candidates[k].text.split())
        # Next to the answer, lists counted whole on either side: a chosen item or introduction brings its list
        # (below), and an item of a list next to the answer brings the list next to it.
        reach = set(chosen).union(*(run for run in runs if set(run) & set(chosen)))
        unit = set().union({k}, *(run for run in runs if k in run))
        beside = (whole is not None and whole[passage]) or any(
            abs(candidates[j].position - candidates[c].position) == 1 for j in unit for c in reach
        )
        relevant = k in following or (beside and 0 < SAME_TOPIC * similarities[best] <= similarities[k])
        if k not in chosen and relevant and (words <= max_words or (heading and k in following)):
            chosen.append(k)
    # A question or situation in the customer's voice is the passage's heading or FAQ entry ("Can I keep my CDL?",
    # "I am studying in New York State."): it names the topic that the sentences after it answer, and only repeats
    # what the customer said. Left out when something else is said. A question to the reader ("could you give us
    # your order number?") is part of the answer and stays.
    statements = [k for k in chosen if not candidates[k].heading]
    chosen = statements or chosen
    chosen, cut = with_whole_lists(candidates, chosen, runs, max_words=max(max_words, MAX_LIST_WORDS))
    # A sentence that ends in ":" announces what comes after it. Where that is not in the answer (the next section
    # of the page: "The Cargo home consists of the following components:"), it tells the customer nothing.
    places = {(candidates[k].passage, candidates[k].position) for k in chosen}
    chosen = [
        k
        for k in chosen
        if not announces(candidates[k].text) or (candidates[k].passage, candidates[k].position + 1) in places
    ] or chosen
    text = compose([candidates[k] for k in sorted(chosen, key=lambda k: candidates[k].position)])
    return cite(text + "\n…" if cut else text, passage + 1)  # "…": the source has more


_DEFINED_TERM = re.compile(r"^(?:(?!\. )[^?!:;])+: (?=\S)")
# A defined term is a name of a few words ("BASH_VERSION", "asynchronous generator iterator", "Turning on
# protection"); before a colon, more words are a sentence's ("There are two production-ready versions of Python: 2.x
# and 3.x.").
MAX_DEFINED_WORDS = 6


def defines(sentence: str) -> bool:
    """True for a sentence that gives a term and then its meaning, as a definition list's lines read
    ("BASH_VERSION: The version number of the current instance of Bash.", see `knowledge_base.loaders.is_term`)."""
    match = _DEFINED_TERM.match(sentence)
    return match is not None and len(match.group(0).split()) <= MAX_DEFINED_WORDS


_POINTS_FORWARD = re.compile(
    r"(?:\b(?:listed|shown|described|explained|detailed|outlined|given|see|steps|options) below|\bthe below\b"
    r"|\bas follows\b|\bthe following\b|:$)",
    re.I,
)


def points_forward(sentence: str) -> bool:
    """True for a sentence whose point comes after it ("... the documents listed below.", "Follow these steps:")."""
    return bool(_POINTS_FORWARD.search(sentence.rstrip()))


def announces(sentence: str) -> bool:
    """True for a sentence that ends in ":": what it says comes after it ("Bring the following:")."""
    return sentence.rstrip().endswith(":")


def answering_sentence(candidates: list[Candidate], scores: np.ndarray, similarities: np.ndarray) -> int:
    """The best-scoring candidate, where what it needs after it is there too.

    A heading in the customer's voice that ends its passage ("How do I respond to the letter?") only repeats the
    question, and a sentence that points forward ("bring one of the documents listed below") lacks its point: both
    continue in the next chunk, which repeats them (chunks overlap) and is often among the passages too. Then that
    copy is the best sentence. Else a pointer still says something, and so does a heading whose passage says more
    on the question (`extractive_answer` adds those sentences); a heading with nothing of the kind gives way to the
    next best sentence, and stands alone only when nothing else is left. So does a sentence that ends in ":" with
    nothing after it in its passage ("A basic CI will build and test your projects:" before the next section).
    """

    def answers(j: int, k: int) -> bool:  # candidate j is a sentence of k's passage that is no heading
        return j != k and candidates[j].passage == candidates[k].passage and not candidates[j].heading

    def followed(k: int) -> bool:
        return any(answers(j, k) and candidates[j].position > candidates[k].position for j in range(len(candidates)))

    def on_topic(k: int) -> bool:
        return any(answers(j, k) and similarities[j] >= SAME_TOPIC * similarities[k] for j in range(len(candidates)))

    ranking = [int(k) for k in np.argsort(-scores, kind="stable")]
    for k in ranking:
        heading = candidates[k].heading
        if followed(k) or not (heading or points_forward(candidates[k].text)):
            return k
        copies = [j for j in ranking if candidates[j].text == candidates[k].text and followed(j)]
        if copies:
            return copies[0]
        if not (heading or announces(candidates[k].text)) or on_topic(k):
            return k
    return ranking[0]


def list_runs(candidates: list[Candidate]) -> list[list[int]]:
    """The lists among `candidates`: for each, the indices of its items in order, after the sentence that
    introduces it when one does (ends in ":" right before the first item). A code block is a list of one: it comes
    whole, with the sentence that introduces it ("Set the hook in shop.yaml:").

    A numbered list goes on past a few sentences without a marker when its numbering goes on after them (`resumes`):
    "7. Select to save in LibreOffice or current document." / "This sets the scope of ..." / "8. Select an event ...":
    one list of steps, with a note under a step."""
    places = {(c.passage, c.position): k for k, c in enumerate(candidates)}
    runs: list[list[int]] = []
    for k, c in enumerate(candidates):
        before = places.get((c.passage, c.position - 1))
        if not (c.marker or c.code) or (c.marker and before is not None and candidates[before].marker):
            continue  # not an item, or not the first of its list
        run = [k]
        while c.marker and (n := places.get((c.passage, c.position + len(run)))) is not None and candidates[n].marker:
            run.append(n)
        if before is not None and announces(candidates[before].text):
            run.insert(0, before)
        if runs and resumes(candidates, runs[-1], run):
            runs[-1].extend(between(candidates, runs[-1][-1], run[0]) + run)  # with the notes between
        else:
            runs.append(run)
    return runs


# A numbered list's steps can have a few sentences of their own between them ("This sets the scope of the new event
# assignment ...", "The Remote files dialog appears."); more, and what follows is another list.
MAX_LIST_BREAK = 4


def step_number(candidate: Candidate) -> int | None:
    """The number of a numbered list item ("3." -> 3); None for a bullet or a sentence outside a list."""
    return int(candidate.marker[:-1]) if candidate.marker[:-1].isdigit() else None


def numbering_goes_on(last: int | None, number: int | None) -> bool:
    """True when step `number` follows step `last` (by one or two: a step too short to keep may be missing)."""
    return last is not None and number is not None and last < number <= last + 2


def resumes(candidates: list[Candidate], run: list[int], later: list[int]) -> bool:
    """True when the list `later` goes on with the numbered list `run` of the same passage: its first item's number
    follows the last number of `run` (`numbering_goes_on`), with at most `MAX_LIST_BREAK` sentences without a marker
    between them. Numbered questions ("7. Is there a fee?") are a FAQ's entries, each with its answer, not steps."""
    last, first = candidates[run[-1]], candidates[later[0]]
    numbers = [n for n in (step_number(candidates[k]) for k in run) if n is not None]
    notes = [candidates[k] for k in between(candidates, run[-1], later[0])]
    return (
        first.passage == last.passage
        and numbering_goes_on(numbers[-1] if numbers else None, step_number(first))
        and not (last.heading or first.heading)
        and len(notes) <= MAX_LIST_BREAK
        and not any(c.marker or c.code or c.heading for c in notes)
    )


def between(candidates: list[Candidate], a: int, b: int) -> list[int]:
    """The candidates of the passage of `a` that come after `a` and before `b`, in order."""
    start, end = candidates[a], candidates[b]
    inside = [k for k, c in enumerate(candidates) if c.passage == start.passage and start.position < c.position]
    return sorted((k for k in inside if candidates[k].position < end.position), key=lambda k: candidates[k].position)


def with_whole_lists(
    candidates: list[Candidate], chosen: list[int], runs: list[list[int]], *, max_words: int
) -> tuple[list[int], bool]:
    """`chosen` and, for each list it touches, the whole list and the sentence that introduces it; and whether a
    list was cut short.

    Steps and options are written as lists ("To cancel: 1. Log in ... 2. Open Orders ..."): one item alone
    answers nothing, and the item most like the question is rarely the first step. A chosen item, or a chosen
    sentence that introduces a list, brings its list (of `runs`, from `list_runs`) from the start, as far as
    `max_words` allows.
    """
    result, cut = list(chosen), False
    words = sum(len(candidates[k].text.split()) for k in chosen)
    for run in runs:
        if not set(run) & set(chosen):
            continue
        for k in run:
            if k in result:
                continue
            if words + len(candidates[k].text.split()) > max_words:
                cut = True
                break
            result.append(k)
            words += len(candidates[k].text.split())
    return result, cut


def compose(sentences: list[Candidate]) -> str:
    """Sentences into answer text: list items on lines of their own with their markers, so that the chat shows
    a list ("…" before one that starts past step 1), code blocks in their fences, and a paragraph after a list or
    block; other sentences end with a full stop if they had none (table rows), or with ":" before a code block
    ("execute the command" + "dpkg --list")."""
    text, after_item, step = "", False, None
    for n, c in enumerate(sentences):
        if c.code:
            text += f"\n{c.text}"
        elif c.marker and not c.continues:
            # A numbered list that begins past its first step here began in the passage before: say so. Not when
            # it goes on after a note under its last step (see `resumes`).
            number = step_number(c)
            late_start = not after_item and number is not None and number > 1 and not numbering_goes_on(step, number)
            text += f"\n…\n{c.marker} {c.text}" if late_start else f"\n{c.marker} {c.text}"
            step = number if number is not None else step
        elif c.continues:
            text += f" {c.text}"
        else:
            stop = ":" if n + 1 < len(sentences) and sentences[n + 1].code else "."
            text += ("\n\n" if after_item else " ") + (c.text if ends_clause(c.text) else c.text + stop)
        after_item = bool(c.marker or c.code)
    return text.strip()
