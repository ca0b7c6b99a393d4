"""The customer chat page: ask, watch the answer stream in, see its numbered sources, continue the conversation."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from functools import partial

import gradio as gr

from chatbot.errors import InputError
from chatbot.service import ChatService
from chatbot.types import Answer

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")
EXAMPLES = ["How long do refunds take?", "Can I change my delivery address?", "Which payment methods do you accept?"]


def as_text(text: str) -> str:
    """Make customer, knowledge-base or model text display literally (no HTML, no Markdown) in the chat."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def format_answer(answer: Answer) -> str:
    """The answer text followed by its numbered sources, all escaped to display as plain text."""
    body = as_text(answer.text)
    # Citations [1] stay readable after escaping: "\[1\]" renders as "[1]".
    if answer.sources and not answer.handed_off:
        lines = [f"{n}\\. {as_text(p.chunk.title)} — {as_text(p.chunk.source)}" for n, p in answer.cited_sources()]
        body += "\n\n**Sources**\n\n" + "\n\n".join(lines)
    return body


def respond(
    service: ChatService, message: str, messages: Messages, conversation_id: str
) -> Iterator[tuple[Messages, str, str]]:
    """Stream the reply to `message`: yields (chat messages, conversation id, text box value)."""
    if not message or not message.strip():
        yield messages, conversation_id, ""
        return
    conversation_id = conversation_id or service.start_conversation()
    messages = [*messages, {"role": "user", "content": as_text(message)}]
    try:
        stream = service.reply(conversation_id, message)
    except InputError as err:
        gr.Warning(str(err))
        yield messages[:-1], conversation_id, message
        return
    messages.append({"role": "assistant", "content": ""})
    text = ""
    for piece in stream:
        text += piece
        messages[-1] = {"role": "assistant", "content": as_text(text)}
        yield messages, conversation_id, ""
    messages[-1] = {"role": "assistant", "content": format_answer(stream.result())}
    yield messages, conversation_id, ""


def new_conversation() -> tuple[Messages, str]:
    """Forget the current conversation on this page; the next message starts a new one."""
    return [], ""


def build_chat_page(service: ChatService) -> gr.Blocks:
    """The customer chat page as its own `gr.Blocks`."""
    with gr.Blocks(title="Help center chat") as page:
        gr.Markdown("### Ask us anything\nAnswers come from our help center, with their sources.")
        conversation_id = gr.State("")
        chat = gr.Chatbot(label="Conversation", height=480, sanitize_html=True, feedback_options=None)
        with gr.Row():
            box = gr.Textbox(placeholder="Type your question and press Enter", show_label=False, scale=5)
            send = gr.Button("Send", variant="primary", scale=1)
        gr.Examples(EXAMPLES, inputs=box)
        clear = gr.Button("New conversation", size="sm")
        handler = partial(respond, service)
        box.submit(handler, [box, chat, conversation_id], [chat, conversation_id, box], api_name="chat")
        send.click(handler, [box, chat, conversation_id], [chat, conversation_id, box], api_visibility="private")
        clear.click(new_conversation, None, [chat, conversation_id], api_visibility="private")
    return page
