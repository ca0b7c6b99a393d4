"""Hybrid retrieval: dense (FAISS) + BM25, fused by reciprocal rank, with a confidence per passage."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from chatbot.config import HISTORY_TURNS
from chatbot.errors import ChatbotError, ConfigError
from chatbot.extractive import is_customer_heading, points_forward
from chatbot.grounding import (
    answered_question,
    line_split,
    list_marker,
    names_nothing,
)
from chatbot.types import Chunk, Passage, Turn
from knowledge_base.chunking import code_blocks, continues_a_list, overlap_length, with_list_start
from knowledge_base.embedder import Embedder
from knowledge_base.index import CURRENT, KnowledgeIndex

logger = logging.getLogger(__name__)

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009): 1 / (60 + rank)
# How deep each ranking (dense, BM25) is read before fusion. A passage that one ranking puts 70th still adds
# 1 / (60 + 70) to its score, which decides between passages the other rankings put near each other; cut at 50 it
# added nothing. doc2dial, all 2,159 dev questions (benchmarks/RESULTS.md, thirty-ninth session), token F1 with 8
# turns of history: 25 -> 39.73, 50 -> 39.79, 100 -> 39.83, 200 -> 39.86, 500 -> 39.93, 1000 -> 39.89; the Python
# glossary 70.21 -> 70.92 from 200 on. Searching deeper costs little: an exact search scores every chunk anyway,
# BM25 too (0.13 -> 0.15 ms on doc2dial's 1,328 chunks), and HNSW over 100k chunks took 0.29 -> 0.41 ms.
FUSION_CANDIDATES = 200
# How much the earlier customer messages count against a question that does not point back to them, in the dense
# query (HISTORY_WEIGHT, times their unit-length sum) and in the fusion (the question alone's BM25 ranking counts
# QUESTION_BM25_WEIGHT beside the question-with-history ranking's 1). Measured on doc2dial follow-ups and on
# questions that change the topic (benchmarks/RESULTS.md, twelfth session): a query that simply appended the history
# found the right passage first for 41% of Bitext questions asked after another topic (73% without history); now
# 60%. On doc2dial, whose follow-ups never change the topic, recall@1 went from 0.456 to 0.466.
HISTORY_WEIGHT = 0.7
QUESTION_BM25_WEIGHT = 0.5
# A follow-up whose own words find a passage at least as like them as the question and the conversation together
# find one (`on_its_own`) has a subject of its own: the earlier messages count half as much in the dense query, and
# the two BM25 rankings swap weights (the question alone's 1, with the conversation QUESTION_BM25_WEIGHT). Token F1
# (benchmarks/RESULTS.md, fortieth session): doc2dial openers asked after another dialogue 44.15 -> 45.12, Bitext
# questions after another topic 62.43 -> 62.75, doc2dial 39.86 and its follow-ups after another dialogue 39.10 ->
# 39.02 about the same; with the history weight 0 instead of half: 45.37 / 62.57 / 39.82 / 39.00. It holds for 56%
# of those Bitext questions and 9% of doc2dial's follow-ups (which keep the subject); costs two searches, 0.1 ms.
OWN_SUBJECT_HISTORY_WEIGHT = HISTORY_WEIGHT / 2
# A passage's confidence then: 0.2 x its cosine with the question alone + 0.8 x its cosine with the question and the
# earlier messages as one text. With the second alone, CLINC150 requests put after a doc2dial conversation were
# handed over 59% of the time (95% without the conversation); now 75%, while doc2dial's answerable questions handed
# over went from 3.2% to 6.2% (with 0.3, measured before questions that point back had their own path: 85% and
# 9.4%, too near the 10% allowed).
QUESTION_CONFIDENCE_WEIGHT = 0.2
# A follow-up on its own subject (`on_its_own`) is as sure as the question alone and in its context, half each: it
# stands on its own words. Against 0.2 (fortieth session): Bitext questions after another topic 62.75 -> 63.05 (handed
# over 7.33% -> 6.67%), doc2dial openers after another dialogue 45.12 -> 45.15 (3.71% -> 2.86%), doc2dial 39.86 and
# CLINC150 requests after a doc2dial dialogue (76.2% handed over) unchanged; with 1.0, CLINC150 after a dialogue 75.0%.
OWN_SUBJECT_CONFIDENCE_WEIGHT = 0.5


def earlier_messages(history: list[Turn], turns: int) -> list[str]:
    """Up to `turns` earlier customer messages, newest first (the most likely antecedent of a follow-up)."""
    return [t.content for t in reversed(history) if t.role == "user"][:turns]


_POINTING_BACK = re.compile(r"\b(?:it|its|that|this|these|those|they|them|their)\b", re.I)


def points_back(question: str) -> bool:
    """True when the question refers to something said before ("how long does that take?", "is it free?") or names
    nothing itself ("Yes, I am.", see `names_nothing`).

    English pronouns and words only: in other languages every follow-up takes the path of a question that stands
    alone, with the conversation as context.
    """
    return bool(_POINTING_BACK.search(question)) or names_nothing(question)


def on_its_own(index: KnowledgeIndex, question: np.ndarray, with_history: np.ndarray) -> bool:
    """True when the question's vector alone is at least as like its nearest chunk as the vector of the question
    with the earlier messages (one text, `build_query`) is like its own: the conversation adds nothing the search
    needs. False for an empty index."""
    alone, together = index.search_dense(question, 1), index.search_dense(with_history, 1)
    return bool(alone and together) and alone[0][1] >= together[0][1]


def build_query(question: str, history: list[Turn], turns: int) -> str:
    """The keyword query for `question`: the question first, then up to `turns` earlier customer messages.

    Follow-ups such as "and how long does that take?" only make sense with what the customer said before.
    """
    return "\n".join([question, *earlier_messages(history, turns)])


def query_vector(question: np.ndarray, earlier: np.ndarray, history_weight: float = HISTORY_WEIGHT) -> np.ndarray:
    """The dense query: the question's unit vector plus `history_weight` times the direction of the earlier
    messages' vectors (rows of `earlier`, possibly none), at unit length again.

    Appending the history to the question's text instead lets a long earlier message outweigh a short new question,
    so a customer who changes the subject got passages on the old one.
    """
    if len(earlier) == 0:
        return question
    context = earlier.sum(axis=0)
    combined = question + history_weight * context / np.linalg.norm(context)
    return combined / np.linalg.norm(combined)


def as_searched(index: KnowledgeIndex, question: str, history: list[Turn]) -> tuple[str, list[Turn], bool]:
    """`question` and `history` as the search reads them: the customer's typos corrected, and a reply to a question
    asked read with that question; the flag says it is such a reply.

    "Yes" says what it is about through the question it answers ("Was it sent by express delivery?"): it is searched
    with that question, as one text with the conversation.
    """
    asked = answered_question(question, history)
    question = index.speller.correct(question)
    if asked is not None:
        question = f"{asked} {question}"
    history = [replace(t, content=index.speller.correct(t.content)) if t.role == "user" else t for t in history]
    return question, history, asked is not None


def reciprocal_rank_fusion(
    rankings: list[list[int]], k: int = RRF_K, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Fuse ranked lists of rows into one list of (row, score), best first; ties keep first-seen order.

    `weights` (one per ranking, default 1 each) scale each ranking's 1 / (k + rank).
    """
    weights = [1.0] * len(rankings) if weights is None else weights
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, row in enumerate(ranking):
            scores[row] = scores.get(row, 0.0) + weight / (k + rank + 1)
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
        self,
        index: IndexHandle,
        embedder: Embedder,
        *,
        history_turns: int = HISTORY_TURNS,
        candidates: int = FUSION_CANDIDATES,
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

    def check(self) -> None:
        """Raise the error a search would raise now: `IndexNotBuiltError` (no knowledge base yet) or `ConfigError`
        (indexed with another embedder)."""
        self._searchable()

    def warm_up(self) -> None:
        """Load the current snapshot and its typo corrector now, so that the first customer does not wait for them.
        Without a usable knowledge base nothing is loaded: the health check reports it, and the first search raises
        the error."""
        try:
            index = self._searchable()
        except ChatbotError as err:
            logger.warning("knowledge base not loaded at start: %s", err)
            return
        index.speller.warm_up()

    def _searchable(self) -> KnowledgeIndex:
        index = self.index.get()
        if index.manifest.embedder != self.embedder.name:
            # Vectors of two models live in different spaces: searched with the wrong one, the index returns
            # passages that merely look plausible, or fails on a different dimension.
            raise ConfigError(
                f"the knowledge base in {self.index.index_dir} was indexed with embedder {index.manifest.embedder!r}, "
                f"but the embedder in use is {self.embedder.name!r} (CHATBOT_EMBEDDER_MODEL): set it back, or "
                "re-index with `chatbot kb ingest --rebuild FOLDER`"
            )
        return index

    def spelled(self, text: str) -> str:
        """`text` with its typos of the knowledge base's words corrected ("refnd" -> "refund"; see
        `knowledge_base.spelling`), as `retrieve` reads it."""
        return self._searchable().speller.correct(text)

    def retrieve(self, question: str, history: list[Turn], k: int) -> list[Passage]:
        """The `k` best passages for `question` in the context of `history` (oldest turn first), both read with the
        customer's typos corrected (see `spelled`)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        index = self._searchable()
        question, history, replies = as_searched(index, question, history)
        earlier = earlier_messages(history, self.history_turns)
        if not earlier:
            return self._search_text(index, question, k)
        with_history = build_query(question, history, self.history_turns)
        if replies or points_back(question):
            # "Which countries is that available in?" names its subject only through the conversation: searched
            # as one text with it, and as sure as that text is.
            return self._search_text(index, with_history, k)
        vectors = self.embedder.embed([question, with_history, *earlier])
        if on_its_own(index, vectors[0], vectors[1]):
            # "Do you ship to Canada?" after a refund question: the conversation is context, the question the subject.
            qvec = query_vector(vectors[0], vectors[2:], OWN_SUBJECT_HISTORY_WEIGHT)
            weights, sure_alone = [1.0, 1.0, QUESTION_BM25_WEIGHT], OWN_SUBJECT_CONFIDENCE_WEIGHT
        else:
            qvec = query_vector(vectors[0], vectors[2:])
            weights, sure_alone = [1.0, QUESTION_BM25_WEIGHT, 1.0], QUESTION_CONFIDENCE_WEIGHT
        rankings = [self._dense(index, qvec), self._bm25(index, question), self._bm25(index, with_history)]
        fused = reciprocal_rank_fusion(rankings, weights=weights)[:k]
        return self._passages(index, fused, vectors[0], vectors[1], sure_alone)

    def _search_text(self, index: KnowledgeIndex, text: str, k: int) -> list[Passage]:
        """The `k` best passages for one text, dense and BM25 fused; each as sure as its cosine with the text."""
        qvec = self.embedder.embed([text])[0]
        rankings = [self._dense(index, qvec), self._bm25(index, text)]
        return self._passages(index, reciprocal_rank_fusion(rankings)[:k], qvec, qvec)

    def _dense(self, index: KnowledgeIndex, qvec: np.ndarray) -> list[int]:
        return [row for row, _ in index.search_dense(qvec, self.candidates)]

    def _bm25(self, index: KnowledgeIndex, query: str) -> list[int]:
        return [row for row, _ in index.search_bm25(query, self.candidates)]

    @staticmethod
    def _passages(
        index: KnowledgeIndex,
        fused: list[tuple[int, float]],
        question: np.ndarray,
        with_history: np.ndarray,
        sure_alone: float = QUESTION_CONFIDENCE_WEIGHT,
    ) -> list[Passage]:
        """`fused` rows as passages. Their confidence is the cosine with the question in its context, blended with
        the cosine with the question alone (its share `sure_alone`): an off-topic request after a conversation about
        the knowledge base borrows less evidence from that conversation. Without history both are the same."""
        vectors = index.vectors[[row for row, _ in fused]]  # (0, dim) when nothing was found
        blended = sure_alone * (vectors @ question) + (1.0 - sure_alone) * (vectors @ with_history)
        return [
            Passage(
                chunk=with_what_follows(
                    index, with_list_start_of(index, with_question_heading(index, index.chunks[row]))
                ),
                score=score,
                confidence=float(np.clip(confidence, 0.0, 1.0)),
                whole=is_whole(index, index.chunks[row]),
            )
            for (row, score), confidence in zip(fused, blended, strict=True)
        ]


def is_whole(index: KnowledgeIndex, chunk: Chunk) -> bool:
    """True for a FAQ entry and for a chunk that is all of its document (a help center's short article): what it
    says answers one question."""
    alone = index.chunk_at(chunk.source, chunk.position - 1) is None
    return chunk.kind == "faq" or (alone and index.chunk_at(chunk.source, chunk.position + 1) is None)


def with_question_heading(index: KnowledgeIndex, chunk: Chunk) -> Chunk:
    """`chunk`, or when it opens a section headed by a question in the customer's voice ("## How do I return an
    item?"), a copy whose text starts with that question, as a line of its own.

    Help centers and FAQ documents answer a question in the sentences right under it. Where the question is a line
    of the text (plain text, doc2dial's pages), the answer finds it and quotes what follows it; as a heading, it
    was only the passage's section name, and the sentence most like the question could come from anywhere in the
    section.
    """
    question = chunk.heading.rpartition(" > ")[2]
    if chunk.kind == "faq" or not is_customer_heading(question):
        return chunk
    previous = index.chunk_at(chunk.source, chunk.position - 1)
    if previous is not None and previous.heading == chunk.heading:
        return chunk  # the section began in an earlier chunk
    title, _, body = chunk.text.partition("\n")
    return replace(chunk, text=f"{title}\n{question}\n{body}")


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


def with_what_follows(index: KnowledgeIndex, chunk: Chunk) -> Chunk:
    """`chunk`, or when it ends by pointing ahead ("You need the documents listed below.", "Bring the following:"),
    a copy with what follows in the next chunk of its section: the list, or else the next line. Quoted alone, such
    a sentence tells the customer nothing; the chunk window cut what it points to. Likewise when it ends inside a
    list that goes on in the next chunk: the list's other items come too, and an answer that quotes the list shows
    all of it (or says that the source has more), not the part that this chunk happened to hold."""
    body = chunk.text.partition("\n")[2]
    last_line = body.rstrip().rpartition("\n")[2]
    pointer = next((s for s in reversed(line_split(last_line)[-2:]) if points_forward(s.strip())), None)
    in_a_list = bool(list_marker(last_line))
    if pointer is None and not in_a_list:
        return chunk
    following = index.chunk_at(chunk.source, chunk.position + 1)
    if following is None or following.heading != chunk.heading:
        return chunk
    after = following.text.partition("\n")[2]
    # The chunks overlap: the next one begins with this one's last words (often the pointer and what follows it).
    words = list(re.finditer(r"\S+", after))
    if shared := overlap_length(body.split(), [word.group() for word in words]):
        after = after[words[shared - 1].end() :]
    elif pointer is None or re.search(r"\s+".join(map(re.escape, pointer.split())), after):
        return chunk  # repeated further on: where this chunk ends there is unclear
    # The window can end inside a line (a list item of several sentences): the next chunk then finishes it.
    end_of_line, _, after = after.partition("\n") if shared and not after.startswith("\n") else ("", "", after)
    end_of_line = end_of_line.strip()
    if pointer is not None and not end_of_line and (code := leading_code_block(after)):
        return replace(chunk, text="\n".join([chunk.text.rstrip(), *code]))  # "Here's an example:" and the example
    rest = [line.strip() for line in after.split("\n") if line.strip()]
    items = rest[: next((k for k, line in enumerate(rest) if not list_marker(line)), len(rest))]
    if items:
        rest = items
    elif pointer is None:
        return chunk  # the list ended with this chunk
    else:  # a pointer's point: the end of its own line, else the next line
        rest = [] if end_of_line else rest[:1]
    if not rest and not end_of_line:
        return chunk
    text = f"{chunk.text.rstrip()} {end_of_line}".rstrip()
    return replace(chunk, text="\n".join([text, *rest]))


def leading_code_block(text: str) -> list[str]:
    """The lines of the fenced code block that `text` starts with (after empty lines), fences included and as
    written (indentation is meaning in code); none when it starts otherwise."""
    lines = text.split("\n")
    lines = lines[next((k for k, line in enumerate(lines) if line.strip()), len(lines)) :]
    blocks = code_blocks(lines)
    return lines[: next((k for k, block in enumerate(blocks) if block != 0), len(lines))]
