"""The review console (`/review`, staff and operators): the queue, one conversation, the suggested reply.

Every handler checks the session itself (besides the login wall around the page), so no action works for a
request without a live staff session.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import gradio as gr

from chatbot.auth import Accounts, User
from chatbot.errors import ChatbotError
from chatbot.review import ConversationView, ReviewDesk
from chatbot.storage import StoredMessage
from ui.chat_widget import as_markdown, as_text, source_line
from ui.login import user_from_request

logger = logging.getLogger(__name__)

QUEUE_HEADERS = ["Waiting", "Why", "Sentiment", "Last customer message", "Suggestion", "With"]
REASONS = {
    "handoff_requested": "asked for a person",
    "negative_sentiment": "unhappy customer",
    "handoff_low_confidence": "bot unsure",
    "handoff_failed": "bot failed (see the server log)",
    "handoff_bad_output": "bot output unusable",
    "handoff_nothing_new": "bot said all it knows",
    "held_for_review": "reply to approve",
    "staff": "taken over",
}


def require_user(accounts: Accounts, request: gr.Request | None, role: str = "staff") -> User:
    """The logged-in user allowed to do `role`'s work, or an error shown in the page."""
    user = user_from_request(accounts, request)
    if user is None or not user.can(role):
        raise gr.Error("Please sign in again (your session ended or lacks the rights for this).")
    return user


def _waiting(since: datetime) -> str:
    minutes = int((datetime.now(timezone.utc) - since).total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def queue_rows(desk: ReviewDesk, accounts: Accounts, request: gr.Request) -> tuple[list[list[str]], list[str]]:
    """The queue as table rows (plain text: the table does not render HTML) and the conversation ids in order."""
    require_user(accounts, request)
    entries = desk.queue()
    rows = [
        [
            _waiting(e.waiting_since),
            REASONS.get(e.reason, e.reason),
            f"{e.sentiment.label} {e.sentiment.score:.2f}" if e.sentiment else "",
            e.last_customer_message[:120],
            "yes" if e.has_draft else "",
            e.assigned_to,
        ]
        for e in entries
    ]
    return rows, [e.conversation_id for e in entries]


def _transcript(messages: list[StoredMessage]) -> list[dict[str, str]]:
    shown = []
    for m in messages:
        if m.role == "user":
            mood = f" · {m.sentiment.label}" if m.sentiment else ""
            shown.append({"role": "user", "content": as_text(m.text) + f"\n\n*customer{mood}*"})
        else:
            who = "support team" if m.role == "staff" else f"bot · {m.decision or 'answer'}"
            shown.append({"role": "assistant", "content": as_markdown(m.text) + f"\n\n*{who}*"})
    return shown


def _draft_details(view: ConversationView) -> str:
    draft = view.draft
    if draft is None:
        return "No suggested reply: write one below."
    lines = [f"**Suggested reply** · confidence {draft.confidence:.2f} · {as_text(draft.decision)}"]
    for n, source in enumerate(draft.sources, start=1):
        lines.append(
            source_line(n, str(source.get("title", "")), str(source.get("source", "")), str(source.get("url", "")))
        )
    return "\n\n".join(lines)


def open_conversation(
    desk: ReviewDesk, accounts: Accounts, ids: list[str], event: gr.SelectData, request: gr.Request
) -> tuple[str, list[dict[str, str]], str, int | None, str, str]:
    """Open the selected queue row: (conversation id, transcript, reply box, draft id, details, status line)."""
    require_user(accounts, request)
    row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    if not isinstance(row, int) or not 0 <= row < len(ids):
        raise gr.Error("That row is gone; the queue has changed.")
    return _show(desk, ids[row])


def _show(desk: ReviewDesk, conversation_id: str) -> tuple[str, list[dict[str, str]], str, int | None, str, str]:
    view = desk.open(conversation_id)
    status = f"Conversation `{conversation_id[:8]}…` · {view.status}"
    if view.assigned_to:
        status += f" · with {as_text(view.assigned_to)}"
    draft_text = view.draft.text if view.draft else ""
    draft_id = view.draft.id if view.draft else None
    return conversation_id, _transcript(view.messages), draft_text, draft_id, _draft_details(view), status


def refresh_conversation(
    desk: ReviewDesk, accounts: Accounts, conversation_id: str, request: gr.Request
) -> list[dict[str, str]]:
    """The open conversation's transcript again (new customer messages appear without a reload)."""
    require_user(accounts, request)
    # Every 3 s per open console: only the messages are read, not the draft and status as `open` does.
    return _transcript(desk.store.messages(conversation_id)) if conversation_id else []


def act(
    action: str,
    desk: ReviewDesk,
    accounts: Accounts,
    conversation_id: str,
    text: str,
    draft_id: int | None,
    request: gr.Request,
) -> tuple[str, list[dict[str, str]], str, int | None, str, str]:
    """Send, reject, take over or hand back, then show the conversation as it is now."""
    user = require_user(accounts, request)
    if not conversation_id:
        raise gr.Error("Open a conversation from the queue first.")
    try:
        if action == "send":
            desk.send(conversation_id, text, user=user, draft_id=draft_id)
            gr.Info("Sent to the customer.")
        elif action == "reject":
            if draft_id is None:
                raise gr.Error("There is no suggested reply to reject.")
            desk.reject(conversation_id, draft_id, user=user)
        elif action == "take_over":
            desk.take_over(conversation_id, user=user)
        elif action == "hand_back":
            desk.hand_back(conversation_id, user=user)
    except ChatbotError as err:
        raise gr.Error(str(err)) from err
    return _show(desk, conversation_id)


def whoami(accounts: Accounts, request: gr.Request) -> str:
    """The header line: who is signed in, with the sign-out link."""
    user = require_user(accounts, request)
    return f"Signed in as **{as_text(user.name)}** ({user.role}) · [Sign out](/logout)"


TAB_TITLE_JS = "(count) => { document.title = count > 0 ? `(${count}) Review queue` : 'Review queue'; }"


def build_review_page(desk: ReviewDesk, accounts: Accounts) -> gr.Blocks:
    """The review console as its own `gr.Blocks`."""
    with gr.Blocks(title="Review queue") as page:
        gr.Markdown("## Conversations that need a person")
        who = gr.Markdown()
        ids = gr.State([])
        current = gr.State("")
        draft_id = gr.State(None)
        queue = gr.Dataframe(headers=QUEUE_HEADERS, interactive=False, wrap=True, label="Queue (most urgent first)")
        # How many wait, for the browser tab's title: staff working in another tab see "(2) Review queue".
        waiting = gr.Number(0, visible=False)
        status = gr.Markdown("Select a conversation in the queue.")
        with gr.Row():
            with gr.Column(scale=3):
                # No "share" (to Hugging Face Spaces discussions) for customers' conversations; copies stay.
                transcript = gr.Chatbot(
                    label="Conversation", height=420, sanitize_html=True, buttons=["copy", "copy_all"]
                )
            with gr.Column(scale=2):
                details = gr.Markdown()
                reply = gr.Textbox(label="Reply to the customer (edit the suggestion or write your own)", lines=6)
                send = gr.Button("Send reply", variant="primary")
                with gr.Row():
                    reject = gr.Button("Reject suggestion")
                    take = gr.Button("Take over")
                    back = gr.Button("Hand back to bot")
        shown = [current, transcript, reply, draft_id, details, status]

        # Gradio passes the request (and the selection) to parameters annotated with its types; a
        # functools.partial hides those annotations, hence these small named wrappers.
        def load_queue(request: gr.Request) -> tuple[list[list[str]], list[str], int]:
            rows, conversation_ids = queue_rows(desk, accounts, request)
            return rows, conversation_ids, len(conversation_ids)

        def signed_in(request: gr.Request) -> str:
            return whoami(accounts, request)

        def refresh(conversation_id: str, request: gr.Request) -> list[dict[str, str]]:
            return refresh_conversation(desk, accounts, conversation_id, request)

        def select(ids: list[str], event: gr.SelectData, request: gr.Request) -> Any:
            return open_conversation(desk, accounts, ids, event, request)

        def handler(action: str) -> Any:
            def run(conversation_id: str, text: str, draft: int | None, request: gr.Request) -> Any:
                return act(action, desk, accounts, conversation_id, text, draft, request)

            return run

        page.load(signed_in, None, who)
        listed = [queue, ids, waiting]
        page.load(load_queue, None, listed)
        waiting.change(None, waiting, None, js=TAB_TITLE_JS)
        timer = gr.Timer(3.0)
        timer.tick(load_queue, None, listed, show_progress="hidden")
        timer.tick(refresh, current, transcript, show_progress="hidden")
        queue.select(select, ids, shown)
        for button, action in ((send, "send"), (reject, "reject"), (take, "take_over"), (back, "hand_back")):
            button.click(handler(action), [current, reply, draft_id], shown).then(load_queue, None, listed)
    return page
