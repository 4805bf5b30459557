"""RMST of one arm and the two-arm comparison, against R survival and SAS PROC LIFETEST."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.stats.kaplan_meier import kaplan_meier
from oncotrial.stats.rmst import RMST, RMSTDifference, rmst_difference

PAIRS = load_fixture("km")["rmst_difference"]
SAS_LUNG = json.loads((Path(__file__).parents[1] / "fixtures" / "sas" / "camis_lung_rmst.json")
                      .read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(PAIRS))
def test_difference_matches_r_print_rmean_per_arm(name):
    """R: per-arm ``summary(survfit(Surv(time, status) ~ group), rmean=tau)$table``; the
    difference, ratio (survRM2's delta method), CIs and p-values combined in km.R."""
    ref = PAIRS[name]
    group = pd.Categorical(ref["group"], categories=ref["levels"])  # R factor level order
    res = rmst_difference(ref["time"], ref["status"], pd.Series(group), ref["tau"])
    assert isinstance(res, RMSTDifference)
    assert [res.reference, res.other] == ref["levels"]
    assert_close([res.rmst_reference.estimate, res.rmst_other.estimate], ref["estimate"],
                 what=f"{name} per-arm rmst")
    assert_close([res.rmst_reference.std_err, res.rmst_other.std_err], ref["std_err"],
                 what=f"{name} per-arm se")
    for ours, theirs in [("difference", "difference"), ("std_err", "diff_se"), ("lower", "diff_lower"),
                         ("upper", "diff_upper"), ("z", "z"), ("p", "p"), ("ratio", "ratio"),
                         ("ratio_lower", "ratio_lower"), ("ratio_upper", "ratio_upper"),
                         ("ratio_p", "ratio_p")]:
        assert_close(getattr(res, ours), ref[theirs], what=f"{name} {ours}")


def test_sas_lifetest_rmst_on_camis_lung():
    """SAS 9.4 PROC LIFETEST ``RMST(TAU=350)`` with ``STRATA trt01pn / DIFF=CONTROL('2')`` on
    CAMIS's lung data (``PSIAIMS/CAMIS:SAS/rmst.qmd`` "Method 3", figure
    ``images/rmst/rmstreg_output4.png``): RMST 248.2156 (SE 9.2343) and 272.9520 (11.9889),
    difference -24.7364 (SE 15.1330), chi-square 2.6719, p 0.1021 (printed to 4 decimals).
    Under the SAS convention the reference is the last level, 2, as ``DIFF=CONTROL('2')``."""
    lung = load("lung")
    res = rmst_difference(lung["time"], (lung["status"] == 2).astype(int), SAS_LUNG["trt01pn"],
                          SAS_LUNG["tau"], convention="sas")
    assert res.reference == 2 and res.other == 1
    half_unit = 0.5e-4
    for arm, r in (("2", res.rmst_reference), ("1", res.rmst_other)):
        assert_close([r.estimate, r.std_err], [SAS_LUNG["rmst"][arm]["estimate"],
                                               SAS_LUNG["rmst"][arm]["std_err"]],
                     rtol=0, atol=half_unit, what=f"SAS arm {arm}")
    diff = SAS_LUNG["difference"]
    assert_close([res.difference, res.std_err, res.z**2, res.p],
                 [diff["estimate"], diff["std_err"], diff["chi_square"], diff["p"]],
                 rtol=0, atol=half_unit, what="SAS difference")


def test_reference_choice_flips_sign_and_inverts_ratio():
    aml = load("aml")
    a = rmst_difference(aml["time"], aml["status"], aml["x"], 40)
    b = rmst_difference(aml["time"], aml["status"], aml["x"], 40, reference="Nonmaintained")
    assert a.reference == "Maintained" and b.reference == "Nonmaintained"
    assert b.difference == pytest.approx(-a.difference) and b.p == pytest.approx(a.p)
    assert b.ratio == pytest.approx(1 / a.ratio) and b.ratio_p == pytest.approx(a.ratio_p)
    assert rmst_difference(aml["time"], aml["status"], aml["x"], 40, convention="sas").reference \
        == "Nonmaintained"


def test_to_frame_and_repr():
    aml = load("aml")
    res = rmst_difference(aml["time"], aml["status"], aml["x"], 40)
    df = res.to_frame()
    assert df["quantity"].tolist() == ["rmst[Maintained]", "rmst[Nonmaintained]", "difference", "ratio"]
    assert df.loc[2, "estimate"] == res.difference and df.loc[3, "upper"] == res.ratio_upper
    assert repr(res).startswith("RMSTDifference(tau=40")
    r = kaplan_meier(aml["time"], aml["status"]).rmst(40, conf_level=0.9)
    assert isinstance(r, RMST) and r.conf_level == 0.9
    assert r.upper - r.estimate == pytest.approx(1.6448536269514722 * r.std_err)


def test_tau_before_first_time_is_tau_with_zero_se():
    r = kaplan_meier([5, 6, 7], [1, 1, 0]).rmst(2)
    assert (r.estimate, r.std_err, r.lower, r.upper) == (2, 0, 2, 2)


def test_rmst_by_hand():
    # S = 1 on [0,2), 2/3 on [2,4), 1/3 on [4,6): area to 5 = 2 + 2*2/3 + 1/3
    km = kaplan_meier([2, 4, 6], [1, 1, 0])
    r = km.rmst(5)
    assert r.estimate == pytest.approx(2 + 4 / 3 + 1 / 3)
    # Var = A(2)^2 * 1/(3*2) + A(4)^2 * 1/(2*1), A(2) = 4/3 + 1/3, A(4) = 1/3
    assert r.std_err == pytest.approx(math.sqrt((5 / 3) ** 2 / 6 + (1 / 3) ** 2 / 2))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"tau": 0}, "tau: expected a positive finite time"),
        ({"tau": -3}, "tau: expected a positive finite time"),
        ({"tau": float("inf")}, "tau: expected a positive finite time"),
        ({"group": [1] * 6}, r"group: expected at least 2 distinct levels"),
        ({"group": [1, 2, 3, 1, 2, 3]}, r"group: expected exactly 2 distinct levels, got 3"),
        ({"group": [1, 2, None, 1, 2, 1]}, r"group: .*missing values at rows \[3\]"),
        ({"group": [1, 2, 1]}, r"length mismatch: .*group has 3"),
        ({"reference": "C"}, r"reference: 'C' is not a level of group"),
        ({"conf_level": 0}, "conf_level"),
        ({"time": [1, 2, -3, 4, 5, 6]}, r"time: .*negative values at rows \[3\]"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"time": [1, 2, 3, 4, 5, 6], "event": [1, 0, 1, 1, 0, 1], "group": list("ABABAB"),
            "tau": 4}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        rmst_difference(args.pop("time"), args.pop("event"), args.pop("group"), args.pop("tau"), **args)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 1)), min_size=1, max_size=50),
       st.floats(min_value=0.5, max_value=60))
def test_rmst_bounded_by_tau_and_monotone_in_tau(rows, tau):
    t, e = zip(*rows)
    km = kaplan_meier(t, e)
    r = km.rmst(tau)
    assert 0 < r.estimate <= tau + 1e-9 and r.std_err >= 0
    assert km.rmst(tau + 1).estimate >= r.estimate
    # the area under S equals the integral of the step function evaluated on a fine grid
    grid = np.linspace(0, tau, 20001)
    s = km.survival_at(grid)["survival"].to_numpy()
    assert r.estimate == pytest.approx(np.sum(s[:-1] * np.diff(grid)), abs=tau * 2e-3)


def test_degenerate_arms_give_nan_not_errors():
    # every subject of arm A fails at time 0: RMST 0, the ratio is undefined
    res = rmst_difference([0, 0, 3, 5], [1, 1, 1, 0], ["A", "A", "B", "B"], 4)
    assert res.rmst_reference.estimate == 0 and res.rmst_other.estimate > 0
    assert math.isinf(res.ratio) and math.isnan(res.ratio_p)
    # no event before tau in either arm: equal RMSTs with SE 0
    same = rmst_difference([5, 6, 7, 8], [1, 0, 1, 0], ["A", "A", "B", "B"], 2)
    assert same.difference == 0 and same.std_err == 0 and math.isnan(same.z) and math.isnan(same.p)
