import json
from importlib.util import find_spec

import pytest
from click.testing import CliRunner

from chatbot.cli import cli
from chatbot.errors import InputError
from chatbot.registry import ModelRegistry
from chatbot.sentiment import TransformersSentimentClassifier
from chatbot.storage import SqlStore
from finetune.sentiment import SentimentTrainConfig, train_sentiment

TRAIN = [
    ("refunds take five days", "neutral"),
    ("we accept cards", "positive"),
    ("how long do refunds take", "negative"),
] * 8


def saved_logits(folder, texts):
    """The logits of the model saved in `folder` on `texts`, loaded as serving loads it, and its labels."""
    import torch

    from chatbot.sentiment import load_sentiment_model

    model, tokenizer, labels = load_sentiment_model(folder, "cpu")
    with torch.inference_mode():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits, labels


def accuracy_of(logits, labels, pairs):
    gold = [labels.index(label) for _, label in pairs]
    return sum(p == g for p, g in zip(logits.argmax(-1).tolist(), gold, strict=True)) / len(gold)


def test_training_changes_the_model_and_saves_a_small_loadable_adapter(tiny_embedder_dir, tmp_path):
    base = str(tiny_embedder_dir.parent / "raw")
    report = train_sentiment(
        TRAIN,
        TRAIN[:6],
        tmp_path / "out",
        SentimentTrainConfig(base_model=base, max_steps=4, batch_size=8),
        progress=False,
    )
    assert report["steps"] == 4 and report["final_loss"] == pytest.approx(report["final_loss"])  # finite
    assert set(report["eval"]) >= {"accuracy", "macro_recall", "macro_f1"}
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "labels.json", "report.json"} <= files
    assert json.loads((tmp_path / "out" / "labels.json").read_text())["base"] == base
    classifier = TransformersSentimentClassifier(tmp_path / "out", device="cpu")
    assert len(classifier.classify(["refunds take five days", "we accept cards"])) == 2


def test_lora_weights_move_during_training(tiny_embedder_dir, tmp_path):
    from safetensors.torch import load_file

    base = str(tiny_embedder_dir.parent / "raw")
    cfg = SentimentTrainConfig(base_model=base, max_steps=1, batch_size=8, learning_rate=0.05)
    train_sentiment(TRAIN, TRAIN[:3], tmp_path / "a", cfg, progress=False)
    cfg = SentimentTrainConfig(base_model=base, max_steps=6, batch_size=8, learning_rate=0.05)
    train_sentiment(TRAIN, TRAIN[:3], tmp_path / "b", cfg, progress=False)
    a, b = (
        load_file(tmp_path / "a" / "adapter_model.safetensors"),
        load_file(tmp_path / "b" / "adapter_model.safetensors"),
    )
    assert any(not (a[k] == b[k]).all() for k in a if "lora_B" in k)


@pytest.fixture
def labelled_csv(tmp_path):
    rows = ["text,stars"] + [f"message {i} about refunds,{1 + i % 5}" for i in range(60)]
    path = tmp_path / "feedback.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cli_trains_registers_promotes_and_rolls_back(
    labelled_csv, tiny_embedder_dir, tiny_classifier_dir, monkeypatch, settings
):
    monkeypatch.setenv("CHATBOT_SENTIMENT_MODEL", str(tiny_classifier_dir))  # the "serving" baseline
    monkeypatch.setenv("CHATBOT_DEVICE", "cpu")
    args = [
        "finetune",
        "sentiment",
        "--data",
        str(labelled_csv),
        "--label-column",
        "stars",
        "--label-map",
        "1=negative,2=negative,3=neutral,4=positive,5=positive",
        "--max-steps",
        "2",
        "--base-model",
        str(tiny_embedder_dir.parent / "raw"),
    ]
    result = CliRunner().invoke(cli, [*args, "--name", "s1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "registered s1 (candidate)" in result.output and "macro_f1" in result.output
    registry = ModelRegistry(SqlStore(settings.database_url))
    assert registry.get("s1").report["baseline"]["examples"] == registry.get("s1").report["eval"]["examples"]
    result = CliRunner().invoke(cli, [*args, "--full", "--name", "s2"], catch_exceptions=False)
    assert result.exit_code == 0 and registry.get("s2").report["config"]["full_finetune"]
    assert json.loads((registry.get("s2").path / "adapter_config.json").read_text())["r"] == 64

    with pytest.raises(InputError, match="'s1' exists already"):
        CliRunner().invoke(cli, [*args, "--name", "s1"], catch_exceptions=False)

    assert "s1 now serves" in CliRunner().invoke(cli, ["models", "promote", "s1", "--force"]).output
    assert registry.serving("sentiment").name == "s1"
    listing = CliRunner().invoke(cli, ["models", "list"]).output
    assert "s1" in listing and "serving" in listing
    out = CliRunner().invoke(cli, ["models", "rollback", "sentiment"]).output
    assert "the shipped default sentiment model serves again" in out
    assert registry.serving("sentiment") is None


def test_promotion_of_a_worse_model_needs_force(settings, tmp_path):
    registry = ModelRegistry(SqlStore(settings.database_url))
    registry.register(
        "sentiment",
        "worse",
        tmp_path,
        base="default",
        report={"eval": {"macro_f1": 0.5}, "baseline": {"macro_f1": 0.6}},
    )
    with pytest.raises(InputError, match="macro_f1 0.5000, below the serving model's 0.6000"):
        registry.promote("worse")
    assert registry.promote("worse", force=True).status == "serving"


def test_rollback_walks_back_through_promotions(settings, tmp_path):
    registry = ModelRegistry(SqlStore(settings.database_url))
    for name in ("v1", "v2", "v3"):
        registry.register("sentiment", name, tmp_path, base="default", report={})
        registry.promote(name)
    assert registry.rollback("sentiment").name == "v2"
    assert registry.rollback("sentiment").name == "v1"
    assert registry.rollback("sentiment") is None
    with pytest.raises(InputError, match="no promoted sentiment model"):
        registry.rollback("sentiment")
    assert registry.resolve("sentiment", "default") == "default"
    assert registry.resolve("sentiment", "/my/model") == "/my/model"


def test_sentiment_cli_prints_json_lines(tiny_classifier_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("CHATBOT_SENTIMENT_MODEL", str(tiny_classifier_dir))
    (tmp_path / "in.txt").write_text("first line\n\nsecond line\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["sentiment", "hello there", "--input", str(tmp_path / "in.txt"), "--batch-size", "2"]
    )
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["text"] for line in lines] == ["hello there", "first line", "second line"]
    assert all(line["label"] in ("negative", "neutral", "positive") for line in lines)
    assert CliRunner().invoke(cli, ["sentiment"]).exit_code == 2


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_both_poolings_train_save_and_load_with_the_same_predictions(tiny_embedder_dir, tmp_path, pooling):
    base = str(tiny_embedder_dir.parent / "raw")
    cfg = SentimentTrainConfig(base_model=base, max_steps=3, batch_size=8, pooling=pooling)
    report = train_sentiment(TRAIN, TRAIN[:6], tmp_path / "out", cfg, progress=False)
    meta = json.loads((tmp_path / "out" / "labels.json").read_text())
    assert meta["pooling"] == pooling and ((tmp_path / "out" / "head.safetensors").exists() == (pooling == "mean"))
    texts = [t for t, _ in TRAIN[:6]]
    logits, labels = saved_logits(tmp_path / "out", texts)
    predicted = logits.argmax(-1).tolist()
    assert accuracy_of(logits, labels, TRAIN[:6]) == pytest.approx(report["eval"]["accuracy"])  # the evaluated model
    if find_spec("onnxruntime") is not None:  # and its ONNX export predicts what it predicts
        from chatbot.sentiment_onnx import OnnxSentimentClassifier

        exported = OnnxSentimentClassifier(tmp_path / "out", cache_dir=tmp_path / "onnx", int8=False).classify(texts)
        assert [labels.index(s.label) for s in exported] == predicted


def test_unknown_pooling_is_refused():
    with pytest.raises(Exception, match="pooling"):
        SentimentTrainConfig(pooling="max")


def test_loading_a_trained_head_reports_nothing_missing_or_deprecated(tiny_embedder_dir, tmp_path):
    """transformers calls the head of a base encoder "newly initialized" and peft trips a FutureWarning: neither is
    true of a trained adapter. The warning reached every `chatbot` command, the report every program that loads the
    classifier without the CLI's quiet logging (benchmarks, embedding applications)."""
    import logging
    import warnings

    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    from chatbot.sentiment import load_sentiment_model

    base = str(tiny_embedder_dir.parent / "raw")
    cfg = SentimentTrainConfig(base_model=base, max_steps=2, batch_size=8, pooling="cls")
    train_sentiment(TRAIN, TRAIN[:6], tmp_path / "out", cfg, progress=False)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    transformers_logger = logging.getLogger("transformers")
    transformers_logger.addHandler(handler)
    verbosity = hf_logging.get_verbosity()  # the CLI lowers it to errors (tests of the CLI run in this process)
    hf_logging.set_verbosity_warning()
    try:
        AutoModelForSequenceClassification.from_pretrained(base, num_labels=3)  # the report, as transformers logs it
        assert any("LOAD REPORT" in r.getMessage() for r in records)
        records.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_sentiment_model(tmp_path / "out", "cpu")
    finally:
        transformers_logger.removeHandler(handler)
        hf_logging.set_verbosity(verbosity)
    assert not [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not [str(w.message) for w in caught if "is_gradient_checkpointing" in str(w.message)]


def test_length_grouped_batches_hold_texts_of_similar_length_and_keep_every_example():
    import random

    from finetune.sentiment import length_grouped

    lengths = [random.Random(n).choice([3, 5, 8, 250, 300]) for n in range(640)]
    order = list(range(640))
    random.Random(1).shuffle(order)
    grouped = length_grouped(order, lengths, batch_size=32, seed=13)
    assert sorted(grouped) == list(range(640))  # every example once
    batches = [grouped[i : i + 32] for i in range(0, 640, 32)]
    mixed = [b for b in batches if max(lengths[i] for i in b) >= 250 and min(lengths[i] for i in b) <= 8]
    assert len(mixed) <= 1  # long texts are not padded together with short ones (one batch may straddle)
    assert grouped == length_grouped(order, lengths, batch_size=32, seed=13)  # the seed decides
    assert grouped != length_grouped(order, lengths, batch_size=32, seed=14)


def test_long_training_messages_hide_one_opinion_among_requests():
    from finetune.recipes.default_sentiment import long_examples

    requests = ["where is my order", "Can I change the address?", "I need an invoice for March."]
    opinions = [("This is the worst service I have ever had.", "negative"), ("You are wonderful!", "positive")]
    examples = long_examples(requests, opinions, 200, seed=13)
    assert len(examples) == 200 and all(len(text.split()) >= 60 for text, _ in examples)
    mood = dict(opinions)
    for text, label in examples:
        said = [opinion for opinion in mood if opinion in text]
        if label == "neutral":
            assert said == []
        else:
            assert len(said) == 1 and mood[said[0]] == label
    assert {label for _, label in examples} == {"negative", "neutral", "positive"}
    assert examples == long_examples(requests, opinions, 200, seed=13)


def test_rated_sentences_are_labelled_by_their_mean_rating(tmp_path):
    from finetune.recipes.default_sentiment import HUTTO_SETS, fetch_hutto, hutto_sentences

    folder = tmp_path / "hutto_ICWSM_2014"
    folder.mkdir()
    rows = {
        "tweets": "1\t2.7\tSo lucky.\r\n2\t-0.4\tThe bus is late\r\n3\t-1.2\tworst day\tever\r\n",
        "amazonReviewSnippets": "1_1\t0.99\tIt ships in a box.\r\n",
        "nytEditorialSnippets": "1_1\t-1.0\tThe plan failed.\r\n",
    }
    for name in HUTTO_SETS:
        (folder / f"{name}_GroundTruth.txt").write_text(rows[name], encoding="utf-8")
    # Already there: nothing is downloaded.
    assert fetch_hutto(tmp_path) == folder
    assert hutto_sentences(folder, 1.0) == [
        ("So lucky.", "positive"),
        ("The bus is late", "neutral"),
        ("worst day\tever", "negative"),  # a tab inside the text stays
        ("It ships in a box.", "neutral"),
        ("The plan failed.", "negative"),
    ]
    assert hutto_sentences(folder, 0.3)[1] == ("The bus is late", "negative")


def test_a_full_fine_tune_is_saved_as_a_low_rank_adapter_that_predicts_what_was_evaluated(tiny_embedder_dir, tmp_path):
    base = str(tiny_embedder_dir.parent / "raw")
    cfg = SentimentTrainConfig(base_model=base, max_steps=3, batch_size=8, full_finetune=True, lora_r=4)
    report = train_sentiment(TRAIN, TRAIN[:6], tmp_path / "out", cfg, progress=False)
    assert json.loads((tmp_path / "out" / "adapter_config.json").read_text())["r"] == 4
    logits, labels = saved_logits(tmp_path / "out", [t for t, _ in TRAIN[:6]])
    assert accuracy_of(logits, labels, TRAIN[:6]) == report["eval"]["accuracy"]


def test_the_low_rank_adapter_of_a_changed_model_is_that_model_at_full_rank(tiny_embedder_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from finetune.sentiment import low_rank_adapter

    base = tiny_embedder_dir.parent / "raw"
    torch.manual_seed(0)
    changed = AutoModelForSequenceClassification.from_pretrained(base, num_labels=3)
    with torch.no_grad():  # every weight, bias and LayerNorm of the encoder, the pooler and the head moved
        for name, parameter in changed.named_parameters():
            if "embeddings" not in name:
                parameter.add_(0.1 * torch.randn_like(parameter))
    inputs = AutoTokenizer.from_pretrained(base)(
        ["refunds take five days", "we accept cards"], padding=True, return_tensors="pt"
    )
    expected = changed.eval()(**inputs).logits
    hidden = changed.config.hidden_size  # the tiny encoder's smallest weight dimension: rank `hidden` is exact

    def logits(rank: int) -> torch.Tensor:
        adapter = low_rank_adapter(changed, base, rank)
        assert isinstance(adapter, PeftModel)
        with torch.inference_mode():
            return adapter.merge_and_unload().eval()(**inputs).logits

    assert torch.allclose(logits(hidden), expected, atol=1e-4)
    assert not torch.allclose(logits(1), expected, atol=1e-2)


def test_logit_offsets_move_the_saved_head_scores_by_exactly_that_much(tiny_embedder_dir, tmp_path):
    import torch

    base = str(tiny_embedder_dir.parent / "raw")
    logits = []
    for name, offsets in (("plain", [0.0, 0.0, 0.0]), ("offset", [2.0, 0.0, -1.0])):
        cfg = SentimentTrainConfig(base_model=base, max_steps=3, batch_size=8, logit_offsets=offsets)
        report = train_sentiment(TRAIN, TRAIN[:6], tmp_path / name, cfg, progress=False)
        scores, labels = saved_logits(tmp_path / name, [t for t, _ in TRAIN[:6]])
        assert accuracy_of(scores, labels, TRAIN[:6]) == report["eval"]["accuracy"]
        logits.append(scores)
    assert torch.allclose(logits[1] - logits[0], torch.tensor([2.0, 0.0, -1.0]).expand(6, 3), atol=1e-5)


def test_logit_offsets_need_one_number_per_label():
    with pytest.raises(Exception, match=r"logit_offsets .*\[0\.5\]"):
        SentimentTrainConfig(logit_offsets=[0.5])
