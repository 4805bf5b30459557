"""The efficacy table of a time-to-event end point, as a trial report shows it.

Per arm: patients, events, Kaplan–Meier median with its CI, and survival rates at
landmark times with CIs; then, for each arm against the reference arm (pairwise: the two
arms' patients only, so that a third arm changes neither the estimate nor the test of a
comparison), the hazard ratio from a Cox model (optionally adjusted for covariates and
stratified) and the P value of a test of that same model, one- or two-sided; and the
median follow-up by reversed Kaplan–Meier. Every number comes from :mod:`oncotrial.stats`, so the table
follows the chosen convention (R or SAS) throughout.

A one-sided P is in the direction of benefit: the experimental arm better, hazard ratio
below 1. It is ``Phi(z)`` of the signed statistic ``z = (O - E) / sqrt(V)`` of the
experimental arm (log-rank) or ``sign(beta) * sqrt(score chi-square)`` (score test), so that
the one-sided P is half the two-sided one when the arm does better and one minus that half
when it does worse.

One pre-specified model per end point: the P beside a hazard ratio comes from the model that
gives the hazard ratio, never from another one. The (stratified) log-rank test is the score
test of the Cox model of the arm alone, stratified by the same factors: R's
``coxph(Surv(t, d) ~ arm + strata(s))$score`` is ``survdiff(Surv(t, d) ~ arm + strata(s))``
up to the tie correction of the variance (identical without tied event times; the R fixture
tests/fixtures/r/report_endpoint_tests.json has both). So a log-rank P goes with the hazard
ratio of the Cox model stratified as the test is, without covariates; the P of an adjusted
Cox model is the Wald test of its arm coefficient (``model_wald``); :func:`check_model_test`
refuses any other pairing.

A hazard ratio is reported only when the data can estimate it. With no events in an arm
(or in the reference arm) the partial likelihood is monotone: a Cox fit "converges" to a
coefficient of about -30, i.e. a hazard ratio of 1e-13 with the interval 0 to infinity,
which is an artefact, not a result. Such a hazard ratio (and one from a fit that did not
converge, or that the fit marks as not estimable) is ``NaN``, printed "NE", with the reason
in :attr:`EfficacySummary.notes` and in the ``estimable`` column.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr

from oncotrial.core.errors import ConvergenceWarning, InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_groups, survival_arrays
from oncotrial.stats import coxph, kaplan_meier, logrank_test, median_followup
from oncotrial.stats.conventions import Convention, resolve_convention

__all__ = ["TESTS", "EfficacySummary", "check_model_test", "efficacy_summary", "not_estimable_reason",
           "protocol_test", "sided_text"]

#: the tests that can give an end point's P value, each a test of the Cox model that gives
#: the hazard ratio: the log-rank test (the score test of the Cox model of the arm alone,
#: stratified as the test is), the score test of the model, or the Wald test of the arm's
#: coefficient in it
TESTS = ("logrank", "model_score", "model_wald")

#: the test of each protocol ``analysis.test`` value
_PROTOCOL_TESTS = {"stratified_logrank": "logrank", "logrank": "logrank", "model_score": "model_score",
                   "model_wald": "model_wald"}


def sided_text(sided: int) -> str:
    """How a P value's sidedness is printed in methods and captions."""
    return "one-sided, in the direction of benefit (hazard ratio < 1)" if sided == 1 else "two-sided"


@dataclasses.dataclass(frozen=True, repr=False)
class EfficacySummary(Result):
    """Efficacy results of one end point.

    ``arms``: one row per arm, reference arm first (``arm, n, events, median, median_lower,
    median_upper``);
    ``rates``: one row per arm and landmark (``arm, time, rate, lower, upper``);
    ``hazard_ratios``: one row per non-reference arm (``arm, reference, hr, lower, upper, p,
    estimable``; ``p`` is the Wald test of the Cox coefficient, kept for the command line's
    survival table; ``NaN`` numbers where not estimable);
    ``comparisons``: one row per non-reference arm (``arm, reference, z, p``): the signed
    statistic of ``test`` (negative when the arm does better) and its P, ``sided`` as
    declared; empty when ``p_value`` is false (estimates with confidence intervals only);
    ``logrank_chisq``, ``logrank_df``, ``logrank_p``: the k-sample log-rank test of all arms,
    stratified as the test is;
    ``model``: the Cox model in words; ``test`` (``"logrank"`` or ``"model_score"``) and
    ``test_method``: the test in words;
    ``notes``: why a number is not estimable, e.g. ``"not estimable: no events in Arm B"``;
    ``same_model``: whether the P is a test of the model that gives the hazard ratio (False:
    a log-rank P beside the hazard ratio of another model, which :func:`check_model_test`
    refuses; kept computable so that a protocol declaring it is reported, and flagged);
    ``to_frame()`` gives every reported number as a long analysis-results record.
    """

    endpoint: str
    arms: pd.DataFrame
    rates: pd.DataFrame
    hazard_ratios: pd.DataFrame
    comparisons: pd.DataFrame
    logrank_chisq: float
    logrank_df: int
    logrank_p: float
    followup_median: float
    followup_q1: float
    followup_q3: float
    model: str
    test: Literal["logrank", "model_score", "model_wald"]
    test_method: str
    sided: int
    p_value: bool
    convention: str
    conf_level: float
    notes: tuple[str, ...] = ()
    same_model: bool = True

    @property
    def p_statistic(self) -> str:
        """The ARD statistic of the P value: ``logrank_p``, ``score_p`` or ``wald_p``."""
        return {"logrank": "logrank_p", "model_score": "score_p", "model_wald": "wald_p"}[self.test]

    @property
    def test_name(self) -> str:
        """The test in a table row or a figure key: "Stratified log-rank", "Log-rank",
        "Cox score test" or "Cox Wald test"."""
        if self.test == "model_score":
            return "Cox score test"
        if self.test == "model_wald":
            return "Cox Wald test"
        return "Stratified log-rank" if "stratified" in self.test_method else "Log-rank"

    @property
    def p_label(self) -> str:
        """The words before "P" in a figure: the test, with "(one-sided)" when it is."""
        return f"{self.test_name} (one-sided)" if self.sided == 1 else self.test_name

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``endpoint, arm, statistic, value, lower, upper, time``; the P of
        each comparison (:attr:`p_statistic`) is filed under its non-reference arm and only
        when the analysis reports a P value."""
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
        for c in self.comparisons.itertuples(index=False):
            add(c.arm, self.p_statistic, c.p)
        add(None, "median_followup", self.followup_median, self.followup_q1, self.followup_q3)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        p = [round(float(v), 4) for v in self.comparisons["p"]] if self.p_value else "not reported"
        return (f"EfficacySummary(endpoint={self.endpoint!r}, arms={list(self.arms['arm'])}, "
                f"hr={[round(float(h), 4) for h in self.hazard_ratios['hr']]}, "
                f"{f'notes={list(self.notes)}, ' if self.notes else ''}"
                f"p={p}, sided={self.sided}, convention={self.convention!r})")


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


def _check_choice(value: Any, name: str, allowed: Sequence[Any]) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise InputError(f"{name}: expected one of {', '.join(map(str, allowed))}, got {value!r}", field=name)


def _pair_cox(pair: pd.DataFrame, *, time: str, event: str, group: str, reference: Any, adjust: list[str],
              strata: list[str], conf_level: float, conv: Convention, quiet: bool) -> Any:
    """The Cox model of one comparison: the arm against ``reference`` on the two arms'
    patients, plus ``adjust`` covariates (non-numeric ones categorical, reference by the
    convention) and separate baseline hazards for ``strata``."""
    categorical: dict[str, Any] = {group: reference}
    for col in adjust:
        if not pd.api.types.is_numeric_dtype(pair[col]):
            _, col_levels = as_groups(pair[col], name=col, min_levels=1)
            categorical[col] = _reference_level(col_levels, None, conv.reference, col)
    with warnings.catch_warnings():
        if quiet:  # reported as "not estimable", with the arm named
            warnings.simplefilter("ignore", ConvergenceWarning)
        return coxph(pair, time=time, event=event, covariates=[group, *adjust], strata=strata or None,
                     categorical=categorical, conf_level=conf_level, convention=conv)


def _signed_statistic(pair: pd.DataFrame, *, time: str, event: str, group: str, level: Any,
                      test: str, test_strata: list[str], cox: Any, term: str,
                      conv: Convention) -> tuple[float, float]:
    """``(z, two-sided P)`` of the comparison of ``level`` with the reference: ``z`` is
    negative when ``level`` has fewer events than expected (benefit)."""
    if test == "logrank":
        lr = logrank_test(pair[time], pair[event], pair[group],
                          strata=pair[test_strata] if test_strata else None, convention=conv)
        j = lr.groups.index(level)
        variance = float(lr.variance[j, j])
        z = float(lr.observed[j] - lr.expected[j]) / math.sqrt(variance) if variance > 0 else 0.0
        return z, float(lr.p)
    if test == "model_wald":
        z = float(cox.coef_table.at[term, "z"])
        return (z if math.isfinite(z) else 0.0), float(cox.coef_table.at[term, "p"])
    beta = float(cox.coef_table.at[term, "coef"])
    magnitude = math.sqrt(max(float(cox.score_test.stat), 0.0))
    return (math.copysign(magnitude, beta) if math.isfinite(beta) and beta != 0 else 0.0), float(cox.score_test.p)


def check_model_test(test: str, *, strata: Sequence[str], adjust: Sequence[str],
                     test_strata: Sequence[str], endpoint: str | None = None) -> None:
    """Refuse a P value from another model than the hazard ratio's (see the module
    docstring): a log-rank test needs the Cox model of the arm alone, stratified by
    ``test_strata``; a score test a model without covariates (with them it tests them too).
    An :class:`~oncotrial.core.errors.InputError` (field ``test``) names the fix."""
    _check_choice(test, "test", TESTS)
    where = f"{endpoint}: " if endpoint else ""
    if test == "logrank" and (list(adjust) or list(strata) != list(test_strata)):
        kind = ("stratified by " + ", ".join(test_strata)) if test_strata else "unstratified"
        model = (f"adjusted for {', '.join(adjust)}" if adjust else
                 f"stratified by {', '.join(strata)}" if strata else "without strata")
        raise InputError(f"{where}test: a log-rank test {kind} is the score test of the Cox model of the arm "
                         f"alone {kind}, but the hazard ratio comes from a Cox model {model}: the P would come "
                         f"from another model than the hazard ratio; use the stratified Cox model (model "
                         f"stratified_cox) or the Wald test of this model (test model_wald)", field="test")
    if test == "model_score" and adjust:
        raise InputError(f"{where}test: the score test of a Cox model adjusted for {', '.join(adjust)} tests "
                         f"those covariates with the arm, not the arm alone; use a stratified Cox model or the "
                         f"Wald test (model_wald)", field="test")


def protocol_test(analysis: Any) -> dict[str, Any]:
    """The :func:`efficacy_summary` keywords ``test`` and ``test_strata`` of a protocol end
    point's analysis (:class:`oncotrial.protocol.endpoints.EndpointAnalysis` with defaults
    filled in): ``stratified_logrank`` → the log-rank test stratified by the end point's
    strata; ``logrank`` → unstratified; ``model_score``/``model_wald`` → that test of the
    end point's Cox model."""
    if analysis.test not in _PROTOCOL_TESTS:
        raise InputError(f"test: expected one of {', '.join(_PROTOCOL_TESTS)}, got {analysis.test!r}", field="test")
    strata = list(analysis.strata or []) if analysis.test == "stratified_logrank" else []
    return {"test": _PROTOCOL_TESTS[analysis.test], "test_strata": strata}


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
    test: Literal["logrank", "model_score", "model_wald"] | None = None,
    test_strata: Sequence[str] | None = None,
    sided: int = 2,
    p_value: bool = True,
) -> EfficacySummary:
    """Summarise one time-to-event end point by arm.

    - Kaplan–Meier per arm (:func:`oncotrial.stats.kaplan_meier`): median and CI and the
      rates at ``landmarks`` under the convention's CI transform and quantile rule.
    - Per non-reference arm, on its patients and the reference arm's: a Cox model
      (:func:`oncotrial.stats.coxph`) with the arm as a categorical term against
      ``reference`` (default: the convention's reference level — first sorted level for R,
      last for SAS), plus ``adjust`` covariates (non-numeric ones as categorical with the
      convention's reference level) and separate baseline hazards for ``strata``; and the
      P value of ``test``, a test of that same model (a log-rank P beside another model's
      hazard ratio is computed as declared and marked ``same_model=False``): ``"logrank"``
      (:func:`oncotrial.stats.logrank_test`, stratified by ``test_strata``, default
      ``strata``: the score test of the Cox model of the arm alone
      with those strata, so no ``adjust`` covariates), ``"model_score"`` (the score test of
      that Cox model, without ``adjust`` covariates) or ``"model_wald"`` (the Wald test of
      the arm's coefficient, for an adjusted model; the default with ``adjust`` covariates,
      ``"logrank"`` without), ``sided`` 1 (in the direction of
      benefit, see the module docstring) or 2. With ``p_value=False`` no P is reported
      (estimates with confidence intervals only).
    - The k-sample log-rank test of all arms, stratified by ``test_strata``.
    - Median follow-up with IQR by reversed Kaplan–Meier over all patients.
    """
    conv = resolve_convention(convention)
    strata, adjust = list(strata), list(adjust)
    test_strata = strata if test_strata is None else list(test_strata)
    if test is None:
        test = "model_wald" if adjust else "logrank"
    try:
        check_model_test(test, strata=strata, adjust=adjust, test_strata=test_strata, endpoint=endpoint)
        same_model = True
    except InputError as exc:
        # a bad choice, or a score test that would test covariates too, is an error; a log-rank
        # P beside another model's hazard ratio is what some SAPs declare: computed as asked,
        # marked (``same_model``) so that the protocol check and the report can refuse it
        if test != "logrank":
            raise exc from None
        same_model = False
    _check_choice(sided, "sided", (1, 2))
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

    events = {row["arm"]: row["events"] for row in arm_rows}
    ref_code = levels.index(ref)
    hr_rows, comparison_rows, notes = [], [], []
    ties = conv.ties
    for code in order[1:]:
        level = levels[code]
        pair = data.loc[(codes == ref_code) | (codes == code)]
        if isinstance(pair[group].dtype, pd.CategoricalDtype):  # the other arms' categories are not levels here
            pair = pair.assign(**{group: pair[group].astype(object)})
        term = f"{group}[{level}]"
        cox = _pair_cox(pair, time=time, event=event, group=group, reference=ref, adjust=adjust, strata=strata,
                        conf_level=conf_level, conv=conv, quiet=events[level] == 0 or events[ref] == 0)
        ties = cox.ties
        row = cox.coef_table.loc[term]
        reason = not_estimable_reason(cox, term, events, level, ref)
        if reason is None:
            hr_rows.append({"arm": level, "reference": ref, "hr": row["hr"], "lower": row["lower"],
                            "upper": row["upper"], "p": row["p"], "estimable": True})
        else:
            notes.append(f"{level} vs {ref}: {reason}" if len(levels) > 2 else reason)
            hr_rows.append({"arm": level, "reference": ref, "hr": np.nan, "lower": np.nan,
                            "upper": np.nan, "p": np.nan, "estimable": False})
        if p_value:
            z, two_sided = _signed_statistic(pair, time=time, event=event, group=group, level=level, test=test,
                                             test_strata=test_strata, cox=cox, term=term, conv=conv)
            comparison_rows.append({"arm": level, "reference": ref, "z": z,
                                    "p": float(ndtr(z)) if sided == 1 else two_sided})

    lr = logrank_test(data[time], data[event], data[group],
                      strata=data[test_strata] if test_strata else None, convention=conv)
    fu = median_followup(data[time], data[event], conf_level=conf_level, convention=conv)

    model = f"Cox model, {ties.capitalize()} ties"
    if adjust:
        model += ", adjusted for " + ", ".join(adjust)
    if strata:
        model += ", stratified by " + ", ".join(strata)
    if test == "logrank":
        test_method = "log-rank test" + (f" stratified by {', '.join(test_strata)}" if test_strata else "")
    elif test == "model_score":
        test_method = "score test of the Cox model"
    else:
        test_method = "Wald test of the arm's coefficient in the Cox model"
    return EfficacySummary(
        endpoint=endpoint or event,
        arms=pd.DataFrame(arm_rows),
        rates=pd.DataFrame(rate_rows, columns=["arm", "time", "rate", "lower", "upper"]),
        hazard_ratios=pd.DataFrame(hr_rows, columns=["arm", "reference", "hr", "lower", "upper", "p",
                                                     "estimable"]),
        comparisons=pd.DataFrame(comparison_rows, columns=["arm", "reference", "z", "p"]),
        logrank_chisq=lr.chisq, logrank_df=lr.df, logrank_p=lr.p,
        followup_median=fu.median, followup_q1=fu.q1, followup_q3=fu.q3,
        model=model, test=test, test_method=test_method, sided=int(sided), p_value=bool(p_value),
        convention=conv.name, conf_level=conf_level, notes=tuple(dict.fromkeys(notes)), same_model=same_model,
    )
