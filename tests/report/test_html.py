"""report.html of the simulated LMS04 trial: every section, figures embedded, nothing
external, and the numbers of each efficacy table equal to the EfficacySummary's."""

from __future__ import annotations

import base64
import math
import re
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.html import efficacy_table
from oncotrial.report.writer import build_report
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")


class _Page(HTMLParser):
    """The parts of the report the tests read: element ids, <h2> texts, <img> sources, and
    the cells of each table (by id) as text."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.headings: list[str] = []
        self.images: list[dict[str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.references: list[str] = []
        self.tags: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._h2: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if "id" in a:
            self.ids.add(a["id"])
        for name in ("src", "href"):
            if name in a:
                self.references.append(a[name])
        if tag == "img":
            self.images.append(a)
        elif tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "h2" and self._h2 is not None:
            self.headings.append("".join(self._h2).strip())
            self._h2 = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._h2 is not None:
            self._h2.append(data)


@pytest.fixture(scope="module")
def adam() -> AdamData:
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def analysis(adam) -> TrialAnalysis:
    return analyse(adam, LMS04)


@pytest.fixture(scope="module")
def html(adam, tmp_path_factory) -> str:
    paths = build_report(adam, LMS04, tmp_path_factory.mktemp("report"))
    return paths["report.html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html) -> _Page:
    parsed = _Page()
    parsed.feed(html)
    return parsed


def _numbers(cell: str) -> list[float]:
    """Numbers of a printed cell; "NE" (not estimable) as NaN, "<0.001" as 0.001."""
    return [float("nan") if token == "NE" else float(token)
            for token in re.findall(r"NE|\d+(?:\.\d+)?", cell)]


def _close(printed: list[float], expected: list[float], decimals: int) -> bool:
    """Each printed number is the expected one rounded to ``decimals`` (NaN printed as NE)."""
    if len(printed) != len(expected):
        return False
    for p, e in zip(printed, expected, strict=True):
        if math.isnan(e) != math.isnan(p) or (not math.isnan(e) and abs(p - e) > 0.5 * 10 ** -decimals + 1e-9):
            return False
    return True


def test_every_section_is_present(page):
    for section in ("section-consort", "section-table1", "section-pfs", "section-os", "section-pfs2",
                    "section-response", "section-adverse-events", "section-notes"):
        assert section in page.ids, section
    assert page.headings[:2] == ["Patient flow", "Characteristics at randomisation"]
    assert {"PFS (primary end point)", "OS (secondary end point)", "PFS2 (secondary end point)", "Response",
            "Adverse events", "Notes"} <= set(page.headings)
    for table in ("consort", "table1", "efficacy-pfs", "efficacy-os", "efficacy-pfs2", "response",
                  "safety-overview", "safety-teae", "safety-deaths", "safety-exposure"):
        assert page.tables.get(table), table
    assert "adverse-events" not in page.tables  # the safety tables take the overview's place


def test_figures_are_embedded_and_nothing_is_fetched(page, html):
    keys = {f"figure-{kind}_{e}" for kind in ("km", "ph", "forest") for e in ("pfs", "os", "pfs2")}
    assert keys | {"figure-consort"} <= page.ids
    assert len(page.images) == 10
    for image in page.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        assert base64.b64decode(image["src"][len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"
        assert image["alt"]
    assert all(ref.startswith(("data:", "#")) for ref in page.references)
    assert not {"script", "link", "iframe"} & page.tags
    assert "@import" not in html and "url(" not in html


def test_efficacy_tables_show_the_efficacy_summaries(page, analysis):
    for endpoint, summary in analysis.efficacy.items():
        table = page.tables[f"efficacy-{endpoint.lower()}"]
        header, rows = table[0], {row[0]: row[1:] for row in table[1:]}
        arms = list(summary.arms.itertuples(index=False))
        assert header == ["", *[f"{a.arm} (N={a.n})" for a in arms]]
        for cell, a in zip(rows["Events, n (%)"], arms, strict=True):
            assert _close(_numbers(cell), [a.events, 100 * a.events / a.n], 1), cell
        for cell, a in zip(rows["Median, months (95% CI)"], arms, strict=True):
            assert _close(_numbers(cell), [a.median, a.median_lower, a.median_upper], 1), cell
        assert sorted(set(summary.rates["time"])) == [12, 24]  # every landmark of the protocol
        for time, at_time in summary.rates.groupby("time"):
            rates = at_time.set_index("arm")
            for cell, a in zip(rows[f"Rate at {time:g} months, % (95% CI)"], arms, strict=True):
                r = rates.loc[a.arm]
                assert _close(_numbers(cell), [100 * r.rate, 100 * r.lower, 100 * r.upper], 1), cell
        hr = summary.hazard_ratios.iloc[0]
        assert rows["Hazard ratio (95% CI)"] == ["Reference", rows["Hazard ratio (95% CI)"][1]]
        assert _close(_numbers(rows["Hazard ratio (95% CI)"][1]), [hr.hr, hr.lower, hr.upper], 2)
        if summary.p_value:  # PFS, the primary end point
            p, expected = rows["Stratified log-rank P"][0], summary.comparisons["p"].iloc[0]
            assert p == "<0.001" if expected < 0.001 else _close(_numbers(p), [expected], 3)
        else:  # OS and PFS2: estimates with CIs only, said once, no P row
            assert not any(label.endswith(" P") for label in rows)
            footnotes = efficacy_table(summary, analysis.time_unit, analysis.ard).footnotes
            assert footnotes.count("Estimates with 95% CI only (no P value, per the SAP).") == 1
        assert "Median follow-up, months (IQR)" not in rows  # the trial's follow-up, once, not per end point
        if summary.p_value and not summary.same_model:
            footnotes = efficacy_table(summary, analysis.time_unit, analysis.ard).footnotes
            assert any(note.startswith("The P value is from the ") for note in footnotes)


def test_table1_and_the_consort_flow_show_the_analysis(page, analysis):
    cells = [row[1:] for row in page.tables["table1"][1:] if len(row) > 1]
    expected = analysis.table1.table.drop(columns=["variable", "level"]).astype(str).values.tolist()
    assert cells == expected
    consort = {row[0]: row[1:] for row in page.tables["consort"][1:]}
    flow = analysis.consort.table
    assert consort["Randomised"] == [str(int(flow.loc[flow["stage"] == "randomised", "n"].iloc[0]))]
    allocated = flow[flow["stage"] == "allocated"].set_index("arm")["n"]
    assert consort["Allocated"] == [str(int(allocated[arm])) for arm in analysis.arm_roles]


def test_numbers_are_formatted_one_way(page):
    """One decimal for times and percentages, two for hazard ratios, three for P values."""
    for key in ("efficacy-pfs", "efficacy-os", "efficacy-pfs2"):
        rows = {row[0]: row[1:] for row in page.tables[key][1:]}
        assert all(re.fullmatch(r"(\d+\.\d|NE) \((\d+\.\d|NE)–(\d+\.\d|NE)\)", c)
                   for c in rows["Median, months (95% CI)"])
        assert re.fullmatch(r"\d\.\d\d \(\d\.\d\d–\d\.\d\d\)", rows["Hazard ratio (95% CI)"][1])
    assert re.fullmatch(r"<0\.001|\d\.\d{3}", {row[0]: row[1:] for row in page.tables["efficacy-pfs"][1:]}
                        ["Stratified log-rank P"][0])


def test_skipped_outputs_are_noted(page, html, analysis):
    """Each analysis message is in the notes (and the DOR one in its end point's section)."""
    assert analysis.messages
    for message in analysis.messages:
        assert str(escape(message)) in html
    assert "section-dor" in page.ids


def test_the_trial_follow_up_and_the_end_point_tables_are_shown(page, analysis):
    """The trial's follow-up once (not per end point), the landmark rates, and each end
    point's events and censoring table from the end-point results."""
    assert analysis.endpoints is not None
    assert "followup" in page.tables and "landmark-rates" in page.tables
    for endpoint in analysis.efficacy:
        assert f"events-{endpoint.lower()}" in page.tables


def test_the_consort_table_is_a_partition(page, analysis):
    """Each arm's "Allocated" is received + not received; nobody still on treatment has died."""
    consort = {row[0]: row[1:] for row in page.tables["consort"][1:]}
    for i, _ in enumerate(analysis.arm_roles):
        assert int(consort["Allocated"][i]) == (int(consort["Received allocated treatment"][i])
                                                + int(consort["Did not receive allocated treatment"][i]))
    assert analysis.consort.unbalanced() == []


def test_every_table_and_figure_is_numbered_in_order(html):
    tables = [int(n) for n in re.findall(r'<caption><span class="number">Table (\d+)\.</span>', html)]
    assert tables == list(range(1, len(tables) + 1)) and len(tables) == html.count('<table class="data"')
    figures = [int(n) for n in re.findall(r"<figcaption><strong>Figure (\d+)\. ", html)]
    assert figures == list(range(1, len(figures) + 1)) and len(figures) == html.count("<figcaption>")
