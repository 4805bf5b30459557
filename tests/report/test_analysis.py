"""analyse() on a simulated LMS04 trial: every table, the ARD, and the messages of skipped outputs."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assert_close

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData, read_adam
from oncotrial.report.analysis import TrialAnalysis, analyse, default_table1
from oncotrial.report.efficacy import efficacy_summary
from oncotrial.report.tables import Categorical, Continuous, Flags
from oncotrial.simulate.trial import simulate_trial
from oncotrial.stats import logrank_test

LMS04 = Protocol.load("lms04")


@pytest.fixture(scope="module")
def derived():
    trial = simulate_trial("lms04", seed=1)
    return derive_all(trial.domains, LMS04, cutoff=trial.cutoff)


@pytest.fixture(scope="module")
def adam(derived) -> AdamData:
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def analysis(adam) -> TrialAnalysis:
    return analyse(adam, LMS04)


def test_analysis_of_the_simulated_trial_has_every_table(analysis, derived):
    assert analysis.protocol_id == "LMS04" and analysis.time_unit == "months" and analysis.convention == "sas"
    assert analysis.arm_roles == {"Doxorubicin": "control", "Doxorubicin + trabectedin": "experimental"}
    assert (analysis.control, analysis.experimental) == ("Doxorubicin", "Doxorubicin + trabectedin")
    assert list(analysis.efficacy) == ["PFS", "OS", "PFS2"]
    assert analysis.response is not None and analysis.adverse_events is not None
    assert analysis.messages == ("DOR: measured among responders only; not compared between arms",)
    assert analysis.table1.arm_n == {"Doxorubicin": 76, "Doxorubicin + trabectedin": 74, "Total": 150}
    assert analysis.table1.table["variable"].unique().tolist() == [row.label for row in LMS04.reporting.table1]
    allocated = analysis.consort.table.query("stage == 'allocated'").set_index("arm")["n"]
    assert allocated.to_dict() == {"Doxorubicin": 76, "Doxorubicin + trabectedin": 74}
    entered = analysis.consort.table.query("stage == 'entered_maintenance'")
    assert entered["arm"].tolist() == ["Doxorubicin + trabectedin"]  # the protocol's maintenance arm only
    assert analysis.adverse_events.arm_n == {"Doxorubicin": 75, "Doxorubicin + trabectedin": 74}
    assert set(analysis.ard["table"]) == {"trial", "table1", "consort", "efficacy", "response", "adverse_events",
                                          "events", "dor", "forest", "adverse_reactions", "age_groups"}
    assert analysis.to_frame() is analysis.ard
    assert "PFS" in repr(analysis) and set(analysis.to_dict()) >= {"efficacy", "ard", "messages"}


def test_efficacy_follows_the_protocol_analysis_section(analysis, derived):
    itt = derived.adsl[derived.adsl["ITTFL"] == "Y"]
    os_ = derived.adtte[derived.adtte["PARAMCD"] == "OS"].merge(itt[["USUBJID", "ARM", "origin", "stage"]])
    os_ = os_.assign(EVENT=(os_["CNSR"] == 0).astype(int))
    direct = efficacy_summary(os_, time="AVALM", event="EVENT", group="ARM", strata=["origin", "stage"],
                              landmarks=[12, 24], reference="Doxorubicin", convention="sas", endpoint="OS")
    got = analysis.efficacy["OS"]
    assert_close(got.arms["median"], direct.arms["median"], what="median")
    assert_close(got.rates["rate"], direct.rates["rate"], what="12- and 24-month rates")
    assert_close(got.hazard_ratios["hr"], direct.hazard_ratios["hr"], what="stratified HR")
    assert got.model == "Cox model, Breslow ties, stratified by origin, stage"  # stratified_cox
    assert not got.p_value and got.comparisons.empty  # OS: estimates with CIs only (p_value: false)
    pfs = analysis.efficacy["PFS"]
    assert pfs.test_method == "log-rank test stratified by origin, stage" and pfs.sided == 2
    pfs_data = derived.adtte[derived.adtte["PARAMCD"] == "PFS"].merge(itt[["USUBJID", "ARM", "origin", "stage"]])
    stratified = logrank_test(pfs_data["AVALM"], (pfs_data["CNSR"] == 0).astype(int), pfs_data["ARM"],
                              strata=pfs_data[["origin", "stage"]], convention="sas")
    assert_close(pfs.comparisons["p"], [stratified.p], what="stratified log-rank P")
    assert set(analysis.ard.loc[analysis.ard["endpoint"] == "OS", "statistic"]).isdisjoint(
        {"logrank_p", "hazard_ratio_p", "score_p"})


def test_missing_optional_datasets_are_skipped_with_messages(adam):
    result = analyse(AdamData(adam.adsl, adam.adtte), "lms04")
    assert result.response is None and result.adverse_events is None
    assert "ADRS not supplied: response table (ORR, DCR) skipped" in result.messages
    assert "ADAE not supplied: adverse-event table skipped" in result.messages
    assert not {"response", "adverse_events"} & set(result.ard["table"])
    assert list(result.efficacy) == ["PFS", "OS", "PFS2"]


def test_absent_end_points_columns_and_records_are_reported(adam):
    adtte = adam.adtte[adam.adtte["PARAMCD"] != "PFS2"]
    dropped = adtte[(adtte["PARAMCD"] == "OS")].index[:2]
    adsl = adam.adsl.drop(columns=["METSKIN"])
    result = analyse(AdamData(adsl, adtte.drop(index=dropped), adam.adrs, adam.adae), LMS04)
    assert list(result.efficacy) == ["PFS", "OS"]
    messages = "\n".join(result.messages)
    assert "PFS2: no ADTTE records (PARAMCD 'PFS2' absent); efficacy table skipped" in messages
    assert "OS: 2 randomised patient(s) without an ADTTE record, not analysed" in messages
    assert "Table 1: Site of metastasis left out (ADSL has no METSKIN)" in messages
    assert result.efficacy["OS"].arms["n"].sum() == 148


def test_validation_errors_reach_the_caller(adam):
    adsl = adam.adsl.assign(ARMCD="DOX", ARM="Doxorubicin", ACTARM="Doxorubicin")
    with pytest.raises(InputError, match=r"ADSL\.ARMCD: protocol arm 'DOXTRAB'"):
        analyse(AdamData(adsl, adam.adtte), LMS04)


def test_analysis_from_files_equals_analysis_in_memory(derived, analysis, tmp_path):
    derived.write(tmp_path)
    from_files = analyse(read_adam(tmp_path), LMS04)
    pd.testing.assert_frame_equal(from_files.ard, analysis.ard)


def test_default_table1_for_a_protocol_without_a_specification():
    spec = LMS04.to_dict()
    del spec["reporting"]
    variables = default_table1(Protocol.from_dict(spec))
    assert isinstance(variables[0], Continuous) and variables[0].column == "AGE"
    assert [v.column for v in variables[1:]] == ["SEX", "origin", "stage"]
    assert isinstance(variables[2], Categorical) and dict(variables[2].levels) == {"uterine": "uterine",
                                                                                  "soft_tissue": "soft_tissue"}


def test_table1_from_the_protocol_reporting_section():
    variables = default_table1(LMS04)
    assert [v.label for v in variables] == [row.label for row in LMS04.reporting.table1]
    age, _, ecog, grade, *_, sites, metastases = variables
    assert age == Continuous("AGE", "Age, years", statistics=("median_iqr",), digits=0)
    assert ecog == Categorical("ECOG", "ECOG performance-status score", levels={0: "0", 1: "1"}, missing="exclude")
    assert grade.where == "origin == 'soft_tissue'"
    assert isinstance(sites, Flags) and list(sites.columns) == ["METLUNG", "METLIVER", "METBONE", "METSKIN",
                                                                "METOTHER"]
    assert metastases.bins == ((1, 1, "1"), (2, float("inf"), "≥2"))
