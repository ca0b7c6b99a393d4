"""Answer-quality metrics against a reference text, written out so that their exact definitions are visible.

`token_f1` is the SQuAD/doc2dial answer F1 (lower-cased, punctuation and English articles removed, bag of
tokens); `rouge_l` is the ROUGE-L F-measure (longest common subsequence of the same tokens, beta = 1).
`answer_prose` is what of a product answer they score.
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_CITATION = re.compile(r"\s*\[\d+\]")
_MORE = re.compile(r"\s*…$")


def answer_prose(answer: str) -> str:
    """The words of an answer: its citations ("[1]") and the closing "…" that says the source goes on are links and
    signs, and no reference text holds them. Without this, "[1]" counts as the word "1" (doc2dial's gold spans are a
    median 17 words, so one extra word costs about 3% of a right answer's F1)."""
    return _MORE.sub("", _CITATION.sub("", answer)).strip()


def normalise_tokens(text: str) -> list[str]:
    """Lower-case, drop punctuation and articles, split on whitespace."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (0.0 when either side is empty, 1.0 when both are)."""
    pred, ref = normalise_tokens(prediction), normalise_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: list[str], b: list[str]) -> int:
    # One row of the dynamic programme at a time: O(len(a) * len(b)) time, O(len(b)) memory.
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over normalised tokens (0.0 when either side is empty, 1.0 when both are)."""
    pred, ref = normalise_tokens(prediction), normalise_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    lcs = _lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
