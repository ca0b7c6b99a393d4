"""What every `chatbot` command module shares: project errors shown as one line, the deployment's model registry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from chatbot.config import Settings
from chatbot.errors import ChatbotError

if TYPE_CHECKING:
    from chatbot.registry import ModelRegistry


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Show project errors as one clean line, except under pytest where the traceback helps."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ChatbotError as err:
            if getattr(sys, "_called_from_test", False):
                raise
            raise click.ClickException(str(err)) from err

    return wrapper


def registry_for(settings: Settings) -> ModelRegistry:
    """The model registry of the deployment `settings` point at."""
    from chatbot.registry import ModelRegistry
    from chatbot.storage import SqlStore

    return ModelRegistry(SqlStore(settings.database_url))
