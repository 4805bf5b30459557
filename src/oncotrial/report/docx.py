"""The trial report as a Word document, for medical writers: :func:`write_docx`.

It lays out the same :class:`~oncotrial.report.html.ReportContent` as the HTML report, so
the two cannot differ by a digit. What a medical writer needs to reuse the content in a
clinical study report:

* tables are real Word tables (not pictures): a header row marked to repeat on every page,
  labels left-aligned and numbers centred, section rows merged across the table, the
  caption above and the footnotes below;
* figures are inserted as the 300-dpi PNG files the writer saved (SVG and PDF beside them
  for editing and print), scaled to the text width, with their caption;
* plain styles of the default template (Title, Heading 1–2, Caption), so a company template
  can restyle the document in one step;
* a simulated replica says so in the header of every page (``ReportContent.provenance``).
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Inches, Pt
from docx.table import _Cell, _Row

from oncotrial.report.html import ReportContent, ReportFigure, ReportTable

__all__ = ["render_docx", "write_docx"]

#: text width of an A4 page with 2 cm margins
TEXT_WIDTH = Cm(17.0)
TABLE_FONT = Pt(9)
NOTE_FONT = Pt(8)
HEADER_FILL = "E7EDF3"
SECTION_FILL = "F4F6F8"


def _shade(cell: _Cell, fill: str) -> None:
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def _repeat_as_header(row: _Row) -> None:
    """Mark a table row as a header row, repeated at the top of each page (``w:tblHeader``)."""
    properties = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    properties.append(flag)


def _write_cell(cell: _Cell, text: str, *, bold: bool = False, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
                indent: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    if indent:
        paragraph.paragraph_format.left_indent = Cm(0.4)
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = TABLE_FONT


def _note(document: DocumentObject, text: str, size: Pt = NOTE_FONT) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(2)
    run = paragraph.add_run(text)
    run.font.size = size


def add_table(document: DocumentObject, table: ReportTable) -> None:
    """A :class:`ReportTable` as a Word table with its caption and footnotes."""
    document.add_paragraph(table.title, style="Caption")
    columns = len(table.header)
    word = document.add_table(rows=1, cols=columns)
    word.style = "Table Grid"
    word.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = word.rows[0]
    _repeat_as_header(header)
    for i, text in enumerate(table.header):
        _write_cell(header.cells[i], text, bold=True,
                    align=WD_ALIGN_PARAGRAPH.LEFT if i == 0 else WD_ALIGN_PARAGRAPH.CENTER)
        _shade(header.cells[i], HEADER_FILL)
    for row in table.rows:
        cells = word.add_row().cells
        if row.kind == "section":
            merged = cells[0].merge(cells[-1])
            _write_cell(merged, row.cells[0], bold=True)
            _shade(merged, SECTION_FILL)
            continue
        _write_cell(cells[0], row.cells[0], indent=row.indent)
        values = row.cells[1:]
        targets = [cells[1].merge(cells[-1])] if row.kind == "span" and columns > 2 else cells[1:]
        for cell, text in zip(targets, values, strict=True):
            _write_cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER)
    for i, note in enumerate(table.footnotes, start=1):
        _note(document, f"{i}. {note}")


def add_figure(document: DocumentObject, figure: ReportFigure) -> None:
    """The figure's PNG at its printed size (at most the text width) and its caption."""
    width = min(Inches(figure.width_inches()), TEXT_WIDTH)
    document.add_picture(str(figure.paths["png"]), width=width)
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = document.add_paragraph(style="Caption")
    caption.add_run(f"{figure.title}. ").bold = True
    caption.add_run(figure.caption)


def render_docx(content: ReportContent) -> DocumentObject:
    """The Word document of ``content`` (A4 portrait, 2 cm margins)."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    section.footer.paragraphs[0].text = f"{content.title}. Generated by {content.generated}."
    document.styles["Normal"].font.size = Pt(10)

    document.add_heading(content.title, level=0)
    document.add_paragraph(content.subtitle)
    for name, value in content.facts:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{name}: ").bold = True
        paragraph.add_run(value)

    document.add_heading("Patient flow", level=1)
    add_table(document, content.consort)
    document.add_heading("Characteristics at randomisation", level=1)
    add_table(document, content.table1)
    for endpoint in content.endpoints:
        document.add_heading(endpoint.title, level=1)
        if endpoint.definition:
            document.add_paragraph(f"{endpoint.definition}.")
        for note in endpoint.notes:
            _note(document, note, Pt(9))
        if endpoint.table is not None:
            add_table(document, endpoint.table)
        for figure in endpoint.figures:
            add_figure(document, figure)
    for heading, table, notes in (("Response", content.response, content.response_notes),
                                  ("Adverse events", content.adverse_events, content.adverse_event_notes)):
        document.add_heading(heading, level=1)
        for note in notes:
            _note(document, note, Pt(9))
        if table is not None:
            add_table(document, table)
    document.add_heading("Notes", level=1)
    for note in content.notes or ("Every output of the report was produced.",):
        document.add_paragraph(note, style="List Bullet")
    document.add_paragraph("Numbers are rounded half up (SAS ROUND); NE: not estimable. Every number is read "
                           "from the analysis-results dataset delivered with this report (ard.json, ard.csv).")
    if content.provenance:
        _mark_pages(document, content.provenance)
    return document


def _mark_pages(document: DocumentObject, mark: str) -> None:
    """The simulated-data mark in the header of every section, first and even pages included,
    so that no printed page of a simulated replica can pass for trial results."""
    for section in document.sections:
        headers = [section.header]
        if section.different_first_page_header_footer:
            headers.append(section.first_page_header)
        if document.settings.odd_and_even_pages_header_footer:
            headers.append(section.even_page_header)
        for header in headers:
            header.is_linked_to_previous = False
            paragraph = header.paragraphs[0]
            paragraph.text = ""
            run = paragraph.add_run(mark)
            run.bold = True
            run.font.size = Pt(9)


def write_docx(content: ReportContent, path: str | Path) -> Path:
    """Write :func:`render_docx` to ``path`` and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    render_docx(content).save(str(out))
    return out
