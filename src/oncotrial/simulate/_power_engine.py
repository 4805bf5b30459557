"""The vectorised engine behind :func:`oncotrial.simulate.power.simulate_power`.

One call of :func:`simulate_chunk` simulates a run of consecutive trials as arrays of shape
(trials, patients): there is no Python loop per trial or per patient. The steps, per
chunk:

1. **Random numbers.** Every variate is the inversion of a uniform from NumPy's
   ``Generator.random`` on a PCG64 stream (one 64-bit draw per uniform). Trials are grouped
   in blocks of :data:`BLOCK_TRIALS`; variable ``v`` (entry, event, dropout, stratum) of
   block ``b`` comes from ``SeedSequence(seed, spawn_key=(b, v))``, which is
   ``SeedSequence(seed).spawn(n_blocks)[b].spawn(4)[v]``. Within a block, trial ``i``
   patient ``j`` of a variable is draw number ``i * subjects + j`` of its stream, and a
   chunk that starts inside a block jumps there with ``PCG64.advance``. So a trial's data
   depend only on (seed, trial index): the results are the same whatever the chunk size,
   the number of workers or the backend, and the first ``n`` trials of a longer run are the
   run of ``n`` trials.
2. **Patients.** Entry times are i.i.d. from the accrual density (``entry="random"``:
   inverse of the piecewise-linear accrual distribution function) or fixed at the quantiles
   ``F^-1(i / N)``, ``i = 1..N`` (``entry="regular"``: rpact's ``getSimulationSurvival``
   grid, ``i * a / N`` for uniform accrual). The arm of each patient column is fixed:
   exactly ``round(N r / (1 + r))`` experimental patients in every trial, as rpact's fixed
   allocation sequence gives (with random entry the columns are exchangeable, so which
   columns are experimental does not matter; with regular entry they follow rpact's
   sequence, E C E C ... at 1:1). Strata are drawn with the given prevalences.
3. **Times.** Event times invert the (piecewise-exponential) cumulative hazard of the
   patient's arm, scaled by the stratum's hazard multiplier: ``T = H^-1(E / m)`` with
   ``E = -log(1 - U)`` standard exponential; dropout times are exponential. A patient has
   an event at calendar time ``entry + T`` if ``T`` comes before dropout, never otherwise.
4. **Event-driven looks.** The look with ``D`` events is at the D-th smallest calendar
   event time of the trial (one ``np.sort`` of its event times serves every look); a
   trial with fewer than ``D`` events ever (dropout) never reaches it. At a look at
   calendar time ``t`` patient ``j`` is followed for ``min(T, C, t - entry)``, with an event
   if ``entry + T <= t``; patients randomised after ``t`` are not included.
5. **Log-rank and Cox per trial.** Each trial's patients are sorted by follow-up time with
   one ``np.sort`` of int64 keys: the IEEE bits of the (non-negative) time, whose two
   lowest mantissa bits are replaced by the arm and a censoring flag (events sort before
   censorings at the same time, so that the censored are at risk), with the stratum in the
   highest bits for a stratified analysis. Numbers at risk then are positions (``n = N - j``,
   or the end of the stratum minus ``j``) and cumulative sums of the arm flag. Times equal
   to within a few units in the last place (2 bits, 2 + log2(strata) bits stratified) are
   tied; tied events are handled exactly (the risk set at the tied time, the hypergeometric
   variance, Breslow's likelihood), in the rare trials that have them.

   With ``p = n1 / n`` the experimental share of the risk set at each event time,
   ``U = sum(d1 - d p)`` (observed minus expected experimental events) and
   ``V = sum(d (n - d) / (n - 1) p (1 - p))``; the log-rank statistic is ``z = U / sqrt(V)``
   (negative when the experimental arm has fewer events than expected) — R ``survdiff``,
   rpact's ``logRankTest``. The hazard ratio is the Cox estimate with the treatment as the
   only covariate (Breslow's likelihood; identical to Efron's without ties), by
   Newton–Raphson on all trials at once, safeguarded by bisection, to an error below
   1e-12 (see :data:`_NEWTON_TOL`), from a start taken from the log-rank's own sums
   (:func:`_series_start`). A trial whose events are
   all in one arm has an infinite estimate (0 or inf).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BLOCK_TRIALS", "SLICE_SLOTS", "Scenario", "Stopping", "patient_data",
           "release_workspace", "simulate_chunk"]

#: trials per random-number block (one SeedSequence child per block and variable)
BLOCK_TRIALS = 1000
#: the variables, each its own stream: spawn_key = (block, variable)
ENTRY, EVENT, DROPOUT, STRATUM = range(4)
#: patient slots (trials x patients) simulated at once: work arrays of 2.4 MB, which keeps
#: the array passes in cache (larger slices run slower, smaller ones pay more per call)
SLICE_SLOTS = 300_000

#: Newton stops once every step is below this (relative to 1 + |beta|) and takes that last
#: step: convergence is quadratic with a constant below 1 for one binary covariate (the
#: ratio of the third to twice the second cumulant of a Bernoulli variable), so the error
#: left is below 1e-12
_NEWTON_TOL = 1e-6
_NEWTON_MAX = 60
_NEWTON_MAX_STEP = 2.0  # log-HR units per Newton step
#: Newton goes on with only the rows still moving once at most 1 in this many are
_NEWTON_SUBSET = 4
_START_LIMIT = 20.0     # the start is clipped to +-20 (exp stays finite)
#: Newton steps on the cubic of :func:`_series_start`, and how far (relative to
#: ``1 + |Peto|``) its root may lie from Peto's estimate to be trusted
_SERIES_STEPS = 3
_SERIES_TRUST = 0.5


@dataclass(frozen=True)
class Scenario:
    """A validated simulation model (built by ``simulate_power``); small and picklable, so
    it travels to Dask workers as is.

    ``arm`` holds one 0 (control) / 1 (experimental) per patient column; ``entry`` the fixed
    entry times of ``entry="regular"`` (None: random); ``accrual_time`` / ``accrual_cdf`` the
    accrual breakpoints and the fraction randomised by each; ``piece_start`` the starts of
    the survival pieces (first 0) and ``hazard`` the (control, experimental) hazards per
    piece; ``dropout_hazard`` per arm (0: none); ``strata_cdf`` the cumulative prevalences
    of strata 1..S-1 (None: no strata) and ``strata_multiplier`` the hazard multiplier of
    each stratum; ``events`` the number of events at each look.
    """

    arm: np.ndarray
    entry: np.ndarray | None
    accrual_time: np.ndarray
    accrual_cdf: np.ndarray
    piece_start: np.ndarray
    hazard: np.ndarray
    dropout_hazard: np.ndarray
    strata_cdf: np.ndarray | None
    strata_multiplier: np.ndarray
    stratified: bool
    events: np.ndarray

    @property
    def subjects(self) -> int:
        return int(self.arm.size)

    @property
    def n_strata(self) -> int:
        return 1 if self.strata_cdf is None else self.strata_cdf.size + 1


@dataclass(frozen=True)
class Stopping:
    """The stopping rule of the looks: efficacy when the statistic (``|z|`` two-sided,
    ``sign * z`` one-sided) reaches ``critical``, futility when ``sign * z`` falls to
    ``futility`` (-inf: no futility bound); ``sign`` is -1 when a hazard ratio below 1 is
    tested. One rule for the engine, which stops analysing a trial once it stops, and for
    the summary, which counts where trials stop: the two cannot disagree."""

    critical: np.ndarray
    futility: np.ndarray
    sided: int
    sign: float

    def decide(self, z: np.ndarray, look: int) -> tuple[np.ndarray, np.ndarray]:
        """(efficacy, futility) flags of the trials whose statistic at ``look`` is ``z``."""
        statistic = np.abs(z) if self.sided == 2 else self.sign * z
        efficacy = statistic >= self.critical[look]
        return efficacy, ~efficacy & (self.sign * z <= self.futility[look])


# ------------------------------------------------------------------------- work arrays
class _Workspace(threading.local):
    """Work arrays reused from chunk to chunk (one set per thread).

    A fresh NumPy array of a few MB is fresh memory from the kernel, and touching it costs
    a page fault per 4 KiB; with ~40 array operations per look that cost more than the
    arithmetic (2-3x slower here). So every (trials x patients) array of the engine is one
    of these named buffers, sized for the largest slice seen and sliced to the slice.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, int], dtype: Any = np.float64) -> np.ndarray:
        array = self.arrays.get(name)
        if (array is None or array.dtype != dtype or array.shape[1] != shape[1]
                or array.shape[0] < shape[0]):
            array = np.empty(shape, dtype=dtype)
            self.arrays[name] = array
        return array[: shape[0]]


_WORKSPACE = _Workspace()


def release_workspace() -> None:
    """Free this thread's work arrays (after a run in this process)."""
    _WORKSPACE.arrays.clear()


# ------------------------------------------------------------------------ random numbers
def _uniforms(seed: int, variable: int, start: int, out: np.ndarray) -> np.ndarray:
    """Uniforms on [0, 1) for trials ``start .. start + len(out) - 1`` into ``out``."""
    size, n = out.shape
    row = 0
    for block in range(start // BLOCK_TRIALS, (start + size - 1) // BLOCK_TRIALS + 1):
        first = max(start - block * BLOCK_TRIALS, 0)
        stop = min(start + size - block * BLOCK_TRIALS, BLOCK_TRIALS)
        bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, variable)))
        if first:
            bits.advance(first * n)
        np.random.Generator(bits).random(out=out[row:row + stop - first])
        row += stop - first
    return out


def _standard_exponential(u: np.ndarray) -> np.ndarray:
    """``-log(1 - U)`` in place (``1 - U`` is exact for NumPy's uniforms, and never 0)."""
    np.subtract(1.0, u, out=u)
    np.log(u, out=u)
    np.negative(u, out=u)
    return u


@dataclass(frozen=True)
class _Patients:
    entry: np.ndarray        # (size, N), or (N,) for regular entry
    event: np.ndarray        # (size, N) latent time from entry to event
    dropout: np.ndarray | None  # (size, N) latent time to dropout, None without dropout
    stratum: np.ndarray | None  # (size, N) int64 stratum codes, None without strata
    followed: np.ndarray     # (size, N) min(event, dropout)
    calendar: np.ndarray     # (size, N) calendar time of the event, inf if it never happens


def _draw(sc: Scenario, seed: int, start: int, size: int) -> _Patients:
    ws = _WORKSPACE
    shape = (size, sc.subjects)
    if sc.entry is None:
        entry = _uniforms(seed, ENTRY, start, ws.get("entry", shape))
        if sc.accrual_time.size == 2:
            entry *= sc.accrual_time[1]
        else:
            entry = np.interp(entry, sc.accrual_cdf, sc.accrual_time)
    else:
        entry = sc.entry

    exposure = _standard_exponential(_uniforms(seed, EVENT, start, ws.get("exposure", shape)))
    stratum = None
    if sc.strata_cdf is not None:
        u = _uniforms(seed, STRATUM, start, ws.get("u_stratum", shape))
        stratum = ws.get("stratum", shape, np.int64)
        stratum.fill(0)
        flag = ws.get("flag", shape, np.bool_)
        for bound in sc.strata_cdf:  # stratum = number of cumulative prevalences <= u
            np.greater_equal(u, bound, out=flag)
            stratum += flag
        if np.any(sc.strata_multiplier != 1.0):
            exposure *= np.take(1.0 / sc.strata_multiplier, stratum, out=u)
    event = _invert_hazard(exposure, sc)

    dropout = None
    followed = event
    calendar = np.add(entry, event, out=ws.get("calendar", shape))
    if np.any(sc.dropout_hazard > 0):
        with np.errstate(divide="ignore"):
            scale = 1.0 / sc.dropout_hazard[sc.arm]
        dropout = _standard_exponential(_uniforms(seed, DROPOUT, start,
                                                  ws.get("dropout", shape)))
        dropout *= scale
        if not np.all(np.isfinite(scale)):  # an arm without dropout
            dropout[:, ~np.isfinite(scale)] = np.inf
        followed = np.minimum(event, dropout, out=ws.get("followed", shape))
        lost = np.less_equal(dropout, event, out=ws.get("flag", shape, np.bool_))
        np.copyto(calendar, np.inf, where=lost)
    return _Patients(entry, event, dropout, stratum, followed, calendar)


def _invert_hazard(exposure: np.ndarray, sc: Scenario) -> np.ndarray:
    """Event times ``H^-1(E)`` for the piecewise-constant hazards of each column's arm:
    the last piece whose cumulative hazard at its start is <= E holds the time. With one
    piece this is ``E / lambda``, computed in place."""
    hazard = sc.hazard[sc.arm]                       # (N, pieces)
    if sc.piece_start.size == 1:
        exposure *= 1.0 / hazard[:, 0]
        return exposure
    widths = np.diff(sc.piece_start)
    cumulative = np.zeros_like(hazard)
    cumulative[:, 1:] = np.cumsum(hazard[:, :-1] * widths, axis=1)
    time = np.multiply(exposure, 1.0 / hazard[:, 0],
                       out=_WORKSPACE.get("event", exposure.shape))
    candidate = _WORKSPACE.get("candidate", exposure.shape)
    later = _WORKSPACE.get("later", exposure.shape, np.bool_)
    for j in range(1, sc.piece_start.size):
        np.greater_equal(exposure, cumulative[:, j], out=later)
        np.subtract(exposure, cumulative[:, j], out=candidate)
        candidate *= 1.0 / hazard[:, j]
        candidate += sc.piece_start[j]
        np.copyto(time, candidate, where=later)
    return time


# --------------------------------------------------------------------------- one look
@dataclass(frozen=True)
class _Sorted:
    """One look's patients of each trial, sorted by follow-up time (within stratum)."""

    key: np.ndarray       # (rows, N) int64 sort keys (see the module notes)
    event: np.ndarray     # (rows, N) bool
    arm: np.ndarray       # (rows, N) int64 0/1
    at_risk: np.ndarray   # (N,) or (rows, N) float, n at each position
    at_risk_1: np.ndarray  # (rows, N) float, experimental patients at risk


def _stratum_bits(sc: Scenario) -> int:
    return int(sc.n_strata - 1).bit_length() if sc.stratified else 0


def _sort_look(pt: _Patients, sc: Scenario, t: np.ndarray, rows: np.ndarray | None,
               counts: tuple[np.ndarray, np.ndarray] | None) -> _Sorted:
    """Follow-up at calendar times ``t`` (one per row) sorted per trial; ``rows`` selects
    the trials (None: all); ``counts`` are the per-stratum patient and experimental counts
    of the selected trials (stratified analysis only)."""

    def pick(a: np.ndarray) -> np.ndarray:
        return a if rows is None or a.ndim == 1 else a[rows]

    ws = _WORKSPACE
    n = sc.subjects
    shape = (t.size, n)
    obs = np.subtract(t[:, None], pick(pt.entry), out=ws.get("obs", shape))
    np.minimum(obs, pick(pt.followed), out=obs)
    key = obs.view(np.int64)
    np.maximum(key, 0, out=key)        # not yet randomised (negative follow-up) -> +0.0
    work = ws.get("int", shape, np.int64)
    sb = _stratum_bits(sc)
    if sb:
        assert pt.stratum is not None
        key >>= sb
        key |= np.left_shift(pick(pt.stratum), 63 - sb, out=work)
    key &= ~np.int64(3)
    key |= sc.arm + 2                  # arm in bit 0, "censored" in bit 1 ...
    event = np.less_equal(pick(pt.calendar), t[:, None],
                          out=ws.get("event_flag", shape, np.bool_))
    key -= np.multiply(event, np.int64(2), out=work)  # ... cleared for events
    key.sort(axis=1)

    arm = np.bitwise_and(key, 1, out=ws.get("arm", shape, np.int64))
    event = np.equal(np.bitwise_and(key, 2, out=work), 0, out=event)
    cum_arm = np.cumsum(arm, axis=1, out=work)
    at_risk_1 = ws.get("at_risk_1", shape)
    if sb:
        assert counts is not None
        stratum = np.right_shift(key, 63 - sb, out=ws.get("stratum_sorted", shape, np.int64))
        total, total_1 = counts
        end = ws.get("end", shape, np.int64)
        end_1 = ws.get("end_1", shape, np.int64)
        end.fill(0)
        end_1.fill(0)
        flag = ws.get("flag_sorted", shape, np.bool_)
        product = ws.get("product", shape, np.int64)
        for s in range(sc.n_strata):   # stratum ends: patients in strata <= this one
            np.greater_equal(stratum, s, out=flag)
            end += np.multiply(flag, total[:, s:s + 1], out=product)
            end_1 += np.multiply(flag, total_1[:, s:s + 1], out=product)
        at_risk = np.subtract(end, np.arange(n), out=ws.get("at_risk", shape))
        np.subtract(end_1, cum_arm, out=at_risk_1)
    else:
        at_risk = (n - np.arange(n)).astype(np.float64)
        np.subtract(int(sc.arm.sum()), cum_arm, out=at_risk_1)
    at_risk_1 += arm
    return _Sorted(key, event, arm, at_risk, at_risk_1)


def _tie_correction(s: _Sorted) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """For trials with tied event times: numbers at risk at the start of each tied block
    and the hypergeometric factor ``(n - d) / (n - 1)`` per event; None if there are no ties
    (the usual case with continuous times)."""
    rows, n = s.key.shape
    times = np.right_shift(s.key, 2, out=_WORKSPACE.get("int", s.key.shape, np.int64))
    same = np.equal(times[:, 1:], times[:, :-1], out=_WORKSPACE.get("same", (rows, n - 1),
                                                                      np.bool_))
    if not same.any():
        return None
    same &= s.event[:, 1:]
    same &= s.event[:, :-1]
    tied = np.flatnonzero(same.any(axis=1))
    if tied.size == 0:
        return None
    at_risk = np.array(np.broadcast_to(s.at_risk, s.key.shape))
    at_risk_1 = s.at_risk_1.copy()
    factor = np.ones(s.key.shape)
    index = np.broadcast_to(np.arange(n), (tied.size, n))
    new = np.ones((tied.size, n), dtype=bool)
    new[:, 1:] = times[tied, 1:] != times[tied, :-1]
    last = np.ones((tied.size, n), dtype=bool)
    last[:, :-1] = new[:, 1:]
    start = np.maximum.accumulate(np.where(new, index, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, index, n - 1)[:, ::-1], axis=1)[:, ::-1]
    events = s.event[tied].astype(np.int64)
    cum = np.cumsum(events, axis=1)
    deaths = (np.take_along_axis(cum, end, axis=1)
              - np.take_along_axis(cum - events, start, axis=1))
    n_tied = np.take_along_axis(at_risk[tied], start, axis=1)
    at_risk[tied] = n_tied
    at_risk_1[tied] = np.take_along_axis(at_risk_1[tied], start, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor[tied] = np.where(n_tied > 1, (n_tied - deaths) / (n_tied - 1), 0.0)
    return at_risk, at_risk_1, factor


def _moments(at_risk_0: np.ndarray, events_1: np.ndarray, beta: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per row, ``sum p`` and ``sum p (1 - p)`` over the events, where
    ``p = n1 e^b / (n0 + n1 e^b)`` is the experimental share of the risk set at hazard ratio
    ``e^b``: the expected experimental events and the variance (at ``b = 0`` the log-rank's,
    elsewhere the Cox score's and information's parts). ``events_1`` is ``n1`` at events and
    0 elsewhere, and ``at_risk_0`` is ``n - events_1`` (so positive where ``events_1`` is
    0): non-events then add exactly 0, with no weights to multiply by."""
    p = _WORKSPACE.get("p", events_1.shape)
    work = _WORKSPACE.get("work", events_1.shape)
    np.multiply(events_1, np.exp(beta)[:, None], out=p)
    np.add(at_risk_0, p, out=work)
    np.divide(p, work, out=p)
    expected = p.sum(axis=1)
    return expected, expected - np.einsum("ij,ij->i", p, p)


def _cox(at_risk_0: np.ndarray, events_1: np.ndarray, d1: np.ndarray, d: np.ndarray,
         start: np.ndarray) -> np.ndarray:
    """Cox log hazard ratios (Breslow) of all rows by safeguarded Newton–Raphson.

    Score ``U(b) = d1 - sum_events p(b)`` and information ``I(b) = sum_events p (1 - p)``
    (:func:`_moments`); ``U`` decreases in ``b``, so the signs of ``U`` bracket the root and
    a Newton step leaving the bracket (or longer than 2) is replaced by bisection (or cut
    to 2). A row stops once its own step is below the tolerance (and takes it); the next
    iterations work on the rows still moving only, so that a few slow trials do not cost
    a pass over all of them."""
    active = (d1 > 0) & (d1 < d)
    beta = np.where(active & np.isfinite(start), np.clip(start, -_START_LIMIT, _START_LIMIT),
                    0.0)
    rows = np.arange(beta.size)
    b, a0, e1, target = beta, at_risk_0, events_1, d1
    lower = np.full(b.shape, -np.inf)
    upper = np.full(b.shape, np.inf)
    for _ in range(_NEWTON_MAX):
        s1, info = _moments(a0, e1, b)
        score = target - s1
        lower = np.where(score > 0, b, lower)
        upper = np.where(score < 0, b, upper)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.clip(score / info, -_NEWTON_MAX_STEP, _NEWTON_MAX_STEP)
        new = b + np.where(np.isfinite(step), step, 0.0)
        with np.errstate(invalid="ignore"):  # -inf + inf: no bracket yet
            mid = 0.5 * (lower + upper)
        outside = ~((new > lower) & (new < upper)) & np.isfinite(mid)
        new = np.where(outside, mid, new)
        moving = np.abs(new - b) > _NEWTON_TOL * (1.0 + np.abs(new))
        if rows.size == beta.size:
            moving &= active
            new = np.where(active, new, beta)
            beta = new
        else:
            beta[rows] = new
        count = np.count_nonzero(moving)
        if count == 0:
            break
        b = new
        if count > rows.size // _NEWTON_SUBSET:  # gathering the rows would cost as much
            continue
        rows, b, lower, upper = rows[moving], b[moving], lower[moving], upper[moving]
        target = target[moving]
        shape = (rows.size, at_risk_0.shape[1])
        a0 = np.take(at_risk_0, rows, axis=0, out=_WORKSPACE.get("cox_at_risk_0", shape))
        e1 = np.take(events_1, rows, axis=0, out=_WORKSPACE.get("cox_events_1", shape))
    beta[d1 == 0] = -np.inf
    beta[(d1 == d) & (d > 0)] = np.inf
    return beta


def _series_start(score: np.ndarray, power_sums: tuple[np.ndarray, ...]) -> np.ndarray:
    """A start for Newton's method closer to the Cox root than Peto's ``U / V``.

    The expected experimental events ``sum p(b)`` are a sum of logistic functions of ``b``
    whose Taylor coefficients at 0 are the Bernoulli cumulants ``k2 = sum p(1 - p)``,
    ``k3 = sum p(1 - p)(1 - 2p)``, ``k4 = sum p(1 - p)(1 - 6p + 6p^2)``, polynomials in the
    power sums ``S_j = sum p^j`` of the shares at ``b = 0``. The root of the cubic
    ``U - k2 b - k3 b^2 / 2 - k4 b^3 / 6`` is within ~1e-4 of the Cox estimate at the
    hazard ratios of trials (Peto's is within ~1e-1), which saves one Newton pass over
    the trials; where the cubic is no guide (not decreasing, far from Peto's) Peto's
    estimate is kept."""
    s1, s2, s3, s4 = power_sums
    k2 = s1 - s2
    k3 = s1 - 3 * s2 + 2 * s3
    k4 = s1 - 7 * s2 + 12 * s3 - 6 * s4
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        peto = score / k2
        b = peto
        for _ in range(_SERIES_STEPS):
            slope = k2 + k3 * b + 0.5 * k4 * b * b
            b = b + (score - k2 * b - 0.5 * k3 * b * b - k4 * b * b * b / 6) / slope
        good = (np.isfinite(b) & (k2 + k3 * b + 0.5 * k4 * b * b > 0)
                & (np.abs(b - peto) <= _SERIES_TRUST * (1.0 + np.abs(peto))))
    return np.where(good, b, peto)


def _statistics(s: _Sorted) -> tuple[np.ndarray, np.ndarray]:
    """Log-rank z and Cox log hazard ratio of each sorted trial.

    The two share their arrays: the log-rank's expected events and variance are the Cox
    score's parts at ``b = 0`` (:func:`_moments`, one kernel for both), and the power sums
    of the same shares give Newton's start (:func:`_series_start`). Tied event times (rare)
    change the log-rank variance (hypergeometric) but not Breslow's likelihood."""
    ws = _WORKSPACE
    shape = s.key.shape
    fixed = _tie_correction(s)
    at_risk, at_risk_1 = s.at_risk, s.at_risk_1
    if fixed is not None:
        at_risk, at_risk_1, factor = fixed
    d = np.count_nonzero(s.event, axis=1)
    both = np.logical_and(s.event, s.arm, out=ws.get("event_1_flag", shape, np.bool_))
    d1 = np.count_nonzero(both, axis=1).astype(np.float64)
    events_1 = np.multiply(at_risk_1, s.event, out=ws.get("events_1", shape))
    at_risk_0 = np.subtract(at_risk, events_1, out=ws.get("at_risk_0", shape))
    # _moments at b = 0, where n0 + n1 e^b is n itself (exactly: whole numbers)
    share = np.divide(events_1, at_risk, out=ws.get("p", shape))
    e_sum = share.sum(axis=1)
    s2 = np.einsum("ij,ij->i", share, share)
    square = np.multiply(share, share, out=ws.get("work", shape))
    start = _series_start(d1 - e_sum, (e_sum, s2, np.einsum("ij,ij->i", square, share),
                                       np.einsum("ij,ij->i", square, square)))
    variance = e_sum - s2
    if fixed is not None:
        share = np.divide(at_risk_1, at_risk, out=ws.get("share", shape))
        variance = (share * (1.0 - share) * factor * s.event).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (d1 - e_sum) / np.sqrt(variance), 0.0)
    return z, _cox(at_risk_0, events_1, d1, d, start)


def _strata_counts(pt: _Patients, sc: Scenario) -> tuple[np.ndarray, np.ndarray] | None:
    if not sc.stratified or pt.stratum is None:
        return None
    total = np.stack([(pt.stratum == s).sum(axis=1) for s in range(sc.n_strata)], axis=1)
    total_1 = np.stack([((pt.stratum == s) & (sc.arm == 1)).sum(axis=1)
                        for s in range(sc.n_strata)], axis=1)
    return total, total_1


def _look_times(pt: _Patients, events: np.ndarray) -> np.ndarray:
    """(size, k) calendar time of the D-th event for each look's D (inf: never reached).

    One sort of each trial's event times serves every look (a full sort with NumPy's SIMD
    kernels is also faster than ``np.partition`` at one look)."""
    part = _WORKSPACE.get("event_times", pt.calendar.shape)
    np.copyto(part, pt.calendar)
    part.sort(axis=1)
    return part[:, events - 1].copy()


def _subjects(entry: np.ndarray, t: np.ndarray) -> np.ndarray:
    if entry.ndim == 1:  # regular entry: sorted grid
        return np.searchsorted(entry, t, side="left").astype(np.float64)
    flag = np.less(entry, t[:, None], out=_WORKSPACE.get("entered", entry.shape, np.bool_))
    return np.count_nonzero(flag, axis=1).astype(np.float64)


# --------------------------------------------------------------------------- public
def simulate_chunk(sc: Scenario, seed: int, start: int, size: int,
                   stopping: Stopping | None = None) -> dict[str, np.ndarray]:
    """Simulate trials ``start .. start + size - 1``; arrays of shape (size, looks):
    ``time`` (calendar time of the look, NaN if never reached), ``subjects`` (randomised by
    then), ``z`` (log-rank) and ``log_hr`` (Cox), NaN where the look is not reached.

    Without ``stopping`` every look is analysed for every trial (the per-trial table shows
    them all); with it a trial is analysed up to the look where it stops and is NaN after
    it, as if it had not reached the later looks, which is all the summary needs — and, as
    in rpact, the simulation does only the work the trials do.

    The work is done in slices of at most :data:`SLICE_SLOTS` patient slots, whatever
    ``size`` is, so that a large chunk (few tasks for a cluster scheduler) stays as
    cache-friendly as a small one; results do not depend on the slicing."""
    step = max(1, SLICE_SLOTS // sc.subjects)
    parts = [_simulate_slice(sc, seed, first, min(step, start + size - first), stopping)
             for first in range(start, start + size, step)]
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _simulate_slice(sc: Scenario, seed: int, start: int, size: int,
                    stopping: Stopping | None) -> dict[str, np.ndarray]:
    pt = _draw(sc, seed, start, size)
    times = _look_times(pt, sc.events)
    k = sc.events.size
    out = {name: np.full((size, k), np.nan) for name in ("time", "subjects", "z", "log_hr")}
    counts = _strata_counts(pt, sc)
    running = np.ones(size, dtype=bool)
    for look in range(k):
        t = times[:, look]
        reached = np.isfinite(t)
        if stopping is not None:
            running &= reached
            reached = running.copy()
        rows = None if reached.all() else np.flatnonzero(reached)
        if rows is not None and rows.size == 0:
            continue
        sub_counts = counts if rows is None or counts is None else (counts[0][rows],
                                                                    counts[1][rows])
        t_rows = t if rows is None else t[rows]
        z, log_hr = _statistics(_sort_look(pt, sc, t_rows, rows, sub_counts))
        target = slice(None) if rows is None else rows
        out["time"][target, look] = t_rows
        out["z"][target, look] = z
        out["log_hr"][target, look] = log_hr
        entry = pt.entry if pt.entry.ndim == 1 or rows is None else pt.entry[rows]
        out["subjects"][target, look] = _subjects(entry, t_rows)
        if stopping is not None:
            efficacy, futility = stopping.decide(z, look)
            running[target] &= ~(efficacy | futility)
    return out


def patient_data(sc: Scenario, seed: int, start: int, size: int) -> pd.DataFrame:
    """The patients of trials ``start .. start + size - 1`` at each look they reach (the
    data :func:`simulate_chunk` analyses), one row per trial, look and patient."""
    import pandas as pd

    pt = _draw(sc, seed, start, size)
    times = _look_times(pt, sc.events)
    n = sc.subjects
    entry = np.broadcast_to(pt.entry, (size, n))
    dropout = np.full((size, n), np.inf) if pt.dropout is None else pt.dropout
    frames = []
    for look in range(sc.events.size):
        for i in range(size):
            t = times[i, look]
            if not np.isfinite(t):
                continue
            included = entry[i] < t
            frame = pd.DataFrame({
                "trial": start + i,
                "look": look + 1,
                "analysis_time": t,
                "patient": np.arange(n),
                "arm": np.where(sc.arm == 1, "experimental", "control"),
                "stratum": 0 if pt.stratum is None else pt.stratum[i],
                "entry": entry[i],
                "event_time": pt.event[i],
                "dropout_time": dropout[i],
                "time": np.minimum(pt.followed[i], t - entry[i]),
                "event": (pt.calendar[i] <= t).astype(np.int64),
            })
            frames.append(frame[included])
    columns = ["trial", "look", "analysis_time", "patient", "arm", "stratum", "entry",
               "event_time", "dropout_time", "time", "event"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
