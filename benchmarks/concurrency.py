"""Concurrent conversations on the default answer model, 2-core CPU: (1) the generator alone, tokens/s of one
reply at a time vs 16 replies at once (dynamic batching); (2) 16 conversations through the whole service at
once on the demo help center: errors, answers, median and worst time to the full answer.

Run: .venv/bin/python benchmarks/concurrency.py [--home DIR]
"""

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chatbot.config import Settings, pick_device  # noqa: E402
from chatbot.generation import TransformersGenerator  # noqa: E402
from chatbot.service import create_service  # noqa: E402
from knowledge_base import DEMO_KB_DIR  # noqa: E402
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.ingest import ingest  # noqa: E402

QUESTIONS = [
    "How long do refunds take?", "Can I change my delivery address?", "Which payment methods do you accept?",
    "My parcel arrived broken, what now?", "Where is my order?", "I forgot my password", "How do I return a sofa?",
    "Is there a warranty on my bed frame?", "Can I pay with Klarna?", "How much is express shipping?",
    "Do you deliver to Norway?", "How do I cancel my order?", "Can I get an invoice?", "Do you have gift cards?",
    "How do I delete my account?", "Where are your stores?",
]  # fmt: skip
TOKENS = 64


def count_stream(generator, question):
    messages = [{"role": "user", "content": question}]
    tokens = 0
    for _ in generator.stream(messages, max_new_tokens=TOKENS):
        tokens += 1  # one piece per decoded token (a multi-byte character can merge two)
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    settings = Settings.from_env().with_home(args.home or tempfile.mkdtemp(prefix="chatbot-bench-"))
    generator = TransformersGenerator(models_dir=settings.models_dir, device=settings.device)
    generator.warm_up()
    print(f"device: {pick_device(settings.device)} (CHATBOT_DEVICE={settings.device})")
    count_stream(generator, "warm up")

    started = time.perf_counter()
    single = sum(count_stream(generator, q) for q in QUESTIONS[:4])
    single_rate = single / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        together = sum(pool.map(lambda q: count_stream(generator, q), QUESTIONS))
    batched_rate = together / (time.perf_counter() - started)
    print(f"generator: one at a time {single_rate:.1f} tokens/s; 16 at once {batched_rate:.1f} tokens/s "
          f"(x{batched_rate / single_rate:.2f})")  # fmt: skip

    ingest([DEMO_KB_DIR], embedder=SentenceTransformerEmbedder(), index_dir=settings.index_dir, progress=False)
    service = create_service(settings)
    service.warm_up()
    service.ask("How long do refunds take?")

    def converse(question):
        t = time.perf_counter()
        answer = service.ask(question)
        return answer, time.perf_counter() - t

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(converse, QUESTIONS))
    wall = time.perf_counter() - started
    seconds = [s for _, s in results]
    decisions = {}
    for answer, _ in results:
        decisions[answer.decision.value] = decisions.get(answer.decision.value, 0) + 1
    print(f"service: 16 concurrent conversations, 0 errors, {wall:.1f} s wall; full answer median "
          f"{statistics.median(seconds):.1f} s, max {max(seconds):.1f} s; decisions {decisions}")  # fmt: skip


if __name__ == "__main__":
    main()
