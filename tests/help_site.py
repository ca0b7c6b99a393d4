"""A small help center served on loopback by a real HTTP server (http.server in a thread), for crawling tests."""

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.pdfs import write_pdf

PAGES = {
    "robots.txt": "User-agent: *\nDisallow: /help/private/\n",
    "help/index.html": (
        "<html><head><title>Help center</title></head><body><main><h1>Help center</h1>"
        '<a href="refunds.html">Refunds</a> <a href="/help/shipping/">Shipping</a> <a href="private/staff.html">'
        'Staff</a> <a href="/blog/news.html">Blog</a> <a href="https://other.example/help/">Elsewhere</a> '
        '<a href="mailto:help@example.com">Mail</a> <a href="logo.png">Logo</a> <a href="refunds.html#card">Card</a> <a href="forms/claim.pdf">Claim form</a>'
        "<p>Find answers to your questions about orders.</p></main></body></html>"
    ),
    "help/refunds.html": (
        '<html><head><title>Refunds</title><link rel="canonical" href="/help/refunds.html"></head><body><main>'
        "<h1>Refunds</h1><p>Refunds reach your card within 10 business days.</p></main></body></html>"
    ),
    "help/shipping/index.html": (
        "<html><head><title>Shipping</title></head><body><main><h1>Shipping</h1>"
        "<p>Standard delivery takes 2 to 4 business days.</p></main></body></html>"
    ),
    "help/private/staff.html": "<html><body><main><p>Staff only.</p></main></body></html>",
    "blog/news.html": "<html><body><main><p>Company news.</p></main></body></html>",
    "help/logo.png": "not really a png",
}


@pytest.fixture
def help_site(tmp_path):
    """A small help center on http://127.0.0.1:<port>/; yields (base URL, its folder)."""
    root = tmp_path / "www"
    for name, body in PAGES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body, encoding="utf-8")
    (root / "help" / "forms").mkdir()
    write_pdf(root / "help" / "forms" / "claim.pdf", "Send the claim form within 30 days.", title="Claim form")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()
