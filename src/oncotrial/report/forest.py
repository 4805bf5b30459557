"""Subgroup analyses of the treatment effect: the table and the forest plot.

:func:`subgroup_hazard_ratios` computes what a subgroup forest plot shows (Roche
FSTG01/FSTG02, tern ``extract_survival_subgroups``), so that users never have to feed a
plotting tool numbers computed elsewhere: per subgroup level the patients and events per
arm, the Kaplan–Meier median per arm and the hazard ratio (CI) of the experimental arm
against control from a Cox model fitted within the level, and per subgroup variable the
likelihood-ratio test of the treatment-by-subgroup interaction — the test that tells a
reader whether the effects of the levels differ more than chance allows (subgroup
hazard ratios alone invite over-interpretation; trials usually report them as point
estimates with confidence intervals, without adjustment for multiplicity).

:func:`forest_figure` draws that table: one row per level with its numbers, squares of
area proportional to the events, CI lines (arrow heads where clipped), a log hazard-ratio
axis with a solid line at 1 and a dashed line at the overall hazard ratio, and the
interaction P per variable.

Input is one row per patient; ADaM users merge ADTTE of one PARAMCD with ADSL and convert
``CNSR`` first (``EVENT = (CNSR == 0)``). A trial's subgroups are the ``reporting.subgroups``
of its protocol (:func:`protocol_subgroups`).
"""

from __future__ import annotations

import dataclasses
import textwrap
import warnings
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy import stats

from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.protocol.base import level_key
from oncotrial.report.figures import (
    FONT,
    PALETTE,
    check_survival_input,
    coefficient_name,
    level_text,
    resolve_arms,
    write_figure,
)
from oncotrial.report.format import format_estimate, format_p
from oncotrial.stats import ConvergenceWarning, coxph, kaplan_meier
from oncotrial.stats.conventions import Convention, resolve_convention

__all__ = ["Subgroup", "SubgroupSpec", "endpoint_subgroups", "forest_figure", "protocol_subgroups",
           "subgroup_hazard_ratios", "subgroup_levels"]

@dataclasses.dataclass(frozen=True)
class Subgroup:
    """A subgroup variable as a protocol's ``reporting.subgroups`` defines it: ``column``
    and one of ``levels`` (value -> label; values not listed are left out of the subgroup),
    ``bins`` (closed intervals ``(low, high, label)``, in display order) or ``cuts``
    (increasing cut points), or none (the observed values); ``where`` (a pandas expression
    over the data's columns) leaves the patients it does not hold for out of the subgroup."""

    column: str
    levels: Mapping[Any, str] | None = None
    bins: tuple[tuple[float, float, str], ...] | None = None
    cuts: tuple[float, ...] | None = None
    where: str | None = None


#: A subgroup variable: a column (its values are the levels), a :class:`Subgroup`, or
#: ``(column, how)`` with ``how`` a mapping value -> level label (values not listed are
#: left out of that subgroup; values match canonically, ``0`` = ``0.0`` = ``"0"``),
#: increasing cut points (``[65]`` gives "< 65" and "≥ 65"), or a function of the column
#: returning the level labels (NaN to leave a patient out).
SubgroupSpec = str | Subgroup | tuple[str, Mapping[Any, str] | Sequence[float] | Callable[[pd.Series], pd.Series]]


def protocol_subgroups(protocol: Protocol) -> dict[str, SubgroupSpec]:
    """The forest-plot subgroups of ``protocol`` by printed name: its ``reporting.subgroups``,
    else its stratification factors (levels as declared)."""
    definitions = protocol.reporting.subgroups
    if definitions is None:
        return {f.label or f.name: Subgroup(f.name, levels={lv: str(lv) for lv in f.levels})
                for f in protocol.stratification}
    return {d.label or name: Subgroup(d.column, levels=d.levels, bins=None if d.bins is None else tuple(
        (low, high, label) for low, high, label in d.bins), cuts=None if d.cuts is None else tuple(d.cuts),
        where=d.where) for name, d in definitions.items()}


def endpoint_subgroups(protocol: Protocol, names: Sequence[str]) -> tuple[dict[str, SubgroupSpec], list[str]]:
    """The forest-plot subgroups an end point's analysis names (``analysis.subgroups``: keys
    of ``reporting.subgroups``, or stratification factors when the protocol defines none,
    or their printed labels), in that order; all of :func:`protocol_subgroups` when it names
    none. Also the names that are no subgroup of the protocol."""
    subgroups = protocol_subgroups(protocol)
    if not names:
        return subgroups, []
    definitions = protocol.reporting.subgroups
    printed = ({key: d.label or key for key, d in definitions.items()} if definitions is not None else
               {f.name: f.label or f.name for f in protocol.stratification})
    chosen: dict[str, SubgroupSpec] = {}
    unknown: list[str] = []
    for name in names:
        label = printed.get(name, name)
        if label in subgroups:
            chosen[label] = subgroups[label]
        else:
            unknown.append(name)
    return chosen, unknown


def spec_column(spec: SubgroupSpec) -> str:
    """The column a subgroup specification reads."""
    if isinstance(spec, Subgroup):
        return spec.column
    return spec if isinstance(spec, str) else spec[0]

GE = "\u2265"
#: decimals of a printed hazard ratio and its limits
HR_DIGITS = 2
TABLE_COLUMNS = ["subgroup", "level", "n_control", "events_control", "median_control", "n_experimental",
                 "events_experimental", "median_experimental", "hr", "lower", "upper", "p_interaction",
                 "note", "interaction_note"]


# --------------------------------------------------------------------------------------
# subgroup levels
# --------------------------------------------------------------------------------------
def _cut_labels(cuts: np.ndarray) -> list[str]:
    c = [f"{v:g}" for v in cuts]
    return [f"< {c[0]}"] + [f"{a} to < {b}" for a, b in pairwise(c)] + [f"{GE} {c[-1]}"]


def subgroup_levels(data: pd.DataFrame, name: str, spec: SubgroupSpec) -> tuple[str, pd.Series, list[str]]:
    """The column of a subgroup variable, each patient's level label (NaN: left out) and
    the levels in display order.

    Levels come in the order of the mapping, of the cut points, or sorted (category
    order for a pandas Categorical); a mapping's levels are kept even when no patient
    has them, so that a prespecified level without patients is reported, not dropped.
    """
    if isinstance(spec, Subgroup):
        return _subgroup(data, name, spec)
    if isinstance(spec, str):
        column, how = spec, None
    elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        column, how = spec
    else:
        raise InputError(f"subgroups[{name!r}]: expected a column name or (column, mapping | cut points | "
                         f"function), got {spec!r}", field="subgroups")
    if column not in data.columns:
        raise InputError(f"subgroups[{name!r}]: column {column!r} not in data; expected a subgroup column "
                         f"(columns: {list(data.columns)})", field="subgroups")
    values = data[column]
    if how is None:
        present = values.dropna()
        if isinstance(values.dtype, pd.CategoricalDtype):
            order = [c for c in values.cat.categories if (present == c).any()]
        else:
            order = sorted(present.unique().tolist())
        levels = values.map(lambda v: np.nan if pd.isna(v) else level_text(v))
        return column, levels, [level_text(v) for v in order]
    if isinstance(how, Mapping):
        labels = list(dict.fromkeys(str(v) for v in how.values()))
        canonical = {level_key(value): str(label) for value, label in how.items()}
        return column, values.map(lambda v: canonical.get(level_key(v), np.nan)), labels
    if callable(how):
        levels = pd.Series(how(values), index=data.index, dtype=object)
        levels = levels.map(lambda v: np.nan if pd.isna(v) else str(v))
        return column, levels, sorted(levels.dropna().unique().tolist())
    try:
        cuts = np.asarray(list(how), dtype=float)
    except (TypeError, ValueError):
        cuts = np.array([np.nan])
    if cuts.size == 0 or not np.isfinite(cuts).all() or (np.diff(cuts) <= 0).any():
        raise InputError(f"subgroups[{name!r}]: expected a mapping, a function or increasing cut points "
                         f"for column {column!r}, got {how!r}", field="subgroups")
    if not pd.api.types.is_numeric_dtype(values):
        raise InputError(f"subgroups[{name!r}]: cut points need a numeric column; {column!r} has dtype "
                         f"{values.dtype}", field="subgroups")
    labels = _cut_labels(cuts)
    codes = np.searchsorted(cuts, values.to_numpy(dtype=float), side="right")
    levels = pd.Series([labels[c] for c in codes], index=data.index, dtype=object).where(values.notna())
    return column, levels, labels


def _subgroup(data: pd.DataFrame, name: str, spec: Subgroup) -> tuple[str, pd.Series, list[str]]:
    """The levels of a :class:`Subgroup`: those of its levels, bins or cut points, then
    NaN for the patients its ``where`` leaves out."""
    column = spec.column
    if spec.bins is not None:
        if column not in data.columns:
            return subgroup_levels(data, name, column)  # the missing-column error
        numbers = pd.to_numeric(data[column], errors="coerce")
        levels = pd.Series(np.nan, index=data.index, dtype=object)
        for low, high, label in spec.bins:
            levels[(numbers >= low) & (numbers <= high)] = label
        order = list(dict.fromkeys(label for _, _, label in spec.bins))
    else:
        how = spec.levels if spec.levels is not None else (list(spec.cuts) if spec.cuts is not None else None)
        column, levels, order = subgroup_levels(data, name, column if how is None else (column, how))
    if spec.where is not None:
        try:
            applies = data.eval(spec.where)
        except (NameError, SyntaxError, KeyError, TypeError, ValueError) as exc:  # pandas' errors of a bad expression
            raise InputError(f"subgroups[{name!r}]: cannot evaluate where {spec.where!r}: {exc}",
                             field="subgroups") from None
        levels = levels.where(pd.Series(applies, index=data.index).fillna(False).astype(bool))
    return column, levels, order


# --------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------
def _categorical(data: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """Non-numeric columns enter Cox models as categorical terms (convention's reference)."""
    return {c: None for c in columns if not pd.api.types.is_numeric_dtype(data[c])}


def _varying(data: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``columns`` into those that vary in ``data`` and those that are constant."""
    keep = [c for c in columns if data[c].nunique(dropna=False) > 1]
    return keep, [c for c in columns if c not in keep]


def _fit_quietly(notes: list[str], **kwargs: Any) -> Any:
    """coxph, turning a ConvergenceWarning (monotone likelihood) into a note."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit = coxph(**kwargs)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append("Cox model did not converge (a coefficient may be infinite)")
    return fit


def _level_row(sub: pd.DataFrame, *, time: str, event: str, group: str, control: Any, experimental: Any,
               adjust: Sequence[str], strata: Sequence[str], conf_level: float, conv: Convention) -> dict[str, Any]:
    """Counts, medians and the hazard ratio of one subgroup level (or of all patients)."""
    row: dict[str, Any] = {}
    notes: list[str] = []
    for role, arm in (("control", control), ("experimental", experimental)):
        arm_rows = sub.loc[sub[group] == arm]
        row[f"n_{role}"] = len(arm_rows)
        row[f"events_{role}"] = int(arm_rows[event].sum())
        row[f"median_{role}"] = (kaplan_meier(arm_rows[time], arm_rows[event], conf_level=conf_level,
                                              convention=conv).median().estimate if len(arm_rows) else np.nan)
    row.update(hr=np.nan, lower=np.nan, upper=np.nan)
    empty = [level_text(a) for r, a in (("control", control), ("experimental", experimental)) if row[f"n_{r}"] == 0]
    no_events = [level_text(a) for r, a in (("control", control), ("experimental", experimental))
                 if row[f"n_{r}"] > 0 and row[f"events_{r}"] == 0]
    if empty:
        notes.append(f"no patients in {' and '.join(empty)}: HR not estimable")
    elif no_events:
        notes.append(f"no events in {' and '.join(no_events)}: HR not estimable")
    else:
        covariates, dropped = _varying(sub, adjust)
        if dropped:
            notes.append(f"adjustment for {', '.join(dropped)} dropped (constant in this subgroup)")
        try:
            fit = _fit_quietly(notes, data=sub, time=time, event=event, covariates=[group, *covariates],
                               strata=list(strata) or None,
                               categorical={group: control, **_categorical(sub, covariates)},
                               conf_level=conf_level, convention=conv)
        except ValueError as exc:  # e.g. an adjustment covariate without variation among the events
            notes.append(f"Cox model not estimable: {exc}")
        else:
            coef = fit.coef_table.loc[coefficient_name(group, experimental)]
            row.update(hr=float(coef["hr"]), lower=float(coef["lower"]), upper=float(coef["upper"]))
    row["note"] = "; ".join(notes)
    return row


def _interaction_test(data: pd.DataFrame, levels: pd.Series, order: list[str], column: str, *, time: str,
                      event: str, group: str, experimental: Any, adjust: Sequence[str], strata: Sequence[str],
                      conv: Convention) -> tuple[float, str]:
    """Likelihood-ratio test of arm x subgroup: R ``anova(coxph(~ arm + sub), coxph(~ arm * sub))``.

    The subgroup enters as 0/1 indicators of its levels (first level present as
    reference) and the interaction as their products with the experimental-arm
    indicator; adjustment covariates and strata are those of the subgroup fits. A
    subgroup defined on a stratification column has no main effect of its own (the
    strata absorb it), as in R.
    """
    rows = levels.notna().to_numpy()
    present = [lv for lv in order if (levels == lv).any()]
    if len(present) < 2:
        return np.nan, "interaction not testable: fewer than two levels with patients"
    sub = data.loc[rows]
    lv = levels[rows]
    frame = pd.DataFrame({"_time": sub[time].to_numpy(), "_event": sub[event].to_numpy()})
    arm = (sub[group] == experimental).to_numpy(dtype=float)
    frame["_arm"] = arm
    main, inter = [], []
    for i, level in enumerate(present[1:], start=1):
        indicator = (lv == level).to_numpy(dtype=float)
        frame[f"_sub{i}"], frame[f"_int{i}"] = indicator, arm * indicator
        main.append(f"_sub{i}")
        inter.append(f"_int{i}")
    covariates, _ = _varying(sub, [c for c in adjust if c != column])
    for c in [*covariates, *strata]:
        frame[c] = sub[c].to_numpy()
    base = ["_arm"] + ([] if column in strata else main) + covariates
    notes: list[str] = []
    common = {"data": frame, "time": "_time", "event": "_event", "strata": list(strata) or None,
              "categorical": _categorical(frame, covariates), "convention": conv}
    try:
        without = _fit_quietly(notes, covariates=base, **common)
        with_interaction = _fit_quietly(notes, covariates=base + inter, **common)
    except ValueError as exc:
        return np.nan, f"interaction not testable: {exc}"
    chisq = max(2.0 * (with_interaction.loglik[1] - without.loglik[1]), 0.0)
    note = "; ".join(dict.fromkeys(notes))
    return float(stats.chi2.sf(chisq, len(inter))), note


def subgroup_hazard_ratios(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    subgroups: Mapping[str, SubgroupSpec],
    adjust: Sequence[str] = (),
    strata: Sequence[str] = (),
    reference: Any = None,
    conf_level: float = 0.95,
    convention: str | Convention = "r",
    overall_label: str = "All patients",
) -> pd.DataFrame:
    """Hazard ratios of the experimental arm against control, overall and per subgroup level.

    Per level: patients and events per arm, Kaplan–Meier median per arm, and the hazard
    ratio with its Wald CI from :func:`oncotrial.stats.coxph` fitted to the patients of
    that level (Efron ties under the R convention) with the ``adjust`` covariates and
    ``strata``. An adjustment covariate constant within the level (e.g. a stratification
    factor within its own subgroup) is dropped from that fit, with a note. A level where an arm has no
    patients or no events keeps its row with HR NaN and a note (its HR is 0 or infinite).

    Per subgroup variable: ``p_interaction``, the likelihood-ratio test of the
    treatment-by-subgroup interaction on the patients with a level, i.e. R
    ``anova(coxph(Surv ~ arm + sub + adjust), coxph(Surv ~ arm * sub + adjust))`` (with
    ``strata(...)`` in both), on (levels − 1) degrees of freedom.

    Args:
        data: one row per patient.
        time, event: follow-up time and event columns (event 1 = event, 0 = censored).
        group: the arm column, exactly two arms.
        subgroups: ``{printed name: SubgroupSpec}``, e.g. :func:`protocol_subgroups` or
            ``{"Sex": ("sex", {0: "Female", 1: "Male"}), "Age": ("age", [65])}``.
        adjust: covariate columns of every Cox model (non-numeric ones categorical).
        strata: stratification columns of every Cox model.
        reference: the control arm (default: the convention's reference level).
        conf_level: level of the hazard-ratio intervals.
        convention: ``"r"`` or ``"sas"`` (ties, reference level, tie merging).
        overall_label: the ``level`` of the all-patients row.

    Returns:
        One row for all patients (``subgroup`` NaN) then one per subgroup level, with
        ``subgroup, level, n_control, events_control, median_control, n_experimental,
        events_experimental, median_experimental, hr, lower, upper, p_interaction, note,
        interaction_note``; ``attrs`` holds ``control``, ``experimental``, ``conf_level``,
        ``model`` (a sentence describing the models, for a footnote) and ``interaction``
        (one describing the interaction test).
    """
    conv = resolve_convention(convention)
    adjust, strata = check_survival_input(data, time, event, group, adjust, strata)
    if not isinstance(subgroups, Mapping):
        raise TypeError(f"subgroups: expected a mapping {{name: column or (column, levels)}}, got {subgroups!r}")
    order, control = resolve_arms(data, group, reference=reference, convention=conv)
    if len(order) != 2:
        raise InputError(f"group: column {group!r} has {len(order)} arms {order}; expected exactly two "
                         "(select the two arms to compare)", field="group")
    experimental = order[1]
    specs = {name: subgroup_levels(data, name, spec) for name, spec in subgroups.items()}
    common = {"time": time, "event": event, "group": group, "control": control, "experimental": experimental,
              "adjust": adjust, "strata": strata, "conf_level": conf_level, "conv": conv}

    rows = [{"subgroup": np.nan, "level": overall_label, **_level_row(data, **common),
             "p_interaction": np.nan, "interaction_note": ""}]
    for name, (column, levels, level_order) in specs.items():
        p, note = _interaction_test(data, levels, level_order, column, time=time, event=event, group=group,
                                    experimental=experimental, adjust=adjust, strata=strata, conv=conv)
        left_out = int(levels.isna().sum())
        if left_out:
            left_note = (f"{left_out} patient{'s' if left_out > 1 else ''} not in any level of {name} "
                         "(not recorded or not applicable), not analysed")
            note = "; ".join(filter(None, [left_note, note]))
        for level in level_order:
            rows.append({"subgroup": name, "level": level, **_level_row(data.loc[levels == level], **common),
                         "p_interaction": p, "interaction_note": note})
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    model = f"Cox models ({'Efron' if conv.ties == 'efron' else 'Breslow'} ties)"
    if adjust:
        model += ", adjusted for " + ", ".join(adjust)
    if strata:
        model += ", stratified by " + ", ".join(strata)
    table.attrs.update(control=control, experimental=experimental, conf_level=conf_level,
                       model=f"Hazard ratios ({conf_level:.0%} CI) from {model}, fitted within each subgroup.",
                       interaction="P for interaction: likelihood-ratio test of the treatment-by-subgroup "
                                   "interaction.")
    return table


# --------------------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------------------
_TICKS_COARSE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
_TICKS_FINE = (0.1, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 8.0)


def _default_xlim(table: pd.DataFrame) -> tuple[float, float]:
    """Log-axis range covering the estimates and most interval limits, within [0.1, 10]."""
    finite = table[np.isfinite(table["hr"])]
    if finite.empty:
        return 0.1, 10.0
    low = min(float(finite["lower"].min()), float(finite["hr"].min()), 0.99)
    high = max(float(finite["upper"].max()), float(finite["hr"].max()), 1.01)
    low = max([t for t in _TICKS_COARSE if t <= low] or [0.01])
    high = min([t for t in _TICKS_COARSE if t >= high] or [100.0])
    return max(low, 0.1), min(high, 10.0)


def _text_width(renderer: Any, text: str, size: float, weight: str = "normal") -> float:
    """Width in inches of the widest line of ``text`` at ``size`` points."""
    prop = FontProperties(size=size, weight=weight)
    return max(renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
               for line in text.split("\n")) / renderer.dpi


def _footnotes(table: pd.DataFrame, interaction: bool) -> list[str]:
    """The notes of the table, one line per subgroup variable and note, naming the levels
    (those of the interaction test only when it is shown)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in table.to_dict("records"):
        name = row["subgroup"] if isinstance(row["subgroup"], str) else ""
        for note in filter(None, str(row.get("note") or "").split("; ")):
            grouped.setdefault((name, note), []).append(str(row["level"]))
        if interaction and row.get("interaction_note"):
            grouped.setdefault((name, str(row["interaction_note"])), [])
    lines = []
    for (name, note), levels in grouped.items():
        where = f"{name} ({', '.join(levels)})" if name and levels else (name or ", ".join(levels))
        lines.append(f"{where}: {note}.")
    return lines


def forest_figure(
    table: pd.DataFrame,
    *,
    overall_hr: float | None = None,
    control_label: str | None = None,
    experimental_label: str | None = None,
    xlim: tuple[float, float] | None = None,
    show_interaction: bool = True,
    title: str | None = None,
    footnote: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Forest plot of :func:`subgroup_hazard_ratios`: one row per subgroup level.

    Columns, left to right: the subgroup and level; events/N per arm (control first);
    the hazard ratio (CI) as text ("NE" where not estimable, with the reason in the
    footnote); the plot — squares at the hazard ratios with area proportional to the
    level's events (the weight a level carries in the overall estimate), CI lines
    ending in arrow heads where they run off the axis, the overall estimate as a
    diamond spanning its CI, a solid line at HR = 1 (no effect) and a dashed line at
    the overall hazard ratio (is a subgroup's effect different from the overall one?),
    a log x axis and "Favours <arm>" on each side of 1; and the P for interaction on
    each subgroup's heading row.

    Args:
        table: the output of :func:`subgroup_hazard_ratios` (its ``attrs`` give the arm
            names, CI level and model footnote).
        overall_hr: where to draw the dashed line, e.g. the stratified HR of the primary
            analysis; default: the all-patients row of ``table``.
        control_label, experimental_label: arm names as printed (default: ``attrs``).
        xlim: hazard-ratio axis range (default: the estimates' range within [0.1, 10]).
        show_interaction: print the P for interaction column (and its footnotes); off for
            an end point reported with estimates and confidence intervals only.
        title: figure title.
        footnote: replaces the model description printed under the plot.
        path: also write the figure there (.png, .svg or .pdf).

    Returns:
        The Figure; ``axes[0]`` holds the plot, the text columns are its Text artists
        (``gid`` = ``"forest:<column>:<row>"``).
    """
    missing = [c for c in ("subgroup", "level", "n_control", "events_control", "n_experimental",
                           "events_experimental", "hr", "lower", "upper") if c not in getattr(table, "columns", [])]
    if missing:
        raise InputError(f"table: columns {missing} missing; expected the output of subgroup_hazard_ratios",
                         field="table")
    control = control_label or level_text(table.attrs.get("control", "Control"))
    experimental = experimental_label or level_text(table.attrs.get("experimental", "Experimental"))
    level_pct = f"{table.attrs.get('conf_level', 0.95):.0%}"
    overall = table[table["subgroup"].isna()]
    if overall_hr is None and not overall.empty:
        overall_hr = float(overall["hr"].iloc[0])
    xlo, xhi = xlim if xlim is not None else _default_xlim(table)
    if not 0 < xlo < 1 < xhi:
        raise InputError(f"xlim: expected 0 < lower < 1 < upper on the hazard-ratio scale, got {(xlo, xhi)}",
                         field="xlim")

    # rows: the overall row, then per subgroup a heading and its levels
    lines: list[dict[str, Any]] = [{"kind": "overall", **r} for r in overall.to_dict("records")]
    for name, block in table[table["subgroup"].notna()].groupby("subgroup", sort=False):
        lines.append({"kind": "heading", "level": name, "p_interaction": block["p_interaction"].iloc[0]})
        lines += [{"kind": "level", **r} for r in block.to_dict("records")]
    notes = _footnotes(table, show_interaction)

    cells: list[dict[str, str]] = []
    for line in lines:
        if line["kind"] == "heading":
            p = line["p_interaction"]
            cells.append({"label": str(line["level"]),
                          "p": "" if p is None or not np.isfinite(p) else format_p(p)})
            continue
        cells.append({
            "label": str(line["level"]),
            "control": f"{line['events_control']}/{line['n_control']}",
            "experimental": f"{line['events_experimental']}/{line['n_experimental']}",
            "hr": (format_estimate(line["hr"], line["lower"], line["upper"], HR_DIGITS)
                   if np.isfinite(line["hr"]) else "NE"),  # not estimable: no interval to print
        })
    def arm_header(name: str) -> str:
        return "\n".join(textwrap.wrap(name, 16) + ["events/N"])

    headers = {"label": "Subgroup", "control": arm_header(control), "experimental": arm_header(experimental),
               "hr": f"Hazard ratio\n({level_pct} CI)", "p": "P for\ninteraction"}

    # widths (inches) from the rendered text, so that no column overlaps another
    fig = Figure()
    renderer = FigureCanvasAgg(fig).get_renderer()
    size, indent, gap = FONT["table"], 0.15, 0.18
    widths = {}
    for key in ("label", "control", "experimental", "hr", "p"):
        texts = [headers[key]] + [c.get(key, "") for c in cells]
        bold = [True] + [line["kind"] != "level" for line in lines]
        widths[key] = max(_text_width(renderer, t, size, "bold" if b else "normal") for t, b in zip(texts, bold))
    widths["label"] += indent
    if not show_interaction:
        widths["p"] = 0.0
    plot_width = 2.6
    left = 0.15 + widths["label"] + gap + widths["control"] + gap + widths["experimental"] + gap + widths["hr"] + gap
    right = (gap + widths["p"] if show_interaction else 0.0) + 0.2
    row_h = size * 1.9 / 72
    n = len(lines)
    top = 0.55 + (0.3 if title else 0.0)
    width = left + plot_width + right
    default = " ".join(str(table.attrs[key]) for key in ("model", "interaction")[:2 if show_interaction else 1]
                       if table.attrs.get(key))
    foot = [f for f in [footnote if footnote is not None else default] if f]
    if any(not np.isfinite(line["hr"]) for line in lines if line["kind"] != "heading"):
        foot.append("NE: not estimable.")
    foot += notes
    chars = int((width - 0.3) * 72 / (0.52 * FONT["note"]))  # average glyph ~0.52 em wide
    foot = [wrapped for f in foot for wrapped in textwrap.wrap(f, chars)]
    bottom = 0.75 + (len(foot) * FONT["note"] * 1.4 + 6) / 72
    height = top + (n + 0.6) * row_h + bottom
    fig.set_size_inches(width, height)
    ax = fig.add_axes((left / width, bottom / height, plot_width / width, (n + 0.6) * row_h / height))
    ax.set_ylim(n - 0.5 + 0.6, -0.5)
    ax.set_xscale("log")
    ax.set_xlim(xlo, xhi)
    ax.yaxis.set_major_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)

    # text columns: x in inches from the figure's left edge, y in the plot's row units
    at = transforms.blended_transform_factory(fig.dpi_scale_trans, ax.transData)
    x_label = 0.15
    x_control = left - gap - widths["hr"] - gap - widths["experimental"] - gap - widths["control"] / 2
    x_experimental = left - gap - widths["hr"] - gap - widths["experimental"] / 2
    x_hr = left - gap - widths["hr"] / 2
    x_p = left + plot_width + gap + widths["p"] / 2
    header_y = -0.5 - 0.15
    head: dict[str, Any] = {"transform": at, "fontsize": size, "fontweight": "bold", "va": "bottom"}
    fig.text(x_label, header_y, headers["label"], ha="left", **head)
    fig.text(x_control, header_y, headers["control"], ha="center", **head)
    fig.text(x_experimental, header_y, headers["experimental"], ha="center", **head)
    fig.text(x_hr, header_y, headers["hr"], ha="center", **head)
    if show_interaction:
        fig.text(x_p, header_y, headers["p"], ha="center", **head)
    for i, (line, cell) in enumerate(zip(lines, cells)):
        weight = "normal" if line["kind"] == "level" else "bold"
        style: dict[str, Any] = {"transform": at, "fontsize": size, "va": "center"}
        fig.text(x_label + (indent if line["kind"] == "level" else 0.0), i, cell["label"], ha="left",
                 fontweight=weight, gid=f"forest:label:{i}", **style)
        if line["kind"] == "heading":
            if show_interaction:
                fig.text(x_p, i, cell["p"], ha="center", gid=f"forest:p_interaction:{i}", **style)
            continue
        fig.text(x_control, i, cell["control"], ha="center", gid=f"forest:control:{i}", **style)
        fig.text(x_experimental, i, cell["experimental"], ha="center", gid=f"forest:experimental:{i}", **style)
        fig.text(x_hr, i, cell["hr"], ha="center", gid=f"forest:hr:{i}", **style)

    # the estimates
    events = np.array([line["events_control"] + line["events_experimental"] for line in lines
                       if line["kind"] == "level"] or [1])
    biggest = max(float(events.max()), 1.0)
    colour = "#1a1a1a"
    for i, line in enumerate(lines):
        if line["kind"] == "heading" or not np.isfinite(line["hr"]):
            continue
        hr, lo, hi = line["hr"], line["lower"], line["upper"]
        lo_c, hi_c = max(lo, xlo), min(hi, xhi)
        if line["kind"] == "overall":
            ax.add_patch(Polygon([(lo_c, i), (hr, i - 0.3), (hi_c, i), (hr, i + 0.3)], closed=True,
                                 facecolor=PALETTE[0], edgecolor=PALETTE[0]))
        else:
            ax.plot([lo_c, hi_c], [i, i], color=colour, linewidth=1.0, solid_capstyle="butt")
            area = 12 + 110 * (line["events_control"] + line["events_experimental"]) / biggest
            if xlo <= hr <= xhi:
                ax.scatter([hr], [i], marker="s", s=area, color=colour, zorder=3, linewidths=0)
        if lo < xlo:
            ax.plot([xlo], [i], marker="<", markersize=5, color=colour, clip_on=False)
        if hi > xhi:
            ax.plot([xhi], [i], marker=">", markersize=5, color=colour, clip_on=False)
    span = [-0.5, n - 0.5 + 0.6]
    ax.plot([1, 1], span, color="0.2", linewidth=0.9, zorder=1)
    if overall_hr is not None and np.isfinite(overall_hr) and xlo < overall_hr < xhi:
        ax.plot([overall_hr] * 2, span, color=PALETTE[0], linewidth=0.9, linestyle="--", zorder=1)

    ticks = [t for t in _TICKS_COARSE if xlo <= t <= xhi]
    if len(ticks) < 4:
        ticks = [t for t in _TICKS_FINE if xlo <= t <= xhi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.tick_params(axis="x", labelsize=FONT["tick"])
    for x, ha, text in ((1.0, "right", f"\u2190 Favours {experimental}"), (1.0, "left", f"Favours {control} \u2192")):
        ax.annotate(text, xy=(x, 0), xycoords=("data", "axes fraction"), xytext=(-4 if ha == "right" else 4, -22),
                    textcoords="offset points", ha=ha, va="top", fontsize=FONT["note"])
    ax.set_xlabel("Hazard ratio (log scale)", fontsize=FONT["label"], labelpad=20)

    if foot:
        fig.text(0.15, 0.12, "\n".join(foot), transform=fig.dpi_scale_trans, ha="left", va="bottom",
                 fontsize=FONT["note"], linespacing=1.4)
    if title:
        fig.text(0.15, height - 0.15, title, transform=fig.dpi_scale_trans, ha="left", va="top",
                 fontsize=FONT["title"])
    if path is not None:
        write_figure(fig, path)
    return fig
