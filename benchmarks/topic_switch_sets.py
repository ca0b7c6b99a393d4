"""Questions asked in the middle of a conversation about something else: does the bot answer the new question,
and does it still hand over an off-topic request when the conversation before it was about the knowledge base?

doc2dial's own follow-ups (benchmarks/doc2dial_sets.py) never change the subject, so they reward a query that
leans on the history; customers in a chat widget change it all the time. This writes three sets in the
`chatbot eval answers` format, each question with the last two turns of an unrelated conversation before it:
- bitext_switch.jsonl: the Bitext customer messages of bitext_sets.py, after a Bitext message of another category
  (an order question after a refund question) and the first line of its answer;
- doc2dial_switch.jsonl: the 350 doc2dial questions that open a dialogue (self-contained), after the last two turns
  of a dialogue about another document;
- clinc_history.jsonl: the CLINC150 requests of doc2dial_sets.py (not answerable), after the last two turns of a
  doc2dial dialogue;
- doc2dial_prefixed.jsonl: the doc2dial follow-ups of doc2dial_sets.py that have a history, with the last two turns
  of another dialogue before their own (a follow-up in a conversation that changed topic earlier).

Run (after bitext_sets.py --out /tmp/bx and doc2dial_sets.py --out /tmp/d2d):
    .venv/bin/python benchmarks/topic_switch_sets.py --bitext /tmp/bx/bitext.jsonl --clinc /tmp/d2d/clinc.jsonl \
        --doc2dial /tmp/d2d/doc2dial.jsonl --out /tmp/switch
    chatbot --home /tmp/bxhome eval answers --questions /tmp/switch/bitext_switch.jsonl --no-generate --out a.jsonl
    chatbot --home /tmp/d2dhome eval answers --questions /tmp/switch/doc2dial_switch.jsonl --no-generate --out b.jsonl
    chatbot --home /tmp/d2dhome eval answers --questions /tmp/switch/clinc_history.jsonl --no-generate --out c.jsonl
"""

import argparse
import csv
import json
import random
from pathlib import Path

from doc2dial_sets import parse_history

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def bitext_switch(questions: list[dict], rng: random.Random) -> list[dict]:
    with (DATA / "bitext" / "train.csv").open(encoding="utf-8") as fh:
        category = {row["intent"]: row["category"] for row in csv.DictReader(fh)}
    out = []
    for q in questions:
        other = rng.choice(
            [
                o
                for o in questions
                if category[o["intent"]] != category[q["intent"]] and o["intent"] != "contact_human_agent"
            ]
        )
        before = [{"role": "user", "content": other["question"]},
                  {"role": "assistant", "content": other["reference"].split("\n")[0][:300]}]  # fmt: skip
        out.append({**q, "history": before})
    return out


def doc2dial_turns() -> tuple[list[dict], list[dict]]:
    """doc2dial's grounded user turns that open a dialogue, and those at least one exchange into one."""
    rows = read_jsonl(DATA / "doc2dial_dev" / "questions.jsonl")
    openers = [r for r in rows if len(r["question"].split("\t")) == 1]
    return openers, [r for r in rows if len(r["question"].split("\t")) >= 3]


def doc2dial_switch(rng: random.Random) -> list[dict]:
    openers, dialogues = doc2dial_turns()
    out = []
    for i, row in enumerate(openers):
        question, _ = parse_history(row["question"])
        other = rng.choice([d for d in dialogues if d["doc_key"] != row["doc_key"]])
        _, before = parse_history(other["question"])
        out.append({"id": f"d2d-switch-{i}", "question": question, "history": before[-2:],
                    "reference": row["answers"]["text"][0], "answerable": True})  # fmt: skip
    return out


def clinc_history(requests: list[dict], rng: random.Random) -> list[dict]:
    _, dialogues = doc2dial_turns()
    out = []
    for request in requests:
        other = rng.choice(dialogues)
        question, before = parse_history(other["question"])
        turns = [*before, {"role": "user", "content": question},
                 {"role": "assistant", "content": other["answers"]["text"][0]}]  # fmt: skip
        out.append({**request, "history": turns[-2:]})
    return out


def doc2dial_prefixed(follow_ups: list[dict], rng: random.Random) -> list[dict]:
    _, dialogues = doc2dial_turns()
    out = []
    for q in follow_ups:
        if not q.get("history"):
            continue
        _, before = parse_history(rng.choice(dialogues)["question"])
        out.append({**q, "history": before[-2:] + q["history"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bitext", type=Path, required=True, help="bitext.jsonl from bitext_sets.py")
    parser.add_argument("--clinc", type=Path, required=True, help="clinc.jsonl from doc2dial_sets.py")
    parser.add_argument("--doc2dial", type=Path, required=True, help="doc2dial.jsonl from doc2dial_sets.py")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sets = {
        "bitext_switch.jsonl": bitext_switch(read_jsonl(args.bitext), random.Random(5)),
        "doc2dial_switch.jsonl": doc2dial_switch(random.Random(3)),
        "clinc_history.jsonl": clinc_history(read_jsonl(args.clinc), random.Random(4)),
        "doc2dial_prefixed.jsonl": doc2dial_prefixed(read_jsonl(args.doc2dial), random.Random(6)),
    }
    for name, rows in sets.items():
        write_jsonl(args.out / name, rows)
        print(f"{len(rows)} questions in {args.out / name}")


if __name__ == "__main__":
    main()
