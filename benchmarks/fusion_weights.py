"""Fuse dense and BM25 retrieval by a weighted sum of their scores instead of by rank: fit the weights and compare
with the product's reciprocal rank fusion (`HybridRetriever.retrieve`) on the sets given.

Each question's candidates are the union of the dense top 50 (for the product's query vector and for the question
and its conversation as one text) and the BM25 top 50 (for the question alone and with its conversation), read as the
product reads them (a reply with the question it answers, typos corrected). Five pieces of evidence per candidate:
its cosine with the product's query vector, with the question and conversation as one text, with the question
alone, and its two BM25 scores, each over the best of its search. A candidate is relevant when its chunk holds the
reference (`chatbot.evaluation.covers`). The weights are fitted so that a softmax over each question's candidates
puts its mass on the relevant ones (L-BFGS, a small L2 penalty), cross-validated by the document that holds the
reference (a dialogue's questions never sit on both sides); each `--check` set (knowledge bases the fit never saw)
is ranked with the weights fitted on all `--train` sets. With `--grid STEP` every weight vector on a grid (steps of
STEP, summing to 1) is ranked too, and the ten best on the train sets are printed with their recall@1 everywhere.

Run: .venv/bin/python benchmarks/fusion_weights.py --train HOME:QUESTIONS [...] [--check HOME:QUESTIONS ...]
HOME is an ingested data directory, QUESTIONS a question file of `chatbot eval answers` (`doc2dial_sets.py`,
`topic_switch_sets.py`, `bitext_sets.py`, ...). Writes nothing. Results: benchmarks/RESULTS.md, thirty-sixth session.
"""

import argparse
import itertools
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from chatbot.config import HISTORY_TURNS  # noqa: E402  (the product's default, `Settings.history_turns`)
from chatbot.evaluation import EvalQuestion, covers, read_questions  # noqa: E402
from chatbot.retrieval import (  # noqa: E402
    HybridRetriever,
    IndexHandle,
    as_searched,
    build_query,
    earlier_messages,
    query_vector,
)
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.index import KnowledgeIndex  # noqa: E402

CANDIDATES = 50


def relative(found: list[tuple[int, float]], rows: list[int]) -> np.ndarray:
    best = found[0][1] if found else 0.0
    scores = dict(found)
    return np.array([scores.get(row, 0.0) / best if best > 0 else 0.0 for row in rows], dtype=np.float32)


def evidence(
    index: KnowledgeIndex, embedder: SentenceTransformerEmbedder, q: EvalQuestion
) -> tuple[list[int], np.ndarray]:
    """The candidates of one question and their five evidence columns."""
    question, history, _ = as_searched(index, q.question, q.history)
    earlier = earlier_messages(history, HISTORY_TURNS)
    with_history = build_query(question, history, HISTORY_TURNS)
    vectors = embedder.embed([question, with_history, *earlier] if earlier else [question])
    alone, together = vectors[0], vectors[1] if earlier else vectors[0]
    mixed = query_vector(alone, vectors[2:])
    dense = index.search_dense(mixed, CANDIDATES) + index.search_dense(together, CANDIDATES)
    bm25 = index.search_bm25(question, CANDIDATES)
    bm25_history = index.search_bm25(with_history, CANDIDATES) if earlier else bm25
    rows = sorted({row for row, _ in dense + bm25 + bm25_history})
    found = index.vectors[rows]
    columns = [found @ mixed, found @ together, found @ alone, relative(bm25, rows), relative(bm25_history, rows)]
    return rows, np.column_stack(columns).astype(np.float32)


def collect(embedder: SentenceTransformerEmbedder, spec: str) -> list[dict]:
    """One record per answerable question of `spec` ("HOME:QUESTIONS")."""
    home, questions = spec.split(":", 1)
    retriever = HybridRetriever(IndexHandle(Path(home) / "index"), embedder, history_turns=HISTORY_TURNS)
    index = retriever.index.get()
    place = {(chunk.source, chunk.position): row for row, chunk in enumerate(index.chunks)}
    records = []
    for q in tqdm(read_questions(Path(questions)), desc=Path(questions).name, file=sys.stderr):
        if not q.answerable or not q.reference:
            continue
        rows, columns = evidence(index, embedder, q)
        labels = np.array([covers(index.chunks[row].text, q.reference) for row in rows], dtype=bool)
        relevant = {row for row, hit in zip(rows, labels, strict=True) if hit}
        product = [place[(p.chunk.source, p.chunk.position)] for p in retriever.retrieve(q.question, q.history, 3)]
        document = next((index.chunks[row].source for row in sorted(relevant)), None)
        records.append(
            {
                "columns": columns,
                "labels": labels,
                "group": f"{home}:{document}",
                "rank_fusion": (product[0] in relevant, bool(relevant & set(product))),
            }
        )
    return records


def fit(records: list[dict], l2: float = 1e-3) -> np.ndarray:
    """Weights that maximise the softmax mass on each question's relevant candidates, scaled to sum to 1."""
    records = [r for r in records if r["labels"].any()]
    columns = [torch.tensor(r["columns"]) for r in records]
    labels = [torch.tensor(r["labels"]) for r in records]
    weights = torch.zeros(columns[0].shape[1], requires_grad=True)
    optimiser = torch.optim.LBFGS([weights], max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        total = sum(
            -torch.logsumexp(torch.log_softmax(c @ weights, 0)[y], 0) for c, y in zip(columns, labels, strict=True)
        )
        value = total / len(records) + l2 * (weights**2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    fitted = weights.detach().numpy()
    return fitted / fitted.sum()


def recall(records: list[dict], weights: np.ndarray) -> tuple[float, float]:
    """Share of the questions whose first candidate, and whose first three, hold the reference."""
    at1 = at3 = 0
    for r in records:
        order = np.argsort(-(r["columns"] @ weights), kind="stable")
        at1 += bool(r["labels"][order[:1]].any())
        at3 += bool(r["labels"][order[:3]].any())
    return at1 / len(records), at3 / len(records)


def rank_fusion_recall(records: list[dict]) -> tuple[float, float]:
    return tuple(sum(r["rank_fusion"][i] for r in records) / len(records) for i in (0, 1))


def grid_recall(records: list[dict], grid: np.ndarray) -> np.ndarray:
    """recall@1 of every weight vector (rows of `grid`) at once."""
    hits = np.zeros(len(grid))
    for r in records:
        hits += r["labels"][np.argmax(r["columns"] @ grid.T, axis=0)]
    return hits / len(records)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", nargs="+", required=True, metavar="HOME:QUESTIONS")
    parser.add_argument("--check", nargs="*", default=[], metavar="HOME:QUESTIONS")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--grid", type=float, default=None, metavar="STEP")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    train = [r for spec in args.train for r in collect(embedder, spec)]
    groups = sorted({r["group"] for r in train})
    random.Random(0).shuffle(groups)
    fold = {group: k % args.folds for k, group in enumerate(groups)}
    at1 = at3 = 0.0
    for k in range(args.folds):
        weights = fit([r for r in train if fold[r["group"]] != k])
        held_out = [r for r in train if fold[r["group"]] == k]
        r1, r3 = recall(held_out, weights)
        at1, at3 = at1 + r1 * len(held_out), at3 + r3 * len(held_out)
    rank1, rank3 = rank_fusion_recall(train)
    print(f"train ({len(train)} questions), {args.folds}-fold by document: recall@1 / @3 score fusion "
          f"{at1 / len(train):.3f} / {at3 / len(train):.3f}, rank fusion {rank1:.3f} / {rank3:.3f}")  # fmt: skip
    weights = fit(train)
    print("weights fitted on all:", [round(float(w), 3) for w in weights])
    checks = {spec: collect(embedder, spec) for spec in args.check}
    for spec, records in checks.items():
        (f1, f3), (b1, b3) = recall(records, weights), rank_fusion_recall(records)
        print(
            f"{spec} ({len(records)}): recall@1 / @3 score fusion {f1:.3f} / {f3:.3f}, rank fusion {b1:.3f} / {b3:.3f}"
        )
    if args.grid:
        steps = np.arange(0.0, 1.0 + 1e-9, args.grid)
        grid = np.array([w + (1 - sum(w),) for w in itertools.product(steps, repeat=4) if sum(w) <= 1 + 1e-9])
        grid = grid.astype(np.float32)
        on_train = grid_recall(train, grid)
        on_checks = {spec: grid_recall(records, grid) for spec, records in checks.items()}
        for i in np.argsort(-on_train, kind="stable")[:10]:
            each = ", ".join(f"{spec.split(':', 1)[1]} {values[i]:.3f}" for spec, values in on_checks.items())
            print(f"grid {[round(float(w), 2) for w in grid[i]]}: train {on_train[i]:.3f}; {each}")


if __name__ == "__main__":
    main()
