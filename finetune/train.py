"""Fine-tune the answer model from the command line or a YAML file, on one or several GPUs.

    accelerate launch --config_file finetune/accelerate/single_gpu.yaml -m finetune.train --config run.yaml
    accelerate launch --config_file finetune/accelerate/multi_gpu.yaml -m finetune.train --transcripts t.csv
    python -m finetune.train --transcripts t.csv --max_steps 300          # one process (CPU or one GPU)
    ACCELERATE_USE_CPU=true torchrun --standalone --nproc_per_node 2 -m finetune.train ...  # the same, CPU processes

`run.yaml` holds any of the options below, e.g. `transcripts: bitext.csv`, `max_steps: 300`, `lora_r: 8`.
Every process trains; only the main process evaluates, writes the report and registers the version.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.config import Settings
from finetune.answers import AnswerTrainConfig

if TYPE_CHECKING:
    from transformers import HfArgumentParser


@dataclass
class RunArgs:
    """Where the data comes from and what happens to the trained model."""

    transcripts: str = field(default="", metadata={"help": "CSV/TSV/JSONL/Parquet transcripts file"})
    question_col: str = field(default="instruction", metadata={"help": "column of customer messages"})
    answer_col: str = field(default="response", metadata={"help": "column of support replies"})
    messages_col: str = field(default="messages", metadata={"help": "column of whole conversations"})
    staff_replies: bool = field(default=False, metadata={"help": "also train on staff replies in the database"})
    eval_fraction: float = field(default=0.1, metadata={"help": "share held out for evaluation"})
    eval_limit: int = field(default=100, metadata={"help": "held-out examples scored and answered"})
    output_version: str = field(default="", metadata={"help": "version name; reuse it to resume"})
    home: str = field(default="", metadata={"help": "data directory (default: $CHATBOT_HOME)"})
    promote: bool = field(default=False, metadata={"help": "serve the new version if it beats the serving one"})


def make_parser() -> HfArgumentParser:
    """The parser for `RunArgs` and `AnswerTrainConfig` (flags and YAML keys are the field names)."""
    from transformers import HfArgumentParser

    return HfArgumentParser((RunArgs, AnswerTrainConfig))  # type: ignore[arg-type]  # its stub wants a protocol plain dataclasses do not declare


def main(run: RunArgs, config: AnswerTrainConfig) -> None:
    """Train, evaluate and register one answer model version."""
    from accelerate import PartialState

    from finetune.jobs import TranscriptSource, run_answers_finetune

    settings = Settings.from_env()
    if run.home:
        settings = settings.with_home(Path(run.home))
    source = TranscriptSource(
        Path(run.transcripts) if run.transcripts else None,
        run.question_col,
        run.answer_col,
        run.messages_col,
        run.staff_replies,
        run.eval_fraction,
    )
    version = run_answers_finetune(
        settings, source, config, name=run.output_version or None, eval_limit=run.eval_limit, promote=run.promote
    )
    if version is not None and PartialState().is_main_process:
        print(f"registered {version.name} ({version.status}) at {version.path}")  # noqa: T201  # script output


if __name__ == "__main__":
    parser = make_parser()
    if len(sys.argv) == 3 and sys.argv[1] == "--config":
        run_args, train_config = parser.parse_yaml_file(sys.argv[2])
    else:
        run_args, train_config = parser.parse_args_into_dataclasses()
    main(run_args, train_config)
