"""`chatbot eval answers`: run the whole answer path on a question set and score retrieval, answers and hand-off.

Input: JSON lines `{"id", "question", "history": [{"role", "content"}...] (oldest first, optional),
"reference" (optional), "answerable" (optional, default true)}`.
Output: one JSON line per question `{"id", "answer", "decision", "handed_off", "confidence", "sources": [{"text",
"score", "source"}...] (the top retrieved passages in rank order, also when handed off), "latency_ms"}`.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from chatbot.config import Settings
from chatbot.errors import InputError
from chatbot.eval_report import write_report
from chatbot.service import ChatService, handoff_threshold
from chatbot.storage import SqlStore
from chatbot.textmetrics import answer_prose, token_f1
from chatbot.types import BOT_REPLIES, Decision, Turn

RECALL_AT = (1, 5, 10)
KB_ANSWERS = {d.value for d in BOT_REPLIES - {Decision.SMALL_TALK}}  # the bot's replies from the knowledge base
WORD_BUDGET = 600  # recall within the first 600 words of retrieved text: bigger chunks cannot win by size alone


@dataclass(frozen=True)
class EvalQuestion:
    """One line of the question file."""

    id: str
    question: str
    history: list[Turn] = field(default_factory=list)
    reference: str | None = None
    answerable: bool = True


def read_questions(path: Path, limit: int | None = None) -> list[EvalQuestion]:
    """Questions from a JSONL file; a bad line is an error naming the file and the line."""
    if not path.is_file():
        raise InputError(f"no such question file: {path}")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
            history = [Turn(_role(t["role"], where), str(t["content"])) for t in row.get("history") or []]
            questions.append(
                EvalQuestion(
                    str(row.get("id", number)),
                    str(row["question"]),
                    history,
                    row.get("reference"),
                    bool(row.get("answerable", True)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise InputError(f"{where} is not a question line ({err}); expected {{'id', 'question', ...}}") from err
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        raise InputError(f"{path} holds no questions")
    return questions


def _role(raw: str, where: str) -> Any:
    if raw not in ("user", "assistant"):
        raise InputError(f"{where}: history role must be 'user' or 'assistant', got {raw!r}")
    return raw


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def covers(passage: str, reference: str) -> bool:
    """True when the passage contains at least half of the reference (characters, case and spacing ignored) as
    one contiguous piece."""
    p, r = _normalise(passage), _normalise(reference)
    if not r:
        return False
    match = SequenceMatcher(None, p, r, autojunk=False).find_longest_match(0, len(p), 0, len(r))
    return match.size >= 0.5 * len(r)


def within_budget(texts: list[str], words: int = WORD_BUDGET) -> list[str]:
    """The retrieved texts in rank order, cut so that together they hold at most `words` words."""
    kept, left = [], words
    for text in texts:
        if left <= 0:
            break
        piece = text.split()[:left]
        kept.append(" ".join(piece))
        left -= len(piece)
    return kept


def summarise(rows: list[dict[str, Any]], questions: list[EvalQuestion]) -> dict[str, Any]:
    """Retrieval recall@1/5/10, recall within 600 words, MRR@10, nDCG@10, answer token F1, hand-off rates.

    A passage is relevant when it holds the reference (`covers`). nDCG@10 has binary gains, and its ideal ranking
    puts the relevant passages found in the top 10 first (the passages nobody retrieved are not judged).
    """
    by_id = {q.id: q for q in questions}
    scored = [(r, by_id[r["id"]]) for r in rows if by_id[r["id"]].answerable and by_id[r["id"]].reference]
    summary: dict[str, Any] = {"questions": len(rows)}
    if scored:
        ranks = []
        ndcgs = []
        budget_hits = 0
        for row, q in scored:
            texts = [s["text"] for s in row["sources"]]
            hits = [i for i, t in enumerate(texts[:10]) if covers(t, q.reference or "")]
            ranks.append(hits[0] if hits else None)
            ideal = sum(1 / math.log2(i + 2) for i in range(len(hits)))
            ndcgs.append(sum(1 / math.log2(i + 2) for i in hits) / ideal if hits else 0.0)
            budget_hits += any(covers(t, q.reference or "") for t in within_budget(texts))
        n = len(scored)
        for k in RECALL_AT:
            summary[f"recall@{k}"] = round(sum(r is not None and r < k for r in ranks) / n, 4)
        summary[f"recall_within_{WORD_BUDGET}_words"] = round(budget_hits / n, 4)
        summary["mrr@10"] = round(sum(1 / (r + 1) for r in ranks if r is not None) / n, 4)
        summary["ndcg@10"] = round(sum(ndcgs) / n, 4)
        # A hand-off answers nothing: its message ("I'm passing your conversation to ... our support team") scores 0,
        # not the words it shares with the reference.
        f1s = [
            0.0 if row["handed_off"] else token_f1(answer_prose(row["answer"]), q.reference or "") for row, q in scored
        ]
        summary["token_f1"] = round(100 * sum(f1s) / n, 2)
        answered = [f for (row, _), f in zip(scored, f1s, strict=True) if not row["handed_off"]]
        summary["token_f1_answered"] = round(100 * sum(answered) / len(answered), 2) if answered else None
        summary["with_reference"] = n
    answerable = [r for r in rows if by_id[r["id"]].answerable]
    unanswerable = [r for r in rows if not by_id[r["id"]].answerable]
    if answerable:
        summary["handoff_rate_answerable"] = round(sum(r["handed_off"] for r in answerable) / len(answerable), 4)
    if unanswerable:
        summary["handoff_rate_unanswerable"] = round(sum(r["handed_off"] for r in unanswerable) / len(unanswerable), 4)
        # What must not happen: an answer from the knowledge base to a question it cannot answer. Neither a hand-off
        # nor a polite reply to small talk ("thank you!") is one.
        from_kb = sum(r["decision"] in KB_ANSWERS for r in unanswerable)
        summary["answered_from_kb_rate_unanswerable"] = round(from_kb / len(unanswerable), 4)
    summary["small_talk"] = sum(r["decision"] == Decision.SMALL_TALK.value for r in rows)
    latencies = sorted(r["latency_ms"].get("total", 0.0) for r in rows)
    summary["latency_ms_p50"] = round(latencies[len(latencies) // 2], 1)
    summary["latency_ms_p95"] = round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1)
    return summary


def evaluate_answers(
    build_service: Callable[[Settings], ChatService],
    settings: Settings,
    questions: list[EvalQuestion],
    out: Path,
    *,
    generate: bool = True,
    top_k: int = 10,
    progress: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """Answer every question in a fresh conversation (holding its history) and write one JSON line each to `out`,
    then the report beside it (`chatbot.eval_report.write_report`; `title`, defaults to `out`'s name, heads it).

    Conversations go to a throw-away database, not the deployment's. Without `generate` the answer model is not
    run: answers come from the passages' own sentences (the extractive mode), decisions stay the same.
    """
    scratch = Path(tempfile.mkdtemp(prefix="chatbot-eval-"))
    settings = replace(settings, database=f"sqlite:///{scratch / 'eval.db'}")
    if not generate:
        settings = replace(settings, answer_mode="extractive")
    service = build_service(settings)
    store = service.store
    rows = []
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for q in tqdm(questions, desc="Answering", unit="question", disable=not progress):
            conversation = service.start_conversation()
            for turn in q.history:
                store.add_message(conversation, turn.role, turn.content)
            history = q.history[-2 * settings.history_turns :] if settings.history_turns else []  # as the service
            retrieved = service.retriever.retrieve(
                q.question, service.searched_history(history), max(top_k, settings.retrieve_k)
            )
            answer = service.ask(q.question, conversation)
            row = {
                "id": q.id,
                "answer": answer.text,
                "decision": answer.decision.value,
                "handed_off": answer.handed_off and answer.decision is not Decision.WAITING_FOR_STAFF,
                "confidence": round(answer.confidence, 4),
                "sources": [
                    {"text": p.chunk.text, "score": round(p.score, 6), "source": p.chunk.source}
                    for p in retrieved[:top_k]
                ],
                "latency_ms": {k: round(v, 1) for k, v in answer.latency_ms.items()},
            }
            rows.append(row)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    threshold = handoff_threshold(settings, service.retriever.offtopic_ceiling())
    if isinstance(store, SqlStore):
        store.engine.dispose()
    shutil.rmtree(scratch, ignore_errors=True)
    summary = summarise(rows, questions)
    summary["handoff_threshold"] = round(threshold, 4)
    write_report(out, title or out.name, summary, rows, questions)
    return summary
