import json

import pytest

from chatbot.errors import InputError
from chatbot.storage import SqlStore
from finetune.transcripts import (
    TRANSCRIPT_SYSTEM,
    Example,
    prepare,
    read_transcripts,
    transcripts_from_store,
)


def qa(i, question, answer):
    return Example(str(i), [{"role": "user", "content": question}, {"role": "assistant", "content": answer}])


def test_question_answer_columns_are_read_with_datasets(tmp_path):
    path = tmp_path / "bitext.csv"
    path.write_text('instruction,response\nwhere is my order,"Check {{Order Page}}, please."\n,skipped\n')
    examples = read_transcripts(path, cache_dir=tmp_path / "cache")
    assert len(examples) == 1
    assert examples[0].question == "where is my order"
    assert examples[0].reference == "Check {{Order Page}}, please."
    assert examples[0].prompt() == [
        {"role": "system", "content": TRANSCRIPT_SYSTEM},
        {"role": "user", "content": "where is my order"},
    ]


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("q,a\nhi,hello\n")
    with pytest.raises(InputError, match=r"'instruction'.*'response'.*\['q', 'a'\]"):
        read_transcripts(path, cache_dir=tmp_path / "cache")
    assert len(read_transcripts(path, question_col="q", answer_col="a", cache_dir=tmp_path / "cache")) == 1


def test_whole_conversations_give_one_example_per_reply(tmp_path):
    path = tmp_path / "chats.jsonl"
    conversation = [
        {"role": "system", "content": "their prompt"},
        {"role": "customer", "content": "My parcel is late"},
        {"role": "agent", "content": "Sorry! What is the order number?"},
        {"role": "customer", "content": "It is 1234"},
        {"role": "agent", "content": "It ships tomorrow."},
    ]
    path.write_text(json.dumps({"messages": conversation}) + "\n")
    examples = read_transcripts(path, cache_dir=tmp_path / "cache")
    assert [e.reference for e in examples] == ["Sorry! What is the order number?", "It ships tomorrow."]
    assert [m["role"] for m in examples[1].messages] == ["user", "assistant", "user", "assistant"]


def test_unknown_roles_and_formats_are_refused(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "robot", "content": "x"}]}) + "\n")
    with pytest.raises(InputError, match="robot"):
        read_transcripts(path, cache_dir=tmp_path / "cache")
    other = tmp_path / "chats.xml"
    other.write_text("<x/>")
    with pytest.raises(InputError, match="chats.xml"):
        read_transcripts(other)


def test_prepare_dedups_drops_long_scrubs_and_splits_by_question():
    examples = [qa(i, f"question {i % 40}", f"answer {i % 40}") for i in range(80)]  # every pair twice
    examples.append(qa(99, "write me a novel", "x" * 5000))
    examples.append(qa(100, "my mail is a@b.com", "Thanks, noted."))
    data = prepare(examples, eval_fraction=0.25, max_chars=4000)
    assert data.duplicates == 40 and data.too_long == 1 and data.pii_replacements == 1
    assert len(data.train) + len(data.evaluation) == 41
    assert 0 < len(data.evaluation) < 41
    assert not {e.question for e in data.train} & {e.question for e in data.evaluation}
    assert prepare(examples, eval_fraction=0.25).sha256 == data.sha256  # deterministic


def test_bad_eval_fraction_is_named():
    with pytest.raises(InputError, match="1.5"):
        prepare([qa(1, "q", "a")], eval_fraction=1.5)


def test_staff_replies_in_the_database_become_examples(settings):
    store = SqlStore(settings.database_url)
    cid = store.create_conversation()
    store.add_message(cid, "user", "I want to speak to someone")
    store.add_message(cid, "assistant", "Passing you to a colleague.")
    store.add_message(cid, "user", "My refund has not arrived")
    store.add_message(cid, "staff", "I have re-issued it today.")
    store.create_conversation()  # no staff reply: not used
    examples = transcripts_from_store(store)
    assert len(examples) == 1
    assert examples[0].reference == "I have re-issued it today."
    assert [m["role"] for m in examples[0].messages] == ["user", "assistant", "user", "assistant"]
    assert transcripts_from_store(store, since="2999-01-01") == []
