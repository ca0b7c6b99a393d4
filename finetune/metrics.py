"""Classification metrics, written out so that their exact definitions are visible (no sklearn dependency)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chatbot.types import SENTIMENT_LABELS


def _recall_precision_f1(true_positives: float, support: float, predicted: float) -> tuple[float, float, float]:
    """One label's recall, precision and F1 from its counts (0 where a count is 0)."""
    recall = true_positives / support if support else 0.0
    precision = true_positives / predicted if predicted else 0.0
    return recall, precision, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def classification_report(gold: list[int], predicted: list[int], n_labels: int) -> dict[str, float]:
    """Accuracy, macro-recall and macro-F1 (classes absent from both gold and predictions count as 0)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no examples to score")
    g, p = np.asarray(gold), np.asarray(predicted)
    recalls, f1s = [], []
    for label in range(n_labels):
        tp = float(np.sum((g == label) & (p == label)))
        recall, _, f1 = _recall_precision_f1(tp, float(np.sum(g == label)), float(np.sum(p == label)))
        recalls.append(recall)
        f1s.append(f1)
    return {
        "accuracy": float(np.mean(g == p)),
        "macro_recall": float(np.mean(recalls)),
        "macro_f1": float(np.mean(f1s)),
        "examples": len(gold),
    }


def sentiment_report(gold: list[str], predicted: list[str]) -> dict[str, Any]:
    """What `chatbot eval sentiment` prints: accuracy; macro-recall and macro-F1 over the labels the gold data has
    (binary data such as SST-2 is not charged for a neutral class it lacks); per-label recall, precision, F1 and
    support; the confusion counts (gold -> predicted); and, for data without neutral, the accuracy of telling
    negative from not negative (what the SST-2 figures in benchmarks/RESULTS.md are). Rounded to 4 places."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no examples to score")
    unknown = sorted(set(gold) - set(SENTIMENT_LABELS))
    if unknown:
        raise ValueError(f"gold labels must be among {SENTIMENT_LABELS}, got {unknown}")
    pairs = list(zip(gold, predicted, strict=True))
    labels = [label for label in SENTIMENT_LABELS if label in gold or label in predicted]
    present = [label for label in labels if label in gold]
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        support = gold.count(label)
        tp = sum(g == p == label for g, p in pairs)
        recall, precision, f1 = _recall_precision_f1(tp, support, predicted.count(label))
        per_label[label] = {"recall": recall, "precision": precision, "f1": f1, "support": support}
    report: dict[str, Any] = {
        "examples": len(gold),
        "accuracy": round(sum(g == p for g, p in pairs) / len(gold), 4),
        "macro_recall": round(float(np.mean([per_label[label]["recall"] for label in present])), 4),
        "macro_f1": round(float(np.mean([per_label[label]["f1"] for label in present])), 4),
        "per_label": {label: {k: round(v, 4) for k, v in scores.items()} for label, scores in per_label.items()},
        "confusion": {g: {p: sum(pair == (g, p) for pair in pairs) for p in labels} for g in present},
    }
    if "neutral" not in present:
        report["negative_vs_not_accuracy"] = round(
            sum((g == "negative") == (p == "negative") for g, p in pairs) / len(gold), 4
        )
    return report
