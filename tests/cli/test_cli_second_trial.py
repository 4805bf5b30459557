"""The second example trial end to end through the command line, as the README walks it.

``gastric_example`` differs from the reference trial in every dimension the protocol can
express (cancer, 1:2 ratio, three numeric-level factors, minimisation, OS primary with a
one-sided alpha and an efficacy interim, piecewise accrual, dropout, a twice-daily oral drug,
a flat-dose antibody, another scan schedule). Each step reads only the protocol or the
previous step's files: ``protocol check`` -> ``design survival --protocol`` (equal to rpact)
-> ``randomise allocate`` / ``replay`` -> ``simulate trial`` -> ``derive`` -> ``analyze``; the
report must speak of this trial only.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import docx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RPACT = json.loads((ROOT / "tests/fixtures/r/rpact_protocol_design.json").read_text())["expected"]
#: words of the reference trial that must not appear in this trial's outputs
FOREIGN = re.compile(r"\bDOX(?:TRAB)?\b|doxorubicin|trabectedin|leiomyosarcoma|lms04|uterine|"
                     r"soft.tissue|induction|maintenance|NCT02997358", re.IGNORECASE)
SEED = 3


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{' '.join(args)}\n{result.output}"
    return result.output


def _text(path: Path) -> str:
    """The visible text of an HTML file."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> dict[str, Path]:
    """Simulate, derive and analyse the second trial once for the module."""
    base = tmp_path_factory.mktemp("second_trial")
    paths = {"sdtm": base / "sdtm", "adam": base / "adam", "report": base / "report"}
    paths["simulate_output"] = base / "simulate.txt"
    paths["simulate_output"].write_text(_run("simulate", "trial", "--scenario", "gastric_example",
                                             "--seed", str(SEED), "--out", str(paths["sdtm"])))
    paths["derive_output"] = base / "derive.txt"
    paths["derive_output"].write_text(_run("derive", "--sdtm", str(paths["sdtm"]), "--protocol",
                                           "gastric_example", "--out", str(paths["adam"])))
    # no --protocol: the bundled protocol whose id is the ADSL STUDYID
    _run("analyze", "--adam", str(paths["adam"]), "--out", str(paths["report"]))
    return paths


def test_protocol_check_and_show():
    assert "valid" in _run("protocol", "check", "gastric_example")
    shown = _run("protocol", "show", "gastric_example")
    for text in ("CAPOX", "CAPOXPD1", "region", "ecog", "pd_l1_cps_class", "minimisation",
                 "capecitabine", "OS", "1-sided P"):
        assert text in shown, text


def test_design_from_the_protocol_equals_rpact():
    design = json.loads(_run("design", "survival", "--protocol", "gastric_example", "--json"))
    assert design["sided"] == 1 and design["allocation_ratio"] == 2.0
    for ours, theirs in (("events_fixed", "events_fixed"), ("events_exact", "max_events"),
                         ("subjects_exact", "max_subjects")):
        np.testing.assert_allclose(design[ours], RPACT[theirs], rtol=1e-6, err_msg=ours)
    for ours, theirs in (("critical_values", "critical_values"), ("events_per_stage", "events_per_stage"),
                         ("analysis_times", "analysis_times"), ("hr_boundaries", "hr_boundaries")):
        np.testing.assert_allclose(design[ours], RPACT[theirs], rtol=1e-6, err_msg=ours)
    assert design["subjects_per_arm"] == {"control": 297, "experimental": 593}


def test_randomise_allocate_then_replay(tmp_path):
    state = tmp_path / "state.json"
    rng = np.random.default_rng(11)
    arms = []
    for i in range(1, 31):
        factors = {"region": rng.choice(["asia", "rest_of_world"]), "ecog": int(rng.integers(0, 2)),
                   "pd_l1_cps_class": int(rng.integers(1, 4))}
        args = ["randomise", "allocate", "--protocol", "gastric_example", "--state", str(state),
                "--subject", f"P-{i:03d}", "--seed", "20240101", "--json"]
        for name, value in factors.items():
            args += ["--factor", f"{name}={value}"]
        allocation = json.loads(_run(*args))
        assert allocation["subject"] == f"P-{i:03d}"
        arms.append(allocation["arm"])
    assert set(arms) == {"CAPOX", "CAPOXPD1"}
    # minimisation towards 1:2 keeps the arms within a few patients of 10 and 20
    assert abs(arms.count("CAPOXPD1") - 20) <= 3
    replayed = _run("randomise", "replay", "--protocol", "gastric_example", "--state", str(state),
                    "--seed", "20240101")
    assert "all 30 allocation(s) reproduced from the seed" in replayed
    again = runner.invoke(app, ["randomise", "allocate", "--protocol", "gastric_example", "--state",
                                str(state), "--subject", "P-001", "--factor", "region=asia",
                                "--factor", "ecog=0", "--factor", "pd_l1_cps_class=1",
                                "--seed", "20240101"])
    assert again.exit_code == 1 and "P-001" in again.output


def test_simulated_trial_and_its_derivation(trial):
    simulated = trial["simulate_output"].read_text()
    assert "Scenario gastric_example, seed 3" in simulated
    dm = pd.read_csv(trial["sdtm"] / "dm.csv")
    assert len(dm) == 890 and set(dm["ARMCD"]) == {"CAPOX", "CAPOXPD1"}
    assert (dm["ARMCD"] == "CAPOXPD1").sum() == 593
    assert set(dm["SIMFL"]) == {"Y"}
    # the final analysis comes when the design's 576th death occurs
    adtte = pd.read_csv(trial["adam"] / "adtte.csv")
    os_ = adtte[adtte["PARAMCD"] == "OS"]
    assert len(os_) == 890 and int((os_["CNSR"] == 0).sum()) == 576
    assert "Data-quality problems: 0 (none)" in trial["derive_output"].read_text()
    adsl = pd.read_csv(trial["adam"] / "adsl.csv")
    for column in ("region", "ecog", "pd_l1_cps_class"):
        assert column in adsl.columns, column
    assert set(adsl["ecog"]) == {0, 1} and set(adsl["pd_l1_cps_class"]) == {1, 2, 3}


def test_report_speaks_of_this_trial_only(trial):
    report = trial["report"]
    page = _text(report / "report.html")
    lay = (report / "lay_summary.md").read_text(encoding="utf-8")
    ard = pd.read_csv(report / "ard.csv")
    for text in ("GASTRIC-EXAMPLE", "CAPOX (N=297)", "CAPOX + anti-PD-1 (N=593)",
                 "OS (primary end point)", "PFS (secondary end point)", "Region",
                 "ECOG performance status", "PD-L1 combined positive score",
                 "Simulated data (seed 3) — not trial results"):
        assert text in page, text
    # the SAP's analyses: OS stratified and one-sided at the final look; PFS without a P
    for text in ("Cox model, Efron ties, stratified by region, ecog, pd_l1_cps_class",
                 "Stratified log-rank P, one-sided", "Analysis: look 2 of 2 (final analysis)",
                 "information fraction 1.00 (576 of 576 events)", "Efficacy boundary crossed Yes",
                 "Rate at 6 months", "Estimates with 95% CI only (no P value, per the SAP)",
                 "Completed combination"):
        assert text in page, text
    # no P comparing the arms; the proportional-hazards check of the figure keeps its test
    statistics = ard.loc[(ard["endpoint"] == "PFS") & (ard["table"] != "ph_test"), "statistic"].astype(str)
    assert len(statistics) and not statistics.str.endswith("_p").any()
    assert set(ard.loc[ard["table"] == "ph_test", "statistic"]) == {"ph_chisq", "ph_df", "ph_p"}
    assert "logrank_p" in set(ard.loc[ard["endpoint"] == "OS", "statistic"])
    assert lay.startswith("**Simulated data (seed 3) — not trial results**")
    assert "not tested to see if it could be due to chance" in lay
    assert "Group A: CAPOX." in lay and "Group B: CAPOX + anti-PD-1." in lay
    for name, text in (("report.html", page), ("lay_summary.md", lay),
                       ("ard.csv", ard.to_csv(index=False)),
                       ("messages.txt", (report / "messages.txt").read_text(encoding="utf-8"))):
        found = FOREIGN.findall(text)
        assert not found, f"{name} names the reference trial: {sorted(set(found))}"
    document = docx.Document(str(report / "report.docx"))
    for section in document.sections:
        header = " ".join(p.text for p in section.header.paragraphs)
        assert "Simulated data (seed 3)" in header
    body = " ".join(p.text for p in document.paragraphs)
    assert not FOREIGN.findall(body)
