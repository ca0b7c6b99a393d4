"""LoRA adapters (peft) on a base model: built for training, merged for inference."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def quiet_peft() -> Iterator[None]:
    """Silences the FutureWarning peft raises on every adapter it wraps.

    peft reads `is_gradient_checkpointing`, which transformers marks deprecated; the warning says nothing a user
    of this project can act on. Only that warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def _not_a_load_report(record: logging.LogRecord) -> bool:
    return "LOAD REPORT" not in record.getMessage()


@contextmanager
def head_loaded_later() -> Iterator[None]:
    """Silences transformers' load report while a base encoder gets a new classification head.

    The report calls the head "newly initialized ... consider training", which is wrong when the adapter loaded
    right after holds the trained head (peft's `modules_to_save`). Only that report is filtered out: the logger's
    level stays as it is (transformers runs extra checks when that level is raised).
    """
    report_logger = logging.getLogger("transformers.modeling_utils")
    report_logger.addFilter(_not_a_load_report)
    try:
        yield
    finally:
        report_logger.removeFilter(_not_a_load_report)


def merge_adapter(model: Any, adapter_dir: str | Path) -> Any:
    """`model` with the LoRA adapter in `adapter_dir` merged into its weights: it then runs as fast as the base."""
    from peft import PeftModel

    with quiet_peft():
        return PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()


def with_adapter(model: Any, config: Any) -> Any:
    """`model` wrapped with a new, trainable LoRA adapter (`peft.get_peft_model`)."""
    from peft import get_peft_model

    with quiet_peft():
        return get_peft_model(model, config)
