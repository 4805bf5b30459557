"""report.docx as printed: rendered to PDF by LibreOffice, then read page by page.

The XML test (test_docx.py) checks the flags a layout engine must honour; this one checks
that one does honour them, for a simulated replica of each bundled protocol. Each table's
caption, each body row (in its first and last cell), and each first footnote get a tiny
marker before rendering; a row split by a page break would put its two markers on
different pages, a caption left at the foot of a page would sit apart from its first row,
and a footnote carried over alone would leave its table's last row behind.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt
from pypdf import PdfReader

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.writer import build_report
from oncotrial.simulate.trial import simulate_trial

SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: "
                                                       "apt-get install libreoffice-writer-nogui")

MARKER = re.compile(r"QQ([CRFE])(\d+)x(\d+)QQ")
#: pages of the simulated replicas: title and contents, tables and figures of every end point
PAGES = {"lms04": (10, 30), "gastric_example": (6, 30)}


def _mark(paragraph, token: str) -> None:
    """A marker in 1-pt type, which moves nothing on the page but is in the PDF's text."""
    paragraph.add_run(token).font.size = Pt(1)


def _label(source: Path, target: Path) -> dict[int, int]:
    """Copy of the report with markers; returns the number of body rows by table."""
    document = Document(str(source))
    body = list(document.element.body)
    paragraphs = {p._p: p for p in document.paragraphs}
    rows: dict[int, int] = {}
    for t, table in enumerate(document.tables, start=1):
        at = body.index(table._tbl)
        _mark(paragraphs[body[at - 1]], f"QQC{t}x0QQ")
        body_rows = [row for row in table.rows
                     if row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None]
        for r, row in enumerate(body_rows, start=1):
            cells = row.cells
            _mark(cells[0].paragraphs[0], f"QQR{t}x{r}QQ")
            _mark(cells[-1].paragraphs[-1], f"QQE{t}x{r}QQ")
        rows[t] = len(body_rows)
        after = body[at + 1] if at + 1 < len(body) else None
        if after is not None and after.tag == qn("w:p") and paragraphs[after].text.startswith("1. "):
            _mark(paragraphs[after], f"QQF{t}x0QQ")
    document.save(str(target))
    return rows


def _render(docx: Path, out: Path) -> tuple[Path, float]:
    profile = out / "profile"
    started = time.monotonic()
    subprocess.run([str(SOFFICE), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out), str(docx)], check=True, timeout=180, capture_output=True)
    pdf = out / f"{docx.stem}.pdf"
    assert pdf.is_file(), f"soffice wrote no PDF for {docx.name}"
    return pdf, time.monotonic() - started


@pytest.fixture(scope="module", params=["lms04", "gastric_example"])
def rendered(request, tmp_path_factory):
    """(protocol name, rows by table, text of each page) of the rendered simulated replica."""
    name = request.param
    protocol = Protocol.load(name)
    trial = simulate_trial(name, seed=1)
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    folder = tmp_path_factory.mktemp(f"render_{name}")
    paths = build_report(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), protocol, folder)
    labelled = folder / "labelled.docx"
    rows = _label(paths["report.docx"], labelled)
    pdf, _seconds = _render(labelled, folder)
    pages = [page.extract_text() or "" for page in PdfReader(str(pdf)).pages]
    return name, rows, pages


def _pages_of(pages: list[str]) -> dict[tuple[str, int, int], list[int]]:
    found: dict[tuple[str, int, int], list[int]] = {}
    for number, text in enumerate(pages, start=1):
        for kind, table, row in MARKER.findall(text.replace(" ", "").replace("\n", "")):
            found.setdefault((kind, int(table), int(row)), []).append(number)
    return found


def test_page_count_and_every_page_numbered_and_marked(rendered):
    name, _rows, pages = rendered
    low, high = PAGES[name]
    assert low <= len(pages) <= high, f"{name}: {len(pages)} pages"
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text, f"{name}: page {number} has no 'Page X of Y'"
        assert "Simulated data (seed 1)" in text, f"{name}: page {number} lacks the simulated-data mark"
        assert "Data cut-off:" in text


def test_no_table_row_is_split_across_pages(rendered):
    name, rows, pages = rendered
    found = _pages_of(pages)
    for table, count in rows.items():
        for row in range(1, count + 1):
            first, last = found.get(("R", table, row)), found.get(("E", table, row))
            assert first and last, f"{name}: Table {table} row {row} not found in the PDF"
            assert first == last, f"{name}: Table {table} row {row} split across pages {first} and {last}"


def test_captions_and_footnotes_stay_with_their_table(rendered):
    name, rows, pages = rendered
    found = _pages_of(pages)
    for table, count in rows.items():
        assert found[("C", table, 0)] == found[("R", table, 1)], f"{name}: Table {table} caption apart from its rows"
        if ("F", table, 0) in found:
            assert found[("F", table, 0)] == found[("E", table, count)], \
                f"{name}: Table {table} footnotes apart from its last row"
