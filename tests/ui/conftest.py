import socket
import threading
import time

import pytest


@pytest.fixture
def serve_app(settings):
    """Serve the whole web app for `service` on a free loopback port with the given accounts; yields a function
    returning (base URL without a trailing slash, accounts). The server stops when the test ends."""
    import httpx

    from chatbot.auth import Accounts
    from chatbot.storage import SqlStore
    from ui.app import build_app
    from ui.server import AppServer

    servers = []

    def serve(service, users):
        accounts = Accounts(SqlStore(settings.database_url))
        for name, role, password in users:
            accounts.add_user(name, role, password)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = AppServer(build_app(service, accounts), host="127.0.0.1", port=port, log_level="error")
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(url + "/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        return url, accounts

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
        # A server left running past the session can be inside a model's forward pass when the interpreter exits,
        # which aborts the whole test run (exit code 134) after every test passed.
        assert not thread.is_alive(), "the test server did not stop within 10 s"
