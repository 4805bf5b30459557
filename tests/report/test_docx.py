"""report.docx of the simulated LMS04 trial, opened with python-docx: real Word tables with
a repeated header row and aligned columns, the same cells as the HTML report, the figures."""

from __future__ import annotations

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.html import report_content
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
    """The printed content of the same analysis (figures aside), as the HTML report shows it."""
    return report_content(analyse(adam, LMS04), LMS04)


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


def _printed(report_table) -> list[list[str]]:
    return [list(report_table.header)] + [list(row.cells) for row in report_table.rows]


def test_every_table_is_a_word_table_with_its_caption(document, content):
    expected = [content.consort, content.table1, *[e.table for e in content.endpoints if e.table],
                content.response, content.adverse_events]
    assert len(document.tables) == len(expected) == 5
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    for table in expected:
        assert table.title in captions


def test_tables_hold_the_same_cells_as_the_html_report(document, content):
    expected = [content.consort, content.table1, *[e.table for e in content.endpoints if e.table],
                content.response, content.adverse_events]
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
    assert len(document.inline_shapes) == 3
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    for title in ("Progression-free survival: Kaplan–Meier estimate by arm.",
                  "Progression-free survival: check of proportional hazards.",
                  "Progression-free survival: hazard ratio by subgroup."):
        assert sum(c.startswith(title) for c in captions) == 1, title
    shapes = document.inline_shapes
    assert all(0 < shape.width <= Cm(17.0) + 1 for shape in shapes)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert {"Patient flow", "PFS (primary end point)", "Adverse events", "Notes"} <= set(headings)
