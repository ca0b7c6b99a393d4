"""Pure checks that keep answers grounded: sentence splitting, support by a passage, extractive answers.

A small answer model paraphrases badly: it invents numbers and policies that sound right. Every generated
sentence is therefore checked against the passages it was given before a customer sees it; a sentence is
supported when one passage contains all of its numbers and most of its content words. When the model says
nothing supported, the answer is composed from the passages' own sentences instead. A strong model passes
the check almost always, so the same path gets better with a better model rather than different.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from chatbot.types import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A number, or a range such as "5 to 10" / "5-10", which is one claim: "3 to 5 days" is not "3 days".
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s*(?:-|–|to)\s*(\d+(?:[.,]\d+)*))?")
_CITATION = re.compile(r"\s*\[\d+\]")
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


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (and lines: list items and headings end a sentence too)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


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
    if re.search(r"\[\d+\]", sentence):
        return sentence
    match = re.search(r"[.!?]+$", sentence)
    if match:
        return f"{sentence[: match.start()]} [{number}]{match.group(0)}"
    return f"{sentence} [{number}]"


_MARKUP = re.compile(r"\*\*|__|`|^\s*(?:[-*+]|\d+\.)\s+")
MIN_ANSWER_WORDS = 6  # shorter sentences are mostly cross-references ("See Returns.") or fragments


def plain_sentence(sentence: str) -> str:
    """A passage sentence without Markdown emphasis and list markers, as a customer should read it."""
    return _MARKUP.sub("", sentence).strip()


def candidate_sentences(passages: list[Passage]) -> list[tuple[int, int, str]]:
    """(passage index, position, sentence) for the sentences of the passages' bodies that can answer alone.

    Sentences under `MIN_ANSWER_WORDS` words are left out, unless nothing else is left.
    """
    every = [
        (i, j, plain_sentence(sentence))
        for i, passage in enumerate(passages)
        for j, sentence in enumerate(split_sentences(passage_body(passage)))
    ]
    every = [c for c in every if c[2]]
    return [c for c in every if len(c[2].split()) >= MIN_ANSWER_WORDS] or every


_QUANTITY_QUESTION = re.compile(
    r"\b(how (long|much|many|soon|fast|late|early|often)|when|what time|which day|until when|deadline)\b", re.I
)


def expects_quantity(question: str) -> bool:
    """True for questions whose answer is a duration, amount, time or count ("How long do refunds take?")."""
    return bool(_QUANTITY_QUESTION.search(question))


_TO_THE_READER = re.compile(r"\b(?:you|your|yours|yourself)\b", re.I)


def is_heading_question(sentence: str) -> bool:
    """True for a question that heads a section rather than asks the reader something.

    doc2dial's pages head sections with the customer's question ("What can I do?", "Can I keep my CDL?"); support
    replies ask the customer for details ("could you please provide your order number?"), which is an answer.
    """
    return sentence.rstrip().endswith("?") and not _TO_THE_READER.search(sentence)


def extractive_answer(
    candidates: list[tuple[int, int, str]],
    similarities: np.ndarray,
    passage_confidences: list[float],
    *,
    wants_quantity: bool = False,
    max_words: int = 60,
    passage_weight: float = 0.5,
    quantity_bonus: float = 0.1,
) -> str:
    """Compose an answer from the best passage sentences, cited.

    A sentence scores `(1 - passage_weight) * its cosine with the question + passage_weight * its passage's
    retrieval confidence`: a short sentence can look like the question by chance, while the passage score
    saw the whole context.

    Args:
        candidates (`list[tuple[int, int, str]]`): from `candidate_sentences`.
        similarities (`np.ndarray`): cosine of the question with each candidate sentence.
        passage_confidences (`list[float]`): retrieval confidence of each passage.
        max_words (`int`, *optional*, defaults to 60): length bound of the answer.
        wants_quantity (`bool`, *optional*, defaults to `False`): the question asks for a duration, amount or
            time (see `expects_quantity`); sentences with a number then get `quantity_bonus`, because sentence
            embeddings barely notice that "within 5 to 10 business days" answers "how long".
        passage_weight (`float`, *optional*, defaults to 0.5): share of the passage score in a sentence's score.
        quantity_bonus (`float`, *optional*, defaults to 0.1): added to the similarity of sentences with a number.
    """
    if not candidates:
        return ""
    passage_scores = np.array([passage_confidences[c[0]] for c in candidates], dtype=np.float32)
    similarities = np.asarray(similarities, dtype=np.float32)
    if wants_quantity:
        has_number = np.array([bool(re.search(r"\d", c[2])) for c in candidates])
        similarities = similarities + quantity_bonus * has_number
    scores = (1 - passage_weight) * similarities + passage_weight * passage_scores
    best = int(np.argmax(scores))
    passage, position = candidates[best][0], candidates[best][1]
    # The sentence that names the topic is often followed by the one that answers ("If you have minimum
    # coverage, ..." -> "you won't have to pay the fee"): the passage's next sentence comes too. Then the
    # passage's other sentences that are nearly as relevant, while the answer stays short: policies often give
    # the rule in one sentence and the number in another.
    following = [k for k, c in enumerate(candidates) if c[0] == passage and c[1] == position + 1]
    same = sorted((k for k, c in enumerate(candidates) if c[0] == passage), key=lambda k: -similarities[k])
    chosen = [best]
    for k in following + same:
        words = sum(len(candidates[c][2].split()) for c in chosen) + len(candidates[k][2].split())
        relevant = k in following or 0 < 0.75 * similarities[best] <= similarities[k]
        if k not in chosen and relevant and words <= max_words:
            chosen.append(k)
    # A question in the customer's voice is the passage's heading or FAQ entry ("Can I keep my CDL?"): it names
    # the topic that the sentences after it answer, and only repeats the customer's question. Left out when
    # something else is said. A question to the reader ("could you give us your order number?") is part of the
    # answer and stays.
    statements = [k for k in chosen if not is_heading_question(candidates[k][2])]
    chosen = statements or chosen
    text = " ".join(candidates[k][2] for k in sorted(chosen, key=lambda k: candidates[k][1]))
    return cite(text if text[-1:] in ".!?" else text + ".", passage + 1)
