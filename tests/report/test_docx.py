"""report.docx of the simulated LMS04 trial, opened with python-docx: real Word tables with
a repeated header row and aligned columns, the same cells as the HTML report, the figures;
and the layout a clinical study report needs, read from the XML: journal rules without a
grid, rows that never split, captions and footnotes kept with their table, landscape pages
for wide tables, numbered caption fields, page numbers, a table of contents, a page header
with trial, version and data cut-off, and document properties of the report (not of the
python-docx template)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.docx import render_docx
from oncotrial.report.docx_fields import caption_title
from oncotrial.report.docx_layout import fit_columns
from oncotrial.report.html import ReportContent, ReportTable, Row, report_content
from oncotrial.report.safety_tables import safety_tables
from oncotrial.report.writer import build_report
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")


@pytest.fixture(scope="module")
def adam() -> AdamData:
    """The simulated trial with its primary end point only (three figures instead of nine keep
    the test fast; the HTML test covers every end point)."""
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte[derived.adtte["PARAMCD"] == "PFS"], derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def document(adam, tmp_path_factory):
    paths = build_report(adam, LMS04, tmp_path_factory.mktemp("report"))
    return Document(str(paths["report.docx"]))


@pytest.fixture(scope="module")
def content(adam):
    """The printed content of the same analysis (figures aside), as the HTML report shows it: the
    safety tables in place of the adverse-event overview, as build_report makes it."""
    return report_content(analyse(adam, LMS04), LMS04, safety=safety_tables(adam, LMS04).tables)


def _cells(table) -> list[list[str]]:
    """Each row's distinct cells (a merged cell appears once, as Word shows it)."""
    rows = []
    for row in table.rows:
        seen, texts = set(), []
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                texts.append(cell.text)
        rows.append(texts)
    return rows


def _tables(content) -> list[ReportTable]:
    """The report's tables in the order of the document (and of the HTML report)."""
    tables = [content.consort, content.table1]
    for endpoint in content.endpoints:
        tables += [*([endpoint.table] if endpoint.table else []), *endpoint.extra_tables]
    return [*tables, *content.followup, content.response,
            *([content.adverse_events] if content.adverse_events else []), *content.safety]


def _printed(report_table) -> list[list[str]]:
    groups = [[label for label, _ in report_table.header_groups]] if report_table.header_groups else []
    return [*groups, list(report_table.header)] + [list(row.cells) for row in report_table.rows]


def test_every_table_is_a_word_table_with_its_numbered_caption(document, content):
    expected = _tables(content)
    assert len(document.tables) == len(expected) >= 5
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption" and p.text.startswith("Table")]
    assert captions == [f"Table {i}. {caption_title(t.title)}" for i, t in enumerate(expected, start=1)]
    assert not any(re.match(r"Table \d+\. Table \d", c) for c in captions)  # a title's own number is dropped


def test_tables_hold_the_same_cells_as_the_html_report(document, content):
    expected = _tables(content)
    for word, printed in zip(document.tables, expected, strict=True):
        assert _cells(word) == _printed(printed), printed.key


def test_efficacy_header_and_numbers(document, content):
    pfs = next(e.table for e in content.endpoints if e.endpoint == "PFS")
    word = document.tables[2]
    assert _cells(word)[0] == ["", "Doxorubicin (N=76)", "Doxorubicin + trabectedin (N=74)"]
    rows = {r[0]: r[1:] for r in _cells(word)[1:]}
    assert rows["Hazard ratio (95% CI)"][0] == "Reference"
    assert rows["Hazard ratio (95% CI)"] == list(next(r.cells[1:] for r in pfs.rows
                                                       if r.cells[0] == "Hazard ratio (95% CI)"))


def test_header_rows_repeat_and_columns_are_aligned(document):
    for table in document.tables:
        header = table.rows[0]
        flag = header._tr.trPr.find(qn("w:tblHeader"))
        assert flag is not None and flag.get(qn("w:val")) == "true"
        assert all(run.bold for cell in header.cells for p in cell.paragraphs for run in p.runs)
        for row in table.rows[1:]:
            cells = row.cells
            if len({id(c._tc) for c in cells}) == 1:  # a section row merged across the table
                continue
            assert cells[0].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
            assert all(c.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.CENTER for c in cells[1:])


def test_figures_are_inserted_as_pictures(document):
    assert len(document.inline_shapes) == 4
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    for title in ("Patient flow (CONSORT diagram).",
                  "Progression-free survival: Kaplan–Meier estimate by arm.",
                  "Progression-free survival: check of proportional hazards.",
                  "Progression-free survival: hazard ratio by subgroup."):
        assert sum(re.match(rf"Figure \d+\. {re.escape(title)}", c) is not None for c in captions) == 1, title
    shapes = document.inline_shapes
    assert all(0 < shape.width <= Cm(17.0) + 1 for shape in shapes)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert {"Patient flow", "PFS (primary end point)", "Adverse events", "Notes"} <= set(headings)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _instructions(element) -> list[str]:
    return [" ".join((t.text or "").split()) for t in element.iter(qn("w:instrText"))]


def _keeps(paragraph) -> bool:
    return bool(paragraph.paragraph_format.keep_with_next)


def test_rows_never_split_and_tables_have_rules_but_no_grid(document):
    for table in document.tables:
        assert table.style is None or table.style.name != "Table Grid"
        for tr in table._tbl.tr_lst:
            flag = tr.trPr.find(qn("w:cantSplit"))
            assert flag is not None and flag.get(qn("w:val")) == "true"
        borders = table._tbl.tblPr.find(qn("w:tblBorders"))
        sides = {child.tag.removeprefix(W): child.get(qn("w:val")) for child in borders}
        assert sides == {"top": "single", "bottom": "single", "left": "nil", "right": "nil",
                         "insideH": "nil", "insideV": "nil"}
        header_rows = sum(tr.trPr.find(qn("w:tblHeader")) is not None for tr in table._tbl.tr_lst)
        assert header_rows in (1, 2)
        for i, tr in enumerate(table._tbl.tr_lst):
            for tc in tr.tc_lst:
                cell_borders = tc.tcPr.find(qn("w:tcBorders"))
                text = "".join(t.text or "" for t in tc.iter(qn("w:t"))).strip()
                if i == header_rows - 1 or (i < header_rows - 1 and text):
                    # the rule under the header, and under each spanning label above it; nothing else
                    assert [b.tag.removeprefix(W) for b in cell_borders] == ["bottom"]
                else:
                    assert cell_borders is None


def test_columns_are_fitted_to_their_text(document):
    section = document.sections[0]
    page = section.page_width - section.left_margin - section.right_margin
    table1 = document.tables[1]
    widths = [int(col.get(qn("w:w"))) for col in table1._tbl.tblGrid.iter(qn("w:gridCol"))]
    assert abs(sum(widths) * 635 - page) < Cm(0.1)
    assert widths[0] > max(widths[1:])  # the label column is the wide one
    assert table1._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    for table in document.tables:
        grid = [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.iter(qn("w:gridCol"))]
        assert len(grid) == len(table.columns)
        if len(grid) > 2:
            assert len(set(grid[:2])) == 2  # not the equal widths of python-docx


def test_fitted_label_column_keeps_labels_to_two_lines():
    label = "A label long enough to wrap twice in a narrow column of equal width"
    table = ReportTable("t", "T", ("", "A", "B", "C"), (Row((label, "1 (2)", "3 (4)", "5 (6)")),))
    fit = fit_columns(table)
    assert not fit.landscape
    assert fit.widths[0] >= Cm(0.175) * len(label) / 2
    assert sum(fit.widths) <= Cm(17.0) + 10


def test_caption_rows_and_footnotes_are_kept_together(document, content):
    body = list(document.element.body)
    for table, printed in zip(document.tables, _tables(content), strict=True):
        at = body.index(table._tbl)
        caption = next(p for p in document.paragraphs if p._p is body[at - 1])
        assert caption.style.name == "Caption" and _keeps(caption)
        rows = table.rows
        for row in rows[:-1]:
            assert all(_keeps(p) for cell in row.cells for p in cell.paragraphs)
        last = all(_keeps(p) for cell in rows[-1].cells for p in cell.paragraphs)
        assert last == bool(printed.footnotes)
        notes = [next(p for p in document.paragraphs if p._p is body[at + 1 + i])
                 for i in range(len(printed.footnotes))]
        assert [n.text for n in notes] == [f"{i}. {f}" for i, f in enumerate(printed.footnotes, start=1)]
        assert [_keeps(n) for n in notes] == [True] * (len(notes) - 1) + [False] * bool(notes)


def test_figures_are_kept_with_their_caption(document):
    pictures = [p for p in document.paragraphs if p._p.findall(".//" + qn("w:drawing"))]
    assert len(pictures) == 4 and all(_keeps(p) for p in pictures)


def test_fields_page_x_of_y_toc_and_caption_numbers(document, content):
    footer = document.sections[0].footer
    assert footer.paragraphs[0].text == "Page 1 of 1"  # cached values, updated by Word and LibreOffice
    assert _instructions(footer._element) == ["PAGE", "NUMPAGES"]
    body = _instructions(document.element.body)
    assert sum(i.startswith('TOC \\o "1-3" \\h') for i in body) == 1
    assert body.count("SEQ Table \\* ARABIC") == len(document.tables)
    assert body.count("SEQ Figure \\* ARABIC") == 4
    toc_at = next(i for i, p in enumerate(document.paragraphs) if p.text == "Contents")
    assert toc_at < next(i for i, p in enumerate(document.paragraphs) if p.text == "Patient flow")
    figures = [p.text for p in document.paragraphs if p.style.name == "Caption" and p.text.startswith("Figure")]
    assert [c.split(".")[0] for c in figures] == ["Figure 1", "Figure 2", "Figure 3", "Figure 4"]


def test_every_page_header_names_trial_version_and_cutoff(document):
    header = document.sections[0].header
    assert header.paragraphs[0].text.startswith("Simulated data (seed 1)")
    line = [cell.text for cell in header.tables[0].rows[0].cells]
    assert line[0] == "LMS04" and re.fullmatch(r"oncotrial \S+", line[1]) and line[2].startswith("Data cut-off: ")
    assert all(s.header.is_linked_to_previous for s in document.sections[1:])


def test_core_properties_are_the_reports_not_the_templates(document):
    props = document.core_properties
    assert props.title.startswith("LMS04: trial report") and props.subject == LMS04.title
    assert props.author == LMS04.sponsor and props.author != "python-docx"
    assert props.comments.startswith("Simulated data (seed 1)")
    assert "LMS04" in props.keywords
    version = next(p.text for p in document.paragraphs if p.text.startswith("Report version: "))
    stamp = dt.datetime.strptime(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", version).group(), "%Y-%m-%d %H:%M")
    assert props.created.replace(tzinfo=None) == props.modified.replace(tzinfo=None) == stamp
    assert props.created.year != 2013


def _wide(content: ReportContent) -> ReportContent:
    """``content`` with a safety table of eight value columns (grade columns of two arms)."""
    header = ("Adverse event", *(f"Arm {arm} grade {g}" for arm in "AB" for g in ("Any", "3", "4", "5")))
    rows = (Row(("Any adverse event", *["10 (20.0)"] * 8)), Row(("Anaemia", *["1 (2.0)"] * 8), indent=True))
    return dataclasses.replace(content, safety=(ReportTable("ae_grades", "By grade", header, rows, ("Note.",)),),
                               data_cutoff="2026-01-31")


def test_wide_tables_get_a_landscape_section_and_the_page_turns_back(content):
    document = render_docx(_wide(content))
    orientations = [s.orientation for s in document.sections]
    assert WD_ORIENT.LANDSCAPE in orientations
    assert orientations[0] == orientations[-1] == WD_ORIENT.PORTRAIT
    for section in document.sections:
        landscape = section.orientation == WD_ORIENT.LANDSCAPE
        assert (section.page_width > section.page_height) == landscape
    last = document.tables[-1]
    assert last.rows[0].cells[1].text == "Arm A grade Any"
    # the wide table's section is landscape: the section break after it closes a landscape section
    body = list(document.element.body)
    after = next(e for e in body[body.index(last._tbl):] if e.find(".//" + qn("w:sectPr")) is not None)
    size = after.find(".//" + qn("w:pgSz"))
    assert size.get(qn("w:orient")) == "landscape"
    assert [c.text for c in document.sections[0].header.tables[0].rows[0].cells][2] == "Data cut-off: 2026-01-31"
    facts = [p.text for p in document.paragraphs if p.text.startswith("Data cut-off: ")]
    assert len(facts) == 1  # among the facts once, whether the facts name it or not
    bare = dataclasses.replace(_wide(content), facts=tuple(f for f in content.facts if f[0] != "Data cut-off"))
    assert [p.text for p in render_docx(bare).paragraphs if p.text.startswith("Data cut-off: ")] == \
        ["Data cut-off: 2026-01-31"]


def test_real_data_leave_the_mark_out_but_keep_the_header_line(content):
    document = render_docx(dataclasses.replace(content, provenance=None))
    header = document.sections[0].header
    assert header.paragraphs[0].text == ""
    assert header.tables[0].rows[0].cells[0].text == "LMS04"
    assert document.core_properties.comments == ""
