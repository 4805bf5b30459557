"""Monte-Carlo operating characteristics (oncotrial.simulate.power).

Three kinds of checks:

* against rpact's ``getSimulationSurvival`` (tests/fixtures/r/simulate_power.R, 100,000
  iterations per case) and the normal approximation, *statistically*: differences within
  4 combined Monte-Carlo standard errors (the programs draw different random numbers;
  the seeds are fixed, so each check is deterministic);
* the per-trial log-rank z and Cox hazard ratio against ``oncotrial.stats`` on the same
  patients, to 1e-8, including tied times, strata, dropout and interim looks;
* properties: identical numbers whatever the chunking, the first n trials of a longer run
  are the run of n trials, swapping the arms flips the statistics; and input errors that
  name the argument.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from oncotrial.core.errors import InputError
from oncotrial.design import group_sequential, survival_power
from oncotrial.simulate import _power_engine as engine
from oncotrial.simulate.power import QUANTILES, SimulatedPower, simulate_power
from oncotrial.stats import coxph, logrank_test

RPACT = {case["name"]: case for case in load_fixture("simulate_power")["cases"]}
LMS04 = dict(median_control=6, median_experimental=9.7, subjects=150, events=136,
             accrual_time=24)


def _from_rpact(name: str) -> dict:
    """simulate_power arguments for an rpact case, on rpact's entry grid."""
    a = RPACT[name]["args"]
    kw = {key: a[key] for key in ("median_control", "median_experimental", "hazard_ratio",
                                  "lambda_control", "piecewise_time", "accrual_intensity",
                                  "dropout_rate", "dropout_time", "subjects", "events",
                                  "accrual_time") if key in a}
    if "allocation" in a:
        kw["allocation_ratio"] = a["allocation"][0] / a["allocation"][1]
    if "design" in a:
        d = a["design"]
        kw["design"] = group_sequential(d["k"], alpha=a["alpha"], type=d["type"],
                                        futility=d.get("futility"), beta=d.get("beta", 0.2))
    else:
        kw.update(alpha=a["alpha"], sided=1)
    return kw | {"entry": "regular", "direction": "lower"}


def _agree(ours: float, se_ours: float, theirs: float, se_theirs: float, what: str) -> None:
    se = math.hypot(se_ours, se_theirs)
    assert abs(ours - theirs) <= 4 * se + 1e-12, \
        f"{what}: {ours:.5f} vs {theirs:.5f} ({(ours - theirs) / se:+.1f} SE)"


def _binomial_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------- rpact and analytic
def test_lms04_power_matches_rpact_and_the_normal_approximation():
    res = simulate_power(**_from_rpact("lms04"), trials=100_000, seed=2024, keep_trials=True)
    rp = RPACT["lms04"]
    n_rp = rp["iterations"]
    _agree(res.power, res.mc_se, rp["expected"]["overall_reject"],
           _binomial_se(rp["expected"]["overall_reject"], n_rp), "power vs rpact")
    # 400,000-trial oracle of the design survey (design_simulation.md section 1.7)
    _agree(res.power, res.mc_se, 0.7928, 0.0006, "power vs survey oracle")
    # the normal approximation is that of oncotrial.design, and ~0.6 points optimistic
    analytic = survival_power(events=136, median_control=6, median_experimental=9.7,
                              alpha=0.025, sided=1).power
    assert res.analytic_power == pytest.approx(analytic, abs=1e-9)
    assert res.analytic_power == pytest.approx(0.79983, abs=1e-5)
    assert 0 < res.analytic_power - res.power < 0.015
    # analysis time: rpact's mean, and our Monte-Carlo SE
    sd = res.trial_table["analysis_time"].std()
    assert res.expected_analysis_time_se == pytest.approx(sd / math.sqrt(res.trials))
    _agree(res.expected_analysis_time, res.expected_analysis_time_se,
           rp["expected"]["analysis_time"], sd / math.sqrt(n_rp), "analysis time")
    assert res.expected_events == 136 and res.expected_subjects == 150
    assert res.events_not_reached == 0 and res.k == 1
    # the hazard-ratio estimates centre on the true hazard ratio
    assert res.hazard_ratio_quantiles["50%"] == pytest.approx(6 / 9.7, rel=0.01)


def test_two_sided_and_random_entry_lms04():
    res = simulate_power(**LMS04, trials=40_000, seed=7)
    assert res.sided == 2 and res.alpha == 0.05 and res.entry == "random"
    assert res.critical_values[0] == pytest.approx(1.959964, abs=1e-6)
    # random entry times change the timing spread, not the power
    _agree(res.power, res.mc_se, 0.7928, 0.0006, "two-sided power")
    q = res.analysis_time_quantiles
    assert list(q) == ["2.5%", "25%", "50%", "75%", "97.5%"]
    assert q["2.5%"] < q["50%"] < q["97.5%"] and 39 < q["50%"] < 42


def test_type_one_error():
    res = simulate_power(**_from_rpact("lms04_null"), trials=60_000, seed=11)
    assert res.hazard_ratio == 1.0 and res.analytic_power == pytest.approx(0.025)
    _agree(res.power, res.mc_se, 0.025, 0.0, "one-sided type I error")
    rp = RPACT["lms04_null"]["expected"]["overall_reject"]
    _agree(res.power, res.mc_se, rp, _binomial_se(rp, 100_000), "type I error vs rpact")
    two = simulate_power(median_control=6, hazard_ratio=1, subjects=150, events=136,
                         accrual_time=24, trials=40_000, seed=12)
    _agree(two.power, two.mc_se, 0.05, 0.0, "two-sided type I error")
    assert two.hazard_ratio_quantiles["50%"] == pytest.approx(1.0, abs=0.01)


def test_group_sequential_lms04_matches_rpact():
    res = simulate_power(**_from_rpact("lms04_3_looks_asOF"), trials=60_000, seed=3,
                         keep_trials=True)
    rp = RPACT["lms04_3_looks_asOF"]
    exp = rp["expected"]
    assert res.events.tolist() == rp["design"]["planned_events"] == [46, 91, 136]
    np.testing.assert_allclose(res.critical_values, rp["design"]["critical_values"], rtol=1e-6)
    _agree(res.power, res.mc_se, exp["overall_reject"],
           _binomial_se(exp["overall_reject"], 100_000), "overall power")
    for j in range(3):
        p, q = res.rejection_per_look[j], exp["reject_per_stage"][j]
        _agree(p, _binomial_se(p, res.trials), q, _binomial_se(q, 100_000), f"look {j + 1}")
    assert res.early_stop == pytest.approx(res.rejection_per_look[:2].sum())
    assert res.look_reached[0] == 1 and res.futility_per_look is None
    # expected events from the stopping distribution, SE from its spread
    stop = res.rejection_per_look.copy()
    stop[-1] = 1 - stop[:2].sum()
    mean = stop @ res.events
    sd = math.sqrt(stop @ res.events ** 2 - mean ** 2)
    assert res.expected_events == pytest.approx(mean)
    _agree(res.expected_events, sd / math.sqrt(res.trials), exp["expected_number_of_events"],
           sd / math.sqrt(100_000), "expected events")
    # mean calendar time of each look, over the trials that perform it
    table = res.trial_table
    for j in range(3):
        times = table.loc[(table.look == j + 1) & (table.stop_look >= j + 1), "analysis_time"]
        assert res.analysis_time_per_look[j] == pytest.approx(times.mean())
        se = times.std() / math.sqrt(times.size)
        se_rp = times.std() / math.sqrt(exp["iterations_per_stage"][j])
        _agree(times.mean(), se, exp["analysis_time"][j], se_rp, f"time of look {j + 1}")
    # the normal approximation with the same bounds
    assert abs(res.analytic_power - res.power) < 0.015


def test_futility_bounds_match_rpact():
    res = simulate_power(**_from_rpact("lms04_3_looks_asOF_bsOF_futility"), trials=40_000,
                         seed=5)
    exp = RPACT["lms04_3_looks_asOF_bsOF_futility"]["expected"]
    n = RPACT["lms04_3_looks_asOF_bsOF_futility"]["iterations"]
    assert res.futility_bounds.tolist() == pytest.approx([-0.236145, 1.170372], abs=1e-5)
    for j in range(3):
        p, q = res.rejection_per_look[j], exp["reject_per_stage"][j]
        _agree(p, _binomial_se(p, res.trials), q, _binomial_se(q, n), f"reject {j + 1}")
    for j in range(2):
        p, q = res.futility_per_look[j], exp["futility_per_stage"][j]
        _agree(p, _binomial_se(p, res.trials), q, _binomial_se(q, n), f"futility {j + 1}")
    assert res.futility_per_look[2] == 0
    _agree(res.early_stop, _binomial_se(res.early_stop, res.trials), exp["early_stop"],
           _binomial_se(exp["early_stop"], n), "early stop")
    assert res.look_table()["futility"].tolist() == res.futility_per_look.tolist()


def test_dropout_and_events_never_reached():
    """With 5 % dropout by 12 months some trials never see 136 events. The number of
    events a trial ever has is a sum of two binomials (75 patients, P(event before
    dropout) = lambda / (lambda + eta) per arm), so the fraction is known exactly. rpact
    3.3.4's "events not achieved" also counts the trials with exactly 136 events (its
    fraction is P(events <= 136)), so its power is compared conditionally on the analysis
    happening."""
    res = simulate_power(**_from_rpact("lms04_dropout"), trials=60_000, seed=17)
    eta = -math.log(0.95) / 12
    p_c = (math.log(2) / 6) / (math.log(2) / 6 + eta)
    p_e = (math.log(2) / 9.7) / (math.log(2) / 9.7 + eta)
    total = np.convolve(sps.binom.pmf(np.arange(76), 75, p_c),
                        sps.binom.pmf(np.arange(76), 75, p_e))
    below, at_most = total[:136].sum(), total[:137].sum()
    _agree(res.events_not_reached, _binomial_se(below, res.trials), below, 0.0, "ours")
    rp = RPACT["lms04_dropout"]["expected"]
    _agree(rp["events_not_achieved"], _binomial_se(at_most, 100_000), at_most, 0.0, "rpact")
    ours = res.power / (1 - res.events_not_reached)
    theirs = rp["overall_reject"] / (1 - rp["events_not_achieved"])
    _agree(ours, _binomial_se(ours, res.trials), theirs, _binomial_se(theirs, 100_000),
           "power given the analysis happens")
    assert res.look_reached[0] == pytest.approx(1 - res.events_not_reached)
    assert res.dropout_rate == {"control": 0.05, "experimental": 0.05}


def test_piecewise_survival_allocation_and_accrual_match_rpact():
    res = simulate_power(**_from_rpact("piecewise_2to1"), trials=30_000, seed=23)
    exp = RPACT["piecewise_2to1"]["expected"]
    assert res.subjects_per_arm == {"control": 100, "experimental": 200}
    assert res.lambda_experimental.tolist() == pytest.approx([0.065, 0.039])
    assert res.median_control is None and res.hazard_ratio == pytest.approx(0.65)
    _agree(res.power, res.mc_se, exp["overall_reject"],
           _binomial_se(exp["overall_reject"], 100_000), "power")
    se = res.expected_analysis_time_se
    _agree(res.expected_analysis_time, se, exp["analysis_time"],
           se * math.sqrt(res.trials / 100_000), "analysis time")


def test_non_proportional_hazards_have_no_single_hazard_ratio():
    res = simulate_power(lambda_control=[0.1, 0.1], lambda_experimental=[0.1, 0.05],
                         piecewise_time=[0, 6], subjects=200, events=120, accrual_time=12,
                         trials=2000, seed=1)
    assert res.hazard_ratio is None and res.analytic_power is None
    assert res.direction == "lower" and 0 < res.power < 1
    assert "piecewise hazards" in res.report()


# -------------------------------------------------------------- per-trial statistics
SCENARIOS = {
    "lms04": LMS04,
    "gsd_dropout": LMS04 | dict(design=group_sequential(3, alpha=0.05, sided=2),
                                dropout_rate=0.1),
    "regular_futility_2to1": dict(median_control=6, hazard_ratio=0.7, subjects=100, events=60,
                                  accrual_time=[0, 6, 24], accrual_intensity=[1, 3],
                                  entry="regular", allocation_ratio=2,
                                  dropout_rate=[0.05, 0.2],
                                  design=group_sequential(2, alpha=0.025, futility="bsOF")),
    "piecewise_strata": dict(lambda_control=[0.1, 0.05], piecewise_time=[0, 6],
                             lambda_experimental=[0.1, 0.02], subjects=80, events=50,
                             accrual_time=12, strata_prevalence=[0.3, 0.5, 0.2],
                             strata_hazard_ratio=[1, 2, 0.5]),
    "strata_unstratified": dict(median_control=8, hazard_ratio=0.8, subjects=60, events=40,
                                accrual_time=10, strata_prevalence=[0.5, 0.5],
                                strata_hazard_ratio=[1, 3], stratified=False),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_trial_statistics_equal_oncotrial_stats(name):
    res = simulate_power(**SCENARIOS[name], trials=4, seed=3, keep_trials=True)
    patients = res.patients(range(4))
    table = res.trial_table.set_index(["trial", "look"])
    assert len(patients.groupby(["trial", "look"])) == table["analysis_time"].notna().sum()
    for (trial, look), data in patients.groupby(["trial", "look"]):
        row = table.loc[(trial, look)]
        assert data["event"].sum() == row["events"]
        assert data["analysis_time"].iloc[0] == row["analysis_time"]
        assert len(data) == row["subjects"]
        strata = data["stratum"] if res.stratified else None
        lr = logrank_test(data["time"], data["event"], data["arm"], strata=strata,
                          convention="sas")
        z = (lr.observed[1] - lr.expected[1]) / math.sqrt(lr.variance[1, 1])
        assert z == pytest.approx(row["z"], abs=1e-8)
        fit = coxph(data.assign(x=(data["arm"] == "experimental").astype(float)), time="time",
                    event="event", covariates=["x"], ties="breslow", convention="sas",
                    strata=["stratum"] if res.stratified else None)
        assert fit.coef[0] == pytest.approx(row["log_hr"], abs=1e-8)


def _tied_patients(rng: np.random.Generator, rows: int, n: int, strata: int
                   ) -> tuple[engine._Patients, engine.Scenario]:
    """Trials with integer follow-up times 1..6 (many ties), all entered at time 0."""
    arm = np.zeros(n, dtype=np.int64)
    arm[rng.choice(n, n // 2, replace=False)] = 1
    followed = rng.integers(1, 7, size=(rows, n)).astype(float)
    event = rng.random((rows, n)) < 0.7
    stratum = rng.integers(0, strata, size=(rows, n)) if strata > 1 else None
    pt = engine._Patients(entry=np.zeros(n), event=followed, dropout=None, stratum=stratum,
                          followed=followed, calendar=np.where(event, followed, np.inf))
    sc = engine.Scenario(arm=arm, entry=np.zeros(n), accrual_time=np.array([0.0, 1.0]),
                         accrual_cdf=np.array([0.0, 1.0]), piece_start=np.zeros(1),
                         hazard=np.ones((2, 1)), dropout_hazard=np.zeros(2),
                         strata_cdf=(None if strata == 1
                                     else np.linspace(0, 1, strata + 1)[1:-1]),
                         strata_multiplier=np.ones(strata), stratified=strata > 1,
                         events=np.array([1]))
    return pt, sc


@pytest.mark.parametrize("strata", [1, 3])
def test_tied_times_equal_oncotrial_stats(strata):
    """Tied event times (rare with continuous times) use the risk set at the tied time,
    the hypergeometric variance (R survdiff) and Breslow's likelihood (coxph ties=breslow)."""
    pt, sc = _tied_patients(np.random.default_rng(strata), rows=6, n=30, strata=strata)
    counts = engine._strata_counts(pt, sc)
    z, log_hr = engine._statistics(engine._sort_look(pt, sc, np.full(6, 100.0), None, counts))
    for i in range(6):
        time = pt.followed[i]
        event = np.isfinite(pt.calendar[i]).astype(int)
        strata_i = None if strata == 1 else pt.stratum[i]
        lr = logrank_test(time, event, sc.arm, strata=strata_i, convention="sas")
        assert z[i] == pytest.approx((lr.observed[1] - lr.expected[1])
                                     / math.sqrt(lr.variance[1, 1]), abs=1e-10)
        frame = pd.DataFrame({"time": time, "event": event, "x": sc.arm.astype(float),
                              "s": 0 if strata_i is None else strata_i})
        fit = coxph(frame, time="time", event="event", covariates=["x"], ties="breslow",
                    convention="sas", strata=None if strata == 1 else ["s"])
        assert log_hr[i] == pytest.approx(fit.coef[0], abs=1e-8)


def test_all_events_in_one_arm_gives_an_infinite_hazard_ratio():
    res = simulate_power(median_control=6, hazard_ratio=0.5, subjects=6, events=1,
                         accrual_time=1, trials=50, seed=2, keep_trials=True)
    log_hr = res.trial_table["log_hr"]
    assert np.all(np.isinf(log_hr)) and np.all(np.isfinite(res.trial_table["z"]))
    assert set(res.hazard_ratio_quantiles) == {f"{100 * p:g}%" for p in QUANTILES}


# ------------------------------------------------------------------ properties
SMALL = dict(median_control=6, hazard_ratio=0.7, subjects=12, events=8, accrual_time=6,
             dropout_rate=0.1, design=group_sequential(2, alpha=0.05, sided=2))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), trials=st.integers(1, 40), chunk=st.integers(1, 45),
       block=st.integers(1, 13), entry=st.sampled_from(["random", "regular"]))
def test_results_do_not_depend_on_chunking(seed, trials, chunk, block, entry):
    """Random-number blocks of any size (here shrunk from 1000 to ``block`` trials so that
    chunks straddle them) and chunks of any size give the same trials; the first trials of
    a run are the shorter run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "BLOCK_TRIALS", block)
        whole = simulate_power(**SMALL, entry=entry, trials=trials, seed=seed,
                               chunk_size=trials, keep_trials=True)
        chunked = simulate_power(**SMALL, entry=entry, trials=trials, seed=seed,
                                 chunk_size=chunk, keep_trials=True)
        longer = simulate_power(**SMALL, entry=entry, trials=trials + 7, seed=seed,
                                chunk_size=chunk, keep_trials=True)
    pd.testing.assert_frame_equal(whole.trial_table, chunked.trial_table)
    prefix = longer.trial_table.iloc[: len(whole.trial_table)]
    pd.testing.assert_frame_equal(whole.trial_table, prefix)
    assert whole.power == chunked.power


def test_chunking_across_real_blocks():
    kw = dict(median_control=6, hazard_ratio=0.7, subjects=10, events=6, accrual_time=6,
              trials=2_100, seed=99, keep_trials=True)
    reference = simulate_power(**kw, chunk_size=2_100).trial_table
    for chunk in (999, 1_234, 17):
        pd.testing.assert_frame_equal(simulate_power(**kw, chunk_size=chunk).trial_table,
                                      reference)


def test_streams_are_spawned_seed_sequences():
    """Variable v of block b is SeedSequence(seed).spawn(n)[b].spawn(4)[v] (PCG64);
    trial i's patients are its draws i * subjects ... (i + 1) * subjects - 1."""
    out = engine._uniforms(5, engine.EVENT, 1_995, np.empty((10, 3)))  # trials 1995-2004
    blocks = np.random.SeedSequence(5).spawn(3)
    first = np.random.Generator(np.random.PCG64(blocks[1].spawn(4)[engine.EVENT]))
    second = np.random.Generator(np.random.PCG64(blocks[2].spawn(4)[engine.EVENT]))
    np.testing.assert_array_equal(out[:5], first.random((1000, 3))[995:])
    np.testing.assert_array_equal(out[5:], second.random((5, 3)))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), hr=st.floats(0.3, 3.0))
def test_swapping_the_arms_flips_the_statistics(seed, hr):
    res = simulate_power(median_control=5, hazard_ratio=hr, subjects=30, events=20,
                         accrual_time=6, dropout_rate=[0.05, 0.3], trials=1, seed=0)
    sc = res._scenario
    swapped = dataclasses.replace(sc, arm=1 - sc.arm, hazard=sc.hazard[::-1],
                                  dropout_hazard=sc.dropout_hazard[::-1])
    a = engine.simulate_chunk(sc, seed, 0, 20)
    b = engine.simulate_chunk(swapped, seed, 0, 20)
    np.testing.assert_array_equal(a["time"], b["time"])
    np.testing.assert_allclose(b["z"], -a["z"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b["log_hr"], -a["log_hr"], rtol=1e-9, atol=1e-12)


def test_stratified_analysis_gains_power_with_prognostic_strata():
    kw = dict(median_control=6, hazard_ratio=0.7, subjects=200, events=150, accrual_time=12,
              strata_prevalence=[0.5, 0.5], strata_hazard_ratio=[1, 6], trials=4_000, seed=8)
    stratified = simulate_power(**kw)
    pooled = simulate_power(**kw, stratified=False)
    assert stratified.stratified and not pooled.stratified
    # same trials (same seed), analysed two ways: stratifying on a strong factor helps
    assert stratified.power > pooled.power + 0.02


def test_seed_is_recorded_and_reproduces():
    first = simulate_power(**LMS04, trials=300)
    again = simulate_power(**LMS04, trials=300, seed=first.seed)
    assert isinstance(first.seed, int) and first.power == again.power
    assert first.hazard_ratio_quantiles == again.hazard_ratio_quantiles


def test_progress_reports_every_chunk():
    calls: list[tuple[int, int]] = []
    simulate_power(**LMS04, trials=1_000, seed=1, chunk_size=300,
                   progress=lambda done, total: calls.append((done, total)))
    assert calls == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]


def test_result_object():
    res = simulate_power(**LMS04, design=group_sequential(3, alpha=0.05, sided=2),
                         trials=500, seed=1)
    assert isinstance(res, SimulatedPower)
    d = res.to_dict()
    assert "_scenario" not in d and d["trial_table"] is None
    json.dumps(d)
    frame = res.to_frame()
    assert frame.set_index("quantity").loc["power", "value"] == res.power
    assert "hazard_ratio_quantiles.97.5%" in set(frame["quantity"])
    looks = res.look_table()
    assert looks["cumulative_power"].iloc[-1] == pytest.approx(res.power)
    assert "SimulatedPower(" in repr(res) and "_scenario" not in repr(res)
    assert "power" in str(res) and "look" in str(res)
    with pytest.raises(ValueError, match="trials: expected trial indices"):
        res.patients([500])


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, field, message", [
    (dict(median_control=-6), "median_control", "median_control"),
    (dict(median_experimental=0), "median_experimental", "median_experimental"),
    (dict(hazard_ratio=0.7), "hazard_ratio", "median_experimental, hazard_ratio"),
    (dict(median_control=None), "median_control", "median_control, lambda_control"),
    (dict(events=200), "events", "events: expected at most one event per patient"),
    (dict(events=0), "events", "events"),
    (dict(events=136.5), "events", "events"),
    (dict(subjects=1), "subjects", "subjects"),
    (dict(accrual_time=-24), "accrual_time", "accrual_time"),
    (dict(accrual_time=[0, 6, 24], accrual_intensity=[1]), "accrual_intensity", "accrual_intensity"),
    (dict(allocation_ratio=500), "allocation_ratio", "allocation_ratio"),
    (dict(dropout_rate=1.2), "dropout_rate", "dropout_rate"),
    (dict(entry="poisson"), "entry", "entry"),
    (dict(alpha=1.5), "alpha", "alpha"),
    (dict(sided=3), "sided", "sided"),
    (dict(direction="left"), "direction", "direction"),
    (dict(trials=0), "trials", "trials"),
    (dict(seed=-1), "seed", "seed"),
    (dict(chunk_size=0), "chunk_size", "chunk_size"),
    (dict(scheduler="cluster"), "scheduler", "scheduler"),
    (dict(workers=2), "workers", "workers"),
    (dict(strata_prevalence=[0.5, 0.6]), "strata_prevalence", "strata_prevalence"),
    (dict(strata_hazard_ratio=[1, 2]), "strata_hazard_ratio", "strata_hazard_ratio"),
    (dict(strata_prevalence=[0.5, 0.5], strata_hazard_ratio=[1]), "strata_hazard_ratio", "strata_hazard_ratio"),
    (dict(stratified=True), "stratified", "stratified"),
    (dict(design=group_sequential(3, alpha=0.025), alpha=0.05), "alpha", "alpha"),
    (dict(design=group_sequential(3, alpha=0.025), events=[40, 136]), "events", "events"),
    (dict(design=group_sequential(3, alpha=0.025), events=2), "events", "events"),
])
def test_bad_input_names_the_argument(change, field, message):
    with pytest.raises(InputError, match=message) as info:
        simulate_power(**(LMS04 | {"trials": 10, "seed": 1} | change))
    assert info.value.field == field


@pytest.mark.parametrize("change, message", [
    (dict(progress=5), "progress: expected a callable"),
    (dict(design="asOF"), "design: expected a GroupSequentialDesign"),
    (dict(stratified=1, strata_prevalence=[0.5, 0.5]), "stratified: expected True or False"),
    (dict(keep_trials="yes"), "keep_trials: expected True or False"),
])
def test_wrong_python_types_are_type_errors(change, message):
    with pytest.raises(TypeError, match=message):
        simulate_power(**(LMS04 | {"trials": 10, "seed": 1} | change))


@pytest.mark.parametrize("change, message", [
    (dict(lambda_control=[0.1, 0.05], piecewise_time=[0, 6, 12]), "lambda_control"),
    (dict(lambda_control=[0.1, 0.05], piecewise_time=[1, 6]), "piecewise_time"),
    (dict(lambda_control=[0.1, -0.05], piecewise_time=[0, 6]), "lambda_control"),
    (dict(lambda_control=0.1), "lambda_experimental, hazard_ratio"),
    (dict(lambda_control=0.1, hazard_ratio=0.7, lambda_experimental=0.07),
     "lambda_experimental, hazard_ratio"),
    (dict(lambda_control=[0.1, 0.05], piecewise_time=[0, 6], lambda_experimental=[0.1]),
     "lambda_experimental"),
    (dict(median_control=6, hazard_ratio=0.7, piecewise_time=[0, 6]), "piecewise_time"),
])
def test_bad_survival_input_names_the_argument(change, message):
    with pytest.raises(ValueError, match=message):
        simulate_power(subjects=100, events=50, accrual_time=12, trials=10, seed=1, **change)
