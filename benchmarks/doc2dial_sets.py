"""Shared by the doc2dial benchmarks: the doc2dial documents as a knowledge-base folder, its grounded questions,
and CLINC150 requests that this knowledge base cannot answer, in the `chatbot eval answers` question format.

Run: .venv/bin/python benchmarks/doc2dial_sets.py --out /tmp/d2d [--limit 500] [--leave-out 0.2]
writes /tmp/d2d/kb/*.md, /tmp/d2d/doc2dial.jsonl (answerable, with history and reference) and
/tmp/d2d/clinc.jsonl (not answerable: 100 out-of-scope + everyday-assistant requests).

With --leave-out F it also writes a knowledge base with gaps: /tmp/d2d/kb_gaps/ holds all but a random fraction F
of the documents, and /tmp/d2d/gaps.jsonl asks questions about every document, those about a left-out document
marked not answerable. These are the hard "I don't know" cases: questions in the knowledge base's own domain and
words whose answer it does not hold. Some are still answerable from a sibling page (doc2dial's VA pages overlap), so
100% hand-off on them is not the goal; lower is worse.
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


def read_documents() -> list[dict]:
    return [json.loads(line) for line in (DATA / "doc2dial_dev" / "docs.jsonl").open()]


def write_kb(folder: Path, docs: list[dict], leave_out: frozenset[str] = frozenset()) -> int:
    """The documents as Markdown files, except those whose doc_key is in `leave_out`; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for i, doc in enumerate(docs):
        if doc["doc_key"] in leave_out:
            continue
        title = doc["doc_key"].split("#")[0]
        (folder / f"{i:04d}.md").write_text(f"# {title}\n\n{doc['context']}", encoding="utf-8")
        written += 1
    return written


def left_out_documents(docs: list[dict], fraction: float, seed: int = 13) -> frozenset[str]:
    keys = sorted(doc["doc_key"] for doc in docs)
    return frozenset(random.Random(seed).sample(keys, round(fraction * len(keys))))


def doc2dial_questions(limit: int, seed: int = 13, left_out: frozenset[str] = frozenset()) -> list[dict]:
    """`limit` grounded user turns with their history; those about a document in `left_out` are not answerable."""
    rows = [json.loads(line) for line in (DATA / "doc2dial_dev" / "questions.jsonl").open()]
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    out = []
    for i, row in enumerate(rows):
        question, history = parse_history(row["question"])
        answerable = row["doc_key"] not in left_out
        out.append({"id": f"d2d-{i}", "question": question, "history": history,
                    "reference": row["answers"]["text"][0] if answerable else "", "answerable": answerable})  # fmt: skip
    return out


def clinc_questions(limit: int, seed: int = 13) -> list[dict]:
    clinc = json.loads((DATA / "clinc150_dev" / "clinc150_dev.json").read_text())
    rng = random.Random(seed)
    texts = [t for t, _ in clinc["oos_val"]] + [t for t, _ in rng.sample(clinc["val"], max(0, limit - 100))]
    return [{"id": f"clinc-{i}", "question": t, "answerable": False} for i, t in enumerate(texts[:limit])]


def write_questions(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--leave-out", type=float, default=0.0, help="fraction of documents left out of kb_gaps/")
    args = parser.parse_args()
    if not 0.0 <= args.leave_out < 1.0:
        parser.error(f"--leave-out must be in [0, 1): {args.leave_out}")
    docs = read_documents()
    if args.leave_out:
        left_out = left_out_documents(docs, args.leave_out)
        kept = write_kb(args.out / "kb_gaps", docs, left_out)
        rows = doc2dial_questions(args.limit, left_out=left_out)
        write_questions(args.out / "gaps.jsonl", rows)
        gaps = sum(not r["answerable"] for r in rows)
        print(f"{kept} documents in {args.out / 'kb_gaps'} ({len(left_out)} left out); {gaps} of {len(rows)} "
              f"questions in {args.out}/gaps.jsonl are about a left-out document")  # fmt: skip
    n = write_kb(args.out / "kb", docs)
    for name, rows in (("doc2dial", doc2dial_questions(args.limit)), ("clinc", clinc_questions(args.limit))):
        write_questions(args.out / f"{name}.jsonl", rows)
    print(f"{n} documents in {args.out / 'kb'}; questions in {args.out}/doc2dial.jsonl and clinc.jsonl")


if __name__ == "__main__":
    main()
