"""Pure-ish data preparation for fine-tuning: labelled texts from CSV/TSV/JSONL, deterministic splits."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from chatbot.errors import InputError
from chatbot.types import SENTIMENT_LABELS

# Label spellings understood without a --label-map; numbers are ambiguous between data sets, so they need one.
LABEL_ALIASES = {
    "negative": "negative", "neg": "negative",
    "neutral": "neutral", "neu": "neutral",
    "positive": "positive", "pos": "positive",
}  # fmt: skip


def parse_label_map(spec: str | None) -> dict[str, str]:
    """`"0=negative,1=positive"` -> {"0": "negative", "1": "positive"}; targets must be sentiment labels."""
    if not spec:
        return {}
    mapping = {}
    for part in spec.split(","):
        raw, sep, target = part.partition("=")
        if not sep or target.strip() not in SENTIMENT_LABELS:
            raise InputError(f"bad label map entry {part!r}: write RAW=LABEL with LABEL one of {SENTIMENT_LABELS}")
        mapping[raw.strip()] = target.strip()
    return mapping


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV, TSV or JSONL file as dictionaries."""
    if not path.exists():
        raise InputError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
    if suffix in (".jsonl", ".json"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise InputError(f"{path}:{number} is not valid JSON: {err}") from err
        return rows
    raise InputError(f"unsupported data file {path.name!r}: use .csv, .tsv or .jsonl")


def labelled_texts(
    path: Path, *, text_column: str = "text", label_column: str = "label", label_map: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """(text, sentiment label) pairs; rows with an empty text are skipped, unknown labels are an error."""
    rows = read_rows(path)
    if rows and (text_column not in rows[0] or label_column not in rows[0]):
        raise InputError(
            f"{path.name} needs columns {text_column!r} and {label_column!r}; it has {list(rows[0])} "
            "(use --text-column / --label-column)"
        )
    mapping = label_map or {}
    pairs = []
    for row in rows:
        text, raw = str(row[text_column] or "").strip(), str(row[label_column]).strip()
        if not text:
            continue
        label = mapping.get(raw) or LABEL_ALIASES.get(raw.lower())
        if label is None:
            raise InputError(
                f"label {raw!r} in {path.name} is not mapped to one of {SENTIMENT_LABELS}; pass --label-map"
            )
        pairs.append((text, label))
    if not pairs:
        raise InputError(f"{path} has no labelled texts")
    return pairs


def in_eval_split(text: str, fraction: float, seed: int = 13) -> bool:
    """Deterministic split by content hash: the same text always lands on the same side, in any order."""
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction
