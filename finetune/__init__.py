"""Fine-tuning the answer and sentiment models on a company's own transcripts (see the fine-tuning issue)."""

__all__: list[str] = []
