"""The knowledge base: loaders, chunking, embeddings, the FAISS + BM25 index, ingest."""

from pathlib import Path

DEMO_KB_DIR = Path(__file__).parent / "demo"

__all__ = ["DEMO_KB_DIR"]
