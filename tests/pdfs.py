"""Real PDFs with a text layer, written with pypdf (for loader and crawl tests)."""

from pathlib import Path

PAGE_HEIGHT = 842  # A4, in points


def write_pdf(path: Path, text: str, title: str = "") -> Path:
    """A one-page PDF with one line of text."""
    return write_pdf_pages(path, [[(20, 100, 12, text)]], title=title, height=200)


def write_pdf_pages(
    path: Path, pages: list[list[tuple[float, float, float, str]]], title: str = "", height: float = PAGE_HEIGHT
) -> Path:
    """A PDF whose pages hold the given lines: (x, distance of the baseline from the page's top, font size, text),
    in Helvetica; a text that starts with "`" is set in Courier (code), without the "`"."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    fonts = {
        name: writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject(base),
                    NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),  # "•" is byte 149
                }
            )
        )
        for name, base in (("/F1", "/Helvetica"), ("/F2", "/Courier"))
    }
    for lines in pages:
        page = writer.add_blank_page(width=595, height=height)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject(name): font for name, font in fonts.items()})}
        )
        stream = DecodedStreamObject()
        shown = [
            f"BT /{'F2' if text.startswith('`') else 'F1'} {size} Tf {x} {height - y} Td "
            f"({_escaped(text.removeprefix('`'))}) Tj ET".encode("cp1252")
            for x, y, size, text in lines
        ]
        stream.set_data(b"\n".join(shown))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title:
        writer.add_metadata({"/Title": title})
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
