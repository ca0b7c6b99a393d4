"""LoRA adapters (peft) on a base model: built for training, merged for inference."""

from __future__ import annotations

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
