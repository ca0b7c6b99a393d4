"""Customers' typos, corrected toward the knowledge base's own words before it is searched.

"how do I get a refnd" finds nothing by keyword (BM25 matches whole, stemmed words) and drifts in the embedding
space; "refund", one edit away, is a word of the knowledge base. One typo in each doc2dial question costs a tenth of
the answers' token F1 and doubles the hand-offs of answerable questions (benchmarks/RESULTS.md, thirty-first
session). Only a word that neither the knowledge base nor an English dictionary knows is corrected, and only to a
word of the knowledge base one edit away (a letter left out, added or changed, or two swapped), the most frequent
there when several are: a real word that the knowledge base does not use ("weather") stays as it is, and so do short
words, where one edit is too easily another word ("wifi", "wife").

A space left out is the other typo of fast typing: "close my freemiumaccount", "speak tosomebody". Such a word, when
nothing is one edit away, is read as the two words of the knowledge base it is made of. Both must be its words (the
split serves its search, like the corrections): an English dictionary alone splits names and brands into words and
fragments ("albertsons" -> "albert sons", "walgreens" -> "wal greens").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"[^\W\d_]+")  # letters only: order numbers and codes ("LK-12345678") are never touched
MIN_LETTERS = 5  # shorter words are left as written
MAX_LETTERS = 24  # longer runs of letters are compounds, identifiers or text without spaces
# A word of fewer letters is one half of a run-together pair only when it is a stopword ("tosomebody"): the short
# words of a big knowledge base split names and brands (doc2dial's: "johnnys" -> "john nys", "comcast" -> "com cast").
MIN_SPLIT_LETTERS = 4


def word_counts(texts: Iterable[str]) -> dict[str, int]:
    """How often each word (letters only, in lower case) occurs in `texts`: what `Speller` corrects toward. About 30
    microseconds per chunk on 2 CPU cores (about 3 s for 100,000), so an index counts them once, when it is built."""
    return dict(Counter(word.lower() for text in texts for word in _WORD.findall(text) if len(word) <= MAX_LETTERS))


@lru_cache(maxsize=1)
def _english() -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1)


class Speller:
    """Corrects the words of a message that are typos of the knowledge base's words.

    Usage example:
    ```python
    speller = Speller(word_counts(["Your refund reaches your card within 5 to 10 business days."]))
    speller.correct("when do I get my refnd?")  # "when do I get my refund?"
    ```
    """

    def __init__(self, vocabulary: dict[str, int]) -> None:
        from spellchecker import SpellChecker

        self._known = SpellChecker(language=None, distance=1)
        self._known.word_frequency.load_json(vocabulary)

    @staticmethod
    def warm_up() -> None:
        """Read the English dictionary now (0.12 s, once per process) rather than on the first message with an
        unknown word."""
        _english()

    def correct(self, text: str) -> str:
        """`text` with each word that is a typo of a knowledge-base word replaced by that word (in lower case)."""
        return _WORD.sub(lambda match: self._word(match.group(0)), text)

    def _word(self, word: str) -> str:
        lower = word.lower()
        if not MIN_LETTERS <= len(word) <= MAX_LETTERS or lower in self._known or lower in _english():
            return word
        # pyspellchecker returns a word longer than its longest known word by more than 3 letters as it is.
        corrected = self._known.correction(lower)
        return corrected if corrected not in (None, lower) else self._split(lower) or word

    def _split(self, word: str) -> str | None:
        """`word` as two words of the knowledge base written together, with the space put back ("freemiumaccount" ->
        "freemium account"); the split whose rarer half is the more frequent when there are several; None when there
        is none."""
        from bm25s.stopwords import STOPWORDS_EN

        def part(text: str) -> int:
            usable = len(text) >= MIN_SPLIT_LETTERS or text in STOPWORDS_EN
            return self._known[text] if usable else 0  # how often the knowledge base says it (0: never)

        splits = [(min(part(word[:i]), part(word[i:])), i) for i in range(2, len(word) - 1)]
        count, i = max(splits)
        return f"{word[:i]} {word[i:]}" if count else None
