"""Training throughput of `finetune.answers.train_answers` against a plain `transformers.Trainer` in one run:
same model (the default SmolLM2-135M-Instruct with the same LoRA), same Bitext examples, same batch size and
number of optimizer steps. Throughput = real (non-padding) tokens per second of training.

Run: .venv/bin/python benchmarks/answer_finetune_throughput.py [--steps 10] [--batch-size 8]
Reads ../shared/data/bitext; writes nothing in the repository.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chatbot.config import Settings  # noqa: E402
from chatbot.generation import default_generator_path, load_answer_tokenizer  # noqa: E402
from finetune.answers import AnswerTrainConfig, encode_example, train_answers  # noqa: E402
from finetune.transcripts import prepare, read_transcripts  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def trainer_run(train, steps: int, batch_size: int, lora_r: int, models_dir: Path) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    path = default_generator_path(models_dir)
    tokenizer = load_answer_tokenizer(path)
    torch.manual_seed(13)
    model = AutoModelForCausalLM.from_pretrained(path)
    model = get_peft_model(
        model,
        LoraConfig(task_type=TaskType.CAUSAL_LM, r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.05,
                   target_modules="all-linear"),
    )  # fmt: skip
    rows = [r for r in (encode_example(tokenizer, e.chat(), 512) for e in train) if r is not None]
    dataset = Dataset.from_list(rows)
    collate = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    seen = {"tokens": 0}

    def counting_collator(features):
        batch = collate(features)
        seen["tokens"] += int(batch["attention_mask"].sum())
        return batch

    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="trainer-"),
        per_device_train_batch_size=batch_size,
        max_steps=steps,
        learning_rate=3e-4,
        warmup_steps=0.05,  # a float below 1 is a ratio of the steps in transformers 5
        lr_scheduler_type="linear",
        logging_steps=max(1, steps // 5),
        save_strategy="no",
        report_to=[],
        seed=13,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=counting_collator)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "tokens": seen["tokens"], "tokens_per_second": seen["tokens"] / seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lora-r", type=int, default=8)
    args = parser.parse_args()
    settings = Settings.from_env()
    models_dir = settings.models_dir
    examples = read_transcripts(DATA / "bitext" / "train.csv", cache_dir=Path(tempfile.mkdtemp()) / "datasets")
    train = prepare(examples).train

    plain = trainer_run(train, args.steps, args.batch_size, args.lora_r, models_dir)
    config = AnswerTrainConfig(
        max_steps=args.steps, batch_size=args.batch_size, lora_r=args.lora_r, lora_alpha=2 * args.lora_r,
        learning_rate=3e-4, checkpoint_every=0,
    )  # fmt: skip
    ours = train_answers(train, Path(tempfile.mkdtemp()) / "out", config, models_dir=models_dir, progress=False)
    print(
        f"plain Trainer: {plain['tokens_per_second']:.1f} tokens/s ({plain['tokens']} tokens, {plain['seconds']:.1f} s)"
    )
    print(f"train_answers: {ours['tokens_per_second']:.1f} tokens/s ({ours['train_seconds']} s), "
          f"peak memory {ours['peak_memory_mb']:.0f} MB (process RSS on CPU)")  # fmt: skip
    print(f"ratio: {ours['tokens_per_second'] / plain['tokens_per_second']:.2f}")


if __name__ == "__main__":
    main()
