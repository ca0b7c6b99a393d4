"""doc2dial retrieval: BM25 alone, dense (MiniLM + FAISS) alone and the product's hybrid (RRF), with the latest
turn only and with the conversation history. Metrics: recall within the first 600 words of retrieved text,
recall@5, MRR@10 (a passage covers the gold span when it holds half of it as one contiguous piece).

Run: .venv/bin/python benchmarks/retrieval_baselines.py [--limit 500] [--chunk-words 120]
Reads ../shared/data; writes nothing in the repository.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from doc2dial_sets import doc2dial_questions, read_documents, write_kb  # noqa: E402

from chatbot.evaluation import covers, within_budget  # noqa: E402
from chatbot.retrieval import HybridRetriever, IndexHandle, build_query  # noqa: E402
from chatbot.types import Turn  # noqa: E402
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.ingest import ingest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--chunk-words", type=int, default=120)
    parser.add_argument("--overlap-words", type=int, default=30)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="d2d-"))
    write_kb(home / "kb", read_documents())
    embedder = SentenceTransformerEmbedder()
    ingest([home / "kb"], embedder=embedder, index_dir=home / "index", chunk_words=args.chunk_words,
           chunk_overlap_words=args.overlap_words, progress=False)  # fmt: skip
    handle = IndexHandle(home / "index")
    index = handle.get()
    hybrid = HybridRetriever(handle, embedder)
    questions = doc2dial_questions(args.limit)
    print(f"{len(index)} chunks of ~{args.chunk_words} words, {len(questions)} questions")

    for use_history in (False, True):
        for method in ("bm25", "dense", "hybrid"):
            budget_hits = at5 = 0
            rr = 0.0
            started = time.perf_counter()
            for q in questions:
                history = [Turn(t["role"], t["content"]) for t in q["history"]] if use_history else []
                query = build_query(q["question"], history, 4)
                if method == "bm25":
                    rows = [r for r, _ in index.search_bm25(query, 10)]
                elif method == "dense":
                    rows = [r for r, _ in index.search_dense(embedder.embed([query])[0], 10)]
                else:
                    rows = []
                texts = (
                    [p.chunk.text for p in hybrid.retrieve(q["question"], history, 10)]
                    if method == "hybrid"
                    else [index.chunks[r].text for r in rows]
                )
                ranks = [i for i, t in enumerate(texts) if covers(t, q["reference"])]
                budget_hits += any(covers(t, q["reference"]) for t in within_budget(texts))
                at5 += bool(ranks and ranks[0] < 5)
                rr += 1 / (ranks[0] + 1) if ranks else 0.0
            n = len(questions)
            ms = (time.perf_counter() - started) * 1000 / n
            label = "with history" if use_history else "latest turn"
            print(f"{label:12s} {method:6s}: recall within 600 words {budget_hits / n:.3f}  recall@5 {at5 / n:.3f}  "
                  f"MRR@10 {rr / n:.3f}  ({ms:.0f} ms/question)")  # fmt: skip


if __name__ == "__main__":
    main()
