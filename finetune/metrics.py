"""Classification metrics, written out so that their exact definitions are visible (no sklearn dependency)."""

from __future__ import annotations

import numpy as np


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
        support, predicted_count = float(np.sum(g == label)), float(np.sum(p == label))
        recall = tp / support if support else 0.0
        precision = tp / predicted_count if predicted_count else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {
        "accuracy": float(np.mean(g == p)),
        "macro_recall": float(np.mean(recalls)),
        "macro_f1": float(np.mean(f1s)),
        "examples": len(gold),
    }
