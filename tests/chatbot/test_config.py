from pathlib import Path

import pytest

from chatbot.config import Settings
from chatbot.errors import ConfigError


def test_from_env_reads_chatbot_variables(tmp_path):
    settings = Settings.from_env(
        {
            "CHATBOT_HOME": str(tmp_path),
            "CHATBOT_RETRIEVE_K": "7",
            "CHATBOT_EXTRACT_PASSAGES": "5",
            "CHATBOT_HANDOFF_CONFIDENCE": "0.3",
            "CHATBOT_VERIFY_ANSWERS": "false",
            "CHATBOT_GENERATOR_MODEL": "/models/my-llm",
        }
    )
    assert settings.home == tmp_path
    assert (settings.retrieve_k, settings.extract_passages) == (7, 5)
    assert (settings.handoff_confidence, settings.verify_answers) == (0.3, False)
    assert settings.generator_model == "/models/my-llm"
    assert settings.database_url == f"sqlite:///{tmp_path / 'chatbot.db'}"
    assert settings.index_dir == tmp_path / "index"


def test_home_defaults_under_the_users_data_dir():
    assert Settings.from_env({}).home == Path.home() / ".local" / "share" / "chatbot"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHATBOT_RETRIEVE_K": "many"}, "CHATBOT_RETRIEVE_K='many' is not a valid int"),
        ({"CHATBOT_RETRIEVE_K": "0"}, "retrieve_k has an invalid value: 0"),
        ({"CHATBOT_EXTRACT_PASSAGES": "20"}, "extract_passages has an invalid value: 20 (1 to retrieve_k, 10)"),
        ({"CHATBOT_RETRIEVE_K": "5"}, "extract_passages has an invalid value: 8 (1 to retrieve_k, 5)"),
        ({"CHATBOT_HANDOFF_CONFIDENCE": "1.5"}, "handoff_confidence has an invalid value: 1.5"),
        ({"CHATBOT_ANSWER_MODE": "poetry"}, "answer_mode has an invalid value: 'poetry'"),
        ({"CHATBOT_REPETITION_PENALTY": "0.8"}, "repetition_penalty has an invalid value: 0.8"),
        ({"CHATBOT_SENTIMENT_RUNTIME": "fast"}, "sentiment_runtime has an invalid value: 'fast'"),
        ({"CHATBOT_VERIFY_ANSWERS": "maybe"}, "CHATBOT_VERIFY_ANSWERS='maybe' is not a valid bool"),
        ({"CHATBOT_RATE_LIMIT_CLIENT": "-5"}, "rate_limit_client has an invalid value: -5"),
    ],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_decoding_settings_reach_the_in_process_generator(tmp_path):
    from chatbot.generation import make_generator

    settings = Settings.from_env({"CHATBOT_REPETITION_PENALTY": "1.3", "CHATBOT_PROMPT_LOOKUP_TOKENS": "8"})
    generator = make_generator(
        "transformers",
        "default",
        models_dir=tmp_path,
        device="cpu",
        prompt_lookup=settings.prompt_lookup_tokens,
        repetition_penalty=settings.repetition_penalty,
    )
    assert (generator._repetition_penalty, generator._prompt_lookup) == (1.3, 8)
