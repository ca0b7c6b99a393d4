"""What `chatbot finetune answers` and `chatbot finetune evaluate` do, as library functions: read and clean the
transcripts, train, evaluate the new model against the serving one on the same held-out replies, write the
reports, register the version (and promote it when asked)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chatbot.config import DEFAULT_MODEL, Settings
from chatbot.errors import InputError
from chatbot.registry import ModelRegistry, ModelVersion
from chatbot.storage import SqlStore
from finetune.answers import AnswerTrainConfig, train_answers
from finetune.evaluation import evaluate_answer_model
from finetune.report import write_report
from finetune.transcripts import Example, PreparedData, prepare, read_transcripts, transcripts_from_store


@dataclass(frozen=True)
class TranscriptSource:
    """Where training examples come from: a file (with its column names) and/or the product's staff replies."""

    path: Path | None = None
    question_col: str = "instruction"
    answer_col: str = "response"
    messages_col: str = "messages"
    staff_replies: bool = False
    eval_fraction: float = 0.1

    def load(self, settings: Settings, store: SqlStore, *, since: str | None = None) -> tuple[PreparedData, list[str]]:
        """The cleaned, split examples and a description of where they came from."""
        examples: list[Example] = []
        sources = []
        if self.path is not None:
            examples += read_transcripts(
                self.path,
                question_col=self.question_col,
                answer_col=self.answer_col,
                messages_col=self.messages_col,
                cache_dir=settings.home / "cache" / "datasets",
            )
            sources.append(self.path.name)
        if self.staff_replies:
            examples += transcripts_from_store(store, since=since)
            sources.append(f"staff replies since {since}" if since else "all staff replies")
        if not sources:
            raise InputError("no transcripts given: pass a transcripts file and/or use the staff replies")
        if not examples:
            raise InputError(f"no usable examples in {', '.join(sources)}")
        return prepare(examples, eval_fraction=self.eval_fraction), sources


def run_answers_finetune(
    settings: Settings,
    source: TranscriptSource,
    config: AnswerTrainConfig,
    *,
    name: str | None = None,
    eval_limit: int = 100,
    promote: bool = False,
    force: bool = False,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> ModelVersion | None:
    """Train a new answer model version and register it.

    Rerunning with the same `name` after an interruption resumes from the last checkpoint. Under
    `accelerate launch` with several processes all of them train; the main one evaluates and registers, the
    others return None.
    """
    from accelerate import PartialState

    store = SqlStore(settings.database_url)
    registry = ModelRegistry(store)
    latest = next(iter(registry.list("answers")), None)
    since = latest.created_at.isoformat() if latest and source.staff_replies else None
    data, sources = source.load(settings, store, since=since)
    if len(data.train) < 10 or not data.evaluation:
        raise InputError(
            f"{len(data.train)} training and {len(data.evaluation)} evaluation examples; at least 10 and 1 are "
            "needed (add transcripts or raise the evaluation fraction)"
        )
    name = name or f"answers-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    target = settings.models_dir / "answers" / name
    if target.exists() or any(v.name == name for v in registry.list()):
        raise InputError(f"a model version named {name!r} exists already; choose another --output-version")
    work = settings.models_dir / "answers" / f".run-{name}"
    work.mkdir(parents=True, exist_ok=True)
    run_file = work / "run.json"
    run = {"data_sha256": data.sha256, "config": asdict(config)}
    if run_file.exists() and json.loads(run_file.read_text(encoding="utf-8")) != run:
        raise InputError(
            f"an interrupted run named {name!r} used other data or settings; remove {work} or choose another name"
        )
    run_file.write_text(json.dumps(run), encoding="utf-8")
    logging.getLogger(__name__).info("checkpoints in %s; rerun with the same name to resume", work)

    training = train_answers(
        data.train,
        work / "model",
        config,
        models_dir=settings.models_dir,
        checkpoint_dir=work / "checkpoint",
        progress=progress,
        on_step=on_step,
    )
    if not PartialState().is_main_process:
        return None
    baseline_ref = registry.resolve("answers", settings.generator_model)

    def score(ref: str) -> dict[str, Any]:
        metrics, _ = evaluate_answer_model(
            ref,
            data.evaluation,
            models_dir=settings.models_dir,
            device=settings.device,
            limit=eval_limit,
            progress=progress,
        )
        return metrics

    baseline, new = score(baseline_ref), score(str(work / "model"))
    report: dict[str, Any] = {
        "kind": "answers",
        "base": config.base_model,
        "baseline_model": baseline_ref,
        "baseline": baseline,
        "eval": new,
        "training": training,
        "data": {
            "sources": sources,
            "sha256": data.sha256,
            "train_examples": len(data.train),
            "eval_examples": len(data.evaluation),
            "eval_fraction": source.eval_fraction,
            "duplicates": data.duplicates,
            "too_long": data.too_long,
            "pii_replacements": data.pii_replacements,
        },
    }
    write_report(work / "model", name, report)
    os.replace(work / "model", target)
    shutil.rmtree(work, ignore_errors=True)
    version = registry.register("answers", name, target, base=config.base_model, report=report)
    return registry.promote(name, force=force) if promote else version


def run_answers_evaluate(
    settings: Settings,
    source: TranscriptSource,
    out: Path,
    *,
    version: str | None = None,
    limit: int = 100,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the replies of an answer model to the held-out examples of `source` as JSON lines; return the scores.

    Args:
        version (`str`, *optional*): a registered version's name, `"base"` for the default model; the serving
            model when omitted.
    """
    store = SqlStore(settings.database_url)
    registry = ModelRegistry(store)
    if version is None:
        ref = registry.resolve("answers", settings.generator_model)
    elif version == "base":
        ref = DEFAULT_MODEL
    else:
        ref = str(registry.get(version).path)
    data, _ = source.load(settings, store)
    examples = data.evaluation if source.eval_fraction > 0 else data.train
    if not examples:
        raise InputError("no held-out examples to evaluate on; raise the evaluation fraction")
    examples = examples[:limit]
    metrics, answers = evaluate_answer_model(
        ref, examples, models_dir=settings.models_dir, device=settings.device, limit=limit, progress=progress
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for answer in answers:
            fh.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
    return {"model": ref, **metrics}
