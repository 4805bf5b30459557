"""Median follow-up by reverse Kaplan–Meier against R survival and prodlim."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.core.errors import InputError
from oncotrial.stats.followup import FollowUp, median_followup
from oncotrial.stats.kaplan_meier import kaplan_meier

CASES = {k: v for k, v in load_fixture("km")["cases"].items() if "reverse" in v}


def _check(res: FollowUp, ref: dict, what: str) -> None:
    assert_close([res.q1, res.median, res.q3], ref["estimate"], what=f"{what} quartiles")
    assert_close([res.lower, res.upper], [ref["lower"][1], ref["upper"][1]], what=f"{what} median CI")


@pytest.mark.parametrize("name", list(CASES))
def test_events_first_is_the_r_idiom(name):
    """R: ``quantile(survfit(Surv(time, 1 - status) ~ 1, conf.type=), c(.25, .5, .75))``."""
    case = CASES[name]
    _check(median_followup(case["time"], case["status"]),
           case["reverse"]["events_first"]["log"], f"{name} log")


@pytest.mark.parametrize("name", list(CASES))
def test_censorings_first_is_prodlim_reverse(name):
    """R: ``prodlim(Hist(time, status) ~ 1, reverse=TRUE)`` curve and SE; quartiles and the
    median's log-band CI taken with survival's ``quantile.survfit`` on that curve."""
    case = CASES[name]
    _check(median_followup(case["time"], case["status"], ties="censorings-first"),
           case["reverse"]["censorings_first"]["log"], f"{name} prodlim")


@pytest.mark.parametrize("name", list(CASES))
def test_censorings_first_curve_matches_prodlim(name):
    """The reverse curve G(t) and its Greenwood SE equal prodlim's ``surv`` and ``se.surv``.

    prodlim compares times exactly (no ``timefix``), hence the SAS convention here."""
    from oncotrial.stats.followup import _reverse_curve

    case = CASES[name]
    ref = case["reverse"]["censorings_first"]["curve"]
    curve = _reverse_curve(np.asarray(case["time"], float), np.asarray(case["status"], float),
                           "censorings-first", 0.95, "sas")
    tab = curve.table
    assert_close(tab["time"].to_numpy(), ref["time"], what=f"{name} time")
    assert_close(tab["survival"].to_numpy(), ref["surv"], what=f"{name} G")
    # prodlim reports SE NaN once G = 0 (as R's summary does for S): compare where defined
    se = np.array([np.nan if v is None else v for v in ref["se"]])
    ok = ~np.isnan(se)
    assert_close(tab["std_err"].to_numpy()[ok], se[ok], what=f"{name} se")


def test_sas_convention_uses_loglog_band_and_sas_rule():
    case = CASES["aml"]
    res = median_followup(case["time"], case["status"], convention="sas")
    assert "conf_type=log-log" in res.method and "quantile rule=sas" in res.method
    km = kaplan_meier(case["time"], 1 - np.asarray(case["status"]), convention="sas")
    quartiles = [km.quantile(p) for p in (0.25, 0.5, 0.75)]
    np.testing.assert_array_equal([res.q1, res.median, res.q3, res.lower, res.upper],
                                  [q.estimate for q in quartiles] + [quartiles[1].lower,
                                                                     quartiles[1].upper])


def test_hand_computed_tie_rules():
    """Two deaths and one censoring tied at t = 2 (times 1, 2, 2, 2, 3, 4).

    events-first: r(2) = 5 (everyone with time >= 2), one censoring: G(2) = 4/5, then
    r(3) = 2: G(3) = 2/5 -> q1 = median = 3, q3 not reached.
    censorings-first: the two deaths at 2 leave first, r(2) = 3: G(2) = 2/3, G(3) = 1/3
    -> q1 = 2, median = 3.
    """
    t = [1, 2, 2, 2, 3, 4]
    e = [1, 1, 1, 0, 0, 1]
    a = median_followup(t, e)
    b = median_followup(t, e, ties="censorings-first")
    np.testing.assert_array_equal([a.q1, a.median, a.q3], [3, 3, np.nan])
    np.testing.assert_array_equal([b.q1, b.median, b.q3], [2, 3, np.nan])


def test_result_fields():
    res = median_followup([1, 2, 3, 4, 5], [1, 0, 0, 1, 0])
    assert res.n == 5 and res.conf_level == 0.95 and "ties=events-first" in res.method
    assert set(res.to_dict()) == {"median", "q1", "q3", "lower", "upper", "n", "method", "conf_level"}
    none_censored = median_followup([1, 2, 3], [1, 1, 1])
    assert math.isnan(none_censored.median)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"ties": "random"}, r"ties: expected one of \['events-first', 'censorings-first'\]"),
        ({"conf_level": 2}, "conf_level"),
        ({"time": [1, -1, 2]}, r"time: .*negative values at rows \[2\]"),
        ({"event": [0, 3, 1]}, r"event: .*got 3 at rows \[2\]"),
        ({"time": [1, 2]}, "length mismatch"),
        ({"convention": "spss"}, "convention"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"time": [1, 2, 3], "event": [0, 1, 1]}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        median_followup(args.pop("time"), args.pop("event"), **args)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 1)), min_size=1, max_size=60))
def test_quartiles_ordered_and_censorings_first_never_shorter(rows):
    t, e = zip(*rows)
    a = median_followup(t, e)
    b = median_followup(t, e, ties="censorings-first")
    for r in (a, b):
        q = [r.q1, r.median, r.q3]
        finite = [x for x in q if not math.isnan(x)]
        assert finite == sorted(finite)
    # removing tied deaths from the censoring risk set makes G drop faster: the
    # censorings-first curve lies at or below the events-first curve
    from oncotrial.stats.followup import _reverse_curve

    ta, ea = np.asarray(t, float), np.asarray(e, float)
    ga = _reverse_curve(ta, ea, "events-first", 0.95, "r").table["survival"].to_numpy()
    gb = _reverse_curve(ta, ea, "censorings-first", 0.95, "r").table["survival"].to_numpy()
    assert (gb <= ga + 1e-12).all()
