import json
import shutil
from importlib.util import find_spec

import pytest

from chatbot import sentiment_onnx
from chatbot.errors import ModelLoadError
from chatbot.sentiment import (
    TransformersSentimentClassifier,
    classify_by_length,
    make_sentiment_classifier,
    spell_out_emoji,
    turned_negative,
)
from chatbot.sentiment_onnx import OnnxSentimentClassifier
from chatbot.types import Sentiment

NEG, NEU = Sentiment("negative", 0.7), Sentiment("neutral", 0.9)


@pytest.mark.parametrize(
    ("recent", "flag"),
    [
        ([], False),
        ([NEU], False),
        ([NEG], False),
        ([Sentiment("negative", 0.85)], True),
        ([NEG, NEG], True),
        ([NEG, NEU], False),
        ([NEG, NEU, NEG], False),
    ],
)
def test_turned_negative(recent, flag):
    assert turned_negative(recent, score=0.8) is flag


def test_classifies_in_batches_with_probabilities(tiny_classifier_dir):
    classifier = TransformersSentimentClassifier(tiny_classifier_dir, device="cpu", batch_size=2)
    texts = ["refunds take five days", "", "we accept cards", "how long do refunds take", "thirty days"]
    results = classifier.classify(texts)
    assert len(results) == 5
    assert all(r.label in ("negative", "neutral", "positive") and 1 / 3 <= r.score <= 1 for r in results)
    # Batching does not change results (beyond float rounding: padded batches sum in another order).
    (single,) = classifier.classify(texts[:1])
    assert single.label == results[0].label and single.score == pytest.approx(results[0].score, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Still waiting 😡", "Still waiting (enraged face)"),
        ("😡😡", "(enraged face) (enraged face)"),
        ("👍🏽 thanks", "(thumbs up medium skin tone) thanks"),  # a skin tone is part of the emoji
        ("I love it ❤️!", "I love it (red heart) !"),  # the variation selector too
        ("no emoji:  spacing kept", "no emoji:  spacing kept"),
    ],
)
def test_emoji_are_read_by_name(text, read):
    assert spell_out_emoji(text) == read


def test_the_model_is_shown_emoji_by_name_and_results_keep_the_callers_order():
    seen = []

    def probabilities(batch):
        seen.extend(batch)
        return [[0.1, 0.1, 0.8] if "face" in t else [0.8, 0.1, 0.1] for t in batch]

    results = classify_by_length(["no refund yet", "😊", ""], 2, probabilities, ["negative", "neutral", "positive"])
    assert [r.label for r in results] == ["negative", "positive", "negative"]
    assert "(smiling face with smiling eyes)" in seen and "." in seen  # an empty text is read as "."


def test_folder_without_labels_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="labels.json is missing"):
        TransformersSentimentClassifier(tmp_path, device="cpu").warm_up()


needs_onnxruntime = pytest.mark.skipif(find_spec("onnxruntime") is None, reason="the onnx extra is not installed")
TEXTS = ["refunds take five days", "", "we accept cards", "how long do refunds take", "thirty days"]


@needs_onnxruntime
@pytest.mark.parametrize("int8", [False, True])
def test_onnx_runtime_gives_what_pytorch_gives(tiny_classifier_dir, tmp_path, int8):
    exact = TransformersSentimentClassifier(tiny_classifier_dir, device="cpu").classify(TEXTS)
    onnx = OnnxSentimentClassifier(tiny_classifier_dir, cache_dir=tmp_path, int8=int8, batch_size=2).classify(TEXTS)
    if not int8:
        assert [o.label for o in onnx] == [e.label for e in exact]
        assert [o.score for o in onnx] == pytest.approx([e.score for e in exact], abs=1e-4)
        return
    # The random tiny model's three probabilities are near-ties (~1/3 each), where int8 rounding may flip a
    # label; what int8 must keep is the probabilities, and the label wherever the model is decisive.
    assert all(abs(o.score - e.score) < 0.05 for o, e in zip(onnx, exact, strict=True))
    assert all(o.label == e.label for o, e in zip(onnx, exact, strict=True) if e.score >= 0.4)


@needs_onnxruntime
def test_onnx_export_is_made_once_per_model_version(tiny_classifier_dir, tmp_path, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(tiny_classifier_dir, model)
    cache = tmp_path / "cache"
    first = OnnxSentimentClassifier(model, cache_dir=cache)
    expected = first.classify(TEXTS)
    (export,) = cache.iterdir()
    assert (export / "model.onnx").exists() and (export / "labels.json").exists()

    real_export = sentiment_onnx.export_onnx
    monkeypatch.setattr(sentiment_onnx, "export_onnx", lambda *a, **k: pytest.fail("exported twice"))
    assert OnnxSentimentClassifier(model, cache_dir=cache).classify(TEXTS) == expected  # a restart reuses it

    (model / "report.json").write_text("{}")  # retrained or edited: the files differ, so does the export
    monkeypatch.setattr(sentiment_onnx, "export_onnx", real_export)
    OnnxSentimentClassifier(model, cache_dir=cache).warm_up()
    assert len(list(cache.iterdir())) == 2


@needs_onnxruntime
def test_a_model_that_cannot_be_exported_leaves_nothing_half_written(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "labels.json").write_text(json.dumps({"labels": ["negative", "neutral", "positive"]}))
    (broken / "config.json").write_text("{not json")
    cache = tmp_path / "cache"
    with pytest.raises(ModelLoadError, match="broken"):
        OnnxSentimentClassifier(broken, cache_dir=cache).warm_up()
    assert not cache.exists() or not any(cache.iterdir())


def test_runtime_choice(tmp_path):
    def runtime(**kwargs):
        return type(make_sentiment_classifier("default", cache_dir=tmp_path, **kwargs)).__name__

    onnx_if_installed = "OnnxSentimentClassifier" if find_spec("onnxruntime") else "TransformersSentimentClassifier"
    assert runtime(runtime="auto", device="cpu") == onnx_if_installed
    assert runtime(runtime="auto", device="cuda") == "TransformersSentimentClassifier"  # nothing loads yet
    assert runtime(runtime="torch", device="cpu") == "TransformersSentimentClassifier"
    assert runtime(runtime="onnx", device="cpu") == "OnnxSentimentClassifier"
    with pytest.raises(ValueError, match="'fast'"):
        runtime(runtime="fast", device="cpu")
