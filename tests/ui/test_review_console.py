import gradio as gr

from chatbot.auth import Accounts
from chatbot.review import ReviewDesk
from chatbot.storage import SqlStore
from ui.review_console import build_review_page


def test_the_transcript_offers_staff_a_copy_and_no_share_to_a_public_site(settings):
    # Gradio's default "share" button posts a chat to Hugging Face Spaces discussions: a customer's conversation,
    # personal details included, has no business there. Copying a message or the whole conversation (for a ticket) stays.
    store = SqlStore(settings.database_url)
    page = build_review_page(ReviewDesk(store), Accounts(store))
    (transcript,) = [block for block in page.blocks.values() if isinstance(block, gr.Chatbot)]
    assert transcript.buttons == ["copy", "copy_all"]
