"""Kaplan–Meier estimator, survival quantiles, landmark rates and log(-log) plot data.

The numbers reproduce R ``survival`` 3.5 (``survfit``, ``quantile.survfit``,
``summary.survfit``, ``print.survfit(rmean=)``) to round-off by default, and SAS 9.4
PROC LIFETEST with ``convention="sas"``: the two systems agree on the estimator and on
Greenwood's variance but differ in the confidence band, the quantile rule and the
behaviour past the last observation, which are exactly the numbers a trial report
prints (median and 95% CI, 2-year rate). See :mod:`oncotrial.stats.conventions`.

Algorithm: every row's rank among the distinct times (by counting when the times are
short decimals such as days or months to 0.1, else by one sort; R's ``timefix``
tie-merging then works on the distinct times only), weighted counts per distinct time
with ``np.bincount`` and cumulative products/sums: O(n) for such times, O(n log n) for
others, and no Python loop over rows or times, so a million rows take a few hundredths
of a second.

References: Kaplan & Meier (1958) JASA 53:457-481; Greenwood (1926) Reports on Public
Health 33; Kalbfleisch & Prentice (1980) for the log-log band; Brookmeyer & Crowley
(1982) Biometrics 38:29-41 for the quantile intervals; Klein & Moeschberger (1997)
§4.5 for their transformed versions used by SAS.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_fraction, as_time, survival_arrays

from ._counting import distinct_times
from .conventions import Convention, resolve_convention

if TYPE_CHECKING:  # imported lazily at run time: rmst.py imports this module
    from .rmst import RMST

__all__ = ["KaplanMeier", "QuantileEstimate", "kaplan_meier", "loglog_data"]

ConfType = Literal["log", "log-log", "plain"]
CONF_TYPES: tuple[str, ...] = ("log", "log-log", "plain")
#: R's ``sqrt(.Machine$double.eps)``: survival values closer than this are "equal"
TOLERANCE = float(np.sqrt(np.finfo(float).eps))
TABLE_COLUMNS = ["time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"]


# --------------------------------------------------------------------------------------
# argument checks shared with rmst.py and followup.py
# --------------------------------------------------------------------------------------
def check_conf_level(conf_level: Any, name: str = "conf_level") -> float:
    """Return ``conf_level`` as a float in (0, 1), else raise an InputError naming it."""
    return as_fraction(conf_level, name)


def check_conf_type(conf_type: str | None, convention: Convention) -> str:
    """Resolve ``conf_type`` (None -> the convention's band) and validate it."""
    if conf_type is None:
        return convention.conf_type
    if conf_type not in CONF_TYPES:
        raise InputError(f"conf_type: expected one of {list(CONF_TYPES)} or None, got {conf_type!r}", field="conf_type")
    return conf_type


def z_value(conf_level: float) -> float:
    """Two-sided normal critical value, R's ``qnorm(1 - (1 - conf.int)/2)``."""
    return float(ndtri(1.0 - (1.0 - conf_level) / 2.0))


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------
def km_curve(n_risk: np.ndarray, n_event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit survival and Greenwood's sum per distinct time.

    ``S(t) = prod_{t_j <= t} (n_j - d_j)/n_j`` and ``V(t) = sum_{t_j <= t} d_j/(n_j (n_j - d_j))``
    over times with a (weighted) event, which is R ``survfitkm.c``'s recursion with
    ``robust=FALSE``. ``sqrt(V)`` is the standard error of ``-log S`` (R's ``std.err``);
    ``V`` is infinite once every subject at risk has had the event (S = 0).
    """
    has_event = n_event > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(has_event, (n_risk - n_event) / n_risk, 1.0)
        increment = np.where(has_event, n_event / (n_risk * (n_risk - n_event)), 0.0)
    return np.cumprod(factor), np.cumsum(increment)


def confidence_band(surv: np.ndarray, logse: np.ndarray, conf_type: str,
                    conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits for S(t), exactly R ``survfit_confint`` (``logse=TRUE``).

    With z the normal quantile and se the SE of -log S:

    * ``"log"``: ``exp(log S -/+ z se)``, upper capped at 1; undefined (NaN) where S = 0;
    * ``"log-log"``: ``exp(-exp(log(-log S) -/+ z se / log S))``; NaN where S is 0 or 1;
    * ``"plain"``: ``S -/+ z se S`` clipped to [0, 1].

    Where se = 0 the limits equal S (except the undefined log-log case at S = 1).
    """
    z = z_value(conf_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = logse * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            s = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(s) - z * logse), np.minimum(np.exp(np.log(s) + z * logse), 1.0)
        s = np.where((surv == 0) | (surv == 1), np.nan, surv)
        shift = z * logse / np.log(s)
        centre = np.log(-np.log(s))
        return np.exp(-np.exp(centre - shift)), np.exp(-np.exp(centre + shift))


@dataclasses.dataclass(frozen=True, repr=False)
class QuantileEstimate(Result):
    """A survival quantile (the time by which a fraction ``p`` has had the event) and its CI.

    ``estimate``, ``lower`` or ``upper`` are NaN where they are not reached (printed
    "NE" by SAS and "NA" by R). ``rule`` says which convention's definition was used.
    """

    p: float
    estimate: float
    lower: float
    upper: float
    conf_level: float
    conf_type: str
    rule: str


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class KaplanMeier(Result):
    """A fitted Kaplan–Meier curve; build it with :func:`kaplan_meier`.

    ``table`` has one row per distinct time (event or censoring), as R ``survfit``
    stores the curve: ``time, n_risk, n_event, n_censor, survival, std_err, lower,
    upper``; counts are weighted when case weights are given; ``std_err`` is the
    Greenwood standard error of S(t) (the value ``summary.survfit`` and SAS print),
    ``lower``/``upper`` the pointwise band of type ``conf_type``.
    """

    table: pd.DataFrame
    n: int
    events: float
    conf_type: str
    conf_level: float
    convention: str
    _logse: np.ndarray
    _convention: Convention

    # ---------------------------------------------------------------- quantiles
    def quantile(self, p: float) -> QuantileEstimate:
        """Time by which a fraction ``p`` (0 < p < 1) of subjects has had the event, with CI.

        Under ``convention="r"`` (``quantile.survfit``): the point where the horizontal
        line at 1-p meets the step curve; if the curve is flat at 1-p (within √ε) the
        midpoint of that flat segment, including a final flat segment (midpoint with the
        last observed time). The CI applies the same rule to the pointwise lower and upper
        bands, so it depends on ``conf_type`` (R draws the line through the band). Where
        the upper band rises again after crossing 1-p, R (and this method) takes the time
        of its lowest value at or below 1-p, not the first crossing that ``print(fit)``
        shows (aml, log band: upper median limit 48 here and in ``quantile(fit)``, 45 in
        ``print(fit)``); ``print(fit)`` also ignores the final-flat midpoint rule.

        Under ``convention="sas"`` (PROC LIFETEST): the first event time with S(t) < 1-p
        (strictly); the midpoint of [t_j, t_{j+1}) if S equals 1-p there (within √ε); NaN
        if S never falls below 1-p. The CI is the Brookmeyer–Crowley set of event times t
        with ``|g(S(t)) - g(1-p)| <= z g'(S(t)) σ(S(t))`` (g = the ``conf_type`` transform,
        σ = Greenwood SE of S); lower = its first event time, upper = the next event time
        after its last one, NaN ("NE") when the set reaches the last event time or the
        curve is 0 there. Checked against the SAS outputs published by PHUSE CAMIS.
        """
        p = _check_p(p)
        if self._convention.quantile_rule == "r":
            estimate, lower, upper = self._quantile_r(p)
        else:
            estimate, lower, upper = self._quantile_sas(p)
        return QuantileEstimate(p=p, estimate=estimate, lower=lower, upper=upper,
                                conf_level=self.conf_level, conf_type=self.conf_type,
                                rule=self._convention.quantile_rule)

    def median(self) -> QuantileEstimate:
        """Median survival time with CI: ``quantile(0.5)``."""
        return self.quantile(0.5)

    def _quantile_r(self, p: float) -> tuple[float, float, float]:
        time = np.concatenate(([0.0], self.table["time"].to_numpy()))

        def line(curve: np.ndarray) -> float:
            return _findq(time, np.concatenate(([0.0], 1.0 - curve)), p)

        tab = self.table
        return (line(tab["survival"].to_numpy()), line(tab["lower"].to_numpy()),
                line(tab["upper"].to_numpy()))

    def _quantile_sas(self, p: float) -> tuple[float, float, float]:
        tab = self.table
        rows = tab["n_event"].to_numpy() > 0
        t = tab["time"].to_numpy()[rows]
        s = tab["survival"].to_numpy()[rows]
        var = self._logse[rows] ** 2
        level = 1.0 - p
        below = np.flatnonzero(s < level - TOLERANCE)
        if below.size == 0:
            estimate = math.nan
        else:
            k = below[0]
            flat = k > 0 and abs(s[k - 1] - level) <= TOLERANCE
            estimate = float((t[k - 1] + t[k]) / 2 if flat else t[k])
        inside = _bc_accepts(s, var, level, self.conf_type, z_value(self.conf_level))
        hits = np.flatnonzero(inside)
        if hits.size == 0:
            return estimate, math.nan, math.nan
        after = hits[-1] + 1
        upper = float(t[after]) if after < t.size and s[after] > 0 else math.nan
        return estimate, float(t[hits[0]]), upper

    # ---------------------------------------------------------------- landmarks
    def survival_at(self, times: Any) -> pd.DataFrame:
        """Survival (and its SE and CI) at given landmark times, e.g. the 2-year rate.

        Returns ``time, n_risk, survival, std_err, lower, upper`` with one row per
        requested time, in the order given (R's ``summary`` sorts them). ``n_risk`` is the
        (weighted) number still at risk at t, i.e. with time >= t.

        R convention (``summary(fit, times=, extend=TRUE)``): the values of the last curve
        row at or before t; before the first row S = 1 with SE 0 and limits 1 (R's
        ``survfit0`` origin); past the last observation the last row is carried forward
        ("treating the final censored subjects as immortal", R's help page), with
        ``n_risk`` 0. SAS convention (TIMELIST=): identical up to the last observed time;
        past it the curve is not estimable and S, SE and limits are NaN (SAS prints NE)
        unless the curve has already reached 0.
        """
        if np.ndim(times) == 0:
            times = [times]
        t = as_time(times, "times")
        tab = self.table
        utime = tab["time"].to_numpy()
        at_or_before = np.searchsorted(utime, t, side="right") - 1
        first_at_or_after = np.searchsorted(utime, t, side="left")
        n_risk = np.concatenate((tab["n_risk"].to_numpy(), [0.0]))[first_at_or_after]
        out = {"time": t, "n_risk": n_risk}
        origin = at_or_before < 0
        row = np.maximum(at_or_before, 0)
        for col, before in (("survival", 1.0), ("std_err", 0.0), ("lower", 1.0), ("upper", 1.0)):
            out[col] = np.where(origin, before, tab[col].to_numpy()[row])
        if not self._convention.extend:
            beyond = (t > utime[-1]) & (tab["survival"].to_numpy()[-1] > 0)
            for col in ("survival", "std_err", "lower", "upper"):
                out[col] = np.where(beyond, np.nan, out[col])
        return pd.DataFrame(out, columns=["time", "n_risk", "survival", "std_err", "lower", "upper"])

    # ---------------------------------------------------------------- RMST
    def rmst(self, tau: float, *, conf_level: float | None = None) -> RMST:
        """Restricted mean survival time up to ``tau``, exactly R ``print(fit, rmean=tau)``.

        See :func:`oncotrial.stats.rmst.rmst_from_curve` for the formula; the CI is
        normal, ``estimate -/+ z se``, at ``conf_level`` (default: the curve's).
        """
        from .rmst import rmst_from_curve

        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        tab = self.table
        return rmst_from_curve(tab["time"].to_numpy(), tab["survival"].to_numpy(),
                               tab["n_risk"].to_numpy(), tab["n_event"].to_numpy(), tau, level)

    # ---------------------------------------------------------------- output
    def to_frame(self) -> pd.DataFrame:
        """The curve table (a copy)."""
        return self.table.copy()

    def __repr__(self) -> str:
        med = self.median()
        ci = f"{self.conf_level:.0%} CI {_fmt(med.lower)}-{_fmt(med.upper)}"
        return (f"KaplanMeier(n={self.n}, events={_fmt(self.events)}, median={_fmt(med.estimate)} "
                f"({ci}), conf_type={self.conf_type!r}, convention={self.convention!r})")


def _fmt(x: float) -> str:
    return "NE" if math.isnan(x) else f"{x:.6g}"


def _check_p(p: Any) -> float:
    return as_fraction(p, "p", "a probability")


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R ``survival:::findq`` for one probability: where the step function y(x) reaches p.

    ``y`` is 1 - curve with a leading 0 and may hold NaN (undefined band values). R drops
    repeated y values (keeping the first occurrence, one NaN at most), then uses
    ``approx(y -/+ tol, index, p, "constant", f=1)``, i.e. the entry with the smallest
    y -/+ tol that is >= p, NaN below the range; the answer is the mean of the two x's,
    so it is the midpoint of a segment where y is within tol of p. If the last retained
    y is within tol of p, the segment runs to the last x (a final flat stretch).
    """
    if not np.nanmax(y) >= p:
        return math.nan
    _, first = np.unique(y, return_index=True, equal_nan=True)
    keep = np.sort(first)
    xs, ys = x[keep], y[keep]
    valid = ~np.isnan(ys)
    xv, yv = xs[valid], ys[valid]

    def smallest_at_least(shift: float) -> float:
        shifted = yv + shift
        if p < shifted.min():
            return math.nan
        ok = np.flatnonzero(shifted >= p)
        if ok.size == 0:
            return math.nan
        return float(xv[ok[np.argmin(yv[ok])]])

    low = smallest_at_least(TOLERANCE)
    quant = (low + smallest_at_least(-TOLERANCE)) / 2
    if not np.isnan(ys[-1]) and abs(p - ys[-1]) < TOLERANCE:
        quant = (low + float(x[-1])) / 2
    return quant


def _bc_accepts(s: np.ndarray, var: np.ndarray, level: float, conf_type: str,
                z: float) -> np.ndarray:
    """Brookmeyer–Crowley acceptance ``|g(S) - g(1-p)| <= z |g'(S)| σ(S)`` per event time.

    σ(S) = S sqrt(V) (Greenwood), so ``|g'(S)| σ`` is ``sqrt(V) S`` (plain), ``sqrt(V)``
    (log) and ``sqrt(V)/|log S|`` (log-log). Undefined where S is 0 (or V infinite).
    """
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            dist, half = np.abs(s - level), z * se * s
        elif conf_type == "log":
            dist, half = np.abs(np.log(s) - math.log(level)), z * se
        else:
            dist = np.abs(np.log(-np.log(s)) - math.log(-math.log(level)))
            half = z * se / np.abs(np.log(s))
        defined = (s > 0) & (s < 1) & np.isfinite(se)
        return defined & (dist <= half)


# --------------------------------------------------------------------------------------
# public constructors
# --------------------------------------------------------------------------------------
def build_curve(time: np.ndarray, n_risk: np.ndarray, n_event: np.ndarray, n_censor: np.ndarray,
                *, n: int, conf_type: str, conf_level: float, convention: Convention) -> KaplanMeier:
    """Assemble a :class:`KaplanMeier` from per-time counts (shared with followup.py)."""
    surv, var = km_curve(n_risk, n_event)
    logse = np.sqrt(var)
    lower, upper = confidence_band(surv, logse, conf_type, conf_level)
    with np.errstate(invalid="ignore"):
        std_err = logse * surv  # Greenwood SE of S; 0 * inf = NaN once S reaches 0, as in R
    table = pd.DataFrame({"time": time, "n_risk": n_risk, "n_event": n_event, "n_censor": n_censor,
                          "survival": surv, "std_err": std_err, "lower": lower, "upper": upper},
                         columns=TABLE_COLUMNS)
    return KaplanMeier(table=table, n=n, events=float(n_event.sum()), conf_type=conf_type,
                       conf_level=conf_level, convention=convention.name, _logse=logse,
                       _convention=convention)


def kaplan_meier(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[float] | np.ndarray | pd.Series,
    *,
    conf_type: ConfType | None = None,
    conf_level: float = 0.95,
    weights: Sequence[float] | np.ndarray | pd.Series | None = None,
    convention: str | Convention = "r",
) -> KaplanMeier:
    """Kaplan–Meier (product-limit) estimate of the survival function, with Greenwood CIs.

    ``S(t) = prod_{t_j <= t} (1 - d_j/n_j)`` with d_j events among n_j at risk at each
    distinct time (events at t precede censorings at t), and Greenwood's
    ``Var(log S(t)) = sum d_j/(n_j (n_j - d_j))``; ``std_err`` is ``S sqrt(Var)``.

    Mirrors R ``survfit(Surv(time, event) ~ 1, weights=, conf.type=, conf.int=)`` with
    its defaults (``timefix=TRUE``: near-equal times merged) and SAS ``PROC LIFETEST``
    (``METHOD=KM``, ``CONFTYPE=``, ``FREQ`` weights). The table keeps every distinct
    time, including censoring-only times, exactly as R stores the curve.

    Args:
        time: follow-up times, finite and >= 0.
        event: 1/True = event, 0/False = censored.
        conf_type: pointwise band ``"log"``, ``"log-log"`` or ``"plain"`` (see
            :func:`confidence_band`); None takes the convention's: ``"log"`` under R (the
            R default, best coverage per Borgan & Liestøl 1990), ``"log-log"`` under SAS.
        conf_level: two-sided level of every interval, default 0.95.
        weights: non-negative case weights (replication weights, e.g. a FREQ variable);
            counts become weighted sums and the variance is Greenwood's with weighted
            counts, i.e. R with ``robust=FALSE``. R switches to a robust (infinitesimal
            jackknife) variance by default for non-integer weights; this function does not.
        convention: ``"r"`` (default) or ``"sas"``: quantile rule, band default, landmarks
            past the last observation and time tie-merging (see the methods).

    Returns:
        A :class:`KaplanMeier` with the curve ``table`` and the methods ``quantile``,
        ``median``, ``survival_at``, ``rmst``.
    """
    conv = resolve_convention(convention)
    ctype = check_conf_type(conf_type, conv)
    level = check_conf_level(conf_level)
    t, e, w = survival_arrays(time, event, weights)
    uniq, inverse = distinct_times(t, conv)
    return fit_codes(uniq, inverse, e, w, conf_type=ctype, conf_level=level, convention=conv)


def fit_codes(uniq: np.ndarray, inverse: np.ndarray, event: np.ndarray, weights: np.ndarray, *,
              conf_type: str, conf_level: float, convention: Convention,
              subset: np.ndarray | None = None) -> KaplanMeier:
    """Fit from rows already coded by :func:`distinct_times` (optionally a subset of them).

    Per-arm curves use the codes of the whole data set, as R applies ``timefix`` to the
    whole response before splitting by group. A distinct time stays in the table if any
    row of the subset has it, even with zero weight (R keeps such rows too).
    """
    if subset is not None:
        inverse, event, weights = inverse[subset], event[subset], weights[subset]
    m = uniq.size
    if np.all(weights == 1.0):
        # unit weights (the usual case): integer counts of (time, event) cells in one pass
        cells = np.bincount(2 * inverse + event.astype(np.intp), minlength=2 * m).reshape(m, 2)
        n_event, n_censor = cells[:, 1].astype(float), cells[:, 0].astype(float)
        n_risk = np.cumsum(cells.sum(axis=1)[::-1])[::-1].astype(float)
    else:
        w_event = weights * event
        n_event = np.bincount(inverse, weights=w_event, minlength=m)
        n_censor = np.bincount(inverse, weights=weights - w_event, minlength=m)
        n_risk = np.cumsum(np.bincount(inverse, weights=weights, minlength=m)[::-1])[::-1]
    if subset is not None:
        present = np.bincount(inverse, minlength=m) > 0
        uniq, n_risk, n_event, n_censor = uniq[present], n_risk[present], n_event[present], n_censor[present]
    return build_curve(uniq, n_risk, n_event, n_censor, n=inverse.size, conf_type=conf_type,
                       conf_level=conf_level, convention=convention)


def loglog_data(km: KaplanMeier) -> pd.DataFrame:
    """Points of the log(-log S(t)) versus log t plot used to eye-ball proportional hazards.

    Returns ``time, log_time, survival, loglog`` at the event times where the transform
    is defined (t > 0 and 0 < S < 1); parallel curves for two arms support proportional
    hazards (Kalbfleisch & Prentice 1980 §4.4). The y values are those of R
    ``plot(fit, fun="cloglog")`` and SAS ``PLOTS=(LLS)``.
    """
    if not isinstance(km, KaplanMeier):
        raise TypeError(f"km: expected a KaplanMeier result, got {type(km).__name__}")
    tab = km.table
    s = tab["survival"].to_numpy()
    t = tab["time"].to_numpy()
    rows = (tab["n_event"].to_numpy() > 0) & (t > 0) & (s > 0) & (s < 1)
    return pd.DataFrame({"time": t[rows], "log_time": np.log(t[rows]), "survival": s[rows],
                         "loglog": np.log(-np.log(s[rows]))})
