"""Each end point analysed as its protocol analysis names it — model, test, sidedness, P value
or not — on the colon trial's three arms, each compared with Obs pairwise, against R
(tests/fixtures/r/report_endpoint_tests.R); and bad analysis choices refused."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assert_close, load_fixture

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.protocol import Protocol
from oncotrial.report.ard import efficacy_records
from oncotrial.report.efficacy import efficacy_summary
from oncotrial.report.tables import efficacy_tables, model_terms

R = {c["arm"]: c for c in load_fixture("report_endpoint_tests")["comparisons"]}
ARMS = ["Lev", "Lev+5FU"]


@pytest.fixture(scope="module")
def colon() -> pd.DataFrame:
    d = load("colon")
    d = d[d["etype"] == 2].copy()
    d["months"] = d["time"] / 30.4375
    return d


def _summary(colon: pd.DataFrame, **analysis) -> object:
    return efficacy_summary(colon, time="months", event="status", group="rx", reference="Obs", **analysis)


@pytest.mark.parametrize("model, strata, adjust, ties", [
    ("stratified_cox_efron", ["extent"], [], "r"),
    ("stratified_cox_breslow", ["extent"], [], "sas"),
    ("adjusted_cox_efron", [], ["node4"], "r"),
    ("cox_efron", [], [], "r"),
])
def test_each_comparison_is_its_own_model_against_control(colon, model, strata, adjust, ties):
    s = _summary(colon, strata=strata, adjust=adjust, convention=ties)
    hrs = s.hazard_ratios.set_index("arm")
    assert list(hrs.index) == ARMS and set(hrs["reference"]) == {"Obs"}
    for arm in ARMS:
        ref = R[arm][model]
        assert_close(hrs.loc[arm, ["hr", "lower", "upper"]].astype(float), [ref["hr"], ref["lower"], ref["upper"]],
                     what=f"{model} {arm}")


@pytest.mark.parametrize("test, test_strata, strata, key", [
    ("logrank", ["extent"], ["extent"], "stratified_logrank"),
    ("logrank", [], [], "logrank"),
    ("model_score", None, ["extent"], "score_efron"),
])
@pytest.mark.parametrize("sided", [1, 2])
def test_the_named_test_one_or_two_sided(colon, test, test_strata, strata, key, sided):
    s = _summary(colon, strata=strata, test=test, test_strata=test_strata, sided=sided)
    got = s.comparisons.set_index("arm")
    for arm in ARMS:
        ref = R[arm][key]
        assert_close([got.loc[arm, "z"], got.loc[arm, "p"]], [ref["z"], ref[f"p{sided}"]], what=f"{key} {arm}")
    assert s.sided == sided and s.p_value
    long = s.to_frame()
    statistic = "logrank_p" if test == "logrank" else "score_p"
    assert long.loc[long["statistic"] == statistic, "arm"].tolist() == ARMS  # filed under each compared arm
    assert "hazard_ratio_p" not in set(long["statistic"])  # one P per comparison: the named test's


def test_a_one_sided_p_is_in_the_direction_of_benefit(colon):
    """Lev+5FU does better than Obs: the one-sided P is half the two-sided one; against the
    direction (Obs compared with Lev+5FU as reference) it is one minus that half."""
    two = _summary(colon, strata=["extent"]).comparisons.set_index("arm")
    one = _summary(colon, strata=["extent"], sided=1).comparisons.set_index("arm")
    assert one.loc["Lev+5FU", "p"] == pytest.approx(two.loc["Lev+5FU", "p"] / 2, rel=1e-9)
    pair = colon[colon["rx"].isin(["Obs", "Lev+5FU"])]
    harm = efficacy_summary(pair, time="months", event="status", group="rx", reference="Lev+5FU",
                            strata=["extent"], sided=1).comparisons.iloc[0]
    assert harm["p"] == pytest.approx(1 - two.loc["Lev+5FU", "p"] / 2, rel=1e-9)


def test_the_score_test_of_the_model_follows_its_ties(colon):
    """Breslow ties under the SAS convention; close to, not equal to, the stratified
    log-rank test (whose variance treats tied deaths as hypergeometric)."""
    s = _summary(colon, strata=["extent"], test="model_score", convention="sas")
    for arm in ARMS:
        assert_close(s.comparisons.set_index("arm").loc[arm, "p"], R[arm]["score_breslow"]["p2"], what=arm)
    assert s.test_name == "Cox score test" and s.p_statistic == "score_p" and s.p_label == "Cox score test"


def test_no_p_value_when_the_analysis_reports_none(colon):
    s = _summary(colon, strata=["extent"], p_value=False)
    assert s.comparisons.empty and not s.p_value
    assert not set(s.to_frame()["statistic"]) & {"logrank_p", "score_p", "hazard_ratio_p"}
    assert_close(s.hazard_ratios["hr"], [R[a]["stratified_cox_efron"]["hr"] for a in ARMS], what="HR kept")
    assert "not reported" in repr(s)


def test_model_terms_follow_the_named_model():
    protocol = Protocol.load("gastric_example")
    analysis = protocol.endpoint_analysis("OS")
    factors = ["region", "ecog", "pd_l1_cps_class"]
    assert model_terms(analysis) == (factors, [])
    assert model_terms(analysis.model_copy(update={"model": "adjusted_cox"})) == ([], factors)
    assert model_terms(analysis.model_copy(update={"model": "cox"})) == ([], [])


def test_bad_analysis_choices_are_refused(colon):
    with pytest.raises(InputError,
                       match=r"test: expected one of logrank, model_score, model_wald, got 'wald'") as info:
        _summary(colon, test="wald")
    assert info.value.field == "test"
    with pytest.raises(InputError, match=r"sided: expected one of 1, 2, got 3") as info:
        _summary(colon, sided=3)
    assert info.value.field == "sided"
    with pytest.raises(InputError, match=r"score test of a Cox model adjusted for node4") as info:
        _summary(colon, adjust=["node4"], test="model_score")
    assert info.value.field == "test"


def test_a_protocol_asking_the_score_test_of_an_adjusted_model_is_refused_by_end_point(colon):
    spec = Protocol.load("lms04").model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    spec["endpoints"][0]["analysis"] = {"model": "adjusted_cox", "test": "model_score"}
    protocol = Protocol.from_dict(spec)
    adsl = pd.DataFrame({"USUBJID": ["a", "b"], "ARM": ["Doxorubicin", "Doxorubicin + trabectedin"],
                         "ARMCD": ["DOX", "DOXTRAB"], "ITTFL": "Y", "origin": "uterine", "stage": "metastatic"})
    adtte = pd.DataFrame({"USUBJID": ["a", "b"], "PARAMCD": "PFS", "AVAL": [100.0, 200.0], "CNSR": [0, 1]})
    with pytest.raises(InputError, match=r"PFS: analysis test model_score with model adjusted_cox") as info:
        efficacy_tables(adsl, adtte, protocol)
    assert info.value.field == "test"


def test_the_ard_says_the_test_and_its_sidedness(colon):
    s = _summary(colon, strata=["extent"], test_strata=["extent"], sided=1, endpoint="OS")
    records = efficacy_records(s, "months")
    p = records[records["statistic"] == "logrank_p"]
    assert p["arm"].tolist() == ARMS
    assert p["method"].tolist() == ["log-rank test stratified by extent; one-sided, in the direction of benefit "
                                    "(hazard ratio < 1); vs Obs"] * 2
    score = efficacy_records(_summary(colon, strata=["extent"], test="model_score", endpoint="OS"), "months")
    assert score.loc[score["statistic"] == "score_p", "method"].iloc[0] == (
        "score test of the Cox model (Efron ties, stratified by extent); two-sided; vs Obs")
