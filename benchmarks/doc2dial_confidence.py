"""Retrieval recall and hand-off calibration on doc2dial (answerable) vs CLINC150 (not answerable by that KB).

Run: .venv/bin/python benchmarks/doc2dial_confidence.py [--limit 500]
Reads ../shared/data; writes nothing in the repository.
"""

import argparse
import json
import os
import random
import re
import tempfile
from difflib import SequenceMatcher
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from chatbot.retrieval import HybridRetriever, IndexHandle  # noqa: E402
from chatbot.types import Turn  # noqa: E402
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.ingest import ingest  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def covers(passage: str, reference: str) -> bool:
    """The passage contains at least half of the reference as one contiguous piece."""
    p, r = norm(passage), norm(reference)
    match = SequenceMatcher(None, p, r, autojunk=False).find_longest_match(0, len(p), 0, len(r))
    return match.size >= 0.5 * len(r)


def parse_history(raw: str) -> tuple[str, list[Turn]]:
    turns = [t for t in raw.split("\t") if t.strip()]  # newest first
    parsed = [Turn("user" if t.startswith("user:") else "assistant", t.split(":", 1)[1].strip()) for t in turns]
    return parsed[0].content, list(reversed(parsed[1:]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(13)
    docs = [json.loads(line) for line in (DATA / "doc2dial_dev" / "docs.jsonl").open()]
    questions = [json.loads(line) for line in (DATA / "doc2dial_dev" / "questions.jsonl").open()]
    questions = rng.sample(questions, min(args.limit, len(questions)))
    clinc = json.loads((DATA / "clinc150_dev" / "clinc150_dev.json").read_text())
    unanswerable = [t for t, _ in clinc["oos_val"]] + [t for t, _ in rng.sample(clinc["val"], args.limit - 100)]

    home = Path(tempfile.mkdtemp(prefix="d2d-"))
    kb = home / "doc2dial"
    kb.mkdir()
    for i, doc in enumerate(docs):
        title = doc["doc_key"].split("#")[0]
        (kb / f"{i:04d}.md").write_text(f"# {title}\n\n{doc['context']}", encoding="utf-8")
    embedder = SentenceTransformerEmbedder()
    ingest([kb], embedder=embedder, index_dir=home / "index", progress=True)
    retriever = HybridRetriever(IndexHandle(home / "index"), embedder)

    for label, use_history in (("latest turn only", False), ("with history", True)):
        hits = {1: 0, 5: 0, 10: 0}
        rr = 0.0
        conf_answerable = []
        for q in questions:
            question, history = parse_history(q["question"])
            passages = retriever.retrieve(question, history if use_history else [], k=10)
            ranks = [i for i, p in enumerate(passages) if covers(p.chunk.text, q["answers"]["text"][0])]
            for k in hits:
                hits[k] += bool(ranks and ranks[0] < k)
            rr += 1 / (ranks[0] + 1) if ranks else 0.0
            conf_answerable.append(max(p.confidence for p in passages[:3]))
        n = len(questions)
        print(f"{label}: recall@1 {hits[1] / n:.3f} @5 {hits[5] / n:.3f} @10 {hits[10] / n:.3f} MRR@10 {rr / n:.3f}")
    conf_unanswerable = [max(p.confidence for p in retriever.retrieve(t, [], k=3)) for t in unanswerable]
    a, u = np.array(conf_answerable), np.array(conf_unanswerable)
    print(
        f"confidence answerable: p5 {np.percentile(a, 5):.3f} p10 {np.percentile(a, 10):.3f} median {np.median(a):.3f}"
    )
    print(
        f"confidence unanswerable: median {np.median(u):.3f} p90 {np.percentile(u, 90):.3f} p95 {np.percentile(u, 95):.3f}"
    )
    for threshold in (0.30, 0.35, 0.40, 0.42, 0.45, 0.50):
        print(
            f"threshold {threshold:.2f}: hands off {np.mean(a < threshold):.1%} of answerable (with history), "
            f"{np.mean(u < threshold):.1%} of unanswerable"
        )


if __name__ == "__main__":
    main()
