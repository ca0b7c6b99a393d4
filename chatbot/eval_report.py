"""The report `chatbot eval answers` writes beside its results: Markdown with a plot, for operators.

What an operator decides with it: whether a new model or knowledge base may serve (the summary), where to set the
hand-off threshold for this knowledge base (what each threshold would have done on these very questions), and what
to fix first (the decisions taken, the answers that scored lowest).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from chatbot.textmetrics import answer_prose, token_f1
from chatbot.types import Decision

logger = logging.getLogger(__name__)

# Decisions taken after the retrieval gate: their confidence is what the hand-off threshold was compared with.
# Small talk and requests for a person never reach it.
GATED = frozenset(
    d.value
    for d in (
        Decision.GENERATED,
        Decision.EXTRACTED,
        Decision.FAQ,
        Decision.HANDOFF_LOW_CONFIDENCE,
        Decision.HANDOFF_BAD_OUTPUT,
        Decision.HELD_FOR_REVIEW,
    )
)
SWEEP = (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60)
SUMMARY_NAMES = {
    "questions": "questions",
    "with_reference": "questions with a reference answer",
    "recall@1": "retrieval recall@1",
    "recall@5": "retrieval recall@5",
    "recall@10": "retrieval recall@10",
    "recall_within_600_words": "retrieval recall within 600 words",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "token_f1": "answer token F1 (hand-offs score 0)",
    "token_f1_answered": "answer token F1, answered questions",
    "handoff_rate_answerable": "hand-off rate, answerable questions",
    "handoff_rate_unanswerable": "hand-off rate, questions the knowledge base cannot answer",
    "answered_from_kb_rate_unanswerable": "answered from the knowledge base, questions it cannot answer",
    "small_talk": "taken for small talk",
    "handoff_threshold": "hand-off threshold in use",
    "latency_ms_p50": "full answer, median (ms)",
    "latency_ms_p95": "full answer, 95th percentile (ms)",
}


def threshold_sweep(
    rows: list[dict[str, Any]], answerable: dict[str, bool], thresholds: tuple[float, ...] = SWEEP
) -> list[dict[str, Any]]:
    """For each threshold, the share of the questions that reached the retrieval gate which it would have handed
    off (confidence below it), answerable and not apart; None where the set has no such questions."""
    gated = [r for r in rows if r["decision"] in GATED]
    sweep = []
    for threshold in thresholds:
        entry: dict[str, Any] = {"threshold": threshold}
        for name, wanted in (("answerable", True), ("unanswerable", False)):
            group = [r for r in gated if answerable[r["id"]] is wanted]
            below = sum(r["confidence"] < threshold for r in group)
            entry[f"handoff_{name}"] = round(below / len(group), 4) if group else None
        sweep.append(entry)
    return sweep


def lowest_scoring(rows: list[dict[str, Any]], questions: dict[str, Any], count: int = 10) -> list[dict[str, Any]]:
    """The `count` answered questions with a reference whose answers scored the lowest token F1."""
    scored = []
    for row in rows:
        q = questions[row["id"]]
        if q.answerable and q.reference and not row["handed_off"]:
            f1 = token_f1(answer_prose(row["answer"]), q.reference)
            scored.append({"id": row["id"], "question": q.question, "reference": q.reference,
                           "answer": row["answer"], "f1": f1})  # fmt: skip
    return sorted(scored, key=lambda s: s["f1"])[:count]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def markdown_report(
    title: str, summary: dict[str, Any], rows: list[dict[str, Any]], questions: list[Any], plot: str | None
) -> str:
    """The report as Markdown; `plot` is the file name of the PNG beside it (None: no plot)."""
    by_id = {q.id: q for q in questions}
    answerable = {q.id: q.answerable for q in questions}
    lines = [f"# Answer evaluation: {title}", "", "| measure | value |", "|---|---|"]
    for key, value in summary.items():
        shown = _percent(value) if key.startswith(("handoff_rate", "answered_from")) else value
        lines.append(f"| {SUMMARY_NAMES.get(key, key)} | {shown} |")
    threshold = summary.get("handoff_threshold")
    lines += [
        "",
        "## Hand-off threshold",
        "",
        "What each threshold would have handed to a person, among the questions that reached the retrieval gate "
        "(small talk and requests for a person never do). A good threshold hands off few answerable questions and "
        "most of those the knowledge base cannot answer. Set it with `CHATBOT_HANDOFF_CONFIDENCE` and "
        "`CHATBOT_HANDOFF_AUTO=false` (otherwise the threshold measured at ingest, `chatbot kb stats`, may lower it).",
        "",
        "| threshold | answerable handed off | unanswerable handed off |",
        "|---|---|---|",
    ]
    thresholds = tuple(sorted({*SWEEP, *([round(threshold, 2)] if threshold is not None else [])}))
    for entry in threshold_sweep(rows, answerable, thresholds):
        mark = " (in use)" if threshold is not None and entry["threshold"] == round(threshold, 2) else ""
        lines.append(
            f"| {entry['threshold']:.2f}{mark} | {_percent(entry['handoff_answerable'])} | "
            f"{_percent(entry['handoff_unanswerable'])} |"
        )
    if plot:
        lines += ["", plot_link(plot)]
    decisions = Counter((r["decision"], answerable[r["id"]]) for r in rows)
    lines += ["", "## Decisions", "", "| decision | answerable | unanswerable |", "|---|---|---|"]
    for decision in sorted({d for d, _ in decisions}):
        lines.append(f"| {decision} | {decisions[(decision, True)]} | {decisions[(decision, False)]} |")
    worst = lowest_scoring(rows, by_id)
    if worst:
        lines += [
            "",
            "## Lowest-scoring answers",
            "",
            "Answered questions whose answers share the fewest words with their reference: wrong passage, wrong "
            "sentence, or a reference the knowledge base words differently.",
            "",
            "| F1 | id | question | reference | answer |",
            "|---|---|---|---|---|",
        ]
        for s in worst:
            lines.append(
                f"| {100 * s['f1']:.1f} | {_cell(s['id'], 40)} | {_cell(s['question'])} | {_cell(s['reference'])} "
                f"| {_cell(s['answer'])} |"
            )
    return "\n".join(lines) + "\n"


def plot_confidence(
    rows: list[dict[str, Any]], answerable: dict[str, bool], threshold: float | None, path: Path
) -> bool:
    """Histograms of the gate's confidence for answerable and unanswerable questions, with the threshold, as a PNG.
    Returns False (and writes nothing) without matplotlib, which only the `train` extra installs."""
    try:
        import matplotlib
    except ImportError:
        logger.info("no plot in the evaluation report: matplotlib is not installed (pip install 'chatbot[train]')")
        return False
    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    gated = [r for r in rows if r["decision"] in GATED]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    bins = [i / 40 for i in range(41)]
    for wanted, label, colour in ((True, "answerable", "#1f4e79"), (False, "cannot be answered", "#c0504d")):
        values = [r["confidence"] for r in gated if answerable[r["id"]] is wanted]
        if values:
            ax.hist(values, bins=bins, alpha=0.6, color=colour, label=f"{label} ({len(values)})")
    if threshold is not None:
        ax.axvline(
            threshold, color="black", linestyle="--", linewidth=1.5, label=f"hand-off threshold {threshold:.2f}"
        )
    ax.set_xlabel("retrieval confidence (below the threshold: handed to a person)")
    ax.set_ylabel("questions")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def plot_link(name: str) -> str:
    """The Markdown line that shows the plot file `name` in the report."""
    return f"![confidence of answerable and unanswerable questions]({name})"


def report_paths(out: Path) -> tuple[Path, Path]:
    """(Markdown report, plot) written beside the results file `out`: `<stem>.report.md`, `<stem>.report.png`."""
    return out.with_name(out.stem + ".report.md"), out.with_name(out.stem + ".report.png")


def write_report(
    out: Path, title: str, summary: dict[str, Any], rows: list[dict[str, Any]], questions: list[Any]
) -> None:
    """Write the report and its plot beside the results file `out` (`report_paths`)."""
    answerable = {q.id: q.answerable for q in questions}
    report, png = report_paths(out)
    plotted = plot_confidence(rows, answerable, summary.get("handoff_threshold"), png)
    report.write_text(markdown_report(title, summary, rows, questions, png.name if plotted else None), "utf-8")
