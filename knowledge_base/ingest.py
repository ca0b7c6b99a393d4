"""Ingest: files -> documents -> chunks -> vectors -> a new index snapshot, re-embedding only what changed."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from chatbot.errors import IndexNotBuiltError, InputError
from chatbot.types import Chunk, Document
from knowledge_base.chunking import chunk_document, document_hash, line_words, sentence_units
from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex, Manifest
from knowledge_base.loaders import load_paths

logger = logging.getLogger(__name__)

EMBED_BATCH = 256  # chunks per progress step; the embedder batches further inside
OFFTOPIC_REQUESTS = Path(__file__).parent / "offtopic_requests.txt"


def offtopic_ceiling(embedder: Embedder, vectors: np.ndarray) -> float | None:
    """The highest cosine between any chunk and the everyday requests no support knowledge base answers
    (weather, jokes, recipes: `offtopic_requests.txt`, written for this project); None for an empty index.

    A question must match the knowledge base better than these do before it is answered. How well text matches
    depends on the knowledge base (its chunk length, its wording), so the hand-off threshold is measured per
    knowledge base instead of fixed: e.g. 0.34 on a KB of short customer-service answers, 0.50 on doc2dial's
    government pages (benchmarks/RESULTS.md).
    """
    if not len(vectors):
        return None
    requests = [line.strip() for line in OFFTOPIC_REQUESTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return round(float((vectors @ embedder.embed(requests).T).max()), 4)


@dataclass
class IngestReport:
    """What one ingest changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    chunks_embedded: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    offtopic_ceiling: float | None = None  # see `offtopic_ceiling`; sets the hand-off threshold
    repeats: dict[str, list[str]] = field(default_factory=dict)  # see `repeating_documents`

    def repeat_notes(self) -> list[str]:
        """One line for the operator per document that repeats others (`repeats`)."""
        notes = []
        for source, repeated in self.repeats.items():
            named = ", ".join(repeated[:3]) + (f" and {len(repeated) - 3} more" if len(repeated) > 3 else "")
            notes.append(
                f"{source} repeats the text of {len(repeated)} other documents ({named}). If it is a print or "
                "all-in-one page, remove it: the bot reads each text twice and can quote the same words from both."
            )
        return notes


def repeating_documents(chunks: list[Chunk], *, share: float = 0.9, least: int = 3) -> dict[str, list[str]]:
    """The documents that hold the text of `least` or more other documents (each of those has at least `share` of
    its sentences in it), and whose own text is mostly theirs.

    A documentation site's print page (mdBook's `print.html`, Sphinx's single-page HTML) holds every page: crawled
    with them, it doubles the index, and the same text fills two of the passages an answer reads. Two copies of one
    page are not reported: each holds only the other.

    Returns:
        `dict[str, list[str]]`: source -> the sources of the documents it repeats.
    """
    sentences: dict[str, set[str]] = {}
    for chunk in chunks:
        units = sentence_units(line_words(chunk.text.partition("\n")[2]))
        found = {" ".join(word.strip().lower() for word in unit) for unit in units if len(unit) >= 4}
        sentences.setdefault(chunk.source, set()).update(found)
    holders: dict[str, set[str]] = {}
    for source, own in sentences.items():
        for sentence in own:
            holders.setdefault(sentence, set()).add(source)
    repeats: dict[str, list[str]] = {}
    for source, own in sentences.items():
        if len(own) < 3:  # a FAQ answer or a short note: too little text to call it repeated
            continue
        held = Counter(holder for s in own for holder in holders[s] if holder != source)
        for holder, count in held.items():
            if count >= share * len(own):
                repeats.setdefault(holder, []).append(source)
    # Several, and most of the holder's own text is theirs: a page that quotes two short notes (the options that
    # every command page of the Cargo Book shares) is no print page. The Cargo Book's `print.html` holds 90 pages.
    return {
        source: sorted(repeated)
        for source, repeated in sorted(repeats.items())
        if len(repeated) >= least
        and len(sentences[source] & set().union(*(sentences[r] for r in repeated))) >= 0.5 * len(sentences[source])
    }


def source_file(source: str) -> str:
    """The file a document source belongs to (`faq.csv#3` -> `faq.csv`)."""
    return source.split("#", 1)[0]


def ingest(
    paths: list[Path],
    *,
    embedder: Embedder,
    index_dir: Path,
    chunk_words: int = 120,
    chunk_overlap_words: int = 30,
    dense_index: str = "auto",
    rebuild: bool = False,
    progress: bool = True,
) -> IngestReport:
    """Bring the index in `index_dir` up to date with the files under `paths`.

    Documents whose content is unchanged keep their vectors; documents that disappeared from an ingested
    folder are removed; documents of files that fail to load are kept as they were. `rebuild=True` starts
    from an empty index (needed after changing the embedder or the chunk size).
    """
    loaded = load_paths(paths)
    report = IngestReport(failures=loaded.failures)
    manifest = Manifest(
        embedder=embedder.name,
        dimension=embedder.dimension,
        chunk_words=chunk_words,
        chunk_overlap_words=chunk_overlap_words,
        dense_index=dense_index,
    )
    old = None if rebuild or not KnowledgeIndex.exists(index_dir) else KnowledgeIndex.load(index_dir)
    if old is not None and not manifest.compatible_with(old.manifest):
        raise IndexNotBuiltError(
            f"the index in {index_dir} was built with embedder {old.manifest.embedder!r} "
            f"(dimension {old.manifest.dimension}, {old.manifest.chunk_words}-word chunks) but the settings ask "
            f"for {manifest.embedder!r} (dimension {manifest.dimension}, {manifest.chunk_words}-word chunks); "
            "vectors of different models cannot be mixed: ingest again with --rebuild"
        )
    old_hashes = dict(old.manifest.documents) if old else {}
    kept_rows: dict[str, list[int]] = {}
    if old is not None:
        for row, chunk in enumerate(old.chunks):
            kept_rows.setdefault(chunk.source, []).append(row)

    new_docs: dict[str, Document] = {}
    for doc in loaded.documents:
        if doc.source in new_docs:
            logger.warning("duplicate source %s: the later one wins", doc.source)
        new_docs[doc.source] = doc
    hashes = {source: document_hash(doc) for source, doc in new_docs.items()}

    # Documents of files under the ingested roots that are gone now (but not of files that failed to load).
    roots = [_root_prefix(Path(p)) for p in paths]
    failed_files = {source_file(s) for s in loaded.failures}
    for source in old_hashes:
        file = source_file(source)
        under_root = any(file == r or file.startswith(r + "/") for r in roots)
        if under_root and source not in new_docs and file not in failed_files:
            report.removed.append(source)

    chunks: list[Chunk] = []
    vectors: list[np.ndarray] = []
    to_embed: list[Chunk] = []
    final_hashes: dict[str, str] = {}
    for source, digest in old_hashes.items():
        if source in report.removed or (source in hashes and hashes[source] != digest):
            continue
        rows = kept_rows.get(source, [])
        chunks.extend(old.chunks[r] for r in rows)  # type: ignore[union-attr]  # old_hashes is empty when old is None
        vectors.append(old.vectors[rows])  # type: ignore[union-attr]
        final_hashes[source] = digest
        if source in new_docs:
            report.unchanged.append(source)
    for source, doc in new_docs.items():
        if source in final_hashes:
            continue
        (report.updated if source in old_hashes else report.added).append(source)
        to_embed.extend(
            chunk_document(
                doc,
                size=chunk_words,
                overlap=chunk_overlap_words,
                max_tokens=embedder.max_tokens(),
                count_tokens=embedder.count_tokens,
            )
        )
        final_hashes[source] = hashes[source]

    if to_embed:
        bar = tqdm(total=len(to_embed), desc="Embedding chunks", unit="chunk", disable=not progress)
        for start in range(0, len(to_embed), EMBED_BATCH):
            batch = to_embed[start : start + EMBED_BATCH]
            vectors.append(embedder.embed([c.text for c in batch]))
            bar.update(len(batch))
        bar.close()
        chunks.extend(to_embed)
    report.chunks_embedded = len(to_embed)

    changed = bool(report.added or report.updated or report.removed) or old is None
    changed = changed or (old is not None and old.manifest.dense_index != dense_index)
    changed = changed or (old is not None and old.manifest.offtopic_ceiling is None and len(old.chunks) > 0)
    if changed:
        all_vectors = np.concatenate(vectors) if vectors else np.zeros((0, manifest.dimension), np.float32)
        ceiling = offtopic_ceiling(embedder, all_vectors)
        final = Manifest(**{**manifest.__dict__, "documents": final_hashes, "offtopic_ceiling": ceiling})
        KnowledgeIndex.build(final, chunks, all_vectors).save(index_dir)
        report.offtopic_ceiling = ceiling
    elif old is not None:
        report.offtopic_ceiling = old.manifest.offtopic_ceiling
    report.chunks_total = len(chunks)
    report.documents_total = len(final_hashes)
    report.repeats = repeating_documents(chunks)
    return report


def remove(sources: list[str], *, index_dir: Path) -> list[str]:
    """Remove documents from the index: a source names a file (`docs/faq.csv` removes all its entries) or a
    folder (`docs` removes everything ingested from it). Returns the removed document sources.

    Raises `InputError` naming the sources that match nothing; then nothing is removed.
    """
    index = KnowledgeIndex.load(index_dir)
    documents = index.manifest.documents

    def matches(document: str, source: str) -> bool:
        file = source_file(document)
        return document == source or file == source or file.startswith(source.rstrip("/") + "/")

    unknown = [s for s in sources if not any(matches(d, s) for d in documents)]
    if unknown:
        raise InputError(f"no document in the knowledge base matches {', '.join(map(repr, unknown))}")
    removed = [d for d in documents if any(matches(d, s) for s in sources)]
    rows = [i for i, c in enumerate(index.chunks) if c.source not in removed]
    # The off-topic ceiling is kept: fewer chunks can only lower it, so the kept value hands off a little more
    # often until the next ingest measures it again.
    manifest = Manifest(
        **{**index.manifest.__dict__, "documents": {d: h for d, h in documents.items() if d not in removed}}
    )
    KnowledgeIndex.build(manifest, [index.chunks[i] for i in rows], index.vectors[rows]).save(index_dir)
    return removed


def _root_prefix(path: Path) -> str:
    """The source prefix of documents loaded from `path` (see `load_paths`)."""
    return path.name
