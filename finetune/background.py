"""Fine-tuning jobs started from the operator console: one at a time, in a background thread, with their loss
curve and outcome kept for the page to show."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chatbot.errors import InputError
from chatbot.registry import ModelVersion

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """One training run as the console shows it."""

    kind: str
    description: str
    state: str = "running"  # "running", "done" or "failed"
    losses: list[tuple[int, float]] = field(default_factory=list)
    version: ModelVersion | None = None
    error: str = ""
    started: float = field(default_factory=time.time)


class JobRunner:
    """Runs one fine-tuning job at a time in the background.

    Usage example:
    ```python
    runner = JobRunner()
    runner.start("answers", "bitext.csv, 300 steps", lambda on_step: run_answers_finetune(..., on_step=on_step))
    runner.current.losses  # [(step, loss), ...] while it trains
    ```
    """

    def __init__(self) -> None:
        self.current: Job | None = None
        self._lock = threading.Lock()

    def start(
        self, kind: str, description: str, work: Callable[[Callable[[int, float], None]], ModelVersion | None]
    ) -> Job:
        """Start `work(on_step)` in a thread; refused while another job runs (one machine, one training)."""
        with self._lock:
            if self.current is not None and self.current.state == "running":
                raise InputError(f"a {self.current.kind} fine-tuning job is still running; wait for it to finish")
            job = Job(kind, description)
            self.current = job

        def record(step: int, loss: float) -> None:
            job.losses.append((step, loss))

        def run() -> None:
            try:
                job.version = work(record)
                job.state = "done"
            except Exception as err:  # shown on the page; the traceback goes to the log
                logger.exception("fine-tuning job failed")
                job.error, job.state = str(err), "failed"

        threading.Thread(target=run, name=f"finetune-{kind}", daemon=True).start()
        return job
