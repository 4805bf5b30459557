"""Graphical checks of proportional hazards for the treatment comparison.

A single Cox hazard ratio summarises the treatment effect only if the hazards are
proportional; trial reports assess it graphically, plotting log(−log[S(t)]) by arm.
:func:`loglog_figure` draws the two classical checks side by side:

1. log(−log S(t)) against log t per arm (R ``plot(fit, fun="cloglog")``, SAS
   ``PLOTS=LLS``): under proportional hazards the curves are parallel, a vertical
   distance of log HR apart; crossing or converging curves show an effect that changes
   with time.
2. the scaled Schoenfeld residuals of the treatment term against time (R
   ``plot(cox.zph(fit))``): each point estimates the log hazard ratio at an event time
   (Grambsch & Therneau 1994), so a flat smooth at the Cox estimate supports
   proportional hazards and a trend shows how the effect drifts. The P value of R's
   score test (:func:`oncotrial.stats.cox_zph`) is printed with it.

:func:`scaled_schoenfeld` returns the residuals and the smooth as data, as R's
``cox.zph(fit)$y`` and ``plot.cox.zph`` compute them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter, LogLocator, NullFormatter
from scipy.stats import rankdata

from oncotrial.core.errors import InputError
from oncotrial.report.figures import (
    FONT,
    PALETTE,
    check_survival_input,
    coefficient_name,
    level_text,
    resolve_arms,
    write_figure,
)
from oncotrial.report.format import format_number, format_p
from oncotrial.stats import CoxResult, cox_zph, coxph, kaplan_meier, loglog_data
from oncotrial.stats.conventions import Convention, resolve_convention
from oncotrial.stats.cox_zph import left_km

__all__ = ["PH_TEST_LEVEL", "loglog_figure", "ph_test_sentence", "scaled_schoenfeld", "schoenfeld_p_values",
           "schoenfeld_tests", "zph_smooth"]

#: P value of the Schoenfeld residual test below which the figure reports evidence of
#: non-proportional hazards (the test has little power, so no stricter level is used)
PH_TEST_LEVEL = 0.05


def ph_test_sentence(p: float, level: float = PH_TEST_LEVEL) -> str:
    """What the Schoenfeld residual test says, in words that follow its result.

    ``"Schoenfeld residual test P = 0.41: no evidence against proportional hazards"``, or
    below ``level`` ``"... P = 0.003: evidence of non-proportional hazards; interpret the
    hazard ratio as an average over follow-up"``; a P that is not a number says the test
    could not be computed. A fixed sentence ("parallel curves support proportional
    hazards") would contradict a figure whose curves cross.
    """
    text = format_p(p)
    if text == "NE":
        return "Schoenfeld residual test not computable"
    head = f"Schoenfeld residual test P{text if text.startswith('<') else ' = ' + text}"
    if float(p) < level:
        return f"{head}: evidence of non-proportional hazards; interpret the hazard ratio as an average over follow-up"
    return f"{head}: no evidence against proportional hazards"


def _tick_text(value: float) -> str:
    """A time tick as printed: as many decimals as a value below 1 needs (0.2, 0.05), none above."""
    if value <= 0 or not np.isfinite(value):
        return format_number(value, 0)
    return format_number(value, max(0, int(-np.floor(np.log10(value) + 1e-9))))

Transform = Literal["km", "rank", "identity", "log"]


def scaled_schoenfeld(fit: CoxResult, transform: Transform = "km") -> pd.DataFrame:
    r"""Scaled Schoenfeld residuals of a Cox fit, one row per event: R ``cox.zph(fit)$y``.

    The Schoenfeld residual of an event at t is :math:`r = x - \bar x(t)`, the covariates
    of the patient minus their risk-weighted mean over the risk set (same stratum, time
    >= t); with Efron ties, :math:`\bar x` is averaged over the d partial risk sets of the
    tied events, as R does. Scaled, :math:`\beta + d\, \hat V r` (d events, :math:`\hat V`
    the model-based variance of :math:`\hat\beta`) has expectation close to
    :math:`\beta(t)`, the log hazard ratio at time t (Grambsch & Therneau 1994).

    This is R's scaling (survival >= 3.0) when every covariate varies within each stratum,
    the case of a randomised arm (R then scales by the events per stratum in which each
    covariate varies). Fits with case weights are refused (InputError): R weights the
    risk-set means and its scaling, which this function does not reproduce.

    Returns:
        ``time`` (event time, after R's tie merging), ``x`` (the time transform g(t) used
        by the test and the smooth: "km" = 1 − KM(t−) pooled, "rank", "identity", "log"),
        ``stratum`` (code, or 0) and one column per model coefficient (``fit.design.columns``),
        in the order of R's output (by stratum, then time).
    """
    design = fit.design
    if not np.all(design.weights == 1):
        raise InputError("fit: scaled Schoenfeld residuals of a fit with case weights are not supported; "
                         "expected an unweighted coxph fit", field="fit")
    t, e, X = design.time, design.event, design.X
    strata = np.zeros(t.size, dtype=np.intp) if design.strata is None else design.strata
    beta = fit.coef
    risk = np.exp((X - X.mean(axis=0)) @ beta)
    efron = fit.ties == "efron"
    rows, resid = [], []
    for s in np.unique(strata):
        in_s = np.flatnonzero(strata == s)
        times, inverse = np.unique(t[in_s], return_inverse=True)
        m = times.size
        # risk-set sums S0, S1 at each distinct time: everyone of the stratum with time >= t
        s0 = np.cumsum(np.bincount(inverse, weights=risk[in_s], minlength=m)[::-1])[::-1]
        s1 = np.stack([np.cumsum(np.bincount(inverse, weights=risk[in_s] * X[in_s, j], minlength=m)[::-1])[::-1]
                       for j in range(X.shape[1])], axis=1)
        for k in np.flatnonzero(np.bincount(inverse, weights=e[in_s], minlength=m) > 0):
            dead = in_s[(inverse == k) & (e[in_s] == 1)]
            if efron:  # the d partial risk sets: tied deaths removed by fractions 0, 1/d, ...
                frac = np.arange(dead.size)[:, None] / dead.size
                d0, d1 = risk[dead].sum(), (risk[dead, None] * X[dead]).sum(axis=0)
                xbar = ((s1[k] - frac * d1) / (s0[k] - frac[:, 0] * d0)[:, None]).mean(axis=0)
            else:
                xbar = s1[k] / s0[k]
            rows.extend(dead)
            resid.append(X[dead] - xbar)
    idx = np.asarray(rows, dtype=np.intp)
    r = np.vstack(resid)
    scaled = r @ fit.naive_var * r.shape[0] + beta
    gtime = _transform_times(t, e, transform)
    out = pd.DataFrame({"time": t[idx], "x": gtime[idx], "stratum": strata[idx]})
    for j, name in enumerate(design.columns):
        out[name] = scaled[:, j]
    return out


def _transform_times(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """g(t) of every row, uncentred, as R ``cox.zph`` returns it in ``$x``."""
    if transform == "km":
        return 1.0 - left_km(time, event)
    if transform == "rank":
        return rankdata(time)
    if transform == "log":
        if (time <= 0).any():
            raise InputError("transform: 'log' needs times > 0; use 'km', 'rank' or 'identity'",
                             field="transform")
        return np.log(time)
    return time.astype(float)


def _natural_spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Natural cubic spline basis with these knots (boundary ones included), intercept in.

    The truncated-power form of Hastie, Tibshirani & Friedman (2009) eq. 5.4-5.5; it spans
    the same space as R ``splines::ns(x, knots=inner, Boundary.knots=range, intercept=TRUE)``,
    so least-squares fits and their standard errors are identical to R's.
    """
    k = knots.size

    def d(j: int) -> np.ndarray:
        return (np.clip(x - knots[j], 0, None) ** 3 - np.clip(x - knots[-1], 0, None) ** 3) / (knots[-1] - knots[j])

    cols = [np.ones_like(x), x] + [d(j) - d(k - 2) for j in range(k - 2)]
    return np.column_stack(cols)


def zph_smooth(x: np.ndarray, y: np.ndarray, variance: float, df: int = 4,
               n_points: int = 40) -> pd.DataFrame:
    """The smooth R ``plot.cox.zph`` draws through scaled residuals, with its ±2 SE band.

    A least-squares natural cubic spline in g(t) with ``df`` degrees of freedom (knots at
    the 1/(df−1), ... quantiles of the residual times and the 40 plotting points, as R
    computes them), evaluated at ``n_points`` equally spaced values of g(t). The band is
    ``fit ± 2 sqrt(variance × s²)`` with s² the design factor of the fitted value and
    ``variance`` R's ``cox.zph(fit)$var`` (events × Var(beta)).

    Returns ``x, fit, lower, upper``.
    """
    if df < 2:
        raise InputError(f"df: expected at least 2 degrees of freedom, got {df}", field="df")
    grid = np.linspace(x.min(), x.max(), n_points)
    both = np.concatenate([grid, x])
    inner = np.quantile(both, np.arange(1, df - 1) / (df - 1))
    knots = np.concatenate([[both.min()], inner, [both.max()]])
    basis = _natural_spline_basis(both, knots)
    pmat, xmat = basis[:n_points], basis[n_points:]
    coef, *_ = np.linalg.lstsq(xmat, y, rcond=None)
    xtx_inv = np.linalg.inv(xmat.T @ xmat)
    fit = pmat @ coef
    half = 2 * np.sqrt(variance * np.einsum("ij,jk,ik->i", pmat, xtx_inv, pmat))
    return pd.DataFrame({"x": grid, "fit": fit, "lower": fit - half, "upper": fit + half})


def _time_axis(ax: Any, res: pd.DataFrame, transform: str) -> None:
    """Label a g(t) axis with original times, as R ``plot.cox.zph`` does.

    Eight points equally spaced in g(t) are mapped back to time, rounded to two
    significant digits and mapped forward again, so the labels are round times spread
    evenly along the axis whatever the transform.
    """
    if transform == "identity":
        return
    order = np.argsort(res["time"].to_numpy(), kind="stable")
    times, g = res["time"].to_numpy()[order], res["x"].to_numpy()[order]
    keep = np.concatenate(([True], np.diff(g) > 0))
    times, g = times[keep], g[keep]
    targets = np.linspace(g.min(), g.max(), 17)[1::2]
    rounded = np.unique([float(f"{v:.2g}") for v in np.interp(targets, g, times)])
    positions = np.interp(rounded, times, g)
    ax.xaxis.set_major_locator(FixedLocator(positions))
    ax.xaxis.set_major_formatter(FixedFormatter([_tick_text(v) for v in rounded]))


def _treatment_fit(data: pd.DataFrame, time: str, event: str, group: str, reference: Any,
                   adjust: Sequence[str], strata: Sequence[str], conv: Convention) -> CoxResult:
    """The Cox model whose treatment term is tested: arms against ``reference``, with the
    end point's covariates (non-numeric ones categorical) and strata."""
    categorical: dict[str, Any] = {group: reference}
    categorical |= {c: None for c in adjust if not pd.api.types.is_numeric_dtype(data[c])}
    return coxph(data, time=time, event=event, covariates=[group, *adjust], strata=list(strata) or None,
                 categorical=categorical, convention=conv)


def schoenfeld_p_values(data: pd.DataFrame, *, time: str, event: str, group: str, reference: Any = None,
                        arm_order: Sequence[Any] | None = None, adjust: Sequence[str] = (),
                        strata: Sequence[str] = (), transform: Transform = "km",
                        convention: str | Convention = "r") -> dict[Any, float]:
    """P of the Schoenfeld residual test (R ``cox.zph``) of each arm's treatment term, the
    numbers the residual panels of :func:`loglog_figure` print, for a caption that says
    what they show (:func:`ph_test_sentence`)."""
    tests = schoenfeld_tests(data, time=time, event=event, group=group, reference=reference, arm_order=arm_order,
                             adjust=adjust, strata=strata, transform=transform, convention=convention)
    return {arm: float(r["p"]) for arm, r in tests.iterrows()}


def schoenfeld_tests(data: pd.DataFrame, *, time: str, event: str, group: str, reference: Any = None,
                     arm_order: Sequence[Any] | None = None, adjust: Sequence[str] = (),
                     strata: Sequence[str] = (), transform: Transform = "km",
                     convention: str | Convention = "r") -> pd.DataFrame:
    """The Schoenfeld residual tests (R ``cox.zph``: ``chisq``, ``df``, ``p``) of each arm's
    treatment term, indexed by the arm: the numbers behind the figure, for the ARD."""
    conv = resolve_convention(convention)
    adjust, strata = check_survival_input(data, time, event, group, adjust, strata)
    order, ref = resolve_arms(data, group, reference=reference, order=arm_order, convention=conv)
    fit = _treatment_fit(data, time, event, group, ref, adjust, strata, conv)
    tests = cox_zph(fit, transform, terms=False)
    names = {coefficient_name(group, arm): arm for arm in order if arm != ref}
    return tests.table.loc[list(names), ["chisq", "df", "p"]].rename(index=names)


def loglog_figure(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    reference: Any = None,
    arm_order: Sequence[Any] | None = None,
    arm_labels: Mapping[Any, str] | None = None,
    adjust: Sequence[str] = (),
    strata: Sequence[str] = (),
    residuals: bool = True,
    transform: Transform = "km",
    smooth: bool = True,
    time_unit: str = "months",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    convention: str | Convention = "r",
    path: str | Path | None = None,
) -> Figure:
    """Proportional-hazards diagnostics of the arm comparison: log(−log S) and Schoenfeld residuals.

    Args:
        data: one row per patient (e.g. ADTTE of one PARAMCD merged with ADSL).
        time, event: follow-up time column and event column (1 = event, 0 = censored;
            convert ADaM ``CNSR`` first, ``EVENT = (CNSR == 0)``).
        group: the arm column; ``reference``, ``arm_order`` and ``arm_labels`` as in
            :func:`oncotrial.report.km_plot.km_figure`.
        adjust, strata: covariates and strata of the Cox model whose treatment term is
            tested (the primary analysis model, e.g. stratified by the randomisation
            factors); the log(−log) curves are unadjusted Kaplan–Meier per arm.
        residuals: add the scaled Schoenfeld residual panel, one per non-reference arm.
        transform: time scale g(t) of the residual panel, its smooth and the test
            (R ``cox.zph`` default "km"; "rank", "identity", "log"); axis labels are in
            original time.
        smooth: draw R's natural-spline smooth (4 df) with its ±2 SE band.
        time_unit: printed in the axis labels.
        title: figure title.
        figsize: inches (default 5 wide per panel, 4.2 high).
        convention: ``"r"`` or ``"sas"`` (Cox ties, reference arm, tie merging).
        path: also write the figure there (.png, .svg or .pdf).

    Returns:
        The Figure: ``axes[0]`` the log(−log) panel, then one residual panel per
        non-reference arm, titled with what the Schoenfeld residual test of that arm's
        coefficient says (:func:`ph_test_sentence`).
    """
    conv = resolve_convention(convention)
    adjust, strata = check_survival_input(data, time, event, group, adjust, strata)
    if transform not in ("km", "rank", "identity", "log"):
        raise InputError(f"transform: expected 'km', 'rank', 'identity' or 'log', got {transform!r}",
                         field="transform")
    order, ref = resolve_arms(data, group, reference=reference, order=arm_order, convention=conv)
    labels = {arm: level_text(arm) for arm in order} | {a: str(v) for a, v in (arm_labels or {}).items()}
    colours = {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(order)}
    without = [labels[arm] for arm in order if data.loc[data[group] == arm, event].sum() == 0]
    if residuals and without:  # the Cox coefficient tends to -inf: its residuals test nothing
        raise InputError(f"residuals: the hazard ratio is not estimable: no events in {' and '.join(without)}; "
                         f"draw the log(-log) panel alone with residuals=False", field="residuals")

    n_panels = 1 + (len(order) - 1 if residuals else 0)
    fig = Figure(figsize=figsize or (5.0 * n_panels, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, n_panels, i + 1) for i in range(n_panels)]

    ax = axes[0]
    for arm in order:
        sub = data.loc[data[group] == arm]
        ll = loglog_data(kaplan_meier(sub[time], sub[event], convention=conv))
        ax.step(ll["time"], ll["loglog"], where="post", color=colours[arm], linewidth=1.5, label=labels[arm])
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # 1, 2, 5, 10, 20, ...
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick_text(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"Time since randomisation ({time_unit}, log scale)", fontsize=FONT["label"])
    ax.set_ylabel("log(\u2212log S(t))", fontsize=FONT["label"])
    ax.set_title("log(\u2212log) survival by arm\nUnder proportional hazards the curves are parallel",
                 fontsize=FONT["label"], loc="left")
    ax.legend(fontsize=FONT["note"], frameon=False, loc="upper left")

    if residuals:
        fit = _treatment_fit(data, time, event, group, ref, adjust, strata, conv)
        res = scaled_schoenfeld(fit, transform)
        tests = cox_zph(fit, transform, terms=False)
        events = len(res)
        for panel, arm in zip(axes[1:], [a for a in order if a != ref]):
            column = coefficient_name(group, arm)
            j = fit.design.columns.index(column)
            panel.scatter(res["x"], res[column], s=9, color=colours[arm], alpha=0.6, linewidths=0)
            key = [(Line2D([], [], linestyle="none", marker="o", markersize=3.5, color=colours[arm], alpha=0.6),
                    "Scaled Schoenfeld residual")]
            if smooth:
                sm = zph_smooth(res["x"].to_numpy(), res[column].to_numpy(), events * fit.naive_var[j, j])
                panel.plot(sm["x"], sm["fit"], color="0.15", linewidth=1.4)
                panel.plot(sm["x"], sm["lower"], color="0.15", linewidth=0.9, linestyle="--")
                panel.plot(sm["x"], sm["upper"], color="0.15", linewidth=0.9, linestyle="--")
                key += [(Line2D([], [], color="0.15", linewidth=1.4), "Spline smooth (4 df)"),
                        (Line2D([], [], color="0.15", linewidth=0.9, linestyle="--"), "\u00b12 SE")]
            panel.axhline(fit.coef[j], color=colours[arm], linewidth=1.0, linestyle=":")
            panel.axhline(0.0, color="0.5", linewidth=0.8)
            key += [(Line2D([], [], color=colours[arm], linewidth=1.0, linestyle=":"),
                     f"Cox estimate ({format_number(fit.coef[j], 2)})"),
                    (Line2D([], [], color="0.5", linewidth=0.8), "No effect (0)")]
            panel.legend(*zip(*key), fontsize=FONT["note"], frameon=False, ncol=3, loc="upper center",
                         bbox_to_anchor=(0.5, -0.16), handlelength=1.8, columnspacing=1.2)
            _time_axis(panel, res, transform)
            scale = {"km": "Kaplan\u2013Meier", "rank": "rank", "identity": "linear", "log": "log"}[transform]
            panel.set_xlabel(f"Time since randomisation ({time_unit}, {scale} scale)", fontsize=FONT["label"])
            panel.set_ylabel("\u03b2(t), log hazard ratio", fontsize=FONT["label"])
            sentence = ph_test_sentence(float(tests.loc[column, "p"]))
            wrapped = textwrap.wrap(sentence, 62, break_on_hyphens=False)
            panel.set_title("\n".join([f"{labels[arm]} vs {labels[ref]}", *wrapped]), fontsize=FONT["label"],
                            loc="left")
    for a in axes:
        a.tick_params(labelsize=FONT["tick"])
        a.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=FONT["title"], x=0.01, ha="left")
    if path is not None:
        write_figure(fig, path)
    return fig
