from datetime import datetime, timedelta, timezone

import pytest

from chatbot.auth import Accounts, User
from chatbot.errors import InputError
from chatbot.review import ReviewDesk
from chatbot.storage import SqlStore, StoreError
from chatbot.types import Decision

MARIA = User("maria", "staff")


@pytest.fixture
def settings(settings, database_url):
    """Every test here runs on SQLite and again on PostgreSQL."""
    from dataclasses import replace

    return replace(settings, database=database_url)


@pytest.fixture
def accounts(settings):
    return Accounts(SqlStore(settings.database_url))


def test_passwords_are_hashed_and_sessions_log_in_and_out(accounts):
    accounts.add_user("maria", "staff", "correct horse battery")
    assert "correct horse" not in accounts.store.user("maria")[1]  # only the argon2 hash is stored
    assert accounts.login("maria", "wrong password") is None
    assert accounts.login("nobody", "correct horse battery") is None
    token = accounts.login("maria", "correct horse battery")
    assert accounts.user_for(token) == User("maria", "staff")
    accounts.logout(token)
    assert (
        accounts.user_for(token) is None and accounts.user_for("made-up") is None and accounts.user_for(None) is None
    )


def test_sessions_expire(accounts):
    accounts.add_user("omar", "operator", "another passphrase")
    accounts.store.add_session("h" * 64, "omar", datetime.now(timezone.utc) - timedelta(seconds=1))
    assert accounts.store.session_user("h" * 64) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "error"),
    [("bad name!", "staff", "longenough", "'bad name!'"), ("ok", "admin", "longenough", "'admin'"),
     ("ok", "staff", "short", "at least 8")],
)  # fmt: skip
def test_bad_accounts_are_refused_with_the_bad_value(accounts, name, role, password, error):
    with pytest.raises(InputError, match=error):
        accounts.add_user(name, role, password)


def test_operators_can_do_what_staff_can():
    assert User("o", "operator").can("staff") and User("o", "operator").can("operator")
    assert User("s", "staff").can("staff") and not User("s", "staff").can("operator")


def test_a_handed_off_question_reaches_the_queue_with_a_suggestion_and_staff_reply_reaches_the_customer(
    make_service,
):
    service = make_service()
    cid = service.start_conversation()
    answer = service.ask("What is the capital of Peru?", cid)
    assert answer.decision is Decision.HANDOFF_LOW_CONFIDENCE
    desk = ReviewDesk(service.store)
    entry = desk.queue()[0]
    assert entry.conversation_id == cid and entry.reason == "handoff_low_confidence" and entry.has_draft
    view = desk.open(cid)
    assert view.draft is not None and view.draft.sources  # suggestion with its passages for staff to judge
    desk.send(cid, "Lima. Anything else about your order?", user=MARIA, draft_id=view.draft.id)
    messages = service.store.messages(cid)
    assert messages[-1].role == "staff" and messages[-1].text.startswith("Lima")
    decided = service.store.drafts(cid)[-1]
    assert decided.status == "edited"
    # The person owns the conversation now: the bot stays silent until it is handed back.
    silent = service.ask("Thanks! And refunds?", cid)
    assert silent.text == "" and service.store.messages(cid)[-1].role == "user"
    desk.hand_back(cid, user=MARIA)
    assert service.ask("How long do refunds take?", cid).decision is not Decision.WAITING_FOR_STAFF
    assert cid not in {e.conversation_id for e in desk.queue()}


def test_approving_rejecting_and_writing_are_told_apart(make_service):
    service = make_service()
    cid = service.start_conversation()
    service.ask("What is the capital of Peru?", cid)
    desk = ReviewDesk(service.store)
    draft = desk.open(cid).draft
    desk.reject(cid, draft.id, user=MARIA)
    assert desk.open(cid).draft is None and service.store.drafts(cid)[-1].status == "rejected"
    desk.send(cid, "I will check the refund to 4111 1111 1111 1111 and come back to you.", user=MARIA)
    assert service.store.drafts(cid)[-1].status == "written"
    assert (
        service.store.messages(cid)[-1].text == "I will check the refund to [card ending 1111] and come back to you."
    )
    service.ask("Another unrelated thing about Peru?", cid)  # staff-owned: silent, no new draft
    # Pasted text with NUL (PostgreSQL refuses it) and a right-to-left override (could disguise the reply).
    desk.send(cid, "Done:\x00 refund \u202e001\u202c sent.\r\nAnything else?", user=MARIA)
    assert service.store.messages(cid)[-1].text == "Done: refund 001 sent.\nAnything else?"
    with pytest.raises(InputError, match="empty"):
        desk.send(cid, "   ", user=MARIA)
    with pytest.raises(InputError, match="no conversation"):
        desk.open("nope")


def test_review_mode_holds_every_answer_as_a_draft(make_service, fake_generator):
    service = make_service(review_mode="review")
    fake_generator.enqueue("Refunds reach credit cards within 5 to 10 business days.")
    cid = service.start_conversation()
    answer = service.ask("How long do refunds take?", cid)
    assert answer.decision is Decision.HELD_FOR_REVIEW and "5 to 10" not in answer.text
    desk = ReviewDesk(service.store)
    draft = desk.open(cid).draft
    assert draft is not None and draft.text and draft.sources
    entry = next(e for e in desk.queue() if e.conversation_id == cid)
    assert entry.reason == "held_for_review"
    desk.send(cid, draft.text, user=MARIA, draft_id=draft.id)
    assert service.store.drafts(cid)[-1].status == "approved"


def test_queue_puts_requests_for_a_person_and_unhappy_customers_first(make_service):
    service = make_service()
    low = service.start_conversation()
    service.ask("What is the capital of Peru?", low)
    asked = service.start_conversation()
    service.ask("I want to talk to a human", asked)
    order = [e.conversation_id for e in ReviewDesk(service.store).queue()]
    assert order.index(asked) < order.index(low)


def test_feedback_is_stored_with_its_rating(settings):
    store = SqlStore(settings.database_url)
    cid = store.create_conversation()
    store.add_feedback(cid, -1, reason="did not answer my question")
    assert store.feedback()[0][:2] == (-1, "did not answer my question")
    with pytest.raises(StoreError, match="rating must be 1 or -1, got 5"):
        store.add_feedback(cid, 5)


def test_the_answer_a_browser_sends_with_a_thumb_is_cleaned_before_it_is_stored(make_service):
    """The rated answer's text comes back from the page, so anyone can put NUL in it (PostgreSQL refuses it)."""
    service = make_service()
    cid = service.start_conversation()
    feedback_id = service.add_feedback(cid, -1, answer="Refunds\x00 take 5 days [1].")
    service.add_feedback_reason(feedback_id, "wrong\x00 article")
    rating, reason, _, _ = service.store.feedback()[-1]
    assert (rating, reason) == (-1, "wrong article")
