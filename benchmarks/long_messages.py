"""Sentiment of long messages: does the classifier hear an opinion that is not in the first sentences?

Customers often explain first and judge last ("I ordered ... on Monday ... the tracking says ... Worst service I
have ever had."). No public labelled set here has long customer messages, so this one is composed from held-out
real texts: 90-300 words of neutral Bitext customer requests (the half the recipe never trains on) with one
opinion put at the end, the start or the middle, labelled with that opinion. The opinions are the project's probe
sentences (benchmarks/*_probe.csv, customer_messages.csv, complaint_probe.txt; never trained on) and 200 held-out
SST-2 sentences. 150 texts of requests alone are labelled neutral.

Run:
    .venv/bin/python benchmarks/long_messages.py [--runtime onnx-int8] [--max-length 512]
"""

import argparse
import csv
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from chatbot.config import SENTIMENT_RUNTIMES  # noqa: E402
from chatbot.sentiment import make_sentiment_classifier  # noqa: E402
from finetune.metrics import sentiment_report  # noqa: E402
from finetune.recipes.default_sentiment import SPLIT_SEED, bitext_messages, build  # noqa: E402

HERE = Path(__file__).parent


def opinions(rng: random.Random) -> list[tuple[str, str]]:
    """Negative and positive sentences nobody trained on: the probes' and 200 held-out SST-2 sentences."""
    found = []
    for name in ("feedback_probe.csv", "service_probe.csv", "customer_messages.csv", "emoji_probe.csv"):
        with (HERE / name).open(encoding="utf-8") as fh:
            found += [(row["text"], row["label"]) for row in csv.DictReader(fh) if row["label"] != "neutral"]
    complaints = (HERE / "complaint_probe.txt").read_text(encoding="utf-8").splitlines()
    found += [(text, "negative") for text in complaints if text.strip()]
    _, _, held_out = build(sst2_limit=0, neutral_limit=0)
    return found + rng.sample(held_out["sst2"], 200)


def compose(seed: int = 5) -> list[tuple[str, str, str]]:
    """(text, label, where the opinion is: end / start / middle / none)."""
    rng = random.Random(seed)
    _, bitext = bitext_messages(SPLIT_SEED)
    requests = [text.strip() for text, label in bitext if label == "neutral"]

    def preamble() -> list[str]:
        words, parts = rng.randint(90, 300), []
        while sum(len(p.split()) for p in parts) < words:
            text = rng.choice(requests)
            text = text if text.endswith((".", "?", "!")) else text + "."
            parts.append(text[0].upper() + text[1:])
        return parts

    composed = []
    for opinion, label in opinions(rng):
        parts, draw = preamble(), rng.random()
        where = "end" if draw < 0.5 else "start" if draw < 0.75 else "middle"
        parts.insert({"end": len(parts), "start": 0, "middle": len(parts) // 2}[where], opinion)
        composed.append((" ".join(parts), label, where))
    composed += [(" ".join(preamble()), "neutral", "none") for _ in range(150)]
    return composed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--runtime", default="onnx-int8", choices=SENTIMENT_RUNTIMES)
    parser.add_argument("--max-length", type=int, default=None, help="tokens read per text (default: the model's)")
    args = parser.parse_args()
    options = {} if args.max_length is None else {"max_length": args.max_length}
    classifier = make_sentiment_classifier(
        args.model, runtime=args.runtime, device="cpu", cache_dir=Path(tempfile.mkdtemp()), **options
    )
    classifier.warm_up()
    data = compose()
    texts = [text for text, _, _ in data]
    started = time.perf_counter()
    predicted = [s.label for s in classifier.classify(texts)]
    wall = time.perf_counter() - started
    report = sentiment_report([label for _, label, _ in data], predicted)
    words = statistics.median(len(text.split()) for text in texts)
    print(f"{classifier.name}, max_length {args.max_length or 'default'}: {len(data)} texts, median {words:.0f} words")
    recall = ", ".join(f"{label} {s['recall']:.2f}" for label, s in report["per_label"].items())
    print(f"  accuracy {report['accuracy']:.3f}, macro-recall {report['macro_recall']:.3f} ({recall})")
    for where in ("end", "start", "middle", "none"):
        hits = [p == label for (_, label, w), p in zip(data, predicted, strict=True) if w == where]
        print(
            f"  opinion {where if where == 'none' else 'at the ' + where}: {sum(hits)} of {len(hits)} right ({sum(hits) / len(hits):.2f})"
        )
    print(f"  {len(texts) / wall:.1f} texts/s (batches of 64, one pass)")


if __name__ == "__main__":
    main()
