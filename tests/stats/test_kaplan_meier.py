"""Kaplan–Meier curve, quantiles, landmarks and log(-log) data against R survival and SAS.

R references come from ``tests/fixtures/r/km.R`` (R survival 3.5-3, real data sets with
ties: aml, ovarian, veteran, colon, gbsg, pbc, lung, plus weighted and edge cases).
SAS references are quoted in the docstrings of the SAS tests with their source.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

# imported from the module: the package attribute ``oncotrial.stats.kaplan_meier`` is
# the submodule once it has been imported (the function and its module share a name)
from oncotrial.core.errors import InputError
from oncotrial.stats.kaplan_meier import (
    TABLE_COLUMNS,
    KaplanMeier,
    QuantileEstimate,
    kaplan_meier,
    loglog_data,
)

KM = load_fixture("km")
CASES = KM["cases"]
BANDS = [(name, i) for name, case in CASES.items() for i in range(len(case["bands"]))]


def _fit(case: dict, **kwargs) -> KaplanMeier:
    return kaplan_meier(case["time"], case["status"], weights=case["weights"], **kwargs)


def _band_fit(name: str, i: int) -> tuple[KaplanMeier, dict]:
    case = CASES[name]
    band = case["bands"][i]
    return _fit(case, conf_type=band["conf_type"], conf_level=band["conf_level"]), band


# ------------------------------------------------------------------------- R: curve
@pytest.mark.parametrize("name", list(CASES))
def test_table_matches_r_survfit(name):
    case = CASES[name]
    tab = _fit(case).table
    assert list(tab.columns) == TABLE_COLUMNS
    for col, ref in case["table"].items():
        assert_close(tab[col].to_numpy(), ref, what=f"{name} {col}")


@pytest.mark.parametrize("name", list(CASES))
def test_table_matches_r_survfit_with_times_in_tenths(name):
    # the same times divided by 10 (decimals, coded as scaled integers where exact)
    case = CASES[name]
    tab = kaplan_meier(np.asarray(case["time"], dtype=float) / 10, case["status"],
                       weights=case["weights"]).table
    for col, ref in case["table"].items():
        expected = np.asarray(ref, dtype=float) / 10 if col == "time" else ref
        assert_close(tab[col].to_numpy(), expected, what=f"{name} {col} in tenths")


@pytest.mark.parametrize("name,i", BANDS)
def test_band_matches_r_survfit_confint(name, i):
    km, band = _band_fit(name, i)
    what = f"{name} {band['conf_type']} {band['conf_level']}"
    assert_close(km.table["lower"].to_numpy(), band["lower"], what=f"{what} lower")
    assert_close(km.table["upper"].to_numpy(), band["upper"], what=f"{what} upper")


# ------------------------------------------------------------------------- R: quantiles
@pytest.mark.parametrize("name,i", BANDS)
def test_quantiles_match_r_quantile_survfit(name, i):
    km, band = _band_fit(name, i)
    ref = band["quantile"]
    for j, p in enumerate(ref["p"]):
        q = km.quantile(p)
        what = f"{name} {band['conf_type']} {band['conf_level']} p={p}"
        assert_close(q.estimate, ref["estimate"][j], what=f"{what} estimate")
        assert_close(q.lower, ref["lower"][j], what=f"{what} lower")
        assert_close(q.upper, ref["upper"][j], what=f"{what} upper")


#: (case, conf_type, conf_level) where R's own two median helpers disagree
R_PRINT_DIFFERS = {
    # the curve ends flat at exactly 0.5: print's ``minmin`` gives 87, quantile 102.5
    ("camis_flat", "log", 0.95), ("camis_flat", "log-log", 0.95), ("camis_flat", "plain", 0.95),
    ("camis_flat", "log", 0.9), ("camis_flat", "log-log", 0.9), ("camis_flat", "plain", 0.9),
    # the upper band rises again after crossing 0.5 (0.458 at 45, 0.462 at 48): minmin takes
    # the first crossing (45), quantile's approx() the smallest 1 - upper >= 0.5 (48)
    ("aml", "log", 0.95), ("aml_roundoff", "log", 0.95),
}


@pytest.mark.parametrize("name,i", BANDS)
def test_median_vs_r_print_survfit_table(name, i):
    """``median()`` is ``quantile.survfit``; ``print(fit)``/``summary(fit)$table`` use another
    helper (``minmin`` in ``survmean``) that agrees except in the cases listed above."""
    km, band = _band_fit(name, i)
    med = km.median()
    got = [med.estimate, med.lower, med.upper]
    table = band["table_median"]
    r_print = [table["median"], table["lower"], table["upper"]]
    if (name, band["conf_type"], band["conf_level"]) in R_PRINT_DIFFERS:
        j = band["quantile"]["p"].index(0.5)
        r_quantile = [band["quantile"][k][j] for k in ("estimate", "lower", "upper")]
        assert_close(got, r_quantile, what=f"{name} median (quantile.survfit)")
        assert not np.allclose(_nan0(got), _nan0(r_print))
    else:
        assert_close(got, r_print, what=f"{name} median (print.survfit)")


def _nan0(x: list) -> np.ndarray:
    return np.nan_to_num(np.array([np.nan if v is None else v for v in x], dtype=float))


def test_median_not_reached_is_nan():
    case = CASES["colon_death_Lev5FU"]
    med = _fit(case).median()
    assert math.isnan(med.estimate) and math.isnan(med.upper)
    assert isinstance(med, QuantileEstimate) and med.rule == "r" and med.conf_type == "log"


def test_flat_at_exactly_half_uses_midpoint_to_last_time():
    """CAMIS toy (``PSIAIMS/CAMIS:Comp/r-sas_survival.qmd``): R median = (87 + 118)/2."""
    case = CASES["camis_flat"]
    assert _fit(case).median().estimate == 102.5


# ------------------------------------------------------------------------- R: landmarks
@pytest.mark.parametrize("name,i", BANDS)
def test_survival_at_matches_r_summary_extend(name, i):
    km, band = _band_fit(name, i)
    ref = band["landmarks"]
    got = km.survival_at(ref["time"])
    assert list(got.columns) == ["time", "n_risk", "survival", "std_err", "lower", "upper"]
    for col in ("time", "n_risk", "survival", "std_err", "lower", "upper"):
        assert_close(got[col].to_numpy(), ref[col], what=f"{name} landmarks {col}")


def test_survival_at_keeps_requested_order_and_accepts_scalar():
    km = _fit(CASES["aml"])
    a = km.survival_at([50, 10, 0])
    b = km.survival_at([0, 10, 50])
    pd.testing.assert_frame_equal(a.iloc[::-1].reset_index(drop=True), b)
    assert km.survival_at(10).shape == (1, 6)


# ------------------------------------------------------------------------- R: RMST
@pytest.mark.parametrize("name", list(CASES))
def test_rmst_matches_r_print_rmean(name):
    case = CASES[name]
    km = _fit(case)
    for tau, est, se in zip(case["rmst"]["tau"], case["rmst"]["estimate"], case["rmst"]["std_err"]):
        r = km.rmst(tau)
        assert_close(r.estimate, est, what=f"{name} rmst({tau})")
        assert_close(r.std_err, se, what=f"{name} se rmst({tau})")
        z = 1.959963984540054
        assert_close([r.lower, r.upper], [est - z * se, est + z * se], what=f"{name} rmst CI")


# ------------------------------------------------------------------------- SAS
def test_sas_camis_toy_quartiles_and_landmarks():
    """SAS 9.4 PROC LIFETEST (CONFTYPE=LOGLOG default) on the CAMIS toy data.

    Source: PHUSE CAMIS ``Comp/r-sas_survival.qmd``, figure ``images/survival/r_sas_special.png``
    (commit 74a06c1): 25th 77 (54, NE); median NE (54, NE); 75th NE (87, NE); day 80
    0.7 (0.329, 0.892); day 100 0.5 (0.184, 0.753); day 120 NE (NE, NE).
    """
    case = CASES["camis_flat"]
    km = _fit(case, convention="sas")
    assert km.conf_type == "log-log"
    got = [km.quantile(p) for p in (0.25, 0.5, 0.75)]
    assert_close([q.estimate for q in got], [77, None, None], what="SAS quartiles")
    assert_close([q.lower for q in got], [54, 54, 87], what="SAS lower")
    assert_close([q.upper for q in got], [None, None, None], what="SAS upper")
    lm = km.survival_at([80, 100, 120])
    assert_close(lm["survival"].to_numpy(), [0.7, 0.5, None], what="SAS landmarks")
    # SAS prints 3 decimals: agreement to rounding
    assert_close(lm["lower"].to_numpy(), [0.329, 0.184, None], rtol=0, atol=5e-4, what="SAS lower")
    assert_close(lm["upper"].to_numpy(), [0.892, 0.753, None], rtol=0, atol=5e-4, what="SAS upper")


def test_sas_camis_toy_last_event():
    """Same toy with the last time (118) an event. SAS (CAMIS ``r_sas_special_lst.png``):
    25th 77 (54, NE); median 102.5 (54, NE) by the midpoint rule; 75th 118 (87, NE);
    day 120 survival 0 (NE, NE)."""
    km = _fit(CASES["camis_last_event"], convention="sas")
    got = [km.quantile(p) for p in (0.25, 0.5, 0.75)]
    assert_close([q.estimate for q in got], [77, 102.5, 118], what="SAS quartiles")
    assert_close([q.lower for q in got], [54, 54, 87], what="SAS lower")
    assert_close([q.upper for q in got], [None, None, None], what="SAS upper")
    lm = km.survival_at([120])
    assert lm["survival"].iloc[0] == 0 and math.isnan(lm["lower"].iloc[0])


def test_sas_brookmeyer_crowley_equals_r_loglog_on_aml():
    """On aml, SAS-style BC intervals under log-log coincide with R conf.type="log-log"
    quartile CIs (5, 23), (13, 34), (30, NA) (survey §5.3; statsmodels' SAS-style
    ``quantile_ci`` gives the same)."""
    case = CASES["aml"]
    r_ref = next(b for b in case["bands"] if b["conf_type"] == "log-log" and b["conf_level"] == 0.95)
    km = _fit(case, convention="sas")
    for p in (0.25, 0.5, 0.75):
        j = r_ref["quantile"]["p"].index(p)
        q = km.quantile(p)
        assert_close([q.estimate, q.lower, q.upper],
                     [r_ref["quantile"][k][j] for k in ("estimate", "lower", "upper")],
                     what=f"aml p={p}")


def test_sas_rule_point_estimate_strict_and_midpoint():
    # S = 0.75, 0.5 (at 2, flat to 3), 0.25, 0 -> median: first S < 0.5 is at 3,
    # S == 0.5 on [2, 3) -> midpoint 2.5; R gives the same here.
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1], convention="sas")
    assert km.median().estimate == 2.5
    assert km.quantile(0.3).estimate == 2.0
    # stays at 0.5 to the end -> NE under SAS, midpoint with the last time under R
    t, e = [1, 2, 3, 4], [1, 1, 0, 0]
    assert math.isnan(kaplan_meier(t, e, convention="sas").median().estimate)
    assert kaplan_meier(t, e).median().estimate == 3.0


def test_sas_landmark_past_last_observation_is_nan():
    km = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 0], convention="sas")
    lm = km.survival_at([3.5, 4, 5])
    assert np.isnan(lm["survival"].iloc[2]) and lm["survival"].iloc[1] == lm["survival"].iloc[0]
    assert lm["n_risk"].tolist() == [1, 1, 0]


def test_explicit_conf_type_overrides_convention():
    case = CASES["aml"]
    assert _fit(case, convention="sas", conf_type="log").conf_type == "log"
    assert _fit(case, conf_type="plain").conf_type == "plain"
    assert _fit(case).conf_type == "log"


# ------------------------------------------------------------------------- misc API
def test_loglog_data_at_event_times():
    km = _fit(CASES["event_at_zero"])
    df = loglog_data(km)
    assert list(df.columns) == ["time", "log_time", "survival", "loglog"]
    assert (df["time"] > 0).all() and ((df["survival"] > 0) & (df["survival"] < 1)).all()
    np.testing.assert_allclose(df["loglog"], np.log(-np.log(df["survival"])))
    np.testing.assert_allclose(df["log_time"], np.log(df["time"]))
    tab = km.table
    assert df["time"].tolist() == tab.loc[(tab.n_event > 0) & (tab.time > 0), "time"].tolist()


def test_repr_to_frame_and_to_dict():
    km = _fit(CASES["aml"])
    text = repr(km)
    assert text.startswith("KaplanMeier(n=23, events=18, median=27") and "95% CI 18-48" in text
    pd.testing.assert_frame_equal(km.to_frame(), km.table)
    d = km.to_dict()
    assert set(d) == {"table", "n", "events", "conf_type", "conf_level", "convention"}
    assert "NE" in repr(_fit(CASES["colon_death_Lev5FU"]))


def test_timefix_only_under_r_convention():
    t = np.array([1.0, 1.0 + 1e-12, 2.0, 3.0])
    e = np.array([1, 1, 0, 1])
    assert kaplan_meier(t, e).table.shape[0] == 3
    assert kaplan_meier(t, e, convention="sas").table.shape[0] == 4


def test_pandas_input_and_bool_events():
    df = pd.DataFrame({"t": CASES["aml"]["time"], "e": np.array(CASES["aml"]["status"]) == 1})
    a = kaplan_meier(df["t"], df["e"]).table
    b = _fit(CASES["aml"]).table
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "time,event,match",
    [
        ([1, -2, 3], [1, 0, 1], r"time: .*negative values at rows \[2\]"),
        ([1, np.nan, 3], [1, 0, 1], r"time: .*missing \(NaN\) values at rows \[2\]"),
        ([1, np.inf, 3], [1, 0, 1], r"time: .*infinite values at rows \[2\]"),
        ([1, 2, 3], [1, 2, 1], r"event: .*got 2 at rows \[2\]"),
        ([1, 2, 3], [1, 0], r"length mismatch: time has 3, event has 2"),
        ([], [], r"time: empty input"),
    ],
)
def test_bad_input_raises_naming_argument_and_rows(time, event, match):
    with pytest.raises(InputError, match=match):
        kaplan_meier(time, event)


def test_bad_options_raise():
    with pytest.raises(InputError, match="conf_type"):
        kaplan_meier([1, 2], [1, 0], conf_type="logit")
    with pytest.raises(InputError, match="conf_level"):
        kaplan_meier([1, 2], [1, 0], conf_level=1.5)
    with pytest.raises(InputError, match="convention"):
        kaplan_meier([1, 2], [1, 0], convention="stata")
    with pytest.raises(InputError, match=r"weights: .*rows \[2\]"):
        kaplan_meier([1, 2], [1, 0], weights=[1, -1])
    km = kaplan_meier([1, 2], [1, 0])
    for p in (0, 1, -0.1, 1.2, float("nan"), "a"):
        with pytest.raises(InputError, match="p: expected a probability"):
            km.quantile(p)
    with pytest.raises(InputError, match=r"times: .*negative values at rows \[2\]"):
        km.survival_at([1, -1])
    with pytest.raises(InputError, match="tau"):
        km.rmst(0)
    with pytest.raises(TypeError, match="km: expected a KaplanMeier"):
        loglog_data(km.table)


# ------------------------------------------------------------------------- properties
survival_data = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(min_value=0, max_value=30), min_size=n, max_size=n),
        st.lists(st.integers(min_value=0, max_value=1), min_size=n, max_size=n),
    )
)


@settings(max_examples=80, deadline=None)
@given(survival_data, st.sampled_from(["log", "log-log", "plain"]), st.sampled_from(["r", "sas"]))
def test_curve_is_monotone_probability_inside_band(data, conf_type, convention):
    t, e = data
    tab = kaplan_meier(t, e, conf_type=conf_type, convention=convention).table
    s = tab["survival"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all() and (np.diff(s) <= 0).all()
    lo, up = tab["lower"].to_numpy(), tab["upper"].to_numpy()
    ok = ~np.isnan(lo)
    assert (lo[ok] <= s[ok] + 1e-12).all() and (s[ok] <= up[ok] + 1e-12).all()
    assert tab["n_risk"].iloc[0] == len(t) and tab["n_event"].sum() == sum(e)


@settings(max_examples=60, deadline=None)
@given(survival_data, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data, rnd):
    t, e = data
    order = list(range(len(t)))
    rnd.shuffle(order)
    a = kaplan_meier(t, e)
    b = kaplan_meier([t[i] for i in order], [e[i] for i in order])
    pd.testing.assert_frame_equal(a.table, b.table)
    for p in (0.25, 0.5, 0.75):
        qa, qb = a.quantile(p), b.quantile(p)
        np.testing.assert_array_equal([qa.estimate, qa.lower, qa.upper],
                                      [qb.estimate, qb.lower, qb.upper])


@settings(max_examples=60, deadline=None)
@given(survival_data, st.sampled_from([0.01, 0.5, 3.0, 7.25, 100.0]),
       st.sampled_from(["r", "sas"]), st.sampled_from(["log", "log-log", "plain"]))
def test_scaling_time_scales_quantiles(data, c, convention, conf_type):
    t, e = data
    a = kaplan_meier(t, e, convention=convention, conf_type=conf_type)
    b = kaplan_meier([c * x for x in t], e, convention=convention, conf_type=conf_type)
    for p in (0.25, 0.5, 0.75):
        qa, qb = a.quantile(p), b.quantile(p)
        np.testing.assert_allclose([qb.estimate, qb.lower, qb.upper],
                                   [c * qa.estimate, c * qa.lower, c * qa.upper], rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=80))
def test_without_censoring_survival_is_empirical(t):
    km = kaplan_meier(t, np.ones(len(t)), convention="sas")
    x = np.asarray(t)
    expected = np.array([(x > u).mean() for u in km.table["time"]])
    np.testing.assert_allclose(km.table["survival"].to_numpy(), expected, atol=1e-12)
