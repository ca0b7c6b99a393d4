"""What the bot and the chat page say in fixed words, and how an operator rewords it.

The defaults are below; an operator's own wording (another language, the company's voice, its own example
questions) is stored in the database (`chatbot texts set`, or the operator console) and takes effect on the next
message, on every replica. Only the texts an operator changed are stored: the others follow the defaults.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from chatbot.errors import InputError
from chatbot.guard import remove_control_characters


@dataclass(frozen=True)
class TextSpec:
    """One text the operator may reword: its default and what it is for."""

    default: str
    help: str
    placeholders: frozenset[str] = field(default_factory=frozenset)  # {names} filled in when the text is shown


SPECS: dict[str, TextSpec] = {
    "page_heading": TextSpec("Ask us anything", "heading of the customer chat page"),
    "page_intro": TextSpec(
        "Answers come from our help center, with their sources.", "line under the heading of the chat page"
    ),
    "examples": TextSpec(
        "",
        "example questions under the chat box, one per line; empty: the first questions of the knowledge base's "
        "FAQ (none without a FAQ)",
    ),
    "conversation_label": TextSpec("Conversation", "label of the chat page's conversation"),
    "examples_label": TextSpec("Examples", "label over the example questions"),
    "input_placeholder": TextSpec("Type your question and press Enter", "placeholder of the chat page's text box"),
    "send_button": TextSpec("Send", "the chat page's send button"),
    "person_button": TextSpec("Talk to a person", "the chat page's button that hands the conversation to staff"),
    "person_request": TextSpec(
        "I'd like to talk to a person, please.", "the customer's message shown when they press that button"
    ),
    "new_conversation_button": TextSpec("New conversation", "the chat page's button that starts afresh"),
    "sources_heading": TextSpec("Sources", "heading of the numbered sources under an answer"),
    "staff_label": TextSpec("Support team", "name shown before a staff member's reply in the chat"),
    "feedback_prompt": TextSpec(
        "What was wrong with this answer? (optional, press Enter to send)", "box that opens after a thumbs down"
    ),
    "feedback_thanks": TextSpec("Thank you for telling us.", "notice after the customer sent that reason"),
    "slow_down": TextSpec(
        "You are sending messages faster than I can answer. Please wait a moment, then send it again.",
        "notice when a customer sends more messages than the rate limit allows (the message stays in the box)",
    ),
    "too_long": TextSpec(
        "Your message is {length} characters long. Please shorten it to {limit} characters or fewer.",
        "notice when a customer's message is longer than allowed ({length} and {limit} are filled in; the message "
        "stays in the box)",
        frozenset({"length", "limit"}),
    ),
    "handoff": TextSpec(
        "I'm not sure I can answer that correctly, so I'm passing your conversation to a member of our support "
        "team. They will reply here as soon as possible.",
        "reply when the knowledge base does not answer the question (or the answer model's output is unusable)",
    ),
    "nothing_new_handoff": TextSpec(
        "That is all our help pages say about it, so I'm passing your conversation to a member of our support "
        "team. They will reply here as soon as possible.",
        'reply when the customer asks for more ("What else?", "Yes") and the bot has said all its sources say',
    ),
    "requested_handoff": TextSpec(
        "Of course. I'm passing your conversation to a member of our support team; they will reply here.",
        "reply when the customer asks for a person",
    ),
    "waiting": TextSpec(
        "Thanks, your message is in the conversation; a member of our support team will reply here.",
        "reply to each further message while the conversation waits for a person",
    ),
    "review_hold": TextSpec(
        "Thanks for your message. A member of our support team will reply here shortly.",
        "reply in review mode while a person checks the bot's answer",
    ),
    # Replies to small talk, one per kind `chatbot.prompting.small_talk` recognises.
    "greeting": TextSpec(
        "Hello! How can I help you today? Ask me a question, or ask for a person at any time.",
        'reply to a greeting ("hi", "good morning")',
    ),
    "help": TextSpec(
        "Of course. What would you like to know? Ask your question, or ask for a person at any time.",
        'reply to "can you help me?" without a question yet',
    ),
    "about_bot": TextSpec(
        "I'm a virtual assistant. I answer questions from our help articles and show where each answer comes "
        "from, and I pass the conversation to a member of our support team whenever you ask or I'm not sure.",
        'reply to "are you a bot?", "what can you do?"',
    ),
    "thanks": TextSpec("You're welcome! Is there anything else I can help you with?", "reply to thanks"),
    "goodbye": TextSpec("Thank you for getting in touch. Have a good day!", 'reply to "bye", "that\'s all"'),
    "acknowledgement": TextSpec("Is there anything else I can help you with?", 'reply to "ok", "got it", "great"'),
}
MAX_TEXT_CHARS = 1000
MAX_EXAMPLES = 6
MAX_EXAMPLE_CHARS = 200


def check_key(key: str) -> None:
    """`InputError` unless `key` names a text the operator may reword."""
    if key not in SPECS:
        raise InputError(f"there is no text named {key!r}; the texts are: {', '.join(SPECS)}")


def check_text(key: str, text: str) -> str:
    """`text` made ready to store as the wording of `key` (trimmed; examples one per line), or `InputError`
    naming what is wrong."""
    check_key(key)
    if not isinstance(text, str):
        raise InputError(f"the text for {key!r} must be text, got {type(text).__name__}")
    text = remove_control_characters(text.replace("\r\n", "\n")).strip()
    if key == "examples":
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if len(lines) > MAX_EXAMPLES:
            raise InputError(f"{len(lines)} example questions given; at most {MAX_EXAMPLES} are shown")
        for line in lines:
            if len(line) > MAX_EXAMPLE_CHARS:
                raise InputError(
                    f"the example {line[:40]!r}... is {len(line)} characters; at most {MAX_EXAMPLE_CHARS}"
                )
        return "\n".join(lines)
    if not text:
        raise InputError(f"the text for {key!r} is empty; to go back to the default, reset it instead")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text for {key!r} is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")
    check_placeholders(key, text)
    return text


def check_placeholders(key: str, text: str) -> None:
    """`InputError` unless every `{name}` in `text` is one that `key` fills in. Texts that fill nothing in are shown
    as written, braces and all."""
    allowed = SPECS[key].placeholders
    if not allowed:
        return
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as err:  # a lone "{" or "}"
        raise InputError(
            f"the text for {key!r} has a brace that opens or closes nothing ({err}); write {{{{ or }}}} for a brace"
        ) from err
    unknown = names - allowed
    if unknown:
        raise InputError(
            f"the text for {key!r} uses {', '.join(sorted('{' + n + '}' for n in unknown))}; "
            f"it can use {', '.join(sorted('{' + n + '}' for n in allowed))}"
        )


@dataclass(frozen=True)
class BotTexts:
    """The wording in force: the defaults, with the operator's stored texts over them.

    Usage example:
    ```python
    texts = BotTexts.from_stored({"handoff": "Un momento, le paso con una persona."})
    texts["handoff"], texts["greeting"]  # the operator's text, the default greeting
    ```
    """

    stored: Mapping[str, str]

    @classmethod
    def from_stored(cls, stored: Mapping[str, str]) -> BotTexts:
        """The texts with `stored` (key -> text, as saved) over the defaults; keys no longer known are ignored."""
        return cls({key: text for key, text in stored.items() if key in SPECS})

    def __getitem__(self, key: str) -> str:
        return self.stored[key] if key in self.stored else SPECS[key].default

    def filled(self, key: str, **values: object) -> str:
        """The text of `key` with its placeholders filled in (`too_long`: `length=`, `limit=`). Stored texts were
        checked when set (`check_placeholders`); one that still cannot be filled in gives way to the default."""
        try:
            return self[key].format(**values)
        except (KeyError, IndexError, ValueError):
            return SPECS[key].default.format(**values)

    def all_texts(self) -> frozenset[str]:
        """Every text as it reads now, the bot's fixed replies among them (a text with placeholders as written)."""
        return frozenset(self[key] for key in SPECS)

    def is_default(self, key: str) -> bool:
        """True when the operator has not reworded `key`."""
        return key not in self.stored

    def examples(self) -> list[str]:
        """The operator's example questions (empty when none were set)."""
        return [line for line in self["examples"].split("\n") if line]


DEFAULT_TEXTS = BotTexts({})
