"""The end-point tables on a simulated LMS04 replica: events and censoring per end point,
every landmark, the trial's follow-up once, the duration-of-response table, sensitivity
analyses and the subgroup table (the forest plot's numbers, nobody outside a subset called
"missing") — each a defect or gap of the report review that these tests would have caught."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.efficacy import efficacy_summary
from oncotrial.report.endpoint_results import (
    endpoint_frame,
    endpoint_results,
    events_and_censoring,
    response_duration,
    sensitivity_analyses,
    subgroup_results,
    trial_followup,
)
from oncotrial.report.endpoint_tables import (
    endpoint_section_tables,
    events_table,
    followup_table,
    landmark_table,
    response_duration_table,
    sensitivity_table,
    subgroup_table,
)
from oncotrial.report.forest import endpoint_subgroups, subgroup_hazard_ratios
from oncotrial.report.tables import model_terms
from oncotrial.simulate.trial import simulate_trial
from oncotrial.stats import median_followup

LMS04 = Protocol.load("lms04")
CONTROL, EXPERIMENTAL = "Doxorubicin", "Doxorubicin + trabectedin"
ARMS = [CONTROL, EXPERIMENTAL]


class Variant:
    def __init__(self, label: str, model: str) -> None:
        self.label, self.model, self.strata = label, model, None


@pytest.fixture(scope="module")
def adam() -> tuple[pd.DataFrame, pd.DataFrame]:
    trial = simulate_trial("lms04", seed=4)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return derived.adsl, derived.adtte


@pytest.fixture(scope="module")
def efficacy(adam):
    """Each end point with its stratified Cox model and landmarks at 12 and 24 months."""
    adsl, adtte = adam
    out = {}
    for paramcd in ("PFS", "OS", "PFS2"):
        data = endpoint_frame(adsl, adtte, paramcd, "months")
        out[paramcd] = efficacy_summary(data, time="TIME", event="EVENT", group="ARM", strata=["origin", "stage"],
                                        landmarks=[12, 24], reference=CONTROL, endpoint=paramcd)
    return out


def _text(table) -> str:
    return " ".join([*table.header, *[c for r in table.rows for c in r.cells], *table.footnotes])


@pytest.mark.parametrize("paramcd", ["PFS", "OS", "PFS2"])
def test_events_and_censorings_add_up_to_each_arm(adam, efficacy, paramcd):
    adsl, adtte = adam
    result = events_and_censoring(adsl, adtte, LMS04, paramcd, ARMS)
    counts = result.counts
    arms = efficacy[paramcd].arms.set_index("arm")
    for arm in ARMS:
        mine = counts[counts["arm"] == arm]
        assert mine["n"].sum() == arms.at[arm, "n"]
        assert mine.loc[mine["kind"] == "event", "n"].sum() == arms.at[arm, "events"]
    table = events_table(result)
    text = _text(table)
    assert "Events" in text and "Censored" in text
    assert "LAST KNOWN ALIVE" not in text and "LAST ADEQUATE ASSESSMENT" not in text  # CDISC codes as words
    assert table.key == f"events-{paramcd.lower()}"


def test_who_assessed_progression_comes_from_the_protocol(adam):
    adsl, adtte = adam
    table = events_table(events_and_censoring(adsl, adtte, LMS04, "PFS", ARMS))
    assert f"Assessed by {LMS04.endpoint('PFS').assessed_by}." in table.footnotes
    assert any(r.cells[0] == "Disease progression" for r in table.rows)
    assert any(r.cells[0] == "Death" for r in table.rows)


def test_several_landmarks_are_never_lost(efficacy):
    from oncotrial.report.endpoint_results import landmark_rates

    result = landmark_rates(efficacy, "months")
    assert result.rates.groupby("endpoint")["time"].apply(lambda t: sorted(set(t))).to_dict() == {
        "PFS": [12, 24], "OS": [12, 24], "PFS2": [12, 24]}
    table = landmark_table(result, ARMS)
    labels = [r.cells[0] for r in table.rows]
    assert labels.count("Rate at 12 months, % (95% CI)") == 3 and labels.count("Rate at 24 months, % (95% CI)") == 3


def test_the_follow_up_is_computed_once_on_overall_survival(adam):
    adsl, adtte = adam
    result = trial_followup(adsl, adtte, LMS04)
    assert result.endpoint == "OS"
    data = endpoint_frame(adsl, adtte, "OS", "months")
    direct = median_followup(data["TIME"], data["EVENT"], convention=LMS04.analysis.convention)
    assert (result.median, result.q1, result.q3) == (direct.median, direct.q1, direct.q3)
    table = followup_table(result)
    assert len(table.rows) == 1 and "reverse Kaplan–Meier" in table.footnotes[0] and "on OS" in table.footnotes[0]


def test_the_duration_of_response_table_is_not_empty_when_there_are_responders(adam):
    adsl, adtte = adam
    result = response_duration(adsl, adtte, LMS04, "DOR", ARMS)
    records = endpoint_frame(adsl, adtte, "DOR", "months").groupby("ARM").size()
    assert result.arms.set_index("arm")["responders"].to_dict() == records.to_dict()
    table = response_duration_table(result)
    assert len(table.rows) >= 3 and table.rows[0].cells[0].startswith("Responders")
    assert "Hazard ratio" not in _text(table) and " P " not in _text(table).replace("P value", "")


def test_sensitivity_analyses_give_estimates_and_intervals_only(adam):
    adsl, adtte = adam
    data = endpoint_frame(adsl, adtte, "PFS", "months")
    analysis = LMS04.endpoint_analysis("PFS")
    result = sensitivity_analyses(data, analysis, [Variant("Adjusted", "adjusted_cox"), Variant("Plain", "cox")],
                                  endpoint="PFS", reference=CONTROL, convention=LMS04.analysis.convention)
    assert list(result.results["label"]) == ["Adjusted", "Plain"]
    assert "adjusted for origin, stage" in result.results["model"].iloc[0]
    table = sensitivity_table(result)
    assert [r.cells[0] for r in table.rows] == ["Adjusted", "Plain"]
    assert "no P value" in table.footnotes[0]


@pytest.mark.parametrize("p_interaction", [False, True])
def test_the_subgroup_table_prints_the_forest_plots_numbers(adam, p_interaction):
    adsl, adtte = adam
    data = endpoint_frame(adsl, adtte, "PFS", "months")
    analysis = LMS04.endpoint_analysis("PFS")
    subgroups, _ = endpoint_subgroups(LMS04, analysis.subgroups)
    result = subgroup_results(data, subgroups, analysis, endpoint="PFS", reference=CONTROL,
                              convention=LMS04.analysis.convention, p_interaction=p_interaction)
    strata, adjust = model_terms(analysis)
    forest = subgroup_hazard_ratios(data, time="TIME", event="EVENT", group="ARM", subgroups=subgroups, adjust=adjust,
                                    strata=strata, reference=CONTROL, conf_level=analysis.conf_level,
                                    convention=LMS04.analysis.convention)
    pd.testing.assert_series_equal(result.table["hr"], forest["hr"])
    table = subgroup_table(result)
    text = _text(table)
    assert "missing" not in text.lower()
    # patients without metastases are outside "No. of metastases": not applicable, not missing
    assert result.outside["No. of metastases"] == (int((adsl.loc[adsl["ITTFL"] == "Y", "NMETS"] == 0).sum()), 0)
    assert any("No. of metastases:" in f and "not applicable" in f for f in table.footnotes)
    assert ("P for interaction" in table.header) is p_interaction
    assert ("p_interaction" in result.to_frame().columns) is p_interaction


def test_every_end_point_gets_its_tables(adam, efficacy):
    adsl, adtte = adam
    results = endpoint_results(adsl, adtte, LMS04, efficacy, ARMS)
    assert set(results.events) == {"PFS", "OS", "PFS2"} and set(results.response_duration) == {"DOR"}
    assert results.followup is not None and results.followup.endpoint == "OS"
    keys = [t.key for t in endpoint_section_tables(results, "PFS")]
    assert keys[0] == "events-pfs" and "subgroups-pfs" in keys
    assert [t.key for t in endpoint_section_tables(results, "DOR")] == ["dor-dor"]
    frame = results.to_frame()
    assert {"events", "landmarks", "followup", "response_duration", "subgroups"} <= set(frame["output"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ARMS), st.booleans(),
                          st.sampled_from(["Death", "DISEASE PROGRESSION", "", None]),
                          st.sampled_from(["LAST KNOWN ALIVE", "Lost to follow-up", None])),
                min_size=1, max_size=30))
def test_events_and_censorings_are_a_partition_of_each_arm(records):
    """Whatever the texts (upper case, empty, absent), every patient is counted once, under
    an event type or a censoring reason."""
    ids = [f"P{i}" for i in range(len(records))]
    adsl = pd.DataFrame({"USUBJID": ids, "ARM": [r[0] for r in records], "ITTFL": "Y"})
    adtte = pd.DataFrame({"USUBJID": ids, "PARAMCD": "OS", "AVAL": 100.0, "CNSR": [0 if r[1] else 1 for r in records],
                          "EVNTDESC": [r[2] for r in records], "CNSDTDSC": [r[3] for r in records]})
    counts = events_and_censoring(adsl, adtte, LMS04, "OS", ARMS).counts
    for arm in ARMS:
        mine = counts[counts["arm"] == arm]
        n_arm = sum(r[0] == arm for r in records)
        assert mine["n"].sum() == n_arm
        assert mine.loc[mine["kind"] == "event", "n"].sum() == sum(r[0] == arm and r[1] for r in records)
    assert not any(reason.isupper() for reason in counts["reason"])


def test_the_second_example_protocol_gets_the_same_tables():
    """gastric_example: its own end points, landmarks and arms, nothing of LMS04."""
    protocol = Protocol.load("gastric_example")
    trial = simulate_trial("gastric_example", seed=1)
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    analysis = analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), protocol)
    results = endpoint_results(derived.adsl, derived.adtte, protocol, analysis.efficacy, list(analysis.arm_roles))
    assert set(results.events) == set(analysis.efficacy) and "DOR" in results.response_duration
    assert results.followup is not None and results.followup.endpoint == "OS"
    times = results.landmarks.rates.groupby("endpoint")["time"].apply(lambda t: sorted(set(t))).to_dict()
    assert times["OS"] == [12, 24] and times["PFS"] == [6, 12]
    pfs = events_table(results.events["PFS"])
    assert "Assessed by investigator." in pfs.footnotes
    assert response_duration_table(results.response_duration["DOR"]).rows[0].cells[1] != ""
