"""Median follow-up by the reverse Kaplan–Meier method.

How long patients were followed is reported with every survival analysis, and the
median of the observed times understates it because deaths cut follow-up short. The
reverse Kaplan–Meier estimate (Schemper & Smith 1996, Controlled Clinical Trials
17:343-346) treats censoring as the "event" and death as censoring, and so estimates the
distribution of potential follow-up: the time a patient would have been followed had
they not died.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import survival_arrays

from .conventions import Convention, resolve_convention
from .kaplan_meier import KaplanMeier, build_curve, check_conf_level, distinct_times

__all__ = ["FollowUp", "median_followup"]

Ties = Literal["events-first", "censorings-first"]
_TIES: tuple[str, ...] = ("events-first", "censorings-first")


@dataclasses.dataclass(frozen=True, repr=False)
class FollowUp(Result):
    """Median potential follow-up with its quartiles (IQR) and the CI of the median.

    NaN where the reverse curve does not reach the quantile. ``n`` is the number of
    subjects; ``method`` records the tie rule, band and quantile rule used.
    """

    median: float
    q1: float
    q3: float
    lower: float
    upper: float
    n: int
    method: str
    conf_level: float


def median_followup(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[float] | np.ndarray | pd.Series,
    *,
    conf_level: float = 0.95,
    ties: Ties = "events-first",
    convention: str | Convention = "r",
) -> FollowUp:
    """Median follow-up and quartiles by reverse Kaplan–Meier (status flipped).

    The censoring distribution G is estimated by the product-limit formula with the
    censorings c_j as events: ``G(t) = prod_{t_j <= t} (1 - c_j / r_j)``, Greenwood
    variance likewise. The quartiles and the median's CI then follow the convention's
    quantile rule and band (see :meth:`KaplanMeier.quantile`; log band under R,
    log-log under SAS). The two tie rules differ only in r_j when a death and a
    censoring share a time t_j:

    * ``"events-first"`` (default): r_j = everyone with time >= t_j, i.e. ordinary KM
      ordering applied to the flipped data (the flipped events, the censorings, happen
      first; those who died at t_j still count as followed at t_j). This is exactly the
      common R idiom ``quantile(survfit(Surv(time, 1 - status) ~ 1), c(.25, .5, .75))``
      and SAS ``TIME t*status(1)`` in PROC LIFETEST.
    * ``"censorings-first"``: r_j excludes those who died at t_j (their follow-up ended
      with the death just before the censorings at t_j), as in prodlim's
      ``prodlim(Hist(time, status) ~ 1, reverse=TRUE)`` (``prodlim::followup``) and
      scikit-survival's ``kaplan_meier_estimator(reverse=True)``; arguably the correct
      estimate of G under ties (Schemper & Smith 1996).

    Args:
        time: follow-up times (>= 0).
        event: 1 = event (death/progression), 0 = censored.
        conf_level: level of the median's CI (default 0.95).
        ties: ``"events-first"`` or ``"censorings-first"``, see above.
        convention: ``"r"`` or ``"sas"``.
    """
    conv = resolve_convention(convention)
    level = check_conf_level(conf_level)
    if ties not in _TIES:
        raise InputError(f"ties: expected one of {list(_TIES)}, got {ties!r}", field="ties")
    t, e, _ = survival_arrays(time, event)
    curve = _reverse_curve(t, e, ties, level, conv)
    q1, med, q3 = (curve.quantile(p) for p in (0.25, 0.5, 0.75))
    method = (f"reverse Kaplan-Meier, ties={ties}, conf_type={conv.conf_type}, "
              f"quantile rule={conv.quantile_rule}")
    return FollowUp(median=med.estimate, q1=q1.estimate, q3=q3.estimate, lower=med.lower,
                    upper=med.upper, n=int(t.size), method=method, conf_level=level)


def _reverse_curve(time: np.ndarray, event: np.ndarray, ties: str, conf_level: float,
                   convention: str | Convention) -> KaplanMeier:
    """The censoring curve G as a :class:`KaplanMeier` (validated arrays in, no checks).

    Its ``n_risk`` column is the risk set actually used, r_j (see :func:`median_followup`).
    """
    conv = resolve_convention(convention)
    uniq, inverse = distinct_times(time, conv)
    m = uniq.size
    deaths = np.bincount(inverse, weights=event, minlength=m)
    censorings = np.bincount(inverse, weights=1.0 - event, minlength=m)
    at_risk = np.cumsum(np.bincount(inverse, minlength=m)[::-1])[::-1].astype(np.float64)
    if ties == "censorings-first":
        at_risk = at_risk - deaths
    return build_curve(uniq, at_risk, censorings, deaths, n=time.size, conf_type=conv.conf_type,
                       conf_level=conf_level, convention=conv)
