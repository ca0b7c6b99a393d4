"""The searchable knowledge base on disk: chunks, their vectors, a FAISS index and a BM25 index.

An index is an immutable snapshot folder. Saving writes a new snapshot and then swaps the `CURRENT` pointer
with an atomic rename, so a crash mid-save leaves the previous snapshot loadable, and readers never see a
half-written index.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from chatbot.errors import IndexNotBuiltError
from chatbot.types import Chunk, DocumentRecord
from knowledge_base.spelling import Speller, word_counts

logger = logging.getLogger(__name__)

CURRENT = "CURRENT"
FORMAT_VERSION = 1
DENSE_TYPES = ("auto", "flat", "hnsw", "ivf")
# Up to this many chunks exact search is fast enough (see benchmarks/RESULTS.md: index latency by size);
# beyond it `auto` builds HNSW, which answers in about a millisecond at a million chunks.
FLAT_MAX_VECTORS = 50_000
HNSW_NEIGHBOURS = 32  # graph degree M: recall vs memory (M * 8 bytes per vector on top of the vector itself)
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96  # candidates per search: recall@10 >= 0.95 against exact search at 1M chunks
IVF_NPROBE = 32  # inverted lists scanned per search


def build_dense_index(vectors: np.ndarray, kind: str = "auto") -> Any:
    """A FAISS inner-product index over unit `vectors`: exact (`flat`) up to `FLAT_MAX_VECTORS` when `auto`,
    else HNSW; `ivf` (inverted lists, trained k-means) builds faster than HNSW at a little recall."""
    import faiss

    if kind not in DENSE_TYPES:
        raise ValueError(f"dense index type must be one of {DENSE_TYPES}, got {kind!r}")
    n, dimension = vectors.shape
    if kind == "auto":
        kind = "flat" if n <= FLAT_MAX_VECTORS else "hnsw"
    index: Any
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    elif kind == "ivf" and n >= 2:
        lists = max(1, min(int(4 * np.sqrt(n)), n // 39))  # faiss wants >= 39 training points per list
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).permutation(n)[: lists * 256]]
        index.train(sample)
    else:
        index = faiss.IndexFlatIP(dimension)
    if n:
        index.add(vectors)
    tune_dense_index(index)
    return index


def tune_dense_index(index: Any) -> None:
    """Set the search-time parameters (they are not all kept in the saved file)."""
    import faiss

    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif isinstance(index, faiss.IndexIVFFlat):
        index.nprobe = min(IVF_NPROBE, index.nlist)


def dense_index_type(index: Any) -> str:
    """ "flat", "hnsw" or "ivf" for an index built by `build_dense_index`."""
    import faiss

    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    return "ivf" if isinstance(index, faiss.IndexIVFFlat) else "flat"


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; a different embedder or chunking means the vectors cannot be mixed."""

    embedder: str
    dimension: int
    chunk_words: int
    chunk_overlap_words: int
    format_version: int = FORMAT_VERSION
    documents: dict[str, str] = field(default_factory=dict)  # source -> content hash
    dense_index: str = "auto"  # the requested FAISS index type (see DENSE_TYPES); not a reason to re-embed
    # The highest cosine between a chunk and the off-topic requests of `knowledge_base/offtopic_requests.txt`
    # (see `ingest.offtopic_ceiling`); None for indexes built before it was measured.
    offtopic_ceiling: float | None = None

    def compatible_with(self, other: Manifest) -> bool:
        """True when vectors and chunks of `other` can be reused in an index built like `self`."""
        return (self.embedder, self.dimension, self.chunk_words, self.chunk_overlap_words, self.format_version) == (
            other.embedder,
            other.dimension,
            other.chunk_words,
            other.chunk_overlap_words,
            other.format_version,
        )


def _bm25s() -> Any:
    """The `bm25s` module, imported on first use.

    bm25s sets its own logger to DEBUG when imported (bm25s 0.3.16: `logger.setLevel(logging.DEBUG)`), so an
    application that logs warnings only printed "DEBUG bm25s: Building index from tokens" on every ingest. Its
    level is reset so that the application's logging configuration decides.
    """
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


_CANNOT = re.compile(r"\b(can)[’']t\b", re.I)


def expand_contractions(text: str) -> str:
    """ "can't" -> "cannot": the tokenizer would otherwise keep "can", and miss the page that says "Items that
    cannot be returned". (Expanding "doesn't" to "does not" too was measured worse: both words are stopwords,
    so the negation was lost, while "doesn" kept it.)"""
    return _CANNOT.sub(r"\1not", text)


def _tokenize(texts: list[str]) -> list[list[str]]:
    import Stemmer

    return _bm25s().tokenize(
        [expand_contractions(t) for t in texts],
        stopwords="en",
        stemmer=Stemmer.Stemmer("english"),
        return_ids=False,
        show_progress=False,
    )


PARTICLES = frozenset({"in", "on", "out", "off", "up", "down", "over", "back"})  # "log in", "check out", "set up"


def joined_words(text: str) -> list[str]:
    """Each two adjacent words of `text` written as one, where that makes a word of 5 letters or more: "shut down"
    -> "shutdown", "log in" -> "login", "web site" -> "website". Words of one letter and words with an apostrophe
    are left alone ("driver's license" would count "driver" twice: "driver" + "s"), and so are stopwords other than
    a verb's particle: stemmed, "for me" would be "form", "for getting" "forget"."""
    from bm25s.stopwords import STOPWORDS_EN

    def joinable(word: str, *, second: bool) -> bool:
        return bool(re.fullmatch(r"[^\W\d_]{2,}", word)) and (
            word not in STOPWORDS_EN or (second and word in PARTICLES)
        )

    joined = []
    for phrase in re.split(r"[^\w\s'’-]", text.lower()):  # not across punctuation: "..., how" is no word
        words = re.findall(r"[\w'’]+", phrase)
        joined += [
            a + b
            for a, b in zip(words, words[1:], strict=False)
            if joinable(a, second=False) and joinable(b, second=True) and len(a + b) >= 5
        ]
    return joined


class KnowledgeIndex:
    """Chunks with their unit vectors, searchable by inner product (FAISS) and by BM25.

    Usage example:
    ```python
    index = KnowledgeIndex.build(manifest, chunks, vectors)
    index.save(settings.index_dir)
    index = KnowledgeIndex.load(settings.index_dir)
    index.search_dense(query_vector, k=10)  # [(row, cosine), ...]
    ```
    """

    def __init__(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        vectors: np.ndarray,
        dense: Any,
        bm25: Any,
        words: dict[str, int] | None = None,
    ) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self._dense = dense
        self._bm25 = bm25
        # The chunks' `word_counts`, counted when the index is built and saved with it (None: a snapshot written before
        # they were, counted on first use).
        self._words = words

    @cached_property
    def faq_questions(self) -> list[str]:
        """The questions of the FAQ entries, in the order they were ingested (once per index: a chat page asks on
        every load, and a KB without a FAQ would otherwise be scanned whole each time)."""
        return list(dict.fromkeys(c.title for c in self.chunks if c.kind == "faq"))  # a long answer has several chunks

    @cached_property
    def speller(self) -> Speller:
        """Corrects customers' typos toward the words of these chunks."""
        return Speller(self._words if self._words is not None else word_counts(c.text for c in self.chunks))

    @cached_property
    def _rows_by_place(self) -> dict[tuple[str, int], int]:
        return {(chunk.source, chunk.position): row for row, chunk in enumerate(self.chunks)}

    def chunk_at(self, source: str, position: int) -> Chunk | None:
        """The chunk of document `source` at `position` (0 is its first), if there is one."""
        row = self._rows_by_place.get((source, position))
        return None if row is None else self.chunks[row]

    @classmethod
    def build(cls, manifest: Manifest, chunks: list[Chunk], vectors: np.ndarray) -> KnowledgeIndex:
        """Index `chunks`; `vectors` are their embeddings, one row each, L2-normalised."""
        bm25s = _bm25s()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), manifest.dimension)
        dense = build_dense_index(vectors, manifest.dense_index)
        bm25 = bm25s.BM25()
        if len(chunks):
            bm25.index(_tokenize([c.text for c in chunks]), show_progress=False)
        return cls(manifest, chunks, vectors, dense, bm25, word_counts(c.text for c in chunks))

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def dense_type(self) -> str:
        """The FAISS index type in use: "flat" (exact), "hnsw" or "ivf"."""
        return dense_index_type(self._dense)

    def search_dense(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Rows of the `k` chunks with the highest inner product with `query` (a unit vector)."""
        if not self.chunks:
            return []
        scores, rows = self._dense.search(query.reshape(1, -1).astype(np.float32), min(k, len(self.chunks)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def search_bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        """Rows of up to `k` chunks sharing terms with `query`, best BM25 score first."""
        if not self.chunks:
            return []
        # Two words the knowledge base writes as one ("shut down" -> "shutdown", "log in" -> "login", "user name"
        # -> "username") count as that word too.
        tokens, joined = _tokenize([query, " ".join(joined_words(query))])
        tokens += [token for token in joined if token in self._bm25.vocab_dict]
        if not tokens:
            return []
        rows, scores = self._bm25.retrieve([tokens], k=min(k, len(self.chunks)), show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    def save(self, index_dir: Path) -> Path:
        """Write this index as a new snapshot under `index_dir` and make it the current one."""
        import faiss

        index_dir.mkdir(parents=True, exist_ok=True)
        snapshot = index_dir / f"snapshot-{uuid.uuid4().hex[:12]}"
        tmp = index_dir / f".tmp-{snapshot.name}"
        tmp.mkdir()
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for chunk in self.chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", self.vectors)
        faiss.write_index(self._dense, str(tmp / "dense.faiss"))
        if self.chunks:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)
        if self._words is not None:
            (tmp / "words.json").write_text(json.dumps(self._words, ensure_ascii=False), encoding="utf-8")
        # The manifest is written last: a snapshot without one is incomplete and never loaded.
        (tmp / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=1), encoding="utf-8")
        os.replace(tmp, snapshot)
        pointer = index_dir / f".{CURRENT}.tmp"
        pointer.write_text(snapshot.name, encoding="utf-8")
        os.replace(pointer, index_dir / CURRENT)
        for old in index_dir.iterdir():
            if old.is_dir() and old.name != snapshot.name:
                shutil.rmtree(old, ignore_errors=True)
        logger.info("saved %d chunks to %s", len(self.chunks), snapshot)
        return snapshot

    @classmethod
    def load(cls, index_dir: Path) -> KnowledgeIndex:
        """Load the current snapshot; `IndexNotBuiltError` when there is none."""
        import faiss

        bm25s = _bm25s()
        snapshot = current_snapshot(index_dir)
        manifest = Manifest(**json.loads((snapshot / "manifest.json").read_text(encoding="utf-8")))
        with (snapshot / "chunks.jsonl").open(encoding="utf-8") as fh:
            chunks = [Chunk(**json.loads(line)) for line in fh]
        vectors = np.load(snapshot / "vectors.npy")
        dense = faiss.read_index(str(snapshot / "dense.faiss"))
        tune_dense_index(dense)
        bm25 = bm25s.BM25.load(str(snapshot / "bm25"), show_progress=False) if chunks else bm25s.BM25()
        words_file = snapshot / "words.json"
        words = json.loads(words_file.read_text(encoding="utf-8")) if words_file.exists() else None
        return cls(manifest, chunks, vectors, dense, bm25, words)

    @staticmethod
    def exists(index_dir: Path) -> bool:
        """True when `index_dir` holds a current snapshot."""
        return (index_dir / CURRENT).exists()


def current_snapshot(index_dir: Path) -> Path:
    """The folder of the current snapshot; `IndexNotBuiltError` when there is none."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexNotBuiltError(f"no knowledge base index in {index_dir}; run `chatbot kb ingest PATH` first")
    return index_dir / pointer.read_text(encoding="utf-8").strip()


def document_records(index_dir: Path) -> list[DocumentRecord]:
    """One record per document of the current snapshot (source, title, kind, content hash, chunks), read from its
    manifest and chunk list only: no vectors, FAISS or BM25 are loaded."""
    snapshot = current_snapshot(index_dir)
    hashes = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8")).get("documents", {})
    first: dict[str, Chunk] = {}
    counts: dict[str, int] = {}
    with (snapshot / "chunks.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            chunk = Chunk(**json.loads(line))
            first.setdefault(chunk.source, chunk)
            counts[chunk.source] = counts.get(chunk.source, 0) + 1
    return [
        DocumentRecord(source, chunk.title, chunk.kind, hashes.get(source, ""), counts[source])
        for source, chunk in sorted(first.items())
    ]
