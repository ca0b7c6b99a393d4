"""The assistant: one customer message in, one traceable answer out (streamed), everything stored."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from chatbot.bot_texts import BotTexts
from chatbot.config import Settings
from chatbot.errors import ChatbotError, IndexNotBuiltError, InputError, ModelLoadError
from chatbot.extractive import (
    asked_term,
    candidate_sentences,
    expects_quantity,
    extractive_answer,
    list_runs,
    passage_defines,
    question_coverage,
    with_definition,
    without_yes_no,
)
from chatbot.generation import DEFAULT_GENERATOR_NAME, FirstPieceLate, Generator
from chatbot.grounding import (
    answered_question,
    cite,
    cited_in,
    content_terms,
    list_marker,
    names_nothing,
    passage_body,
    quoting_passage,
    said_in,
    streamed_units,
    supporting_passage,
    text_and_code,
    without_list_marker,
)
from chatbot.guard import checked_text, remove_control_characters
from chatbot.prompting import (
    build_messages,
    clean_citations,
    is_degenerate,
    is_off_language,
    small_talk,
    wants_human,
)
from chatbot.ratelimit import RateLimiter
from chatbot.sentiment import SentimentClassifier, turned_negative
from chatbot.storage import Store
from chatbot.types import Answer, Decision, Passage, Turn
from knowledge_base.embedder import Embedder

logger = logging.getLogger(__name__)

# The automatic hand-off threshold never goes below this: CLINC150 requests put to the doc2dial knowledge base
# reach a median confidence of 0.22, so under 0.3 a question shares little more with a knowledge base than
# unrelated text does (benchmarks/RESULTS.md).
MIN_AUTO_HANDOFF = 0.3


def handoff_threshold(settings: Settings, offtopic_ceiling: float | None) -> float:
    """The retrieval confidence below which the bot hands over: `handoff_confidence`, or with `handoff_auto` the
    lower confidence that clearly off-topic requests reach on this knowledge base (not below `MIN_AUTO_HANDOFF`).
    """
    if not settings.handoff_auto or offtopic_ceiling is None:
        return settings.handoff_confidence
    return min(settings.handoff_confidence, max(MIN_AUTO_HANDOFF, offtopic_ceiling))


class Retriever(Protocol):
    """Finds passages for a question in the context of earlier turns."""

    def retrieve(self, question: str, history: list[Turn], k: int) -> list[Passage]:
        """The `k` best passages, best first."""
        ...

    def spelled(self, text: str) -> str:
        """`text` as the search reads it: typos of the knowledge base's words corrected."""
        ...

    def offtopic_ceiling(self) -> float | None:
        """The highest confidence clearly off-topic requests reach on this knowledge base, if measured."""
        ...

    def warm_up(self) -> None:
        """Load the knowledge base now, if there is one."""
        ...

    def check(self) -> None:
        """Raise the `ChatbotError` a search would raise now (no knowledge base yet, a setting it cannot work with)."""
        ...

    def faq_questions(self, limit: int) -> list[str]:
        """Up to `limit` questions of the knowledge base's FAQ entries, in the order they were ingested."""
        ...


class ReplyStream:
    """Iterate to receive the reply text piece by piece; afterwards `answer` holds the final `Answer`.

    The final text can differ from the streamed pieces (bad citations removed, or a hand-off when the
    model's output could not be used), so a UI shows `answer.text` once the stream ends.
    """

    def __init__(self, conversation_id: str, pieces: PyGenerator[str, None, Answer]) -> None:
        self.conversation_id = conversation_id
        self._pieces = pieces
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        if self.answer is None:  # iterating again after the end yields nothing and keeps the answer
            self.answer = yield from self._pieces

    def result(self) -> Answer:
        """Consume the rest of the stream and return the answer."""
        for _ in self:
            pass
        if self.answer is None:
            raise RuntimeError("the reply stream ended without an answer")
        return self.answer


class ChatService:
    """Answers customer messages from the knowledge base and keeps the conversations.

    Usage example:
    ```python
    service = ChatService(retriever, generator, embedder, store, settings, sentiment=classifier)
    cid = service.start_conversation()
    stream = service.reply(cid, "How long do refunds take?")
    for piece in stream:
        print(piece, end="")
    stream.answer.sources[0].chunk.source  # e.g. 'demo/refunds.md'
    ```
    """

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        embedder: Embedder,
        store: Store,
        settings: Settings,
        *,
        sentiment: SentimentClassifier,
    ) -> None:
        self.retriever = retriever
        self.sentiment = sentiment
        self.embedder = embedder
        self.generator = generator
        self.store = store
        self.settings = settings
        # In this process's memory: see chatbot/ratelimit.py for what that means with several replicas.
        self._per_conversation = RateLimiter(settings.rate_limit_conversation)
        self._per_client = RateLimiter(settings.rate_limit_client)

    def warm_up(self) -> None:
        """Load the models now, so that the first customer does not wait for them."""
        self.embedder.warm_up()
        self.retriever.warm_up()
        self.sentiment.warm_up()
        if self.generates():
            self.generator.warm_up()

    def health(self) -> dict[str, str]:
        """What a load balancer's or Docker's health check reads, in words safe to show anyone: "ok" or what is
        wrong, for the database ("unreachable": nothing can be stored, the replica should get no customers) and the
        knowledge base ("missing" or "unusable": every question goes to staff until an operator ingests or
        re-indexes). The details go to the log."""
        report = {"database": "ok", "knowledge_base": "ok"}
        try:
            self.store.ping()
        except ChatbotError as err:
            logger.error("health check: %s", err)
            report["database"] = "unreachable"
        try:
            self.retriever.check()
        except IndexNotBuiltError:
            report["knowledge_base"] = "missing"
        except ChatbotError as err:
            logger.error("health check: %s", err)
            report["knowledge_base"] = "unusable"
        return report

    def generates(self) -> bool:
        """Whether the answer model writes the answers now (`answer_mode`; 'auto' follows the serving model)."""
        if self.settings.answer_mode == "auto":
            return self.generator.name != DEFAULT_GENERATOR_NAME
        return self.settings.answer_mode == "generative"

    def texts(self) -> BotTexts:
        """The wording of the bot's fixed replies and of the chat page (the operator's, over the defaults)."""
        return self.store.bot_texts()

    def example_questions(self, limit: int = 3, *, texts: BotTexts | None = None) -> list[str]:
        """The example questions the chat page offers: the operator's, else the first questions of the FAQ.
        `texts`: the wording already read for this page (None: read it)."""
        examples = (texts or self.texts()).examples()
        if examples:
            return examples
        try:
            return self.retriever.faq_questions(limit)
        except IndexNotBuiltError:  # no knowledge base yet: nothing to suggest
            return []

    def start_conversation(self) -> str:
        """A new conversation id (unguessable)."""
        return self.store.create_conversation()

    def reply(
        self,
        conversation_id: str | None,
        message: str,
        *,
        asks_for_person: bool = False,
        client: str | None = None,
    ) -> ReplyStream:
        """Answer `message` in `conversation_id` (None: in a new conversation, `ReplyStream.conversation_id`).

        The input is checked before anything is stored: a refused message (empty, too long, over a rate limit)
        raises `InputError` and leaves no trace, not even a new conversation.
        `asks_for_person`: the customer pressed the chat page's button for a person, whatever `message` says (its
        wording is the operator's, in any language), so the conversation goes to staff.
        `client`: the sender's network address, for the per-client rate limit (None: only the conversation's
        limit applies, as for the CLI). Over either limit: `RateLimitedError`.
        """
        message = checked_text(message, self.settings.max_question_chars)  # before it is stored or read
        if conversation_id is not None and not self.store.conversation_exists(conversation_id):
            raise InputError(f"no conversation with id {conversation_id!r}")
        if client is not None:
            self._per_client.hit(f"client {client}")
        if conversation_id is None:
            conversation_id = self.start_conversation()
        self._per_conversation.hit(f"conversation {conversation_id}")
        return ReplyStream(conversation_id, self._reply(conversation_id, message, asks_for_person))

    def ask(self, question: str, conversation_id: str | None = None) -> Answer:
        """Answer in one go (no streaming); starts a conversation when none is given."""
        return self.reply(conversation_id, question).result()

    def add_feedback(self, conversation_id: str, rating: int, *, answer: str = "") -> int:
        """A thumbs up (1) or down (-1) from the customer on an answer; returns the feedback id."""
        if not self.store.conversation_exists(conversation_id):
            raise InputError(f"no conversation with id {conversation_id!r}")
        # `answer` is the text the page showed, sent back by the browser: cleaned like anything a person sends.
        return self.store.add_feedback(conversation_id, rating, answer=remove_control_characters(answer)[:500])

    def add_feedback_reason(self, feedback_id: int, reason: str) -> None:
        """The customer's words on why an answer was (not) helpful, labelled with their sentiment."""
        reason = checked_text(reason, self.settings.max_question_chars, what="reason")
        (sentiment,) = self.sentiment.classify([reason])
        self.store.set_feedback_reason(feedback_id, reason, sentiment)

    def searched_history(self, turns: list[Turn]) -> list[Turn]:
        """The earlier `turns` as the search reads them: without the bot's fixed replies, which say nothing about the
        knowledge base ("Yes" to "Is there anything else I can help you with?" answers no question the search could
        use, see `answered_question`)."""
        fixed = self.texts().all_texts()
        return [t for t in turns if t.role != "assistant" or t.content not in fixed]

    def _reply(self, conversation_id: str, message: str, asks_for_person: bool) -> PyGenerator[str, None, Answer]:
        started = time.perf_counter()
        settings = self.settings
        # The query takes up to `history_turns` earlier *customer* messages; agent turns sit between them, so
        # twice as many messages are read. The prompt gets the last `history_turns` messages of either side.
        earlier_turns = self.store.history(conversation_id, 2 * settings.history_turns)
        history = earlier_turns[-settings.history_turns :] if settings.history_turns else []
        (sentiment,) = self.sentiment.classify([message])
        self.store.add_message(conversation_id, "user", message, sentiment=sentiment)
        earlier = [t.sentiment for t in history if t.role == "user" and t.sentiment is not None]
        if turned_negative([*earlier, sentiment], settings.negative_flag_score):
            self.store.flag(conversation_id, "negative_sentiment")

        status = self.store.status(conversation_id)
        if status == "staff":  # a person has taken the conversation over: the bot stays silent
            return self._finish(conversation_id, Answer("", Decision.WAITING_FOR_STAFF, confidence=0.0), started)
        if status == "needs_human":
            answer = Answer(self._text("waiting"), Decision.WAITING_FOR_STAFF, confidence=0.0)
            return self._finish(conversation_id, answer, started)
        if asks_for_person or wants_human(message):
            answer = Answer(self._text("requested_handoff"), Decision.HANDOFF_REQUESTED, confidence=0.0)
            return self._finish(conversation_id, answer, started)
        # "hi", "thanks", "bye": answered politely, also in review mode (a canned reply needs no approval); sent to the
        # answer path they would hand the conversation to staff for want of evidence.
        kind = small_talk(message)
        if kind is not None:
            return self._finish(conversation_id, Answer(self._text(kind), Decision.SMALL_TALK, 0.0), started)

        conversation = self.searched_history(earlier_turns)
        try:
            passages = self.retriever.retrieve(message, conversation, settings.retrieve_k)
        except ChatbotError as err:
            # No index yet, or one the settings cannot read: the customer is not left with an error page, and staff
            # find the conversation in their queue. The message says what the operator must do.
            logger.error("cannot search the knowledge base; the conversation goes to staff: %s", err)
            answer = Answer(self._text("handoff"), Decision.HANDOFF_FAILED, confidence=0.0)
            yield answer.text
            return self._finish(conversation_id, answer, started)
        retrieved = time.perf_counter()
        shown = passages[: settings.prompt_passages]
        # An answer of the passages' own sentences scores them one by one, each with its passage's confidence, so it
        # can read more passages than the prompt holds; whether the evidence is enough to answer stays a matter of the
        # first `prompt_passages`. Token F1 (benchmarks/RESULTS.md, thirty-eighth and forty-first sessions), 3 / 4 / 8
        # passages: doc2dial 39.17 / 39.92 / 40.22 (6, 7, 9, 10: 40.02, 40.09, 40.18, 40.12), Python FAQ 64.38 /
        # 65.20 / 65.79, doc2dial openers after another dialogue 45.23 (4) -> 46.82 (8), Bitext after another topic
        # 63.05 -> 63.70; the glossary 71.18 -> 71.12. Each passage read costs some 40 ms of embedding on 2 cores
        # when its sentences are new to the embedder's cache (`create_service`).
        quoted = passages[: settings.extract_passages]
        # "What is a coroutine?": the passage that defines the term is read, also when the search ranked it lower.
        term = asked_term(self.retriever.spelled(message))
        if term is not None:
            shown = with_definition(shown, passages, term)
            quoted = with_definition(quoted, passages, term)
        # A reply to a question asked ("Was it sent by express delivery?" - "Yes") is answered for both together.
        asked = answered_question(message, conversation)
        reading = message if asked is None else f"{asked} {message}"
        # A reply that names nothing ("No, I haven't.") goes on from the answers before it: what they said is left
        # out of this one, or the customer reads the same answer again. When they said everything the passages
        # say, the customer still wants more than the knowledge base has: a person takes over.
        said = ""
        if names_nothing(message):
            said = "\n".join(t.content for t in earlier_turns if t.role in ("assistant", "staff"))
        nothing_new = bool(said) and all(said_in(c.text, said) for c in candidate_sentences(quoted) if not c.heading)
        confidence = max((p.confidence for p in shown), default=0.0)
        latency = {"retrieval": (retrieved - started) * 1000}
        unsure = confidence < handoff_threshold(settings, self.retriever.offtopic_ceiling())
        if unsure and term is not None:
            # "What is GIL?": a glossary's passage defines many terms, so it is hardly like a question that names only
            # one (cosine 0.29 for the Python glossary's, handed over below 0.42). Its line that defines the term
            # asked about ("GIL: See global interpreter lock.") is evidence enough.
            unsure = not any(passage_defines(passage, term) for passage in shown)
        if unsure or nothing_new:
            # Staff get the passages' best sentences as a suggestion to start from.
            suggestion = Answer(self._extract(reading, quoted, said), Decision.EXTRACTED, confidence, sources=quoted)
            self.store.add_draft(conversation_id, suggestion)
            text, decision = (
                ("handoff", Decision.HANDOFF_LOW_CONFIDENCE)
                if unsure
                else ("nothing_new_handoff", Decision.HANDOFF_NOTHING_NEW)
            )
            answer = Answer(self._text(text), decision, confidence, sources=shown)
            answer.latency_ms = latency
            return self._finish(conversation_id, answer, started)

        top = passages[0]
        review = settings.review_mode == "review"
        if top.chunk.kind == "faq" and top.confidence >= settings.faq_confidence:
            answer = Answer(cite(self._curated(message, top), 1), Decision.FAQ, top.confidence, sources=[top])
        elif self.generates():
            generation = self._generate(message, shown, history, confidence, latency, started)
            answer = _drain(generation) if review else (yield from generation)
        else:
            answer = Answer(self._extract(reading, quoted, said), Decision.EXTRACTED, confidence, sources=quoted)
        if review:  # the answer is a draft for staff; the customer is told a person will reply
            latency.pop("first_token", None)
            self.store.add_draft(conversation_id, answer)
            answer = Answer(self._text("review_hold"), Decision.HELD_FOR_REVIEW, confidence, sources=answer.sources)
        if answer.decision is not Decision.GENERATED or review:
            latency.setdefault("first_token", (time.perf_counter() - started) * 1000)
            yield answer.text
        answer.latency_ms = latency
        return self._finish(conversation_id, answer, started)

    def _generate(
        self,
        message: str,
        passages: list[Passage],
        history: list[Turn],
        confidence: float,
        latency: dict[str, float],
        started: float,
    ) -> PyGenerator[str, None, Answer]:
        """Stream the model's answer; with `verify_answers`, only sentences that a passage supports.

        Verified output streams sentence by sentence. The first unsupported sentence stops the model (it
        has left the passages); when nothing supported was said, the answer is extracted instead. So does a
        model that has said nothing supported within `first_text_budget_ms` of the message: the customer gets
        the passages' own sentences instead of a longer wait (a fast model answers well inside the budget).
        """
        messages = build_messages(message, passages, history)
        budget = self.settings.first_text_budget_ms if self.settings.verify_answers else 0.0
        # The generator drops the request when its first piece would come after the budget (a queue, a long
        # prefill of many prompts at once): the row is freed and the passages answer.
        first_piece_by = time.monotonic() + budget / 1000 - (time.perf_counter() - started) if budget else None
        stream = self.generator.stream(
            messages, max_new_tokens=self.settings.max_new_tokens, first_piece_by=first_piece_by
        )
        if not self.settings.verify_answers:
            pieces = []
            try:
                for piece in stream:
                    latency.setdefault("first_token", (time.perf_counter() - started) * 1000)
                    pieces.append(piece)
                    yield piece
            except ModelLoadError as err:  # the passages still answer; the customer's view is replaced by it
                logger.error("the answer model failed; answering from the passages: %s", err)
                return self._fallback(message, passages, [], confidence)
            text, _ = clean_citations("".join(pieces), len(passages))
            if is_degenerate(text) or is_off_language(text, message):
                logger.warning("unusable model output: %r", text[:200])
                return Answer(self._text("handoff"), Decision.HANDOFF_BAD_OUTPUT, confidence, sources=passages)
            return Answer(text, Decision.GENERATED, confidence, sources=passages, model_version=self.generator.name)

        said: list[str] = []
        pending = ""
        try:
            for item in _until_late(stream):
                if item is None or (budget and not said and (time.perf_counter() - started) * 1000 > budget):
                    logger.info("no supported sentence within %.0f ms; answering from the passages", budget)
                    latency["first_text_budget_hit"] = budget
                    return self._fallback(message, passages, said, confidence)
                # The model's own first token; "first_token" is when the customer sees the first (checked) text.
                latency.setdefault("model_first_token", (time.perf_counter() - started) * 1000)
                # Only complete sentences and code blocks are checked.
                complete, pending = streamed_units(pending + item)
                for sentence in complete:
                    checked = self._check_sentence(sentence, passages, message)
                    if checked is None:
                        return self._fallback(message, passages, said, confidence)
                    if checked:
                        latency.setdefault("first_token", (time.perf_counter() - started) * 1000)
                        said.append(_joined(said, sentence, checked))
                        yield said[-1]
            checked = self._check_sentence(pending, passages, message) if pending.strip() else ""
            if checked:
                latency.setdefault("first_token", (time.perf_counter() - started) * 1000)
                said.append(_joined(said, pending, checked))
                yield said[-1]
        except ModelLoadError as err:  # what was said and checked stands; the passages answer otherwise
            logger.error("the answer model failed; answering from the passages: %s", err)
        finally:
            stream.close()  # type: ignore[attr-defined]  # a generator: closing it stops the model early
        return self._fallback(message, passages, said, confidence)

    def _check_sentence(self, sentence: str, passages: list[Passage], question: str) -> str | None:
        """The sentence with its citation when a passage supports it, "" when it says nothing new, else None.

        Saying nothing new: no content words, only words of the question (an echo), or a question back. A code
        block (with the sentence that introduces it) is supported by a passage that holds its code as written.
        """
        parts = text_and_code(sentence.strip())
        if any(is_code for _, is_code in parts):
            return self._check_code(parts, passages, question)
        # A list item's marker ("1.") is no claim; the item is checked, and said, as a sentence.
        sentence, _ = clean_citations(without_list_marker(sentence.strip()), len(passages))
        if is_off_language(sentence, question):
            logger.info("generated sentence in another script dropped: %r", sentence[:200])
            return None
        words = content_terms(sentence)[0]
        if not words or words <= content_terms(question)[0] or sentence.endswith("?"):
            return ""
        support = supporting_passage(sentence, passages)
        if support is None:
            logger.info("unsupported generated sentence dropped: %r", sentence[:200])
            return None
        return cite(sentence, support + 1)

    def _check_code(self, parts: list[tuple[str, bool]], passages: list[Passage], question: str) -> str | None:
        """`_check_sentence` for a unit with code: its code must be quoted from a passage and its prose (the
        introduction) must say nothing that no passage supports."""
        quoted = quoting_passage([part for part, is_code in parts if is_code], passages)
        if quoted is None:
            logger.info("generated code that no passage holds dropped: %r", "\n".join(p for p, _ in parts)[:200])
            return None
        prose = [(self._check_sentence(part, passages, question), part) for part, is_code in parts if not is_code]
        if any(checked is None for checked, _ in prose):
            return None
        # The citation names the passage of the code; the introduction keeps its own words, without citations.
        text = "\n".join(clean_citations(part, 0)[0] if not is_code else part for part, is_code in parts)
        return cite(text, quoted + 1)

    def _fallback(self, message: str, passages: list[Passage], said: list[str], confidence: float) -> Answer:
        if said and not is_degenerate("".join(said)):
            text = "".join(said)
            return Answer(text, Decision.GENERATED, confidence, sources=passages, model_version=self.generator.name)
        return Answer(self._extract(message, passages), Decision.EXTRACTED, confidence, sources=passages)

    def _curated(self, message: str, entry: Passage) -> str:
        """The FAQ entry's answer; its leading "Yes"/"No" only when `message` asks the entry's own question (closer
        than `faq_same_question`): "do you ship to Norway?" matches "Do you ship outside Europe?" -> "No. We ship to
        the EU, ... and Norway only." well enough for the rest of the answer, not for its "No"."""
        answer = passage_body(entry)
        if without_yes_no(answer) == answer:
            return answer
        question, entry_question = self.embedder.embed([self.retriever.spelled(message), entry.chunk.title])
        return (
            answer if float(question @ entry_question) >= self.settings.faq_same_question else without_yes_no(answer)
        )

    def _extract(self, message: str, passages: list[Passage], said: str = "") -> str:
        """The passages' own sentences that answer `message` best, leaving out those of `said` (an earlier answer)
        while others are left."""
        # The sentences are chosen for the question as the search read it: typos corrected ("delivry" -> "delivery").
        # Token F1 on doc2dial with a typo in each question (benchmarks/RESULTS.md, thirty-first session): 33.98
        # uncorrected, 36.43 corrected for the search only, 37.43 for the search and here (37.78 without typos).
        message = self.retriever.spelled(message)
        candidates = candidate_sentences(passages)
        if said:
            candidates = [c for c in candidates if not said_in(c.text, said)] or candidates
        if not candidates:
            return self._text("handoff")
        # A list's items say little alone ("Gift cards."): its heading and introduction say what it is a list of.
        # The sentence that introduces the list (else each item) counts as much like the question as the whole
        # list does, when that is more; `extractive_answer` brings the rest of the list.
        runs = list_runs(candidates)
        chunks = [passages[candidates[run[0]].passage].chunk for run in runs]
        units = [
            f"{chunk.section}: " + " ".join(candidates[k].text for k in run)
            for chunk, run in zip(chunks, runs, strict=True)
        ]
        # A sentence counts as like the question as the mean of its cosine read alone and read under its section's
        # name ("Refunds > How long refunds take: Allow 5 to 10 business days."). Alone, a sentence often hardly says
        # what it is about; under the name alone, the sentences of a page with a long title blur into each other.
        # Token F1 (benchmarks/RESULTS.md, thirteenth session): Bitext 61.26 alone, 66.18 named, 62.95 the mean;
        # doc2dial 32.43, 30.26, 32.62.
        sentences = [c.text for c in candidates]
        named = [f"{passages[c.passage].chunk.section}: {c.text}" for c in candidates]
        vectors = self.embedder.embed([message, *sentences])
        question = vectors[0]
        # Each kind in a batch of its own, and the lists' below: in one batch every text is padded to the longest
        # (lists alone: 0.15 s -> 0.39 s).
        similarities = (vectors[1:] @ question + self.embedder.embed(named) @ question) / 2
        unit_similarities = self.embedder.embed(units) @ question if units else []
        for run, unit in zip(runs, unit_similarities, strict=True):
            lead = run[:1] if not candidates[run[0]].marker else run
            similarities[lead] = np.maximum(similarities[lead], unit)
        text = extractive_answer(
            candidates,
            similarities,
            [p.confidence for p in passages],
            wants_quantity=expects_quantity(message),
            coverages=question_coverage(message, named),
            term=asked_term(message),
            whole=[p.whole for p in passages],
        )
        # A list or code block with nothing before it says what it is under its heading ("Items that cannot be
        # returned:", "Configuration:").
        parts = text_and_code(text)
        if not (list_marker(text) or parts[0][1]):
            return text
        # An extractive answer cites the one passage it quotes (passage sentences carry no bracketed numbers; code
        # may: "argv[1]").
        cited = cited_in(text, len(passages))[0]
        heading = passages[cited - 1].chunk.heading.rsplit(" > ", 1)[-1]
        return f"{heading.rstrip(':')}:\n{text}" if heading else text  # "Directories:" is a heading too

    def _text(self, key: str) -> str:
        # Read when needed (a fixed reply is rare), so an operator's rewording applies to the next message.
        return self.store.bot_texts()[key]

    def _finish(self, conversation_id: str, answer: Answer, started: float) -> Answer:
        answer.latency_ms["total"] = (time.perf_counter() - started) * 1000
        answer.conversation_id = conversation_id
        if answer.handed_off and answer.decision is not Decision.WAITING_FOR_STAFF:
            self.store.mark_needs_human(conversation_id, answer.decision.value)
        if answer.text:  # nothing is said (or stored) while a person has the conversation
            answer.message_id = self.store.add_message(conversation_id, "assistant", answer.text, answer)
        return answer


def _joined(said: list[str], sentence: str, checked: str) -> str:
    """A checked sentence as it continues what was said: a list item the model wrote ("2. Open Orders") on a
    line of its own with its marker, so that the customer sees the list; any other sentence after a space."""
    marker = list_marker(sentence.strip())
    if marker:
        return ("\n" if said else "") + f"{marker} {checked}"
    # Code needs lines of its own, and so does what comes after it.
    if said and (_has_code(checked) or _has_code(said[-1])):
        return "\n" + checked
    return (" " if said else "") + checked


def _has_code(text: str) -> bool:
    return any(is_code for _, is_code in text_and_code(text))


def _until_late(stream: Iterator[str]) -> Iterator[str | None]:
    """The stream's pieces, then None instead of a `FirstPieceLate` error."""
    try:
        yield from stream
    except FirstPieceLate:
        yield None


def _drain(generator: PyGenerator[str, None, Answer]) -> Answer:
    """Run a streaming answer to its end without showing it (review mode) and return the answer."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def create_service(settings: Settings) -> ChatService:
    """The production assistant for `settings`: hybrid retrieval, in-process generator (the promoted answer model,
    followed as it changes), SQL store."""
    from chatbot.generation import ReloadingGenerator, make_generator
    from chatbot.registry import ModelRegistry
    from chatbot.retrieval import HybridRetriever, IndexHandle
    from chatbot.sentiment import serving_classifier
    from chatbot.storage import SqlStore
    from knowledge_base.embedder import CachedEmbedder, SentenceTransformerEmbedder

    # Each message embeds the sentences of the passages it reads: those of popular passages and of the passages a
    # conversation's follow-ups read again come from memory. doc2dial, 200 dev questions, 8 passages read: median
    # answer 1,321 ms without it, 313 ms with it (603 ms reading 4 passages without it); the demo's 12 distinct
    # questions 332-348 ms -> 276-284 ms (benchmarks/RESULTS.md, forty-first session).
    embedder = CachedEmbedder(SentenceTransformerEmbedder(settings.embedder_model, device=settings.device))
    retriever = HybridRetriever(IndexHandle(settings.index_dir), embedder, history_turns=settings.history_turns)
    store = SqlStore(settings.database_url)
    registry = ModelRegistry(store)
    # The promoted answer model serves; a later `chatbot models promote/rollback` takes effect within seconds.
    generator = ReloadingGenerator(
        lambda: registry.resolve("answers", settings.generator_model),
        lambda ref: make_generator(
            settings.generator_backend,
            ref,
            models_dir=settings.models_dir,
            device=settings.device,
            url=settings.generator_url,
            prompt_lookup=settings.prompt_lookup_tokens,
            repetition_penalty=settings.repetition_penalty,
        ),
    )
    sentiment = serving_classifier(settings, registry)
    return ChatService(retriever, generator, embedder, store, settings, sentiment=sentiment)
