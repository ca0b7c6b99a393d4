"""Tiny random-weight models built from scratch, so that unit tests run the real loading code offline."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CORPUS = [
    "how long do refunds take",
    "refunds reach your card within five to ten business days",
    "you can return items within thirty days of delivery",
    "standard delivery takes three to five business days",
    "we accept cards paypal and gift cards",
    "the customer asks and the assistant answers",
]
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _word_level_tokenizer(special: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=special))
    return tok


@contextmanager
def seeded(seed: int = 0) -> Iterator[None]:
    """The same random weights in every test run (the global random state is left as it was): a random model that
    happened to end some replies at once made a test fail one run in fifteen."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def build_tiny_causal_lm(path: Path, *, pad_token: bool = True) -> Path:
    """`pad_token=False`: a tokenizer that names no pad token, like Llama's."""
    from tokenizers import decoders
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = _word_level_tokenizer(["[UNK]", "[PAD]", "<|im_start|>", "<|im_end|>"])
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]" if pad_token else None,
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    tokenizer.chat_template = CHATML
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_layer=2,
        n_embd=16,
        n_head=2,
        n_positions=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with seeded():
        GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_sentence_transformer(path: Path) -> Path:
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = _word_level_tokenizer(["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
    )
    raw = path / "raw"
    with seeded():
        BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    # A plain transformers folder loads with mean pooling; saving writes a sentence-transformers folder.
    SentenceTransformer(str(raw), device="cpu").save(str(path / "st"))
    return path / "st"
