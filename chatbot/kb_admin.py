"""Knowledge-base administration for a deployment: ingest and remove documents, then mirror the index's
document list in the database. The CLI and the operator console both go through here."""

from __future__ import annotations

from pathlib import Path

from chatbot.config import Settings
from chatbot.storage import SqlStore
from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex, document_records
from knowledge_base.ingest import IngestReport, ingest, remove


def sync_documents(settings: Settings) -> int:
    """Copy the current index's document list into the database; return how many documents it holds.

    The index snapshot is written first and atomically; the database follows in one transaction. If a crash
    falls between the two, the next ingest, removal or `kb stats` repairs the database from the index.
    """
    records = document_records(settings.index_dir)
    SqlStore(settings.database_url).sync_documents(records)
    return len(records)


def ingest_paths(
    settings: Settings, paths: list[Path], *, embedder: Embedder, rebuild: bool = False, progress: bool = True
) -> IngestReport:
    """Bring the deployment's knowledge base up to date with `paths` (see `knowledge_base.ingest.ingest`)."""
    report = ingest(
        paths,
        embedder=embedder,
        index_dir=settings.index_dir,
        chunk_words=settings.chunk_words,
        chunk_overlap_words=settings.chunk_overlap_words,
        dense_index=settings.dense_index,
        rebuild=rebuild,
        progress=progress,
    )
    if KnowledgeIndex.exists(settings.index_dir):
        sync_documents(settings)
    return report


def remove_sources(settings: Settings, sources: list[str]) -> list[str]:
    """Remove documents (files or folders, by source) from the index and the database."""
    removed = remove(sources, index_dir=settings.index_dir)
    sync_documents(settings)
    return removed
