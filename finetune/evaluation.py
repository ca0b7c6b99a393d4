"""Evaluate an answer model on held-out transcripts: loss and perplexity on the reference replies (teacher forced)
and the quality of the replies it writes itself (ROUGE-L and token F1 against the references)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from chatbot.config import pick_device
from chatbot.generation import load_answer_model
from chatbot.textmetrics import rouge_l, token_f1
from finetune.answers import encode_example, pad_batch
from finetune.transcripts import Example

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratedAnswer:
    """One evaluation example and the model's reply."""

    id: str
    question: str
    reference: str
    answer: str

    def to_json(self) -> dict[str, str]:
        """The line written to `--out`."""
        return {"id": self.id, "question": self.question, "reference": self.reference, "answer": self.answer}


def evaluate_answer_model(
    ref: str,
    examples: list[Example],
    *,
    models_dir: Path,
    device: str = "auto",
    limit: int = 100,
    max_new_tokens: int = 256,
    batch_size: int = 16,
    max_length: int = 1024,
    progress: bool = True,
) -> tuple[dict[str, Any], list[GeneratedAnswer]]:
    """Scores of answer model `ref` ("default", a folder, an adapter folder) on `examples`.

    The first `limit` examples are used: loss and perplexity on their reference replies (those that fit
    `max_length`), and replies generated (greedy, the serving repetition penalty) and scored with ROUGE-L and
    token F1.
    """
    import torch

    examples = examples[:limit]
    if not examples:
        raise ValueError("no evaluation examples")
    target = pick_device(device)
    use_bf16 = target.startswith("cuda") and torch.cuda.is_bf16_supported()
    model, tokenizer = load_answer_model(ref, models_dir=models_dir, dtype=torch.bfloat16 if use_bf16 else None)
    model = model.to(target).eval()
    pad_id = tokenizer.pad_token_id  # load_answer_model makes every tokenizer able to pad

    # Teacher-forced loss on the reply tokens, summed over tokens (not averaged per batch) for an exact mean.
    rows = [r for r in (encode_example(tokenizer, e.chat(), max_length) for e in examples) if r is not None]
    rows.sort(key=lambda r: len(r["input_ids"]))
    total_loss, total_tokens = 0.0, 0
    for start in tqdm(range(0, len(rows), batch_size), desc="Scoring replies", disable=not progress):
        batch = pad_batch(rows[start : start + batch_size], pad_id)
        batch = {k: v.to(target) for k, v in batch.items()}
        with torch.inference_mode():
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
        labels = batch["labels"][:, 1:]
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100, reduction="sum"
        )
        total_loss += float(losses)
        total_tokens += int((labels != -100).sum())
    loss = total_loss / total_tokens if total_tokens else float("nan")

    chosen = examples
    answers: list[GeneratedAnswer] = []
    tokenizer.padding_side = "left"  # generation continues every row from its last real token
    started = time.perf_counter()
    generated_tokens = 0
    for start in tqdm(range(0, len(chosen), batch_size), desc="Writing replies", disable=not progress):
        part = chosen[start : start + batch_size]
        prompts = [tokenizer.apply_chat_template(e.prompt(), tokenize=False, add_generation_prompt=True) for e in part]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(target)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                repetition_penalty=1.1,
                pad_token_id=pad_id,
            )
        new = output[:, inputs["input_ids"].shape[1] :]
        generated_tokens += int((new != pad_id).sum())
        for example, ids in zip(part, new, strict=True):
            text = tokenizer.decode(ids, skip_special_tokens=True).strip()
            answers.append(GeneratedAnswer(example.id, example.question, example.reference, text))
    seconds = time.perf_counter() - started
    metrics = {
        "loss": round(loss, 4),
        "perplexity": round(math.exp(loss), 3) if total_tokens else float("nan"),
        "rouge_l": round(sum(rouge_l(a.answer, a.reference) for a in answers) / len(answers), 4),
        "token_f1": round(sum(token_f1(a.answer, a.reference) for a in answers) / len(answers), 4),
        "scored_examples": len(rows),
        "generated_examples": len(answers),
        "generation_tokens_per_second": round(generated_tokens / seconds, 1) if seconds else 0.0,
    }
    logger.info("answer model %s: %s", ref, metrics)
    return metrics, answers
