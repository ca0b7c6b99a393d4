"""The files a fine-tuning run leaves beside its model: report.json, report.md and loss.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS = ("loss", "perplexity", "rouge_l", "token_f1")


def plot_loss(losses: list[float], path: Path, *, title: str = "Training loss") -> None:
    """Loss per optimizer step (and its 20-step moving average) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color="#9bb7d4", linewidth=1, label="loss per step")
    window = 20
    if len(losses) >= window:
        smooth = [sum(losses[i - window : i]) / window for i in range(window, len(losses) + 1)]
        ax.plot(range(window, len(losses) + 1), smooth, color="#1f4e79", linewidth=2, label=f"{window}-step mean")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy on reply tokens")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown_report(name: str, report: dict[str, Any]) -> str:
    """A short human-readable report: scores before and after, data, training."""
    baseline, new, train = report.get("baseline", {}), report.get("eval", {}), report.get("training", {})
    lines = [
        f"# Answer model {name}",
        "",
        f"Base: `{report.get('base')}`; compared with the model serving before it: `{report.get('baseline_model')}`.",
        "",
        "| metric (held-out replies) | serving before | this version |",
        "|---|---|---|",
    ]
    for metric in METRICS:
        lines.append(f"| {metric} | {baseline.get(metric, '-')} | {new.get(metric, '-')} |")
    data = report.get("data", {})
    lines += [
        "",
        f"Data: {data.get('train_examples')} training and {data.get('eval_examples')} evaluation examples from "
        f"{', '.join(data.get('sources', []))} (sha256 {str(data.get('sha256', ''))[:12]}); "
        f"{data.get('duplicates')} duplicates and {data.get('too_long')} over-long examples dropped, "
        f"{data.get('pii_replacements')} messages had personal data replaced.",
        "",
        f"Training: {train.get('steps')} optimizer steps ({'full' if train.get('config', {}).get('full') else 'LoRA'}"
        f"), {train.get('train_seconds')} s, {train.get('tokens_per_second')} tokens/s on {train.get('device')} "
        f"({train.get('processes')} process(es), mixed precision {train.get('mixed_precision')}), peak memory "
        f"{train.get('peak_memory_mb')} MB, final loss {round(float(train.get('final_loss', 0.0)), 4)}.",
        "",
        "Settings:",
        "```json",
        json.dumps(train.get("config", {}), indent=1),
        "```",
        "",
        "![loss](loss.png)",
        "",
    ]
    return "\n".join(lines)


def write_report(directory: Path, name: str, report: dict[str, Any]) -> None:
    """report.json (everything), report.md (for people) and loss.png in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (directory / "report.md").write_text(markdown_report(name, report), encoding="utf-8")
    losses = report.get("training", {}).get("losses", [])
    if losses:
        plot_loss(losses, directory / "loss.png", title=f"{name}: training loss")
