"""Real Word documents written with python-docx (for loader tests): styles, direct numbering, tables."""

from pathlib import Path


def write_shipping_docx(path: Path) -> Path:
    """A help article as a Word author writes one: a Title, headings, a numbered and a bulleted list by style,
    a table with a header row and a paragraph after it."""
    import docx

    document = docx.Document()
    document.add_paragraph("Shipping and delivery", style="Title")
    document.add_heading("Delivery times", 1)
    document.add_paragraph("To get your order tomorrow:")
    document.add_paragraph("Order before 2 pm.", style="List Number")
    document.add_paragraph("Choose Express at checkout.", style="List Number")
    document.add_paragraph("We e-mail the tracking link.")
    table = document.add_table(rows=3, cols=3)
    rows = [
        ["Option", "Time", "Price"],
        ["Standard", "3-5 business days", "4.95 euros"],
        ["Express", "", "9.95 euros"],
    ]
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_heading("Where we ship", 2)
    document.add_paragraph("Netherlands", style="List Bullet")
    document.add_paragraph("Belgium", style="List Bullet")
    document.save(str(path))
    return path


def write_numbered_by_hand_docx(path: Path) -> Path:
    """List items numbered on the paragraph itself ("List Paragraph" + numbering), as Word's list buttons do."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Returns"
    numbered = document.styles["List Number"].element.pPr.numPr.numId.val
    bulleted = document.styles["List Bullet"].element.pPr.numPr.numId.val
    document.add_paragraph("How to return an item:")
    for text, num_id in [("Open Orders.", numbered), ("Choose Return.", numbered), ("Keep the receipt.", bulleted)]:
        paragraph = document.add_paragraph(text, style="List Paragraph")
        numbering = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        numbering.get_or_add_numId().val = num_id
        numbering.get_or_add_ilvl().val = 0
    document.save(str(path))
    return path
