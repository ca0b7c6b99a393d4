"""The sentiment model on ONNX Runtime: exported once from its PyTorch form, int8 on CPUs, cached by content.

A customer message is labelled before it is answered, so the classifier's speed on a plain CPU matters. On 2 CPU
cores the PyTorch model labels ~140 tweets/s at batch 64; exported to ONNX with its linear layers in int8, ~215,
at the same accuracy (TweetEval macro-recall 0.612 vs 0.611, SST-2 0.882 vs 0.880; benchmarks/RESULTS.md).
The export takes ~15 s and happens once per model version: the result is kept under the data directory in a
folder named by a fingerprint of the model's files, so a retrained or promoted version gets its own.
Needs the `onnx` extra (`onnxruntime`, `onnx`, `onnxscript`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from chatbot.config import DEFAULT_MODEL
from chatbot.errors import ModelLoadError
from chatbot.sentiment import (
    LABELS_FILE,
    MAX_TOKENS,
    classify_by_length,
    default_base_path,
    load_sentiment_model,
    sentiment_model_dir,
)
from chatbot.types import Sentiment

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "onnx-v1"  # part of every fingerprint: a change to how models are exported rebuilds the cache
MODEL_FILE = "model.onnx"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def fingerprint(model_dir: Path, *, int8: bool) -> str:
    """A name for the export of `model_dir`: the hash of its files' contents, of its base model's files (names,
    sizes, times) when it is an adapter, and of the export format."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT} int8={int8}".encode())
    for file in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(model_dir)).encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    meta = json.loads((model_dir / LABELS_FILE).read_text(encoding="utf-8"))
    if (model_dir / "adapter_config.json").exists():
        base = default_base_path() if meta.get("base", DEFAULT_MODEL) == DEFAULT_MODEL else Path(meta["base"])
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            stat = file.stat()
            digest.update(f"{file.relative_to(base)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


@contextmanager
def _quiet_export() -> Any:
    """Silence what the exporter and quantizer say on every export (tracer notes, "consider pre-processing")."""

    class _Drop(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return record.levelno >= logging.ERROR

    root, drop = logging.getLogger(), _Drop()  # the quantizer logs on the root logger itself
    exporter = logging.getLogger("torch.onnx")  # has its own handler ("torchvision is not installed...")
    level = exporter.level
    root.addFilter(drop)
    exporter.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(drop)
        exporter.setLevel(level)


def export_onnx(model_dir: Path, target: Path, *, int8: bool) -> None:
    """Write `target/model.onnx` (+ tokenizer and `labels.json`) from the sentiment model in `model_dir`.

    The graph takes token ids of any batch size and length and returns logits. With `int8`, the weights of its
    linear layers are int8 per output channel in 7 bits (`reduce_range`, which ONNX Runtime recommends for CPUs
    without VNNI, where 8-bit products can saturate); activations are quantized on the fly.
    The folder appears whole or not at all (written beside it, then renamed).
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model, tokenizer, labels = load_sentiment_model(model_dir, "cpu")

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            kwargs = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).logits

    sample = tokenizer(["a short text", "a somewhat longer text, to have padding"], padding=True, return_tensors="pt")
    inputs = {name: sample[name] for name in _INPUTS if name in sample}
    dynamic = torch.export.Dim.DYNAMIC
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with _quiet_export():
            program = torch.onnx.export(
                Logits().eval(),
                (),
                kwargs=inputs,
                input_names=list(inputs),
                output_names=["logits"],
                dynamic_shapes={name: {0: dynamic, 1: dynamic} for name in inputs},
                dynamo=True,
                verbose=False,
            )
            if program is None:
                raise RuntimeError("torch.onnx.export returned no program")
            program.save(str(tmp / "float32.onnx"))
            if int8:
                quantize_dynamic(
                    tmp / "float32.onnx",
                    tmp / MODEL_FILE,
                    per_channel=True,
                    reduce_range=True,
                    weight_type=QuantType.QInt8,
                )
                (tmp / "float32.onnx").unlink()
            else:
                (tmp / "float32.onnx").rename(tmp / MODEL_FILE)
        tokenizer.save_pretrained(tmp)
        meta = {"labels": labels, "source": str(model_dir), "int8": int8, "format": EXPORT_FORMAT}
        (tmp / LABELS_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if target.exists():  # another process exported the same model meanwhile: same content
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, target)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class OnnxSentimentClassifier:
    """The sentiment model exported to ONNX (int8 by default) and run by ONNX Runtime on the CPU.

    Usage example:
    ```python
    classifier = OnnxSentimentClassifier("default", cache_dir=Path("~/.local/share/chatbot/models/sentiment-onnx"))
    classifier.classify(["My parcel is late again!", "Where can I find my invoice?"])
    # [Sentiment(label='negative', score=0.92), Sentiment(label='neutral', score=0.80)]
    ```

    Args:
        model (`str` or `Path`): `"default"` (the shipped adapter) or a sentiment model folder.
        cache_dir (`Path`): where exports are kept, one folder per model fingerprint.
        int8 (`bool`, *optional*, defaults to `True`): int8 linear layers (see `export_onnx`).
        batch_size (`int`, *optional*, defaults to 64): texts per ONNX Runtime call.
        max_length (`int`, *optional*, defaults to `MAX_TOKENS`): tokens read per text; the rest is cut.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        cache_dir: Path,
        int8: bool = True,
        batch_size: int = 64,
        max_length: int = MAX_TOKENS,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.path = sentiment_model_dir(model)
        runtime = "onnx-int8" if int8 else "onnx"
        self.name = f"minilm-sentiment (default, {runtime})" if str(model) == DEFAULT_MODEL else f"{model} ({runtime})"
        self._cache_dir = Path(cache_dir)
        self._int8 = int8
        self._batch_size = batch_size
        self._max_length = max_length
        self._loaded: tuple[Any, Any, list[str]] | None = None
        self._lock = threading.Lock()

    def export_dir(self) -> Path:
        """The folder that holds (or will hold) this model's export."""
        if not (self.path / LABELS_FILE).exists():
            raise ModelLoadError(f"{self.path} is not a sentiment model folder: {LABELS_FILE} is missing")
        return self._cache_dir / fingerprint(self.path, int8=self._int8)

    def warm_up(self) -> None:
        """Export the model if this version has no export yet (~15 s once), then load it."""
        with self._lock:
            if self._loaded is not None:
                return
            try:
                import onnxruntime
            except ImportError as err:
                raise ModelLoadError(
                    "the ONNX sentiment runtime needs onnxruntime: pip install 'chatbot[onnx]' "
                    "(or set CHATBOT_SENTIMENT_RUNTIME=torch)"
                ) from err
            from transformers import AutoTokenizer

            folder = self.export_dir()
            if not (folder / MODEL_FILE).exists():
                logger.info("exporting sentiment model %s to ONNX (once per version): %s", self.path, folder)
                try:
                    export_onnx(self.path, folder, int8=self._int8)
                except (ImportError, OSError, RuntimeError, ValueError) as err:
                    raise ModelLoadError(
                        f"cannot export sentiment model {self.path} to ONNX: {err}; "
                        "set CHATBOT_SENTIMENT_RUNTIME=torch to serve it with PyTorch"
                    ) from err
            session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), providers=["CPUExecutionProvider"])
            labels = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))["labels"]
            self._loaded = (session, AutoTokenizer.from_pretrained(folder), list(labels))

    def classify(self, texts: list[str]) -> list[Sentiment]:
        """One label with its probability per text."""
        self.warm_up()
        session, tokenizer, labels = self._loaded  # type: ignore[misc]  # set by warm_up
        wanted = [i.name for i in session.get_inputs()]

        def probabilities(batch: list[str]) -> np.ndarray:
            encoded = tokenizer(batch, padding=True, truncation=True, max_length=self._max_length, return_tensors="np")
            (logits,) = session.run(["logits"], {name: encoded[name].astype(np.int64) for name in wanted})
            logits = logits - logits.max(-1, keepdims=True)
            exp = np.exp(logits)
            return exp / exp.sum(-1, keepdims=True)

        return classify_by_length(texts, self._batch_size, probabilities, labels)
