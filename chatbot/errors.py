"""The project's exceptions: one small hierarchy, turned into user text only at the edges (CLI, UI)."""


class ChatbotError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(ChatbotError):
    """A setting has a value that cannot work (the message names the setting and the value)."""


class InputError(ChatbotError):
    """Input from a user (a question, a file, a path) was refused; the message names what and why."""


class RateLimitedError(InputError):
    """A client sent more messages than the rate limit allows; `retry_after_s` says when the next one is taken."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooLongError(InputError):
    """A text is longer than allowed; `length` and `limit` are in characters (the chat page tells the customer in the
    operator's words, `chatbot.bot_texts`)."""

    def __init__(self, message: str, *, length: int, limit: int) -> None:
        super().__init__(message)
        self.length = length
        self.limit = limit


class IndexNotBuiltError(ChatbotError):
    """The knowledge base has no index yet, or the index on disk does not match the settings."""


class ModelLoadError(ChatbotError):
    """A model could not be found or loaded."""


class StoreError(ChatbotError):
    """The database refused an operation or holds something unexpected."""
