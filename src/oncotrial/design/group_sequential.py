"""Group-sequential boundaries: classic Wang-Tsiatis (O'Brien-Fleming, Pocock) and
Lan-DeMets alpha-spending designs, with optional non-binding beta-spending futility bounds.

The conventions are rpact's ``getDesignGroupSequential()`` and ``getDesignCharacteristics()``
(rpact 3.3.4), against which the module is validated to 1e-6 relative
(``tests/fixtures/r/rpact_gsd.R``):

* information rates ``t_1 < ... < t_k = 1``; bounds are on the z scale;
* classic designs: ``c_j = C * t_j ** (Delta - 1/2)`` with ``Delta = 0`` (O'Brien-Fleming)
  or ``Delta = 1/2`` (Pocock), ``C`` chosen so that the overall level is ``alpha``; for
  unequal information rates this is rpact's definition (the bounds follow the information
  rates, not the look number);
* spending designs: the cumulative probability of crossing a bound by look ``j`` under H0
  equals the spending function at ``t_j``;
* ``sided = 2``: symmetric bounds ``+-c_j``; ``alpha`` is the total two-sided level. The
  O'Brien-Fleming-type spending function is then ``4 * (1 - Phi(z(1 - alpha/4) / sqrt(t)))``
  (rpact: ``2 * sided * (1 - Phi(z(1 - alpha/(2*sided)) / sqrt(t)))``), the Pocock-type and
  Hwang-Shih-DeCani functions are linear in ``alpha``;
* non-binding futility (one-sided only): the efficacy bounds ignore the futility bounds; the
  futility bounds spend ``beta`` under the drift at which the last futility bound equals the
  last efficacy bound, which is also the drift giving power ``1 - beta``;
* ``inflation_factor`` = (drift giving power ``1 - beta``)^2 / (z(1-alpha/sided) + z(1-beta))^2;
  for ``sided = 2`` power counts rejections in the direction of the effect only
  (rpact's default ``twoSidedPower = FALSE``).

Numerics: the recursive integration of Armitage, McPherson & Rowe (1969) for the canonical
joint distribution of ``Z_1 .. Z_k`` (Jennison & Turnbull 2000, ch. 19), with composite
Gauss-Legendre quadrature (12 nodes per panel, panels at most 3 times the narrowest
standard deviation the integrand varies on: 1, and the conditional standard deviations
``sqrt((t_j - t_{j-1}) / t_j)`` and ``sqrt((t_{j+1} - t_j) / t_j)``) over the continuation
region, truncated 9 standard deviations from the mean. Probabilities are accurate to about
1e-11 absolute (checked against a 4x finer rule and Jennison & Turnbull's Simpson grid with
r = 256); roots are found with Brent's method to 1e-13. Exit probabilities below ~1e-15
(bounds beyond ~8) are not resolved in relative terms; rpact reports such bounds as Inf,
here they are the finite solution of the spending equation.

Other differences from rpact: the default ``type`` is ``"asOF"`` (rpact's default is the
classic ``"OF"``); the last ``alpha_spent`` is not floored to 8 decimals (rpact prints
0.02499999); one-sided ``alpha`` must be below 0.5 (rpact also asks ``alpha >= 1e-6`` and
``beta >= 1e-4``); a ``gamma`` or ``futility_gamma`` that would be ignored is an error, not
a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtr, ndtri

from oncotrial.core.errors import InputError, OncotrialError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_fraction

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupSequentialDesign", "group_sequential", "spending_function"]

#: efficacy designs and futility (beta-spending) functions accepted
TYPES = ("OF", "P", "asOF", "asP", "asHSD")
FUTILITY_TYPES = ("bsOF", "bsP", "bsHSD")
K_MAX = 20
GAMMA_RANGE = (-10.0, 5.0)  # rpact's bounds for gammaA / gammaB of the HSD family

_TYPE_NAMES = {
    "OF": "O'Brien & Fleming",
    "P": "Pocock",
    "asOF": "O'Brien & Fleming type alpha spending",
    "asP": "Pocock type alpha spending",
    "asHSD": "Hwang, Shih & DeCani alpha spending",
    "bsOF": "O'Brien & Fleming type beta spending",
    "bsP": "Pocock type beta spending",
    "bsHSD": "Hwang, Shih & DeCani beta spending",
}


@dataclass(frozen=True, repr=False)
class GroupSequentialDesign(Result):
    """A group-sequential design: bounds, error spending and characteristics per look.

    ``critical_values`` are upper efficacy bounds on the z scale (``+-`` when ``sided == 2``);
    ``nominal_p`` the one-sided nominal levels ``1 - Phi(critical_values)``; ``alpha_spent``
    the cumulative type I error (two-sided total when ``sided == 2``); ``futility_bounds``
    the non-binding futility bounds at looks ``1 .. k-1`` and ``beta_spent`` the cumulative
    type II error spent (both ``None`` without futility); ``inflation_factor`` the maximum
    information relative to a fixed design with the same ``alpha``, ``beta`` and ``sided``;
    ``power_stages`` the cumulative probability of rejecting (in the direction of the effect)
    by each look under the alternative the design is powered for.
    """

    k: int
    type: str                       # "OF", "P", "asOF", "asP", "asHSD"
    alpha: float                    # as given (total; two-sided when sided=2)
    sided: int
    beta: float
    information_rates: np.ndarray   # (k,), last = 1
    critical_values: np.ndarray     # (k,) efficacy bounds on the z scale (upper; symmetric when sided=2)
    nominal_p: np.ndarray           # (k,) one-sided nominal p-values of the bounds, 1 - Phi(z)
    alpha_spent: np.ndarray         # (k,) cumulative alpha spent (total, two-sided when sided=2)
    futility_bounds: np.ndarray | None   # (k-1,) z, non-binding; None without futility
    beta_spent: np.ndarray | None        # (k,) cumulative; None without futility
    inflation_factor: float         # max information / fixed-design information
    power_stages: np.ndarray        # (k,) cumulative probability of rejecting by each look under H1
    gamma: float | None
    futility: str | None
    futility_gamma: float | None

    def to_frame(self) -> pd.DataFrame:
        """One row per look: ``look, information_rate, critical_value, nominal_p, alpha_spent``
        and, with futility, ``futility_bound`` (NaN at the last look) and ``beta_spent``."""
        import pandas as pd

        frame = pd.DataFrame({
            "look": np.arange(1, self.k + 1),
            "information_rate": self.information_rates,
            "critical_value": self.critical_values,
            "nominal_p": self.nominal_p,
            "alpha_spent": self.alpha_spent,
        })
        if self.futility_bounds is not None:
            frame["futility_bound"] = np.append(self.futility_bounds, np.nan)
            frame["beta_spent"] = self.beta_spent
        return frame

    @property
    def description(self) -> str:
        """The design type in words, e.g. ``"O'Brien & Fleming type alpha spending"``."""
        text = _TYPE_NAMES[self.type]
        if self.type == "asHSD":
            text += f" (gamma = {self.gamma:g})"
        if self.futility is not None:
            text += f"; non-binding futility: {_TYPE_NAMES[self.futility]}"
            if self.futility == "bsHSD":
                text += f" (gamma = {self.futility_gamma:g})"
        return text

    def __repr__(self) -> str:
        import pandas as pd

        side = "one-sided" if self.sided == 1 else "two-sided"
        head = (f"GroupSequentialDesign: {self.description}\n"
                f"  k = {self.k}, {side} alpha = {self.alpha:g}, beta = {self.beta:g}, "
                f"inflation factor = {self.inflation_factor:.6f}")
        table = self.to_frame()
        table["power"] = self.power_stages
        fmt = {"information_rate": "{:.4f}", "critical_value": "{:.4f}", "nominal_p": "{:.6f}",
               "alpha_spent": "{:.6f}", "futility_bound": "{:.4f}", "beta_spent": "{:.6f}",
               "power": "{:.4f}"}
        cols = {name: [("" if isinstance(v, float) and math.isnan(v) else fmt[name].format(v))
                       for v in table[name]] for name in table.columns if name != "look"}
        body = pd.DataFrame(cols, index=pd.Index(table["look"], name="look")).to_string()
        return f"{head}\n{body}"


# ----------------------------------------------------------------------------------------
# spending functions


def spending_function(kind: str, level: float, t: Any, sided: int = 1,
                      gamma: float | None = None) -> np.ndarray:
    """Cumulative error spent at information rates ``t`` (rpact's ``getSpendingValue``).

    ``kind`` is one of ``asOF, asP, asHSD`` (``level`` = total alpha, two-sided when
    ``sided == 2``) or ``bsOF, bsP, bsHSD`` (``level`` = beta).
    """
    t = np.asarray(t, dtype=float)
    if kind == "asOF":
        return 2.0 * sided * ndtr(-ndtri(1.0 - level / (2.0 * sided)) / np.sqrt(t))
    if kind == "bsOF":
        return 2.0 * ndtr(-ndtri(1.0 - level / 2.0) / np.sqrt(t))
    if kind in ("asP", "bsP"):
        return level * np.log1p((math.e - 1.0) * t)
    if kind in ("asHSD", "bsHSD"):
        if gamma is None:
            raise InputError(f"gamma: required for {kind}", field="gamma")
        if abs(gamma) < 1e-12:  # the limit gamma -> 0 (error below 1e-13 relative)
            return level * t
        return level * np.expm1(-gamma * t) / math.expm1(-gamma)
    raise InputError(f"kind: expected one of asOF, asP, asHSD, bsOF, bsP, bsHSD, got {kind!r}", field="kind")


# ----------------------------------------------------------------------------------------
# recursive integration


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)
_GL_UNIT = 0.5 * (_GL_NODES + 1.0)      # nodes and weights on [0, 1]
_GL_UNIT_WEIGHTS = 0.5 * _GL_WEIGHTS
_PANEL = 3.0      # panel width in units of the smallest relevant conditional sd
_REACH = 9.0      # integrate over mean +- 9 (standard deviations of Z_j)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_BIG = 40.0       # "infinite" z for root brackets
_MAX_DRIFT_RATIO = 3.0  # null grids also serve drifts up to 3 x the fixed design's


def _nodes(mean: float, lower: float, upper: float, scale: float,
           extra: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on (lower, upper) clipped to
    (mean - 9, mean + 9 + extra)."""
    lo = max(lower, mean - _REACH)
    hi = min(upper, mean + _REACH + extra)
    if not hi > lo:
        return np.empty(0), np.empty(0)
    panels = max(1, math.ceil((hi - lo) / (_PANEL * scale)))
    width = (hi - lo) / panels
    z = lo + width * (np.arange(panels)[:, None] + _GL_UNIT).ravel()
    w = np.tile(width * _GL_UNIT_WEIGHTS, panels)
    return z, w


class _Walk:
    """The sub-density of ``Z_j`` on the continuation region, advanced look by look.

    The state before look ``j`` is a set of points ``z`` for ``Z_{j-1}`` with quadrature
    weights times sub-density ``h`` (a point mass at 0 before the first look). ``S_j =
    Z_j sqrt(t_j)`` given ``Z_{j-1} = z`` is normal with mean ``z sqrt(t_{j-1}) + drift *
    (t_j - t_{j-1})`` and variance ``t_j - t_{j-1}``. ``states`` keeps ``(z, h)`` before
    each look. ``extra`` widens the grids upwards by ``extra * sqrt(t_j)`` so that the
    null states also carry the sub-densities under drifts up to ``extra`` (see
    :func:`_tilted_upper`).
    """

    def __init__(self, t: np.ndarray, drift: float, extra: float = 0.0):
        self.t = t
        self.sqrt_t = np.sqrt(t)
        self.dt = np.diff(np.concatenate(([0.0], t)))
        self.sd = np.sqrt(self.dt)
        self.drift = drift
        self.extra = extra
        self.j = 0
        self.z = np.zeros(1)
        self.h = np.ones(1)
        self.states = [(self.z, self.h)]
        self._set_mean()

    def _set_mean(self) -> None:
        j = self.j
        prev = self.sqrt_t[j - 1] if j > 0 else 0.0
        self.mean = self.z * prev + self.drift * self.dt[j]

    def upper(self, c: float) -> float:
        """P(continue to look j, Z_j >= c)."""
        j = self.j
        return float(self.h @ ndtr((self.mean - c * self.sqrt_t[j]) / self.sd[j]))

    def lower(self, a: float) -> float:
        """P(continue to look j, Z_j <= a)."""
        j = self.j
        return float(self.h @ ndtr((a * self.sqrt_t[j] - self.mean) / self.sd[j]))

    def upper_slope(self, c: float) -> tuple[float, float]:
        """``upper(c)`` and minus its derivative in ``c``."""
        j = self.j
        x = (self.mean - c * self.sqrt_t[j]) / self.sd[j]
        slope = self.h @ np.exp(-0.5 * x * x) * (_INV_SQRT_2PI * self.sqrt_t[j] / self.sd[j])
        return float(self.h @ ndtr(x)), float(slope)

    def lower_slope(self, a: float) -> tuple[float, float]:
        """``lower(a)`` and its derivative in ``a``."""
        j = self.j
        x = (a * self.sqrt_t[j] - self.mean) / self.sd[j]
        slope = self.h @ np.exp(-0.5 * x * x) * (_INV_SQRT_2PI * self.sqrt_t[j] / self.sd[j])
        return float(self.h @ ndtr(x)), float(slope)

    def advance(self, a: float, c: float) -> None:
        """Restrict ``Z_j`` to the continuation region (a, c) and move to look j + 1."""
        j = self.j
        scale = min(1.0, self.sd[j] / self.sqrt_t[j], self.sd[j + 1] / self.sqrt_t[j])
        z, w = _nodes(self.drift * self.sqrt_t[j], a, c, scale, self.extra * self.sqrt_t[j])
        if z.size and self.h.size:
            x = (z[:, None] * self.sqrt_t[j] - self.mean[None, :]) / self.sd[j]
            density = np.exp(-0.5 * x * x) @ self.h
            self.h = w * density * (_INV_SQRT_2PI * self.sqrt_t[j] / self.sd[j])
        else:
            self.h = np.zeros(z.size)
        self.z = z
        self.j = j + 1
        self.states.append((self.z, self.h))
        self._set_mean()


def _walk(t: np.ndarray, lower: np.ndarray, upper: np.ndarray, drift: float,
          extra: float = 0.0) -> tuple[np.ndarray, np.ndarray, _Walk]:
    k = t.size
    lo = np.empty(k)
    up = np.empty(k)
    walk = _Walk(t, drift, extra)
    for j in range(k):
        lo[j] = walk.lower(lower[j])
        up[j] = walk.upper(upper[j])
        if j < k - 1:
            walk.advance(lower[j], upper[j])
    return lo, up, walk


def exit_probabilities(t: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                        drift: float) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of stopping below ``lower`` and above ``upper`` at each look."""
    lo, up, _ = _walk(t, lower, upper, drift)
    return lo, up


def _tilted_upper(states: list, t: np.ndarray, upper: np.ndarray, drift: float) -> np.ndarray:
    """Probabilities of stopping above ``upper`` at each look under ``drift``, from the
    sub-densities under H0 (``states``, for the same continuation regions).

    The likelihood ratio of drift ``d`` to 0 given ``Z_1 .. Z_j`` depends only on the score:
    ``exp(d S_j - d^2 t_j / 2)`` with ``S_j = Z_j sqrt(t_j)``, so the sub-density under the
    drift is the null sub-density times that factor, and no new integration is needed.
    """
    sqrt_t = np.sqrt(t)
    t_prev = np.concatenate(([0.0], t[:-1]))
    dt = t - t_prev
    sd = np.sqrt(dt)
    up = np.empty(t.size)
    for j, (z, h) in enumerate(states):
        score = z * (sqrt_t[j - 1] if j > 0 else 0.0)
        weight = h * np.exp(drift * score - 0.5 * drift * drift * t_prev[j])
        up[j] = weight @ ndtr((score + drift * dt[j] - upper[j] * sqrt_t[j]) / sd[j])
    return up


def _root(f, lo: float, hi: float) -> float:
    from scipy.optimize import brentq  # imported here: scipy.optimize takes ~0.3 s to import

    return brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)


def _newton(f_and_slope, start: float, lo: float, hi: float) -> float:
    """Root of an increasing function with ``f(lo) <= 0 <= f(hi)``: Newton steps from
    ``start``, safeguarded by bisection of the bracket."""
    x = min(max(start, lo), hi)
    for _ in range(200):
        f, slope = f_and_slope(x)
        f, slope = float(f), float(slope)
        if f == 0.0:
            return x
        if f > 0.0:
            hi = x
        else:
            lo = x
        new = x - f / slope if abs(f) < slope * 1e100 else math.nan  # no step if flat
        if abs(new - x) <= 1e-13 * (1.0 + abs(x)):
            return new
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
            if hi - lo <= 1e-13 * (1.0 + abs(new)):
                return new
        x = new
    return x  # pragma: no cover


def _spending_bounds(t: np.ndarray, spend: np.ndarray, sided: int,
                     extra: float) -> tuple[np.ndarray, np.ndarray, list]:
    """Efficacy bounds from cumulative alpha ``spend`` (ignoring any futility bounds), the
    cumulative alpha spent and the null states."""
    k = t.size
    bounds = np.empty(k)
    exits = np.empty(k)
    walk = _Walk(t, 0.0, extra)
    for j in range(k):
        target = spend[j] - exits[:j].sum()

        def shortfall(c: float, target: float = target) -> tuple[float, float]:
            """target - P(exit at look j), increasing in c, and its slope."""
            p, slope = walk.upper_slope(c)
            if sided == 2:
                p_low, slope_low = walk.lower_slope(-c)
                p, slope = p + p_low, slope + slope_low
            return target - p, slope

        if target <= 0.0:
            bounds[j] = math.inf
        elif j == 0:
            bounds[j] = float(-ndtri(target / sided))
        else:
            start = float(-ndtri(min(target / sided, 0.5)))
            bounds[j] = _newton(shortfall, start, 0.0 if sided == 2 else -_BIG, _BIG)
        exits[j] = target - shortfall(bounds[j])[0]
        if j < k - 1:
            walk.advance(-bounds[j] if sided == 2 else -math.inf, bounds[j])
    return bounds, np.cumsum(exits), walk.states


def _lower_of(bounds: np.ndarray, sided: int) -> np.ndarray:
    return -bounds if sided == 2 else np.full(bounds.size, -math.inf)


def _wang_tsiatis_bounds(t: np.ndarray, alpha: float, sided: int, delta: float,
                         extra: float) -> tuple[np.ndarray, np.ndarray, list]:
    """Classic bounds ``C * t ** (delta - 1/2)`` with overall level ``alpha``."""
    shape = t ** (delta - 0.5)

    def excess(scale: float) -> float:
        bounds = scale * shape
        lo, up = exit_probabilities(t, _lower_of(bounds, sided), bounds, 0.0)
        return up.sum() + (lo.sum() if sided == 2 else 0.0) - alpha

    # P(Z_k > C) <= level <= sum_j P(Z_j > c_j) <= k P(Z > C) brackets the root (widened a
    # little: the lower end is nearly a root when the early bounds are very high)
    lo = float(-ndtri(alpha / sided)) * (1.0 - 1e-6)
    hi = float(-ndtri(alpha / (sided * t.size))) * (1.0 + 1e-6)
    scale = _root(excess, lo, hi)
    bounds = scale * shape
    lower_exit, upper_exit, walk = _walk(t, _lower_of(bounds, sided), bounds, 0.0, extra)
    spent = np.cumsum(upper_exit + lower_exit if sided == 2 else upper_exit)
    return bounds, spent, walk.states


def _increasing_root(f, start: float, first: float = 1.25) -> float:
    """Root of an increasing function of the drift, searched from ``start`` (> 0) upwards
    (and downwards if need be); values are cached so that Brent's method does not repeat
    the end points."""
    cache: dict[float, float] = {}

    def g(x: float) -> float:
        if x not in cache:
            cache[x] = f(x)
        return cache[x]

    lo, hi = start, first * start
    while g(lo) > 0.0 and lo > 1e-3:
        lo, hi = lo / 2.0, lo
    for _ in range(60):
        if g(hi) >= 0.0:
            return _root(g, lo, hi)
        lo, hi = hi, 1.5 * hi
    raise OncotrialError("group_sequential: could not bracket the drift")  # pragma: no cover


def _upper_exits(states: list, t: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 drift: float, reach: float) -> np.ndarray:
    """Probabilities of stopping above ``upper`` under ``drift``: from the null ``states``
    when their grids reach far enough (``drift <= reach``), else by a new recursion."""
    if drift <= reach:
        return _tilted_upper(states, t, upper, drift)
    return exit_probabilities(t, lower, upper, drift)[1]


def _power_drift(states: list, t: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 power: float, start: float, reach: float) -> float:
    """Drift at which the probability of crossing ``upper`` (by the last look) is ``power``;
    ``states`` are the null sub-densities on the continuation regions (lower, upper)."""

    def shortfall(drift: float) -> float:
        return _upper_exits(states, t, lower, upper, drift, reach).sum() - power

    return _increasing_root(shortfall, start)


def _futility_bounds(t: np.ndarray, upper: np.ndarray, beta_spend: np.ndarray,
                     drift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Futility bounds spending ``beta_spend`` under ``drift`` (all k looks), with the
    futility and efficacy exit probabilities per look."""
    k = t.size
    bounds = np.empty(k)
    fut = np.empty(k)
    eff = np.empty(k)
    walk = _Walk(t, drift)
    for j in range(k):
        target = beta_spend[j] - fut[:j].sum()

        def excess(a: float, target: float = target) -> tuple[float, float]:
            p, slope = walk.lower_slope(a)
            return p - target, slope

        if j == 0:
            bounds[j] = float(ndtri(target)) + drift * walk.sqrt_t[0]
        elif walk.lower(_BIG) < target:  # not enough mass left to spend the target
            bounds[j] = _BIG
        else:
            start = float(ndtri(beta_spend[j])) + drift * walk.sqrt_t[j]
            bounds[j] = _newton(excess, start, -_BIG, _BIG)
        fut[j] = walk.lower(bounds[j])
        eff[j] = walk.upper(upper[j])
        if j < k - 1:
            walk.advance(bounds[j], upper[j])
    return bounds, fut, eff


def _beta_spending(t: np.ndarray, upper: np.ndarray, beta_spend: np.ndarray,
                   start: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Non-binding beta spending: the drift at which the last futility bound meets the last
    efficacy bound, and the futility bounds and exit probabilities there. ``start`` is the
    drift giving power ``1 - beta`` without futility bounds, a lower bound of the root."""
    results: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def gap(drift: float) -> float:
        results[drift] = _futility_bounds(t, upper, beta_spend, drift)
        return results[drift][0][-1] - upper[-1]

    drift = _increasing_root(gap, start, first=1.08)
    bounds, fut, eff = results[drift] if drift in results else _futility_bounds(
        t, upper, beta_spend, drift)
    return drift, bounds, fut, eff


# ----------------------------------------------------------------------------------------
# the public function


def _check_k(k: Any) -> int:
    """The number of looks: a whole number (TypeError otherwise) from 1 to ``K_MAX``."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k: expected a whole number of looks (int), got {type(k).__name__} {k!r}")
    if not 1 <= k <= K_MAX:
        raise InputError(f"k: expected a number of looks from 1 to {K_MAX} (1 = a fixed design), "
                         f"got {k!r}", field="k")
    return int(k)


def _check_information_rates(information_rates: Any, k: int) -> np.ndarray:
    if information_rates is None:
        return np.arange(1, k + 1) / k
    try:
        rates = np.asarray(information_rates, dtype=float).ravel()
    except (TypeError, ValueError):
        rates = np.array([math.nan])
    if rates.size != k:
        raise InputError(f"information_rates: expected {k} values (one per look, k = {k}), "
                         f"got {rates.size}", field="information_rates")
    if not (np.all(np.isfinite(rates)) and rates[0] > 0.0 and np.all(np.diff(rates) > 0.0)
            and abs(rates[-1] - 1.0) <= 1e-12):
        raise InputError("information_rates: expected strictly increasing values in (0, 1] "
                         f"ending at 1, got {rates.tolist()}", field="information_rates")
    rates = rates.copy()
    rates[-1] = 1.0
    return rates


def _check_gamma(gamma: Any, name: str, kind: str) -> float:
    if gamma is None:
        raise InputError(f"{name}: required for {kind} (a number in [{GAMMA_RANGE[0]:g}, "
                         f"{GAMMA_RANGE[1]:g}])", field=name)
    try:
        value = float(gamma)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(gamma, bool) or not GAMMA_RANGE[0] <= value <= GAMMA_RANGE[1]:
        raise InputError(f"{name}: expected a number in [{GAMMA_RANGE[0]:g}, "
                         f"{GAMMA_RANGE[1]:g}] for {kind}, got {gamma!r}", field=name)
    return value


def _frozen(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float)
    out.setflags(write=False)
    return out


def group_sequential(k: int, *, alpha: float = 0.025, sided: int = 1, beta: float = 0.2,
                     information_rates: Any = None, type: str = "asOF",
                     gamma: float | None = None, futility: str | None = None,
                     futility_gamma: float | None = None) -> GroupSequentialDesign:
    """Boundaries of a group-sequential design with ``k`` looks (rpact conventions).

    Parameters
    ----------
    k : number of looks, 1 to 20 (the last is the final analysis).
    alpha : overall type I error; the total two-sided level when ``sided == 2``.
        ``alpha / sided`` must be below 0.5.
    sided : 1 (upper efficacy bounds) or 2 (symmetric two-sided bounds).
    beta : type II error, in (0, 1 - alpha); it sets ``inflation_factor`` and
        ``power_stages``, and the futility bounds.
    information_rates : information fractions of the looks, strictly increasing in (0, 1]
        and ending at 1; default equally spaced ``(1..k)/k``.
    type : ``"OF"`` / ``"P"`` (classic O'Brien-Fleming / Pocock, Wang-Tsiatis with
        Delta = 0 / 0.5), ``"asOF"`` / ``"asP"`` (Lan-DeMets O'Brien-Fleming / Pocock type
        alpha spending) or ``"asHSD"`` (Hwang-Shih-DeCani alpha spending with ``gamma``).
    gamma : HSD parameter in [-10, 5] (``type="asHSD"`` only; 0 spends linearly).
    futility : ``None`` or a beta-spending function for non-binding futility bounds,
        ``"bsOF"``, ``"bsP"`` or ``"bsHSD"`` (with ``futility_gamma``); only with
        alpha-spending types, one-sided designs and ``k >= 2``.
    futility_gamma : HSD parameter of the beta-spending function (``futility="bsHSD"``).

    Returns
    -------
    GroupSequentialDesign

    Examples
    --------
    >>> d = group_sequential(3, alpha=0.025, type="asOF")
    >>> d.critical_values.round(4).tolist()
    [3.7103, 2.5114, 1.993]
    """
    k = _check_k(k)
    if isinstance(sided, bool) or sided not in (1, 2):
        raise InputError(f"sided: expected 1 (one-sided) or 2 (two-sided), got {sided!r}", field="sided")
    sided = int(sided)
    alpha = as_fraction(alpha, "alpha", "a type I error rate")
    if alpha / sided >= 0.5:
        limit = "(0, 0.5) for a one-sided design" if sided == 1 else "(0, 1)"
        raise InputError(f"alpha: expected a type I error rate in {limit}, got {alpha!r}", field="alpha")
    beta = as_fraction(beta, "beta", "a type II error rate")
    if beta >= 1.0 - alpha:
        raise InputError(f"beta: expected a type II error rate in (0, 1 - alpha) = "
                         f"(0, {1.0 - alpha:g}), got {beta!r}", field="beta")
    if not isinstance(type, str) or type not in TYPES:
        raise InputError(f"type: expected one of {', '.join(TYPES)}, got {type!r}", field="type")
    if type == "asHSD":
        gamma = _check_gamma(gamma, "gamma", "type='asHSD'")
    elif gamma is not None:
        raise InputError(f"gamma: only used with type='asHSD', got gamma={gamma!r} "
                         f"with type={type!r}", field="gamma")
    if futility is not None:
        if not isinstance(futility, str) or futility not in FUTILITY_TYPES:
            raise InputError(f"futility: expected None or one of {', '.join(FUTILITY_TYPES)}, "
                             f"got {futility!r}", field="futility")
        if type not in ("asOF", "asP", "asHSD"):
            raise InputError(f"futility: beta spending needs an alpha-spending type "
                             f"(asOF, asP, asHSD), got type={type!r}", field="futility")
        if sided != 1:
            raise InputError(f"futility: beta-spending futility bounds need sided=1, "
                             f"got sided={sided!r}", field="futility")
        if k < 2:
            raise InputError("futility: futility bounds need k >= 2 looks, got k=1", field="futility")
    if futility == "bsHSD":
        futility_gamma = _check_gamma(futility_gamma, "futility_gamma", "futility='bsHSD'")
    elif futility_gamma is not None:
        raise InputError(f"futility_gamma: only used with futility='bsHSD', got "
                         f"futility_gamma={futility_gamma!r} with futility={futility!r}", field="futility_gamma")
    t = _check_information_rates(information_rates, k)

    z_alpha = float(-ndtri(alpha / sided))
    fixed_drift = z_alpha + float(-ndtri(beta))
    futility_bounds = beta_spent = None
    if k == 1:
        bounds = np.array([z_alpha])
        alpha_spent = np.array([alpha])
        drift = fixed_drift
        power = np.array([1.0 - beta])
    else:
        # the null grids also serve drifts up to `extra` (capped so that the likelihood
        # ratios exp(drift * score) stay far from overflow)
        extra = min(_MAX_DRIFT_RATIO * fixed_drift, 20.0)
        if type in ("OF", "P"):
            delta = 0.0 if type == "OF" else 0.5
            bounds, alpha_spent, states = _wang_tsiatis_bounds(t, alpha, sided, delta, extra)
        else:
            spend = spending_function(type, alpha, t, sided, gamma)
            spend[-1] = alpha  # exactly, whatever the rounding of the formula
            bounds, alpha_spent, states = _spending_bounds(t, spend, sided, extra)
        lower = _lower_of(bounds, sided)
        drift = _power_drift(states, t, lower, bounds, 1.0 - beta, fixed_drift, extra)
        if futility is None:
            power = np.cumsum(_upper_exits(states, t, lower, bounds, drift, extra))
        else:
            beta_spend = spending_function(futility, beta, t, 1, futility_gamma)
            beta_spend[-1] = beta
            drift, fut, fut_exit, eff_exit = _beta_spending(t, bounds, beta_spend, drift)
            futility_bounds = fut[:-1]
            beta_spent = np.cumsum(fut_exit)
            power = np.cumsum(eff_exit)

    return GroupSequentialDesign(
        k=k, type=type, alpha=alpha, sided=sided, beta=beta,
        information_rates=_frozen(t),
        critical_values=_frozen(bounds),
        nominal_p=_frozen(ndtr(-bounds)),
        alpha_spent=_frozen(alpha_spent),
        futility_bounds=None if futility_bounds is None else _frozen(futility_bounds),
        beta_spent=None if beta_spent is None else _frozen(beta_spent),
        inflation_factor=float(drift * drift / (fixed_drift * fixed_drift)),
        power_stages=_frozen(power),
        gamma=gamma, futility=futility, futility_gamma=futility_gamma,
    )
