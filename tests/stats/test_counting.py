"""Coding by counting (oncotrial.stats._counting) gives exactly what sorting gives.

The fast paths of ``kaplan_meier`` and ``logrank_test`` code times, groups and strata by
counting; each test compares them with the general path (``np.unique`` / sorting), which
``sorting_only`` forces, and requires identical results, not merely close ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import oncotrial.stats._counting as counting
import oncotrial.stats.logrank as logrank_module
from oncotrial.core.errors import InputError
from oncotrial.core.validation import as_groups
from oncotrial.stats import kaplan_meier, logrank_test
from oncotrial.stats._counting import dense_codes, group_codes, scaled_time_codes

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@contextlib.contextmanager
def sorting_only() -> Iterator[None]:
    """Every code by sorting: no scaled-integer times, no counting of keys."""
    with mock.patch.object(counting, "scaled_time_codes", lambda time: None), \
            mock.patch.object(counting, "counting_limit", lambda n: 0), \
            mock.patch.object(logrank_module, "counting_limit", lambda n: 0):
        yield


def assert_same_logrank(fast, general) -> None:
    assert fast.groups == general.groups and fast.strata_levels == general.strata_levels
    assert (fast.chisq, fast.df, fast.p) == (general.chisq, general.df, general.p)
    for name in ("n", "observed", "expected", "variance"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(general, name), err_msg=name)


def assert_unique(time: np.ndarray) -> None:
    coded = scaled_time_codes(time)
    assert coded is not None
    uniq, inverse = coded
    ref_uniq, ref_inverse = np.unique(time, return_inverse=True)
    np.testing.assert_array_equal(uniq, ref_uniq)
    np.testing.assert_array_equal(inverse, ref_inverse)


# ------------------------------------------------------------------------- time codes
def test_decimal_times_are_coded_exactly():
    # months to 0.1, as read from a file: 0.3 * 10 is not 3 in floating point
    assert_unique(np.array([0.3, 0.1, 12.3, 0.3, 60.0, 0.7, 5.5]))
    assert_unique(np.array([1.25, 0.05, 1.25, 30.5, 0.0]))                 # 2 places
    assert_unique(np.array([1e9 + 0.5, 1e9, 1e9 + 0.5, 1e9 + 2]))         # far from 0
    assert_unique(np.round(np.random.default_rng(3).exponential(24, 5000), 1))


def test_time_not_a_short_decimal_falls_back_to_the_sort():
    assert scaled_time_codes(np.array([0.1, 0.2, 0.1 + 0.2])) is None      # 0.30000000000000004
    assert scaled_time_codes(np.array([1.0, 2.0, 1 / 3])) is None
    assert scaled_time_codes(np.array([1.0, 1.2345678])) is None           # 7 places
    assert scaled_time_codes(np.array([1.0, 1e9])) is None                 # too wide to count
    # a row outside the sample that picks the number of places is still checked
    days = np.arange(20_000, dtype=float) % 700
    days[1] = 3.5
    assert scaled_time_codes(days) is None


@pytest.mark.parametrize("convention", ["r", "sas"])
def test_fallback_gives_identical_results(convention):
    rng = np.random.default_rng(7)
    t = np.round(rng.exponential(10, 400), 1)
    t[:5] = 0.1 + 0.2  # equal to 0.3 up to round-off: R merges it with 0.3, SAS keeps it apart
    t[5:10] = 0.3
    e = rng.integers(0, 2, 400)
    g = rng.integers(0, 2, 400)
    km = kaplan_meier(t, e, convention=convention).table
    assert (km["time"].to_numpy() == 0.3).sum() == 1
    assert (np.isclose(km["time"], 0.3) & (km["time"] != 0.3)).sum() == int(convention == "sas")
    with sorting_only():
        pd.testing.assert_frame_equal(km, kaplan_meier(t, e, convention=convention).table,
                                      check_exact=True)
        general = logrank_test(t, e, g, convention=convention)
    assert_same_logrank(logrank_test(t, e, g, convention=convention), general)


def test_scaled_times_give_the_same_test_as_whole_numbers():
    rng = np.random.default_rng(11)
    days = rng.integers(0, 50, 300).astype(float)  # many ties
    e, g, s = rng.integers(0, 2, 300), rng.integers(0, 3, 300), rng.integers(0, 4, 300)
    whole = logrank_test(days, e, g, strata=s, rho=1)
    tenths = logrank_test(days / 10, e, g, strata=s, rho=1)
    assert_same_logrank(tenths, whole)
    a, b = kaplan_meier(days, e).table, kaplan_meier(days / 10, e).table
    np.testing.assert_array_equal(b["time"].to_numpy(), np.unique(days) / 10)
    pd.testing.assert_frame_equal(a.drop(columns="time"), b.drop(columns="time"), check_exact=True)


# ------------------------------------------------------------------ groups and strata
@pytest.mark.parametrize("values", [
    np.array([3, 1, 3, 2]), np.array([-5, 7, -5], dtype=np.int8), np.array([True, False, True]),
    np.array([2, 2, 9], dtype=np.uint16), pd.Series([4, 0, 4, 1]),
    pd.Series(pd.Categorical([2, 1, 2], categories=[2, 1])), np.array(["b", "a", "b"]), [1, 0, 1],
])
def test_group_codes_equal_as_groups(values):
    codes, levels = group_codes(values, "group", min_levels=2)
    ref_codes, ref_levels = as_groups(values, "group", min_levels=2)
    np.testing.assert_array_equal(codes, ref_codes)
    assert levels == ref_levels and [type(v) for v in levels] == [type(v) for v in ref_levels]


def test_group_codes_raise_what_as_groups_raises():
    with pytest.raises(InputError, match="group: expected at least 2 distinct levels"):
        group_codes(np.array([4, 4, 4]), "group", min_levels=2)


def test_stratum_with_one_arm_only_adds_nothing_but_its_deaths():
    # stratum 2 holds only arm 0: it contributes O = E (its own deaths) and no variance
    rng = np.random.default_rng(5)
    t, e = rng.integers(1, 30, 200).astype(float), rng.integers(0, 2, 200)
    g, s = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    s[:40], g[:40] = 2, 0
    full = logrank_test(t, e, g, strata=s)
    rest = logrank_test(t[40:], e[40:], g[40:], strata=s[40:])
    deaths = np.array([e[:40].sum(), 0])
    np.testing.assert_allclose(full.observed, rest.observed + deaths, rtol=1e-14)
    np.testing.assert_allclose(full.expected, rest.expected + deaths, rtol=1e-14)
    np.testing.assert_allclose(full.variance, rest.variance, rtol=1e-14, atol=1e-14)
    assert full.chisq == pytest.approx(rest.chisq, rel=1e-13)
    assert full.n.tolist() == [int((g == 0).sum()), int((g == 1).sum())]


def test_dense_codes_by_counting_equal_unique():
    key = np.array([7, 3, 3, 0, 7, 12])
    codes, values = dense_codes(key, 13)
    ref_values, ref_codes = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(codes, ref_codes)


# ------------------------------------------------------------------------- properties
@st.composite
def trials(draw):
    n = draw(st.integers(2, 60))
    places = draw(st.sampled_from([0, 1, 2]))
    time = np.array(draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)), float) / 10.0**places
    if draw(st.booleans()):  # a time that is no short decimal sends everything to the sort
        time[draw(st.integers(0, n - 1))] = draw(st.floats(0, 5, allow_nan=False, allow_subnormal=False))
    event = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    group = np.array(draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)))
    strata = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    assume(len(set(group.tolist())) >= 2)
    rho = draw(st.sampled_from([0.0, 1.0]))
    gamma = draw(st.sampled_from([0.0, 0.5]))
    convention = draw(st.sampled_from(["r", "sas"]))
    return time, event, group, strata, rho, gamma, convention


@SETTINGS
@given(trials())
def test_fast_path_equals_general_path(trial):
    time, event, group, strata, rho, gamma, convention = trial
    km = kaplan_meier(time, event, convention=convention).table
    stratified = logrank_test(time, event, group, strata=strata, rho=rho, gamma=gamma, convention=convention)
    two_factors = logrank_test(time, event, group, strata=[strata % 2, strata // 2], convention=convention)
    with sorting_only():
        pd.testing.assert_frame_equal(km, kaplan_meier(time, event, convention=convention).table,
                                      check_exact=True)
        assert_same_logrank(stratified, logrank_test(time, event, group, strata=strata, rho=rho,
                                                     gamma=gamma, convention=convention))
        assert_same_logrank(two_factors, logrank_test(time, event, group, strata=[strata % 2, strata // 2],
                                                      convention=convention))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=200),
       st.sampled_from([0, 1, 2, 3]))
def test_scaled_codes_equal_unique(values, places):
    assert_unique(np.asarray(values, dtype=float) / 10.0**places)


def test_blocks_numbered_by_counting_when_the_table_would_be_large():
    rng = np.random.default_rng(13)
    t = rng.exponential(5, 300)  # continuous: one time per row
    e, g, s = rng.integers(0, 2, 300), rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    full_table = logrank_test(t, e, g, strata=s, rho=1)
    with mock.patch.object(logrank_module, "counting_limit", lambda n: 0):
        assert_same_logrank(logrank_test(t, e, g, strata=s, rho=1), full_table)


def test_unit_weights_counted_as_integers_equal_the_weighted_sums():
    # rows given twice with unit weights (integer counts) = rows once with weight 2 (float sums)
    rng = np.random.default_rng(17)
    t, e = np.round(rng.exponential(3, 200), 1), rng.integers(0, 2, 200)
    twice = kaplan_meier(np.r_[t, t], np.r_[e, e]).table
    weighted = kaplan_meier(t, e, weights=np.full(200, 2.0)).table
    pd.testing.assert_frame_equal(twice, weighted, check_exact=True)
