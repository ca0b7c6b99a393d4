"""The app served for real on loopback, driven through Gradio's own client (streaming included)."""

import pytest


@pytest.fixture
def served(make_service, serve_app):
    service = make_service(handoff_confidence=0.1)
    url, _ = serve_app(service, [("maria", "staff", "correct horse battery")])
    return url + "/", service


@pytest.fixture
def connect():
    """Gradio's own client for a served app, as `connect(url, **options)`; closed (its heartbeat stream ended)
    when the test ends."""
    from gradio_client import Client

    clients = []

    def open_client(url, **options):
        clients.append(Client(url, verbose=False, **options))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


def test_review_console_is_behind_the_login(served):
    import httpx

    url, _ = served
    page = httpx.get(url + "review/", follow_redirects=False, timeout=30)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/review/"
    assert httpx.get(url + "review/config", timeout=30).status_code == 401  # Gradio's own API refuses too
    with httpx.Client(base_url=url, timeout=30) as browser:
        wrong = browser.post("/login", data={"name": "maria", "password": "nope", "next": "/review/"})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        ok = browser.post("/login", data={"name": "maria", "password": "correct horse battery",
                                          "next": "https://evil.example/"}, follow_redirects=False)  # fmt: skip
        assert ok.status_code == 303 and ok.headers["location"] == "/review/"  # no open redirect
        assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=lax" in ok.headers["set-cookie"].lower()
        assert browser.get("/review/").status_code == 200
        assert browser.get("/operator/", follow_redirects=False).status_code == 303  # staff are not operators
        assert browser.get("/operator/config").status_code == 401
        browser.get("/logout")
        assert browser.get("/review/", follow_redirects=False).status_code == 303


def test_the_health_check_needs_no_sign_in(served):
    import httpx

    url, _ = served
    check = httpx.get(url + "healthz", timeout=30)
    assert check.status_code == 200 and check.json() == {"database": "ok", "knowledge_base": "ok"}


def test_chat_page_is_served_and_answers_with_sources(served, fake_generator, connect):
    import httpx

    url, service = served
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and "Help center chat" in page.text

    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    client = connect(url)
    job = client.submit("How long do refunds take?", [], "", api_name="/chat")
    list(job)  # how many intermediate updates the client sees depends on its polling; streaming itself is
    # asserted on the handler in test_chat_widget.py
    messages, conversation_id, box = job.result()  # the conversation id is what a browser keeps (localStorage)
    assert box == ""
    assert "5 to 10 business days" in str(messages[-1]["content"]) and "Sources" in str(messages[-1]["content"])
    assert service.store.count_conversations() == 1
    messages, same_id, _ = client.predict("And for store credit?", messages, conversation_id, api_name="/chat")
    assert same_id == conversation_id and len(service.store.messages(conversation_id)) == 4


def test_the_rate_limit_counts_each_customers_address(make_service, serve_app, connect):
    service = make_service(rate_limit_client=1)
    url, _ = serve_app(service, [])

    def send(forwarded_for):
        # A reverse proxy on this host (trusted by default) names the customer's address in X-Forwarded-For.
        client = connect(url + "/", headers={"X-Forwarded-For": forwarded_for})
        return client.predict("hello", [], "", api_name="/chat")

    messages, _, box = send("203.0.113.5")
    assert box == "" and len(messages) == 2
    messages, conversation_id, box = send("203.0.113.5")  # a second tab (a new conversation) from the same address
    assert box == "hello" and messages == [] and conversation_id == ""  # refused: the text stays in the box
    messages, _, box = send("198.51.100.7")  # another customer
    assert box == "" and len(messages) == 2
    assert service.store.count_conversations() == 2


def test_chatbot_serve_stops_when_told_to_while_a_chat_page_is_open(
    tiny_lm_dir, tiny_embedder_dir, tiny_classifier_dir, connect
):
    # What `docker stop` does: SIGTERM, then SIGKILL 10 s later. An open chat page keeps Gradio's streams open,
    # which an unbounded graceful shutdown would wait on for as long as the page stays open.
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, CHATBOT_GENERATOR_MODEL=str(tiny_lm_dir), CHATBOT_EMBEDDER_MODEL=str(tiny_embedder_dir))
    env.update(CHATBOT_SENTIMENT_MODEL=str(tiny_classifier_dir), CHATBOT_DEVICE="cpu")
    server = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            assert server.poll() is None, server.stderr.read()
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        messages, _, _ = connect(url).predict("hello", [], "", api_name="/chat")  # a customer has the chat open
        assert len(messages) == 2
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == -signal.SIGTERM  # uvicorn stops gracefully, then ends by the signal it got
        assert "Traceback" not in server.stderr.read()
    finally:
        server.kill()
