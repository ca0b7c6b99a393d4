"""Time to first shown text and full answer, default models, demo help center, warm process.

Run: .venv/bin/python benchmarks/answer_latency.py [--home DIR]
"""

import argparse
import os
import platform
import statistics
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chatbot.config import Settings, pick_device  # noqa: E402
from chatbot.service import create_service  # noqa: E402
from knowledge_base import DEMO_KB_DIR  # noqa: E402
from knowledge_base.embedder import SentenceTransformerEmbedder  # noqa: E402
from knowledge_base.ingest import ingest  # noqa: E402

QUESTIONS = [
    "How long do refunds take?",
    "Can I change my delivery address?",
    "Which payment methods do you accept?",
    "My parcel arrived broken, what now?",
    "Where is my order?",
    "I forgot my password",
    "How do I return a sofa?",
    "Is there a warranty on my bed frame?",
    "Can I pay with Klarna?",
    "How much is express shipping?",
    "Tell me a joke",
    "What's the weather tomorrow?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="chatbot-bench-")
    settings = Settings.from_env().with_home(home)
    ingest([DEMO_KB_DIR], embedder=SentenceTransformerEmbedder(), index_dir=settings.index_dir, progress=False)
    service = create_service(settings)
    service.warm_up()
    service.ask("warm-up question about refunds")
    first, total, model_first = [], [], []
    for question in QUESTIONS:
        answer = service.ask(question)
        first.append(answer.latency_ms.get("first_token", answer.latency_ms["total"]))
        if "model_first_token" in answer.latency_ms:
            model_first.append(answer.latency_ms["model_first_token"])
        total.append(answer.latency_ms["total"])
        print(f"{answer.decision.value:24s} first {first[-1]:7.0f} ms  total {total[-1]:7.0f} ms  {question}")
    print(
        f"\nmachine: {platform.machine()} {os.cpu_count()} cores, torch threads {__import__('torch').get_num_threads()}, "
        f"device {pick_device(settings.device)}"
    )
    print(f"median first text {statistics.median(first):.0f} ms, median full answer {statistics.median(total):.0f} ms")
    if model_first:
        print(f"median first model token (before the sentence check) {statistics.median(model_first):.0f} ms "
              f"over {len(model_first)} answers the model was asked for")  # fmt: skip


if __name__ == "__main__":
    main()
