"""One pre-specified model per end point: the P beside a hazard ratio is a test of the model
that gives the hazard ratio (the review's "HR and P from different models"), checked against
R on the colon data (tests/fixtures/r/report_endpoint_tests.R)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assert_close, load_fixture

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.protocol import Protocol
from oncotrial.report.efficacy import check_model_test, efficacy_summary, protocol_test

ARMS = ["Lev", "Lev+5FU"]
R = {c["arm"]: c for c in load_fixture("report_endpoint_tests")["comparisons"]}


@pytest.fixture(scope="module")
def colon() -> pd.DataFrame:
    d = load("colon")
    d = d[d["etype"] == 2].copy()
    d["months"] = d["time"] / 30.4375
    return d


def _summary(colon: pd.DataFrame, **analysis) -> object:
    return efficacy_summary(colon, time="months", event="status", group="rx", reference="Obs", **analysis)


def test_a_log_rank_p_beside_an_adjusted_hazard_ratio_is_refused(colon):
    """The defect: HR from a Cox model adjusted for the strata, P from the log-rank test
    stratified by them — two models. The check refuses it, naming the fix; a summary of such
    a declared analysis is marked, so that the report cannot present it as one model."""
    with pytest.raises(InputError, match=r"PFS: test: .*another model than the hazard ratio") as info:
        check_model_test("logrank", strata=[], adjust=["node4"], test_strata=["node4"], endpoint="PFS")
    assert info.value.field == "test"
    with pytest.raises(InputError, match=r"stratified by extent.*Cox model without strata"):
        check_model_test("logrank", strata=[], adjust=[], test_strata=["extent"])
    assert not _summary(colon, adjust=["node4"], test="logrank", test_strata=["node4"]).same_model
    assert _summary(colon, strata=["extent"], test="logrank").same_model


@pytest.mark.parametrize("name", ["lms04", "gastric_example"])
def test_every_bundled_protocol_pairs_each_test_with_its_model(name):
    from oncotrial.report.tables import model_terms

    protocol = Protocol.load(name)
    for endpoint in protocol.endpoints:
        if endpoint.kind != "time_to_event" or endpoint.analysis is None:
            continue
        analysis = protocol.endpoint_analysis(endpoint.name)
        strata, adjust = model_terms(analysis)
        check_model_test(**protocol_test(analysis), strata=strata, adjust=adjust, endpoint=endpoint.name)


def test_the_stratified_log_rank_p_goes_with_the_stratified_cox_hazard_ratio(colon):
    """HR, CI and P of one model: R's coxph(... + strata(extent)) and survdiff(... + strata(extent))."""
    s = _summary(colon, strata=["extent"], test="logrank")
    hrs, p = s.hazard_ratios.set_index("arm"), s.comparisons.set_index("arm")
    for arm in ARMS:
        ref = R[arm]
        assert_close(hrs.loc[arm, ["hr", "lower", "upper"]].astype(float),
                     [ref["stratified_cox_efron"][k] for k in ("hr", "lower", "upper")], what=f"HR {arm}")
        assert_close([p.loc[arm, "p"]], [ref["stratified_logrank"]["p2"]], what=f"P {arm}")
        # the stratified log-rank test is that model's score test, up to the tie correction
        assert abs(ref["stratified_logrank"]["z"] - ref["score_breslow"]["z"]) < 1e-3
    assert s.test_name == "Stratified log-rank" and "stratified by extent" in s.model


def test_an_adjusted_model_gets_the_wald_test_of_its_own_arm_coefficient(colon):
    s = _summary(colon, adjust=["node4"])  # the default test of an adjusted model
    assert s.test == "model_wald" and s.test_name == "Cox Wald test"
    merged = s.hazard_ratios.merge(s.comparisons, on="arm", suffixes=("_hr", "_test"))
    assert (merged["p_hr"] == merged["p_test"]).all()  # the very P of the HR's coefficient
    assert set(s.to_frame()["statistic"]) >= {"hazard_ratio", "wald_p"}
    for arm in ARMS:
        assert_close(s.hazard_ratios.set_index("arm").loc[arm, ["hr"]].astype(float),
                     [R[arm]["adjusted_cox_efron"]["hr"]], what=f"adjusted HR {arm}")


def test_protocol_tests_map_to_the_summary_and_pair_with_their_model():
    analysis = Protocol.load("gastric_example").endpoint_analysis("OS")
    assert analysis.model == "stratified_cox" and analysis.test == "stratified_logrank"
    keywords = protocol_test(analysis)
    assert keywords == {"test": "logrank", "test_strata": list(analysis.strata)}
    check_model_test(keywords["test"], strata=analysis.strata, adjust=[], test_strata=keywords["test_strata"])
    with pytest.raises(InputError, match="another model"):
        check_model_test(keywords["test"], strata=[], adjust=analysis.strata, test_strata=keywords["test_strata"])
