"""Fakes that implement the project's Protocols, for fast unit tests."""

import hashlib
import re
import time
from collections.abc import Iterator

import numpy as np


class FakeEmbedder:
    """Bag-of-words vectors: each word gets a fixed random direction seeded from sha256, so texts that share
    words are close. Deterministic across runs and processes (never `hash()`)."""

    def __init__(self, dimension: int = 64, name: str = "fake-embedder", token_limit: int = 512):
        self.name = name
        self.token_limit = token_limit
        self._dimension = dimension
        self.calls: list[list[str]] = []

    @property
    def dimension(self) -> int:
        return self._dimension

    def warm_up(self) -> None:
        pass

    def max_tokens(self) -> int:
        return self.token_limit

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(text.split()) + 2 for text in texts]  # a word per token plus [CLS] and [SEP]

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self._dimension)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower()) or ["<empty>"]
            vec = sum(self._word(w.rstrip("s")) for w in words)
            out[i] = vec / np.linalg.norm(vec)
        return out


class FakeGenerator:
    """Replies with `enqueue()`d texts, word by word (`delay` seconds before each, `first_delay` more before the
    first; a `first_piece_by` deadline is honoured as the real generator does), and records every prompt in
    `history`."""

    def __init__(self, name: str = "fake-generator"):
        self.name = name
        self.delay = 0.0
        self.first_delay = 0.0  # extra wait before the first piece (a queue, a long prefill)
        self.replies: list[str] = []
        self.history: list[list[dict[str, str]]] = []
        self.pieces_sent = 0
        self.fail_after: int | None = None  # raise `ModelLoadError` after this many pieces (a crashed server)

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def warm_up(self) -> None:
        pass

    def stream(
        self, messages: list[dict[str, str]], *, max_new_tokens: int, first_piece_by: float | None = None
    ) -> Iterator[str]:
        from chatbot.errors import ModelLoadError
        from chatbot.generation import FirstPieceLate

        self.history.append(messages)
        reply = self.replies.pop(0) if self.replies else "I do not know."
        for i, word in enumerate(reply.split(" ")[:max_new_tokens]):
            if i == self.fail_after:
                raise ModelLoadError("the fake answer server failed: connection reset")
            wait = self.delay + (self.first_delay if i == 0 else 0.0)
            if i == 0 and first_piece_by is not None and time.monotonic() + wait > first_piece_by:
                time.sleep(max(0.0, first_piece_by - time.monotonic()))
                raise FirstPieceLate("the fake model's first piece is late")
            time.sleep(wait)
            self.pieces_sent += 1
            yield word if i == 0 else " " + word


class FakeRetriever:
    """Finds the same passages, best first, for every question (`chatbot.service.Retriever`); no knowledge base, no
    off-topic ceiling."""

    def __init__(self, passages):
        self.passages = passages

    def retrieve(self, question, history, k):
        return self.passages[:k]

    def spelled(self, text):
        return text

    def offtopic_ceiling(self):
        return None

    def warm_up(self):
        pass

    def check(self):
        pass

    def faq_questions(self, limit):
        return []


class FakeSentiment:
    """Keyword sentiment: a few angry words make a message negative, thanks make it positive."""

    NEGATIVE = ("angry", "terrible", "awful", "worst", "ridiculous", "useless", "furious")
    POSITIVE = ("thanks", "thank you", "great", "perfect", "love")

    def __init__(self):
        self.calls: list[list[str]] = []

    def warm_up(self) -> None:
        pass

    def classify(self, texts: list[str]) -> list:
        from chatbot.types import Sentiment

        self.calls.append(list(texts))
        out = []
        for text in texts:
            lower = text.lower()
            if any(w in lower for w in self.NEGATIVE):
                out.append(Sentiment("negative", 0.95 if "!" in text else 0.7))
            elif any(w in lower for w in self.POSITIVE):
                out.append(Sentiment("positive", 0.9))
            else:
                out.append(Sentiment("neutral", 0.8))
        return out
