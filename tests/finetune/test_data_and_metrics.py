import pytest

from chatbot.errors import InputError
from finetune.data import in_eval_split, labelled_texts, parse_label_map
from finetune.metrics import classification_report, sentiment_report


def test_label_map_parsing():
    assert parse_label_map("0=negative, 1=positive") == {"0": "negative", "1": "positive"}
    assert parse_label_map(None) == {}
    with pytest.raises(InputError, match="'2=angry'"):
        parse_label_map("0=negative,2=angry")


def test_labelled_texts_from_csv_jsonl_and_tsv(tmp_path):
    (tmp_path / "a.csv").write_text("review,stars\nGreat,5\n,1\nAwful,1\n", encoding="utf-8")
    pairs = labelled_texts(
        tmp_path / "a.csv", text_column="review", label_column="stars", label_map={"5": "positive", "1": "negative"}
    )
    assert pairs == [("Great", "positive"), ("Awful", "negative")]  # the empty text is skipped
    (tmp_path / "b.jsonl").write_text('{"text": "ok", "label": "Neutral"}\n', encoding="utf-8")
    assert labelled_texts(tmp_path / "b.jsonl") == [("ok", "neutral")]
    (tmp_path / "c.tsv").write_text("text\tlabel\nbad\tneg\n", encoding="utf-8")
    assert labelled_texts(tmp_path / "c.tsv") == [("bad", "negative")]


def test_unmapped_labels_and_missing_columns_are_named(tmp_path):
    (tmp_path / "a.csv").write_text("text,label\nGreat,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="label '5' in a.csv is not mapped"):
        labelled_texts(tmp_path / "a.csv")
    with pytest.raises(InputError, match="needs columns 'body' and 'label'"):
        labelled_texts(tmp_path / "a.csv", text_column="body")
    (tmp_path / "b.jsonl").write_text("{broken\n", encoding="utf-8")
    with pytest.raises(InputError, match="b.jsonl:1 is not valid JSON"):
        labelled_texts(tmp_path / "b.jsonl")


def test_eval_split_is_deterministic_and_near_the_fraction():
    texts = [f"message number {i}" for i in range(2000)]
    held = [t for t in texts if in_eval_split(t, 0.1)]
    assert held == [t for t in reversed(texts) if in_eval_split(t, 0.1)][::-1]
    assert 150 < len(held) < 250


def test_classification_report():
    report = classification_report([0, 0, 1, 2], [0, 1, 1, 1], 3)
    assert report["accuracy"] == 0.5
    assert report["macro_recall"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0) / 3)


def test_sentiment_report_scores_the_labels_the_data_has():
    three = sentiment_report(
        ["negative", "negative", "neutral", "positive"], ["negative", "neutral", "neutral", "neutral"]
    )
    assert three["accuracy"] == 0.5 and three["macro_recall"] == round((0.5 + 1 + 0) / 3, 4)
    assert three["confusion"]["negative"] == {"negative": 1, "neutral": 1, "positive": 0}
    assert three["per_label"]["neutral"] == {"recall": 1.0, "precision": 0.3333, "f1": 0.5, "support": 1}
    assert "negative_vs_not_accuracy" not in three
    # Binary data (SST-2): no neutral texts, so no neutral class to charge; a neutral prediction is "not negative".
    binary = sentiment_report(["negative", "positive", "positive"], ["negative", "neutral", "positive"])
    assert binary["macro_recall"] == 0.75 and binary["negative_vs_not_accuracy"] == 1.0
    assert set(binary["confusion"]) == {"negative", "positive"}
    with pytest.raises(ValueError, match="among"):
        sentiment_report(["angry"], ["negative"])
