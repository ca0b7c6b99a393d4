"""Dense retrieval at 10k, 100k and 1M chunks: latency p50/p95 of one query (what the chat does) and recall@10
against exact search, for exact (flat), HNSW and IVF indexes as `knowledge_base.index.build_dense_index` builds
them; plus memory per million chunks.

10k: real MiniLM vectors of real support texts (Bitext replies, doc2dial passages, CLINC150 requests);
100k and 1M: synthetic unit vectors drawn around 2,000 random topic centres (clustered like real embeddings;
uniform random vectors would be an unrealistically hard case for HNSW/IVF).

Run: .venv/bin/python benchmarks/index_scale.py [--sizes 10000,100000,1000000] [--queries 300]
"""

import argparse
import csv
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from knowledge_base.index import build_dense_index  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DIM = 384


def real_vectors(n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    from knowledge_base.embedder import SentenceTransformerEmbedder

    texts = [row["response"] for row in csv.DictReader((DATA / "bitext" / "train.csv").open(encoding="utf-8"))]
    texts += [json.loads(line)["context"][:800] for line in (DATA / "doc2dial_dev" / "docs.jsonl").open()]
    clinc = json.loads((DATA / "clinc150_dev" / "clinc150_dev.json").read_text())
    texts += [t for t, _ in clinc["train"]]
    embedder = SentenceTransformerEmbedder()
    base = embedder.embed(texts[:n])
    query_texts = [t for t, _ in clinc["val"][:queries]]
    return base, embedder.embed(query_texts)


def synthetic_vectors(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, DIM), np.float32)
        for start in range(0, count, 100_000):
            m = min(100_000, count - start)
            v = centres[rng.integers(0, len(centres), m)] + rng.normal(scale=0.06, size=(m, DIM)).astype(np.float32)
            out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    return draw(n), draw(queries)


def measure(kind: str, base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    import faiss

    started = time.perf_counter()
    index = build_dense_index(base, kind)
    build_s = time.perf_counter() - started
    times, hits = [], 0
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, rows = index.search(q.reshape(1, -1), 10)
        times.append((time.perf_counter() - t) * 1000)
        hits += len(set(rows[0].tolist()) & set(truth[i].tolist()))
    size_mb = len(faiss.serialize_index(index)) / 2**20
    return {
        "kind": kind,
        "build_s": round(build_s, 1),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "recall@10": round(hits / (10 * len(queries)), 4),
        "index_mb": round(size_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--kinds", default="flat,hnsw,ivf")
    args = parser.parse_args()
    import faiss

    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")
    for n in (int(s) for s in args.sizes.split(",")):
        base, queries = real_vectors(n, args.queries) if n <= 10_000 else synthetic_vectors(n, args.queries)
        exact = faiss.IndexFlatIP(DIM)
        exact.add(base)
        _, truth = exact.search(queries, 10)
        del exact
        for kind in args.kinds.split(","):
            result = measure(kind, base, queries, truth)
            print(f"{len(base):>9,} {json.dumps(result)}", flush=True)
        per_million = base.nbytes / len(base) * 1e6 / 2**20
        print(f"{len(base):>9,} vectors kept beside the index: {per_million:.0f} MB per million chunks", flush=True)


if __name__ == "__main__":
    main()
