"""Group-sequential boundaries against rpact 3.3.4 (getDesignGroupSequential +
getDesignCharacteristics), published oracles and properties of the spending approach."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from oncotrial.design.group_sequential import (
    GroupSequentialDesign,
    exit_probabilities,
    group_sequential,
    spending_function,
)

FIXTURE = load_fixture("rpact_gsd")
DESIGNS = {case["name"]: case for case in FIXTURE["designs"]}


def _design(case):
    args = {key: value for key, value in case["input"].items() if value is not None}
    return group_sequential(args.pop("k"), **args)


# ----------------------------------------------------------------------------------------
# rpact fixtures


def test_fixture_covers_the_required_designs():
    inputs = [case["input"] for case in DESIGNS.values()]
    assert {i["type"] for i in inputs} == {"OF", "P", "asOF", "asP", "asHSD"}
    assert {i["futility"] for i in inputs} == {None, "bsOF", "bsP", "bsHSD"}
    assert {i["gamma"] for i in inputs if i["type"] == "asHSD"} >= {-4, -2, 1}
    assert {i["k"] for i in inputs} >= {1, 2, 3, 5}
    assert {i["sided"] for i in inputs} == {1, 2}
    assert sum(i["futility"] is not None for i in inputs) >= 6
    assert len(inputs) >= 12


@pytest.mark.parametrize("name", list(DESIGNS))
def test_bounds_match_rpact(name):
    ref = DESIGNS[name]
    d = _design(ref)
    assert_close(d.information_rates, ref["information_rates"], what=f"{name} information rates")
    assert_close(d.critical_values, ref["critical_values"], what=f"{name} critical values")
    assert_close(d.nominal_p, ref["stage_levels"], what=f"{name} stage levels")
    # rpact floors the last alphaSpent to 1e-8 (0.02499999): within 1e-6 relative
    assert_close(d.alpha_spent, ref["alpha_spent"], what=f"{name} alpha spent")


@pytest.mark.parametrize("name", list(DESIGNS))
def test_characteristics_match_rpact(name):
    ref = DESIGNS[name]
    d = _design(ref)
    assert_close(d.inflation_factor, ref["inflation_factor"], what=f"{name} inflation factor")
    assert_close(d.inflation_factor * ref["n_fixed"], ref["shift"], what=f"{name} shift")
    assert_close(d.power_stages, ref["power"], what=f"{name} power")
    if d.k > 1:
        assert_close(np.diff(d.power_stages, prepend=0.0), ref["rejection_probabilities"],
                     what=f"{name} rejection probabilities")


@pytest.mark.parametrize("name", [n for n, c in DESIGNS.items() if c["input"]["futility"]])
def test_futility_matches_rpact(name):
    ref = DESIGNS[name]
    d = _design(ref)
    assert d.futility_bounds.shape == (d.k - 1,)
    assert_close(d.futility_bounds, ref["futility_bounds"], what=f"{name} futility bounds")
    assert_close(d.beta_spent, ref["beta_spent"], what=f"{name} beta spent")
    assert_close(d.power_stages, ref["design_power"], what=f"{name} design power")


# ----------------------------------------------------------------------------------------
# oracles (survey section 4 and 1.8)


def test_o10_ldof_three_equal_looks():
    d = group_sequential(3, alpha=0.025, type="asOF")
    assert_close(d.critical_values, [3.7103, 2.5114, 1.9930], rtol=0, atol=5e-5)


def test_o11_ldof_unequal_looks():
    d = group_sequential(3, information_rates=[0.5, 0.75, 1], type="asOF")
    assert_close(d.critical_values, [2.9626, 2.3590, 2.0141], rtol=0, atol=5e-5)


def test_lms04_one_interim_at_half_information():
    d = group_sequential(2, alpha=0.025, beta=0.2, information_rates=[0.5, 1])
    assert_close(d.critical_values, [2.9626, 1.9686], rtol=0, atol=5e-5)
    assert_close(d.inflation_factor, 1.00373, rtol=0, atol=5e-6)
    # max events of the hypothetical group-sequential LMS04: 136.06 * 1.00373 = 136.56
    assert_close(136.0575 * d.inflation_factor, 136.56, rtol=0, atol=0.005)


def test_o4_classic_obrien_fleming():
    """rpact tests: getDesignInverseNormal() (classical OF, K = 3, alpha = .025)."""
    d = group_sequential(3, type="OF")
    assert_close(d.critical_values, [3.4710914, 2.4544323, 2.0040356], atol=1e-7)
    assert_close(d.alpha_spent, [0.00025917, 0.00716006, 0.025], rtol=0, atol=5e-9)


def test_o5_hsd_gamma_zero():
    """rpact tests: asHSD gammaA = 0, informationRates (.2, .4, 1), alpha = .03."""
    d = group_sequential(3, alpha=0.03, information_rates=[0.2, 0.4, 1], type="asHSD", gamma=0)
    assert_close(d.critical_values, [2.5121443, 2.4228747, 2.0280392], atol=1e-7)
    assert_close(d.alpha_spent, [0.006, 0.012, 0.03], rtol=1e-9)


def test_o6_efficacy_bounds_of_a_futility_design():
    """rpact tests (asOF, alpha .13, beta .41, t = (.4, .75, 1)): the non-binding efficacy
    bounds do not depend on the futility bounds (rpact used bsKD there)."""
    expected = [2.1280732, 1.4368565, 1.2468994]
    for futility in (None, "bsP", "bsOF"):
        d = group_sequential(3, alpha=0.13, beta=0.41, information_rates=[0.4, 0.75, 1],
                             futility=futility)
        assert_close(d.critical_values, expected, atol=1e-7)


def test_o7_exit_probabilities_of_constant_two_sided_bounds():
    """rpact tests: getGroupSequentialProbabilities(+-qnorm(.95) x 4, (1:4)/4), row 1."""
    c = np.full(4, norm.ppf(0.95))
    lower, upper = exit_probabilities(np.arange(1, 5) / 4, -c, c, 0.0)
    assert_close(lower, [0.05, 0.030074925, 0.020961248, 0.01595848], rtol=1e-7)
    assert_close(upper, lower, rtol=1e-12)


# ----------------------------------------------------------------------------------------
# closed forms and identities


@pytest.mark.parametrize("type_", ["OF", "P", "asOF", "asP", "asHSD"])
@pytest.mark.parametrize("sided,alpha", [(1, 0.025), (2, 0.05), (1, 0.1)])
def test_one_look_is_the_fixed_design(type_, sided, alpha):
    d = group_sequential(1, alpha=alpha, sided=sided, beta=0.1, type=type_,
                         gamma=-2 if type_ == "asHSD" else None)
    assert_close(d.critical_values, [norm.isf(alpha / sided)], rtol=1e-14)
    assert_close(d.nominal_p, [alpha / sided], rtol=1e-12)
    assert_close(d.alpha_spent, [alpha], rtol=1e-14)
    assert d.inflation_factor == 1.0
    assert_close(d.power_stages, [0.9], rtol=1e-14)
    assert_close(d.information_rates, [1.0], rtol=0)


@pytest.mark.parametrize("type_,gamma", [("asOF", None), ("asP", None), ("asHSD", -4),
                                         ("asHSD", -2), ("asHSD", 1), ("asHSD", 0)])
@pytest.mark.parametrize("rates", [None, [0.4, 0.75, 1], [0.2, 0.4, 0.6, 0.8, 1], [0.1, 0.5, 1]])
@pytest.mark.parametrize("sided,alpha", [(1, 0.025), (2, 0.05)])
def test_cumulative_alpha_spent_is_the_spending_function(type_, gamma, rates, sided, alpha):
    k = 3 if rates is None else len(rates)
    d = group_sequential(k, alpha=alpha, sided=sided, information_rates=rates, type=type_,
                         gamma=gamma)
    assert_close(d.alpha_spent, spending_function(type_, alpha, d.information_rates, sided, gamma),
                 rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("type_,gamma", [("asOF", None), ("asP", None), ("asHSD", -3)])
def test_two_sided_spending_bounds_are_close_to_one_sided_bounds_at_half_alpha(type_, gamma):
    """rpact's two-sided spending functions spend twice the one-sided function at alpha/2,
    so the bounds nearly equal the one-sided bounds at alpha/2; the lower bound removes a
    few paths that would cross the upper bound later, so they are a little lower."""
    two = group_sequential(4, alpha=0.05, sided=2, type=type_, gamma=gamma)
    one = group_sequential(4, alpha=0.025, sided=1, type=type_, gamma=gamma)
    assert_close(two.critical_values, one.critical_values, rtol=1e-4)
    assert np.all(two.critical_values <= one.critical_values + 1e-12)
    assert_close(two.critical_values[0], one.critical_values[0], rtol=1e-14)
    assert_close(two.alpha_spent, 2 * one.alpha_spent, rtol=1e-9)


def test_classic_bounds_follow_the_information_rates():
    t = np.array([0.4, 0.75, 1.0])
    of = group_sequential(3, information_rates=t, type="OF")
    assert_close(of.critical_values * np.sqrt(t), np.full(3, of.critical_values[-1]), rtol=1e-12)
    p = group_sequential(3, information_rates=t, type="P")
    assert_close(p.critical_values, np.full(3, p.critical_values[0]), rtol=1e-12)
    assert_close(of.alpha_spent[-1], 0.025, rtol=1e-9)
    assert_close(p.alpha_spent[-1], 0.025, rtol=1e-9)


def test_futility_spends_beta_and_meets_the_efficacy_bound():
    d = group_sequential(4, futility="bsHSD", futility_gamma=-2, beta=0.15)
    assert_close(d.beta_spent, spending_function("bsHSD", 0.15, d.information_rates, 1, -2),
                 rtol=1e-9)
    assert_close(d.power_stages[-1], 0.85, rtol=1e-9)
    assert np.all(d.futility_bounds < d.critical_values[:-1])
    plain = group_sequential(4, beta=0.15)
    assert_close(d.critical_values, plain.critical_values, rtol=1e-12)  # non-binding
    assert d.inflation_factor > plain.inflation_factor


# ----------------------------------------------------------------------------------------
# properties


@st.composite
def designs(draw):
    k = draw(st.integers(1, 6))
    sided = draw(st.sampled_from([1, 2]))
    alpha = draw(st.sampled_from([0.001, 0.01, 0.025, 0.05, 0.1, 0.2]))
    beta = draw(st.sampled_from([0.05, 0.1, 0.2, 0.3]))
    type_ = draw(st.sampled_from(["OF", "P", "asOF", "asP", "asHSD"]))
    gamma = draw(st.sampled_from([-8.0, -4.0, -1.0, 0.0, 1.0, 3.0])) if type_ == "asHSD" else None
    if k > 1 and draw(st.booleans()):
        inner = draw(st.lists(st.integers(5, 95), min_size=k - 1, max_size=k - 1, unique=True))
        rates = [x / 100 for x in sorted(inner)] + [1.0]
    else:
        rates = None
    futility = None
    futility_gamma = None
    if k > 1 and sided == 1 and type_.startswith("as") and draw(st.booleans()):
        futility = draw(st.sampled_from(["bsOF", "bsP", "bsHSD"]))
        futility_gamma = draw(st.sampled_from([-4.0, 0.0, 1.0])) if futility == "bsHSD" else None
    return dict(k=k, alpha=alpha, sided=sided, beta=beta, information_rates=rates, type=type_,
                gamma=gamma, futility=futility, futility_gamma=futility_gamma)


@settings(max_examples=40, deadline=None)
@given(designs())
def test_design_properties(args):
    d = group_sequential(**args)
    k = args["k"]
    assert d.critical_values.shape == d.alpha_spent.shape == d.power_stages.shape == (k,)
    assert np.all(d.critical_values > 0)
    assert np.all(np.diff(d.alpha_spent) >= -1e-15)
    assert_close(d.alpha_spent[-1], args["alpha"], rtol=1e-8)
    assert np.all(np.diff(d.power_stages) >= -1e-15)
    assert_close(d.power_stages[-1], 1 - args["beta"], rtol=1e-8)
    assert d.inflation_factor >= 1 - 1e-9
    assert_close(d.nominal_p, norm.sf(d.critical_values), rtol=1e-12, atol=0)
    if args["type"].startswith("as"):
        spend = spending_function(args["type"], args["alpha"], d.information_rates,
                                  args["sided"], args["gamma"])
        assert_close(d.alpha_spent, spend, rtol=1e-7, atol=1e-13)
    if args["futility"] is not None:
        assert d.futility_bounds.shape == (k - 1,)
        assert np.all(np.diff(d.beta_spent) >= -1e-15)
        assert_close(d.beta_spent[-1], args["beta"], rtol=1e-8)
    else:
        assert d.futility_bounds is None and d.beta_spent is None


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([0.005, 0.025, 0.05, 0.1]), st.sampled_from([0.1, 0.2]),
       st.sampled_from([1, 2]))
def test_asp_with_one_look_is_the_fixed_design(alpha, beta, sided):
    d = group_sequential(1, alpha=alpha, beta=beta, sided=sided, type="asP")
    assert d.critical_values[0] == pytest.approx(norm.isf(alpha / sided), rel=1e-14)
    assert d.inflation_factor == 1.0
    assert d.power_stages[0] == pytest.approx(1 - beta, rel=1e-14)


# ----------------------------------------------------------------------------------------
# result object


def test_result_object():
    d = group_sequential(3, futility="bsOF")
    assert isinstance(d, GroupSequentialDesign)
    frame = d.to_frame()
    assert list(frame.columns) == ["look", "information_rate", "critical_value", "nominal_p",
                                   "alpha_spent", "futility_bound", "beta_spent"]
    assert frame["look"].tolist() == [1, 2, 3]
    assert math.isnan(frame["futility_bound"].iloc[-1])
    assert_close(frame["futility_bound"].iloc[:-1], d.futility_bounds, rtol=0)
    plain = group_sequential(3).to_frame()
    assert list(plain.columns) == ["look", "information_rate", "critical_value", "nominal_p",
                                   "alpha_spent"]
    as_dict = d.to_dict()
    assert as_dict["type"] == "asOF" and as_dict["futility"] == "bsOF"
    assert isinstance(as_dict["critical_values"], list) and len(as_dict["beta_spent"]) == 3
    assert group_sequential(3).to_dict()["futility_bounds"] is None
    text = repr(d)
    assert "O'Brien & Fleming type alpha spending" in text and "inflation factor" in text
    assert "3.7103" in text and "beta_spent" in text
    with pytest.raises(ValueError):
        d.critical_values[0] = 1.0  # read-only arrays: the result cannot drift
    with pytest.raises(AttributeError):
        d.alpha = 0.05  # type: ignore[misc]
    assert isinstance(pd.DataFrame(frame), pd.DataFrame)


