"""The shipped defaults end to end: SmolLM2-135M-Instruct from its wheel's GGUF, all-MiniLM-L6-v2 from its wheel,
the demo knowledge base, FAISS + BM25 on disk, SQLite."""

import pytest

from chatbot.config import Settings
from chatbot.generation import default_generator_path
from chatbot.service import create_service
from chatbot.types import Decision
from knowledge_base import DEMO_KB_DIR
from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.ingest import ingest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo-home")
    settings = Settings(home=home)
    report = ingest(
        [DEMO_KB_DIR], embedder=SentenceTransformerEmbedder(), index_dir=settings.index_dir, progress=False
    )
    assert report.documents_total >= 35 and not report.failures
    return home


@pytest.fixture(scope="module")
def demo_service(demo_home):
    service = create_service(Settings(home=demo_home))
    service.warm_up()
    return service


def test_default_embedder_comes_from_its_wheel():
    vectors = SentenceTransformerEmbedder().embed(["How long do refunds take?", "Refund timing"])
    assert vectors.shape == (2, 384)
    assert float(vectors[0] @ vectors[1]) > 0.5


def test_refund_question_is_answered_from_the_refunds_article(demo_service):
    stream = demo_service.reply(demo_service.start_conversation(), "How long do refunds take?")
    pieces = list(stream)
    answer = stream.answer
    assert pieces and not answer.handed_off
    assert answer.sources[0].chunk.source == "demo/refunds.md"
    assert "business days" in answer.text and "[1]" in answer.text
    stored = demo_service.store.messages(answer.conversation_id)
    assert stored[-1].sources[0]["source"] == "demo/refunds.md"


def test_follow_up_question_uses_the_conversation(demo_service):
    first = demo_service.ask("Can I pay with Klarna?")
    assert not first.handed_off and first.sources[0].chunk.source == "demo/payment-methods.md"
    follow_up = demo_service.ask("Which countries is that available in?", first.conversation_id)
    assert not follow_up.handed_off
    assert "Germany" in follow_up.text or any("Germany" in p.chunk.text for p in follow_up.sources[:1])


def test_a_curated_no_is_not_given_to_a_question_it_does_not_answer(demo_service):
    # The FAQ's "Do you ship outside Europe?" -> "No. We ship to ... and Norway only." matches the question.
    answer = demo_service.ask("do you ship to Norway?")
    assert not answer.handed_off and "Norway" in answer.text
    assert not answer.text.startswith("No")


def test_a_pointer_to_another_article_gives_way_to_that_article(demo_service):
    # "My promo code or gift card does not work" says only: See "Promo codes and price match" and "Gift cards ...".
    answer = demo_service.ask("My discount code doesn't work")
    assert not answer.handed_off and not answer.text.startswith("See ")
    assert "demo/promo-codes-and-price-match.md" in {p.chunk.source for p in answer.sources}


@pytest.mark.parametrize(
    "question", ["Tell me a joke", "Who won the football world cup?", "Book me a flight to Paris"]
)
def test_questions_the_help_center_cannot_answer_are_handed_off(demo_service, question):
    answer = demo_service.ask(question)
    assert answer.decision is Decision.HANDOFF_LOW_CONFIDENCE
    assert demo_service.store.status(answer.conversation_id) == "needs_human"


def test_default_answer_model_is_converted_once_and_cached(demo_home):
    models_dir = Settings(home=demo_home).models_dir
    path = default_generator_path(models_dir)
    stamp = (path / "config.json").stat().st_mtime_ns
    assert default_generator_path(models_dir) == path
    assert (path / "config.json").stat().st_mtime_ns == stamp
    assert (path / "model.safetensors").exists() and (path / "tokenizer.json").exists()


def test_shipped_sentiment_model_reads_customer_messages():
    from chatbot.sentiment import TransformersSentimentClassifier

    results = TransformersSentimentClassifier(device="cpu").classify(
        [
            "The lamp arrived broken and your support is useless.",
            "How do I reset my password?",
            "Thank you so much for the quick refund.",
        ]
    )
    assert [r.label for r in results] == ["negative", "neutral", "positive"]


def test_shipped_sentiment_model_hears_complaints_without_strong_words():
    """The model before this one called these neutral (0.99): customers' messages sounded neutral to it whatever
    they said. Requests about the same things stay neutral."""
    from chatbot.sentiment import TransformersSentimentClassifier

    complaints = [
        "I am very disappointed with my order",
        "I've been charged twice for the same order",
        "Still no refund after a month",
    ]
    requests = ["Where is my order?", "Can I get a refund?", "Can I pay by card?"]
    results = TransformersSentimentClassifier(device="cpu").classify(complaints + requests)
    assert [r.label for r in results] == ["negative"] * 3 + ["neutral"] * 3


def test_shipped_sentiment_model_hears_the_verdict_at_the_end_of_a_long_message():
    """Customers explain first and judge last. Reading only the first 128 tokens, the model labelled both messages
    below neutral (0.54): it never reached the last sentence."""
    from chatbot.sentiment import TransformersSentimentClassifier

    story = (
        "I placed an order for a standing desk on the 3rd of March, order number 48213, and chose standard "
        "delivery. The confirmation email said it would arrive within five working days. On the 9th the tracking "
        "page showed that the parcel had left your warehouse, and on the 11th it said the courier had tried to "
        "deliver it while I was out, although I was at home all day. I rang the courier, who told me to contact "
        "you, and I sent a message through your contact form on the 12th with my order number and a photo of the "
        "tracking page. I was told someone would reply within two days. On the 16th I called your phone line and "
        "waited forty minutes before the call was cut off. Yesterday the tracking page changed to say the parcel is "
        "being returned to the sender. "
    )
    results = TransformersSentimentClassifier(device="cpu").classify(
        [
            story + "Honestly, this is the worst service I have ever had and I will never order from you again.",
            story + "Your colleague Sam has now sorted all of it out, thank you so much, you have been wonderful.",
        ]
    )
    assert [r.label for r in results] == ["negative", "positive"]


def test_shipped_sentiment_model_reads_the_mood_of_emoji():
    """Emoji used to reach the model as unknown tokens: "😡😡😡" was positive (0.99) and 👎 changed nothing."""
    from chatbot.sentiment import TransformersSentimentClassifier

    results = TransformersSentimentClassifier(device="cpu").classify(
        ["😡😡😡", "my order arrived 👎", "my order arrived 👍", "📦 where is my order?"]
    )
    assert [r.label for r in results] == ["negative", "negative", "positive", "neutral"]


def test_assistant_stores_the_sentiment_of_customer_messages(demo_service):
    answer = demo_service.ask("My parcel arrived broken and nobody answers my emails. This is ridiculous!")
    user = demo_service.store.messages(answer.conversation_id)[0]
    assert user.sentiment is not None and user.sentiment.label == "negative"
    assert demo_service.store.flag_reason(answer.conversation_id) == "negative_sentiment"


def test_the_shipped_answer_adapter_loads_on_the_default_model_and_writes(demo_service, demo_home):
    from chatbot.generation import TransformersGenerator

    models_dir = Settings(home=demo_home).models_dir  # the default model converted once by demo_service
    generator = TransformersGenerator("bitext-lora", models_dir=models_dir, device="cpu")
    reply = "".join(generator.stream([{"role": "user", "content": "I want to cancel my order"}], max_new_tokens=12))
    assert generator.name == "bitext-lora" and reply.strip()
