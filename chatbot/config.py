"""Runtime settings: one frozen dataclass with safe defaults, read from `CHATBOT_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from chatbot.errors import ConfigError

DEFAULT_MODEL = "default"
SENTIMENT_RUNTIMES = ("auto", "torch", "onnx", "onnx-int8")
# Earlier customer messages read with a follow-up. doc2dial, all 2,159 dev questions, token F1: 4 -> 37.62, 6 -> 38.10
# (benchmarks/RESULTS.md, thirty-fifth session); later 6 -> 8: 39.69 -> 39.79, 10 as 8 (thirty-ninth). Bitext
# questions after another topic and doc2dial openers after another dialogue: the same with 4, 6 and 8; CLINC150
# requests after a doc2dial dialogue handed over 76.0% with 6 and with 8.
HISTORY_TURNS = 8


def default_home() -> Path:
    """The data directory when neither `CHATBOT_HOME` nor `--home` is given: `$XDG_DATA_HOME/chatbot`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "chatbot"


@dataclass(frozen=True)
class Settings:
    """Everything one deployment can change without touching code.

    Every field can be set with an environment variable named `CHATBOT_` + the field name in capitals,
    e.g. `CHATBOT_HOME=/srv/chatbot` or `CHATBOT_GENERATOR_MODEL=HuggingFaceTB/SmolLM2-360M-Instruct`.

    Usage example:
    ```python
    settings = Settings.from_env().with_home("/tmp/demo")
    settings.database_url  # 'sqlite:////tmp/demo/chatbot.db'
    ```
    """

    home: Path = field(default_factory=default_home, metadata={"help": "data directory: database, index, models"})
    generator_model: str = field(
        default=DEFAULT_MODEL,
        metadata={"help": "answer model: 'default' (SmolLM2-135M-Instruct from its wheel), a hub id or a folder"},
    )
    generator_backend: str = field(
        default="transformers",
        metadata={"help": "'transformers' (in this process) or 'openai' (an OpenAI-compatible server: vLLM, TGI)"},
    )
    prompt_lookup_tokens: int = field(
        default=0,
        metadata={
            "help": "prompt-lookup decoding for a lone reply (0: off): speeds up models that copy the passages; "
            "slowed the default 135M model (it paraphrases) from 2.8 to 3.9 s to the first checked text"
        },
    )
    repetition_penalty: float = field(
        default=1.1,
        metadata={
            "help": "in-process generation: above 1 makes tokens already in the prompt or reply less likely, "
            "against loops (1: off); strong values also discourage quoting the passages"
        },
    )
    generator_url: str = field(
        default="", metadata={"help": "base URL of the OpenAI-compatible server, e.g. http://localhost:8000/v1"}
    )
    embedder_model: str = field(
        default=DEFAULT_MODEL,
        metadata={"help": "embedding model: 'default' (all-MiniLM-L6-v2 from its wheel), a hub id or a folder"},
    )
    sentiment_model: str = field(
        default=DEFAULT_MODEL,
        metadata={"help": "sentiment model: 'default' (shipped adapter on the wheel's MiniLM) or a model folder"},
    )
    sentiment_runtime: str = field(
        default="auto",
        metadata={
            "help": "'torch', 'onnx', 'onnx-int8' (exported once, CPU: ~1.5x the messages/s of torch at the same "
            "accuracy), or 'auto': onnx-int8 on a CPU when onnxruntime is installed, else torch"
        },
    )
    negative_flag_score: float = field(
        default=0.8,
        metadata={"help": "a customer message this surely negative (or two negative in a row) flags the conversation"},
    )
    database: str = field(default="", metadata={"help": "SQLAlchemy URL; empty means SQLite in the data directory"})
    device: str = field(default="auto", metadata={"help": "'auto' (GPU when present), 'cpu', 'cuda', 'cuda:1'..."})
    retrieve_k: int = field(default=10, metadata={"help": "passages retrieved per question"})
    prompt_passages: int = field(
        default=3,
        metadata={"help": "passages put in the prompt; their best confidence decides a hand-off"},
    )
    extract_passages: int = field(
        default=8,
        metadata={"help": "passages an answer made of the knowledge base's own sentences picks them from"},
    )
    history_turns: int = field(
        default=HISTORY_TURNS,
        metadata={"help": "earlier customer messages added to the search query; earlier messages in the prompt"},
    )
    max_new_tokens: int = field(default=160, metadata={"help": "upper bound of generated tokens per answer"})
    handoff_confidence: float = field(
        default=0.42,  # measured on doc2dial vs CLINC150, see benchmarks/RESULTS.md
        metadata={"help": "below this retrieval confidence the bot hands over instead of answering"},
    )
    handoff_auto: bool = field(
        default=True,
        metadata={
            "help": "lower handoff_confidence to the highest confidence that clearly off-topic requests reach on "
            "this knowledge base (measured at ingest; not below 0.3): KBs of short texts score every question lower"
        },
    )
    faq_confidence: float = field(
        # Bitext shop FAQ (27 entries, 300 customer messages): 0.80 answered 2 from the FAQ, 0.70 answered 34
        # (33 with the right entry); benchmarks/RESULTS.md.
        default=0.70,
        metadata={"help": "a FAQ entry this close to the question is answered with its curated answer"},
    )
    faq_same_question: float = field(
        # Demo FAQ, 23 customer questions: paraphrases of an entry's question reach 0.89-0.93 ("I want to cancel my
        # order" / "Can I cancel my order?"), while "do you ship to Norway?" reaches 0.73 with "Do you ship outside
        # Europe?", whose answer starts "No."; so do right ones ("Do you ship to the US?" 0.74). benchmarks/RESULTS.md.
        default=0.85,
        metadata={
            "help": "a curated answer keeps its leading 'Yes'/'No' only for a question this close to the entry's own "
            "question; for other questions it may be the wrong word, and the rest of the answer is given without it"
        },
    )
    answer_mode: str = field(
        # 'auto' answers extractively with the built-in 135M model: where its checked answers got through (on a GPU,
        # or when waited for on a CPU) they scored token F1 21 against 56 for the passages' own sentences on the
        # same 17 questions (doc2dial, Bitext): short "Yes, you can ..." sentences that pass the support check
        # but drop the conditions their passage sets (benchmarks/RESULTS.md, fifth session).
        default="auto",
        metadata={
            "help": "'generative' (the answer model writes, each sentence checked), 'extractive' (the passages' "
            "own sentences), or 'auto': extractive with the built-in SmolLM2-135M, generative with any other model"
        },
    )
    first_text_budget_ms: float = field(
        default=1200.0,
        metadata={
            "help": "checked mode: when the model has produced no supported sentence this long after the message "
            "arrived, it is stopped and the answer is taken from the passages (0: wait for the model)"
        },
    )
    verify_answers: bool = field(
        default=True,
        metadata={"help": "show only generated sentences that a passage supports (off: raw token streaming)"},
    )
    review_mode: str = field(
        default="auto",
        metadata={"help": "'auto': the bot answers, flagged conversations go to staff; 'review': every bot reply "
                  "is a draft a person approves first"},
    )  # fmt: skip
    dense_index: str = field(
        default="auto",
        metadata={"help": "FAISS index: 'auto' (exact up to 50k chunks, then HNSW), 'flat', 'hnsw' or 'ivf'"},
    )
    chunk_words: int = field(default=120, metadata={"help": "largest chunk in words (chunks end between sentences)"})
    chunk_overlap_words: int = field(
        default=30, metadata={"help": "most words (whole sentences) repeated between neighbouring chunks"}
    )
    max_question_chars: int = field(default=2000, metadata={"help": "longer customer messages are refused"})
    # A person types a message, reads the answer and types again: a few messages a minute. 12 in one conversation
    # and 60 from one network address (several customers may share one behind a company's or a carrier's NAT).
    rate_limit_conversation: int = field(
        default=12, metadata={"help": "customer messages per minute in one conversation (0: no limit)"}
    )
    rate_limit_client: int = field(
        default=60, metadata={"help": "customer messages per minute from one network address (0: no limit)"}
    )

    def __post_init__(self) -> None:
        checks = {
            "retrieve_k": self.retrieve_k >= 1,
            "prompt_passages": 1 <= self.prompt_passages <= self.retrieve_k,
            "extract_passages": 1 <= self.extract_passages <= self.retrieve_k,
            "history_turns": self.history_turns >= 0,
            "max_new_tokens": self.max_new_tokens >= 1,
            "prompt_lookup_tokens": self.prompt_lookup_tokens >= 0,
            "repetition_penalty": self.repetition_penalty >= 1.0,
            "first_text_budget_ms": self.first_text_budget_ms >= 0,
            "handoff_confidence": 0.0 <= self.handoff_confidence <= 1.0,
            "faq_confidence": 0.0 <= self.faq_confidence <= 1.0,
            "faq_same_question": 0.0 <= self.faq_same_question <= 1.0,
            "negative_flag_score": 0.0 <= self.negative_flag_score <= 1.0,
            "answer_mode": self.answer_mode in ("auto", "generative", "extractive"),
            "sentiment_runtime": self.sentiment_runtime in SENTIMENT_RUNTIMES,
            "generator_backend": self.generator_backend in ("transformers", "openai"),
            "review_mode": self.review_mode in ("auto", "review"),
            "dense_index": self.dense_index in ("auto", "flat", "hnsw", "ivf"),
            "chunk_words": self.chunk_words >= 20,
            "chunk_overlap_words": 0 <= self.chunk_overlap_words < self.chunk_words,
            "max_question_chars": self.max_question_chars >= 1,
            "rate_limit_conversation": self.rate_limit_conversation >= 0,
            "rate_limit_client": self.rate_limit_client >= 0,
        }
        # Bounds that depend on another setting are named: lowering retrieve_k below 8 asks for extract_passages too.
        bounds = dict.fromkeys(("prompt_passages", "extract_passages"), f" (1 to retrieve_k, {self.retrieve_k})")
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(
                    f"setting {name} has an invalid value: {getattr(self, name)!r}{bounds.get(name, '')}"
                )
        object.__setattr__(self, "home", Path(self.home).expanduser())

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from `CHATBOT_*` variables; unset ones keep their defaults."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"CHATBOT_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        return cls(**values)

    def with_home(self, home: str | Path) -> Settings:
        """The same settings with another data directory."""
        return replace(self, home=Path(home))

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the database (SQLite file in the data directory unless `database` is set)."""
        return self.database or f"sqlite:///{self.home / 'chatbot.db'}"

    @property
    def index_dir(self) -> Path:
        """Where the FAISS and BM25 index snapshots live."""
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Where models built on first use (e.g. the default answer model converted from GGUF) are cached."""
        return self.home / "models"


def _parse(name: str, type_name: Any, raw: str) -> Any:
    type_name = str(type_name)
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError as err:
        raise ConfigError(f"CHATBOT_{name.upper()}={raw!r} is not a valid {type_name}") from err
    if type_name == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"CHATBOT_{name.upper()}={raw!r} is not a valid bool (true/false)")
    if type_name == "Path":
        return Path(raw)
    return raw


def pick_device(device: str) -> str:
    """Resolve the `device` setting: `auto` lets `accelerate` choose (a GPU when present, else the CPU)."""
    if device != "auto":
        return device
    from accelerate import PartialState

    return str(PartialState().device)
