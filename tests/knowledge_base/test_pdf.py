"""PDF layout to Markdown: pure rules on `Line`s, then through real PDFs written with pypdf."""

from importlib.util import find_spec

import pytest

from knowledge_base.pdf import Line, furniture, joined, pdf_markdown
from tests.pdfs import write_pdf_pages


def line(
    page: int, top: float, text: str, *, x0: float = 60, x1: float | None = None, size: float = 10, mono: bool = False
) -> Line:
    right = x1 if x1 is not None else 500 if len(text) > 40 else x0 + 5 * len(text)
    return Line(page, text, x0, right, top, top + size, size, 842, mono)


def test_wrapped_paragraphs_are_one_line_each_and_a_larger_line_is_a_heading():
    lines = [
        line(0, 70, "How to return an item", size=16),
        line(0, 100, "You can return most items within 30 days of delivery. Start the"),
        line(0, 112, "return from your account and print the label."),
        line(0, 124, "Refunds reach your card within 10 business days.", x0=75),  # indented: a new paragraph
    ]
    assert pdf_markdown(lines) == (
        "## How to return an item\n\n"
        "You can return most items within 30 days of delivery. Start the return from your account and print the "
        "label.\n\nRefunds reach your card within 10 business days."
    )


def test_a_heading_over_two_lines_is_one_heading_and_sizes_give_levels():
    lines = [
        line(0, 60, "Returns", size=20),
        line(0, 100, "What if the parcel arrived damaged and the card-", size=14),
        line(0, 116, "board box is open?", size=14),
        line(0, 140, "Keep the box and send us a photo of it within two days. We then"),
        line(0, 152, "send you a new one."),
    ]
    assert pdf_markdown(lines).split("\n\n") == [
        "## Returns",
        "### What if the parcel arrived damaged and the cardboard box is open?",
        "Keep the box and send us a photo of it within two days. We then send you a new one.",
    ]


def test_a_sentence_goes_on_across_a_page_break_and_a_paragraph_that_ended_does_not():
    lines = [
        line(0, 700, "Send the parcel back with the label that came with your order, or"),
        line(1, 80, "print a new one from your account."),
        line(1, 92, "Refunds take ten days.", x0=75),
    ]
    assert pdf_markdown(lines) == (
        "Send the parcel back with the label that came with your order, or print a new one from your account.\n\n"
        "Refunds take ten days."
    )
    assert pdf_markdown([line(0, 700, "Refunds take ten days."), line(1, 80, "Exchanges are free.")]) == (
        "Refunds take ten days.\n\nExchanges are free."
    )


def test_bullets_become_list_items_with_their_wrapped_lines_and_the_text_after_the_list_is_apart():
    lines = [
        line(0, 100, "These items cannot be returned:"),
        line(0, 114, "• Gift cards and vouchers that were bought in a shop or online from", x0=70),
        line(0, 126, "our partners.", x0=78),
        line(0, 140, "• Opened software.", x0=70),
        line(0, 154, "Everything else can be returned."),
    ]
    assert pdf_markdown(lines) == (
        "These items cannot be returned:\n\n- Gift cards and vouchers that were bought in a shop or online from our "
        "partners.\n- Opened software.\n\nEverything else can be returned."
    )


def test_running_headers_page_numbers_and_contents_lines_are_left_out_but_the_first_line_of_each_page_stays():
    pages = []
    for page in range(4):
        pages += [
            line(page, 30, "ACME HANDBOOK — RETURNS", size=8),
            line(page, 80, f"Page {page} starts with this sentence which goes on"),
            line(page, 92, "to the next line."),
            line(page, 805, str(page + 1)),
        ]
    kept = pdf_markdown([line(0, 60, "1.1 Returns . . . . . . . . 3"), *pages])
    assert "ACME" not in kept and ". . ." not in kept and "\n1\n" not in kept
    assert kept.count("starts with this sentence which goes on to the next line.") == 4
    # A document without running headers keeps every line, though its pages all start at the same height.
    plain = [line(p, t, f"Page {p} goes on at {t} and the sentence goes on") for p in range(4) for t in (80, 92)]
    assert furniture(plain, 10) == set()


def test_lines_in_a_typewriter_font_are_a_code_block_and_a_root_prompt_is_no_heading():
    # The Debian Reference's PDF: every "# command" (a root prompt) became a heading and cut its section in two.
    lines = [
        line(0, 60, "Shutting down", size=16),
        line(0, 100, "You can shut the system down from the command line."),
        line(0, 115, "# shutdown -h now", mono=True),
        line(0, 127, "# poweroff -i -f", x0=72, mono=True),  # 2 characters in
        line(0, 142, "Do this only as root."),
        line(0, 154, "• The apt-get command", mono=True),  # a list item that names a command is no code
        line(0, 170, "The manual is on the Debian website"),
        line(0, 182, "(https://www.debian.org/doc/).", mono=True),  # an address that ends the sentence
        line(0, 200, "To list the packages, execute the command"),
        line(0, 220, "dpkg --list", mono=True),  # set apart: a command
    ]
    assert pdf_markdown(lines) == (
        "## Shutting down\n\nYou can shut the system down from the command line.\n\n"
        "```\n# shutdown -h now\n  # poweroff -i -f\n```\n\nDo this only as root.\n\n- The apt-get command\n\n"
        "The manual is on the Debian website (https://www.debian.org/doc/).\n\n"
        "To list the packages, execute the command\n\n```\ndpkg --list\n```"
    )


def test_a_table_of_contents_is_left_out_but_a_section_named_contents_stays():
    lines = [
        line(0, 40, "Contents", size=16),
        line(0, 70, "1 Getting started . ."),
        line(0, 82, ". . ."),
        line(0, 94, "1.1 Shutting down . . . 12"),
        line(0, 106, "1.2 Users"),
        line(1, 40, "List of Tables", size=16),
        line(1, 70, "2.1 Package tools . . . . 40"),
        line(1, 100, "Contents", size=16),
        line(1, 130, "The box holds the printer, its power cord and a quick-start guide."),
    ]
    assert pdf_markdown(lines) == ("## Contents\n\nThe box holds the printer, its power cord and a quick-start guide.")


def test_lines_join_over_hyphens_and_cut_addresses():
    assert joined("It runs on the Pen-", "tium") == "It runs on the Pentium"
    assert joined("for 32-", "bit PCs") == "for 32-bit PCs"
    assert joined("see https://www.", "debian.org/ports/") == "see https://www.debian.org/ports/"
    assert joined("Send it", "Monday") == "Send it Monday"


@pytest.mark.skipif(find_spec("pdfminer") is None, reason="needs the faiss extra (pdfminer.six)")
def test_a_real_pdf_reads_as_paragraphs_under_its_heading(tmp_path):
    from knowledge_base.loaders import pdf_document

    def page(number: int, body: list[tuple[float, float, float, str]]) -> list[tuple[float, float, float, str]]:
        return [(60, 40, 8, "ACME Handbook"), *body, (290, 810, 9, str(number))]

    write_pdf_pages(
        tmp_path / "handbook.pdf",
        [
            page(1, [(60, 90, 18, "Returns and refunds"), (60, 120, 10, "Start the return from your account, print")]),
            page(2, [(60, 90, 10, "the label and take the parcel to a post office.")]),
            page(3, [(60, 90, 10, "These items cannot be returned:"), (70, 104, 10, "• Gift cards.")]),
            page(4, [(60, 90, 10, "To check the label, run:"), (60, 104, 10, "`# acme-label --check")]),
        ],
    )
    doc = pdf_document(tmp_path / "handbook.pdf", "handbook.pdf")
    assert doc.title == "Returns and refunds"  # no title in the document information: its largest text
    assert doc.text == (
        "## Returns and refunds\n\n"
        "Start the return from your account, print the label and take the parcel to a post office.\n\n"
        "These items cannot be returned:\n\n- Gift cards.\n\n"
        "To check the label, run:\n\n```\n# acme-label --check\n```"
    )
