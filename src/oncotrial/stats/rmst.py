"""Restricted mean survival time (RMST) of one arm, and the two-arm comparison.

RMST(τ) = ∫_0^τ S(t) dt is the expected event-free time over the first τ time units: a
summary that stays valid when hazards are not proportional (crossing curves), which is
why it is reported next to the hazard ratio in modern trials (Royston & Parmar 2013,
BMC Med Res Methodol 13:152; Uno et al. 2014, J Clin Oncol 32:2380-2385).

The estimate integrates the Kaplan–Meier step curve by rectangles from 0; its variance
is the Greenwood-type plug-in of Miller (1981, *Survival Analysis*, p. 195). This is R
``print(survfit(...), rmean=tau)`` (``survmean`` in ``R/print.survfit.R``), the per-arm
part of ``survRM2::rmst2`` and SAS PROC LIFETEST ``RMST(TAU=)`` (checked against the SAS
9.4 output published by PHUSE CAMIS, ``SAS/rmst.qmd``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_groups, check_lengths, survival_arrays

from .conventions import Convention, resolve_convention
from .kaplan_meier import check_conf_level, distinct_times, fit_codes, z_value

__all__ = ["RMST", "RMSTDifference", "rmst_difference", "rmst_from_curve"]


@dataclasses.dataclass(frozen=True, repr=False)
class RMST(Result):
    """Restricted mean survival time up to ``tau`` with its SE and normal CI."""

    tau: float
    estimate: float
    std_err: float
    lower: float
    upper: float
    conf_level: float


def _check_tau(tau: Any) -> float:
    try:
        value = float(tau)
    except (TypeError, ValueError):
        raise InputError(f"tau: expected a positive finite time, got {tau!r}", field="tau") from None
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"tau: expected a positive finite time, got {tau!r}", field="tau")
    return value


def rmst_from_curve(time: np.ndarray, surv: np.ndarray, n_risk: np.ndarray, n_event: np.ndarray,
                    tau: float, conf_level: float) -> RMST:
    """RMST of a Kaplan–Meier curve given by its rows (``time`` sorted, counts per row).

    With t_1 < ... < t_k the curve times <= τ and t_0 = 0, t_{k+1} = τ::

        RMST = sum_{i=0}^{k} (t_{i+1} - t_i) S(t_i)                 (S(t_0) = 1)
        Var  = sum_{j=1}^{k} A_j^2 d_j / (n_j (n_j - d_j)),   A_j = ∫_{t_j}^{τ} S(t) dt

    with a zero term where n_j = d_j, exactly R ``survmean``. A τ past the last time
    extends the last value of S (as R does); a τ before the first time gives RMST = τ
    with SE 0 (R refuses such a τ; the value is the exact area).
    """
    tau = _check_tau(tau)
    keep = time <= tau
    grid = np.concatenate((time[keep], [tau]))
    height = np.concatenate(([1.0], surv[keep]))
    rect = np.diff(grid, prepend=0.0) * height
    estimate = float(rect.sum())
    n, d = n_risk[keep], n_event[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_var = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    area_after = np.cumsum(rect[1:][::-1])[::-1]
    std_err = math.sqrt(float(np.sum(area_after**2 * hazard_var)))
    half = z_value(conf_level) * std_err
    return RMST(tau=tau, estimate=estimate, std_err=std_err, lower=estimate - half,
                upper=estimate + half, conf_level=conf_level)


@dataclasses.dataclass(frozen=True, repr=False)
class RMSTDifference(Result):
    """Two-arm RMST comparison: difference ``other - reference`` and ratio ``other/reference``.

    ``z``/``p`` test equal RMSTs (two-sided normal test of the difference, which is SAS
    LIFETEST's RMST chi-square test: ``z**2``); ``ratio_p`` tests ratio 1 on the log scale.
    """

    tau: float
    reference: Any
    other: Any
    rmst_reference: RMST
    rmst_other: RMST
    difference: float
    std_err: float
    lower: float
    upper: float
    z: float
    p: float
    ratio: float
    ratio_lower: float
    ratio_upper: float
    ratio_p: float
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """Four rows: the two arms, the difference and the ratio."""
        ref, oth = self.rmst_reference, self.rmst_other
        nan = math.nan
        rows = [
            (f"rmst[{self.reference}]", ref.estimate, ref.std_err, ref.lower, ref.upper, nan, nan),
            (f"rmst[{self.other}]", oth.estimate, oth.std_err, oth.lower, oth.upper, nan, nan),
            ("difference", self.difference, self.std_err, self.lower, self.upper, self.z, self.p),
            ("ratio", self.ratio, nan, self.ratio_lower, self.ratio_upper, nan, self.ratio_p),
        ]
        return pd.DataFrame(rows, columns=["quantity", "estimate", "std_err", "lower", "upper", "z", "p"])


def _two_sided_p(z: float) -> float:
    return float(2.0 * ndtr(-abs(z))) if not math.isnan(z) else math.nan


def rmst_difference(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[float] | np.ndarray | pd.Series,
    group: Sequence[Any] | np.ndarray | pd.Series,
    tau: float,
    *,
    reference: Any = None,
    conf_level: float = 0.95,
    convention: str | Convention = "r",
) -> RMSTDifference:
    """Compare the restricted mean survival time up to ``tau`` between two arms.

    Per arm, RMST and its variance as in :func:`rmst_from_curve` (R
    ``print(fit, rmean=tau)``). The arms are independent, so::

        diff = RMST_other - RMST_ref,   SE = sqrt(v_other + v_ref),   z = diff/SE
        log ratio = log RMST_other - log RMST_ref,   SE = sqrt(v_other/RMST_other^2 + v_ref/RMST_ref^2)

    with normal CIs (the ratio's by the delta method on the log scale, back-transformed)
    and two-sided normal p-values. This is ``survRM2::rmst2`` (Uno et al. 2014) and SAS
    PROC LIFETEST ``RMST(TAU=)`` with ``STRATA arm / DIFF=CONTROL``. Unlike survRM2, a τ
    past an arm's last observation is accepted and that arm's curve is extended flat, as
    R ``print.survfit`` does; choose τ where both arms are still followed.

    Args:
        time, event: follow-up times (>= 0) and 0/1 event indicators.
        group: arm of each row; exactly two distinct values.
        tau: truncation time τ > 0, to be pre-specified.
        reference: the control arm; None takes the convention's: the first sorted level
            under R (factor reference), the last under SAS (``PARAM=REF``).
        conf_level: level of all intervals (default 0.95).
        convention: ``"r"`` or ``"sas"`` (reference arm and R's time tie-merging).
    """
    conv = resolve_convention(convention)
    level = check_conf_level(conf_level)
    tau = _check_tau(tau)
    check_lengths(time=time, event=event, group=group)
    t, e, w = survival_arrays(time, event)
    codes, levels = as_groups(group, "group", min_levels=2)
    if len(levels) != 2:
        raise InputError(f"group: expected exactly 2 distinct levels, got {len(levels)} ({levels!r})", field="group")
    if reference is None:
        ref_index = 0 if conv.reference == "first" else 1
    else:
        matches = [i for i, lv in enumerate(levels) if lv == reference]
        if not matches:
            raise InputError(f"reference: {reference!r} is not a level of group {levels!r}", field="reference")
        ref_index = matches[0]
    uniq, inverse = distinct_times(t, conv)
    arms = [
        fit_codes(uniq, inverse, e, w, conf_type=conv.conf_type, conf_level=level, convention=conv,
                  subset=codes == i).rmst(tau, conf_level=level)
        for i in (ref_index, 1 - ref_index)
    ]
    ref, oth = arms
    z_crit = z_value(level)
    diff = oth.estimate - ref.estimate
    se = math.sqrt(ref.std_err**2 + oth.std_err**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = float(np.divide(diff, se))
        # the ratio is undefined if an arm's RMST is 0 (every subject failed at time 0)
        log_ratio = float(np.log(np.divide(oth.estimate, ref.estimate)))
        log_se = float(np.hypot(np.divide(oth.std_err, oth.estimate),
                                np.divide(ref.std_err, ref.estimate)))
        z_ratio = float(np.divide(log_ratio, log_se))
    return RMSTDifference(
        tau=tau, reference=levels[ref_index], other=levels[1 - ref_index], rmst_reference=ref,
        rmst_other=oth, difference=diff, std_err=se, lower=diff - z_crit * se,
        upper=diff + z_crit * se, z=z, p=_two_sided_p(z), ratio=float(np.exp(log_ratio)),
        ratio_lower=float(np.exp(log_ratio - z_crit * log_se)),
        ratio_upper=float(np.exp(log_ratio + z_crit * log_se)), ratio_p=_two_sided_p(z_ratio),
        conf_level=level,
    )
