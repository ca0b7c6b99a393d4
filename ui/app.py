"""The web application: `build_app(service)` returns the Gradio app without launching it."""

from __future__ import annotations

import gradio as gr

from chatbot.service import ChatService
from ui.chat_widget import build_chat_page


def build_app(service: ChatService) -> gr.Blocks:
    """All pages of the product; the customer chat is at `/`."""
    app = build_chat_page(service)
    app.title = "Help center chat"
    return app
