"""The trial report as a Word document, for medical writers: :func:`write_docx`.

It lays out the same :class:`~oncotrial.report.html.ReportContent` as the HTML report, so
the two cannot differ by a digit. The aim is a file a medical writer pastes into a clinical
study report without editing:

* tables are real Word tables (not pictures) in the journal layout — horizontal rules above
  and below the header and under the table, no grid — with columns fitted to their text, a
  header row repeated on every page, rows that never split across pages, and the caption,
  rows and footnotes kept together (:mod:`oncotrial.report.docx_layout`); tables wider than
  a portrait page get a landscape page of their own;
* numbered captions ("Table 3", "Figure 2") are ``SEQ`` fields, the contents a ``TOC`` field,
  page numbers "Page X of Y" ``PAGE``/``NUMPAGES`` fields, each with its cached value filled in
  (:mod:`oncotrial.report.docx_fields`);
* every page header names the trial, the version of the software and the data cut-off; a
  simulated replica says so in the header of every page (``ReportContent.provenance``);
* the document properties (title, subject, author = sponsor, dates) come from the report,
  not from the library's template;
* figures are inserted as the 300-dpi PNG files the writer saved (SVG and PDF beside them for
  editing and print), scaled to the text width, kept with their caption;
* plain styles of the default template (Title, Heading 1–2, Caption), so a company template
  can restyle the document in one step.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Inches, Pt
from docx.table import _Cell

from oncotrial.report.docx_fields import add_toc, caption, identity, set_properties
from oncotrial.report.docx_layout import (
    TABLE_FONT,
    fit_columns,
    lay_out_table,
    new_section,
    set_page,
    set_running_header_footer,
    text_width,
)
from oncotrial.report.format import current_format
from oncotrial.report.html import ReportContent, ReportFigure, ReportTable

__all__ = ["render_docx", "write_docx"]

#: text width of an A4 portrait page with 2 cm margins
TEXT_WIDTH = Cm(17.0)
NOTE_FONT = Pt(8)


@dataclasses.dataclass
class _Counter:
    """The numbers of the captions written so far, cached in their ``SEQ`` fields."""

    tables: int = 0
    figures: int = 0
    landscape: bool = False


def _write_cell(cell: _Cell, text: str, *, bold: bool = False, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
                indent: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(1)
    paragraph.paragraph_format.space_after = Pt(1)
    if indent:
        paragraph.paragraph_format.left_indent = Cm(0.4)
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = TABLE_FONT


def _note(document: DocumentObject, text: str, size: Pt = NOTE_FONT, *, keep: bool = False) -> None:
    """A small paragraph; ``keep``: kept on the page of what follows (a section's lead-in
    stays with the section's first table instead of being left at the foot of a page)."""
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(2)
    paragraph.paragraph_format.keep_with_next = keep
    run = paragraph.add_run(text)
    run.font.size = size


def add_table(document: DocumentObject, table: ReportTable, counter: _Counter) -> None:
    """A :class:`ReportTable` as a Word table with its numbered caption and footnotes, on a
    landscape page of its own when it is too wide for a portrait one."""
    fit = fit_columns(table)
    _orient(document, counter, fit.landscape)
    counter.tables += 1
    title = caption(document, "Table", counter.tables, table.title)
    title.paragraph_format.keep_with_next = True
    title.paragraph_format.space_before = Pt(10)
    columns = len(table.header)
    word = document.add_table(rows=2 if table.header_groups else 1, cols=columns)
    if table.header_groups:
        start = 0
        for label, span in table.header_groups:
            cells = word.rows[0].cells
            group = cells[start].merge(cells[start + span - 1]) if span > 1 else cells[start]
            _write_cell(group, label, bold=True,
                        align=WD_ALIGN_PARAGRAPH.LEFT if start == 0 else WD_ALIGN_PARAGRAPH.CENTER)
            start += span
    header = word.rows[-1]
    for i, text in enumerate(table.header):
        _write_cell(header.cells[i], text, bold=True,
                    align=WD_ALIGN_PARAGRAPH.LEFT if i == 0 else WD_ALIGN_PARAGRAPH.CENTER)
    for row in table.rows:
        cells = word.add_row().cells
        if row.kind == "section":
            merged = cells[0].merge(cells[-1])
            _write_cell(merged, row.cells[0], bold=True)
            continue
        _write_cell(cells[0], row.cells[0], indent=row.indent)
        values = row.cells[1:]
        targets = [cells[1].merge(cells[-1])] if row.kind == "span" and columns > 2 else cells[1:]
        for cell, text in zip(targets, values, strict=True):
            _write_cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER)
    lay_out_table(word, fit, has_footnotes=bool(table.footnotes), header_rows=2 if table.header_groups else 1)
    for i, note in enumerate(table.footnotes, start=1):
        _note(document, f"{i}. {note}")
        document.paragraphs[-1].paragraph_format.keep_with_next = i < len(table.footnotes)
    if not table.footnotes:
        spacer = document.add_paragraph()
        spacer.paragraph_format.space_after = Pt(0)


def _orient(document: DocumentObject, counter: _Counter, landscape: bool) -> None:
    """A new section when the page must turn (a wide table, or back to portrait after it)."""
    if landscape != counter.landscape:
        new_section(document, landscape=landscape)
        counter.landscape = landscape


def _portrait(document: DocumentObject, counter: _Counter) -> None:
    _orient(document, counter, False)


def _section_start(document: DocumentObject, counter: _Counter, tables: tuple[ReportTable | None, ...]) -> None:
    """The orientation of a report section's first table, set before its heading so that the
    heading goes onto the same page as the table."""
    first = next((t for t in tables if t is not None), None)
    _orient(document, counter, first is not None and fit_columns(first).landscape)


def add_figure(document: DocumentObject, figure: ReportFigure, counter: _Counter) -> None:
    """The figure's PNG at its printed size (at most the text width), kept with its numbered
    caption below it."""
    _portrait(document, counter)
    width = min(Inches(figure.width_inches()), text_width(False))
    document.add_picture(str(figure.paths["png"]), width=width)
    picture = document.paragraphs[-1]
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.keep_with_next = True
    counter.figures += 1
    paragraph = caption(document, "Figure", counter.figures, figure.title)
    paragraph.runs[-1].bold = True
    paragraph.add_run(f". {figure.caption}" if not figure.title.endswith(".") else f" {figure.caption}")


def _headings(content: ReportContent) -> list[str]:
    """The level-1 headings, in order, for the cached table of contents."""
    headings = ["Patient flow", "Characteristics at randomisation", *[e.title for e in content.endpoints]]
    if content.followup:
        headings.append("Follow-up and landmark rates")
    return [*headings, "Response", "Adverse events", "Notes"]


def render_docx(content: ReportContent) -> DocumentObject:
    """The Word document of ``content`` (A4, 2 cm margins; landscape pages for wide tables)."""
    document = Document()
    who = identity(content)
    set_page(document.sections[0], landscape=False)
    set_running_header_footer(document.sections[0], who, content.provenance)
    set_properties(document, content, who)
    document.styles["Normal"].font.size = Pt(10)
    counter = _Counter()

    document.add_heading(content.title, level=0)
    document.add_paragraph(content.subtitle)
    facts = list(content.facts)
    if content.data_cutoff and not any(name == "Data cut-off" for name, _ in facts):
        facts.append(("Data cut-off", content.data_cutoff))
    facts.append(("Report version", content.generated))
    for name, value in facts:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{name}: ").bold = True
        paragraph.add_run(value)
    add_toc(document, _headings(content))

    _section_start(document, counter, (content.consort,))
    document.add_heading("Patient flow", level=1)
    add_table(document, content.consort, counter)
    if content.consort_figure is not None:
        add_figure(document, content.consort_figure, counter)
    _section_start(document, counter, (content.table1,))
    document.add_heading("Characteristics at randomisation", level=1)
    add_table(document, content.table1, counter)
    for endpoint in content.endpoints:
        tables = (*((endpoint.table,) if endpoint.table is not None else ()), *endpoint.extra_tables)
        _section_start(document, counter, tables)
        document.add_heading(endpoint.title, level=1)
        if endpoint.definition:
            document.add_paragraph(f"{endpoint.definition}.").paragraph_format.keep_with_next = True
        for note in endpoint.notes:
            _note(document, note, Pt(9), keep=True)
        for table in tables:
            add_table(document, table, counter)
        for figure in endpoint.figures:
            add_figure(document, figure, counter)
    if content.followup:
        _section_start(document, counter, content.followup)
        document.add_heading("Follow-up and landmark rates", level=1)
        for table in content.followup:
            add_table(document, table, counter)
    for heading, tables, notes in (
            ("Response", (content.response,), content.response_notes),
            ("Adverse events", (content.adverse_events, *content.safety), content.adverse_event_notes)):
        _section_start(document, counter, tables)
        document.add_heading(heading, level=1)
        for note in notes:
            _note(document, note, Pt(9), keep=True)
        for table in tables:
            if table is not None:
                add_table(document, table, counter)
    _portrait(document, counter)
    document.add_heading("Notes", level=1)
    for note in content.notes or ("Every output of the report was produced.",):
        document.add_paragraph(note, style="List Bullet")
    document.add_paragraph(f"Numbers are {current_format().rule}; NE: not estimable. Every number is read "
                           "from the analysis-results dataset delivered with this report (ard.json, ard.csv).")
    return document


def write_docx(content: ReportContent, path: str | Path) -> Path:
    """Write :func:`render_docx` to ``path`` and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    render_docx(content).save(str(out))
    return out
