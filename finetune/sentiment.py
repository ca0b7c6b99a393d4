"""Train the sentiment classifier: LoRA (+ a fully trained head) on a sentence encoder, under `accelerate`."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from chatbot.config import DEFAULT_MODEL, Settings
from chatbot.errors import ConfigError, InputError
from chatbot.registry import ModelVersion
from chatbot.sentiment import MAX_TOKENS, SentimentClassifier
from chatbot.types import SENTIMENT_LABELS
from finetune.data import in_eval_split, labelled_texts, parse_label_map
from finetune.metrics import classification_report

logger = logging.getLogger(__name__)
# The [CLS] classifier's parts that are new or never trained for it: trained whole, also beside a LoRA adapter.
HEAD_NAMES = ("classifier", "pooler")
LORA_TARGETS = ["query", "key", "value", "dense"]  # every linear layer of a BERT encoder


def is_head(parameter: str) -> bool:
    """Whether a parameter name ("bert.pooler.dense.weight") belongs to the classifier head (`HEAD_NAMES`)."""
    return any(part in HEAD_NAMES for part in parameter.split("."))


@dataclass
class SentimentTrainConfig:
    """How a sentiment model is trained."""

    base_model: str = field(
        default=DEFAULT_MODEL, metadata={"help": "encoder to adapt: 'default' (MiniLM from its wheel) or a folder/id"}
    )
    epochs: float = field(default=1.0, metadata={"help": "passes over the training data"})
    max_steps: int = field(default=0, metadata={"help": "stop after this many optimizer steps (0: no limit)"})
    batch_size: int = field(default=32, metadata={"help": "examples per optimizer step"})
    learning_rate: float = field(default=5e-4, metadata={"help": "peak learning rate (LoRA needs more than full FT)"})
    warmup_ratio: float = field(default=0.06, metadata={"help": "share of steps with a linear warm-up"})
    max_length: int = field(
        default=64,
        metadata={
            "help": "tokens per training text (customer messages are short); raise it for long reviews. Serving "
            "reads up to 512 tokens whatever this is"
        },
    )
    lora_r: int = field(
        default=16, metadata={"help": "LoRA rank; with full_finetune, the rank of the adapter the result is saved as"}
    )
    full_finetune: bool = field(
        default=False,
        metadata={
            "help": "train every encoder weight (the embeddings stay as they are) instead of a LoRA adapter, and save "
            "the change as a rank-lora_r adapter (truncated SVD of each weight's change): the artefact stays small. "
            "The shipped recipe this way, at rank 64 (no logit_offsets): TweetEval macro-recall 0.661 vs 0.653, "
            "SST-2 0.895 vs 0.891, long neutral messages 0.89 vs 0.93, within the spread of seeds "
            "(benchmarks/RESULTS.md, twenty-third session). 'cls' pooling only"
        },
    )
    encoder_learning_rate: float = field(
        default=6e-5,
        metadata={"help": "with full_finetune: peak learning rate of the encoder (the head's is learning_rate)"},
    )
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling"})
    pooling: str = field(
        default="cls",
        metadata={
            "help": "'cls' (the BERT pooler, trained with the head) or 'mean' of the token vectors (what MiniLM "
            "was trained for; 0.596 vs 0.611 TweetEval macro-recall with the default recipe)"
        },
    )
    seed: int = field(default=13, metadata={"help": "random seed (data order, initialisation)"})
    group_by_length: bool = field(
        default=False,
        metadata={
            "help": "batch texts of similar length together (in random order): long texts among short ones would "
            "pad every batch to their length; use it when raising max_length for long texts"
        },
    )
    logit_offsets: list[float] = field(
        default_factory=lambda: [0.0, 0.0, 0.0],
        metadata={
            "help": "added to the (negative, neutral, positive) scores of the trained head, before it is evaluated "
            "and saved: a prior correction for a training mix that holds fewer texts of a kind than its use does. The "
            "shipped model's +0.9 on negative was chosen on a model trained on the other TweetEval half "
            "(benchmarks/RESULTS.md, twenty-fourth session)"
        },
    )

    def __post_init__(self) -> None:
        if len(self.logit_offsets) != len(SENTIMENT_LABELS):
            raise ConfigError(f"logit_offsets needs one number per label {SENTIMENT_LABELS}, got {self.logit_offsets}")
        for name in ("batch_size", "max_length", "lora_r"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError(f"epochs must be > 0 (got {self.epochs}) unless max_steps is set")
        if self.pooling not in ("mean", "cls"):
            raise ConfigError(f"pooling must be 'mean' or 'cls', got {self.pooling!r}")
        for name in ("learning_rate", "encoder_learning_rate"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.full_finetune and self.pooling != "cls":
            raise ConfigError(f"full_finetune needs pooling 'cls', got {self.pooling!r}")


def length_grouped(order: list[int], lengths: list[int], batch_size: int, seed: int, group: int = 50) -> list[int]:
    """`order` rearranged so that each run of `batch_size` holds texts of similar length: every `group` batches'
    worth of examples is sorted by length and cut into batches, and the batches are shuffled (what transformers'
    `group_by_length` does). Every index stays, once."""
    rng = random.Random(seed)
    batches = []
    for start in range(0, len(order), group * batch_size):
        chunk = sorted(order[start : start + group * batch_size], key=lambda i: lengths[i], reverse=True)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return [i for batch in batches for i in batch]


def train_sentiment(
    train: list[tuple[str, str]],
    evaluation: list[tuple[str, str]],
    output_dir: Path,
    config: SentimentTrainConfig,
    *,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> dict:
    """Train on (text, label) pairs, evaluate on held-out pairs, save adapter + head + report in `output_dir`.

    Returns the report: the evaluation metrics, the training settings and the data sizes.
    """
    import torch
    from accelerate import Accelerator
    from peft import LoraConfig, TaskType
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from chatbot.adapters import with_adapter
    from chatbot.sentiment import LABELS_FILE, default_base_path, spell_out_emoji

    if not train:
        raise ConfigError("no training examples")
    # The classifier reads emoji as words (`spell_out_emoji`); so must its training.
    train = [(spell_out_emoji(text), label) for text, label in train]
    evaluation = [(spell_out_emoji(text), label) for text, label in evaluation]
    label_ids = {label: i for i, label in enumerate(SENTIMENT_LABELS)}
    torch.manual_seed(config.seed)
    accelerator = Accelerator(mixed_precision="bf16" if torch.cuda.is_available() else "no")
    base = default_base_path() if config.base_model == DEFAULT_MODEL else Path(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    mean = config.pooling == "mean"
    lora = LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION if mean else TaskType.SEQ_CLS,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.1,
        target_modules=LORA_TARGETS,
        # The [CLS] head is new and the pooler was never trained for it: both are trained in full.
        modules_to_save=None if mean else list(HEAD_NAMES),
    )
    model: Any
    if mean:
        from transformers import AutoModel

        from chatbot.sentiment_model import MeanPooledClassifier

        model = MeanPooledClassifier(with_adapter(AutoModel.from_pretrained(base), lora), len(SENTIMENT_LABELS))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            base,
            num_labels=len(SENTIMENT_LABELS),
            id2label=dict(enumerate(SENTIMENT_LABELS)),
            label2id=label_ids,
        )
        if config.full_finetune:
            for parameter in model.base_model.embeddings.parameters():
                parameter.requires_grad = False
        else:
            model = with_adapter(model, lora)

    order = list(range(len(train)))
    random.Random(config.seed).shuffle(order)
    if config.group_by_length:
        order = length_grouped(order, [len(text.split()) for text, _ in train], config.batch_size, config.seed)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = config.max_steps or math.ceil(config.epochs * steps_per_epoch)
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for _, p in trainable], "lr": config.learning_rate}]
    if config.full_finetune:  # the new head learns at the LoRA rate, the pretrained encoder at about a tenth of it
        groups = [
            {"params": [p for name, p in trainable if is_head(name)], "lr": config.learning_rate},
            {"params": [p for name, p in trainable if not is_head(name)], "lr": config.encoder_learning_rate},
        ]
    optimizer = torch.optim.AdamW(groups)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    def batches(step: int) -> tuple[list[str], list[int]]:
        start = (step % steps_per_epoch) * config.batch_size
        rows = [train[i] for i in order[start : start + config.batch_size]]
        return [t for t, _ in rows], [label_ids[label] for _, label in rows]

    model.train()
    started, losses = time.perf_counter(), []
    bar = tqdm(range(total_steps), desc="Training sentiment", unit="step", disable=not progress)
    for step in bar:
        texts, labels = batches(step)
        inputs = tokenizer(texts, padding=True, truncation=True, max_length=config.max_length, return_tensors="pt")
        inputs = inputs.to(accelerator.device)
        with accelerator.autocast():
            out = model(**inputs, labels=torch.tensor(labels, device=accelerator.device))
        accelerator.backward(out.loss)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(out.loss.detach()))
        if on_step is not None:
            on_step(step + 1, losses[-1])
        if step % 10 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
    train_seconds = time.perf_counter() - started

    if config.full_finetune:  # evaluated as it is saved
        model = low_rank_adapter(accelerator.unwrap_model(model), base, config.lora_r).to(accelerator.device)
    add_logit_offsets(model, config.logit_offsets)
    model.eval()
    predicted = []
    for start in range(0, len(evaluation), 128):
        texts = [t for t, _ in evaluation[start : start + 128]]
        # Read as the serving classifier reads them, so that the scores compare with the serving model's.
        inputs = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            predicted.extend(model(**inputs.to(accelerator.device)).logits.argmax(-1).tolist())
    report = {
        "eval": classification_report([label_ids[label] for _, label in evaluation], predicted, len(SENTIMENT_LABELS))
        if evaluation
        else {},
        "train_examples": len(train),
        "eval_examples": len(evaluation),
        "steps": total_steps,
        "final_loss": sum(losses[-50:]) / len(losses[-50:]),
        "train_seconds": round(train_seconds, 1),
        "config": asdict(config),
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    trained = accelerator.unwrap_model(model)
    if config.full_finetune:
        trained = trained.half()  # rank 64: 5.7 MB instead of 11.4; loading casts it back
    adapted = trained.encoder if mean else trained
    # The recorded base is the model's name, not a path of the training machine; labels.json says how to load it.
    adapted.peft_config["default"].base_model_name_or_path = (
        "sentence-transformers/all-MiniLM-L6-v2" if config.base_model == DEFAULT_MODEL else config.base_model
    )
    # The embeddings are never trained: without saying so, peft looks the base name up on the Hub and warns offline.
    adapted.save_pretrained(output_dir, save_embedding_layers=False)
    if mean:
        trained.save_head(output_dir)
    (output_dir / "README.md").unlink(
        missing_ok=True
    )  # peft's generic model card; report.json says how this one was made
    (output_dir / LABELS_FILE).write_text(
        json.dumps({"labels": list(SENTIMENT_LABELS), "base": config.base_model, "pooling": config.pooling}, indent=1),
        encoding="utf-8",
    )
    (output_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    logger.info("sentiment model saved to %s: %s", output_dir, report["eval"])
    return report


def add_logit_offsets(model: Any, offsets: list[float]) -> None:
    """Add `offsets` (one per label) to the output bias of `model`'s classifier head, in place: every copy of it
    (peft keeps the untrained original beside the trained one). Saving, loading and the ONNX export need nothing
    new: the head says it."""
    import torch

    biases = [p for name, p in model.named_parameters() if "classifier" in name.split(".") and name.endswith("bias")]
    if not biases:
        raise ConfigError(f"{type(model).__name__} has no classifier head to offset")
    with torch.no_grad():
        for bias in biases:
            bias.add_(torch.tensor(offsets, dtype=bias.dtype, device=bias.device))


def low_rank_adapter(trained: Any, base: Path, rank: int) -> Any:
    """The fully fine-tuned classifier `trained` as the base model in `base` plus a LoRA adapter of `rank`, saved as
    the LoRA-trained models are: each linear layer's change is its truncated SVD (scaling 1), and the biases,
    LayerNorms, pooler and head are kept as trained (`bias="all"`, `modules_to_save`).

    Rank 64 keeps the result: the shipped recipe fully fine-tuned scored TweetEval macro-recall 0.665, its
    adapter 0.663 at rank 64, 0.657 at 32 and 0.646 at 16 (float32; benchmarks/RESULTS.md, twenty-third session).
    """
    import torch
    from peft import LoraConfig, TaskType
    from peft.tuners.lora import LoraLayer
    from transformers import AutoModelForSequenceClassification

    from chatbot.adapters import head_loaded_later, with_adapter

    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=rank,
        lora_dropout=0.0,
        target_modules=LORA_TARGETS,
        modules_to_save=[*HEAD_NAMES, "LayerNorm"],
        bias="all",
    )
    with head_loaded_later():  # the head comes from `trained` below
        fresh = AutoModelForSequenceClassification.from_pretrained(base, num_labels=trained.config.num_labels)
    fresh.config.id2label, fresh.config.label2id = trained.config.id2label, trained.config.label2id
    adapted = with_adapter(fresh, lora)
    weights = {name: p.detach().float().cpu() for name, p in trained.named_parameters()}
    with torch.no_grad():
        for name, module in adapted.base_model.model.named_modules():
            if not isinstance(module, LoraLayer) or f"{name}.weight" not in weights:  # the head's are kept whole
                continue
            change = weights[f"{name}.weight"] - module.base_layer.weight
            u, s, vh = torch.linalg.svd(change, full_matrices=False)
            k = min(rank, len(s))  # a layer narrower than `rank` is kept exactly; its other components stay 0
            # peft types the layers of lora_A / lora_B as Module | Tensor; they are nn.Linear
            down, up = module.lora_A["default"].weight, module.lora_B["default"].weight
            down.zero_()[:k].copy_(s[:k].sqrt()[:, None] * vh[:k])  # type: ignore[operator]
            up.zero_()[:, :k].copy_(u[:, :k] * s[:k].sqrt())  # type: ignore[operator]
        for name, parameter in adapted.base_model.model.named_parameters():
            plain = name.replace(".modules_to_save.default", "").replace(".base_layer", "")
            kept = "modules_to_save" in name or (name.endswith("bias") and "lora_" not in name)
            if kept and plain in weights:
                parameter.copy_(weights[plain])
    return adapted


def evaluate_classifier(classifier: SentimentClassifier, evaluation: list[tuple[str, str]]) -> dict[str, float]:
    """Accuracy, macro-recall and macro-F1 of any classifier on (text, label) pairs."""
    label_ids = {label: i for i, label in enumerate(SENTIMENT_LABELS)}
    predicted = [label_ids[s.label] for s in classifier.classify([t for t, _ in evaluation])]
    return classification_report([label_ids[label] for _, label in evaluation], predicted, len(SENTIMENT_LABELS))


def run_sentiment_finetune(
    settings: Settings,
    data_file: Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    label_map: str | None = None,
    eval_fraction: float = 0.1,
    epochs: float = 2.0,
    max_steps: int = 0,
    base_model: str = DEFAULT_MODEL,
    full_finetune: bool = False,
    name: str | None = None,
    promote: bool = False,
    force: bool = False,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> ModelVersion:
    """What `chatbot finetune sentiment` does: train on a labelled file, compare with the serving model on the
    same held-out texts, register the new version in the deployment's database, optionally promote it."""
    from chatbot.registry import ModelRegistry
    from chatbot.sentiment import serving_classifier
    from chatbot.storage import SqlStore

    pairs = labelled_texts(
        data_file, text_column=text_column, label_column=label_column, label_map=parse_label_map(label_map)
    )
    train = [p for p in pairs if not in_eval_split(p[0], eval_fraction)]
    evaluation = [p for p in pairs if in_eval_split(p[0], eval_fraction)]
    if len(train) < 10 or not evaluation:
        raise InputError(
            f"{data_file.name} gives {len(train)} training and {len(evaluation)} evaluation texts; "
            "at least 10 and 1 are needed (add data or raise --eval-fraction)"
        )
    registry = ModelRegistry(SqlStore(settings.database_url))
    name = name or f"sentiment-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    target = settings.models_dir / "sentiment" / name
    if target.exists() or any(v.name == name for v in registry.list()):
        raise InputError(f"a model version named {name!r} exists already; choose another --name")
    tmp = target.with_name(f".tmp-{name}")
    shutil.rmtree(tmp, ignore_errors=True)
    report = train_sentiment(
        train,
        evaluation,
        tmp,
        SentimentTrainConfig(
            base_model=base_model,
            epochs=epochs,
            max_steps=max_steps,
            full_finetune=full_finetune,
            lora_r=64 if full_finetune else 16,  # the full change at rank 64 keeps its result (`low_rank_adapter`)
        ),
        progress=progress,
        on_step=on_step,
    )
    # PyTorch, as the new version was evaluated: the comparison is of the models, not of their runtimes.
    report["baseline"] = evaluate_classifier(serving_classifier(settings, registry, runtime="torch"), evaluation)
    report["data"] = {"file": str(data_file), "sha256": hashlib.sha256(data_file.read_bytes()).hexdigest()}
    (tmp / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    os.replace(tmp, target)
    version = registry.register("sentiment", name, target, base=base_model, report=report)
    return registry.promote(name, force=force) if promote else version
