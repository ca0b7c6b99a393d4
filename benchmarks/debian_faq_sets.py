"""One knowledge base in three formats: the Debian GNU/Linux FAQ as HTML pages, as one plain-text file and as one PDF,
with the same questions put to each. What the answers lose from one format to the next is what the loaders lose.

The FAQ ships with Debian (`apt-get install debian-faq`: /usr/share/doc/debian/FAQ; "Permission is granted to make
and distribute verbatim copies"). Its sections are headed by questions ("What kernels does Debian GNU/Linux run?").
Each question heading of the HTML is a question; its reference is the first paragraph under it, which is how a FAQ
answers. `section` keeps the section's whole text, for a second measure that does not favour first paragraphs:
whether the answer's first sentence comes from the question's own section (`--score`).

Run: .venv/bin/python benchmarks/debian_faq_sets.py --out /tmp/dfaq
writes /tmp/dfaq/{html,txt,pdf}/ and /tmp/dfaq/questions.jsonl. Then, for F in html txt pdf:
    chatbot --home /tmp/dfaq/home_$F kb ingest /tmp/dfaq/$F
    chatbot --home /tmp/dfaq/home_$F eval answers --questions /tmp/dfaq/questions.jsonl --out $F.jsonl --no-generate
    .venv/bin/python benchmarks/debian_faq_sets.py --out /tmp/dfaq --score $F.jsonl
"""

import argparse
import gzip
import json
import re
import shutil
from pathlib import Path

from bs4 import BeautifulSoup, Tag

FAQ = Path("/usr/share/doc/debian/FAQ")
NUMBERED_QUESTION = re.compile(r"^[\d.]+\s+(.*\?)$")  # "4.2. What kernels does Debian GNU/Linux run?"


def questions(html_dir: Path) -> list[dict]:
    rows = []
    for page in sorted(html_dir.glob("*.en.html")):
        soup = BeautifulSoup(page.read_bytes(), "html.parser")
        for heading in soup.find_all(["h2", "h3"]):
            match = NUMBERED_QUESTION.match(" ".join(heading.get_text().split()))
            section = heading.find_parent("div", class_="section")
            if not match or section is None:
                continue
            # The section's own text: its paragraphs, lists and examples, not the sections nested in it.
            parts = [
                " ".join(child.get_text().split())
                for child in section.children
                if isinstance(child, Tag)
                and "titlepage" not in (child.get("class") or [])
                and "section" not in (child.get("class") or [])
            ]
            first = section.find("p", recursive=False)
            reference = " ".join(first.get_text().split()) if first else ""
            if len(reference.split()) >= 5:
                rows.append({"question": match.group(1), "reference": reference, "section": " ".join(parts)})
    return [{"id": f"dfaq-{k}", **row} for k, row in enumerate(rows)]


def write_questions(rows: list[dict], path: Path) -> None:
    """`rows` as the question file of `chatbot eval answers` (one JSON object per line)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    print(f"{len(rows)} questions in {path}")


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def score(questions_file: Path, answers_file: Path) -> None:
    by_id = {row["id"]: row for row in map(json.loads, questions_file.read_text(encoding="utf-8").splitlines())}
    answers = [json.loads(line) for line in answers_file.read_text(encoding="utf-8").splitlines()]
    hits = 0
    for answer in answers:
        text = re.sub(r"\s*\[\d+\]", "", answer["answer"]).split("\n")[0]
        first_sentence = re.split(r"(?<=[.!?])\s+", text)[0]
        hits += _letters(first_sentence)[:60] in _letters(by_id[answer["id"]]["section"])
    print(f"{answers_file}: first sentence from the question's own section: {hits} / {len(answers)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--score", type=Path, help="an `eval answers --out` file to score by section")
    args = parser.parse_args()
    if args.score:
        score(args.out / "questions.jsonl", args.score)
        return
    if not FAQ.exists():
        raise SystemExit(f"{FAQ} not found: apt-get install debian-faq")
    for folder in ("html", "txt", "pdf"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    for page in FAQ.glob("*.en.html"):
        shutil.copy(page, args.out / "html" / page.name)
    for suffix in ("txt", "pdf"):
        with gzip.open(FAQ / f"debian-faq.en.{suffix}.gz") as fh:
            (args.out / suffix / f"debian-faq.{suffix}").write_bytes(fh.read())
    write_questions(questions(args.out / "html"), args.out / "questions.jsonl")


if __name__ == "__main__":
    main()
