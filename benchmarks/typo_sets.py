"""Question sets with a typo in each question: does the bot still find and answer what a customer means?

Customers type fast on phones; dev sets such as doc2dial and CLINC150 are clean. This copies a set in the
`chatbot eval answers` format and puts one typo into each question (the last message only; the history stays as
it was): in one word of 5 or more letters, chosen at random, one edit of the kinds people make on a keyboard, one
letter left out, two letters swapped, a letter typed twice, or a letter replaced by a neighbouring key. The first
and last letters stay. With `--kind join`, the typo is a space left out instead: two adjacent words of letters, 5 or more
together, typed as one ("close my freemiumaccount"). Seeded, so the same input gives the same set.

Run (after doc2dial_sets.py --out /tmp/d2d):
    .venv/bin/python benchmarks/typo_sets.py /tmp/d2d/doc2dial.jsonl /tmp/typo/doc2dial.jsonl
    .venv/bin/python benchmarks/typo_sets.py /tmp/d2d/clinc.jsonl /tmp/typo/clinc.jsonl
    .venv/bin/python benchmarks/typo_sets.py --kind join /tmp/d2d/doc2dial.jsonl /tmp/typo/doc2dial_join.jsonl
    chatbot --home /tmp/d2dhome eval answers --questions /tmp/typo/doc2dial.jsonl --no-generate --out a.jsonl
"""

import argparse
import json
import random
import re
from pathlib import Path

KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
EDITS = ("leave out", "swap", "neighbour", "double")


def neighbours(letter: str) -> list[str]:
    """The keys around `letter` on a QWERTY keyboard (itself for a character that is not a letter there)."""
    for row, keys in enumerate(KEYBOARD_ROWS):
        if letter in keys:
            column = keys.index(letter)
            around = [keys[c] for c in (column - 1, column + 1) if 0 <= c < len(keys)]
            for other in (row - 1, row + 1):
                if 0 <= other < len(KEYBOARD_ROWS):
                    around += [KEYBOARD_ROWS[other][c] for c in (column, column + 1) if c < len(KEYBOARD_ROWS[other])]
            return around
    return [letter]


def with_typo(word: str, rng: random.Random) -> str:
    """`word` (at least 3 letters) with one typo inside it."""
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(EDITS)
    if edit == "leave out":
        return word[:i] + word[i + 1 :]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    key = rng.choice(neighbours(word[i].lower()))
    return word[:i] + (key.upper() if word[i].isupper() else key) + word[i + 1 :]


def with_typo_in(question: str, rng: random.Random) -> str | None:
    """`question` with one typo in a word of 5 or more letters chosen at random (None: it has no such word)."""
    words = list(re.finditer(r"[A-Za-z]{5,}", question))
    if not words:
        return None
    word = rng.choice(words)
    return question[: word.start()] + with_typo(word.group(0), rng) + question[word.end() :]


def with_words_joined(question: str, rng: random.Random) -> str | None:
    """`question` with the space between two adjacent words (letters only, 5 or more together) left out, chosen at
    random (None: it has no such pair)."""
    pairs = re.finditer(r"(?=\b([A-Za-z]+) ([A-Za-z]+)\b)", question)
    pairs = [match for match in pairs if len(match.group(1) + match.group(2)) >= 5]
    if not pairs:
        return None
    pair = rng.choice(pairs)
    space = pair.start() + len(pair.group(1))
    return question[:space] + question[space + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path, help="a question set (JSON lines with a 'question' field)")
    parser.add_argument("out", type=Path, help="where to write the set with typos")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--kind", choices=["letters", "join"], default="letters", help="a typo inside a word, or a space left out"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    changed = 0
    add_typo = with_words_joined if args.kind == "join" else with_typo_in
    for row in rows:
        typed = add_typo(row["question"], rng)
        if typed is not None:
            row["question"] = typed
            changed += 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    print(f"{changed} of {len(rows)} questions have a typo -> {args.out}")


if __name__ == "__main__":
    main()
