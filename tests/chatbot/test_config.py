from pathlib import Path

import pytest

from chatbot.config import Settings
from chatbot.errors import ConfigError


def test_from_env_reads_chatbot_variables(tmp_path):
    settings = Settings.from_env(
        {
            "CHATBOT_HOME": str(tmp_path),
            "CHATBOT_RETRIEVE_K": "7",
            "CHATBOT_HANDOFF_CONFIDENCE": "0.3",
            "CHATBOT_VERIFY_ANSWERS": "false",
            "CHATBOT_GENERATOR_MODEL": "/models/my-llm",
        }
    )
    assert settings.home == tmp_path
    assert (settings.retrieve_k, settings.handoff_confidence, settings.verify_answers) == (7, 0.3, False)
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
        ({"CHATBOT_HANDOFF_CONFIDENCE": "1.5"}, "handoff_confidence has an invalid value: 1.5"),
        ({"CHATBOT_ANSWER_MODE": "poetry"}, "answer_mode has an invalid value: 'poetry'"),
        ({"CHATBOT_VERIFY_ANSWERS": "maybe"}, "CHATBOT_VERIFY_ANSWERS='maybe' is not a valid bool"),
    ],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)
