"""Questions that ask what a term means, as customers ask them of a glossary: "What is a coroutine?"

Help centers define their terms (plans, features, fees) in glossaries or in "X: ..." lines, and "what is X?" is
among the commonest questions put to them. This builds such a set from the Python glossary that ships with Debian's
Python documentation (`apt-get install python3.11-doc`: /usr/share/doc/python3.11/html/glossary.html; PSF
documentation licence): a Sphinx definition list of 128 terms. Each term with letters in it becomes "What is
<term>?", with the first paragraph of its definition as the reference. The knowledge base is the glossary and the
Python FAQ's pages beside it (`python_faq_sets.py`), whose answers name many of the same terms.

Run: .venv/bin/python benchmarks/python_glossary_sets.py --out /tmp/pyglossary
writes /tmp/pyglossary/html/ (the knowledge base) and /tmp/pyglossary/questions.jsonl. Then:
    chatbot --home /tmp/pyglossary/home kb ingest /tmp/pyglossary/html
    chatbot --home /tmp/pyglossary/home eval answers --questions /tmp/pyglossary/questions.jsonl --no-generate
"""

import argparse
import re
import shutil
from pathlib import Path

from bs4 import BeautifulSoup
from debian_faq_sets import write_questions
from python_faq_sets import FAQ

GLOSSARY = FAQ.parent / "glossary.html"


def questions(glossary: Path) -> list[dict]:
    """One question per term of `glossary` that has letters in it (">>>" and "..." have none)."""
    soup = BeautifulSoup(glossary.read_bytes(), "html.parser")
    rows = []
    for term in soup.find_all("dt"):
        name = " ".join(term.get_text().replace("¶", "").split())
        definition = term.find_next_sibling("dd")
        first = definition.find("p") if definition else None
        reference = " ".join(first.get_text().split()) if first else ""
        if re.search(r"[A-Za-z]", name) and reference:
            rows.append({"question": f"What is {name}?", "reference": reference})
    return [{"id": f"pyglossary-{k}", **row} for k, row in enumerate(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not GLOSSARY.exists():
        raise SystemExit(f"{GLOSSARY} not found: apt-get install python3.11-doc")
    (args.out / "html").mkdir(parents=True, exist_ok=True)
    shutil.copy(GLOSSARY, args.out / "html" / GLOSSARY.name)
    for page in FAQ.glob("*.html"):
        if page.name != "index.html":
            shutil.copy(page, args.out / "html" / page.name)
    write_questions(questions(GLOSSARY), args.out / "questions.jsonl")


if __name__ == "__main__":
    main()
