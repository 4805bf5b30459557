"""The report of the example gastric protocol follows its end-point analyses, not the
reference trial's habits: its arm labels and drug names, the primary OS one-sided with a
stratified Cox model and stratified log-rank test, PFS without a P value and with its own
landmarks (6 and 12 months), the CONSORT stages of its phases (combination, continuation),
and the interim look of its group-sequential design with the boundary of that look (rpact,
tests/fixtures/r/rpact_interim_boundary.R).

One small replica (240 patients, the interim cut at the 96th death) is simulated, derived
and reported once for the module."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from scipy.special import ndtr

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.writer import build_report
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial
from oncotrial.stats import logrank_test

#: words of the reference trial, and of its treatment phases, that this report must not print
FOREIGN = re.compile(r"\bDOX(?:TRAB)?\b|doxorubicin|trabectedin|leiomyosarcoma|lms04|uterine|soft.tissue|"
                     r"induction|maintenance|NCT02997358|INDUC|MAINT", re.IGNORECASE)
BOUNDARY = {c["name"]: c for c in load_fixture("rpact_interim_boundary")["cases"]}
CONTROL, EXPERIMENTAL = "CAPOX", "CAPOX + anti-PD-1"
FACTORS = "region, ecog, pd_l1_cps_class"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.load("gastric_example").with_changes(
        {"patients": 240, "cutoff": {"events": [96, 160], "information": None}})


@pytest.fixture(scope="module")
def adam(scenario) -> AdamData:
    trial = simulate_trial(scenario, seed=3, look=1)
    derived = derive_all(trial.domains, scenario.protocol_model(), cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def analysis(adam, scenario) -> TrialAnalysis:
    return analyse(adam, scenario.protocol_model(), look=1)


@pytest.fixture(scope="module")
def report(adam, scenario, tmp_path_factory) -> dict[str, Path]:
    return build_report(adam, scenario.protocol_model(), tmp_path_factory.mktemp("gastric"), formats=("png", "svg"),
                        look=1)


def _text(path: Path) -> str:
    """The visible text of an HTML file, cells separated by " | "."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    page = re.sub(r'src="data:[^"]+"', "", page)
    text = html.unescape(re.sub(r"<[^>]+>", " | ", page))
    return re.sub(r"(\s*\|\s*)+", " | ", text)


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def _records(ard: pd.DataFrame, endpoint: str, statistic: str) -> pd.DataFrame:
    return ard[(ard["table"] == "efficacy") & (ard["endpoint"] == endpoint) & (ard["statistic"] == statistic)]


def _svg_texts(path: Path) -> str:
    """The texts of a matplotlib SVG (each drawn as paths after a comment holding it)."""
    return "\n".join(re.findall(r"<!-- (.*?) -->", path.read_text(encoding="utf-8")))


def test_the_report_names_this_trial_only(report, analysis):
    page, lay = _text(report["report.html"]), report["lay_summary.md"].read_text(encoding="utf-8")
    for text in (f"{CONTROL} (N=", f"{EXPERIMENTAL} (N=", "OS (primary end point)", "PFS (secondary end point)"):
        assert text in page, text
    assert f"Group A: {CONTROL}." in lay and f"Group B: {EXPERIMENTAL}." in lay
    for name, text in (("report.html", page), ("lay_summary.md", lay), *[
            (name, report[name].read_text(encoding="utf-8")) for name in ("ard.csv", "messages.txt")]):
        found = FOREIGN.findall(text)
        assert not found, f"{name}: {sorted(set(found))}"
    assert not [m for m in analysis.messages if m.startswith("CONSORT")]  # no stage of another trial left out


def test_drugs_are_named_as_the_protocol_prints_them(report):
    lay = report["lay_summary.md"].read_text(encoding="utf-8")
    assert "anti_pd1" not in lay
    assert lay.splitlines()[2] == ("# Does adding anti-PD-1 to oxaliplatin and capecitabine help people with advanced "
                                   "gastric or gastro-oesophageal junction adenocarcinoma?")
    assert "Group B got anti-PD-1, oxaliplatin and capecitabine" in lay


def test_consort_stages_are_the_protocol_phases(analysis, report):
    labels = analysis.consort.labels
    assert [s for s in labels if s.endswith(("combination", "continuation"))] == [
        "completed_combination", "discontinued_combination", "ongoing_combination", "entered_continuation",
        "not_entered_continuation", "discontinued_continuation", "ongoing_continuation"]
    assert analysis.consort.unbalanced() == []
    flow = analysis.consort.table
    entered = flow[flow["stage"] == "entered_continuation"]
    assert entered["arm"].tolist() == [CONTROL, EXPERIMENTAL]  # both arms continue after the combination
    cycles = analysis.consort  # counts from the ADSL variables the derivations write
    assert cycles.omitted == ()
    consort = _section(_text(report["report.html"]), "Patient flow (CONSORT)", "Characteristics at randomisation")
    for label in ("Completed combination", "Stopped combination", "Entered continuation", "Stopped continuation"):
        assert f"| {label} |" in consort, label


def test_consort_counts_come_from_the_phase_variables(adam, analysis):
    itt = adam.adsl[adam.adsl["ITTFL"] == "Y"]
    n = {(r.stage, r.arm, r.reason): r.n for r in analysis.consort.table.itertuples(index=False)}
    for arm, patients in itt.groupby("ARM"):
        assert n[("completed_combination", arm, None)] == int((patients["EOTCOMBI"] == "COMPLETED").sum())
        assert n[("entered_continuation", arm, None)] == int((patients["CYCCONTI"] > 0).sum())


def test_the_primary_end_point_is_one_sided_from_its_stratified_analysis(analysis, adam, report):
    ard = analysis.ard
    hr = _records(ard, "OS", "hazard_ratio")
    assert hr["method"].item() == f"Cox model, Efron ties, stratified by {FACTORS}; 95% CI; vs {CONTROL}"
    p = _records(ard, "OS", "logrank_p")
    assert p["arm"].item() == EXPERIMENTAL
    assert p["method"].item() == (f"log-rank test stratified by {FACTORS}; one-sided, in the direction of benefit "
                                  f"(hazard ratio < 1); vs {CONTROL}")
    itt = adam.adsl[adam.adsl["ITTFL"] == "Y"]
    os_ = adam.adtte[adam.adtte["PARAMCD"] == "OS"].merge(itt[["USUBJID", "ARM", *FACTORS.split(", ")]])
    lr = logrank_test(os_["AVAL"], (os_["CNSR"] == 0).astype(int), os_["ARM"], strata=os_[FACTORS.split(", ")])
    j = lr.groups.index(EXPERIMENTAL)
    z = (lr.observed[j] - lr.expected[j]) / np.sqrt(lr.variance[j, j])
    assert_close(p["value"], [ndtr(z)], what="one-sided P")
    assert_close(p["value"], [lr.p / 2 if z < 0 else 1 - lr.p / 2], what="half the two-sided P")
    os_table = _section(_text(report["report.html"]), "OS: efficacy", "PFS (secondary end point)")
    assert "| Stratified log-rank P, one-sided |" in os_table
    assert "P: log-rank test stratified by region, ecog, pd_l1_cps_class, one-sided" in os_table  # KM caption
    assert "Stratified log-rank (one-sided) P" in _svg_texts(report["figures/km_os.svg"])


def test_pfs_reports_no_p_value_anywhere(analysis, report):
    ard = analysis.ard
    pfs = ard[ard["endpoint"] == "PFS"]
    assert not pfs["statistic"].str.endswith("_p").any()
    assert _records(ard, "PFS", "hazard_ratio")["method"].item().startswith("Cox model, Efron ties, stratified by")
    page = _text(report["report.html"])
    section = _section(page, "PFS: efficacy", "Response |")
    assert " P |" not in section and "P for interaction" not in section and "P:" not in section
    assert section.count("Estimates with 95% CI only (no P value, per the SAP).") == 1
    assert not re.search(r"\bP\b", _svg_texts(report["figures/km_pfs.svg"]))
    assert "interaction" not in _svg_texts(report["figures/forest_pfs.svg"])
    assert "interaction" in _svg_texts(report["figures/forest_os.svg"])
    lay = report["lay_summary.md"].read_text(encoding="utf-8")
    paragraph = next(line for line in lay.splitlines() if line.startswith("The trial also looked at how long people "
                                                                         "lived without"))
    assert paragraph.endswith("As planned before the trial, this difference was not tested to see if it could be "
                              "due to chance.")
    assert "very unlikely" not in paragraph


def test_each_end_point_has_its_own_landmarks(analysis, report):
    assert sorted(set(analysis.efficacy["PFS"].rates["time"])) == [6.0, 12.0]
    assert sorted(set(analysis.efficacy["OS"].rates["time"])) == [12.0, 24.0]
    assert sorted(set(_records(analysis.ard, "PFS", "rate")["time"])) == [6.0, 12.0]
    page = _text(report["report.html"])
    pfs = _section(page, "PFS: efficacy", "Follow-up and landmark rates")
    assert "Rate at 6 months" in pfs and "Rate at 12 months" in pfs and "Rate at 24 months" not in pfs
    lay = report["lay_summary.md"].read_text(encoding="utf-8")
    assert "| Alive with no cancer growth after 6 months |" in lay and "| Alive after 2 years |" in lay


def test_the_interim_look_and_its_boundary(analysis, report):
    case = BOUNDARY["gastric look 1, 96 of 576 deaths"]
    events = int(_records(analysis.ard, "OS", "events")["value"].sum())
    assert events == case["events"] == 96  # the replica's interim cut
    look = {s: _records(analysis.ard, "OS", s) for s in ("look", "information_fraction", "critical_value",
                                                         "nominal_level", "boundary_crossed")}
    assert look["look"]["value"].item() == 1 and look["look"]["arm"].item() == EXPERIMENTAL
    assert "look 1 of 2 (interim analysis)" in look["look"]["method"].item()
    assert look["information_fraction"]["value"].item() == 96 / 576
    assert_close(look["critical_value"]["value"], [case["critical_values"][0]], what="boundary vs rpact")
    assert_close(look["nominal_level"]["value"], [case["stage_levels"][0]], what="nominal level vs rpact")
    assert look["nominal_level"]["method"].item().startswith("one-sided nominal significance level")
    p = _records(analysis.ard, "OS", "logrank_p")["value"].item()
    assert look["boundary_crossed"]["value"].item() == float(p <= case["stage_levels"][0])
    (interim,) = analysis.interim
    assert (interim.look, interim.looks, interim.events, interim.max_events) == (1, 2, 96, 576)
    assert (analysis.look, analysis.looks) == (1, 2) and not interim.final
    assert json.loads(json.dumps(interim.to_dict()))["nominal_level"] == interim.nominal_level
    assert "InterimLook(endpoint='OS'" in repr(interim)
    page = _text(report["report.html"])
    assert "Interim analysis: look 1 of 2 of the group-sequential design (OS)" in page
    os_table = _section(page, "OS: efficacy", "PFS (secondary end point)")
    assert "| Analysis: look 1 of 2 (interim analysis) | information fraction 0.17 (96 of 576 events) |" in os_table
    assert "| Nominal significance level at this look, one-sided |" in os_table
    assert "| Efficacy boundary crossed | No (P " in os_table
    assert not _records(analysis.ard, "PFS", "look").shape[0]  # the design's end point only


def test_the_lay_summary_judges_the_interim_by_the_nominal_level(analysis, report):
    """The primary P is below the one-sided 0.025 of the design but far above the nominal
    level of this early look: not "unlikely to be due to chance"."""
    p = _records(analysis.ard, "OS", "logrank_p")["value"].item()
    nominal = _records(analysis.ard, "OS", "nominal_level")["value"].item()
    assert nominal < p < 0.025
    lay = report["lay_summary.md"].read_text(encoding="utf-8")
    paragraph = next(line for line in lay.splitlines() if line.startswith("The main question was"))
    assert "This difference could be due to chance." in paragraph
    assert paragraph.endswith("These results come from an early look at the data (look 1 of 2), planned before the "
                              "trial began. The final results may be different.")
    assert "At this early look, the trial has not yet shown a clear difference" in lay


def test_the_default_look_is_the_final_analysis(adam, scenario):
    final = analyse(adam, scenario.protocol_model())
    case = BOUNDARY["gastric look 2 (final)"]
    assert (final.look, final.looks) == (2, 2)
    (look,) = final.interim
    assert look.information_rates == (0.6, 1.0) and look.rule.startswith("final look")
    assert_close(look.nominal_level, case["stage_levels"][1], what="final nominal level vs rpact")
    assert_close(look.critical_value, case["critical_values"][1], what="final boundary vs rpact")


def test_a_look_outside_the_design_is_refused(adam, scenario, tmp_path):
    with pytest.raises(InputError, match=r"look: expected a look of the design from 1 to 2") as info:
        build_report(adam, scenario.protocol_model(), tmp_path, look=3)
    assert info.value.field == "look"
    assert not (tmp_path / "report.html").exists()
