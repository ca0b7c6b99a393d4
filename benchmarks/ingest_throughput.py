"""Ingest speed: (1) chunks/s of `chatbot kb ingest` (load, chunk, embed, FAISS + BM25, atomic save) against plain
`SentenceTransformer.encode` of the same chunk texts, as a ratio in one run; (2) re-ingest of an unchanged
1,000-document knowledge base (nothing to embed: content hashes match).

Documents: 1,000 Markdown files made from real support texts (doc2dial passages and Bitext replies).
Run: .venv/bin/python benchmarks/ingest_throughput.py
"""

import csv
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from knowledge_base.chunking import chunk_document  # noqa: E402
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.ingest import ingest  # noqa: E402
from knowledge_base.loaders import load_paths  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_documents(folder: Path, count: int = 1000) -> None:
    folder.mkdir(parents=True)
    docs = [json.loads(line) for line in (DATA / "doc2dial_dev" / "docs.jsonl").open()]
    replies = list(csv.DictReader((DATA / "bitext" / "train.csv").open(encoding="utf-8")))
    for i in range(count):
        if i < len(docs):
            title, body = docs[i]["doc_key"].split("#")[0], docs[i]["context"]
        else:
            row = replies[i]
            title, body = row["instruction"], row["response"]
        (folder / f"{i:04d}.md").write_text(f"# {title}\n\n{body}\n", encoding="utf-8")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="ingest-"))
    write_documents(home / "kb")
    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    chunks = [
        c
        for d in load_paths([home / "kb"]).documents
        for c in chunk_document(d, max_tokens=embedder.max_tokens(), count_tokens=embedder.count_tokens)
    ]
    model = embedder._model  # the same SentenceTransformer the ingest uses
    model.encode([c.text for c in chunks[:64]])  # warm-up, not timed

    started = time.perf_counter()
    model.encode([c.text for c in chunks], batch_size=64, normalize_embeddings=True)
    bare = len(chunks) / (time.perf_counter() - started)

    started = time.perf_counter()
    report = ingest([home / "kb"], embedder=embedder, index_dir=home / "index", progress=False)
    full = report.chunks_embedded / (time.perf_counter() - started)
    print(f"{report.documents_total} documents, {report.chunks_total} chunks")
    print(f"bare encode: {bare:.1f} chunks/s; kb ingest: {full:.1f} chunks/s; ratio {full / bare:.2f}")

    started = time.perf_counter()
    again = ingest([home / "kb"], embedder=embedder, index_dir=home / "index", progress=False)
    print(f"unchanged re-ingest of {again.documents_total} documents: {time.perf_counter() - started:.2f} s "
          f"({again.chunks_embedded} chunks embedded)")  # fmt: skip


if __name__ == "__main__":
    main()
