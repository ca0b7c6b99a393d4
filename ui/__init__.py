"""The Gradio web interface. Only this package imports gradio; nothing imports this package."""

__all__: list[str] = []
