"""Plain dataclasses shared by every package: documents, chunks, retrieved passages, answers, messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

Role = Literal["user", "assistant", "staff", "system"]


class Decision(str, Enum):
    """What the assistant decided to do with a question."""

    GENERATED = "generated"
    EXTRACTED = "extracted"
    FAQ = "faq"
    HANDOFF_LOW_CONFIDENCE = "handoff_low_confidence"
    HANDOFF_REQUESTED = "handoff_requested"
    HANDOFF_BAD_OUTPUT = "handoff_bad_output"
    HANDOFF_FAILED = "handoff_failed"  # the knowledge base could not be searched (no index, a wrong setting)
    HANDOFF_NOTHING_NEW = "handoff_nothing_new"  # asked for more ("What else?") when the passages had no more
    WAITING_FOR_STAFF = "waiting_for_staff"
    HELD_FOR_REVIEW = "held_for_review"  # review mode: the answer is a draft until a person approves it
    SMALL_TALK = "small_talk"  # a greeting, thanks, goodbye... answered politely, not from the knowledge base


# The decisions where the bot itself replied; every other decision hands the conversation to a person.
BOT_REPLIES = frozenset({Decision.GENERATED, Decision.EXTRACTED, Decision.FAQ, Decision.SMALL_TALK})


@dataclass(frozen=True)
class Document:
    """One knowledge-base document as loaded from a file.

    Args:
        source (`str`): where it came from, relative to the folder that was ingested (e.g. `help/refunds.md`);
            also its identity: ingesting the same source again replaces it.
        title (`str`): human-readable title, shown with citations.
        text (`str`): the full text (Markdown kept as is).
        kind (`str`, *optional*, defaults to `"article"`): `"article"`, or `"faq"` for one curated question/answer.
        url (`str`, *optional*, defaults to `""`): where customers can read it (the help-center page); citations
            link to it.
    """

    source: str
    title: str
    text: str
    kind: str = "article"
    url: str = ""


@dataclass(frozen=True)
class DocumentRecord:
    """What the database knows of one ingested knowledge-base document (the index holds its text and vectors)."""

    source: str
    title: str
    kind: str
    content_hash: str
    chunks: int


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, the unit that is embedded, indexed and cited."""

    chunk_id: str
    source: str
    title: str
    text: str
    position: int
    kind: str = "article"
    heading: str = ""
    url: str = ""  # the document's page for customers, if known

    @property
    def section(self) -> str:
        """What the passage is about: its heading path ("Refunds > How you are refunded"), else its document's
        title."""
        return self.heading or self.title


@dataclass(frozen=True)
class Passage:
    """A chunk returned by retrieval, with its fused score and a confidence in [0, 1]."""

    chunk: Chunk
    score: float
    confidence: float
    # The chunk is all of its document (a short article) or a FAQ entry: one answer to one question, where a
    # passage cut from a longer page can go on to the next subject (see `extractive.extractive_answer`).
    whole: bool = False


SENTIMENT_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Sentiment:
    """The sentiment of one text: `label` is one of `SENTIMENT_LABELS`, `score` its probability."""

    label: str
    score: float


@dataclass(frozen=True)
class Turn:
    """One earlier message of a conversation, as used to build queries and prompts."""

    role: Role
    content: str
    sentiment: Sentiment | None = None


def cited_numbers(text: str, sources: int) -> list[int]:
    """The source numbers (1 to `sources`) that `text` cites as [n], in order; all of them when it cites none."""
    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text) if 1 <= int(n) <= sources})
    return cited or list(range(1, sources + 1))


@dataclass
class Answer:
    """The assistant's reply to one customer message, with everything needed to trace it afterwards."""

    text: str
    decision: Decision
    confidence: float
    sources: list[Passage] = field(default_factory=list)
    conversation_id: str = ""
    message_id: int | None = None
    model_version: str = ""
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def handed_off(self) -> bool:
        """True when the conversation was handed to a person instead of answered by the bot."""
        return self.decision not in BOT_REPLIES

    def to_json(self) -> dict:
        """The shape `chatbot ask --json` prints."""
        return {
            "answer": self.text,
            "handed_off": self.handed_off,
            "decision": self.decision.value,
            "confidence": round(self.confidence, 4),
            "conversation_id": self.conversation_id,
            "sources": [
                {
                    "text": p.chunk.text,
                    "score": round(p.score, 6),
                    "source": p.chunk.source,
                    "title": p.chunk.title,
                    "url": p.chunk.url,
                }
                for p in self.sources
            ],
            "latency_ms": {k: round(v, 1) for k, v in self.latency_ms.items()},
        }
