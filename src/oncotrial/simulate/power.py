"""Monte-Carlo operating characteristics of an event-driven two-arm survival trial.

:func:`simulate_power` simulates whole trials — accrual, survival, dropout, event-driven
analyses with optional group-sequential looks, a log-rank test and a Cox hazard ratio at
each look — and reports the power (or type I error), its Monte-Carlo standard error, the
rejection and futility probabilities per look, and the distribution of the analysis time
and of the estimated hazard ratio. It is the simulation counterpart of
:func:`oncotrial.design.survival_power` (Schoenfeld's normal approximation,
``Phi(sqrt(D) sqrt(r)/(1 + r) |ln HR| - z_{1-alpha/sided})``), whose value it reports
alongside as ``analytic_power``, and of rpact's ``getSimulationSurvival`` (against which it
is validated within Monte-Carlo error, ``tests/fixtures/r/simulate_power.R``).

Why simulate when a formula exists: Schoenfeld's approximation is asymptotic (at the hazard
ratio 0.62 of the example below it is about 0.6 points optimistic: 0.7998 vs 0.793
simulated), and the formula says nothing about *when* the analyses happen, how variable that
is, how biased the hazard ratio of a trial stopped early is, or what dropout,
non-proportional (piecewise) hazards and stratification do.

Conventions are those of :mod:`oncotrial.design`: hazard ratio experimental / control,
allocation ratio experimental : control, dropout as the fraction lost by ``dropout_time``
(exponential, competing with the event), accrual uniform or piecewise with relative
intensities, a shared time unit. The log-rank statistic ``z`` is signed: negative when the
experimental arm has fewer events than expected (HR < 1). A one-sided test rejects when
``-z`` (``direction="lower"``, experimental better when the event is harmful) or ``z``
(``"upper"``) reaches the bound; a two-sided test when ``|z|`` does (both tails, as rpact
counts ``overallReject``).

Example — the bundled reference protocol's design (median PFS 6 vs 9.7 months, 150 patients
accrued over 24 months, final analysis at 136 events, two-sided 5 %)::

    >>> res = simulate_power(median_control=6, median_experimental=9.7, subjects=150,
    ...                      events=136, accrual_time=24, trials=20_000, seed=1)
    >>> round(res.power, 2), round(res.analytic_power, 4)          # doctest: +SKIP
    (0.79, 0.7998)

How the trials are simulated, and why results do not depend on the chunking or the
backend: :mod:`oncotrial.simulate._power_engine`.
"""

from __future__ import annotations

import math
import numbers
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import ndtri

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import as_fraction, check_seed
from oncotrial.design.events import (
    LN2,
    accrual_profile,
    check_allocation,
    check_dropout,
    check_sided,
    dropout_hazards,
    effect_size,
    positive_array,
)
from oncotrial.design.group_sequential import exit_probabilities
from oncotrial.simulate._dask_backend import check_scheduler, dask_map
from oncotrial.simulate._power_engine import (
    SLICE_SLOTS,
    Scenario,
    Stopping,
    patient_data,
    release_workspace,
    simulate_chunk,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QUANTILES", "SimulatedPower", "simulate_power"]

#: probabilities of the reported quantiles of the analysis time and of the hazard ratio
QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)
#: chunks (tasks) per run when ``chunk_size`` is not given: enough to balance the load of a
#: cluster and to move a progress bar, few enough that per-task overhead stays small
_CHUNKS = 50
_DESIGN_FIELDS = ("k", "alpha", "sided", "information_rates", "critical_values")
_OUTCOMES = ("final", "efficacy", "futility", "events not reached")


def _quantile_key(p: float) -> str:
    return f"{100 * p:g}%"


@dataclass(frozen=True, repr=False)
class SimulatedPower(Result):
    """Operating characteristics of a simulated trial design (see :func:`simulate_power`).

    Assumptions are echoed first (``lambda_*`` per piece of ``piecewise_time``;
    ``hazard_ratio`` / medians are None for non-proportional hazards / piecewise input).
    Per-look arrays have one entry per look (one for a fixed design): ``events``,
    ``critical_values`` (z scale), ``look_reached`` (fraction of trials that perform the
    look), ``rejection_per_look`` and ``futility_per_look`` (fractions of all trials
    stopping there), ``analysis_time_per_look`` and ``subjects_per_look`` (means over the
    trials performing the look).

    ``power`` is the fraction of trials rejecting H0 at some look (the type I error when
    the hazard ratio is 1), ``mc_se = sqrt(power (1 - power) / trials)``; ``analytic_power``
    the normal-approximation value for the same looks and bounds (Schoenfeld drift with the
    realised allocation, exact group-sequential crossing probabilities; None without
    proportional hazards). ``events_not_reached`` is the fraction of trials that never
    reach the events of their next look (dropout, or too few patients), counted as not
    rejecting (as rpact does). ``expected_*`` are means over the trials that stop at an
    analysis, at the look where they stop; ``analysis_time_quantiles`` and
    ``hazard_ratio_quantiles`` (Cox estimate) are taken at that look too, keyed ``"2.5%"``
    ... ``"97.5%"``. ``trial_table`` (``keep_trials=True``) has one row per trial and look.
    ``patients(trials)`` regenerates the patient-level data of any trials.
    """

    # assumptions
    hazard_ratio: float | None
    median_control: float | None
    median_experimental: float | None
    piecewise_time: np.ndarray
    lambda_control: np.ndarray
    lambda_experimental: np.ndarray
    subjects: int
    subjects_per_arm: dict[str, int]
    allocation_ratio: float
    accrual_time: np.ndarray
    accrual_intensity: np.ndarray
    entry: str
    dropout_rate: dict[str, float]
    dropout_time: float
    strata_prevalence: np.ndarray | None
    strata_hazard_ratio: np.ndarray | None
    stratified: bool
    alpha: float
    sided: int
    direction: str
    k: int
    information_rates: np.ndarray
    events: np.ndarray
    critical_values: np.ndarray
    futility_bounds: np.ndarray | None
    time_unit: str
    # simulation
    trials: int
    seed: int
    chunk_size: int
    # results
    power: float
    mc_se: float
    analytic_power: float | None
    rejections: int
    rejection_per_look: np.ndarray
    futility_per_look: np.ndarray | None
    look_reached: np.ndarray
    early_stop: float
    events_not_reached: float
    analysis_time_per_look: np.ndarray
    subjects_per_look: np.ndarray
    expected_events: float
    expected_subjects: float
    expected_analysis_time: float
    expected_analysis_time_se: float
    analysis_time_quantiles: dict[str, float]
    hazard_ratio_quantiles: dict[str, float]
    trial_table: pd.DataFrame | None
    _scenario: Scenario

    def look_table(self) -> pd.DataFrame:
        """One row per look: events, bounds, the fraction of trials reaching the look,
        rejecting / stopping for futility there (with Monte-Carlo SE), cumulative power,
        and the mean calendar time and patients randomised at the look."""
        import pandas as pd

        return pd.DataFrame(self.look_columns())

    def look_columns(self) -> dict[str, np.ndarray]:
        """The columns of :meth:`look_table` as arrays, for callers that have no use for a
        DataFrame (the command line, which then need not import pandas)."""
        reject = self.rejection_per_look
        futility = (np.zeros(self.k) if self.futility_per_look is None
                    else self.futility_per_look)
        bound = np.full(self.k, np.nan)
        if self.futility_bounds is not None:
            bound[: self.futility_bounds.size] = self.futility_bounds
        return {
            "look": np.arange(1, self.k + 1),
            "events": self.events,
            "critical_value": self.critical_values,
            "futility_bound": bound,
            "reached": self.look_reached,
            "rejection": reject,
            "rejection_se": np.sqrt(reject * (1 - reject) / self.trials),
            "futility": futility,
            "cumulative_power": np.cumsum(reject),
            "analysis_time": self.analysis_time_per_look,
            "subjects": self.subjects_per_look,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per scalar result (``quantity``, ``value``), quantiles as
        ``"analysis_time_quantiles.2.5%"`` ...; per-look values are in :meth:`look_table`."""
        import pandas as pd

        rows: list[tuple[str, Any]] = []
        for name, value in self.to_dict().items():
            if name == "trial_table" or isinstance(value, list):
                continue
            if isinstance(value, dict):
                rows.extend((f"{name}.{key}", v) for key, v in value.items())
            else:
                rows.append((name, value))
        return pd.DataFrame(rows, columns=["quantity", "value"])

    def patients(self, trials: int | Sequence[int]) -> pd.DataFrame:
        """Patient-level data of the given trial indices (0-based) at each look they reach,
        regenerated from the seed: ``trial, look, analysis_time, patient, arm, stratum,
        entry, event_time, dropout_time`` (latent times from entry; inf: never), and the
        analysed ``time`` (follow-up) and ``event`` (0/1). Only patients randomised before
        the look are listed. The statistics in ``trial_table`` are computed from exactly
        these data (e.g. ``oncotrial.stats.logrank_test(time, event, arm)``)."""
        import pandas as pd

        indices = np.atleast_1d(np.asarray(trials))
        if (indices.ndim != 1 or indices.dtype.kind not in "iu"
                or np.any(indices < 0) or np.any(indices >= self.trials)):
            raise InputError(f"trials: expected trial indices from 0 to {self.trials - 1}, "
                             f"got {trials!r}", field="trials")
        frames = [patient_data(self._scenario, self.seed, int(i), 1) for i in indices]
        return pd.concat(frames, ignore_index=True)

    def report(self) -> str:
        """The simulation report: assumptions, power, timing and hazard-ratio spread."""
        u = self.time_unit
        side = "two-sided" if self.sided == 2 else f"one-sided ({self.direction})"
        effect = ("piecewise hazards" if self.hazard_ratio is None
                  else f"hazard ratio {self.hazard_ratio:.4f}")
        looks = ", ".join(str(int(d)) for d in self.events)
        lines = [
            "Simulated power: two-arm comparison of time to event (log-rank test)",
            (f"  {effect}; {self.subjects} patients ({self.subjects_per_arm['control']} control, "
             f"{self.subjects_per_arm['experimental']} experimental); events at looks: {looks}"),
            f"  alpha {self.alpha:g} {side}; {self.trials:,} trials, seed {self.seed}",
            f"  power {self.power:.4f} (Monte-Carlo SE {self.mc_se:.4f})"
            + ("" if self.analytic_power is None
               else f"; normal approximation {self.analytic_power:.4f}"),
            (f"  expected analysis time {self.expected_analysis_time:.2f} {u} "
             f"(SE {self.expected_analysis_time_se:.2f}); expected events "
             f"{self.expected_events:.1f}"),
        ]
        if self.events_not_reached > 0:
            lines.append(f"  events never reached in {100 * self.events_not_reached:.2f}% "
                         "of trials")
        for label, values in (("analysis time", self.analysis_time_quantiles),
                              ("hazard ratio", self.hazard_ratio_quantiles)):
            lines.append(f"  {label} quantiles: "
                         + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
        if self.k > 1:
            text = self.look_table().to_string(index=False, float_format=lambda v: f"{v:.4f}",
                                               na_rep="-")
            lines += ["  " + line for line in text.splitlines()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


# ------------------------------------------------------------------------------ checks
def _count(value: Any, name: str, what: str, minimum: int = 1) -> int:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or value < minimum):
        raise InputError(f"{name}: expected {what} (an integer >= {minimum}), got {value!r}",
                         field=name)
    return int(value)


def _survival(median_control: Any, median_experimental: Any, hazard_ratio: Any,
              lambda_control: Any, lambda_experimental: Any, piecewise_time: Any
              ) -> tuple[np.ndarray, np.ndarray, float | None, float | None, float | None]:
    """(piece starts, (2, pieces) hazards, hazard ratio, median control, median experimental)."""
    hr: float | None
    if (median_control is None) == (lambda_control is None):
        raise InputError("median_control, lambda_control: expected exactly one of them (the "
                         "control median, or the control hazard(s) per piece of "
                         "piecewise_time), got " + ("both" if lambda_control is not None
                                                    else "neither"), field="median_control")
    if median_control is not None:
        for name, value in (("lambda_experimental", lambda_experimental),
                            ("piecewise_time", piecewise_time)):
            if value is not None:
                raise InputError(f"{name}: used with lambda_control (piecewise-exponential "
                                 "survival), not with median_control", field=name)
        hr_arr, m_c, m_e_arr = effect_size(median_control, median_experimental, hazard_ratio,
                                       allow_one=True)
        if hr_arr.size != 1:
            name = "hazard_ratio" if hazard_ratio is not None else "median_experimental"
            raise InputError(f"{name}: expected a single value, got {hr_arr.size}", field=name)
        hr = float(np.reshape(hr_arr, -1)[0])
        return (np.zeros(1), np.array([[LN2 / m_c], [LN2 / m_c * hr]]), hr, m_c,
                float(np.reshape(m_e_arr, -1)[0]))
    if median_experimental is not None:
        raise InputError("median_experimental: used with median_control; with lambda_control "
                         "give lambda_experimental or hazard_ratio", field="median_experimental")
    lam_c = positive_array(np.atleast_1d(lambda_control), "lambda_control",
                            "positive hazards, one per piece of piecewise_time")
    if piecewise_time is None:
        starts = np.zeros(1)
    else:
        try:
            starts = np.atleast_1d(np.asarray(piecewise_time, dtype=np.float64))
        except (TypeError, ValueError):
            starts = np.array([np.nan])
        if (starts.ndim != 1 or not np.all(np.isfinite(starts)) or starts[0] != 0
                or not np.all(np.diff(starts) > 0)):
            raise InputError("piecewise_time: expected the increasing start times of the "
                             f"hazard pieces, beginning at 0, got {piecewise_time!r}",
                             field="piecewise_time")
    if lam_c.size != starts.size:
        raise InputError(f"lambda_control: expected {starts.size} hazard(s), one per piece of "
                         f"piecewise_time {starts.tolist()}, got {lam_c.size}",
                         field="lambda_control")
    if (lambda_experimental is None) == (hazard_ratio is None):
        raise InputError("lambda_experimental, hazard_ratio: expected exactly one of them with "
                         "lambda_control, got " + ("both" if hazard_ratio is not None
                                                   else "neither"), field="hazard_ratio")
    if hazard_ratio is not None:
        hr_arr = positive_array(np.atleast_1d(hazard_ratio), "hazard_ratio",
                                 "a positive hazard ratio")
        if hr_arr.size != 1:
            raise InputError(f"hazard_ratio: expected a single value, got {hr_arr.size}",
                             field="hazard_ratio")
        hr = float(hr_arr[0])
        lam_e = lam_c * hr
    else:
        lam_e = positive_array(np.atleast_1d(lambda_experimental), "lambda_experimental",
                                "positive hazards, one per piece of piecewise_time")
        if lam_e.size != starts.size:
            raise InputError(f"lambda_experimental: expected {starts.size} hazard(s), one per "
                             f"piece of piecewise_time, got {lam_e.size}",
                             field="lambda_experimental")
        ratios = lam_e / lam_c
        hr = float(ratios[0]) if np.allclose(ratios, ratios[0], rtol=1e-12, atol=0) else None
    if starts.size == 1:
        m_c = LN2 / float(lam_c[0])
        return starts, np.stack([lam_c, lam_e]), hr, m_c, LN2 / float(lam_e[0])
    return starts, np.stack([lam_c, lam_e]), hr, None, None


def _strata(prevalence: Any, hazard_ratio: Any, stratified: Any
            ) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    if prevalence is None:
        if hazard_ratio is not None:
            raise InputError("strata_hazard_ratio: given without strata_prevalence",
                             field="strata_hazard_ratio")
        if stratified:
            raise InputError("stratified: a stratified analysis needs strata_prevalence",
                             field="stratified")
        return None, None, False
    prev = positive_array(np.atleast_1d(prevalence), "strata_prevalence",
                           "positive prevalences summing to 1")
    if prev.size < 2 or abs(prev.sum() - 1.0) > 1e-9:
        raise InputError("strata_prevalence: expected at least two positive prevalences "
                         f"summing to 1, got {prevalence!r}", field="strata_prevalence")
    if prev.size > 64:
        raise InputError(f"strata_prevalence: at most 64 strata, got {prev.size}",
                         field="strata_prevalence")
    if hazard_ratio is None:
        mult = np.ones(prev.size)
    else:
        mult = positive_array(np.atleast_1d(hazard_ratio), "strata_hazard_ratio",
                               "positive hazard multipliers, one per stratum")
        if mult.size != prev.size:
            raise InputError(f"strata_hazard_ratio: expected {prev.size} multipliers (one per "
                             f"stratum), got {mult.size}", field="strata_hazard_ratio")
    if stratified is not None and not isinstance(stratified, (bool, np.bool_)):
        raise TypeError(f"stratified: expected True or False, got {stratified!r}")
    return prev, mult, True if stratified is None else bool(stratified)


def _check_design(design: Any, alpha: Any, sided: Any
                  ) -> tuple[float, int, int, np.ndarray, np.ndarray, np.ndarray | None]:
    """(alpha, sided, k, information rates, critical values, futility bounds) of a design,
    checked: a design built by hand must describe the looks as consistently as one from
    :func:`oncotrial.design.group_sequential`."""
    missing = [f for f in _DESIGN_FIELDS if not hasattr(design, f)]
    if missing:
        raise TypeError(
            "design: expected a GroupSequentialDesign (from oncotrial.design.group_sequential), "
            f"got {type(design).__name__} without {', '.join(missing)}")
    k = design.k
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InputError(f"k: expected a number of looks >= 1, got {k!r}", field="k")
    k = int(k)
    rates = _float_array(design.information_rates)
    if (rates.shape != (k,) or not np.all(np.isfinite(rates)) or rates[0] <= 0
            or np.any(np.diff(rates) <= 0) or abs(rates[-1] - 1.0) > 1e-12):
        raise InputError(f"information_rates: expected {k} strictly increasing values in "
                         f"(0, 1] ending at 1 (one per look), got {design.information_rates!r}",
                         field="information_rates")
    crit = _float_array(design.critical_values)
    if crit.shape != (k,) or np.any(np.isnan(crit)):
        raise InputError(f"critical_values: expected {k} critical values (one per look), "
                         f"got {design.critical_values!r}", field="critical_values")
    futility = getattr(design, "futility_bounds", None)
    bounds = None if futility is None else _float_array(futility)
    if bounds is not None and (bounds.ndim != 1 or bounds.size > k or np.any(np.isnan(bounds))):
        raise InputError(f"futility_bounds: expected at most {k} bounds (one per look), "
                         f"got {futility!r}", field="futility_bounds")
    fixed = {"alpha": float(design.alpha), "sided": int(design.sided)}
    for name, given in (("alpha", alpha), ("sided", sided)):
        if given is None:
            continue
        try:
            same = math.isclose(float(given), fixed[name], rel_tol=1e-12)
        except (TypeError, ValueError):
            same = False
        if not same:
            raise InputError(f"{name}: the group-sequential design fixes {name} = "
                             f"{fixed[name]:g}; got {given!r} (leave {name} out)", field=name)
    return fixed["alpha"], int(fixed["sided"]), k, rates, crit, bounds


def _float_array(values: Any) -> np.ndarray:
    """``values`` as a float array; NaN where they are not numbers (then refused)."""
    try:
        return np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        return np.array([np.nan])


def _look_events(events: Any, subjects: int, rates: np.ndarray) -> np.ndarray:
    """Events at each look: ``ceil(events * information_rate)`` for a total, or as given."""
    if isinstance(events, (numbers.Integral, np.integer)) and not isinstance(events, bool):
        total = _count(events, "events", "a number of events")
        looks = np.ceil(total * rates - 1e-9).astype(np.int64)
    else:
        try:
            looks = np.atleast_1d(np.asarray(events))
        except (TypeError, ValueError):
            looks = np.array([np.nan])
        if looks.ndim != 1 or looks.dtype.kind not in "iu" or looks.size != rates.size:
            raise InputError(f"events: expected the number of events at the final analysis, or "
                             f"{rates.size} increasing integers (one per look), got {events!r}",
                             field="events")
        looks = looks.astype(np.int64)
    if looks[0] < 1 or np.any(np.diff(looks) <= 0):
        raise InputError(f"events: expected increasing positive events per look, got "
                         f"{looks.tolist()} (too few events for {rates.size} looks?)",
                         field="events")
    if looks[-1] > subjects:
        raise InputError(f"events: expected at most one event per patient ({subjects} "
                         f"subjects), got {int(looks[-1])}", field="events")
    return looks


def _seed(seed: Any) -> int:
    """``seed``, checked; ``None`` draws a fresh one (recorded in the result)."""
    return secrets.randbits(63) if seed is None else check_seed(seed)


def _arms(subjects: int, ratio: float, entry: str, accrual_time: np.ndarray,
          accrual_cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Arm of each patient column and, for regular entry, the entry times ``F^-1(i / N)``."""
    n_e = math.floor(subjects * ratio / (1 + ratio) + 0.5)
    if not 1 <= n_e <= subjects - 1:
        raise InputError(f"allocation_ratio: {ratio:g} leaves an arm without patients among "
                         f"{subjects} subjects", field="allocation_ratio")
    if entry == "random":
        return np.repeat(np.array([0, 1], dtype=np.int64), [subjects - n_e, n_e]), None
    # patient i is experimental when ceil((i + 1) n_e / N) steps up: E C E C ... at 1:1,
    # E E C ... at 2:1 -- rpact's sequence of allocation1 group-1 then allocation2 group-2
    # patients (the order matters a little: the last entrants drive the analysis time)
    i = np.arange(subjects)
    arm = ((-(i * n_e) // subjects) - (-((i + 1) * n_e) // subjects)).astype(np.int64)
    return arm, np.interp((i + 1) / subjects, accrual_cdf, accrual_time)


# ------------------------------------------------------------------------- analysis
def _analytic(hr: float | None, arm: np.ndarray, events: np.ndarray, crit: np.ndarray,
              futility: np.ndarray, sided: int, sign: float) -> float | None:
    """Normal-approximation power of the same looks: ``Z_k`` (signed so that the tested
    effect is positive) has drift ``sqrt(D_k) sqrt(r)/(1 + r) ln(HR)`` with the realised
    allocation ``r`` and correlation ``sqrt(D_j / D_k)``; exit probabilities by the recursive
    integration of :mod:`oncotrial.design.group_sequential`."""
    if hr is None:
        return None
    r = arm.sum() / (arm.size - arm.sum())
    drift = sign * math.sqrt(events[-1]) * math.sqrt(r) / (1 + r) * math.log(hr)
    rates = events / events[-1]
    lower = -crit if sided == 2 else futility
    lo, up = exit_probabilities(rates, lower, crit, drift)
    return float(up.sum() + (lo.sum() if sided == 2 else 0.0))


def _summarise(parts: list[dict[str, np.ndarray]], rule: Stopping, events: np.ndarray,
               keep_trials: bool) -> dict[str, Any]:
    """Apply the stopping rule to the per-trial statistics and summarise (with the
    per-trial table if ``keep_trials``)."""
    data = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    time, z = data["time"], data["z"]
    trials, k = time.shape
    stop = np.full(trials, k - 1)
    outcome = np.zeros(trials, dtype=np.int64)  # index into _OUTCOMES
    running = np.ones(trials, dtype=bool)
    reached = np.zeros(k)
    rejected = np.zeros(k)
    futile = np.zeros(k)
    time_sum = np.zeros(k)
    subjects_sum = np.zeros(k)
    for j in range(k):
        at_look = running & np.isfinite(time[:, j])
        missing = running & ~at_look
        efficacy, fut = rule.decide(z[:, j], j)
        efficacy &= at_look
        fut &= at_look
        outcome[efficacy], outcome[fut], outcome[missing] = 1, 2, 3
        stopped = efficacy | fut | missing
        stop[stopped] = j
        running &= ~stopped
        reached[j] = at_look.sum()
        rejected[j] = efficacy.sum()
        futile[j] = fut.sum()
        time_sum[j] = time[at_look, j].sum()
        subjects_sum[j] = data["subjects"][at_look, j].sum()
    index = np.arange(trials)
    analysed = outcome != 3
    stop_time = time[index, stop][analysed]
    log_hr = data["log_hr"][index, stop][analysed]
    n_analysed = stop_time.size
    power = float(rejected.sum() / trials)

    def quantiles(values: np.ndarray) -> dict[str, float]:
        if values.size == 0:
            return {_quantile_key(p): math.nan for p in QUANTILES}
        return {_quantile_key(p): float(q)
                for p, q in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)}

    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "power": power,
            "mc_se": math.sqrt(power * (1 - power) / trials),
            "rejections": int(rejected.sum()),
            "rejection_per_look": rejected / trials,
            "futility_per_look": futile / trials,
            "look_reached": reached / trials,
            "early_stop": float((rejected[:-1].sum() + futile[:-1].sum()) / trials),
            "events_not_reached": float((outcome == 3).mean()),
            "analysis_time_per_look": time_sum / reached,
            "subjects_per_look": subjects_sum / reached,
            "expected_events": float(events[stop[analysed]].mean()) if n_analysed else math.nan,
            "expected_subjects": float(data["subjects"][index, stop][analysed].mean())
            if n_analysed else math.nan,
            "expected_analysis_time": float(stop_time.mean()) if n_analysed else math.nan,
            "expected_analysis_time_se": float(stop_time.std(ddof=1) / math.sqrt(n_analysed))
            if n_analysed > 1 else math.nan,
            "analysis_time_quantiles": quantiles(stop_time),
            "hazard_ratio_quantiles": {key: math.exp(v) for key, v in
                                       quantiles(log_hr).items()},
        }
    if not keep_trials:
        return out | {"trial_table": None}
    import pandas as pd

    table = pd.DataFrame({
        "trial": np.repeat(index, k),
        "look": np.tile(np.arange(1, k + 1), trials),
        "events": np.tile(events, trials),
        "analysis_time": time.ravel(),
        "subjects": data["subjects"].ravel(),
        "z": z.ravel(),
        "log_hr": data["log_hr"].ravel(),
        "stop_look": np.repeat(stop + 1, k),
        "outcome": np.repeat(np.asarray(_OUTCOMES, dtype=object)[outcome], k),
    })
    return out | {"trial_table": table}


# --------------------------------------------------------------------------- public
def simulate_power(
    *,
    median_control: float | None = None,
    median_experimental: float | None = None,
    hazard_ratio: float | None = None,
    lambda_control: float | Sequence[float] | None = None,
    lambda_experimental: float | Sequence[float] | None = None,
    piecewise_time: Sequence[float] | None = None,
    subjects: int,
    events: int | Sequence[int],
    accrual_time: float | Sequence[float],
    accrual_intensity: Sequence[float] | None = None,
    entry: str = "random",
    allocation_ratio: float = 1.0,
    dropout_rate: float | Sequence[float] = 0.0,
    dropout_time: float = 12.0,
    strata_prevalence: Sequence[float] | None = None,
    strata_hazard_ratio: Sequence[float] | None = None,
    stratified: bool | None = None,
    alpha: float | None = None,
    sided: int | None = None,
    direction: str | None = None,
    design: Any = None,
    trials: int = 10_000,
    seed: int | None = None,
    chunk_size: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_trials: bool = False,
    time_unit: str = "months",
) -> SimulatedPower:
    """Simulate ``trials`` event-driven two-arm trials and report their operating
    characteristics (see the module notes for the conventions).

    Survival
        Exponential: ``median_control`` with ``median_experimental`` or ``hazard_ratio``
        (``lambda = ln 2 / median``). Piecewise exponential: ``lambda_control`` (one hazard
        per piece starting at ``piecewise_time = [0, t1, ...]``) with ``lambda_experimental``
        (per piece, non-proportional hazards allowed) or ``hazard_ratio`` — rpact's
        ``piecewiseSurvivalTime``, ``lambda2``, ``lambda1``. A hazard ratio of 1 simulates
        under H0 (``power`` is then the type I error).
    Patients
        ``subjects`` randomised, ``round(subjects r / (1 + r))`` of them experimental in
        every trial (``r = allocation_ratio``); accrual over ``accrual_time`` (a duration,
        or breakpoints ``[0, t1, ..., tm]`` with relative ``accrual_intensity`` per piece);
        ``entry="random"`` draws entry times i.i.d. from the accrual density,
        ``"regular"`` uses rpact's fixed grid of quantiles. Exponential dropout:
        ``dropout_rate`` lost by ``dropout_time`` (one value, or control/experimental).
        Optional strata with ``strata_prevalence`` (summing to 1) and hazard multipliers
        ``strata_hazard_ratio`` (prognostic strata); the analysis is then stratified
        (stratified log-rank and Cox, risk sets within strata) unless ``stratified=False``.
    Analyses
        ``events``: events at the final analysis, or the events of every look. With
        ``design`` (:func:`oncotrial.design.group_sequential`) the looks are at
        ``ceil(events * information_rates)`` events (as rpact's ``plannedEvents``), and
        the trial stops at the first look whose statistic crosses the design's critical
        value, or — one-sided designs with futility — falls below the (non-binding)
        futility bound; ``alpha`` and ``sided`` come from the design. Without a design:
        one analysis at ``events``, ``alpha`` (default 0.05) and ``sided`` (default 2)
        give the critical value ``z_{1 - alpha / sided}``. One-sided tests reject in
        ``direction``: ``"lower"`` (HR < 1; the default unless the hazard ratio is above 1)
        or ``"upper"``.
    Monte Carlo
        ``trials`` trials from ``seed`` (None draws one, recorded in the result), computed
        in chunks of ``chunk_size`` trials (default: 50 chunks, at least 300,000 patient
        slots each) in this
        process, on a new ``dask.distributed`` LocalCluster (``scheduler="local"``, with
        ``workers`` processes, default one per core) or on a running cluster
        (``scheduler="tcp://host:8786"``). The numbers are identical in every case.
        ``progress(done, total)`` is called as trials complete. ``keep_trials=True`` keeps
        the per-trial statistics in ``trial_table``, at every look of every trial (so the
        trials that stop early are analysed at the later looks too, which they otherwise
        are not; the results are the same).

    The run time is linear in ``trials x subjects x looks analysed``: about 250,000 trials
    of 150 patients per second and look on one core (``benchmarks/bench_simulate.py``).
    Memory: the work arrays of one slice (~50 MB) plus 32 bytes per trial and look for the
    per-trial statistics.

    References: Schoenfeld DA (1981), Biometrika 68:316-319 (the normal approximation);
    rpact ``getSimulationSurvival`` (Wassmer & Pahlke; the simulation design this follows:
    event-driven stages, rejection counted at the first crossing, dropout competing).
    """
    piece_start, hazard, hr, m_c, m_e = _survival(
        median_control, median_experimental, hazard_ratio, lambda_control,
        lambda_experimental, piecewise_time)
    subjects = _count(subjects, "subjects", "a number of patients", minimum=2)
    ratio = check_allocation(allocation_ratio)
    acc = accrual_profile(accrual_time, accrual_intensity)
    if entry not in ("random", "regular"):
        raise InputError(f"entry: expected 'random' or 'regular', got {entry!r}", field="entry")
    (drop_c, drop_e), d_time = check_dropout(dropout_rate, dropout_time)
    prevalence, strata_mult, stratified = _strata(strata_prevalence, strata_hazard_ratio,
                                                  stratified)
    if design is not None:
        alpha, sided, k, rates, crit, fut_bounds = _check_design(design, alpha, sided)
    else:
        alpha = as_fraction(0.05 if alpha is None else alpha, "alpha", "a significance level")
        sided = check_sided(2 if sided is None else sided)
        k, rates, fut_bounds = 1, np.ones(1), None
        crit = np.array([-float(ndtri(alpha / sided))])
    if direction is None:
        direction = "upper" if np.all(hazard[1] > hazard[0]) else "lower"
    if direction not in ("lower", "upper"):
        raise InputError(f"direction: expected 'lower' (HR < 1) or 'upper', got {direction!r}",
                         field="direction")
    sign = -1.0 if direction == "lower" else 1.0
    futility = np.full(k, -np.inf)
    if fut_bounds is not None:
        futility[: len(fut_bounds)] = fut_bounds
    look_events = _look_events(events, subjects, rates)
    trials = _count(trials, "trials", "a number of simulated trials")
    seed = _seed(seed)
    if chunk_size is None:
        chunk_size = max(SLICE_SLOTS // subjects, -(-trials // _CHUNKS), 1)
    chunk_size = _count(chunk_size, "chunk_size", "a number of trials per chunk")
    scheduler, workers = check_scheduler(scheduler, workers)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress: expected a callable progress(done, total), got {progress!r}")
    if not isinstance(keep_trials, (bool, np.bool_)):
        raise TypeError(f"keep_trials: expected True or False, got {keep_trials!r}")
    if not isinstance(time_unit, str) or not time_unit.strip():
        raise InputError(f"time_unit: expected the name of the time unit, got {time_unit!r}",
                         field="time_unit")

    cdf = np.concatenate(([0.0], np.cumsum(acc.density * np.diff(acc.breakpoints))))
    arm, entry_times = _arms(subjects, ratio, entry, acc.breakpoints, cdf)
    scenario = Scenario(
        arm=arm, entry=entry_times, accrual_time=acc.breakpoints, accrual_cdf=cdf,
        piece_start=piece_start, hazard=hazard,
        dropout_hazard=np.array(dropout_hazards((drop_c, drop_e), d_time)),
        strata_cdf=None if prevalence is None else np.cumsum(prevalence)[:-1],
        strata_multiplier=np.ones(1) if strata_mult is None else strata_mult,
        stratified=stratified, events=look_events)

    rule = Stopping(crit, futility, sided, sign)
    # the per-trial table shows every look of every trial; without it trials are analysed
    # only up to the look where they stop
    stopping = None if keep_trials else rule
    tasks = [(scenario, seed, start, min(chunk_size, trials - start), stopping)
             for start in range(0, trials, chunk_size)]
    finished = 0

    def done(i: int) -> None:
        nonlocal finished
        finished += tasks[i][3]
        if progress is not None:
            progress(finished, trials)

    if scheduler is None:
        parts = []
        try:
            for i, task in enumerate(tasks):
                parts.append(simulate_chunk(*task))
                done(i)
        finally:
            release_workspace()
    else:
        parts = dask_map(simulate_chunk, tasks, scheduler=scheduler, workers=workers, done=done)

    summary = _summarise(parts, rule, look_events, bool(keep_trials))
    n_e = int(arm.sum())
    return SimulatedPower(
        hazard_ratio=hr, median_control=m_c, median_experimental=m_e,
        piecewise_time=piece_start, lambda_control=hazard[0], lambda_experimental=hazard[1],
        subjects=subjects, subjects_per_arm={"control": subjects - n_e, "experimental": n_e},
        allocation_ratio=ratio, accrual_time=acc.breakpoints, accrual_intensity=acc.intensity,
        entry=entry, dropout_rate={"control": drop_c, "experimental": drop_e},
        dropout_time=d_time, strata_prevalence=prevalence, strata_hazard_ratio=strata_mult,
        stratified=stratified, alpha=alpha, sided=sided, direction=direction, k=k,
        information_rates=rates, events=look_events, critical_values=crit,
        futility_bounds=fut_bounds,
        time_unit=time_unit, trials=trials, seed=seed, chunk_size=chunk_size,
        analytic_power=_analytic(hr, arm, look_events, crit, futility, sided, sign),
        **{name: summary[name] for name in summary if name != "futility_per_look"},
        futility_per_look=summary["futility_per_look"] if fut_bounds is not None else None,
        _scenario=scenario,
    )

