"""Proportional-hazards diagnostics: log(-log) curves and scaled Schoenfeld residuals.

The R reference values below were printed by R 4.2.2, survival 3.5-3 with
``ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)``:

    z1 <- cox.zph(coxph(Surv(time, status) ~ trt + karno, data = veteran, control = ctl))
    z1$time[idx]; z1$y[idx, ]; z1$x[idx]           # idx = c(1:3, 126:128)
    # plot.cox.zph's smooth of column 1: ns(c(pred.x, x), df = 4, intercept = TRUE), 40 points
    yhat[c(1, 20, 40)]; (2 * sqrt(z1$var[1, 1] * seval))[c(1, 20, 40)]
    colon$rx <- factor(colon$rx, levels = c("Obs", "Lev", "Lev+5FU"))
    z2 <- cox.zph(coxph(Surv(time, status) ~ rx + age + strata(extent),
                        data = subset(colon, etype == 2), control = ctl), terms = FALSE)
    z2$time[c(1, 2, 452)]; z2$y[c(1, 2, 452), ]; as.integer(z2$strata[c(1, 2, 452)])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.report.format import format_p
from oncotrial.report.ph_plot import (
    PH_TEST_LEVEL,
    loglog_figure,
    ph_test_sentence,
    scaled_schoenfeld,
    schoenfeld_p_values,
    zph_smooth,
)
from oncotrial.stats import cox_zph, coxph, kaplan_meier, loglog_data

VETERAN_ROWS = [0, 1, 2, 125, 126, 127]
VETERAN_TIME = [1, 1, 2, 587, 991, 999]
VETERAN_Y = [[2.37967177066333, -0.120550164628358], [1.98542866394861, -0.0213148449167741],
             [2.16775588762687, -0.0558560358537066], [0.291127344346033, -0.0625995547719323],
             [0.265755877616526, -0.0562132779554899], [0.177322256692181, -0.033953564351846]]
VETERAN_X = [0, 0, 0.0145985401459854, 0.972986467971764, 0.981990978647842, 0.990995489323921]
VETERAN_SMOOTH = [-0.508469958802836, 0.497979654692791, -0.311463821013195]
VETERAN_HALF_BAND = [1.20379700429518, 0.560032712424195, 1.30545404127058]
COLON_ROWS = [0, 1, 451]
COLON_TIME = [578, 583, 2458]
COLON_Y = [[0.721101197915637, 3.08505687919892, 0.0365368621996993],
           [0.738693047440521, 3.19940833965965, 0.0602384981890391],
           [3.03469281474739, -0.78352896488235, 0.088740598647642]]
COLON_STRATUM = [0, 0, 3]


@pytest.fixture(scope="module")
def veteran_fit():
    return coxph(load("veteran"), time="time", event="status", covariates=["trt", "karno"])


def test_scaled_residuals_equal_r_cox_zph(veteran_fit):
    res = scaled_schoenfeld(veteran_fit)
    assert len(res) == 128
    assert_close(res["time"].iloc[VETERAN_ROWS], VETERAN_TIME, what="time")
    assert_close(res[["trt", "karno"]].iloc[VETERAN_ROWS].to_numpy().ravel(), np.ravel(VETERAN_Y), what="y")
    assert_close(res["x"].iloc[VETERAN_ROWS], VETERAN_X, what="x (km transform)")


def test_smooth_equals_r_plot_cox_zph(veteran_fit):
    res = scaled_schoenfeld(veteran_fit)
    smooth = zph_smooth(res["x"].to_numpy(), res["trt"].to_numpy(), len(res) * veteran_fit.naive_var[0, 0])
    assert len(smooth) == 40
    assert_close(smooth["fit"].iloc[[0, 19, 39]], VETERAN_SMOOTH, what="smooth")
    assert_close((smooth["upper"] - smooth["fit"]).iloc[[0, 19, 39]], VETERAN_HALF_BAND, what="band")


def test_stratified_three_arm_residuals_equal_r():
    colon = load("colon")
    colon = colon[colon["etype"] == 2]
    fit = coxph(colon, time="time", event="status", covariates=["rx", "age"], categorical={"rx": "Obs"},
                strata=["extent"])
    res = scaled_schoenfeld(fit)
    assert len(res) == 452 and fit.design.columns == ["rx[Lev]", "rx[Lev+5FU]", "age"]
    assert_close(res["time"].iloc[COLON_ROWS], COLON_TIME, what="time")
    assert res["stratum"].iloc[COLON_ROWS].tolist() == COLON_STRATUM
    assert_close(res[fit.design.columns].iloc[COLON_ROWS].to_numpy().ravel(), np.ravel(COLON_Y), what="y")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_residuals_average_to_the_cox_estimate(ties):
    """Schoenfeld residuals sum to the score, 0 at the estimate, so the scaled ones average beta."""
    aml = load("aml")
    fit = coxph(aml, time="time", event="status", covariates=["x"], categorical={"x": "Maintained"}, ties=ties)
    res = scaled_schoenfeld(fit, "identity")
    assert np.isclose(res["x[Nonmaintained]"].mean(), fit.coef[0], rtol=1e-8)
    assert np.array_equal(res["x"], res["time"])  # identity transform


def test_figure_panels_and_numbers(tmp_path):
    colon = load("colon")
    colon = colon[(colon["etype"] == 2) & (colon["rx"] != "Lev")].assign(months=lambda d: d["time"] / 30.4375)
    fig = loglog_figure(colon, time="months", event="status", group="rx", reference="Obs", strata=["extent"],
                        title="Overall survival", path=tmp_path / "ph.svg")
    assert (tmp_path / "ph.svg").read_bytes().lstrip().startswith(b"<?xml")
    ax, panel = fig.axes
    # left: the log(-log) steps of each arm, reference first
    for line, arm in zip(ax.get_lines(), ["Obs", "Lev+5FU"]):
        sub = colon[colon["rx"] == arm]
        expected = loglog_data(kaplan_meier(sub["months"], sub["status"]))
        assert line.get_label() == arm
        assert np.allclose(line.get_ydata(), expected["loglog"]) and np.allclose(line.get_xdata(), expected["time"])
    assert ax.get_xscale() == "log"
    # right: residuals of the treatment term, and the cox.zph P in the title
    fit = coxph(colon, time="months", event="status", covariates=["rx"], categorical={"rx": "Obs"},
                strata=["extent"])
    p = cox_zph(fit, terms=False).loc["rx[Lev+5FU]", "p"]
    assert f"Schoenfeld residual test P = {format_p(p)}" in panel.get_title(loc="left")
    assert "Lev+5FU vs Obs" in panel.get_title(loc="left")
    points = panel.collections[0].get_offsets()
    assert np.allclose(points[:, 1], scaled_schoenfeld(fit)["rx[Lev+5FU]"])
    assert np.isclose(panel.get_lines()[3].get_ydata()[0], fit.coef[0])  # dotted line at the Cox estimate


def test_three_arms_give_a_panel_per_arm_and_options():
    colon = load("colon")
    colon = colon[colon["etype"] == 2]
    fig = loglog_figure(colon, time="time", event="status", group="rx", reference="Obs", transform="rank",
                        smooth=False, time_unit="days")
    assert len(fig.axes) == 3
    assert not any(line.get_linestyle() == "--" for line in fig.axes[1].get_lines())  # no smooth band
    assert len(loglog_figure(colon, time="time", event="status", group="rx", residuals=False).axes) == 1


@pytest.mark.parametrize("kwargs,match", [
    ({"time": "AVALM"}, r"time: column 'AVALM' not in data; expected follow-up times"),
    ({"adjust": ["ecog"]}, r"adjust: column 'ecog' not in data; expected a covariate column"),
    ({"transform": "sqrt"}, r"transform: expected 'km', 'rank', 'identity' or 'log'"),
    ({"event": "CNSR"}, r"event: 'CNSR' is the ADaM censoring flag"),
])
def test_bad_input_names_the_argument(kwargs, match):
    d = load("veteran")
    with pytest.raises(InputError, match=match):
        loglog_figure(d, **({"time": "time", "event": "status", "group": "trt"} | kwargs))


def test_one_arm_is_refused():
    d = load("veteran")
    with pytest.raises(InputError, match=r"trt: expected at least 2 distinct levels"):
        loglog_figure(d[d["trt"] == 1], time="time", event="status", group="trt")


def test_smooth_needs_two_degrees_of_freedom():
    with pytest.raises(InputError, match=r"df: expected at least 2"):
        zph_smooth(np.arange(5.0), np.arange(5.0), 1.0, df=1)
    assert isinstance(zph_smooth(np.arange(10.0), np.ones(10), 1.0), pd.DataFrame)


def test_weighted_fits_are_refused():
    veteran = load("veteran").assign(w=2.0)
    fit = coxph(veteran, time="time", event="status", covariates=["trt"], weights="w")
    with pytest.raises(InputError, match=r"fit: scaled Schoenfeld residuals of a fit with case weights"):
        scaled_schoenfeld(fit)


# ----------------------------------------------------------------------------- what the figure says
def test_sentence_follows_the_test_result():
    large, small = ph_test_sentence(0.41), ph_test_sentence(0.003)
    assert large == "Schoenfeld residual test P = 0.410: no evidence against proportional hazards"
    assert small.startswith("Schoenfeld residual test P = 0.003: evidence of non-proportional hazards")
    assert "average" in small and "average" not in large
    assert ph_test_sentence(1e-6).startswith("Schoenfeld residual test P<0.001: evidence of non-proportional")
    assert "no evidence" in ph_test_sentence(PH_TEST_LEVEL)
    assert ph_test_sentence(float("nan")) == "Schoenfeld residual test not computable"


def _crossing_hazards(proportional: bool, n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Two arms; without ``proportional`` the experimental arm's hazard is 4 times the control's
    early and a quarter of it late (crossing curves)."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["Control", "Experimental"], n // 2)
    early = rng.exponential(1 / 0.1, n)
    if proportional:
        t = np.where(arm == "Control", early, rng.exponential(1 / 0.07, n))
    else:
        fast, slow = rng.exponential(1 / 0.4, n), rng.exponential(1 / 0.025, n)
        t = np.where(arm == "Control", early, np.where(fast < 3, fast, 3 + slow))
    censor = rng.uniform(5, 40, n)
    return pd.DataFrame({"T": np.minimum(t, censor), "E": (t <= censor).astype(int), "ARM": arm})


@pytest.mark.parametrize("proportional", [True, False])
def test_figure_title_follows_the_data(proportional):
    data = _crossing_hazards(proportional)
    p = schoenfeld_p_values(data, time="T", event="E", group="ARM", reference="Control")["Experimental"]
    fit = coxph(data, time="T", event="E", covariates=["ARM"], categorical={"ARM": "Control"})
    assert p == pytest.approx(cox_zph(fit, terms=False).loc["ARM[Experimental]", "p"])
    assert (p < PH_TEST_LEVEL) is (not proportional)
    fig = loglog_figure(data, time="T", event="E", group="ARM", reference="Control")
    title = fig.axes[1].get_title(loc="left").replace("\n", " ")
    assert ph_test_sentence(p) in title
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert "cox.zph" not in texts and "support proportional hazards" not in texts


def test_time_ticks_are_readable():
    """Labelled log-scale ticks at 1-2-5 steps, none overlapping, no minor-tick labels."""
    data = _crossing_hazards(True)
    fig = loglog_figure(data, time="T", event="E", group="ARM", reference="Control")
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()
                  and ax.get_xlim()[0] <= t.get_position()[0] <= ax.get_xlim()[1]]
        assert len(labels) >= 3
        boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))
        assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))
