"""A throw-away PostgreSQL server for the tests that run the store on PostgreSQL as well as SQLite.

Uses the server binaries of Debian's `postgresql` package (`make test` installs it) and psycopg; without them
those tests report themselves skipped. The cluster lives in a temporary folder and listens on a Unix socket only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib.util import find_spec
from pathlib import Path


def server_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` with `initdb`, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def why_unavailable() -> str | None:
    """Why no server can be started here (None: it can)."""
    if find_spec("psycopg") is None:
        return "psycopg is not installed"
    if server_binaries() is None:
        return "PostgreSQL server binaries are not installed (Debian: postgresql)"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or _uid("postgres") is None):
        return "running as root without a 'postgres' user to run the server as"
    return None


def _uid(user: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


class TemporaryPostgres:
    """Start with `start()`, get a fresh empty database with `new_database()`, end with `stop()`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chatbot-pg-"))
        self.bin = server_binaries()
        # initdb refuses to run as root: then the cluster belongs to the user Debian's package creates.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.count = 0

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "chatbot", "--auth=trust", "-E", "UTF8")
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )

    def new_database(self) -> str:
        """The SQLAlchemy URL of a new, empty database."""
        import psycopg

        self.count += 1
        name = f"test_{self.count}"
        with psycopg.connect(f"host={self.root} user=chatbot dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://chatbot@/{name}?host={self.root}"

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
