"""Conversations and messages in a SQL database (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import create_engine, delete, event, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from chatbot.bot_texts import BotTexts, check_key, check_text
from chatbot.errors import StoreError
from chatbot.schema import (
    MIGRATIONS,
    Base,
    BotTextRow,
    ConversationRow,
    DraftRow,
    FeedbackRow,
    KbDocumentRow,
    MessageRow,
    MigrationRow,
    UserRow,
    WebSessionRow,
    now,
)
from chatbot.types import BOT_REPLIES, Answer, Decision, DocumentRecord, Role, Sentiment, Turn

logger = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x63686174626F74  # "chatbot": the PostgreSQL advisory lock that migrations hold


@dataclass(frozen=True)
class StoredMessage:
    """A message as read back from the store."""

    id: int
    conversation_id: str
    role: Role
    text: str
    created_at: datetime  # aware, UTC (on SQLite too)
    decision: str
    confidence: float | None
    sources: list[dict[str, Any]]
    model_version: str
    latency_ms: dict[str, float]
    sentiment: Sentiment | None = None


@dataclass(frozen=True)
class Draft:
    """A reply the bot suggests for staff to approve, edit or reject."""

    id: int
    conversation_id: str
    text: str
    sources: list[dict[str, Any]]
    confidence: float
    decision: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class QueueEntry:
    """A conversation that needs (or has) a person, as the review queue shows it."""

    conversation_id: str
    status: str
    reason: str
    assigned_to: str
    waiting_since: datetime
    last_customer_message: str
    sentiment: Sentiment | None
    has_draft: bool


# Most urgent first: a customer who asked for a person, then an unhappy one, then the bot's own doubts.
URGENCY = [
    "handoff_requested",
    "negative_sentiment",
    "handoff_failed",
    "handoff_bad_output",
    "handoff_nothing_new",
    "handoff_low_confidence",
    "held_for_review",
]


class Store(Protocol):
    """Where conversations live; the assistant service only talks to this."""

    def ping(self) -> None:
        """Raise `StoreError` when the database cannot be reached now."""
        ...

    def create_conversation(self) -> str:
        """Start a conversation and return its unguessable id."""
        ...

    def conversation_exists(self, conversation_id: str) -> bool:
        """True when the conversation exists."""
        ...

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        answer: Answer | None = None,
        sentiment: Sentiment | None = None,
    ) -> int:
        """Append a message (with the answer's trace for the assistant, the sentiment for a customer's)."""
        ...

    def messages(self, conversation_id: str, *, after_id: int = 0) -> list[StoredMessage]:
        """All messages (or those after message `after_id`), oldest first."""
        ...

    def history(self, conversation_id: str, limit: int) -> list[Turn]:
        """The last `limit` messages as turns, oldest first."""
        ...

    def mark_needs_human(self, conversation_id: str, reason: str) -> None:
        """Put the conversation in the staff queue."""
        ...

    def status(self, conversation_id: str) -> str:
        """`"bot"` or `"needs_human"`."""
        ...

    def flag(self, conversation_id: str, reason: str) -> None:
        """Ask staff to look at a conversation while the bot goes on answering."""
        ...

    def add_draft(self, conversation_id: str, answer: Answer) -> int:
        """Keep a suggested reply for staff to approve, edit or reject."""
        ...

    def add_feedback(self, conversation_id: str, rating: int, *, answer: str = "") -> int:
        """Store a thumbs up (1) or down (-1) on an answer."""
        ...

    def set_feedback_reason(self, feedback_id: int, reason: str, sentiment: Sentiment | None) -> None:
        """Add the reason (and its sentiment) to a rating."""
        ...

    def bot_texts(self) -> BotTexts:
        """The wording of the bot's fixed replies and of the chat page now in force."""
        ...


class SqlStore:
    """The SQLAlchemy implementation of `Store`.

    Usage example:
    ```python
    store = SqlStore("sqlite:////tmp/chatbot.db")
    cid = store.create_conversation()
    store.add_message(cid, "user", "Where is my parcel?")
    [m.text for m in store.messages(cid)]
    ```
    """

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url)
        except (SQLAlchemyError, ValueError) as err:
            raise StoreError(f"cannot open database {url!r}: {err}") from err
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    def ping(self) -> None:
        """Raise `StoreError` when the database cannot be reached now (one round trip)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sql_text("SELECT 1"))
        except SQLAlchemyError as err:
            raise StoreError(f"the database cannot be reached: {err}") from err

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; return their names.

        Processes that open a new database together (the ranks of a multi-process training run, web replicas
        starting at once) take turns: a file lock beside a SQLite file, a transaction-level advisory lock on
        PostgreSQL. Whoever comes second finds the work done.
        """
        applied: list[str] = []
        with self._migration_lock(), self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            Base.metadata.create_all(conn, tables=[Base.metadata.tables["_migrations"]])
            done = set(conn.scalars(select(MigrationRow.name)))
            for name, migration in MIGRATIONS:
                if name not in done:
                    migration(conn)
                    conn.execute(insert(MigrationRow).values(name=name, applied_at=now()))
                    applied.append(name)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
        return applied

    def _migration_lock(self) -> AbstractContextManager[object]:
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            from filelock import FileLock

            return FileLock(f"{database}.migrate.lock", timeout=120)
        return nullcontext()

    def create_conversation(self) -> str:
        """Start a conversation; its id is unguessable (it is the customer's only key to it).

        Never with a leading "-" (1 id in 64 had one): `chatbot conversations delete -U96...` read it as an option.
        """
        conversation_id = secrets.token_urlsafe(18)  # 144 random bits, 24 characters
        while conversation_id.startswith("-"):  # drawn again rather than cut: cut ids were shorter
            conversation_id = secrets.token_urlsafe(18)
        with Session(self.engine) as session, session.begin():
            session.add(ConversationRow(id=conversation_id))
        return conversation_id

    def conversation_exists(self, conversation_id: str) -> bool:
        """True when a conversation with this id exists."""
        with Session(self.engine) as session:
            return session.get(ConversationRow, conversation_id) is not None

    def add_message(
        self,
        conversation_id: str,
        role: Role,
        text: str,
        answer: Answer | None = None,
        sentiment: Sentiment | None = None,
    ) -> int:
        """Append a message; an assistant message stores the answer's sources, scores and latencies."""
        row = MessageRow(conversation_id=conversation_id, role=role, text=text)
        if sentiment is not None:
            row.sentiment_label, row.sentiment_score = sentiment.label, sentiment.score
        if answer is not None:
            row.decision = answer.decision.value
            row.confidence = answer.confidence
            row.model_version = answer.model_version
            row.latency_ms = dict(answer.latency_ms)
            row.sources = _sources(answer)
        with Session(self.engine) as session, session.begin():
            conversation = _conversation(session, conversation_id)
            conversation.updated_at = now()
            session.add(row)
            session.flush()
            return row.id

    def messages(self, conversation_id: str, *, after_id: int = 0) -> list[StoredMessage]:
        """All messages of a conversation (or only those after message `after_id`), oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id, MessageRow.id > after_id)
                .order_by(MessageRow.id)
            )
            return [
                StoredMessage(
                    id=r.id,
                    conversation_id=r.conversation_id,
                    role=r.role,  # type: ignore[arg-type]  # only Role values are written
                    text=r.text,
                    created_at=_aware(r.created_at),
                    decision=r.decision,
                    confidence=r.confidence,
                    sources=list(r.sources or []),
                    model_version=r.model_version,
                    latency_ms=dict(r.latency_ms or {}),
                    sentiment=_sentiment(r.sentiment_label, r.sentiment_score),
                )
                for r in rows
            ]

    def history(self, conversation_id: str, limit: int) -> list[Turn]:
        """The last `limit` messages as turns, oldest first (read on every customer message: only those rows)."""
        if limit <= 0:
            return []
        with Session(self.engine) as session:
            rows = session.execute(
                select(MessageRow.role, MessageRow.text, MessageRow.sentiment_label, MessageRow.sentiment_score)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.id.desc())
                .limit(limit)
            ).all()
        # Only Role values are written to `role`.
        return [Turn(cast(Role, role), text, _sentiment(label, score)) for role, text, label, score in reversed(rows)]

    def mark_needs_human(self, conversation_id: str, reason: str) -> None:
        """Put a conversation in the staff queue with the reason."""
        with Session(self.engine) as session, session.begin():
            conversation = _conversation(session, conversation_id)
            conversation.status, conversation.handoff_reason = "needs_human", reason

    def status(self, conversation_id: str) -> str:
        """`"bot"` or `"needs_human"`."""
        with Session(self.engine) as session:
            return _conversation(session, conversation_id).status

    def flag(self, conversation_id: str, reason: str) -> None:
        """Ask staff to look at a conversation (the bot goes on answering); keeps the first reason given."""
        with Session(self.engine) as session, session.begin():
            conversation = _conversation(session, conversation_id)
            conversation.flag_reason = conversation.flag_reason or reason

    def flag_reason(self, conversation_id: str) -> str:
        """Why staff should look at a conversation ("" when nothing is flagged)."""
        with Session(self.engine) as session:
            return _conversation(session, conversation_id).flag_reason

    def staff_replies(self, *, since: str | None = None) -> list[tuple[str, list[Turn]]]:
        """Conversations (id, all turns oldest first) with a staff reply, at or after `since` (ISO time) if given."""
        query = select(MessageRow.conversation_id).where(MessageRow.role == "staff").distinct()
        if since is not None:
            try:
                moment = datetime.fromisoformat(since)
            except ValueError as err:
                raise StoreError(f"since must be an ISO date or time, got {since!r}") from err
            query = query.where(MessageRow.created_at >= moment)
        with Session(self.engine) as session:
            ids = sorted(session.scalars(query))
        return [(cid, [Turn(m.role, m.text, m.sentiment) for m in self.messages(cid)]) for cid in ids]

    def sync_documents(self, documents: list[DocumentRecord]) -> None:
        """Make the documents table equal to `documents` (the index is the truth; this mirrors it in one
        transaction). A document whose hash is unchanged keeps its `updated_at`."""
        wanted = {d.source: d for d in documents}
        with Session(self.engine) as session, session.begin():
            for row in session.scalars(select(KbDocumentRow)):
                if row.source not in wanted:
                    session.delete(row)
                elif row.content_hash != wanted[row.source].content_hash or row.chunks != wanted[row.source].chunks:
                    doc = wanted.pop(row.source)
                    row.title, row.kind, row.content_hash, row.chunks = (
                        doc.title,
                        doc.kind,
                        doc.content_hash,
                        doc.chunks,
                    )
                    row.updated_at = now()
                else:
                    wanted.pop(row.source)
            for doc in wanted.values():
                session.add(KbDocumentRow(source=doc.source, title=doc.title, kind=doc.kind,
                                          content_hash=doc.content_hash, chunks=doc.chunks))  # fmt: skip

    def documents(self) -> list[tuple[DocumentRecord, datetime]]:
        """The knowledge-base documents with when each last changed, by source."""
        with Session(self.engine) as session:
            rows = session.scalars(select(KbDocumentRow).order_by(KbDocumentRow.source))
            return [(DocumentRecord(r.source, r.title, r.kind, r.content_hash, r.chunks), r.updated_at) for r in rows]

    def set_status(self, conversation_id: str, status: str, *, reason: str = "", assigned_to: str = "") -> None:
        """Set who handles a conversation: "bot", "needs_human" (waiting, with `reason`) or "staff" (taken over
        by `assigned_to`; the bot stays silent)."""
        if status not in ("bot", "needs_human", "staff"):
            raise StoreError(f"unknown conversation status {status!r}")
        with Session(self.engine) as session, session.begin():
            conversation = _conversation(session, conversation_id)
            conversation.status, conversation.handoff_reason = status, reason
            conversation.assigned_to = assigned_to
            if status == "bot":
                conversation.flag_reason = ""

    def handling(self, conversation_id: str) -> tuple[str, str] | None:
        """(status, the staff member who took the conversation over or "") in one read; None when there is no
        such conversation."""
        with Session(self.engine) as session:
            row = session.get(ConversationRow, conversation_id)
            return None if row is None else (row.status, row.assigned_to)

    def add_draft(self, conversation_id: str, answer: Answer) -> int:
        """Store the bot's suggested reply for staff (pending); earlier pending drafts are superseded."""
        with Session(self.engine) as session, session.begin():
            _conversation(session, conversation_id)
            for old in session.scalars(
                select(DraftRow).where(DraftRow.conversation_id == conversation_id, DraftRow.status == "pending")
            ):
                old.status = "superseded"
            row = DraftRow(
                conversation_id=conversation_id,
                text=answer.text,
                sources=_sources(answer),
                confidence=answer.confidence,
                decision=answer.decision.value,
            )
            session.add(row)
            session.flush()
            return row.id

    def pending_draft(self, conversation_id: str) -> Draft | None:
        """The newest draft nobody decided on yet."""
        with Session(self.engine) as session:
            row = session.scalars(
                select(DraftRow)
                .where(DraftRow.conversation_id == conversation_id, DraftRow.status == "pending")
                .order_by(DraftRow.id.desc())
            ).first()
            return _draft(row) if row else None

    def decide_draft(self, draft_id: int, status: str, *, final_text: str, user: str) -> None:
        """Record a staff decision on a draft: what was sent (if anything), by whom, when."""
        if status not in ("approved", "edited", "rejected", "written"):
            raise StoreError(f"unknown draft decision {status!r}")
        with Session(self.engine) as session, session.begin():
            row = session.get(DraftRow, draft_id)
            if row is None:
                raise StoreError(f"no draft with id {draft_id}")
            row.status, row.final_text, row.decided_by, row.decided_at = status, final_text, user, now()

    def record_staff_reply(self, conversation_id: str, text: str, *, user: str) -> int:
        """A reply written by staff with no draft behind it: kept as a "written" decision for training."""
        with Session(self.engine) as session, session.begin():
            _conversation(session, conversation_id)
            row = DraftRow(
                conversation_id=conversation_id, text="", status="written", final_text=text, decided_by=user,
                decided_at=now(),
            )  # fmt: skip
            session.add(row)
            session.flush()
            return row.id

    def drafts(self, conversation_id: str | None = None) -> list[Draft]:
        """Drafts (with their decisions), oldest first; of one conversation when given."""
        query = select(DraftRow).order_by(DraftRow.id)
        if conversation_id is not None:
            query = query.where(DraftRow.conversation_id == conversation_id)
        with Session(self.engine) as session:
            return [_draft(r) for r in session.scalars(query)]

    def add_feedback(
        self,
        conversation_id: str,
        rating: int,
        *,
        message_id: int | None = None,
        answer: str = "",
        reason: str = "",
        sentiment: Sentiment | None = None,
    ) -> int:
        """A customer's thumbs up (+1) or down (-1) on an answer, with an optional reason and its sentiment."""
        if rating not in (1, -1):
            raise StoreError(f"rating must be 1 or -1, got {rating!r}")
        with Session(self.engine) as session, session.begin():
            _conversation(session, conversation_id)
            row = FeedbackRow(
                conversation_id=conversation_id, message_id=message_id, rating=rating, answer=answer, reason=reason
            )
            if sentiment is not None:
                row.sentiment_label, row.sentiment_score = sentiment.label, sentiment.score
            session.add(row)
            session.flush()
            return row.id

    def set_feedback_reason(self, feedback_id: int, reason: str, sentiment: Sentiment | None) -> None:
        """Add the customer's reason (and its sentiment) to a rating given before."""
        with Session(self.engine) as session, session.begin():
            row = session.get(FeedbackRow, feedback_id)
            if row is None:
                raise StoreError(f"no feedback with id {feedback_id}")
            row.reason = reason
            if sentiment is not None:
                row.sentiment_label, row.sentiment_score = sentiment.label, sentiment.score

    def feedback(self) -> list[tuple[int, str, str, datetime]]:
        """All feedback as (rating, reason, sentiment label, created_at), oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(FeedbackRow).order_by(FeedbackRow.id))
            return [(r.rating, r.reason, r.sentiment_label, r.created_at) for r in rows]

    def queue(self) -> list[QueueEntry]:
        """Conversations a person should look at, most urgent first, then longest waiting first."""
        with Session(self.engine) as session:
            rows = list(
                session.scalars(
                    select(ConversationRow).where(
                        (ConversationRow.status != "bot") | (ConversationRow.flag_reason != "")
                    )
                )
            )
            pending = set(
                session.scalars(select(DraftRow.conversation_id).where(DraftRow.status == "pending").distinct())
            )
            entries = []
            for row in rows:
                last_user = session.scalars(
                    select(MessageRow)
                    .where(MessageRow.conversation_id == row.id, MessageRow.role == "user")
                    .order_by(MessageRow.id.desc())
                ).first()
                reason = row.handoff_reason if row.status == "needs_human" else row.flag_reason or row.status
                sentiment = (
                    Sentiment(last_user.sentiment_label, last_user.sentiment_score or 0.0)
                    if last_user is not None and last_user.sentiment_label
                    else None
                )
                entries.append(
                    QueueEntry(
                        conversation_id=row.id,
                        status=row.status,
                        reason=reason or "needs_human",
                        assigned_to=row.assigned_to,
                        waiting_since=_aware(last_user.created_at if last_user else row.created_at),
                        last_customer_message=last_user.text if last_user else "",
                        sentiment=sentiment,
                        has_draft=row.id in pending,
                    )
                )
        rank = {reason: i for i, reason in enumerate(URGENCY)}
        return sorted(
            entries,
            key=lambda e: (e.status == "staff", rank.get(e.reason, len(URGENCY)), e.waiting_since),
        )

    def bot_texts(self) -> BotTexts:
        """The wording of the bot's fixed replies and of the chat page now in force."""
        with Session(self.engine) as session:
            return BotTexts.from_stored({r.key: r.text for r in session.scalars(select(BotTextRow))})

    def set_bot_text(self, key: str, text: str, *, user: str) -> str:
        """Reword the text `key` (checked by `chatbot.bot_texts.check_text`); returns the text as stored."""
        text = check_text(key, text)
        with Session(self.engine) as session, session.begin():
            row = session.get(BotTextRow, key)
            if row is None:
                session.add(BotTextRow(key=key, text=text, updated_by=user, updated_at=now()))
            else:
                row.text, row.updated_by, row.updated_at = text, user, now()
        return text

    def reset_bot_text(self, key: str) -> bool:
        """Go back to the default wording of `key`; False when it had not been reworded."""
        check_key(key)
        with Session(self.engine) as session, session.begin():
            row = session.get(BotTextRow, key)
            if row is None:
                return False
            session.delete(row)
        return True

    def add_user(self, name: str, role: str, password_hash: str) -> None:
        """Create an account; an existing name is an error."""
        with Session(self.engine) as session, session.begin():
            if session.get(UserRow, name) is not None:
                raise StoreError(f"a user named {name!r} exists already")
            session.add(UserRow(name=name, role=role, password_hash=password_hash))

    def user(self, name: str) -> tuple[str, str] | None:
        """(role, password hash) of a user, None when there is no such user."""
        with Session(self.engine) as session:
            row = session.get(UserRow, name)
            return (row.role, row.password_hash) if row else None

    def users(self) -> list[tuple[str, str]]:
        """(name, role) of every account."""
        with Session(self.engine) as session:
            return [(r.name, r.role) for r in session.scalars(select(UserRow).order_by(UserRow.name))]

    def remove_user(self, name: str) -> None:
        """Delete an account and its sessions."""
        with Session(self.engine) as session, session.begin():
            row = session.get(UserRow, name)
            if row is None:
                raise StoreError(f"no user named {name!r}")
            for web_session in session.scalars(select(WebSessionRow).where(WebSessionRow.user_name == name)):
                session.delete(web_session)
            session.delete(row)

    def add_session(self, token_hash: str, user: str, expires_at: datetime) -> None:
        """Remember a login until `expires_at`."""
        with Session(self.engine) as session, session.begin():
            session.add(WebSessionRow(token_hash=token_hash, user_name=user, expires_at=expires_at))

    def session_user(self, token_hash: str) -> tuple[str, str] | None:
        """(name, role) of the user of an unexpired session; an expired one is deleted."""
        with Session(self.engine) as session, session.begin():
            row = session.get(WebSessionRow, token_hash)
            if row is None:
                return None
            if _aware(row.expires_at) <= now():
                session.delete(row)
                return None
            user = session.get(UserRow, row.user_name)
            return (user.name, user.role) if user else None

    def delete_session(self, token_hash: str) -> None:
        """Log a session out (nothing happens when it is gone already)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(WebSessionRow, token_hash)
            if row is not None:
                session.delete(row)

    def daily_quality(self) -> list[dict[str, Any]]:
        """Per day: answers, share handed to a person, feedback count and share positive, customer messages and
        share negative. For the operator's plots over time."""
        days: dict[str, dict[str, Any]] = {}

        def day(moment: datetime) -> dict[str, Any]:
            key = _aware(moment).date().isoformat()
            return days.setdefault(key, {"day": key, "answers": 0, "handed_off": 0, "feedback": 0, "positive": 0,
                                         "customer_messages": 0, "negative": 0})  # fmt: skip

        handoffs = {d.value for d in Decision if d not in BOT_REPLIES}
        with Session(self.engine) as session:
            for created, role, decision, label in session.execute(
                select(MessageRow.created_at, MessageRow.role, MessageRow.decision, MessageRow.sentiment_label)
            ):
                if role == "assistant":
                    day(created)["answers"] += 1
                    day(created)["handed_off"] += decision in handoffs
                elif role == "user":
                    day(created)["customer_messages"] += 1
                    day(created)["negative"] += label == "negative"
            for created, rating in session.execute(select(FeedbackRow.created_at, FeedbackRow.rating)):
                day(created)["feedback"] += 1
                day(created)["positive"] += rating > 0
        rows = []
        for stats in sorted(days.values(), key=lambda d: d["day"]):
            stats["handoff_rate"] = stats["handed_off"] / stats["answers"] if stats["answers"] else None
            stats["positive_feedback_rate"] = stats["positive"] / stats["feedback"] if stats["feedback"] else None
            stats["negative_rate"] = (
                stats["negative"] / stats["customer_messages"] if stats["customer_messages"] else None
            )
            rows.append(stats)
        return rows

    def count_conversations(self) -> int:
        """How many conversations are stored."""
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(ConversationRow)) or 0)

    def conversation_ids(
        self, *, active_since: datetime | None = None, active_before: datetime | None = None, containing: str = ""
    ) -> list[str]:
        """Ids of the conversations last active in the given period (all when none) and, with `containing`, with a
        message holding that text (case-insensitive: an e-mail address, an order number); oldest first."""
        query = select(ConversationRow.id).order_by(ConversationRow.updated_at, ConversationRow.id)
        if active_since is not None:
            query = query.where(ConversationRow.updated_at >= active_since)
        if active_before is not None:
            query = query.where(ConversationRow.updated_at < active_before)
        if containing:
            holding = select(MessageRow.conversation_id).where(
                func.lower(MessageRow.text).contains(containing.lower(), autoescape=True)  # "%" and "_" as text
            )
            query = query.where(ConversationRow.id.in_(holding))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def delete_conversations(self, conversation_ids: list[str]) -> int:
        """Delete conversations with their messages, suggested replies and feedback (a customer's request to be
        forgotten, a retention period), in one transaction; returns how many of them existed."""
        deleted = 0
        with Session(self.engine) as session, session.begin():
            for start in range(0, len(conversation_ids), 500):  # bounded IN (...) lists
                batch = conversation_ids[start : start + 500]
                deleted += len(session.scalars(select(ConversationRow.id).where(ConversationRow.id.in_(batch))).all())
                for table in (FeedbackRow, DraftRow, MessageRow):
                    session.execute(delete(table).where(table.conversation_id.in_(batch)))
                session.execute(delete(ConversationRow).where(ConversationRow.id.in_(batch)))
        return deleted

    def export_conversation(self, conversation_id: str) -> dict[str, Any]:
        """One conversation as plain data: its state, every message (sentiment, decision, confidence, sources) and
        the customer's feedback."""
        with Session(self.engine) as session:
            conversation = _conversation(session, conversation_id)
            feedback = session.scalars(
                select(FeedbackRow).where(FeedbackRow.conversation_id == conversation_id).order_by(FeedbackRow.id)
            )
            record: dict[str, Any] = {
                "id": conversation.id,
                "created_at": _aware(conversation.created_at).isoformat(),
                "last_active": _aware(conversation.updated_at).isoformat(),
                "status": conversation.status,
                "handoff_reason": conversation.handoff_reason,
                "flag_reason": conversation.flag_reason,
                "feedback": [
                    {
                        "rating": f.rating,
                        "reason": f.reason,
                        "sentiment": f.sentiment_label,
                        "created_at": _aware(f.created_at).isoformat(),
                    }
                    for f in feedback
                ],  # fmt: skip
            }
        record["messages"] = [
            {
                "role": m.role,
                "text": m.text,
                "created_at": m.created_at.isoformat(),
                "sentiment": m.sentiment.label if m.sentiment else None,
                "decision": m.decision,
                "confidence": m.confidence,
                "sources": [{k: s.get(k) for k in ("title", "source", "url")} for s in m.sources],
            }
            for m in self.messages(conversation_id)
        ]
        return record


def _sentiment(label: str | None, score: float | None) -> Sentiment | None:
    return Sentiment(label, score or 0.0) if label else None


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC. Every datetime
    # the store hands out (messages, queue entries, drafts) goes through here, so that callers compare them with
    # aware ones on SQLite and PostgreSQL alike.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _sources(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "chunk_id": p.chunk.chunk_id,
            "source": p.chunk.source,
            "title": p.chunk.title,
            "url": p.chunk.url,
            "text": p.chunk.text,
            "score": p.score,
            "confidence": p.confidence,
        }
        for p in answer.sources
    ]


def _draft(row: DraftRow) -> Draft:
    return Draft(
        id=row.id,
        conversation_id=row.conversation_id,
        text=row.text,
        sources=list(row.sources or []),
        confidence=row.confidence,
        decision=row.decision,
        status=row.status,
        created_at=_aware(row.created_at),
    )


def _conversation(session: Session, conversation_id: str) -> ConversationRow:
    conversation = session.get(ConversationRow, conversation_id)
    if conversation is None:
        raise StoreError(f"no conversation with id {conversation_id!r}")
    return conversation


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web server read while another process (the CLI, a training job) writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
