"""logrank_test against R survdiff (tests/fixtures/r/logrank.R) and lifelines (gamma != 0)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.stats import LogrankResult, logrank_test

R_CASES = load_fixture("logrank")
FH = json.loads((Path(__file__).parents[1] / "fixtures" / "fh_lifelines.json").read_text())
FH_CASES = FH["cases"]


def _r_input(case: dict) -> tuple[np.ndarray, pd.Series, pd.Series, object]:
    df = load(case["dataset"]).iloc[case["rows"]].reset_index(drop=True)
    time = (df[case["time"]].to_numpy(float) if case["time_override"] is None
            else np.asarray(case["time_override"], dtype=float))
    event = (df[case["event"]] == case["event_value"]).astype(int)
    group = df[case["group"]]
    if group.dtype == object:  # R factor: keep R's level order
        group = pd.Series(pd.Categorical(group, categories=case["group_levels"]))
    strata = None
    if len(case["strata"]) == 1:
        strata = df[case["strata"][0]]
    elif case["strata"]:
        strata = df[case["strata"]]
    return time, event, group, strata


@pytest.mark.parametrize("case", R_CASES, ids=[c["name"] for c in R_CASES])
def test_matches_r_survdiff(case):
    time, event, group, strata = _r_input(case)
    res = logrank_test(time, event, group, strata=strata, rho=case["rho"],
                       convention="r" if case["timefix"] else "sas")
    what = case["name"]
    assert [str(g) if not isinstance(g, float) else f"{g:g}" for g in res.groups] == case["group_levels"]
    assert res.n.tolist() == case["n"]
    assert res.df == case["df"]
    assert_close(res.chisq, case["chisq"], what=f"{what} chisq")
    assert_close(res.p, case["p"], what=f"{what} p")
    assert_close(res.observed, case["observed"], what=f"{what} observed")
    assert_close(res.expected, case["expected"], what=f"{what} expected")
    assert_close(res.variance.ravel(), np.asarray(case["variance"]).ravel(), what=f"{what} variance")
    if case["strata"]:
        assert len(res.strata_levels) == case["n_strata"]
    else:
        assert res.strata_levels is None


@pytest.mark.parametrize("case", [c for c in R_CASES if c["time_override"] is None],
                         ids=[c["name"] for c in R_CASES if c["time_override"] is None])
def test_matches_r_survdiff_with_times_in_tenths(case):
    # the same days written as decimals (t / 10) take the scaled-integer coding: same test
    from oncotrial.stats._counting import scaled_time_codes

    time, event, group, strata = _r_input(case)
    assert scaled_time_codes(time / 10) is not None
    res = logrank_test(time / 10, event, group, strata=strata, rho=case["rho"],
                       convention="r" if case["timefix"] else "sas")
    what = f"{case['name']} in tenths"
    assert_close(res.chisq, case["chisq"], what=f"{what} chisq")
    assert_close(res.observed, case["observed"], what=f"{what} observed")
    assert_close(res.expected, case["expected"], what=f"{what} expected")
    assert_close(res.variance.ravel(), np.asarray(case["variance"]).ravel(), what=f"{what} variance")


def _fh_input(case: dict) -> tuple[pd.Series, pd.Series, pd.Series]:
    df = load(case["dataset"]).iloc[case["rows"]]
    return df[case["time"]], (df[case["event"]] == case["event_value"]).astype(int), df[case["group"]]


@pytest.mark.parametrize("case", FH_CASES, ids=[c["name"] for c in FH_CASES])
def test_fleming_harrington_matches_lifelines(case):
    time, event, group = _fh_input(case)
    res = logrank_test(time, event, group, rho=case["rho"], gamma=case["gamma"])
    assert_close(res.chisq, case["chisq"], what=f"{case['name']} chisq")
    assert_close(res.p, case["p"], what=f"{case['name']} p")


@pytest.mark.parametrize(("fh_name", "r_name"), [
    ("veteran_trt_fh_0_0", "veteran_trt_rho0"),
    ("veteran_trt_fh_1_0", "veteran_trt_rho1"),
    ("aml_x_fh_1_0", "aml_x_rho1"),
    ("gbsg_hormon_fh_1_0", "gbsg_hormon_rho1"),
    ("lung_sex_fh_0_0", "lung_sex"),
])
def test_references_agree_on_shared_weights(fh_name, r_name):
    """lifelines G(0,0)/G(1,0) = R survdiff rho 0/1: both use the same left-continuous pooled KM."""
    fh = next(c for c in FH_CASES if c["name"] == fh_name)
    r = next(c for c in R_CASES if c["name"] == r_name)
    assert_close(fh["chisq"], r["chisq"], what=f"{fh_name} vs {r_name}")


def test_gamma_zero_rho_zero_is_the_logrank_test():
    vet = load("veteran")
    default = logrank_test(vet["time"], vet["status"], vet["trt"], strata=vet["celltype"])
    explicit = logrank_test(vet["time"], vet["status"], vet["trt"], strata=vet["celltype"], rho=0, gamma=0)
    assert default.to_dict() == explicit.to_dict()


def test_to_frame_is_r_print_table():
    case = next(c for c in R_CASES if c["name"] == "colon_rx_extent_rho0")
    time, event, group, strata = _r_input(case)
    res = logrank_test(time, event, group, strata=strata)
    frame = res.to_frame()
    assert list(frame.columns) == ["group", "n", "observed", "expected", "(O-E)^2/E", "(O-E)^2/V"]
    assert frame["group"].tolist() == ["Obs", "Lev", "Lev+5FU"]
    o, e, v = np.asarray(case["observed"]), np.asarray(case["expected"]), np.diag(case["variance"])
    assert_close(frame["(O-E)^2/E"], (o - e) ** 2 / e, what="(O-E)^2/E")
    assert_close(frame["(O-E)^2/V"], (o - e) ** 2 / v, what="(O-E)^2/V")
    assert isinstance(res, LogrankResult) and "chisq=" in repr(res)
    assert res.to_dict()["strata_levels"] == [1, 2, 3, 4]


def test_strata_as_dataframe_or_list_of_arrays():
    colon = load("colon")
    colon = colon[colon["etype"] == 2]
    by_frame = logrank_test(colon["time"], colon["status"], colon["rx"], strata=colon[["extent", "surg"]])
    by_list = logrank_test(colon["time"], colon["status"], colon["rx"],
                           strata=[colon["extent"].to_numpy(), colon["surg"].to_numpy()])
    assert by_frame.chisq == by_list.chisq
    assert by_frame.strata_levels == [(e, s) for e in (1, 2, 3, 4) for s in (0, 1)]


def test_group_never_at_risk_at_a_death_gives_no_test_like_r():
    # group 2 is censored before the first death: E = 0, so R reports chisq 0 on 0 df, p 1
    res = logrank_test([1, 2, 3, 4, 0.5, 0.6], [1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 2, 2])
    assert (res.chisq, res.df, res.p) == (0.0, 0, 1.0)
    assert res.expected.tolist() == [3.0, 0.0]


def test_degenerate_variance_uses_generalised_inverse():
    # everyone at risk dies at the only death time: V = 0 (R's solve() stops here)
    res = logrank_test([1, 1], [1, 1], ["a", "b"])
    assert res.variance.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert (res.chisq, res.df, res.p) == (0.0, 1, 1.0)


def test_gamma_weight_is_zero_at_the_first_death():
    # with rho=0, gamma=1 the first death time has weight 1 - S(t-) = 0
    res = logrank_test([1, 2, 3, 4], [1, 0, 0, 0], ["a", "b", "a", "b"], gamma=1)
    assert res.observed.tolist() == [0.0, 0.0]
    assert (res.chisq, res.p) == (0.0, 1.0)


@pytest.mark.parametrize(("rho", "gamma"), [(0, 0), (1, 0), (0, 1)])
def test_no_death_at_all_gives_no_test(rho, gamma):
    res = logrank_test([1, 2, 3], [0, 0, 0], [0, 1, 0], rho=rho, gamma=gamma)
    assert (res.chisq, res.p) == (0.0, 1.0)
    assert res.observed.tolist() == res.expected.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- bad input

def test_group_with_one_level():
    with pytest.raises(InputError, match=r"group: expected at least 2 distinct levels"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])


def test_group_with_missing_values_names_rows():
    with pytest.raises(InputError, match=r"group: .*missing values at rows \[2\]"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", None, "b"])


def test_strata_with_missing_values_names_rows():
    with pytest.raises(InputError, match=r"strata: .*missing values at rows \[1, 3\]"):
        logrank_test([1, 2, 3, 4], [1, 0, 1, 1], ["a", "b", "a", "b"], strata=[np.nan, 1, np.nan, 2])


def test_strata_column_with_missing_values_is_named():
    frame = pd.DataFrame({"site": [1, 1, 2, 2], "ecog": [0, None, 1, 1]})
    with pytest.raises(InputError, match=r"strata\['ecog'\]: .*rows \[2\]"):
        logrank_test([1, 2, 3, 4], [1, 0, 1, 1], ["a", "b", "a", "b"], strata=frame)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"group": ["a", "b"]}, r"length mismatch: time has 3, event has 3, group has 2 rows"),
    ({"strata": [1, 2]}, r"length mismatch: strata has 2, time has 3 rows"),
    ({"strata": pd.DataFrame({"s": [1, 2]})}, r"length mismatch: strata\['s'\] has 2, time has 3 rows"),
])
def test_length_mismatch(kwargs, message):
    args = {"time": [1, 2, 3], "event": [1, 0, 1], "group": ["a", "b", "a"]} | kwargs
    with pytest.raises(InputError, match=message):
        logrank_test(**args)


@pytest.mark.parametrize("name", ["rho", "gamma"])
@pytest.mark.parametrize("value", [-0.5, np.nan, np.inf, "x"])
def test_bad_weight_exponent(name, value):
    with pytest.raises(InputError, match=rf"{name}: expected a finite number >= 0"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], **{name: value})


def test_bad_time_and_event_name_rows():
    with pytest.raises(InputError, match=r"time: .*negative values at rows \[2\]"):
        logrank_test([1, -2, 3], [1, 0, 1], ["a", "b", "a"])
    with pytest.raises(InputError, match=r"event: .*at rows \[3\]"):
        logrank_test([1, 2, 3], [1, 0, 2], ["a", "b", "a"])


def test_empty_strata_frame():
    with pytest.raises(InputError, match="strata: expected at least one stratification variable"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], strata=pd.DataFrame(index=range(3)))


def test_unknown_convention():
    with pytest.raises(InputError, match="convention"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], convention="stata")


# ---------------------------------------------------------------- properties

@st.composite
def trials(draw):
    n = draw(st.integers(4, 40))
    time = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    group = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    strata = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    assume(len(set(group)) >= 2 and sum(event) > 0)
    rho = draw(st.sampled_from([0.0, 0.5, 1.0]))
    gamma = draw(st.sampled_from([0.0, 1.0]))
    return np.array(time, float), np.array(event), np.array(group), np.array(strata), rho, gamma


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@SETTINGS
@given(trials(), st.randoms(use_true_random=False))
def test_invariant_to_row_order_and_group_labels(trial, rnd):
    time, event, group, strata, rho, gamma = trial
    base = logrank_test(time, event, group, strata=strata, rho=rho, gamma=gamma)
    perm = np.array(rnd.sample(range(time.size), time.size))
    labels = ["z", "m", "a"]  # relabelling that also reverses the level order
    rnd.shuffle(labels)
    other = logrank_test(time[perm], event[perm], np.array(labels, dtype=object)[group[perm]],
                         strata=strata[perm] + 10, rho=rho, gamma=gamma)
    assert other.chisq == pytest.approx(base.chisq, rel=1e-9, abs=1e-12)
    assert other.df == base.df
    mapping = {labels[g]: i for i, g in enumerate(base.groups)}
    idx = [mapping[g] for g in other.groups]
    np.testing.assert_allclose(other.observed, base.observed[idx], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(other.expected, base.expected[idx], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(other.variance, base.variance[np.ix_(idx, idx)], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(trials())
def test_one_stratum_equals_unstratified_and_sums(trial):
    time, event, group, strata, rho, gamma = trial
    plain = logrank_test(time, event, group, rho=rho, gamma=gamma)
    one = logrank_test(time, event, group, strata=np.zeros(time.size), rho=rho, gamma=gamma)
    assert one.chisq == pytest.approx(plain.chisq, rel=1e-12, abs=1e-12)
    assert plain.chisq >= 0 and 0 <= plain.p <= 1
    stratified = logrank_test(time, event, group, strata=strata, rho=rho, gamma=gamma)
    for res in (plain, stratified):
        assert res.chisq >= 0
        # observed - expected sums to zero; V is symmetric, PSD, rows sum to zero
        assert abs((res.observed - res.expected).sum()) < 1e-9
        np.testing.assert_allclose(res.variance, res.variance.T, atol=1e-12)
        np.testing.assert_allclose(res.variance.sum(axis=1), 0, atol=1e-9)
        assert np.linalg.eigvalsh(res.variance).min() > -1e-9
    if rho == 0 and gamma == 0:  # unweighted: observed are the event counts
        assert plain.observed.sum() == event.sum()
