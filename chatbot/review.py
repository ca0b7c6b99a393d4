"""What support staff do: work the queue, send (approved, edited or own) replies, take conversations over and
hand them back. Every decision is stored with the draft, the final text, who and when; staff replies are
messages of role "staff", which is what `finetune.transcripts.transcripts_from_store` trains on."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.auth import User
from chatbot.errors import InputError
from chatbot.guard import checked_text
from chatbot.storage import Draft, QueueEntry, SqlStore, StoredMessage

MAX_REPLY_CHARS = 4000


@dataclass(frozen=True)
class ConversationView:
    """One conversation as staff see it."""

    conversation_id: str
    messages: list[StoredMessage]
    draft: Draft | None
    status: str
    assigned_to: str


class ReviewDesk:
    """The staff side of conversations.

    Usage example:
    ```python
    desk = ReviewDesk(SqlStore(settings.database_url))
    entry = desk.queue()[0]
    view = desk.open(entry.conversation_id)
    desk.send(entry.conversation_id, view.draft.text, user=maria, draft_id=view.draft.id)  # approve
    ```
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def queue(self) -> list[QueueEntry]:
        """Conversations needing a person, most urgent first."""
        return self.store.queue()

    def open(self, conversation_id: str) -> ConversationView:
        """The messages, the pending suggested reply and who handles the conversation."""
        handling = self.store.handling(conversation_id)
        if handling is None:
            raise InputError(f"no conversation with id {conversation_id!r}")
        status, assigned_to = handling
        return ConversationView(
            conversation_id,
            self.store.messages(conversation_id),
            self.store.pending_draft(conversation_id),
            status,
            assigned_to,
        )

    def send(self, conversation_id: str, text: str, *, user: User, draft_id: int | None = None) -> int:
        """Send a reply to the customer: the draft as is (approved), changed (edited) or the person's own
        (written). The sender then owns the conversation (the bot stays silent) until it is handed back."""
        _require_staff(user)
        text = checked_text(text, MAX_REPLY_CHARS, what="reply")
        view = self.open(conversation_id)
        if draft_id is not None and view.draft is not None and view.draft.id == draft_id:
            decision = "approved" if text == view.draft.text.strip() else "edited"
            self.store.decide_draft(draft_id, decision, final_text=text, user=user.name)
        else:
            self.store.record_staff_reply(conversation_id, text, user=user.name)
        message_id = self.store.add_message(conversation_id, "staff", text)
        self.store.set_status(conversation_id, "staff", assigned_to=user.name)
        return message_id

    def reject(self, conversation_id: str, draft_id: int, *, user: User) -> None:
        """Discard the suggested reply; nothing is sent and the conversation stays in the queue."""
        _require_staff(user)
        view = self.open(conversation_id)
        if view.draft is None or view.draft.id != draft_id:
            raise InputError(f"draft {draft_id} is not the pending suggestion of this conversation")
        self.store.decide_draft(draft_id, "rejected", final_text="", user=user.name)

    def take_over(self, conversation_id: str, *, user: User) -> None:
        """A person answers from now on; the bot stays silent in this conversation."""
        _require_staff(user)
        self.open(conversation_id)
        self.store.set_status(conversation_id, "staff", assigned_to=user.name)

    def hand_back(self, conversation_id: str, *, user: User) -> None:
        """The bot answers again; the conversation leaves the queue."""
        _require_staff(user)
        self.open(conversation_id)
        self.store.set_status(conversation_id, "bot")


def _require_staff(user: User) -> None:
    if not user.can("staff"):
        raise InputError(f"{user.name} ({user.role}) may not answer customers")
