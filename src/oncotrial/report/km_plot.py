"""Kaplan–Meier figure of a time-to-event end point, with its numbers-at-risk table.

What a journal or a clinical study report expects (KMunicate, Morris et al. 2019; the
FDA R submission pilot; Roche ``g_km``), every element optional:

- one step curve per arm, the reference (control) arm first, with "+" marks at the
  censoring times, so that a reader sees where the curve rests on few patients;
- pointwise confidence bands (``ci=True``) under the convention's transform (R: "log",
  SAS: "log-log"), the band a reader needs to judge late differences;
- a dashed line at S = 0.5 to each arm's median, and the median (95% CI) per arm;
- the hazard ratio (95% CI) and the P value of the comparison, passed in or computed
  (Cox model with optional adjustment and strata; stratified log-rank test);
- below the time axis, the numbers at risk at the protocol's visit intervals and,
  optionally, the cumulative numbers of events and of censored patients (the extended
  table that KMunicate respondents preferred).

The table is drawn in its own axes that shares the x axis of the curves, and each
number is placed at its time in data coordinates, so the columns stay under their tick
marks whatever the figure size (the recurrent misalignment bugs of survminer and
lifelines came from placing the table in figure coordinates).

The numbers come from :mod:`oncotrial.stats` (``kaplan_meier``, ``coxph``,
``logrank_test``), the same functions as the efficacy table, so the figure and the
table of a report cannot disagree. The helpers shared with the other report figures
(palette, input checks, key placement, writing files) are in :mod:`oncotrial.report.figures`.

Input is one row per patient. ADaM users pass ADTTE rows of one PARAMCD merged with
ADSL and convert the censoring flag first, because ``CNSR = 0`` *is* the event::

    pfs = adtte[adtte.PARAMCD == "PFS"].merge(adsl, on="USUBJID")
    pfs = pfs.assign(EVENT=(pfs.CNSR == 0).astype(int))
    km_figure(pfs, time="AVALM", event="EVENT", group="ARM", reference="Control",
              risk_times=range(0, 61, 6), strata=["REGION", "ECOG"])
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.offsetbox import (
    VPacker,
)
from matplotlib.ticker import FuncFormatter, MaxNLocator

from oncotrial.core.errors import InputError
from oncotrial.core.validation import as_groups
from oncotrial.report.figures import (
    FONT,
    PALETTE,
    check_columns,
    check_event_column,
    check_survival_input,
    coefficient_name,
    hazard_ratio_by_cox,
    key_line,
    level_text,
    place_keys,
    resolve_arms,
    save_figure,
    write_figure,
)
from oncotrial.report.format import format_ci, format_estimate, format_number, format_p
from oncotrial.stats import kaplan_meier, logrank_test
from oncotrial.stats.conventions import Convention, resolve_convention
from oncotrial.stats.kaplan_meier import ConfType, KaplanMeier, check_conf_level, check_conf_type

__all__ = ["PALETTE", "RISK_STATISTICS", "TAIL_FRACTION", "coefficient_name", "default_risk_times",
           "format_estimate", "format_number", "format_p", "km_figure", "risk_table", "save_figure", "tail_start"]

#: rows the numbers-at-risk table can show, with their printed headers
RISK_STATISTICS: dict[str, str] = {
    "at_risk": "No. at risk",
    "events": "Cumulative no. of events",
    "censored": "Cumulative no. censored",
}

#: fraction of an arm's patients still at risk below which its curve is drawn dashed: the
#: estimate then rests on a few patients (NEJM figures stop curves at 5-10 % at risk)
TAIL_FRACTION = 0.1


# --------------------------------------------------------------------------------------
# the numbers at risk
# --------------------------------------------------------------------------------------
def _check_times(times: Any) -> np.ndarray:
    try:
        t = np.asarray(list(times), dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"times: expected a list of numbers, got {times!r}", field="times") from None
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all() or (t < 0).any():
        raise InputError(f"times: expected one or more finite times >= 0, got {times!r}", field="times")
    return t


def _risk_counts(km: KaplanMeier, times: np.ndarray) -> dict[str, np.ndarray]:
    """At risk (time >= t), cumulative events and censored (time <= t) at ``times``."""
    tab = km.table
    utime = tab["time"].to_numpy()
    upto = np.searchsorted(utime, times, side="right")
    cum_event = np.concatenate(([0.0], np.cumsum(tab["n_event"].to_numpy())))[upto]
    cum_censor = np.concatenate(([0.0], np.cumsum(tab["n_censor"].to_numpy())))[upto]
    return {"at_risk": km.survival_at(times)["n_risk"].to_numpy(), "events": cum_event,
            "censored": cum_censor}


def risk_table(data: pd.DataFrame, time: str, event: str, group: str, times: Sequence[float], *,
               arm_order: Sequence[Any] | None = None, convention: str | Convention = "r") -> pd.DataFrame:
    """Numbers at risk, cumulative events and cumulative censored per arm at ``times``.

    ``at_risk`` at t is the number of patients with follow-up time >= t (still under
    observation just before t), ``events`` and ``censored`` the numbers with an event or
    a censoring at or before t — exactly R ``summary(survfit(Surv(time, event) ~ group),
    times = times, extend = TRUE)`` with ``n.event`` and ``n.censor`` summed over the
    intervals, and the ``n_risk`` of :meth:`KaplanMeier.survival_at`. A patient whose
    time equals t is both at risk and counted at t, as in R; past the last observation
    ``at_risk`` is 0 (a question lifelines users raised in their tracker, CamDavidsonPilon/lifelines#1383).

    Args:
        data: one row per patient.
        time, event: column names; ``event`` is 1 for an event, 0 for a censoring.
        group: the arm column.
        times: the times of the table columns, e.g. every 6 months.
        arm_order: arms in the order of the rows (default: sorted levels).
        convention: ``"r"`` merges times equal up to round-off as R does.

    Returns:
        One row per arm and time: ``arm, time, at_risk, events, censored`` (integers).
    """
    conv = resolve_convention(convention)
    check_event_column(event)
    check_columns(data, {"time": ([time], "follow-up times"), "event": ([event], "1 = event, 0 = censored"),
                         "group": ([group], "the arm of each patient")})
    t = _check_times(times)
    if arm_order is None:
        order = as_groups(data[group], name=group)[1]
    else:
        order = resolve_arms(data, group, order=arm_order, convention=conv)[0]
    frames = [_arm_risk_frame(data, time, event, group, arm, t, conv) for arm in order]
    return pd.concat(frames, ignore_index=True)


def _arm_risk_frame(data: pd.DataFrame, time: str, event: str, group: str, arm: Any,
                    times: np.ndarray, conv: Convention) -> pd.DataFrame:
    sub = data.loc[data[group] == arm]
    km = kaplan_meier(sub[time], sub[event], convention=conv)
    counts = _risk_counts(km, times)
    return pd.DataFrame({"arm": [arm] * times.size, "time": times,
                         **{k: np.rint(v).astype(np.int64) for k, v in counts.items()}})


# --------------------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------------------
def default_risk_times(tmax: float, time_unit: str) -> np.ndarray:
    """Round tick times from 0 to the first one at or past ``tmax`` (in months: a step of
    1, 2, 3, 6, 12, ... months, the usual assessment intervals)."""
    step: float
    if time_unit.lower().startswith("month"):
        step = next((s for s in (1, 2, 3, 6, 12, 24, 36, 60) if tmax / s <= 10), 120)
    else:
        ticks = MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, tmax)
        step = float(ticks[1] - ticks[0])
    return np.arange(0.0, math.ceil(tmax / step - 1e-9) * step + step / 2, step)


def _text_width(texts: Sequence[str], fontsize: float) -> float:
    """Width in inches of the widest of ``texts`` at ``fontsize``, measured by the renderer."""
    probe = Figure(figsize=(1, 1), dpi=72)
    renderer = FigureCanvasAgg(probe).get_renderer()
    widths = [probe.text(0, 0, text, fontsize=fontsize).get_window_extent(renderer).width / 72
              for text in texts]
    return max(widths, default=0.0)


def tail_start(times: Any, fraction: float) -> float | None:
    """The time from which fewer than ``fraction`` of the patients ``times`` remain at risk.

    The smallest observed time u after which fewer than ``fraction * N`` patients are still
    under observation (time > u): from there the estimate rests on so few patients that a
    step of the curve is one patient, and NEJM-style figures stop or mark the curve. None
    for no patients.
    """
    t = np.sort(np.asarray(times, dtype=float))
    if t.size == 0:
        return None
    unique = np.unique(t)
    after = t.size - np.searchsorted(t, unique, side="right")
    return float(unique[np.argmax(after < fraction * t.size)])


def _floats(estimate: tuple[float, float, float]) -> tuple[float, float, float]:
    """``(hr, lower, upper)`` with every element a Python float."""
    return cast(tuple[float, float, float], tuple(map(float, estimate)))


def _annotation_lines(hrs: Mapping[Any, tuple[float, float, float]], p: float | Mapping[Any, float] | None,
                      p_label: str,
                      labels: Mapping[Any, str], reference: Any, conf_level: float,
                      model_note: str | None, events: Mapping[Any, int] | None = None) -> list[str]:
    """The comparison lines of the key. A hazard ratio that is not a finite positive number,
    or whose arm or reference arm had no events (``events``), is "not estimable" with the
    reason, never a number such as 1.7e-13 (0–inf)."""
    lines = []
    level = f"{conf_level:.0%} CI"
    counts = events or {}
    for arm, (hr, lo, hi) in hrs.items():
        versus = f" ({labels[arm]} vs {labels[reference]})" if len(hrs) > 1 else ""
        empty = [labels[a] for a in (arm, reference) if a in counts and counts[a] == 0]
        if empty or not (math.isfinite(hr) and hr > 0 and math.isfinite(lo) and math.isfinite(hi)):
            reason = f": no events in {' and '.join(empty)}" if empty else ""
            lines.append(f"Hazard ratio{versus} not estimable{reason}")
            continue
        lines.append(f"Hazard ratio{versus}, {format_number(hr, 2)} ({level}, {format_ci(lo, hi, 2)})")
    if model_note:
        lines.append(model_note)
    for arm, value in (p.items() if isinstance(p, Mapping) else [(None, p)] if p is not None else []):
        text = format_p(value)
        versus = "" if arm is None else f" ({labels[arm]} vs {labels[reference]})"
        lines.append(f"{p_label} P{versus}{' ' if versus else ''}{text}" if text.startswith("<")
                     else f"{p_label} P{versus} = {text}")
    return [line.strip() for line in lines]



def _step_points(table: pd.DataFrame, column: str, xmax: float, n: int = 400) -> np.ndarray:
    """Points along a step curve (horizontal and vertical parts) for the key placement."""
    t = np.concatenate(([0.0], table["time"].to_numpy()))
    y = np.concatenate(([1.0], table[column].to_numpy()))
    grid = np.linspace(0.0, min(xmax, t[-1]), n)
    horizontal = np.column_stack([grid, y[np.searchsorted(t, grid, side="right") - 1]])
    drops = np.linspace(y[:-1], y[1:], 6).T.ravel()
    vertical = np.column_stack([np.repeat(t[1:], 6), drops])
    pts = np.vstack([horizontal, vertical])
    return pts[np.isfinite(pts).all(axis=1) & (pts[:, 0] <= xmax)]


def km_figure(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    reference: Any = None,
    arm_order: Sequence[Any] | None = None,
    arm_labels: Mapping[Any, str] | None = None,
    risk_times: Sequence[float] | None = None,
    risk_table: Sequence[Literal["at_risk", "events", "censored"]] | None = ("at_risk", "events", "censored"),
    ci: bool = True,
    conf_type: Literal["log", "log-log", "plain"] | None = None,
    conf_level: float = 0.95,
    censor_marks: bool = True,
    show_median: bool = True,
    median_digits: int | None = None,
    hazard_ratio: tuple[float, float, float] | Mapping[Any, tuple[float, float, float]] | None = None,
    p: float | Mapping[Any, float] | None = None,
    p_label: str | None = None,
    show_hr: bool = True,
    show_p: bool = True,
    adjust: Sequence[str] = (),
    strata: Sequence[str] = (),
    time_unit: str = "months",
    xlabel: str | None = None,
    ylabel: str = "Probability of survival",
    y_scale: Literal["probability", "percent"] = "percent",
    tail_fraction: float | None = TAIL_FRACTION,
    title: str | None = None,
    legend_loc: str = "above",
    figsize: tuple[float, float] | None = None,
    convention: str | Convention = "r",
    path: str | Path | None = None,
) -> Figure:
    """Kaplan–Meier curves per arm with a numbers-at-risk table under the time axis.

    Args:
        data: one row per patient (e.g. ADTTE of one PARAMCD merged with ADSL).
        time: follow-up time column (e.g. ``AVALM``, months).
        event: event indicator column, 1 = event, 0 = censored. For ADaM data convert the
            censoring flag first: ``EVENT = (CNSR == 0)``; a column named CNSR is refused.
        group: arm column (``ARM`` or ``ARMCD``).
        reference: the control arm, drawn first and the denominator of the hazard ratio;
            default: the convention's reference level (R: first sorted, SAS: last).
        arm_order: every arm, in the order of the legend and table rows.
        arm_labels: printed name per arm (default: the level itself).
        risk_times: times of the table columns and of the x ticks (the protocol's
            assessment intervals, e.g. ``range(0, 61, 6)``); the x axis ends at the last
            of them, so curves are cut there if follow-up is longer. Default: round
            steps covering the whole follow-up. Numbers are those of :func:`risk_table`.
        risk_table: table sections, any of ``"at_risk"``, ``"events"`` (cumulative),
            ``"censored"`` (cumulative), in this order of display; None or () for none.
            Default: all three, the KMunicate table (Morris et al., BMJ Open 2019).
        ci: draw pointwise confidence bands (shaded); on by default, as KMunicate asks.
        conf_type: band transform ``"log"``, ``"log-log"``, ``"plain"``; default: the
            convention's (R ``conf.type="log"``, SAS ``CONFTYPE=LOGLOG``).
        conf_level: level of the bands, the medians' and the hazard ratio's intervals.
        censor_marks: "+" at each censoring time.
        show_median: dashed lines at S = 0.5 to each reached median, and the median
            (CI) per arm in the key ("NR": not reached, "NE": limit not estimable).
        median_digits: decimals of the medians (default: 0 for days or weeks, else 1).
        hazard_ratio: ``(hr, lower, upper)`` to print (two arms), or ``{arm: (hr, lower,
            upper)}``; default: computed by :func:`oncotrial.stats.coxph` with ``adjust``
            covariates and ``strata``, each arm against ``reference``.
        p: the P value to print, or ``{arm: P}`` for comparisons of several arms with
            ``reference``; default: the (stratified by ``strata``) log-rank test of all arms.
        p_label: words before "P", e.g. "Stratified log-rank (one-sided)" (default:
            "Log-rank" / "Stratified log-rank" when computed, nothing when ``p`` is given).
        show_hr, show_p: print the hazard ratio and the P value.
        adjust, strata: covariate columns of the Cox model and strata of the Cox model
            and log-rank test (used only when the numbers are computed here).
        time_unit: printed in the x label and the key ("months").
        xlabel: x-axis label (default ``"Time since randomisation (months)"``).
        ylabel: y-axis label, e.g. ``"Progression-free survival"``; with
            ``y_scale="percent"`` " (%)" is appended.
        y_scale: ``"percent"`` (0–100 %, ticks "0%" ... "100%") or ``"probability"`` (0–1).
        tail_fraction: the curve of an arm is drawn dashed and pale, without its band,
            from the time fewer than this fraction of the arm's patients remain at risk
            (:func:`tail_start`), where the estimate rests on a few patients; None to
            draw every curve solid to its end.
        title: figure title.
        legend_loc: where the key (arms, medians, hazard ratio, P) goes: ``"above"``
            (default: above the plot, the same place in every figure), ``"auto"`` (the
            first places where they cover no curve, else above the plot) or a
            matplotlib ``loc`` such as ``"upper right"``.
        figsize: inches; default 7 wide, 4.6 high plus the table rows. The table rows
            keep their height when the figure is resized.
        convention: ``"r"`` or ``"sas"`` (CI transform, median rule, Cox ties, reference).
        path: also write the figure there (.png, .svg or .pdf).

    Returns:
        The matplotlib Figure (not registered with pyplot; ``save_figure`` writes it in
        several formats). ``fig.axes[0]`` holds the curves, ``fig.axes[1]`` the table,
        whose numbers are Text artists with ``gid = "risk:<statistic>:<arm>:<time>"``.
    """
    conv = resolve_convention(convention)
    adjust, strata = check_survival_input(data, time, event, group, adjust, strata)
    ctype = cast(ConfType, check_conf_type(conf_type, conv))
    conf_level = check_conf_level(conf_level)
    sections: list[str] = list(risk_table or ())
    unknown = [s for s in sections if s not in RISK_STATISTICS]
    if unknown:
        raise InputError(f"risk_table: unknown row(s) {unknown}; expected any of {list(RISK_STATISTICS)}",
                         field="risk_table")
    if tail_fraction is not None and not 0 < float(tail_fraction) < 1:
        raise InputError(f"tail_fraction: expected a fraction between 0 and 1 (e.g. 0.1) or None, "
                         f"got {tail_fraction!r}", field="tail_fraction")
    if y_scale not in ("probability", "percent"):
        raise InputError(f"y_scale: expected 'probability' or 'percent', got {y_scale!r}", field="y_scale")
    order, ref = resolve_arms(data, group, reference=reference, order=arm_order, convention=conv)
    labels = {arm: level_text(arm) for arm in order} | {a: str(v) for a, v in (arm_labels or {}).items()}
    colours = {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(order)}

    fits = {}
    for arm in order:
        sub = data.loc[data[group] == arm]
        fits[arm] = kaplan_meier(sub[time], sub[event], conf_type=ctype, conf_level=conf_level, convention=conv)
    tmax = float(data[time].max())
    ticks = default_risk_times(tmax, time_unit) if risk_times is None else np.sort(_check_times(risk_times))
    xmax = float(ticks[-1]) if ticks[-1] > 0 else tmax
    counts = {arm: _risk_counts(km, ticks) for arm, km in fits.items()}

    # ---- layout: curves on top, one table row per (section, arm) plus a header per section
    rows: list[tuple[str, Any]] = []
    for section in sections:
        rows.append((section, None))
        rows.extend((section, arm) for arm in order)
    row_height = FONT["table"] * 1.75 / 72
    table_height = len(rows) * row_height
    label_width = _text_width([RISK_STATISTICS[s] for s in sections] + list(labels.values()), FONT["table"])
    if figsize is None:  # the plot keeps 5 inches beside the widest table label, which is never clipped
        figsize = (max(7.0, label_width + 5.6), 5.1 + table_height + (0.35 if rows else 0.0))
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer for the key placement; savefig picks the writer by suffix
    plot_height = max(figsize[1] - table_height - 1.1, 1.0)
    if rows:
        grid = fig.add_gridspec(2, 1, height_ratios=[plot_height, table_height])
        ax = fig.add_subplot(grid[0])
        ax_table = fig.add_subplot(grid[1], sharex=ax)
    else:
        ax = fig.add_subplot()

    # ---- curves, bands, censor marks
    tails: dict[Any, float | None] = {}
    for arm in order:
        tab = fits[arm].table
        t = np.concatenate(([0.0], tab["time"].to_numpy()))
        s = np.concatenate(([1.0], tab["survival"].to_numpy()))
        arm_times = data.loc[data[group] == arm, time]
        cut = tail_start(arm_times, tail_fraction) if tail_fraction is not None else None
        tails[arm] = cut
        solid = t <= cut if cut is not None else np.ones(t.size, dtype=bool)
        if ci:
            lower = np.concatenate(([1.0], tab["lower"].to_numpy()))
            upper = np.concatenate(([1.0], tab["upper"].to_numpy()))
            band = ax.fill_between(t[solid], lower[solid], upper[solid], step="post", color=colours[arm],
                                   alpha=0.15, linewidth=0)
            band.set_gid(f"km:band:{arm}")
        ts, ss = t[solid], s[solid]
        if cut is not None:  # the solid part runs to the cut, at the level reached there
            ts, ss = np.append(ts, cut), np.append(ss, ss[-1])
        ax.step(ts, ss, where="post", color=colours[arm], linewidth=1.6, label=labels[arm], gid=f"km:curve:{arm}")
        if cut is not None and cut < t[-1]:
            ax.step(np.concatenate(([cut], t[~solid])), np.concatenate(([ss[-1]], s[~solid])), where="post",
                    color=colours[arm], linewidth=1.1, linestyle=(0, (3, 2)), alpha=0.55, gid=f"km:tail:{arm}")
        cens = (tab["n_censor"].to_numpy() > 0) & (tab["time"].to_numpy() <= xmax)
        if censor_marks and cens.any():  # unclipped, so that a mark at the axis end shows whole
            ax.plot(tab["time"].to_numpy()[cens], tab["survival"].to_numpy()[cens], linestyle="none",
                    marker="+", markersize=6, markeredgewidth=1.0, color=colours[arm], clip_on=False)

    # ---- medians
    medians = {arm: fits[arm].median() for arm in order}
    median_lines: list[tuple[float, float, float, float]] = []  # x0, x1, y0, y1
    if show_median:
        reached = [m.estimate for m in medians.values() if math.isfinite(m.estimate)]
        if reached:
            median_lines.append((0.0, max(reached), 0.5, 0.5))
            ax.plot([0, max(reached)], [0.5, 0.5], color="0.45", linestyle="--", linewidth=0.8)
            for arm in order:
                if math.isfinite(medians[arm].estimate):
                    median_lines.append((medians[arm].estimate, medians[arm].estimate, 0.0, 0.5))
                    ax.plot([medians[arm].estimate] * 2, [0, 0.5], color=colours[arm], linestyle="--",
                            linewidth=0.8)

    # ---- the comparison: hazard ratio(s) and P
    hrs: dict[Any, tuple[float, float, float]] = {}
    model_note = None
    if show_hr:
        if hazard_ratio is None:
            hrs = hazard_ratio_by_cox(data, time=time, event=event, group=group, reference=ref,
                                      adjust=adjust, strata=strata, conf_level=conf_level, convention=conv)
            model = []
            if adjust:
                model.append("adjusted for " + ", ".join(adjust))
            if strata:
                model.append("stratified by " + ", ".join(strata))
            if model:
                model_note = "Cox model " + "; ".join(model)
        elif isinstance(hazard_ratio, Mapping):
            hrs = {arm: _floats(v) for arm, v in hazard_ratio.items()}
        else:
            if len(order) != 2:
                raise InputError(f"hazard_ratio: a single (hr, lower, upper) needs two arms; {group!r} has "
                                 f"{len(order)}: pass {{arm: (hr, lower, upper)}}", field="hazard_ratio")
            hrs = {order[1]: _floats(hazard_ratio)}
        hrs = {arm: hrs[arm] for arm in order if arm in hrs}
    p_value: float | dict[Any, float] | None = None
    if show_p:
        if p is None:
            lr = logrank_test(data[time], data[event], data[group],
                              strata=data[strata] if strata else None, convention=conv)
            p_value = lr.p
            p_label = p_label if p_label is not None else ("Stratified log-rank" if strata else "Log-rank")
        elif isinstance(p, Mapping):
            p_value = {arm: float(p[arm]) for arm in order if arm in p}
            p_label = p_label or ""
        else:
            p_value = float(p)
            p_label = p_label or ""
    events = {arm: int(fits[arm].table["n_event"].sum()) for arm in order}
    comparison = _annotation_lines(hrs, p_value, p_label or "", labels, ref, conf_level, model_note, events)

    # ---- axes
    ax.set_xlim(0, xmax)
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(0, 1.02)
    ax.set_yticks(np.linspace(0, 1, 6))
    if y_scale == "percent":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{format_number(100 * v, 0)}%"))
    ax.set_ylabel(ylabel, fontsize=FONT["label"])
    ax.set_xlabel(xlabel or f"Time since randomisation ({time_unit})", fontsize=FONT["label"])
    ax.tick_params(labelsize=FONT["tick"])
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=FONT["title"], x=0.01, ha="left")

    # ---- the table: numbers at data x = time, so they sit under the ticks at any size
    if rows:
        for i, (section, arm) in enumerate(rows):
            if arm is None:
                continue
            for t_i, value in zip(ticks, counts[arm][section]):
                ax_table.text(t_i, i, str(int(round(value))), ha="center", va="center", fontsize=FONT["table"],
                              gid=f"risk:{section}:{arm}:{t_i:g}", clip_on=False)
        ax_table.set_ylim(len(rows) - 0.5, -0.5)
        ax_table.set_yticks(range(len(rows)))
        ax_table.set_yticklabels([RISK_STATISTICS[s] if a is None else labels[a] for s, a in rows])
        for tick, (_, arm) in zip(ax_table.get_yticklabels(), rows):
            if arm is None:
                tick.set_fontweight("bold")
            else:
                tick.set_color(colours[arm])
        ax_table.tick_params(axis="y", length=0, pad=14, labelsize=FONT["table"])
        ax_table.tick_params(axis="x", bottom=False, labelbottom=False)
        for spine in ax_table.spines.values():
            spine.set_visible(False)
        ax_table.patch.set_visible(False)

    # ---- key: arms with their medians and the band; the comparison; placed clear of the curves
    digits = (0 if time_unit.lower().startswith(("day", "week")) else 1) if median_digits is None else median_digits

    # the key sits above the plot, whose width (figure less the table labels) bounds its lines
    key_chars = max(30, int((figsize[0] - label_width - 0.8) * 72 / (0.55 * FONT["note"])))

    def arms_key() -> VPacker:
        lines: list[Any] = []
        if show_median:
            lines.append(key_line(f"Median ({conf_level:.0%} CI), {time_unit}"))
        for arm, m in medians.items():
            text = labels[arm]
            if show_median:
                median = "NR" if not math.isfinite(m.estimate) else format_number(m.estimate, digits)
                text += f": {median} ({format_ci(m.lower, m.upper, digits)})"
            text = "\n".join(textwrap.wrap(text, key_chars)) or text  # a long label wraps, never runs off
            lines.append(key_line(text, colour=colours[arm]))
        if ci:
            lines.append(key_line(f"Pointwise {conf_level:.0%} CI ({ctype})", colour="0.6", band=True))
        if any(cut is not None and cut < float(fits[arm].table["time"].max()) for arm, cut in tails.items()):
            lines.append(key_line(f"Dashed: fewer than {format_number(100 * float(tail_fraction or 0), 0)}% "
                                   f"of the arm at risk", colour="0.6", dashed=True))
        return VPacker(children=lines, align="left", pad=0, sep=2)

    obstacles = [_step_points(fits[arm].table, "survival", xmax) for arm in order]
    if ci:
        obstacles += [_step_points(fits[arm].table, col, xmax) for arm in order for col in ("lower", "upper")]
    obstacles += [np.column_stack([np.linspace(x0, x1, 100), np.linspace(y0, y1, 100)])
                  for x0, x1, y0, y1 in median_lines]
    parts = [arms_key] + ([lambda: key_line("\n".join(comparison))] if comparison else [])
    place_keys(fig, ax, parts, legend_loc, np.concatenate(obstacles))
    if path is not None:
        write_figure(fig, path)
    return fig
