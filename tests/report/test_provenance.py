"""Simulated data say so in every output of the report; real-looking data keep the trial's
wording (thanks to participants, the registry entry)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from docx import Document
from matplotlib.figure import Figure

from oncotrial.clinical import derive_all
from oncotrial.core.errors import DataError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.lay_summary import lay_summary
from oncotrial.report.provenance import Simulated, mark_figure, provenance
from oncotrial.report.writer import build_report
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
MARK = "Simulated data (seed 7) — not trial results"


@pytest.fixture(scope="module")
def adam() -> AdamData:
    """ADaM data of a replica, marked as the simulator marks them (SIMFL, SIMSEED in DM)."""
    trial = simulate_trial("lms04", seed=7)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def real(adam) -> AdamData:
    """The same data without the mark: what a trial's own ADaM data look like."""
    return AdamData(adam.adsl.drop(columns=["SIMFL", "SIMSEED"]), adam.adtte, adam.adrs, adam.adae)


@pytest.fixture(scope="module")
def simulated_report(adam, tmp_path_factory):
    return build_report(adam, LMS04, tmp_path_factory.mktemp("simulated"), formats=("png", "svg"))


@pytest.fixture(scope="module")
def real_report(real, tmp_path_factory):
    return build_report(real, LMS04, tmp_path_factory.mktemp("real"), formats=("png", "svg"))


def _adsl(**columns: object) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"], **columns})


def test_the_derivation_carries_the_mark_to_adsl(adam):
    assert set(adam.adsl["SIMFL"]) == {"Y"} and set(adam.adsl["SIMSEED"]) == {7}
    assert provenance(adam.adsl) == Simulated(7)


@pytest.mark.parametrize("adsl, expected", [
    (_adsl(), None),
    (_adsl(SIMFL=["N", "", None]), None),
    (_adsl(SIMFL=["Y", "y", "Y"], SIMSEED=[4.0, 4.0, 4.0]), Simulated(4)),
    (_adsl(SIMFL="Y", SIMSEED="12"), Simulated(12)),
])
def test_provenance(adsl, expected):
    assert provenance(adsl) == expected


@pytest.mark.parametrize("adsl, message", [
    (_adsl(SIMFL=["Y", "N", "Y"], SIMSEED=4),
     r"ADSL.SIMFL: 2 of 3 patients are marked as simulated .* mixed at rows \[2\]"),
    (_adsl(SIMFL=["Y", np.nan, "Y"], SIMSEED=4), r"ADSL.SIMFL: .* mixed at rows \[2\]"),
    (_adsl(SIMFL="Y"), r"ADSL.SIMSEED: simulated data \(SIMFL = Y\) without the seed variable"),
    (_adsl(SIMFL="Y", SIMSEED=[4, 4.5, None]), r"ADSL.SIMSEED: expected the integer seed .* at rows \[2, 3\]"),
    (_adsl(SIMFL="Y", SIMSEED=[4, 5, 4]), r"ADSL.SIMSEED: one seed expected, got \[4, 5\] at rows \[2\]"),
    (_adsl(SIMFL=["N", "X", "N"]), r"ADSL.SIMFL: expected Y, N or blank at rows \[2\]"),
])
def test_a_mark_that_cannot_be_trusted_is_an_error(adsl, message):
    with pytest.raises(DataError, match=message):
        provenance(adsl)


def test_mixed_data_stop_the_analysis(adam):
    adsl = adam.adsl.copy()
    adsl.loc[adsl.index[0], "SIMFL"] = "N"
    with pytest.raises(DataError, match=r"ADSL.SIMFL: .* simulated and real data mixed at rows \[1\]"):
        analyse(AdamData(adsl, adam.adtte, adam.adrs, adam.adae), LMS04)


def test_every_output_says_simulated_with_its_seed(simulated_report):
    html = simulated_report["report.html"].read_text(encoding="utf-8")
    assert f"<title>LMS04: trial report. {MARK}</title>" in html
    assert f'<p class="provenance" role="note">{MARK}' in html
    document = Document(str(simulated_report["report.docx"]))
    assert [s.header.paragraphs[0].text for s in document.sections] == [MARK] * len(document.sections)
    markdown = simulated_report["lay_summary.md"].read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == f"**{MARK}**"
    lay_html = simulated_report["lay_summary.html"].read_text(encoding="utf-8")
    assert f"<title>{MARK}: " in lay_html and f'<p class="notice" role="note">{MARK}</p>' in lay_html
    svgs = [path for key, path in simulated_report.items() if key.endswith(".svg")]
    assert len(svgs) == 10  # CONSORT; Kaplan-Meier, proportional hazards and forest plot of PFS, OS and PFS2
    for path in svgs:
        assert 'id="provenance"' in path.read_text(encoding="utf-8"), path.name
    ard = pd.read_json(simulated_report["ard.json"])
    assert ard.loc[ard["statistic"] == "simulated", "value"].tolist() == [7]


def test_simulated_data_neither_thank_nor_point_to_the_registry(simulated_report, real_report):
    simulated = simulated_report["lay_summary.md"].read_text(encoding="utf-8")
    real = real_report["lay_summary.md"].read_text(encoding="utf-8")
    for wording in ("We thank everyone who took part.", "listed in the trial registry",
                    "You can look for them in public trial registries.", LMS04.registry, "clinicaltrials.gov"):
        assert wording in real and wording not in simulated, wording
    assert "No real person's results are in it." in simulated
    assert "They are not the results of the real trial." in simulated


def test_real_looking_data_carry_no_mark(real_report, real):
    assert provenance(real.adsl) is None
    html = real_report["report.html"].read_text(encoding="utf-8")
    assert "<title>LMS04: trial report</title>" in html and "Simulated" not in html
    document = Document(str(real_report["report.docx"]))
    assert all(not s.header.paragraphs[0].text for s in document.sections)
    assert real_report["lay_summary.md"].read_text(encoding="utf-8").startswith("# ")
    for key, path in real_report.items():
        if key.endswith(".svg"):
            assert 'id="provenance"' not in path.read_text(encoding="utf-8")
    summary = lay_summary(analyse(real, LMS04).ard, LMS04)
    assert summary.notice is None


@pytest.mark.parametrize("layout", [None, "constrained"])
def test_the_mark_sits_above_the_figure(layout):
    fig = Figure(figsize=(4.0, 3.0), layout=layout)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8)) if layout is None else fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    before = ax.get_position().y1 * 3.0  # top of the axes, inches from the bottom
    mark_figure(fig, MARK)
    fig.draw_without_rendering()
    width, height = fig.get_size_inches()
    assert (width, height) == (4.0, pytest.approx(3.3))
    (text,) = [t for t in fig.texts if t.get_gid() == "provenance"]
    assert text.get_text() == MARK
    top = ax.get_position().y1 * height
    assert top <= 3.0 + 1e-9  # the axes stay below the strip
    if layout is None:
        assert top == pytest.approx(before)
