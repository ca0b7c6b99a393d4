"""Shared by the doc2dial benchmarks: the doc2dial documents as a knowledge-base folder, its grounded questions,
and CLINC150 requests that this knowledge base cannot answer, in the `chatbot eval answers` question format.

Run: .venv/bin/python benchmarks/doc2dial_sets.py --out /tmp/d2d [--limit 500]
writes /tmp/d2d/kb/*.md, /tmp/d2d/doc2dial.jsonl (answerable, with history and reference) and
/tmp/d2d/clinc.jsonl (not answerable: 100 out-of-scope + everyday-assistant requests).
"""

import argparse
import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def parse_history(raw: str) -> tuple[str, list[dict[str, str]]]:
    """doc2dial's `question` field (turns newest first, tab-separated, `user:`/`agent:` prefixes) as the latest
    question and the history oldest first."""
    turns = [t for t in raw.split("\t") if t.strip()]
    parsed = [
        {"role": "user" if t.startswith("user:") else "assistant", "content": t.split(":", 1)[1].strip()}
        for t in turns
    ]
    return parsed[0]["content"], list(reversed(parsed[1:]))


def write_kb(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    docs = [json.loads(line) for line in (DATA / "doc2dial_dev" / "docs.jsonl").open()]
    for i, doc in enumerate(docs):
        title = doc["doc_key"].split("#")[0]
        (folder / f"{i:04d}.md").write_text(f"# {title}\n\n{doc['context']}", encoding="utf-8")
    return len(docs)


def doc2dial_questions(limit: int, seed: int = 13) -> list[dict]:
    rows = [json.loads(line) for line in (DATA / "doc2dial_dev" / "questions.jsonl").open()]
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    out = []
    for i, row in enumerate(rows):
        question, history = parse_history(row["question"])
        out.append({"id": f"d2d-{i}", "question": question, "history": history,
                    "reference": row["answers"]["text"][0], "answerable": True})  # fmt: skip
    return out


def clinc_questions(limit: int, seed: int = 13) -> list[dict]:
    clinc = json.loads((DATA / "clinc150_dev" / "clinc150_dev.json").read_text())
    rng = random.Random(seed)
    texts = [t for t, _ in clinc["oos_val"]] + [t for t, _ in rng.sample(clinc["val"], max(0, limit - 100))]
    return [{"id": f"clinc-{i}", "question": t, "answerable": False} for i, t in enumerate(texts[:limit])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=500)
    args = parser.parse_args()
    n = write_kb(args.out / "kb")
    for name, rows in (("doc2dial", doc2dial_questions(args.limit)), ("clinc", clinc_questions(args.limit))):
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    print(f"{n} documents in {args.out / 'kb'}; questions in {args.out}/doc2dial.jsonl and clinc.jsonl")


if __name__ == "__main__":
    main()
