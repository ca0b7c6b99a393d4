"""Support transcripts -> chat training examples: reading, PII scrubbing, de-duplication, length limits, split.

Three sources give the same `Example` (a list of `{"role", "content"}` messages ending with the reply to learn):
(a) question/answer pairs in a CSV, JSONL or Parquet file (e.g. Bitext's `instruction`/`response`),
(b) whole conversations, one list of `{role, content}` per row,
(c) the replies staff sent (approved, edited or written) in the product's own database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.errors import InputError
from chatbot.privacy import scrub_pii
from finetune.data import in_eval_split

if TYPE_CHECKING:
    from chatbot.storage import SqlStore

# The system message of every training and evaluation prompt. The answer model is trained on replies to customers
# without knowledge-base passages; what it learns is the company's tone, steps and hand-over phrases.
TRANSCRIPT_SYSTEM = (
    "You are a customer-support assistant of the company. Reply to the customer politely, clearly and helpfully."
)
ROLE_ALIASES = {
    "user": "user", "customer": "user", "client": "user", "human": "user",
    "assistant": "assistant", "agent": "assistant", "staff": "assistant", "bot": "assistant", "support": "assistant",
}  # fmt: skip
FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


@dataclass(frozen=True)
class Example:
    """One training example: the conversation so far and, last, the assistant reply to learn."""

    id: str
    messages: list[dict[str, str]] = field(hash=False)

    @property
    def question(self) -> str:
        """The customer's message the reply answers."""
        return self.messages[-2]["content"]

    @property
    def reference(self) -> str:
        """The reply to learn."""
        return self.messages[-1]["content"]

    def prompt(self) -> list[dict[str, str]]:
        """The messages the model sees before it replies (system message first)."""
        return [{"role": "system", "content": TRANSCRIPT_SYSTEM}, *self.messages[:-1]]

    def chat(self) -> list[dict[str, str]]:
        """The prompt and the reply, for training."""
        return [{"role": "system", "content": TRANSCRIPT_SYSTEM}, *self.messages]


def _normalise_messages(raw: Any, where: str) -> list[dict[str, str]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(f"{where}: the conversation is not a JSON list of messages: {err}") from err
    if not isinstance(raw, list):
        raise InputError(f"{where}: a conversation must be a list of {{role, content}} messages, got {type(raw)}")
    messages = []
    for message in raw:
        role = ROLE_ALIASES.get(str(message.get("role", "")).lower()) if isinstance(message, dict) else None
        if role is None:
            if isinstance(message, dict) and str(message.get("role", "")).lower() == "system":
                continue  # our own system message replaces theirs
            raise InputError(f"{where}: message {message!r} needs a role among {sorted(set(ROLE_ALIASES))}")
        content = str(message.get("content") or "").strip()
        if content:
            messages.append({"role": role, "content": content})
    return messages


def read_transcripts(
    path: Path,
    *,
    question_col: str = "instruction",
    answer_col: str = "response",
    messages_col: str = "messages",
    cache_dir: Path | None = None,
) -> list[Example]:
    """Examples from a CSV/TSV/JSONL/Parquet file read with `datasets`.

    A file with `messages_col` holds whole conversations: every assistant message with a user message before it
    becomes one example whose context is everything before it. Otherwise each row is a question/answer pair.
    """
    from datasets import load_dataset

    if not path.is_file():
        raise InputError(f"no such transcripts file: {path}")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unsupported transcripts file {path.name!r}: use one of {sorted(FORMATS)}")
    options = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    try:
        rows = load_dataset(
            fmt, data_files=str(path), split="train", cache_dir=str(cache_dir) if cache_dir else None, **options
        )
    except Exception as err:  # datasets raises many types for unreadable files; name the file instead
        raise InputError(f"cannot read {path}: {err}") from err
    columns = rows.column_names
    examples: list[Example] = []
    if messages_col in columns:
        for number, row in enumerate(rows):
            messages = _normalise_messages(row[messages_col], f"{path.name} row {number + 1}")
            for i, message in enumerate(messages):
                if message["role"] == "assistant" and i > 0 and messages[i - 1]["role"] == "user":
                    examples.append(Example(f"{path.stem}-{number}-{i}", messages[: i + 1]))
        return examples
    if question_col not in columns or answer_col not in columns:
        raise InputError(
            f"{path.name} needs columns {question_col!r} and {answer_col!r} (or {messages_col!r} with whole "
            f"conversations); it has {columns} (use --question-col / --answer-col)"
        )
    for number, row in enumerate(rows):
        question, answer = str(row[question_col] or "").strip(), str(row[answer_col] or "").strip()
        if question and answer:
            examples.append(
                Example(
                    f"{path.stem}-{number}",
                    [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
                )
            )
    return examples


def transcripts_from_store(store: SqlStore, *, since: str | None = None) -> list[Example]:
    """Every reply a person sent in the product (role "staff"), with the conversation before it as context.

    Args:
        since (`str`, *optional*): only replies created at or after this ISO time (e.g. the last model version's).
    """
    examples = []
    for conversation_id, turns in store.staff_replies(since=since):
        for i, turn in enumerate(turns):
            if turn.role == "staff" and i > 0:
                context = [
                    {"role": "user" if t.role == "user" else "assistant", "content": t.content} for t in turns[:i]
                ]
                if context[-1]["role"] == "user":
                    examples.append(
                        Example(
                            f"db-{conversation_id}-{i}", [*context, {"role": "assistant", "content": turn.content}]
                        )
                    )
    return examples


@dataclass(frozen=True)
class PreparedData:
    """Cleaned examples split into train and evaluation, with what was dropped and why."""

    train: list[Example]
    evaluation: list[Example]
    duplicates: int
    too_long: int
    pii_replacements: int

    @property
    def sha256(self) -> str:
        """Fingerprint of the cleaned data (what the model version was trained on)."""
        digest = hashlib.sha256()
        for example in (*self.train, *self.evaluation):
            digest.update(json.dumps(example.messages, sort_keys=True).encode())
        return digest.hexdigest()


def prepare(
    examples: list[Example], *, eval_fraction: float = 0.1, max_chars: int = 4000, seed: int = 13
) -> PreparedData:
    """Scrub PII, drop exact duplicates and over-long examples, split deterministically by the customer's message.

    The split hashes the question, so one question (and its duplicates) never lands on both sides.
    """
    if not 0 <= eval_fraction < 1:
        raise InputError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    seen: set[str] = set()
    kept: list[Example] = []
    duplicates = too_long = replacements = 0
    for example in examples:
        messages = []
        for message in example.messages:
            clean = scrub_pii(message["content"])
            replacements += clean != message["content"]
            messages.append({"role": message["role"], "content": clean})
        key = "\n".join(" ".join(m["content"].lower().split()) for m in messages)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        if sum(len(m["content"]) for m in messages) > max_chars:
            too_long += 1
            continue
        kept.append(Example(example.id, messages))
    train = [e for e in kept if not in_eval_split(e.question.lower(), eval_fraction, seed)]
    evaluation = [e for e in kept if in_eval_split(e.question.lower(), eval_fraction, seed)]
    return PreparedData(train, evaluation, duplicates, too_long, replacements)
