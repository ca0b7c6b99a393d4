"""A self-hosted customer-service chatbot: answers from your knowledge base with sources, hands off when unsure."""

from chatbot.config import Settings
from chatbot.errors import (
    ChatbotError,
    ConfigError,
    IndexNotBuiltError,
    InputError,
    ModelLoadError,
    RateLimitedError,
    StoreError,
)
from chatbot.types import Answer, Chunk, Decision, Document, Passage, Turn

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "ChatbotError",
    "Chunk",
    "ConfigError",
    "Decision",
    "Document",
    "IndexNotBuiltError",
    "InputError",
    "ModelLoadError",
    "Passage",
    "RateLimitedError",
    "Settings",
    "StoreError",
    "Turn",
    "__version__",
]
