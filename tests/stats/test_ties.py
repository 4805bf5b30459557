"""Near-tie merging (R's timefix) at the edge of the float range, alone and end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.stats import coxph, kaplan_meier, logrank_test
from oncotrial.stats.ties import timefix

HUGE = 1e300  # times of order 1e307: the mean of their absolute values overflows unscaled
ORDINARY = np.array([3.0, 3.0 * (1 + 1e-12), 5.0, 7.5, 10.0, 12.0, 15.0, 17.0, 17.5, 17.9])
EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, 0])
GROUP = np.array([0, 1, 0, 1, 0, 1, 0, 1, 1, 0])
X = np.array([0.3, -1.2, 0.8, 0.1, -0.4, 1.5, -0.9, 0.6, 0.2, -0.1])


def test_timefix_near_the_largest_float_does_not_overflow():
    t = ORDINARY * 1e307 / 1.79  # up to 1e308: the plain mean of |t| is inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning either
        fixed = timefix(t)
    assert np.isfinite(fixed).all()
    assert fixed[0] == fixed[1]  # the round-off pair is merged ...
    assert np.unique(fixed).size == t.size - 1  # ... and nothing else
    np.testing.assert_array_equal(fixed[2:], t[2:])


def test_timefix_of_the_largest_floats():
    top = np.finfo(float).max
    t = np.array([top, top * (1 - 1e-15), top / 2, 0.0])
    fixed = timefix(t)
    assert fixed[0] == fixed[1] == top * (1 - 1e-15) and fixed[2] == top / 2 and fixed[3] == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1.0, 1000.0), min_size=2, max_size=30))
def test_timefix_merges_the_same_times_scaled_up_to_1e300(values):
    """For times >= 1 the relative rule decides (the absolute one is stricter), so scaling
    them up must merge exactly the same pairs (scaling down would not: the absolute
    tolerance of R's rule then merges everything)."""
    t = np.array(values)
    np.testing.assert_array_equal(timefix(t * 1e300) == (t * 1e300)[:, None],
                                  timefix(t) == t[:, None])


def _huge_and_ordinary(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(ORDINARY * HUGE * 10), fn(ORDINARY)


def test_kaplan_meier_with_times_near_1e307():
    huge, ordinary = _huge_and_ordinary(lambda t: kaplan_meier(t, EVENT).table)
    assert len(huge) == len(ordinary) == ORDINARY.size - 1  # the near-tie merged in both
    np.testing.assert_allclose(huge["time"], ordinary["time"] * HUGE * 10, rtol=1e-15)
    pd.testing.assert_frame_equal(huge.drop(columns="time"), ordinary.drop(columns="time"))


def test_logrank_with_times_near_1e307():
    huge, ordinary = _huge_and_ordinary(lambda t: logrank_test(t, EVENT, GROUP))
    assert huge.chisq == pytest.approx(ordinary.chisq, rel=1e-12)
    np.testing.assert_allclose(huge.expected, ordinary.expected, rtol=1e-12)


def test_cox_with_times_near_1e307():
    def fit(t):
        return coxph(pd.DataFrame({"t": t, "e": EVENT, "g": GROUP, "x": X}), time="t", event="e",
                     covariates=["g", "x"])

    huge, ordinary = _huge_and_ordinary(fit)
    assert huge.converged and huge.problems == ()
    np.testing.assert_allclose(huge.coef, ordinary.coef, rtol=1e-9)
    np.testing.assert_allclose(huge.var, ordinary.var, rtol=1e-9)
    assert np.isfinite(huge.design.time).all()
