import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from chatbot.cli import cli
from chatbot.errors import InputError
from chatbot.generation import load_answer_model
from chatbot.registry import ModelRegistry
from chatbot.storage import SqlStore
from finetune.answers import AnswerTrainConfig, encode_example, length_grouped_batches, train_answers
from finetune.evaluation import evaluate_answer_model
from finetune.transcripts import Example

PAIRS = [
    ("how long do refunds take", "refunds reach your card within five to ten business days"),
    ("can i return items", "you can return items within thirty days of delivery"),
    ("how long does delivery take", "standard delivery takes three to five business days"),
    ("what can i pay with", "we accept cards paypal and gift cards"),
]
EXAMPLES = [
    Example(str(i), [{"role": "user", "content": q}, {"role": "assistant", "content": a}])
    for i, (q, a) in enumerate(PAIRS * 4)
]


@pytest.fixture(scope="module")
def tokenizer(tiny_lm_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_lm_dir)


def test_only_the_reply_is_learned(tokenizer):
    row = encode_example(tokenizer, EXAMPLES[0].chat(), 512)
    learned = [t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label != -100]
    text = tokenizer.decode(learned)
    assert "refunds reach your card" in text and "<|im_end|>" in text
    assert "how long do refunds take" not in text
    assert encode_example(tokenizer, EXAMPLES[0].chat(), 8) is None  # too long: left out, not cut


def test_length_grouped_batches_cover_each_epoch_once_and_reduce_padding():
    lengths = [(i * 37) % 200 + 10 for i in range(400)]
    grouped = length_grouped_batches(lengths, 8, epochs=2, seed=1)
    plain = length_grouped_batches(lengths, 8, epochs=2, seed=1, group=False)
    assert sorted(i for b in grouped[:50] for i in b) == list(range(400))
    assert grouped == length_grouped_batches(lengths, 8, epochs=2, seed=1)

    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    assert padding(grouped) < padding(plain) / 3


def test_lora_training_saves_an_adapter_that_loads_on_its_base(tiny_lm_dir, settings, tmp_path):
    config = AnswerTrainConfig(base_model=str(tiny_lm_dir), max_steps=3, batch_size=4, learning_rate=0.05)
    report = train_answers(EXAMPLES, tmp_path / "out", config, models_dir=settings.models_dir, progress=False)
    assert report["steps"] == 3 and len(report["losses"]) == 3
    assert all(loss == loss and loss > 0 for loss in report["losses"])  # finite, positive
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "base.json"} <= files
    model, _ = load_answer_model(str(tmp_path / "out"), models_dir=settings.models_dir)
    base, _ = load_answer_model(str(tiny_lm_dir), models_dir=settings.models_dir)
    changed = [name for name, p in model.state_dict().items() if not (p == base.state_dict()[name]).all()]
    assert changed  # the merged adapter moved some weights


def test_a_model_whose_tokenizer_names_no_pad_token_trains_and_is_evaluated(settings, tmp_path):
    from tests.tiny_models import build_tiny_causal_lm

    base = build_tiny_causal_lm(tmp_path / "no-pad", pad_token=False)
    config = AnswerTrainConfig(base_model=str(base), max_steps=2, batch_size=4, learning_rate=0.05)
    train_answers(EXAMPLES, tmp_path / "out", config, models_dir=settings.models_dir, progress=False)
    scores, answers = evaluate_answer_model(
        str(tmp_path / "out"), EXAMPLES, models_dir=settings.models_dir, device="cpu", limit=6, max_new_tokens=4,
        batch_size=3, progress=False,
    )  # fmt: skip
    assert len(answers) == 6 and scores["loss"] == scores["loss"]  # batches of 3 were padded; loss is finite


def test_an_interrupted_run_resumes_and_ends_with_the_same_number_of_steps(tiny_lm_dir, settings, tmp_path):
    config = AnswerTrainConfig(
        base_model=str(tiny_lm_dir), max_steps=5, batch_size=2, checkpoint_every=2, learning_rate=0.01
    )

    def crash_at_step_3(step, loss):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_answers(
            EXAMPLES, tmp_path / "out", config, models_dir=settings.models_dir,
            checkpoint_dir=tmp_path / "ckpt", progress=False, on_step=crash_at_step_3,
        )  # fmt: skip
    assert json.loads((tmp_path / "ckpt" / "trainer_state.json").read_text())["step"] == 2
    report = train_answers(
        EXAMPLES, tmp_path / "out", config, models_dir=settings.models_dir, checkpoint_dir=tmp_path / "ckpt",
        progress=False,
    )  # fmt: skip
    assert report["resumed_from_step"] == 2 and report["steps"] == 5 and len(report["losses"]) == 5
    with pytest.raises(InputError, match="remove it"):
        other = AnswerTrainConfig(base_model=str(tiny_lm_dir), max_steps=7, batch_size=2, checkpoint_every=2)
        train_answers(
            EXAMPLES, tmp_path / "out2", other, models_dir=settings.models_dir, checkpoint_dir=tmp_path / "ckpt",
            progress=False,
        )  # fmt: skip


def test_full_fine_tuning_saves_a_whole_model(tiny_lm_dir, settings, tmp_path):
    config = AnswerTrainConfig(base_model=str(tiny_lm_dir), full=True, max_steps=2, batch_size=4)
    train_answers(EXAMPLES, tmp_path / "full", config, models_dir=settings.models_dir, progress=False)
    assert (tmp_path / "full" / "config.json").exists() and (tmp_path / "full" / "tokenizer.json").exists()
    load_answer_model(str(tmp_path / "full"), models_dir=settings.models_dir)


def test_bad_settings_are_named():
    with pytest.raises(Exception, match="batch_size must be at least 1, got 0"):
        AnswerTrainConfig(batch_size=0)


@pytest.fixture
def transcripts(tmp_path):
    path = tmp_path / "support.csv"
    lines = ["question,reply"] + [f"{q} number {i},{a}" for i in range(10) for q, a in PAIRS]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_trains_evaluates_and_registers_a_version(tiny_lm_dir, transcripts, chatbot_home, monkeypatch, tmp_path):
    monkeypatch.setenv("CHATBOT_GENERATOR_MODEL", str(tiny_lm_dir))
    runner = CliRunner()
    args = ["finetune", "answers", "--transcripts", str(transcripts), "--question-col", "question",
            "--answer-col", "reply", "--max-steps", "2", "--batch-size", "4", "--base-model", str(tiny_lm_dir),
            "--eval-limit", "4", "--eval-fraction", "0.2", "--output-version", "tiny-v1"]  # fmt: skip
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "registered tiny-v1 (candidate)" in result.output and "rouge_l" in result.output
    from chatbot.config import Settings

    settings = Settings.from_env()
    version = ModelRegistry(SqlStore(settings.database_url)).get("tiny-v1")
    assert {"report.json", "report.md", "loss.png", "adapter_config.json"} <= {p.name for p in version.path.iterdir()}
    report = version.report
    assert report["baseline_model"] == str(tiny_lm_dir)
    assert set(report["eval"]) >= {"loss", "perplexity", "rouge_l", "token_f1"}
    assert report["data"]["train_examples"] + report["data"]["eval_examples"] == 40
    assert len(report["training"]["losses"]) == 2
    assert "| rouge_l |" in (version.path / "report.md").read_text()
    assert not list(version.path.parent.glob(".run-*"))  # the work folder is cleaned up

    with pytest.raises(InputError, match="'tiny-v1' exists already"):
        runner.invoke(cli, args, catch_exceptions=False)

    out = tmp_path / "replies.jsonl"
    result = runner.invoke(
        cli,
        ["finetune", "evaluate", "--transcripts", str(transcripts), "--question-col", "question", "--answer-col",
         "reply", "--eval-fraction", "0.2", "--version", "tiny-v1", "--limit", "3", "--out", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3 and set(lines[0]) == {"id", "question", "reference", "answer"}
    assert json.loads(result.stdout)["model"] == str(version.path)


def test_two_processes_train_one_model_and_register_it_once(tiny_lm_dir, transcripts, chatbot_home):
    # The multi-GPU path (`accelerate launch --multi_gpu`, DDP) on CPUs: gloo instead of NCCL, same code. Run by
    # hand, this once failed in both processes' races: to create the database (now its own test in test_storage)
    # and to clear the checkpoint folder while the other wrote into it (timing-dependent, so not reproduced here).
    env = dict(os.environ, ACCELERATE_USE_CPU="true", CHATBOT_HOME=str(chatbot_home),
               CHATBOT_GENERATOR_MODEL=str(tiny_lm_dir), OMP_NUM_THREADS="1")  # fmt: skip
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "finetune.train", "--transcripts", str(transcripts), "--question_col", "question",
               "--answer_col", "reply", "--base_model", str(tiny_lm_dir), "--max_steps", "4", "--batch_size", "2",
               "--checkpoint_every", "2", "--eval_limit", "4", "--output_version", "ddp"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count("registered ddp (candidate)") == 1  # the main process alone reports and registers
    from chatbot.config import Settings

    (version,) = ModelRegistry(SqlStore(Settings.from_env().database_url)).list()
    training = version.report["training"]
    assert (training["processes"], training["steps"], len(training["losses"])) == (2, 4, 4)


def test_finetune_help_lists_the_options():
    result = CliRunner().invoke(cli, ["finetune", "answers", "--help"])
    assert result.exit_code == 0
    for option in ("--transcripts", "--question-col", "--answer-col", "--max-steps", "--epochs", "--lora / --full",
                   "--output-version"):  # fmt: skip
        assert option in result.output
    assert CliRunner().invoke(cli, ["finetune", "evaluate", "--help"]).exit_code == 0
