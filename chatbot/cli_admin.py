"""`chatbot users`, `chatbot texts` and `chatbot conversations`: administering one deployment (accounts, the bot's
wording, the stored conversations). Registered on the `chatbot` group in `chatbot.cli`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from chatbot.cli_common import handle_errors
from chatbot.config import Settings


@click.group()
def users() -> None:
    """Staff and operator accounts for the review and operator consoles."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["staff", "operator"]), help="What the account may do.")
@click.password_option(help="Prompted (twice) when not given; at least 8 characters.")
@click.pass_obj
@handle_errors
def users_add(settings: Settings, name: str, role: str, password: str) -> None:
    """Create an account; staff work the review queue, operators also run the knowledge base and models.

    \b
    Examples:
        chatbot users add maria --role staff
        chatbot users add omar --role operator
    """
    from chatbot.auth import Accounts
    from chatbot.storage import SqlStore

    user = Accounts(SqlStore(settings.database_url)).add_user(name, role, password)
    click.echo(f"added {user.name} ({user.role})")


@users.command("list")
@click.pass_obj
@handle_errors
def users_list(settings: Settings) -> None:
    """Show the accounts and their roles."""
    from chatbot.storage import SqlStore

    for name, role in SqlStore(settings.database_url).users() or [("(no accounts yet)", "")]:
        click.echo(f"{name:32s} {role}")


@users.command("remove")
@click.argument("name")
@click.pass_obj
@handle_errors
def users_remove(settings: Settings, name: str) -> None:
    """Delete an account and log it out everywhere."""
    from chatbot.storage import SqlStore

    SqlStore(settings.database_url).remove_user(name)
    click.echo(f"removed {name}")


@click.group()
def texts() -> None:
    """The bot's fixed replies and the chat page's wording: see them, reword them (e.g. in your language)."""


def _echo_indented(text: str) -> None:
    for line in text.split("\n") if text else ["(none)"]:
        click.echo(f"    {line}")


@texts.command("list")
@click.pass_obj
@handle_errors
def texts_list(settings: Settings) -> None:
    """Show every text: its name, whether it is reworded, what it is for, and the words in force."""
    from chatbot.bot_texts import SPECS
    from chatbot.storage import SqlStore

    current = SqlStore(settings.database_url).bot_texts()
    for key, spec in SPECS.items():
        state = "default" if current.is_default(key) else "reworded"
        click.echo(f"{key} ({state}): {spec.help}")
        _echo_indented(current[key])


@texts.command("set")
@click.argument("key")
@click.argument("text", nargs=-1, required=True)
@click.pass_obj
@handle_errors
def texts_set(settings: Settings, key: str, text: tuple[str, ...]) -> None:
    """Reword one text (`chatbot texts list` names them); the next customer message uses it.

    \b
    Examples:
        chatbot texts set handoff "Ich bin nicht sicher; eine Kollegin meldet sich gleich hier."
        chatbot texts set examples "How do I renew my licence?" "Which documents do I need?"
        chatbot texts set examples ""        # no example questions under the chat box
    """
    from chatbot.storage import SqlStore

    stored = SqlStore(settings.database_url).set_bot_text(
        key, ("\n" if key == "examples" else " ").join(text), user="cli"
    )
    click.echo(f"{key} is now:")
    _echo_indented(stored)


@texts.command("reset")
@click.argument("key")
@click.pass_obj
@handle_errors
def texts_reset(settings: Settings, key: str) -> None:
    """Go back to the default wording of one text."""
    from chatbot.storage import SqlStore

    changed = SqlStore(settings.database_url).reset_bot_text(key)
    click.echo(f"{key}: back to the default" if changed else f"{key} was not reworded; nothing to do")


@click.group()
def conversations() -> None:
    """Find, export and delete stored conversations (a customer's request to see or erase their data, a retention
    period)."""


def _day(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-01") from err


@conversations.command("find")
@click.argument("text")
@click.pass_obj
@handle_errors
def conversations_find(settings: Settings, text: str) -> None:
    """List the conversations with a message holding TEXT (an e-mail address, an order number, a name).

    \b
    Examples:
        chatbot conversations find jane.doe@example.com
    """
    from chatbot.storage import SqlStore

    store = SqlStore(settings.database_url)
    ids = store.conversation_ids(containing=text)
    for conversation_id in ids:
        record = store.export_conversation(conversation_id)
        first = next((m["text"] for m in record["messages"] if m["role"] == "user"), "")
        click.echo(f"{conversation_id}  last active {record['last_active'][:16]}  {first[:60]!r}")
    click.echo(f"{len(ids)} conversations", err=True)


@conversations.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSONL, one per line.")
@click.option("--since", help="Only conversations active on or after this day (YYYY-MM-DD).")
@click.option("--id", "ids", multiple=True, help="Only this conversation (repeatable).")
@click.pass_obj
@handle_errors
def conversations_export(settings: Settings, out: Path, since: str | None, ids: tuple[str, ...]) -> None:
    """Write conversations as JSON lines: state, messages with sentiment, decision and sources, feedback.

    \b
    Examples:
        chatbot conversations export --out all.jsonl
        chatbot conversations export --out november.jsonl --since 2026-11-01
        chatbot conversations export --out jane.jsonl --id 1cG3...   # what is kept of one customer
    """
    from chatbot.storage import SqlStore

    store = SqlStore(settings.database_url)
    chosen = list(ids) or store.conversation_ids(active_since=_day(since))
    with out.open("w", encoding="utf-8") as fh:
        for conversation_id in chosen:
            fh.write(json.dumps(store.export_conversation(conversation_id), ensure_ascii=False) + "\n")
    click.echo(f"{len(chosen)} conversations written to {out}")


@conversations.command("delete")
@click.argument("ids", nargs=-1, required=True)
@click.pass_obj
@handle_errors
def conversations_delete(settings: Settings, ids: tuple[str, ...]) -> None:
    """Delete conversations with their messages, suggested replies and feedback.

    \b
    Examples:
        chatbot conversations delete 1cG3xk...
        chatbot conversations delete -- -U96LF...   # an id from before 2026-11-23 may start with "-"
    """
    from chatbot.storage import SqlStore

    deleted = SqlStore(settings.database_url).delete_conversations(list(ids))
    click.echo(
        f"{deleted} conversations deleted" + (f"; {len(ids) - deleted} ids not found" if deleted < len(ids) else "")
    )


@conversations.command("purge")
@click.option("--older-than", "days", required=True, type=click.IntRange(1), help="Days since the last message.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for cron).")
@click.pass_obj
@handle_errors
def conversations_purge(settings: Settings, days: int, yes: bool) -> None:
    """Delete every conversation whose last message is older than the retention period.

    \b
    Examples:
        chatbot conversations purge --older-than 90            # asks first
        chatbot conversations purge --older-than 90 --yes      # from cron
    """
    from chatbot.storage import SqlStore

    store = SqlStore(settings.database_url)
    ids = store.conversation_ids(active_before=datetime.now(timezone.utc) - timedelta(days=days))
    if not ids:
        click.echo(f"no conversation is older than {days} days")
        return
    if not yes:
        click.confirm(f"delete {len(ids)} conversations last active more than {days} days ago?", abort=True)
    click.echo(f"{store.delete_conversations(ids)} conversations deleted")
