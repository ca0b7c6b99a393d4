"""Hybrid retrieval: dense (FAISS) + BM25, fused by reciprocal rank, with a confidence per passage."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from chatbot.types import Chunk, Passage, Turn
from knowledge_base.chunking import continues_a_list, with_list_start
from knowledge_base.embedder import Embedder
from knowledge_base.index import CURRENT, KnowledgeIndex

logger = logging.getLogger(__name__)

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009): 1 / (60 + rank)


def build_query(question: str, history: list[Turn], turns: int) -> str:
    """The search query for `question`: the question first, then up to `turns` earlier customer messages.

    Follow-ups such as "and how long does that take?" only make sense with what the customer said before;
    the newest earlier message comes first because it is the most likely antecedent.
    """
    earlier = [t.content for t in reversed(history) if t.role == "user"][:turns]
    return "\n".join([question, *earlier])


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked lists of rows into one list of (row, score), best first; ties keep first-seen order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])


class IndexHandle:
    """Loads the current index snapshot and reloads it when an ingest swaps in a new one."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._loaded_name: str | None = None
        self._index: KnowledgeIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> KnowledgeIndex:
        """The newest snapshot (`IndexNotBuiltError` when there is none yet)."""
        pointer = self.index_dir / CURRENT
        name = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else None
        with self._lock:
            if self._index is None or name != self._loaded_name:
                self._index = KnowledgeIndex.load(self.index_dir)
                self._loaded_name = name
                logger.info("loaded index snapshot %s (%d chunks)", name, len(self._index))
            return self._index


class HybridRetriever:
    """Finds the passages of the knowledge base that answer a question.

    Usage example:
    ```python
    retriever = HybridRetriever(IndexHandle(settings.index_dir), SentenceTransformerEmbedder())
    passages = retriever.retrieve("How long do refunds take?", history=[], k=10)
    passages[0].chunk.source, passages[0].confidence
    ```
    """

    def __init__(
        self, index: IndexHandle, embedder: Embedder, *, history_turns: int = 4, candidates: int = 50
    ) -> None:
        if candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        self.index = index
        self.embedder = embedder
        self.history_turns = history_turns
        self.candidates = candidates

    def offtopic_ceiling(self) -> float | None:
        """The highest confidence clearly off-topic requests reach on the current knowledge base (None: not
        measured, for indexes built by older versions until the next ingest)."""
        return self.index.get().manifest.offtopic_ceiling

    def faq_questions(self, limit: int) -> list[str]:
        """Up to `limit` questions of the knowledge base's FAQ entries, in the order they were ingested."""
        return self.index.get().faq_questions[:limit]

    def retrieve(self, question: str, history: list[Turn], k: int) -> list[Passage]:
        """The `k` best passages for `question` in the context of `history` (oldest turn first)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        index = self.index.get()
        query = build_query(question, history, self.history_turns)
        qvec = self.embedder.embed([query])[0]
        dense = index.search_dense(qvec, self.candidates)
        sparse = index.search_bm25(query, self.candidates)
        fused = reciprocal_rank_fusion([[r for r, _ in dense], [r for r, _ in sparse]])[:k]
        cosines = index.vectors[[row for row, _ in fused]] @ qvec if fused else np.zeros(0)
        return [
            Passage(
                chunk=with_list_start_of(index, index.chunks[row]),
                score=score,
                confidence=float(np.clip(cos, 0.0, 1.0)),
            )
            for (row, score), cos in zip(fused, cosines, strict=True)
        ]


def with_list_start_of(index: KnowledgeIndex, chunk: Chunk) -> Chunk:
    """`chunk`, or when it starts inside a numbered list (a long procedure cut by the chunk window), a copy whose
    text begins with the list's start from the chunk before: a customer gets the steps from step 1."""
    title, _, body = chunk.text.partition("\n")
    if not continues_a_list(body):
        return chunk
    previous = index.chunk_at(chunk.source, chunk.position - 1)
    if previous is None or previous.heading != chunk.heading:
        return chunk
    completed = with_list_start(previous.text.partition("\n")[2], body)
    return chunk if completed == body else replace(chunk, text=f"{title}\n{completed}")
