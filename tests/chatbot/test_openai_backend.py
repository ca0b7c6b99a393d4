"""The OpenAI-compatible backend against a small local server that speaks the chat-completions protocol."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chatbot.errors import ModelLoadError
from chatbot.generation import OpenAICompatibleGenerator, make_generator


class FakeServer(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"data": [{"id": "smol"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeServer.requests.append((request, self.headers.get("Authorization")))
        if request["model"] != "smol":
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error": "model not found"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = ["Refunds", " take", " 5", " to", " 10", " days."][: request["max_tokens"]]
        self.wfile.write(b": keep-alive\n\n")
        for word in words:
            chunk = {"choices": [{"delta": {"content": word}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def server_url():
    FakeServer.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_streams_the_servers_reply_with_the_token_budget_and_greedy_decoding(server_url, monkeypatch):
    monkeypatch.setenv("CHATBOT_GENERATOR_API_KEY", "s3cret")
    generator = make_generator("openai", "smol", models_dir=None, device="cpu", url=server_url)
    generator.warm_up()
    messages = [{"role": "user", "content": "How long do refunds take?"}]
    assert "".join(generator.stream(messages, max_new_tokens=4)) == "Refunds take 5 to"
    request, auth = FakeServer.requests[-1]
    assert request["messages"] == messages and request["stream"] is True and request["temperature"] == 0
    assert auth == "Bearer s3cret"


def test_server_errors_are_clear(server_url):
    generator = OpenAICompatibleGenerator("other", base_url=server_url)
    with pytest.raises(ModelLoadError, match="serves \\['smol'\\], not 'other'"):
        generator.warm_up()
    with pytest.raises(ModelLoadError, match="404"):
        list(generator.stream([{"role": "user", "content": "hi"}], max_new_tokens=3))
    with pytest.raises(ModelLoadError, match="does not answer"):
        OpenAICompatibleGenerator("smol", base_url="http://127.0.0.1:9/v1", timeout=2).warm_up()


def test_backend_settings_are_checked(tmp_path):
    with pytest.raises(ModelLoadError, match="CHATBOT_GENERATOR_URL"):
        make_generator("openai", "default", models_dir=tmp_path, device="cpu")
    with pytest.raises(ModelLoadError, match="'tgi'"):
        make_generator("tgi", "default", models_dir=tmp_path, device="cpu")
    with pytest.raises(ModelLoadError, match="ftp://x"):
        OpenAICompatibleGenerator("m", base_url="ftp://x")
    version = tmp_path / "bitext-v1"
    version.mkdir()
    assert (
        make_generator("openai", str(version), models_dir=tmp_path, device="cpu", url="http://h/v1").name
        == "bitext-v1"
    )
