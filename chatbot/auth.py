"""Staff and operator accounts: argon2-hashed passwords, login sessions that expire, roles.

Operators can do everything staff can (the review queue) plus run the knowledge base and the models.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chatbot.errors import InputError
from chatbot.storage import SqlStore

ROLES = ("staff", "operator")
MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    """Someone logged in."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this user may do what `role` may do (an operator may do what staff may)."""
        return self.role == role or self.role == "operator"


def _token_hash(token: str) -> str:
    # Only the hash is stored: a leaked database does not hand out live sessions.
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users, passwords and sessions of one deployment.

    Usage example:
    ```python
    accounts = Accounts(SqlStore(settings.database_url))
    accounts.add_user("maria", "staff", "a long passphrase")
    token = accounts.login("maria", "a long passphrase")  # None when wrong
    accounts.user_for(token)  # User(name="maria", role="staff") until it expires
    ```
    """

    def __init__(self, store: SqlStore, *, session_hours: float = 12.0) -> None:
        if session_hours <= 0:
            raise InputError(f"session_hours must be positive, got {session_hours}")
        from argon2 import PasswordHasher

        self.store = store
        self.session_hours = session_hours
        self._hasher = PasswordHasher()
        # Verified against when the user does not exist, so that a wrong name costs as long as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def add_user(self, name: str, role: str, password: str) -> User:
        """Create an account (the password is stored as an argon2 hash only)."""
        if not _NAME.match(name):
            raise InputError(f"user name {name!r} must be 1-64 letters, digits or . _ @ - and start with one")
        if role not in ROLES:
            raise InputError(f"role must be one of {ROLES}, got {role!r}")
        if len(password) < MIN_PASSWORD_CHARS:
            raise InputError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
        self.store.add_user(name, role, self._hasher.hash(password))
        return User(name, role)

    def login(self, name: str, password: str) -> str | None:
        """A new session token for correct credentials, None otherwise."""
        from argon2.exceptions import VerificationError

        found = self.store.user(name)
        try:
            self._hasher.verify(found[1] if found else self._dummy_hash, password)
        except VerificationError:
            return None
        if found is None:
            return None
        token = secrets.token_urlsafe(32)
        expires = datetime.now(timezone.utc) + timedelta(hours=self.session_hours)
        self.store.add_session(_token_hash(token), name, expires)
        return token

    def user_for(self, token: str | None) -> User | None:
        """The user of a live session token; None for a missing, unknown or expired one."""
        if not token:
            return None
        found = self.store.session_user(_token_hash(token))
        return User(*found) if found else None

    def logout(self, token: str) -> None:
        """End a session."""
        self.store.delete_session(_token_hash(token))
