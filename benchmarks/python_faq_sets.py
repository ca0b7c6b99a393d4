"""Another domain for the answers: the Python FAQ (programming, design, library, Windows ...) as HTML pages, with
each question heading put to it as a customer's question and the first paragraph under it as the reference.

The FAQ ships with Debian's Python documentation (`apt-get install python3.11-doc`:
/usr/share/doc/python3.11/html/faq/; PSF documentation licence). Its pages are Sphinx HTML: every question is an
`<h3>` (a few an `<h2>`) heading its own `<section>`, whose first `<p>` is how the FAQ answers. Questions whose first
paragraph is under 5 words ("Yes.") or that are not questions are left out, as in `debian_faq_sets.py`.

Run: .venv/bin/python benchmarks/python_faq_sets.py --out /tmp/pyfaq
writes /tmp/pyfaq/html/ (the knowledge base) and /tmp/pyfaq/questions.jsonl. Then:
    chatbot --home /tmp/pyfaq/home kb ingest /tmp/pyfaq/html
    chatbot --home /tmp/pyfaq/home eval answers --questions /tmp/pyfaq/questions.jsonl --out pyfaq.jsonl --no-generate
"""

import argparse
import shutil
from pathlib import Path

from bs4 import BeautifulSoup
from debian_faq_sets import write_questions

FAQ = Path("/usr/share/doc/python3.11/html/faq")


def questions(html_dir: Path) -> list[dict]:
    rows = []
    for page in sorted(html_dir.glob("*.html")):
        soup = BeautifulSoup(page.read_bytes(), "html.parser")
        for heading in soup.find_all(["h2", "h3"]):
            question = " ".join(heading.get_text().replace("¶", "").split())
            section = heading.find_parent("section")
            first = section.find("p", recursive=False) if section else None
            reference = " ".join(first.get_text().split()) if first else ""
            if question.endswith("?") and len(reference.split()) >= 5:
                rows.append({"question": question, "reference": reference})
    return [{"id": f"pyfaq-{k}", **row} for k, row in enumerate(rows)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not FAQ.exists():
        raise SystemExit(f"{FAQ} not found: apt-get install python3.11-doc")
    (args.out / "html").mkdir(parents=True, exist_ok=True)
    for page in FAQ.glob("*.html"):
        if page.name != "index.html":  # the table of contents: every question again, with no answer
            shutil.copy(page, args.out / "html" / page.name)
    write_questions(questions(args.out / "html"), args.out / "questions.jsonl")


if __name__ == "__main__":
    main()
