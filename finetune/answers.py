"""Supervised fine-tuning of the answer model on support transcripts: LoRA (or full) under `accelerate`.

Loss is on the reply tokens only (the last assistant message of each example, its end-of-turn token included).
Batches group examples of similar length (less padding, so more real tokens per second than random batches);
checkpoints are written every `checkpoint_every` optimizer steps and a rerun resumes from the last one.
"""

from __future__ import annotations

import json
import logging
import math
import random
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from chatbot.config import DEFAULT_MODEL
from chatbot.errors import ConfigError, InputError
from chatbot.generation import ADAPTER_BASE_FILE, default_generator_path, load_answer_tokenizer
from finetune.transcripts import Example

logger = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"


@dataclass
class AnswerTrainConfig:
    """How the answer model is fine-tuned."""

    base_model: str = field(
        default=DEFAULT_MODEL, metadata={"help": "model to adapt: 'default' (SmolLM2-135M-Instruct) or a folder/id"}
    )
    full: bool = field(default=False, metadata={"help": "train every weight instead of a LoRA adapter"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training data"})
    max_steps: int = field(default=0, metadata={"help": "stop after this many optimizer steps (0: use epochs)"})
    batch_size: int = field(default=8, metadata={"help": "examples per forward pass (per process)"})
    grad_accum: int = field(default=1, metadata={"help": "forward passes per optimizer step"})
    learning_rate: float = field(default=0.0, metadata={"help": "peak learning rate (0: 2e-4 LoRA, 2e-5 full)"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "share of steps with a linear warm-up"})
    max_length: int = field(default=512, metadata={"help": "tokens per example; longer examples are left out"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA branch"})
    group_by_length: bool = field(default=True, metadata={"help": "batch examples of similar length together"})
    checkpoint_every: int = field(default=50, metadata={"help": "optimizer steps between checkpoints (0: none)"})
    seed: int = field(default=13, metadata={"help": "random seed (data order, initialisation)"})

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accum", "max_length", "lora_r"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError(f"epochs must be > 0 (got {self.epochs}) unless max_steps is set")
        if self.max_steps < 0 or self.checkpoint_every < 0:
            raise ConfigError(f"max_steps and checkpoint_every cannot be negative: {self.max_steps}, "
                              f"{self.checkpoint_every}")  # fmt: skip
        if not 0 <= self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be in [0, 1), got {self.learning_rate}")

    @property
    def peak_learning_rate(self) -> float:
        """The learning rate in use (LoRA tolerates, and needs, a larger one than full fine-tuning)."""
        return self.learning_rate or (2e-5 if self.full else 2e-4)


def _template_ids(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool = False) -> list[int]:
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=generation_prompt, return_dict=True
    )
    return list(encoded["input_ids"])


def encode_example(tokenizer: Any, messages: list[dict[str, str]], max_length: int) -> dict[str, list[int]] | None:
    """Token ids and labels of one chat; labels are -100 everywhere but the last assistant message.

    Returns None when the chat is longer than `max_length` tokens (cutting it would cut the reply to learn).
    """
    if not messages or messages[-1]["role"] != "assistant":
        raise InputError("a training chat must end with the assistant's reply")
    ids = _template_ids(tokenizer, messages)
    if len(ids) > max_length:
        return None
    prompt = _template_ids(tokenizer, messages[:-1], generation_prompt=True)
    if ids[: len(prompt)] != prompt:
        raise ConfigError(
            "the model's chat template renders the prompt differently inside the full chat; cannot tell the reply "
            "tokens apart (use an instruct model with a standard template)"
        )
    return {"input_ids": ids, "labels": [-100] * len(prompt) + ids[len(prompt) :]}


def length_grouped_batches(
    lengths: list[int], batch_size: int, *, epochs: int, seed: int, group: bool = True
) -> list[list[int]]:
    """Batches of example indices for `epochs` passes, in a deterministic order.

    With `group`, each pass is shuffled, cut into windows of 64 batches, each window sorted by length and cut
    into batches, and the batches shuffled again: batches hold examples of similar length, order stays random.
    """
    rng = random.Random(seed)
    batches: list[list[int]] = []
    for _ in range(epochs):
        order = list(range(len(lengths)))
        rng.shuffle(order)
        window = batch_size * 64 if group else len(order) or 1
        epoch: list[list[int]] = []
        for start in range(0, len(order), window):
            part = order[start : start + window]
            if group:
                part.sort(key=lambda i: lengths[i], reverse=True)
            epoch.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
        if group:
            rng.shuffle(epoch)
        batches.extend(epoch)
    return batches


def pad_batch(rows: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch to its longest row; padding is masked out of attention and loss."""
    import torch

    width = max(len(r["input_ids"]) for r in rows)
    ids = [r["input_ids"] + [pad_id] * (width - len(r["input_ids"])) for r in rows]
    labels = [r["labels"] + [-100] * (width - len(r["labels"])) for r in rows]
    mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def _peak_memory_mb(device: Any) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def train_answers(
    train: list[Example],
    output_dir: Path,
    config: AnswerTrainConfig,
    *,
    models_dir: Path,
    checkpoint_dir: Path | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune on `train` and save the adapter (or full model) in `output_dir`; return the training report.

    Args:
        checkpoint_dir (`Path`, *optional*): where checkpoints go; a checkpoint already there is resumed.
        on_step (`Callable`, *optional*): called with (optimizer step, its loss) after every step.
    """
    import torch
    from accelerate import Accelerator
    from peft import LoraConfig, TaskType
    from torch.utils.data import DataLoader
    from transformers import AutoModelForCausalLM, get_linear_schedule_with_warmup

    from chatbot.adapters import with_adapter

    if not train:
        raise InputError("no training examples")
    use_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    accelerator = Accelerator(
        mixed_precision="bf16" if use_bf16 else "no", gradient_accumulation_steps=config.grad_accum
    )
    torch.manual_seed(config.seed)
    base = default_generator_path(models_dir) if config.base_model == DEFAULT_MODEL else config.base_model
    tokenizer = load_answer_tokenizer(base)
    model: Any = AutoModelForCausalLM.from_pretrained(base)  # a peft wrapper below; Any keeps both types
    if not config.full:
        lora = LoraConfig(
            task_type=TaskType.CAUSAL_LM,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
        )
        model = with_adapter(model, lora)

    encoded = [encode_example(tokenizer, e.chat(), config.max_length) for e in train]
    rows = [r for r in encoded if r is not None]
    if not rows:
        raise InputError(f"every training example is longer than max_length={config.max_length} tokens")
    per_epoch = math.ceil(len(rows) / config.batch_size)
    # Optimizer steps over all processes; each step consumes grad_accum batches on every process.
    batches_per_step = config.grad_accum * accelerator.num_processes
    total_steps = config.max_steps or max(1, math.ceil(config.epochs * per_epoch / batches_per_step))
    epochs_needed = math.ceil(total_steps * batches_per_step / per_epoch)
    batches = length_grouped_batches(
        [len(r["input_ids"]) for r in rows],
        config.batch_size,
        epochs=epochs_needed,
        seed=config.seed,
        group=config.group_by_length,
    )[: total_steps * batches_per_step]
    pad_id = tokenizer.pad_token_id
    loader: Any = DataLoader(rows, batch_sampler=batches, collate_fn=lambda b: pad_batch(b, pad_id))  # type: ignore[arg-type]  # a list of index lists is a valid batch sampler

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.peak_learning_rate)
    # accelerate steps a prepared scheduler once per process for every optimizer step, hence the factor.
    scheduler = get_linear_schedule_with_warmup(
        optimizer,
        int(config.warmup_ratio * total_steps) * accelerator.num_processes,
        total_steps * accelerator.num_processes,
    )
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

    step, losses, tokens = 0, [], 0
    if checkpoint_dir is not None:
        old = checkpoint_dir.with_name(checkpoint_dir.name + ".old")
        if not checkpoint_dir.exists() and old.exists():  # interrupted between the two renames of a save
            old.rename(checkpoint_dir)
    if checkpoint_dir is not None and (checkpoint_dir / STATE_FILE).exists():
        state = json.loads((checkpoint_dir / STATE_FILE).read_text(encoding="utf-8"))
        if state["total_steps"] != total_steps or state["examples"] != len(rows):
            raise InputError(
                f"the checkpoint in {checkpoint_dir} belongs to a run of {state['total_steps']} steps on "
                f"{state['examples']} examples, not {total_steps} on {len(rows)}; remove it to start afresh"
            )
        accelerator.load_state(str(checkpoint_dir))
        step, losses, tokens = state["step"], state["losses"], state["tokens"]
        logger.info("resuming from step %d of %d (%s)", step, total_steps, checkpoint_dir)
        loader = accelerator.skip_first_batches(loader, step * config.grad_accum)

    def save_checkpoint(target: Path) -> None:
        # Written beside, then renamed: an interruption while saving leaves the previous checkpoint whole.
        # Every process writes its part (its random state) into the same folder, so only the main process
        # clears it, and nobody writes before it has (several processes crashed here before the barrier).
        tmp = target.with_name(target.name + ".tmp")
        if accelerator.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            state = {"step": step, "total_steps": total_steps, "examples": len(rows), "losses": losses,
                     "tokens": tokens}  # fmt: skip
            (tmp / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
            old = target.with_name(target.name + ".old")
            if target.exists():
                target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    started, resumed_at, resumed_tokens = time.perf_counter(), step, tokens
    bar = tqdm(total=total_steps, initial=step, desc="Fine-tuning answers", unit="step",
               disable=not progress or not accelerator.is_main_process)  # fmt: skip
    running: list[float] = []
    for batch in loader:
        with accelerator.accumulate(model):
            loss = model(**batch).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        tokens += int(batch["attention_mask"].sum()) * accelerator.num_processes
        running.append(float(accelerator.reduce(loss.detach(), reduction="mean")))  # over all processes
        if not accelerator.sync_gradients:
            continue
        step += 1
        losses.append(sum(running) / len(running))
        running = []
        bar.update(1)
        bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
        if on_step is not None:
            on_step(step, losses[-1])
        if checkpoint_dir is not None and config.checkpoint_every and step % config.checkpoint_every == 0:
            save_checkpoint(checkpoint_dir)
        if step >= total_steps:
            break
    bar.close()
    seconds = time.perf_counter() - started

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        trained = accelerator.unwrap_model(model)
        trained.save_pretrained(output_dir)
        (output_dir / "README.md").unlink(missing_ok=True)  # peft's generic model card; report.md replaces it
        if config.full:
            tokenizer.save_pretrained(output_dir)
        else:
            meta = {"base": config.base_model}
            (output_dir / ADAPTER_BASE_FILE).write_text(json.dumps(meta), encoding="utf-8")
    return {
        "steps": step,
        "total_steps": total_steps,
        "resumed_from_step": resumed_at,
        "train_examples": len(rows),
        "too_long_for_max_length": len(encoded) - len(rows),
        "losses": losses,
        "final_loss": sum(losses[-20:]) / max(1, len(losses[-20:])),
        "train_seconds": round(seconds, 1),
        "tokens_per_second": round((tokens - resumed_tokens) / seconds, 1) if seconds else 0.0,
        "peak_memory_mb": round(_peak_memory_mb(accelerator.device), 1),
        "device": str(accelerator.device),
        "mixed_precision": accelerator.mixed_precision,
        "processes": accelerator.num_processes,
        "config": asdict(config),
    }
