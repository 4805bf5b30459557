"""Page and table layout of the Word report: journal-style rules, fitted column widths,
rows that never split, captions and footnotes kept with their table, landscape pages for
wide tables, and the header and footer of every page.

Why each rule: a CSR table is read on paper. Vertical lines and full grids are not used in
journals or CSRs (three horizontal rules: above and below the header, below the table); a
row cut by a page break or a caption alone at the foot of a page makes the writer fix the
layout by hand; equal column widths wrap a long label over three lines while the number
columns stay half empty.
"""

from __future__ import annotations

import dataclasses

from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Emu, Length, Pt
from docx.table import Table, _Cell, _Row

from oncotrial.report.docx_fields import ReportIdentity, add_page_x_of_y
from oncotrial.report.html import ReportTable

__all__ = ["PAGE_LONG", "PAGE_SHORT", "MARGIN", "TABLE_FONT", "TableFit", "fit_columns", "keep_with_next",
           "lay_out_table", "new_section", "schema_order", "set_page", "set_running_header_footer"]

PAGE_SHORT, PAGE_LONG = Cm(21.0), Cm(29.7)
MARGIN = Cm(2.0)
TABLE_FONT = Pt(9)
HEADER_FONT = Pt(8)
#: the widest value columns a portrait page takes before the table goes landscape
MAX_PORTRAIT_VALUE_COLUMNS = 5
#: mean advance of a character of the 9-pt table font (Calibri/Carlito), and cell padding
_CHAR = Cm(0.175)
_PADDING = Cm(0.4)
_INDENT = Cm(0.4)
_RULE = 8  # eighths of a point: 1 pt rules


@dataclasses.dataclass(frozen=True)
class TableFit:
    """Column widths of a table and the orientation of the page it needs."""

    widths: tuple[Length, ...]
    landscape: bool


def text_width(landscape: bool) -> Length:
    """The width between the margins of an A4 page."""
    return Emu((PAGE_LONG if landscape else PAGE_SHORT) - 2 * MARGIN)


def _span(text: str) -> int:
    return int(len(text) * _CHAR + _PADDING)


def _longest_word(text: str) -> int:
    return max((_span(word) for word in text.split()), default=_span(""))


def fit_columns(table: ReportTable) -> TableFit:
    """Widths from the text lengths: each value column as wide as its longest cell (a header
    may wrap between words), the label column the rest of the page, at least half its longest
    label so that no label wraps beyond two lines. Landscape when the table has more than
    :data:`MAX_PORTRAIT_VALUE_COLUMNS` value columns or does not fit a portrait page."""
    columns = len(table.header)
    values = [0] * (columns - 1)
    label = _span(table.header[0])
    for row in table.rows:
        label = max(label, _span(row.cells[0]) + (int(_INDENT) if row.indent else 0))
        if row.kind == "data":
            for i, text in enumerate(row.cells[1:]):
                values[i] = max(values[i], _span(text))
    values = [max(width, _longest_word(head), int(Cm(1.2))) for width, head in zip(values, table.header[1:],
                                                                                   strict=True)]
    label_min = max(label // 2, int(Cm(3.0)))
    landscape = columns - 1 > MAX_PORTRAIT_VALUE_COLUMNS or label_min + sum(values) > text_width(False)
    page = int(text_width(landscape))
    if label_min + sum(values) > page:  # even landscape is too narrow: shrink every column alike
        scale = page / (label_min + sum(values))
        return TableFit(tuple(Emu(int(w * scale)) for w in (label_min, *values)), landscape)
    label_width = min(label, page - sum(values))
    # spare room first lets each header stand on one line, then widens the label column
    spare = page - label_width - sum(values)
    wishes = [max(_span(head) - width, 0) for width, head in zip(values, table.header[1:], strict=True)]
    if sum(wishes):
        granted = min(1.0, spare / sum(wishes))
        values = [width + int(wish * granted) for width, wish in zip(values, wishes, strict=True)]
    label_width = page - sum(values)
    return TableFit(tuple(Emu(int(w)) for w in (label_width, *values)), landscape)


def _border(parent: BaseOxmlElement, side: str, *, size: int | None) -> None:
    element = OxmlElement(f"w:{side}")
    if size is None:
        element.set(qn("w:val"), "nil")
    else:
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
    parent.append(element)


def _table_borders(table: Table) -> None:
    """Rules above and below the table only; no vertical, inside or side borders."""
    tbl_pr = table._tbl.tblPr
    for old in tbl_pr.findall(qn("w:tblBorders")):
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        _border(borders, side, size=_RULE if side in ("top", "bottom") else None)
    tbl_pr.append(borders)


def _rule_under(row: _Row, *, labelled_only: bool = False) -> None:
    """The rule under a header row, as a bottom border of each of its cells (with
    ``labelled_only``, of its cells with text: the short rule under a spanning label)."""
    for tc in row._tr.tc_lst:
        if labelled_only and not "".join(t.text or "" for t in tc.iter(qn("w:t"))).strip():
            continue
        tc_pr = tc.get_or_add_tcPr()
        borders = OxmlElement("w:tcBorders")
        _border(borders, "bottom", size=_RULE // 2 + 2)
        tc_pr.append(borders)


def _row_flag(row: _Row, tag: str) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    flag = OxmlElement(f"w:{tag}")
    flag.set(qn("w:val"), "true")
    tr_pr.append(flag)


def keep_with_next(row: _Row) -> None:
    for cell in row.cells:
        for paragraph in cell.paragraphs:
            paragraph.paragraph_format.keep_with_next = True


def _fixed_widths(table: Table, widths: tuple[Length, ...]) -> None:
    """Fixed layout with the fitted widths (``tblLayout fixed``, grid and every cell), so that
    Word and LibreOffice do not re-balance the columns to equal widths."""
    table.autofit = False  # w:tblLayout fixed
    tbl_pr = table._tbl.tblPr
    total = OxmlElement("w:tblW")
    total.set(qn("w:w"), str(int(sum(widths) / 635)))  # twentieths of a point
    total.set(qn("w:type"), "dxa")
    for old in tbl_pr.findall(qn("w:tblW")):
        tbl_pr.remove(old)
    tbl_pr.append(total)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for tr in table._tbl.tr_lst:
        start = 0
        for tc in tr.tc_lst:
            span = tc.grid_span
            _Cell(tc, table).width = Emu(sum(widths[start:start + span]))
            start += span


_TBL_PR_ORDER = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
                 "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook")
_TC_PR_ORDER = ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
                "textDirection", "tcFitText", "vAlign", "hideMark")
_TR_PR_ORDER = ("cnfStyle", "divId", "gridBefore", "gridAfter", "wBefore", "wAfter", "cantSplit", "trHeight",
                "tblHeader", "tblCellSpacing", "jc", "hidden")


def _schema_order(parent: BaseOxmlElement, order: tuple[str, ...]) -> None:
    """Children of a properties element in the order of the WordprocessingML schema (Word
    refuses a file whose ``w:tblPr`` children are out of order)."""
    rank = {qn(f"w:{name}"): i for i, name in enumerate(order)}
    children = sorted(parent, key=lambda e: rank.get(e.tag, len(rank)))
    for child in children:
        parent.remove(child)
        parent.append(child)


def schema_order(table: Table) -> None:
    """:func:`_schema_order` on the table, row and cell properties of ``table``."""
    _schema_order(table._tbl.tblPr, _TBL_PR_ORDER)
    for tr in table._tbl.tr_lst:
        if tr.trPr is not None:
            _schema_order(tr.trPr, _TR_PR_ORDER)
        for tc in tr.tc_lst:
            if tc.tcPr is not None:
                _schema_order(tc.tcPr, _TC_PR_ORDER)


def lay_out_table(table: Table, fit: TableFit, *, has_footnotes: bool, header_rows: int = 1) -> None:
    """Rules, widths, the repeated header (its first ``header_rows`` rows), rows that never
    split across pages, and the keep-with-next chain that holds the caption, the rows and
    the first footnote together (Word breaks a chain longer than a page where it must, never
    inside a row)."""
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _table_borders(table)
    _fixed_widths(table, fit.widths)
    rows = list(table.rows)
    for row in rows[:header_rows]:
        _row_flag(row, "tblHeader")
    for row in rows[:header_rows - 1]:
        _rule_under(row, labelled_only=True)
    _rule_under(rows[header_rows - 1])
    for i, row in enumerate(rows):
        _row_flag(row, "cantSplit")
        if i < len(rows) - 1 or has_footnotes:
            keep_with_next(row)
    schema_order(table)


def set_page(section: Section, *, landscape: bool) -> None:
    """A4 with 2 cm margins, in either orientation."""
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (PAGE_LONG, PAGE_SHORT) if landscape else (PAGE_SHORT, PAGE_LONG)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    section.header_distance = section.footer_distance = Cm(1.0)


def new_section(document: DocumentObject, *, landscape: bool) -> Section:
    """A section starting on a new page; its header and footer are those of the first."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    set_page(section, landscape=landscape)
    return section


def set_running_header_footer(section: Section, who: ReportIdentity, mark: str | None) -> None:
    """The header of every page: trial id, report version and data cut-off in a ruled line
    and, for simulated data, the mark in the header's first paragraph (so that no printed page
    of a simulated replica can pass for trial results); the footer: "Page X of Y".

    Later sections inherit both (their header and footer are linked to this one)."""
    header = section.header
    header.is_linked_to_previous = False
    mark_paragraph = header.paragraphs[0]
    mark_paragraph.text = ""
    mark_paragraph.paragraph_format.space_after = Pt(0)
    if mark:
        run = mark_paragraph.add_run(mark)
        run.bold = True
        run.font.size = Pt(9)
    else:
        mark_paragraph.paragraph_format.space_before = Pt(0)
        mark_paragraph.add_run().font.size = Pt(1)
    line = header.add_table(rows=1, cols=3, width=text_width(False))
    texts = (who.trial, who.version, f"Data cut-off: {who.data_cutoff or 'not given'}")
    aligns = (WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT)
    for cell, text, align in zip(line.rows[0].cells, texts, aligns, strict=True):
        paragraph = cell.paragraphs[0]
        paragraph.alignment = align
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(text).font.size = HEADER_FONT
    tbl_pr = line._tbl.tblPr
    for old in tbl_pr.findall(qn("w:tblW")):
        tbl_pr.remove(old)
    full = OxmlElement("w:tblW")  # the whole text width, portrait or landscape
    full.set(qn("w:w"), "5000")
    full.set(qn("w:type"), "pct")
    tbl_pr.append(full)
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        _border(borders, side, size=4 if side == "bottom" else None)
    tbl_pr.append(borders)
    schema_order(line)
    # the mark first: the table goes after the first paragraph
    mark_paragraph._p.addnext(line._tbl)
    tail = header.add_paragraph()
    tail.paragraph_format.space_after = Pt(0)
    tail.add_run().font.size = Pt(2)

    footer = section.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    paragraph.text = ""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_page_x_of_y(paragraph, HEADER_FONT)
