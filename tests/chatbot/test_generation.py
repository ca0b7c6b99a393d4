import pytest

from chatbot.errors import ModelLoadError
from chatbot.generation import TransformersGenerator

MESSAGES = [{"role": "system", "content": "you answer"}, {"role": "user", "content": "how long do refunds take"}]


def test_loads_a_local_folder_and_streams_bounded_output(tiny_lm_dir, tmp_path):
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    pieces = list(generator.stream(MESSAGES, max_new_tokens=5))
    assert 1 <= len(pieces) <= 5
    assert all(isinstance(p, str) and p for p in pieces)
    assert generator.name == str(tiny_lm_dir)


def test_greedy_decoding_is_repeatable(tiny_lm_dir, tmp_path):
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    assert list(generator.stream(MESSAGES, max_new_tokens=6)) == list(generator.stream(MESSAGES, max_new_tokens=6))


def test_closing_the_stream_early_frees_the_model(tiny_lm_dir, tmp_path):
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    stream = generator.stream(MESSAGES, max_new_tokens=500)
    next(stream)
    stream.close()  # stops generation; the lock is released for the next request
    assert len(list(generator.stream(MESSAGES, max_new_tokens=3))) <= 3


def test_missing_model_is_a_clear_error(tmp_path):
    generator = TransformersGenerator(str(tmp_path / "no-such-model"), models_dir=tmp_path, device="cpu")
    with pytest.raises(ModelLoadError, match="no-such-model"):
        generator.warm_up()


def test_bad_token_budget(tiny_lm_dir, tmp_path):
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    with pytest.raises(ValueError, match="max_new_tokens must be at least 1, got 0"):
        list(generator.stream(MESSAGES, max_new_tokens=0))


def test_reloading_generator_follows_the_promoted_model_without_a_restart():
    from chatbot.generation import ReloadingGenerator
    from tests.fakes import FakeGenerator

    serving = ["v1"]
    built = []

    def build(ref):
        generator = FakeGenerator(name=ref)
        generator.enqueue(f"answer from {ref}")
        built.append(ref)
        return generator

    generator = ReloadingGenerator(lambda: serving[0], build, interval=0)
    assert "".join(generator.stream([], max_new_tokens=10)) == "answer from v1"
    serving[0] = "v2"  # e.g. `chatbot models promote v2` in another process
    assert "".join(generator.stream([], max_new_tokens=10)) == "answer from v2"
    assert generator.name == "v2" and built == ["v1", "v2"]
    generator.stream([], max_new_tokens=1)
    assert built == ["v1", "v2"]  # unchanged setting: no rebuild
    serving[0] = "v3"
    assert generator.name == "v3"  # asking for the name notices a promotion too (the service's answer mode does)


def test_an_adapter_folder_without_its_base_is_a_clear_error(tmp_path):
    from chatbot.generation import load_answer_model

    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="base.json"):
        load_answer_model(str(tmp_path), models_dir=tmp_path)


def test_concurrent_replies_are_decoded_together_and_each_reader_gets_its_own(tiny_lm_dir, tmp_path):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    # All eight readers ask at the same moment and the window is generous: a busy CI machine that schedules a
    # thread late must not turn this into a timing test.
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu", batch_window=1.0)
    generator.warm_up()
    start = threading.Barrier(8)
    calls = []
    real_generate = generator._model.generate

    def counting_generate(**kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return real_generate(**kwargs)

    generator._model.generate = counting_generate

    def ask(messages: list[dict]) -> list[str]:
        start.wait()
        return list(generator.stream(messages, max_new_tokens=4 + len(messages[0]["content"]) % 3))

    prompts = [[{"role": "user", "content": " ".join(["refunds"] * (i + 1))}] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(ask, prompts))
    assert len(replies) == 8 and all(1 <= len(r) <= 6 for r in replies)
    assert sum(calls) == 8 and len(calls) < 8  # batched: fewer generate() calls than replies
    assert max(calls) > 1


def test_a_failing_model_reaches_the_reader_as_a_model_error_naming_the_cause(tiny_lm_dir, tmp_path):
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    generator.warm_up()

    def broken(**kwargs):
        raise RuntimeError("CUDA out of memory")

    generator._model.generate = broken
    with pytest.raises(ModelLoadError, match="out of memory") as raised:
        list(generator.stream(MESSAGES, max_new_tokens=3))
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_prompt_lookup_gives_the_same_greedy_reply_as_one_token_at_a_time(tiny_lm_dir, tmp_path):
    # A prompt that repeats itself, so that lookup finds runs to propose; greedy output must not change.
    messages = [{"role": "user", "content": "refund refund policy days " * 12}]
    plain = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu", prompt_lookup=0)
    lookup = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu", prompt_lookup=10)
    expected = "".join(plain.stream(messages, max_new_tokens=24))
    assert "".join(lookup.stream(messages, max_new_tokens=24)) == expected
    assert len(lookup._tokenizer(expected, add_special_tokens=False)["input_ids"]) <= 24


@pytest.mark.parametrize("kwargs", [{"prompt_lookup": -1}, {"repetition_penalty": 0.9}])
def test_bad_decoding_settings_are_refused(kwargs, tmp_path):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TransformersGenerator("default", models_dir=tmp_path, **kwargs)


def test_close_stops_a_reply_in_progress_and_refuses_new_ones(tiny_lm_dir, tmp_path):
    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    stream = generator.stream(MESSAGES, max_new_tokens=5000)
    next(stream)  # the model thread is decoding
    worker = generator._worker
    generator.close(timeout=30)
    assert worker is not None and not worker.is_alive()  # it ended at its next step, not after 5000 tokens
    assert len(list(stream)) < 5000
    with pytest.raises(ModelLoadError, match="closed"):
        list(generator.stream(MESSAGES, max_new_tokens=3))


def test_a_first_piece_deadline_drops_the_request_and_the_model_serves_the_next(tiny_lm_dir, tmp_path):
    import time

    from chatbot.generation import FirstPieceLate

    generator = TransformersGenerator(str(tiny_lm_dir), models_dir=tmp_path, device="cpu")
    generator.warm_up()
    with pytest.raises(FirstPieceLate):
        list(generator.stream(MESSAGES, max_new_tokens=5, first_piece_by=time.monotonic() - 1))
    pieces = list(generator.stream(MESSAGES, max_new_tokens=5, first_piece_by=time.monotonic() + 60))
    assert 1 <= len(pieces) <= 5
