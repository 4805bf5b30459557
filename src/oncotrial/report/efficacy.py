"""The efficacy table of a time-to-event end point, as a trial report shows it.

Per arm: patients, events, Kaplan–Meier median with its CI, and survival rates at
landmark times with CIs; then the hazard ratio of each arm against the reference arm from
a Cox model (optionally adjusted for covariates and stratified), the (stratified)
log-rank test, and the median follow-up by reversed Kaplan–Meier. Every number comes
from :mod:`oncotrial.stats`, so the table follows the chosen convention (R or SAS)
throughout.

A hazard ratio is reported only when the data can estimate it. With no events in an arm
(or in the reference arm) the partial likelihood is monotone: a Cox fit "converges" to a
coefficient of about -30, i.e. a hazard ratio of 1e-13 with the interval 0 to infinity,
which is an artefact, not a result. Such a hazard ratio (and one from a fit that did not
converge, or that the fit marks as not estimable) is ``NaN``, printed "NE", with the reason
in :attr:`EfficacySummary.notes` and in the ``estimable`` column.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.errors import ConvergenceWarning, InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_groups, survival_arrays
from oncotrial.stats import coxph, kaplan_meier, logrank_test, median_followup
from oncotrial.stats.conventions import resolve_convention

__all__ = ["EfficacySummary", "efficacy_summary", "not_estimable_reason"]


@dataclasses.dataclass(frozen=True, repr=False)
class EfficacySummary(Result):
    """Efficacy results of one end point.

    ``arms``: one row per arm, reference arm first (``arm, n, events, median, median_lower,
    median_upper``);
    ``rates``: one row per arm and landmark (``arm, time, rate, lower, upper``);
    ``hazard_ratios``: one row per non-reference arm (``arm, reference, hr, lower, upper, p,
    estimable``; ``NaN`` numbers where not estimable);
    ``notes``: why a number is not estimable, e.g. ``"not estimable: no events in Arm B"``;
    ``to_frame()`` gives every number as a long analysis-results record.
    """

    endpoint: str
    arms: pd.DataFrame
    rates: pd.DataFrame
    hazard_ratios: pd.DataFrame
    logrank_chisq: float
    logrank_df: int
    logrank_p: float
    followup_median: float
    followup_q1: float
    followup_q3: float
    model: str
    convention: str
    conf_level: float
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``endpoint, arm, statistic, value, lower, upper, time``."""
        rows: list[dict[str, Any]] = []

        def add(arm: Any, statistic: str, value: float, lower: float = np.nan,
                upper: float = np.nan, time: float = np.nan) -> None:
            rows.append({"endpoint": self.endpoint, "arm": arm, "statistic": statistic,
                         "value": value, "lower": lower, "upper": upper, "time": time})

        for r in self.arms.itertuples(index=False):
            add(r.arm, "n", r.n)
            add(r.arm, "events", r.events)
            add(r.arm, "median", r.median, r.median_lower, r.median_upper)
        for r in self.rates.itertuples(index=False):
            add(r.arm, "rate", r.rate, r.lower, r.upper, r.time)
        for r in self.hazard_ratios.itertuples(index=False):
            add(r.arm, "hazard_ratio", r.hr, r.lower, r.upper)
            add(r.arm, "hazard_ratio_p", r.p)
        add(None, "logrank_p", self.logrank_p)
        add(None, "median_followup", self.followup_median, self.followup_q1, self.followup_q3)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"EfficacySummary(endpoint={self.endpoint!r}, arms={list(self.arms['arm'])}, "
                f"hr={[round(float(h), 4) for h in self.hazard_ratios['hr']]}, "
                f"{f'notes={list(self.notes)}, ' if self.notes else ''}"
                f"logrank_p={self.logrank_p:.4g}, convention={self.convention!r})")


def _reference_level(levels: list[Any], reference: Any, convention_reference: str, column: str) -> Any:
    if reference is None:
        return levels[0] if convention_reference == "first" else levels[-1]
    if reference not in levels:
        raise InputError(f"reference: level {reference!r} not found in {column!r}; levels are {levels}",
                         field="reference")
    return reference


def not_estimable_reason(fit: Any, term: str, events: dict[Any, int], arm: Any, reference: Any,
                         labels: dict[Any, str] | None = None) -> str | None:
    """Why the hazard ratio of ``arm`` against ``reference`` (coefficient ``term`` of the
    Cox ``fit``) cannot be estimated, or ``None`` when it can.

    ``events`` counts the events per arm. Checked in this order: an arm without events
    (the monotone likelihood the module docstring describes), a fit that did not converge,
    and the fit's own verdict (an ``estimable`` column in its coefficient table, its
    ``problems``), so the report needs no knowledge of the fitting algorithm.
    """
    names = labels or {}
    empty = [a for a in (arm, reference) if events.get(a, 0) == 0]
    if empty:
        return "not estimable: no events in " + " and ".join(str(names.get(a, a)) for a in empty)
    if not getattr(fit, "converged", True):
        return "not estimable: the Cox model did not converge"
    table = fit.coef_table
    if "estimable" in table.columns and not bool(table.at[term, "estimable"]):
        problems = [str(p) for p in getattr(fit, "problems", ())]
        return "not estimable: " + ("; ".join(problems) if problems else f"coefficient {term} not identifiable")
    return None


def efficacy_summary(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    group: str,
    strata: Sequence[str] = (),
    adjust: Sequence[str] = (),
    landmarks: Sequence[float] = (),
    reference: Any = None,
    conf_level: float = 0.95,
    convention: str = "r",
    endpoint: str | None = None,
) -> EfficacySummary:
    """Summarise one time-to-event end point by arm.

    - Kaplan–Meier per arm (:func:`oncotrial.stats.kaplan_meier`): median and CI and the
      rates at ``landmarks`` under the convention's CI transform and quantile rule.
    - Cox model (:func:`oncotrial.stats.coxph`) with the arm as a categorical term against
      ``reference`` (default: the convention's reference level — first sorted level for R,
      last for SAS), plus ``adjust`` covariates (non-numeric ones as categorical with the
      convention's reference) and separate baseline hazards for ``strata``.
    - Log-rank test (:func:`oncotrial.stats.logrank_test`), stratified by ``strata``.
    - Median follow-up with IQR by reversed Kaplan–Meier over all patients.
    """
    conv = resolve_convention(convention)
    strata, adjust = list(strata), list(adjust)
    # checked on the whole data first, so that a bad cell is reported by its row in ``data``,
    # not by its position within one arm
    survival_arrays(data[time], data[event], time_name=time, event_name=event)
    codes, levels = as_groups(data[group], name=group)
    ref = _reference_level(levels, reference, conv.reference, group)

    arm_rows, rate_rows = [], []
    order = [levels.index(ref)] + [i for i, lv in enumerate(levels) if lv != ref]
    for code in order:
        level = levels[code]
        sub = data.loc[codes == code]
        km = kaplan_meier(sub[time], sub[event], conf_level=conf_level, convention=conv)
        med = km.median()
        arm_rows.append({"arm": level, "n": len(sub), "events": int(sub[event].sum()),
                         "median": med.estimate, "median_lower": med.lower, "median_upper": med.upper})
        if landmarks:
            at = km.survival_at(list(landmarks))
            for r in at.itertuples(index=False):
                rate_rows.append({"arm": level, "time": r.time, "rate": r.survival,
                                  "lower": r.lower, "upper": r.upper})

    categorical: dict[str, Any] = {group: ref}
    for col in adjust:
        if not pd.api.types.is_numeric_dtype(data[col]):
            _, col_levels = as_groups(data[col], name=col, min_levels=1)
            categorical[col] = _reference_level(col_levels, None, conv.reference, col)
    events = {row["arm"]: row["events"] for row in arm_rows}
    expected = any(events[lv] == 0 for lv in levels)
    with warnings.catch_warnings():
        if expected:  # reported below as "not estimable", with the arm named
            warnings.simplefilter("ignore", ConvergenceWarning)
        cox = coxph(data, time=time, event=event, covariates=[group, *adjust], strata=strata or None,
                    categorical=categorical, conf_level=conf_level, convention=conv)
    hr_rows, notes = [], []
    for level in levels:
        if level == ref:
            continue
        term = f"{group}[{level}]"
        row = cox.coef_table.loc[term]
        reason = not_estimable_reason(cox, term, events, level, ref)
        if reason is None:
            hr_rows.append({"arm": level, "reference": ref, "hr": row["hr"], "lower": row["lower"],
                            "upper": row["upper"], "p": row["p"], "estimable": True})
        else:
            notes.append(f"{level} vs {ref}: {reason}" if len(levels) > 2 else reason)
            hr_rows.append({"arm": level, "reference": ref, "hr": np.nan, "lower": np.nan,
                            "upper": np.nan, "p": np.nan, "estimable": False})

    lr = logrank_test(data[time], data[event], data[group],
                      strata=data[strata] if strata else None, convention=conv)
    fu = median_followup(data[time], data[event], conf_level=conf_level, convention=conv)

    model = f"Cox model, {cox.ties.capitalize()} ties"
    if adjust:
        model += ", adjusted for " + ", ".join(adjust)
    if strata:
        model += ", stratified by " + ", ".join(strata)
    return EfficacySummary(
        endpoint=endpoint or event,
        arms=pd.DataFrame(arm_rows),
        rates=pd.DataFrame(rate_rows, columns=["arm", "time", "rate", "lower", "upper"]),
        hazard_ratios=pd.DataFrame(hr_rows, columns=["arm", "reference", "hr", "lower", "upper", "p",
                                                     "estimable"]),
        logrank_chisq=lr.chisq, logrank_df=lr.df, logrank_p=lr.p,
        followup_median=fu.median, followup_q1=fu.q1, followup_q3=fu.q3,
        model=model, convention=conv.name, conf_level=conf_level, notes=tuple(dict.fromkeys(notes)),
    )
