"""The demo help center asked as a customer would: does each answer say what the article says?

`demo_questions.csv` holds customer questions written for this benchmark, each with the phrase a right answer
contains (alternatives separated by "|", matched case-insensitively), or HANDOFF for a request the help center
cannot answer or a customer asking for a person. An answer passes when it contains the phrase and is not a
hand-off; a HANDOFF row passes when the bot hands over. Each question starts its own conversation. A few are typed as
customers type ("my parcle arrived damgaed"), one of them a request to hand over.

Run: .venv/bin/python benchmarks/demo_questions.py [--home DIR] [--failures]
"""

import argparse
import csv
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chatbot.config import Settings  # noqa: E402
from chatbot.service import create_service  # noqa: E402
from knowledge_base import DEMO_KB_DIR  # noqa: E402
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.ingest import ingest  # noqa: E402

QUESTIONS = Path(__file__).with_name("demo_questions.csv")


def passes(expected: str, text: str, handed_off: bool) -> bool:
    """Whether an answer is what the row expects (see the module docstring)."""
    if expected == "HANDOFF":
        return handed_off
    return not handed_off and any(phrase.lower() in text.lower() for phrase in expected.split("|"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=None, help="a home with the demo ingested (default: a new one)")
    parser.add_argument("--failures", action="store_true", help="print only the questions that fail")
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="chatbot-bench-")
    settings = Settings.from_env().with_home(home)
    if args.home is None:
        ingest([DEMO_KB_DIR], embedder=SentenceTransformerEmbedder(), index_dir=settings.index_dir, progress=False)
    service = create_service(settings)
    with QUESTIONS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    answered, handoffs = 0, 0
    for row in rows:
        answer = service.ask(row["question"])
        ok = passes(row["expected"], answer.text, answer.handed_off)
        if row["expected"] == "HANDOFF":
            handoffs += ok
        else:
            answered += ok
        if not ok or not args.failures:
            text = " ".join(answer.text.split())
            print(f"{'ok  ' if ok else 'FAIL'} {row['question']!r} [{answer.decision.value} {answer.confidence:.3f}]")
            print(f"       {text[:240]}")
    expected_handoffs = sum(row["expected"] == "HANDOFF" for row in rows)
    print(
        f"\nanswered as the article says: {answered} of {len(rows) - expected_handoffs}; "
        f"handed over as they should be: {handoffs} of {expected_handoffs}"
    )


if __name__ == "__main__":
    main()
