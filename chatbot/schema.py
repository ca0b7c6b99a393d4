"""The database schema: one ORM row class per table, and the named migrations that create and extend them.

`chatbot.storage` reads and writes through these rows; a database made by an older version is brought up to
date by `SqlStore.migrate()`, which applies the migrations it has not recorded yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, inspect
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.schema import ScalarElementColumnDefault


def now() -> datetime:
    """The current time, timezone-aware (UTC): what every timestamp column stores."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # "bot": the assistant answers; "needs_human": waiting for staff (see handoff_reason).
    status: Mapped[str] = mapped_column(String(32), default="bot")
    handoff_reason: Mapped[str] = mapped_column(String(64), default="")
    # Why staff should look although the bot may go on answering (e.g. "negative_sentiment"); "" when none.
    flag_reason: Mapped[str] = mapped_column(String(64), default="")
    # The staff member who took the conversation over (status "staff"); "" otherwise.
    assigned_to: Mapped[str] = mapped_column(String(64), default="")


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(64), default="")
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(200), default="")
    latency_ms: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    sentiment_label: Mapped[str] = mapped_column(String(16), default="")
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # "sentiment" or "answers"
    path: Mapped[str] = mapped_column(Text)
    base: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # "candidate" until promoted; "serving" for the one in use; "retired" after another was promoted;
    # "rolled_back" when a rollback took it out of service.
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KbDocumentRow(Base):
    __tablename__ = "kb_documents"

    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="article")
    content_hash: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class UserRow(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # "staff" or "operator"
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class WebSessionRow(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's token
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DraftRow(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    text: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    decision: Mapped[str] = mapped_column(String(64), default="")
    # "pending" until a person decides: "approved", "edited", "rejected"; "written" when staff wrote their own.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    final_text: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    rating: Mapped[int] = mapped_column(Integer)  # +1 helpful, -1 not helpful
    answer: Mapped[str] = mapped_column(Text, default="")  # the start of the answer the rating is about
    reason: Mapped[str] = mapped_column(Text, default="")
    sentiment_label: Mapped[str] = mapped_column(String(16), default="")
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class BotTextRow(Base):
    __tablename__ = "bot_texts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # a key of chatbot.bot_texts.SPECS
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class MigrationRow(Base):
    __tablename__ = "_migrations"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


# Named migrations, applied in order and recorded in `_migrations`. Never edit one that has shipped: add the next.
def m001_conversations_messages(conn: Connection) -> None:
    """Conversations and their messages."""
    Base.metadata.create_all(conn, tables=[Base.metadata.tables["conversations"], Base.metadata.tables["messages"]])


def m002_model_versions(conn: Connection) -> None:
    """Registered fine-tuned models and which one serves."""
    Base.metadata.create_all(conn, tables=[Base.metadata.tables["model_versions"]])


def m003_sentiment_and_flags(conn: Connection) -> None:
    """Sentiment of each message and a staff flag per conversation, for databases made before they existed."""
    add_missing_columns(conn, "messages")
    add_missing_columns(conn, "conversations")


def m004_kb_documents(conn: Connection) -> None:
    """The knowledge-base documents, mirrored from the index manifest after every ingest and removal."""
    Base.metadata.create_all(conn, tables=[Base.metadata.tables["kb_documents"]])


def m005_staff(conn: Connection) -> None:
    """Staff and operator accounts, login sessions, suggested replies with staff decisions, customer feedback."""
    tables = ("users", "web_sessions", "drafts", "feedback")
    Base.metadata.create_all(conn, tables=[Base.metadata.tables[t] for t in tables])
    add_missing_columns(conn, "conversations")


def m006_bot_texts(conn: Connection) -> None:
    """The operator's own wording of the bot's fixed replies and of the chat page."""
    Base.metadata.create_all(conn, tables=[Base.metadata.tables["bot_texts"]])


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_conversations_messages", m001_conversations_messages),
    ("m002_model_versions", m002_model_versions),
    ("m003_sentiment_and_flags", m003_sentiment_and_flags),
    ("m004_kb_documents", m004_kb_documents),
    ("m005_staff", m005_staff),
    ("m006_bot_texts", m006_bot_texts),
]


def add_missing_columns(conn: Connection, table_name: str) -> list[str]:
    """Add the columns the model declares but the table lacks (nullable, so existing rows stay valid).

    m001 creates tables as the models are today, so a migration that adds columns must not fail where they
    exist already: this is how it stays correct on old and new databases alike.
    """
    table = Base.metadata.tables[table_name]
    present = {c["name"] for c in inspect(conn).get_columns(table_name)}
    added = []
    for column in table.columns:
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            default = column.default.arg if isinstance(column.default, ScalarElementColumnDefault) else None
            clause = (
                ""
                if default is None
                else f" DEFAULT {default!r}"
                if isinstance(default, str)
                else f" DEFAULT {default}"
            )
            conn.execute(sql_text(f'ALTER TABLE {table_name} ADD COLUMN "{column.name}" {kind}{clause}'))
            added.append(column.name)
    return added
