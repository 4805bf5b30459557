"""Simulated TU/TR read by the RECIST 1.1 engine: progression at the intended scan, responses
for the intended responders, valid baseline lesions; the solved response intercept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.special import expit, ndtr, ndtri

from oncotrial.clinical import derive_timepoint_responses
from oncotrial.simulate.disease import PiecewiseExponential
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial
from oncotrial.simulate.tumours import response_intercept


@pytest.fixture(scope="module")
def small() -> Scenario:
    return Scenario.load("lms04").with_changes({"patients": 40})


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 2**31))
@example(13854)  # a responder whose targets are all lymph nodes, progressing by their growth
def test_engine_reads_the_intended_course(small, seed):
    trial = simulate_trial(small, seed=seed)
    result = derive_timepoint_responses(trial.tu, trial.tr)
    assert result.issues == ()
    ovr = result.responses[result.responses["RSTESTCD"] == "OVRLRESP"].copy()
    ovr["RSDTC"] = pd.to_datetime(ovr["RSDTC"])
    truth = trial.truth.set_index("USUBJID")
    first_pd = ovr[ovr["RSORRES"] == "PD"].groupby("USUBJID")["RSDTC"].min()
    expected = truth["PDDT"].dropna()
    assert first_pd.sort_index().equals(expected.sort_index().astype(first_pd.dtype))
    # PD is the last assessment: scans stop at the first progression
    assert (ovr.groupby("USUBJID")["RSDTC"].max().reindex(first_pd.index) == first_pd).all()
    responded = ovr[ovr["RSORRES"].isin(["CR", "PR"])]["USUBJID"].unique()
    assert set(responded) == set(truth.index[truth["RESPONDER"]])
    complete = ovr[ovr["RSORRES"] == "CR"]["USUBJID"].unique()
    assert set(complete) == set(truth.index[truth["BOR"] == "CR"])


def test_baseline_lesions_follow_recist(small):
    trial = simulate_trial(small, seed=3)
    tu, tr = trial.tu, trial.tr
    baseline = tu[tu["TUORRES"] != "NEW"]
    targets = baseline[baseline["TUORRES"] == "TARGET"]
    organ = np.where(targets["TUNODE"] == "Y", "LYMPH NODE", targets["TULOC"])
    assert targets.groupby("USUBJID").size().between(1, 5).all()
    assert targets.groupby([targets["USUBJID"], organ]).size().max() <= 2
    assert set(baseline["USUBJID"]) == set(trial.dm["USUBJID"])
    first = tr.merge(baseline[["USUBJID", "TULNKID", "TUDTC"]], left_on=["USUBJID", "TRLNKID"],
                     right_on=["USUBJID", "TULNKID"])
    first = first[first["TRDTC"] == first["TUDTC"]]
    size = first[first["TRTESTCD"] != "TUMSTATE"]
    assert (size.loc[size["TRTESTCD"] == "SAXIS", "TRSTRESN"] >= 15).all()
    assert (size.loc[size["TRTESTCD"] == "LDIAM", "TRSTRESN"] >= 10).all()
    rand = trial.dm.set_index("USUBJID")["RFSTDTC"]
    lag = pd.to_datetime(baseline["USUBJID"].map(rand)) - pd.to_datetime(baseline["TUDTC"])
    assert lag.dt.days.between(0, 28).all()
    new = tu[tu["TUORRES"] == "NEW"].set_index("USUBJID")["TUDTC"]
    pd_dates = trial.truth.set_index("USUBJID")["PDDT"]
    assert (pd.to_datetime(new) == pd_dates.reindex(new.index)).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 0.6), st.floats(-2, 2), st.floats(0, 0.95))
def test_response_intercept_gives_the_expected_rate(orr, link, loading):
    pfs = PiecewiseExponential.from_points([(2.0, 0.9), (12.0, 0.4)])
    alpha, reachable = response_intercept(orr, link, pfs, loading, 1.3)
    assert reachable == pytest.approx(float(pfs.survival(1.3)))
    if orr >= reachable:
        assert alpha is None
        return
    # Monte-Carlo over the latent factor: P(PFS > t | z) from the copula, times P(response | z)
    z = np.random.default_rng(1).standard_normal(400_000)
    free = ndtr((loading * z - ndtri(1 - reachable)) / np.sqrt(1 - loading ** 2))
    assert np.mean(free * expit(alpha + link * z)) == pytest.approx(orr, abs=0.004)
