"""How the shipped default sentiment model (chatbot/assets/sentiment) is made, from ../shared/data.

Data (all public; licences in chatbot/assets/sentiment/TRAINING.md):
- SST-2 train sentences (negative / positive), 3% held out by content hash for evaluation;
- TweetEval sentiment validation (negative / neutral / positive), 50% held out by content hash;
- CLINC150 train requests as *neutral*: customer-support messages are mostly neutral requests, and SST-2 has
  no neutral class at all; except its thank_you requests, which are *positive*;
- mixed messages: a CLINC150 request joined with a short SST-2 training phrase, labelled with the phrase's
  sentiment ("where is my order? what a waste of time" is negative). Without them the model learns that
  anything phrased as a request is neutral, and misses the complaints that matter most;
- Bitext customer-support messages (complaints negative, other requests neutral; half held out) and
  `service_messages.csv`: 229 customer messages written for this project across many services (problem reports
  and complaints without strong sentiment words negative, requests neutral, thanks and praise positive). Public
  data has almost no negative customer messages that are not phrased as "I want to file a complaint";
- `feedback_messages.csv`: 150 comments written for this project on an answer, an order or a service, the way
  customers give feedback: sarcasm ("Great job losing my parcel twice"), idioms of leaving ("Never ordering from
  you again") or of praise in negative words ("No complaints at all"), answers that did not help, mild criticism,
  and factual follow-ups as neutral. Without them the model read "Thanks for nothing" and "Brilliant." after a
  delay as positive (benchmarks/feedback_probe.csv, written separately, measures it).
- with `--hutto DIR` (in the shipped model since the twenty-second session; benchmarks/RESULTS.md): the
  sentences that VADER's authors had rated by about 20 people each (Hutto & Gilbert, ICWSM 2014; MIT-licensed, in
  the `vaderSentiment` source package): 4,200 tweets, 3,708 Amazon review snippets and 5,190 New York Times
  editorial snippets, whose mean rating (-4 to 4) within `--hutto-neutral` of 0 is neutral. They are the only
  other public sentences rated for sentiment with a neutral middle that these machines can reach (`fetch_hutto`
  gets them from PyPI into DIR once). The movie-review snippets are left out: SST-2 has the same reviews.

- with `--long N`: N long messages (60-300 words: requests around one opinion, `long_examples`), read at up to 384
  tokens. Without them the model read a long account that ends in thanks as negative.

Run: python -m finetune.recipes.default_sentiment --out chatbot/assets/sentiment [--sst2 N] [--epochs E]
The shipped model (chatbot/assets/sentiment/TRAINING.md) is the defaults plus `--hutto DIR --long 1000 --sst2 24000
--service-repeat 6 --feedback-repeat 6`; the defaults alone give the model shipped before it.
"""

import argparse
import csv
import json
import logging
import random
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from finetune.data import in_eval_split
from finetune.sentiment import SentimentTrainConfig, train_sentiment

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SERVICE_MESSAGES = Path(__file__).with_name("service_messages.csv")
FEEDBACK_MESSAGES = Path(__file__).with_name("feedback_messages.csv")
TWEET_LABELS = {"0": "negative", "1": "neutral", "2": "positive"}
# The held-out halves (TweetEval, Bitext) and the held-out SST-2 sentences never move; `--seed` changes only the
# order and the sampling of the training examples (benchmarks/sentiment_eval.py evaluates on these same splits).
SPLIT_SEED = 13
# Emoji customers put in chat messages, by the mood they carry (chosen for this project). The classifier reads them
# by name (`chatbot.sentiment.spell_out_emoji`: "😡" -> "(enraged face)"); examples with them teach it what the
# names mean. benchmarks/emoji_probe.csv also uses emoji that are not listed here.
EMOJI = {
    "negative": "😡 😠 🤬 😤 👎 😞 😢 😭 💩 🙄 😒 😩 😫 😑 🤦 😔 😟 ☹️ 💔 😣".split(),
    "neutral": "👋 📦 📧 📞 🕒 📍 🙋 💳 🧾 🔑".split(),
    "positive": "😊 🙂 😀 😃 😄 😁 😍 🥰 ❤️ 👍 🙏 🎉 ✨ 💯 👏 😌 🤩 😎 🥳 💚".split(),
}


def bitext_messages(seed: int = 13) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held out) Bitext customer messages: complaints negative, requests of the other intents neutral
    ("review" left out: asking how to leave feedback says nothing of the mood). Half held out by content hash."""
    train: list[tuple[str, str]] = []
    held_out: list[tuple[str, str]] = []
    with (DATA / "bitext" / "train.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["intent"] == "review":
                continue
            pair = (row["instruction"].strip(), "negative" if row["intent"] == "complaint" else "neutral")
            (held_out if in_eval_split(pair[0], 0.5, seed) else train).append(pair)
    return train, held_out


HUTTO_SETS = ("tweets", "amazonReviewSnippets", "nytEditorialSnippets")
HUTTO_PACKAGE = "vaderSentiment==3.3.2"  # its source archive holds additional_resources/hutto_ICWSM_2014.tar.gz


def fetch_hutto(dest: Path) -> Path:
    """The folder of Hutto & Gilbert's rated sentences under `dest`, downloaded from PyPI (the `vaderSentiment`
    source archive, 2.5 MB) unless it is there already."""
    folder = dest / "hutto_ICWSM_2014"
    if (folder / "tweets_GroundTruth.txt").is_file():
        return folder
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, HUTTO_PACKAGE],
            check=True,
        )
        (archive,) = Path(tmp).glob("vaderSentiment-*.tar.gz")
        with tarfile.open(archive) as outer:
            member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
            inner = outer.extractfile(member)
            if inner is None:
                raise FileNotFoundError(f"{member.name} in {archive} is not a file")
            with tarfile.open(fileobj=inner) as data:
                data.extractall(dest, filter="data")
    return folder


def hutto_sentences(folder: Path, neutral_within: float) -> list[tuple[str, str]]:
    """(text, label) of the rated tweets, Amazon and NYT snippets in `folder`: a mean rating within
    `neutral_within` of 0 is neutral, below negative, above positive."""
    pairs = []
    for name in HUTTO_SETS:
        # Lines are "id<TAB>mean rating<TAB>text", CRLF-terminated.
        for line in (folder / f"{name}_GroundTruth.txt").read_text(encoding="utf-8").splitlines():
            _, rating, text = line.split("\t", 2)
            mean = float(rating)
            label = "neutral" if abs(mean) < neutral_within else "negative" if mean < 0 else "positive"
            pairs.append((text.strip(), label))
    return pairs


def written_messages(path: Path) -> list[tuple[str, str]]:
    """(text, label) rows of one of the recipe's own CSV files of messages written for this project."""
    with path.open(encoding="utf-8") as fh:
        return [(row["text"], row["label"]) for row in csv.DictReader(fh)]


def emoji_examples(requests: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    """`count` messages whose mood is in their emoji: 1-3 emoji of one mood alone, or before or after a request
    ("where is my order? 😡" is negative, "📦 where is my order?" neutral)."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        label = rng.choice(sorted(EMOJI))
        marks = "".join(rng.choice(EMOJI[label]) for _ in range(rng.choice((1, 1, 2, 3))))
        place = rng.random()
        if place < 0.2:
            text = marks
        elif place < 0.7:
            text = f"{rng.choice(requests)} {marks}"
        else:
            text = f"{marks} {rng.choice(requests)}"
        examples.append((text, label))
    return examples


def long_examples(
    requests: list[str], opinions: list[tuple[str, str]], count: int, seed: int
) -> list[tuple[str, str]]:
    """`count` long messages (60-300 words): customer requests (neutral) with one opinion put at the end (half of
    them), the start or the middle, labelled with the opinion; a fifth are requests alone, neutral. Customers explain
    first and judge last; trained on short texts only, the model read such messages by their first sentences
    (benchmarks/long_messages.py measures it on held-out texts)."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        parts: list[str] = []
        words = rng.randint(60, 300)
        while sum(len(p.split()) for p in parts) < words:
            text = rng.choice(requests).strip()
            text = text if text.endswith((".", "?", "!")) else text + "."
            parts.append(text[0].upper() + text[1:])
        if rng.random() < 0.2:
            examples.append((" ".join(parts), "neutral"))
            continue
        opinion, label = rng.choice(opinions)
        place = rng.random()
        parts.insert(len(parts) if place < 0.5 else 0 if place < 0.75 else len(parts) // 2, opinion)
        examples.append((" ".join(parts), label))
    return examples


def build(
    sst2_limit: int,
    neutral_limit: int,
    tweet_repeat: int = 1,
    mixed: int = 0,
    bitext: int = 0,
    complaint_repeat: int = 1,
    service_repeat: int = 0,
    emoji: int = 0,
    feedback_repeat: int = 0,
    long: int = 0,
    hutto: list[tuple[str, str]] | None = None,
    seed: int = 13,
    tweet_fold: int = 0,
) -> tuple[list, list, dict[str, list]]:
    rng = random.Random(seed)
    train: list[tuple[str, str]] = []
    bitext_train, bitext_held_out = bitext_messages(SPLIT_SEED)
    held_out: dict[str, list[tuple[str, str]]] = {"tweeteval": [], "sst2": [], "bitext": bitext_held_out}
    sst2 = []
    with (DATA / "sentiment" / "sst2_train.tsv").open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            text, label = line.rstrip("\n").rsplit("\t", 1)
            sst2.append((text.strip(), "positive" if label == "1" else "negative"))
    for pair in sst2:
        (held_out["sst2"] if in_eval_split(pair[0], 0.03, SPLIT_SEED) else train).append(pair)
    sst2_train = list(train)
    rng.shuffle(sst2_train)
    train = sst2_train[:sst2_limit]
    texts = (DATA / "sentiment" / "tweeteval_val_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (DATA / "sentiment" / "tweeteval_val_labels.txt").read_text(encoding="utf-8").splitlines()
    for text, label in zip(texts, labels, strict=True):
        pair = (text.strip(), TWEET_LABELS[label.strip()])
        # Fold 1 swaps the TweetEval halves: a model of it is scored on the tweets the shipped one trains on, which
        # is where a setting of the shipped model can be chosen without looking at its held-out half.
        if in_eval_split(pair[0], 0.5, SPLIT_SEED) != bool(tweet_fold):
            held_out["tweeteval"].append(pair)
        else:
            train.extend([pair] * tweet_repeat)
    clinc = json.loads((DATA / "clinc150_dev" / "clinc150_dev.json").read_text(encoding="utf-8"))
    # Thanks are not neutral: CLINC150's thank_you requests ("i really appreciate your help") are positive.
    train += [(t, "positive") for t, intent in clinc["train"] if intent == "thank_you"]
    requests = [t for t, intent in clinc["train"] if intent != "thank_you"]
    rng.shuffle(requests)
    train += [(t, "neutral") for t in requests[:neutral_limit]]
    phrases = [(t, label) for t, label in sst2_train if 2 <= len(t.split()) <= 10]
    # Requests not used as neutral examples; with `bitext`, also Bitext's (a shop's customers' own phrasing).
    requests_bitext = [t for t, label in bitext_train if label == "neutral"]
    if bitext:  # (without, the random stream stays that of the recipe's earlier versions)
        rng.shuffle(requests_bitext)
    unused = requests[neutral_limit:] + (requests_bitext[bitext:] if bitext else [])
    for _ in range(mixed):
        request, (phrase, label) = rng.choice(unused), rng.choice(phrases)
        joined = f"{request}. {phrase}" if rng.random() < 0.7 else f"{phrase}, {request}"
        train.append((joined, label))
    # Customer-support messages: the requests as neutral (up to `bitext`), every complaint as negative.
    if bitext:
        train += [(t, "neutral") for t in requests_bitext[:bitext]]
        train += [p for p in bitext_train if p[1] == "negative"] * complaint_repeat
    train += written_messages(SERVICE_MESSAGES) * service_repeat
    train += written_messages(FEEDBACK_MESSAGES) * feedback_repeat
    train += emoji_examples(unused, emoji, seed)  # its own random stream: the examples above stay as they were
    if long:  # its own random stream too
        opinions = [p for p in sst2_train + written_messages(SERVICE_MESSAGES) + written_messages(FEEDBACK_MESSAGES)
                    if p[1] != "neutral"]  # fmt: skip
        train += long_examples(unused, opinions, long, seed)
    train += hutto or []
    rng.shuffle(train)
    return train, held_out["tweeteval"], held_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sst2", type=int, default=20000, help="SST-2 training sentences used")
    parser.add_argument("--neutral", type=int, default=3000, help="CLINC150 requests used as neutral")
    parser.add_argument("--tweet-repeat", type=int, default=6, help="times each training tweet is seen per epoch")
    parser.add_argument("--mixed", type=int, default=4000, help="request + sentiment phrase examples added")
    parser.add_argument("--bitext", type=int, default=500, help="Bitext requests used as neutral (and its complaints)")
    parser.add_argument("--complaint-repeat", type=int, default=2, help="times each Bitext complaint is seen")
    parser.add_argument("--service-repeat", type=int, default=4, help="times each service_messages.csv row is seen")
    parser.add_argument("--emoji", type=int, default=1500, help="messages whose mood is in their emoji")
    parser.add_argument("--feedback-repeat", type=int, default=4, help="times each feedback_messages.csv row is seen")
    parser.add_argument("--long", type=int, default=0, help="long messages (requests around one opinion) added")
    parser.add_argument(
        "--hutto", type=Path, help="folder for Hutto & Gilbert's rated sentences, fetched from PyPI if absent"
    )
    parser.add_argument("--hutto-neutral", type=float, default=1.0, help="|mean rating| below this is neutral")
    parser.add_argument("--epochs", type=float, default=1.5)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--pooling", choices=["cls", "mean"], default="cls", help="see SentimentTrainConfig.pooling")
    parser.add_argument(
        "--full-finetune", action="store_true", help="train every encoder weight (SentimentTrainConfig.full_finetune)"
    )
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (of the saved adapter with --full-finetune)")
    parser.add_argument(
        "--seed", type=int, default=13, help="order of the examples and of training (held-out sets stay)"
    )
    parser.add_argument(
        "--offsets",
        type=float,
        nargs=3,
        default=[0.0, 0.0, 0.0],
        metavar=("NEG", "NEU", "POS"),
        help="added to the trained head's scores (SentimentTrainConfig.logit_offsets)",
    )
    parser.add_argument(
        "--tweet-fold",
        type=int,
        choices=[0, 1],
        default=0,
        help="1: train on the held-out TweetEval half, hold out the other",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    train, evaluation, held_out = build(
        args.sst2,
        args.neutral,
        args.tweet_repeat,
        args.mixed,
        args.bitext,
        args.complaint_repeat,
        args.service_repeat,
        args.emoji,
        args.feedback_repeat,
        args.long,
        hutto=hutto_sentences(fetch_hutto(args.hutto), args.hutto_neutral) if args.hutto else None,
        seed=args.seed,
        tweet_fold=args.tweet_fold,
    )
    print(f"train {len(train)}, eval (TweetEval held out) {len(evaluation)}, SST-2 held out {len(held_out['sst2'])}")
    report = train_sentiment(
        train,
        evaluation,
        args.out,
        SentimentTrainConfig(
            epochs=args.epochs,
            max_steps=args.max_steps,
            pooling=args.pooling,
            full_finetune=args.full_finetune,
            lora_r=args.rank,
            seed=args.seed,
            # Long messages need their length (~400 tokens at 300 words) and batches of their own.
            max_length=384 if args.long else 64,
            group_by_length=bool(args.long),
            logit_offsets=args.offsets,
        ),
    )
    print(json.dumps(report["eval"], indent=1), report["train_seconds"], "s")


if __name__ == "__main__":
    main()
