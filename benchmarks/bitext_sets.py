"""A second domain for the answer benchmarks: the Bitext customer-support set as a small knowledge base of agent
answers (one article per intent: an online shop's orders, refunds, accounts, invoices) and customer messages to
put to it. Short, often misspelt customer messages against procedural answers: unlike doc2dial's government
pages, and what a shop's chat widget gets.

Run: .venv/bin/python benchmarks/bitext_sets.py --out /tmp/bx [--limit 300]
writes /tmp/bx/kb/<intent>.md (27 articles), /tmp/bx/bitext.jsonl (customer messages of other rows, the
article of their intent as reference; `intent` kept, so that requests for a person can be told apart) and
/tmp/bx/faq/faq.csv (the same answers as a FAQ: one customer message per intent, not among the questions, as
the FAQ question; for the FAQ-match threshold). Then:
    CHATBOT_HOME=/tmp/bxhome chatbot kb ingest /tmp/bx/kb
    CHATBOT_HOME=/tmp/bxhome chatbot eval answers --questions /tmp/bx/bitext.jsonl --out bx.jsonl --no-generate
    CHATBOT_HOME=/tmp/bxhome chatbot eval answers --questions /tmp/d2d/clinc.jsonl --out bx_clinc.jsonl --no-generate
(clinc.jsonl from benchmarks/doc2dial_sets.py: requests no support knowledge base answers).
"""

import argparse
import csv
import json
import random
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PLACEHOLDER = re.compile(r"\{\{([^}]+)\}\}")  # "{{Order Number}}" reads as "Order Number"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with (DATA / "bitext" / "train.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_intent: dict[str, list[dict]] = {}
    for row in rows:
        by_intent.setdefault(row["intent"], []).append(row)
    (args.out / "kb").mkdir(parents=True, exist_ok=True)
    articles = {}
    for intent, members in by_intent.items():
        # An answer without an order number or name in it, as a help-centre article would be written.
        article = rng.choice([r for r in members if not r["entity_value"]] or members)
        articles[intent] = PLACEHOLDER.sub(r"\1", article["response"])
        title = intent.replace("_", " ").capitalize()
        (args.out / "kb" / f"{intent}.md").write_text(f"# {title}\n\n{articles[intent]}\n", encoding="utf-8")
        article["used"] = True
    asked = rng.sample([r for r in rows if not r.get("used")], args.limit)
    with (args.out / "bitext.jsonl").open("w", encoding="utf-8") as fh:
        for i, row in enumerate(asked):
            question = {"id": f"bx-{i}", "question": row["instruction"], "reference": articles[row["intent"]],
                        "answerable": True, "intent": row["intent"]}  # fmt: skip
            fh.write(json.dumps(question) + "\n")
    write_faq(args.out / "faq", by_intent, {r["instruction"] for r in asked})
    print(f"{len(articles)} articles in {args.out / 'kb'}; {len(asked)} questions in {args.out / 'bitext.jsonl'}")


def write_faq(folder: Path, by_intent: dict[str, list[dict]], asked: set[str], seed: int = 11) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "faq.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "answer"])
        for _, members in sorted(by_intent.items()):
            plain = [r for r in members if not r["entity_value"] and r["instruction"] not in asked]
            entry = rng.choice([r for r in plain if "?" in r["instruction"]] or plain)  # FAQs are mostly questions
            writer.writerow([entry["instruction"], PLACEHOLDER.sub(r"\1", entry["response"])])


if __name__ == "__main__":
    main()
