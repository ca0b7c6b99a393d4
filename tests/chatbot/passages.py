"""Sample passages that the grounding and extractive-answer tests share."""

from chatbot.types import Chunk, Passage


def passage(text, title="Refunds"):
    return Passage(Chunk("id", "refunds.md", title, f"{title}\n{text}", 0), score=1.0, confidence=0.9)


REFUNDS = passage("We check returns within 3 business days. Refunds reach credit cards within 5 to 10 business days.")


SHIPPING = passage("Standard delivery takes 3 to 5 business days.", title="Shipping")


HOOKS = passage(
    "A hook is a Python function that the shop calls after each payment. Save it in your shop folder:\n"
    "```python\ndef on_order(order):\n    if order.total > 100:\n        order.ship_free()\n```\n"
    "The shop reloads its hooks within one minute.",
    title="Order hooks",
)
