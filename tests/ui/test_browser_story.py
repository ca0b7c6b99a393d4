"""The whole story in a real browser (headless Chromium driven by Playwright), against the app served on
loopback: a customer is handed off, staff edit the suggested reply and send it, the customer sees it (and again
after reloading the page), an
operator adds a document (and fetches a help center from a website) and the customer's next question is answered
from it with its source; the operator rewords the bot's greeting and the customer is greeted in those words.

Screenshots of every page go to test-artifacts/browser/ (not committed): look at them.
"""

import re
import shutil
from importlib.util import find_spec
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    find_spec("playwright") is None or not Path(CHROMIUM).exists(),
    reason="needs playwright and Debian's chromium (make test installs both)",
)


@pytest.fixture
def served(make_service, serve_app):
    service = make_service(handoff_confidence=0.3)
    url, _ = serve_app(service, [("maria", "staff", "staff passphrase"), ("omar", "operator", "operator passphrase")])
    return url, service


def sign_in(page, url, path, name, password):
    page.goto(url + path)
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path)))


def ask(page, question):
    page.locator("textarea").first.fill(question)
    page.keyboard.press("Enter")


def test_handoff_staff_reply_and_a_new_document_in_a_real_browser(served, tmp_path, help_site):
    from playwright.sync_api import expect, sync_playwright

    url, service = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        customer = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        customer.goto(url + "/")
        expect(customer.get_by_text("Do you ship outside Europe?")).to_be_visible(timeout=15_000)  # the KB's FAQ
        ask(customer, "Can I pay with Bitcoin?")
        expect(customer.get_by_text("passing your conversation to a member of our support team")).to_be_visible(
            timeout=30_000
        )
        customer.screenshot(path=ARTIFACTS / "1-customer-handed-off.png", full_page=True)

        staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        staff.goto(url + "/review/")
        assert "/login" in staff.url  # not reachable without signing in
        sign_in(staff, url, "/review/", "maria", "staff passphrase")
        row = staff.locator("span.text", has_text="Can I pay with Bitcoin?").first
        expect(row).to_be_visible(timeout=15_000)
        expect(staff).to_have_title("(1) Review queue", timeout=15_000)  # seen from another tab too
        staff.screenshot(path=ARTIFACTS / "2-review-queue.png", full_page=True)
        row.click()
        reply = staff.get_by_label("Reply to the customer (edit the suggestion or write your own)")
        expect(reply).not_to_have_value("", timeout=15_000)  # the bot's suggestion is there to edit
        # Staff may paste a command: it shows as code, its indentation kept.
        reply.fill(
            "Hello, Maria here: not yet, but we are adding Bitcoin next month. Until then:\n```\npay --card\n  --save\n```"
        )
        staff.get_by_role("button", name="Send reply").click()
        expect(staff.get_by_text("Sent to the customer.")).to_be_visible(timeout=15_000)
        staff.screenshot(path=ARTIFACTS / "3-review-reply-sent.png", full_page=True)
        staff.get_by_role("button", name="Hand back to bot").click()
        expect(staff.get_by_text("· bot", exact=False)).to_be_visible(timeout=15_000)
        expect(staff).to_have_title("Review queue", timeout=15_000)  # nobody waits now

        expect(customer.get_by_text("Maria here: not yet")).to_be_visible(timeout=15_000)
        expect(customer.locator("pre code").last).to_have_text(re.compile(r"^pay --card\n  --save\n?$"))
        customer.screenshot(path=ARTIFACTS / "4-customer-sees-staff-reply.png", full_page=True)
        customer.reload()  # the customer opens another page of the site: the chat is loaded again
        expect(customer.get_by_text("Maria here: not yet")).to_be_visible(timeout=15_000)
        expect(customer.get_by_text("Can I pay with Bitcoin?")).to_be_visible()
        customer.screenshot(path=ARTIFACTS / "4b-customer-reloads-and-finds-the-conversation.png", full_page=True)

        operator = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(operator, url, "/operator/", "omar", "operator passphrase")
        document = tmp_path / "bitcoin.md"
        document.write_text(
            "# Paying with Bitcoin\n\nWe accept Bitcoin payments at checkout since this month. "
            "Bitcoin payments are confirmed within one hour.\n"
        )
        with operator.expect_file_chooser() as chooser:
            operator.get_by_role("button", name="Click to upload or drop files").first.click()
        chooser.value.set_files(str(document))
        expect(operator.get_by_text("bitcoin.md").first).to_be_visible(timeout=15_000)  # uploaded
        operator.get_by_role("button", name="Ingest").click()
        expect(operator.get_by_text("1 added")).to_be_visible(timeout=60_000)
        expect(operator.locator("span.text", has_text="uploads/bitcoin.md").first).to_be_visible(timeout=15_000)
        operator.screenshot(path=ARTIFACTS / "5-operator-ingested.png", full_page=True)
        operator.get_by_label("Or fetch your help center from its website").fill(help_site[0] + "/help/")
        operator.get_by_role("button", name="Fetch website").click()
        expect(operator.get_by_text("4 pages fetched")).to_be_visible(timeout=60_000)
        operator.screenshot(path=ARTIFACTS / "5b-operator-fetched-the-website.png", full_page=True)

        ask(customer, "Bitcoin payments?")
        expect(customer.get_by_text("uploads/bitcoin.md")).to_be_visible(timeout=30_000)  # the source is listed
        customer.screenshot(path=ARTIFACTS / "6-customer-answered-from-new-document.png", full_page=True)

        operator.get_by_role("tab", name="Bot texts").click()
        operator.get_by_label("Text to reword").click()
        operator.get_by_role("option", name="greeting").click()
        words = operator.get_by_label("Words")
        expect(words).to_have_value(re.compile("^Hello! How can I help"), timeout=15_000)
        words.fill("Hallo! Wie können wir helfen?")
        operator.get_by_role("button", name="Save").click()
        expect(operator.get_by_text("Saved greeting")).to_be_visible(timeout=15_000)
        operator.screenshot(path=ARTIFACTS / "7-operator-rewords-the-greeting.png", full_page=True)
        ask(customer, "Hello!")
        expect(customer.get_by_text("Hallo! Wie können wir helfen?")).to_be_visible(timeout=15_000)
        browser.close()
    decided = service.store.drafts()[-1]
    assert decided.status == "edited"
    assert service.store.count_conversations() == 1  # the customer's whole story, reload included, is one
