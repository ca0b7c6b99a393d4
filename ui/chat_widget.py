"""The customer chat page: ask, watch the answer stream in, see its numbered sources, continue the conversation."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import quote

import gradio as gr

from chatbot.bot_texts import DEFAULT_TEXTS
from chatbot.errors import InputError, RateLimitedError, StoreError, TooLongError
from chatbot.grounding import cited_in, text_and_code
from chatbot.service import ChatService
from chatbot.types import BOT_REPLIES, Answer, Decision
from knowledge_base.chunking import fence_of

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")
URL_SAFE = "/:?#@!$&*+,;=%~-._"  # kept as they are in a linked address; anything else is percent-encoded
RESUME_HOURS = 24  # a customer coming back within a day continues their conversation; later, a new one starts


def as_text(text: str) -> str:
    """Make customer, knowledge-base or model text display literally (no HTML, no Markdown) in the chat."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


_NOT_A_LANGUAGE = re.compile(r"[^\w+#.-]")  # a code block's language name ("python", "c++") keeps these only


def as_markdown(text: str) -> str:
    """Make bot or staff text display in the chat: prose literally (`as_text`), a fenced code block as a code block,
    its lines and indentation as written (a Markdown renderer shows a block's content literally)."""
    shown = []
    for part, code in text_and_code(text):
        if code:  # `text_and_code` gives a block its opening and closing fence lines
            opening, *lines, _ = part.split("\n")
            fence = fence_of(opening)
            language = _NOT_A_LANGUAGE.sub("", opening.strip()[len(fence) :])[:20]
            shown.append("\n".join([fence + language, *lines, fence]))
        else:
            shown.append(as_text(part))
    return "\n".join(shown)


def source_line(number: int, title: str, source: str, url: str = "") -> str:
    """One numbered source as Markdown: its title linked to its page when it has an http(s) address (customers
    follow it), else its title and where it came from; all else escaped to display as plain text."""
    if url.lower().startswith(("https://", "http://")):
        # Percent-encoding spaces, brackets and quotes keeps the address one Markdown link target.
        return f"{number}\\. [{as_text(title)}]({quote(url, safe=URL_SAFE)})"
    return f"{number}\\. {as_text(title)} — {as_text(source)}"


def format_reply(text: str, sources: list[tuple[str, str, str]], sources_heading: str = "Sources") -> str:
    """A reply followed by the sources it cites, numbered as in the text ((title, source, url) each; none for a
    hand-off), shown by `as_markdown`: prose as plain text, code as code."""
    body = as_markdown(text)
    # Citations [1] stay readable after escaping: "\[1\]" renders as "[1]". "argv[1]" in code cites nothing.
    if sources:
        lines = [source_line(n, *sources[n - 1]) for n in cited_in(text, len(sources))]
        body += f"\n\n**{as_text(sources_heading)}**\n\n" + "\n\n".join(lines)
    return body


def format_answer(answer: Answer, sources_heading: str = "Sources") -> str:
    """The answer text followed by its numbered sources (`format_reply`)."""
    sources = [] if answer.handed_off else [(p.chunk.title, p.chunk.source, p.chunk.url) for p in answer.sources]
    return format_reply(answer.text, sources, sources_heading)


def restore_conversation(
    service: ChatService, conversation_id: str, *, now: datetime | None = None
) -> tuple[Messages, str, int]:
    """The conversation this browser had open, as the chat shows it: (messages, conversation id, last message id).
    Nothing (a new conversation) when there is none, it was deleted, or nobody wrote in it for `RESUME_HOURS`."""
    if not conversation_id:
        return [], "", 0
    # A deleted (or forged) conversation has no messages.
    stored = [m for m in service.store.messages(conversation_id) if m.text]  # a silent bot turn is not shown
    now = now or datetime.now(timezone.utc)
    if not stored or now - stored[-1].created_at > timedelta(hours=RESUME_HOURS):
        return [], "", 0
    texts = service.texts()
    shown: Messages = []
    for m in stored:
        if m.role == "user":
            shown.append({"role": "user", "content": as_text(m.text)})
        elif m.role == "staff":
            label = f"**{as_text(texts['staff_label'])}:**"
            shown.append({"role": "assistant", "content": f"{label} {as_markdown(m.text)}"})
        else:
            replied = Decision(m.decision) in BOT_REPLIES if m.decision else False
            sources = [(s["title"], s["source"], s.get("url", "")) for s in m.sources] if replied else []
            shown.append({"role": "assistant", "content": format_reply(m.text, sources, texts["sources_heading"])})
    return shown, conversation_id, stored[-1].id


def respond(
    service: ChatService,
    message: str,
    messages: Messages,
    conversation_id: str,
    seen: int,
    *,
    asks_for_person: bool = False,
    client: str | None = None,
) -> Iterator[tuple[Messages, str, str, int]]:
    """Stream the reply to `message` from the customer at network address `client`: yields (chat messages,
    conversation id, text box value, last message id shown). A refused message stays in the text box."""
    if not message or not message.strip():
        yield messages, conversation_id, "", seen
        return
    if conversation_id and not service.store.conversation_exists(conversation_id):
        # Deleted while the page was open (a customer's erasure request, the retention purge): start afresh
        # rather than refuse every message the customer sends from now on.
        conversation_id = ""
    messages = [*messages, {"role": "user", "content": as_text(message)}]
    try:
        stream = service.reply(conversation_id or None, message, asks_for_person=asks_for_person, client=client)
    except RateLimitedError:
        gr.Warning(service.texts()["slow_down"])
        yield messages[:-1], conversation_id, message, seen
        return
    except TooLongError as err:
        gr.Warning(service.texts().filled("too_long", length=err.length, limit=err.limit))
        yield messages[:-1], conversation_id, message, seen
        return
    except InputError as err:
        gr.Warning(str(err))
        yield messages[:-1], conversation_id, message, seen
        return
    conversation_id = stream.conversation_id
    messages.append({"role": "assistant", "content": ""})
    text = ""
    for piece in stream:
        text += piece
        messages[-1] = {"role": "assistant", "content": as_markdown(text)}
        yield messages, conversation_id, "", seen
    answer = stream.result()
    if answer.text:
        messages[-1] = {"role": "assistant", "content": format_answer(answer, service.texts()["sources_heading"])}
    else:  # a person has the conversation: the bot says nothing
        messages.pop()
    yield messages, conversation_id, "", _last_id(service, conversation_id)


def _last_id(service: ChatService, conversation_id: str) -> int:
    stored = service.store.messages(conversation_id)
    return stored[-1].id if stored else 0


def talk_to_person(
    service: ChatService, messages: Messages, conversation_id: str, seen: int, *, client: str | None = None
) -> Iterator[tuple[Messages, str, str, int]]:
    """The "Talk to a person" button: shows the customer's request (the operator's wording) and hands over."""
    request = service.texts()["person_request"]
    yield from respond(service, request, messages, conversation_id, seen, asks_for_person=True, client=client)


def client_address(request: gr.Request | None) -> str | None:
    """The customer's network address as the server sees it (behind a reverse proxy: the address the proxy
    forwards, when uvicorn trusts it; see `chatbot serve --forwarded-allow-ips`)."""
    if request is None or request.client is None:
        return None
    return request.client.host


def poll_staff_replies(service: ChatService, messages: Messages, conversation_id: str, seen: int) -> Any:
    """Show replies staff sent since the last message this page shows (called every few seconds). Nothing
    changes on the page unless there is one, so a streaming answer is never overwritten."""
    if not conversation_id:
        return gr.skip(), gr.skip()
    # Every open chat page asks every few seconds: only the messages after the last one shown are read.
    staff = [m for m in service.store.messages(conversation_id, after_id=seen) if m.role == "staff"]
    if not staff:
        return gr.skip(), gr.skip()
    label = f"**{as_text(service.texts()['staff_label'])}:** "
    shown = [*messages, *({"role": "assistant", "content": label + as_markdown(m.text)} for m in staff)]
    return shown, max(m.id for m in staff)


def record_feedback(
    service: ChatService, messages: Messages, conversation_id: str, event: gr.LikeData
) -> tuple[int | None, Any]:
    """Thumbs up or down on an answer; a thumbs down opens the reason box. Returns (feedback id, box update)."""
    if not conversation_id:
        return None, gr.update(visible=False)
    index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    answer_text = str(messages[index]["content"])[:200] if isinstance(index, int) and index < len(messages) else ""
    try:
        feedback_id = service.add_feedback(conversation_id, 1 if event.liked else -1, answer=answer_text)
    except InputError:  # the conversation was deleted while the page was open: nothing to rate
        return None, gr.update(visible=False)
    return feedback_id, gr.update(visible=not event.liked, value="")


def record_reason(service: ChatService, feedback_id: int | None, reason: str) -> Any:
    """Store the optional reason of a thumbs down (its sentiment is labelled too) and close the box."""
    if feedback_id is not None and reason.strip():
        try:
            service.add_feedback_reason(feedback_id, reason.strip())
        except StoreError:  # deleted with its conversation while the box was open
            return gr.update(visible=False, value="")
        gr.Info(service.texts()["feedback_thanks"])
    return gr.update(visible=False, value="")


def new_conversation() -> tuple[Messages, str, int]:
    """Forget the current conversation on this page; the next message starts a new one."""
    return [], "", 0


def page_wording(service: ChatService) -> tuple[Any, ...]:
    """The page's words (the operator's, over the defaults) and its example questions (the operator's, else the
    FAQ's), read when a customer opens the page so that a rewording shows without a restart: updates for the
    heading, conversation, examples, text box, send button, person button, new-conversation button and reason box.
    """
    texts = service.texts()
    examples = service.example_questions(texts=texts)
    return (
        f"### {as_text(texts['page_heading'])}\n{as_text(texts['page_intro'])}",
        gr.update(label=texts["conversation_label"]),
        gr.update(samples=[[q] for q in examples], visible=bool(examples), label=texts["examples_label"]),
        gr.update(placeholder=texts["input_placeholder"]),
        gr.update(value=texts["send_button"]),
        gr.update(value=texts["person_button"]),
        gr.update(value=texts["new_conversation_button"]),
        gr.update(label=texts["feedback_prompt"]),
    )


def pick_example(service: ChatService, index: int | None) -> str:
    """The example question the customer clicked, for the text box (by position: the page shows the list that
    `page_wording` read)."""
    examples = service.example_questions()
    return examples[index] if index is not None and 0 <= index < len(examples) else ""


def build_chat_page(service: ChatService) -> gr.Blocks:
    """The customer chat page as its own `gr.Blocks` (fits a phone screen; embeddable, see README)."""
    with gr.Blocks(title="Help center chat", fill_width=True) as page:
        heading = gr.Markdown()
        # The conversation id lives in the browser (localStorage), so that a customer who reloads the page or moves
        # to another page of the site (the chat in an iframe on each) finds the conversation, and the staff reply
        # promised "here", again. Fixed key and secret: the value survives restarts and every replica reads it; it
        # is the customer's own key to their conversation, as a session cookie would be.
        conversation_id = gr.BrowserState("", storage_key="chatbot-conversation", secret="chatbot-conversation")
        seen = gr.State(0)
        feedback_id = gr.State(None)
        chat = gr.Chatbot(
            label=DEFAULT_TEXTS["conversation_label"],
            height="60vh",
            sanitize_html=True,
            feedback_options=("Like", "Dislike"),
            buttons=["copy", "copy_all"],  # not "share" (to Hugging Face Spaces discussions), a default
        )
        # The words are the defaults until the page has loaded the operator's (`page_wording`).
        reason = gr.Textbox(label=DEFAULT_TEXTS["feedback_prompt"], visible=False, max_length=1000)
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                placeholder=DEFAULT_TEXTS["input_placeholder"],
                show_label=False,
                scale=5,
                min_width=160,
                max_length=service.settings.max_question_chars,  # the browser stops typing at the service's limit
            )
            send = gr.Button(DEFAULT_TEXTS["send_button"], variant="primary", scale=1, min_width=70)
        examples = gr.Dataset(
            components=[box], samples=[], type="index", label=DEFAULT_TEXTS["examples_label"], visible=False
        )
        with gr.Row():
            person = gr.Button(DEFAULT_TEXTS["person_button"], size="sm")
            clear = gr.Button(DEFAULT_TEXTS["new_conversation_button"], size="sm")
        state = [chat, conversation_id, box, seen]
        worded = [heading, chat, examples, box, send, person, clear, reason]
        page.load(partial(page_wording, service), None, worded, api_visibility="private")
        page.load(
            partial(restore_conversation, service), conversation_id, [chat, conversation_id, seen],
            api_visibility="private",
        )  # fmt: skip
        examples.click(partial(pick_example, service), examples, box, api_visibility="private")

        # Named functions: Gradio finds `gr.Request` (and `gr.LikeData` below) by annotation, which a
        # functools.partial hides.
        def on_message(
            message: str, messages: Messages, conversation: str, shown: int, request: gr.Request
        ) -> Iterator[tuple[Messages, str, str, int]]:
            yield from respond(service, message, messages, conversation, shown, client=client_address(request))

        def on_person(
            messages: Messages, conversation: str, shown: int, request: gr.Request
        ) -> Iterator[tuple[Messages, str, str, int]]:
            yield from talk_to_person(service, messages, conversation, shown, client=client_address(request))

        box.submit(on_message, [box, chat, conversation_id, seen], state, api_name="chat")
        send.click(on_message, [box, chat, conversation_id, seen], state, api_visibility="private")
        person.click(on_person, [chat, conversation_id, seen], state, api_visibility="private")
        clear.click(new_conversation, None, [chat, conversation_id, seen], api_visibility="private")
        # The chat's own bin icon empties it: a new conversation too, or a reload would bring the old one back.
        chat.clear(new_conversation, None, [chat, conversation_id, seen], api_visibility="private")

        def on_like(messages: Messages, conversation: str, event: gr.LikeData) -> tuple[int | None, Any]:
            return record_feedback(service, messages, conversation, event)

        chat.like(on_like, [chat, conversation_id], [feedback_id, reason], api_visibility="private")
        reason.submit(partial(record_reason, service), [feedback_id, reason], reason, api_visibility="private")
        gr.Timer(2.0).tick(
            partial(poll_staff_replies, service), [chat, conversation_id, seen], [chat, seen],
            show_progress="hidden", api_visibility="private",
        )  # fmt: skip
    return page
