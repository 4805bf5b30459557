"""Numerical core of :func:`oncotrial.stats.coxph`: one sort, then vectorised passes.

The partial likelihood, its gradient and its information matrix are computed in
O((n + D) p^2) per Newton step with no Python loop over rows or event times (D = number
of deaths); score residuals (for the robust variance) in O((n + D) p). The layout of the
data (sort order, blocks of tied times and of tied deaths) is computed once, outside the
Newton loop.

Notation (one stratum; strata only restart the sums). ``r_i = w_i exp(eta_i)``. A
*death block* is the set of d deaths at one time t, of total case weight W. For it:

* ``S0, S1`` : sums of ``r`` and ``r x`` over the risk set {i : t_i >= t};
* ``D0, D1`` : the same sums over the d deaths of the block;
* each death j of the block gets a rank ``k_j = 0..d-1`` and a fraction ``f_j = k_j / d``
  (Efron) or ``f_j = 0`` (Breslow), a denominator ``c_j = S0 - f_j D0``, a mean
  ``m_j = (S1 - f_j D1) / c_j`` and the mean case weight of the block ``wbar = W / d``
  (R ``coxfit6.c`` uses the mean weight of the tied deaths, ``wtave``).

Then (Efron 1977; Breslow when every ``f_j = 0``)::

    loglik = sum_deaths w_i eta_i - sum_j wbar log c_j
    U      = sum_deaths w_i x_i   - sum_j wbar m_j
    I      = sum_j wbar [ (S2 - f_j D2) / c_j - m_j m_j^T ]

where S2, D2 are the sums of ``r x x^T``. Three rearrangements make this cheap:

1. Only the scalars ``c_j`` are formed per death. Per block, with ``a1, af, a2, b2, g2``
   the sums over its deaths of ``1/c, f/c, 1/c^2, f/c^2, f^2/c^2``:
   ``sum_j m_j = a1 S1 - af D1`` and ``sum_j m_j m_j^T = a2 S1 S1^T - b2 (S1 D1^T +
   D1 S1^T) + g2 D1 D1^T``: p-vectors and p x p products per block, not per death.
2. The S2/D2 term is swapped into a sum over rows, i.e. one BLAS product: with
   ``A_b = wbar a1``, ``B_b = wbar af`` and ``C_i`` the sum of ``A_b`` over the blocks
   at or before t_i (same stratum), ``sum_j wbar (S2 - f_j D2) / c_j =
   sum_i r_i (C_i - delta_i B_b(i)) x_i x_i^T``.
3. Rows are sorted by (stratum, time, deaths first), so each distinct time is one or
   two contiguous segments (its deaths, its censorings): one ``reduceat`` gives the
   death-block sums D0, D1 and, after a reverse cumulative sum, S0 and S1.

Covariates are centred at their weighted means (as R does) and the linear predictor is
shifted by its maximum within each stratum before ``exp``; both leave every quantity
above unchanged and keep the sums free of overflow and cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CoxLayout", "CoxPass", "NewtonFit", "generalized_inverse", "infinite_coefficients", "newton",
           "quadratic_form"]

#: rows per chunk of the (p, n) products in a pass (a 3 MB buffer for p = 6)
CHUNK_ROWS = 65536
#: relative eigenvalue cut-off of a generalized inverse; R's ``toler.chol`` (eps^0.75)
SINGULAR_TOL = np.finfo(float).eps ** 0.75


def generalized_inverse(matrix: np.ndarray, tol: float = SINGULAR_TOL) -> tuple[np.ndarray, int]:
    """Inverse of a symmetric PSD matrix, or R's generalized inverse if it is singular; rank.

    Mirrors R's ``cholesky2``/``chinv2`` (used by ``coxfit6.c`` and ``coxph.wtest``): the
    columns are taken in order and a column is *dropped* when its pivot - its variance
    left after regressing on the columns kept so far - is below ``tol``; the result is
    the inverse of the kept block, zero elsewhere. So with e.g. fewer clusters than
    coefficients the Wald statistic uses the leading coefficients, exactly as R does
    (a Moore-Penrose inverse would give a different number). The matrix is first scaled
    to unit diagonal, so ``tol`` is relative to each coefficient's own variance (R scales
    the covariates inside ``coxfit6.c`` to the same effect). A coefficient drifting to
    infinity, whose information becomes tiny, keeps its pivot this way, so its Newton
    step stays visible to the infinite-coefficient check.
    """
    p = matrix.shape[0]
    diag = np.diag(matrix)
    scale = np.sqrt(np.where(diag > 0, diag, 1.0))
    scaled = matrix / np.outer(scale, scale)
    kept: list[int] = []
    for j in range(p):  # a loop over the p coefficients, not over data
        if diag[j] <= 0 or not np.isfinite(diag[j]):
            continue
        cross = scaled[kept, j]
        pivot = scaled[j, j] - (cross @ np.linalg.solve(scaled[np.ix_(kept, kept)], cross) if kept else 0.0)
        if pivot >= tol:
            kept.append(j)
    inverse = np.zeros_like(matrix)
    inverse[np.ix_(kept, kept)] = np.linalg.inv(scaled[np.ix_(kept, kept)])
    inverse /= np.outer(scale, scale)
    return (inverse + inverse.T) / 2, len(kept)


def quadratic_form(matrix: np.ndarray, vector: np.ndarray) -> tuple[float, int]:
    """``v' M^- v`` and the rank of M: the chi-square statistic of R's ``coxph.wtest``."""
    inverse, rank = generalized_inverse(matrix)
    return float(vector @ inverse @ vector), rank


def _segment_cumsum(values: np.ndarray, bounds: np.ndarray, reverse: bool) -> np.ndarray:
    """Cumulative sums along the last axis restarting at each ``bounds`` segment (stratum).

    A loop over strata (not rows): summing each stratum on its own keeps the relative
    precision of small strata, which subtracting offsets from one global cumsum would not.
    """
    out = np.empty_like(values)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        seg = values[..., start:stop]
        if reverse:
            out[..., start:stop] = np.cumsum(seg[..., ::-1], axis=-1)[..., ::-1]
        else:
            out[..., start:stop] = np.cumsum(seg, axis=-1)
    return out


@dataclass(frozen=True)
class CoxPass:
    """What one pass over the data computes at a given ``beta`` (sorted order).

    Besides the log-likelihood, score and information it keeps the per-block sums the
    score residuals need: ``s1`` and ``d1`` (p, B) are S1 and D1 of each death block,
    and ``a1, af, a2, b2, g2`` (B,) are the block sums over its tied deaths of
    ``1/c, f/c, 1/c^2, f/c^2, f^2/c^2``.
    """

    loglik: float
    score: np.ndarray  # U, (p,)
    info: np.ndarray  # I, (p, p)
    gross_info_diag: np.ndarray  # diag of sum_i v_i x_i x_i^T (before subtracting m m^T), (p,)
    risk: np.ndarray  # exp(eta - stratum max), (n,)
    s1: np.ndarray
    d1: np.ndarray
    a1: np.ndarray
    af: np.ndarray
    a2: np.ndarray
    b2: np.ndarray
    g2: np.ndarray


class CoxLayout:
    """Data sorted once by (stratum, time, deaths first) with the index arrays every pass needs.

    ``time``, ``event``, ``X`` (n, p), ``weights`` and ``strata`` are in the caller's
    row order; ``X`` is centred here (weighted column means, as R ``coxfit6.c``) and
    stored transposed, (p, n), so that every per-covariate sum runs over contiguous
    memory. Within a distinct time the deaths come first, so that each distinct time is
    one or two contiguous *segments* (its deaths, its censorings) and one ``reduceat``
    over the segments gives both the death-block sums and the risk-set increments.
    ``efron`` selects the tie handling. ``self.order`` maps sorted to caller rows.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, weights: np.ndarray,
                 strata: np.ndarray | None, efron: bool) -> None:
        n, p = X.shape
        self.n, self.p = n, p
        order = np.argsort(time)
        if strata is not None:
            small = np.int16 if strata.max() < np.iinfo(np.int16).max else np.intp
            order = order[np.argsort(strata[order].astype(small), kind="stable")]  # radix sort
        t_sorted = np.take(time, order)
        s_sorted = np.zeros(n, dtype=np.intp) if strata is None else np.take(strata, order)
        s_new = np.empty(n, dtype=bool)
        s_new[0] = True
        s_new[1:] = s_sorted[1:] != s_sorted[:-1]
        g_new = s_new.copy()
        g_new[1:] |= t_sorted[1:] != t_sorted[:-1]
        group_of_row = np.cumsum(g_new) - 1
        # deaths first within each distinct time (the input is sorted by group already,
        # so this stable sort of a nearly sorted key is cheap)
        order = np.take(order, np.argsort(group_of_row * 2 + (np.take(event, order) == 0), kind="stable"))
        self.order = order
        dead = np.take(event, order) > 0
        w = np.take(weights, order)
        self.weights = w

        # one contiguous row per covariate; np.take is much faster than fancy indexing
        self.centre = (weights @ X) / weights.sum()
        source = np.ascontiguousarray(X.T)  # free when X is a transposed (p, n) array
        XT = np.empty((p, n))
        for j in range(p):  # loop over covariates
            np.take(source[j], order, out=XT[j])
        XT -= self.centre[:, None]
        self.XT = XT

        # strata (rows and groups)
        self.stratum_row_start = np.flatnonzero(s_new)
        self.stratum_sizes = np.diff(np.append(self.stratum_row_start, n))
        group_start = np.flatnonzero(g_new)
        self.n_groups = group_start.shape[0]
        self.stratum_group_bounds = np.append(group_of_row[self.stratum_row_start], self.n_groups)

        # segments: the deaths, then the censorings, of each distinct time
        seg_new = g_new.copy()
        seg_new[1:] |= dead[:-1] & ~dead[1:]
        self.seg_start = np.flatnonzero(seg_new)
        self.seg_sizes = np.diff(np.append(self.seg_start, n))
        self.seg_group = group_of_row[self.seg_start]
        self.group_first_seg = np.searchsorted(self.seg_group, np.arange(self.n_groups))
        # row chunks of about CHUNK_ROWS rows made of whole segments: the (p, n) products
        # are formed chunk by chunk in a cache-sized buffer (a loop over ~n/65536 chunks)
        cuts = np.unique(np.searchsorted(self.seg_start, np.arange(CHUNK_ROWS, n, CHUNK_ROWS)))
        seg_cuts = np.concatenate(([0], cuts[(cuts > 0) & (cuts < self.seg_start.shape[0])],
                                   [self.seg_start.shape[0]]))
        row_cuts = np.append(self.seg_start, n)[seg_cuts]
        self.chunks = list(zip(row_cuts[:-1], row_cuts[1:], seg_cuts[:-1], seg_cuts[1:]))
        self._work = np.empty((p, int(np.diff(row_cuts).max())))
        self._row = np.empty(n)
        self.dead_seg = np.flatnonzero(dead[self.seg_start])
        self.block_group = self.seg_group[self.dead_seg]

        # deaths and death blocks (the tied deaths of one time = one dead segment)
        self.block_size = self.seg_sizes[self.dead_seg]
        n_dead = int(self.block_size.sum())
        self.block_start = np.cumsum(self.block_size) - self.block_size  # in death order
        self.wbar = np.add.reduceat(w[dead], self.block_start) / self.block_size
        self.efron = efron
        if efron:
            rank = np.arange(n_dead) - np.repeat(self.block_start, self.block_size)
            self.frac = rank / np.repeat(self.block_size, self.block_size)
        self.wx_dead = XT @ (dead * w)
        self.stratum_death_weight = np.add.reduceat(dead * w, self.stratum_row_start)

    def _risk(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``eta - max(eta within stratum)`` and that maximum per stratum (sorted order)."""
        eta = beta @ self.XT
        shift = np.maximum.reduceat(eta, self.stratum_row_start)
        eta -= shift[0] if shift.shape[0] == 1 else np.repeat(shift, self.stratum_sizes)
        return eta, shift

    def evaluate(self, beta: np.ndarray) -> CoxPass:
        """Log partial likelihood, score vector and information matrix at ``beta``."""
        XT, work = self.XT, self._work
        eta, shift = self._risk(beta)
        e = np.exp(eta, out=eta)
        r = np.multiply(self.weights, e, out=self._row)
        # sums over each segment; risk-set sums = reverse cumulative sums within strata
        seg_r = np.add.reduceat(r, self.seg_start)
        seg_xr = np.empty((self.p, self.seg_start.shape[0]))
        for a, b, sa, sb in self.chunks:
            xr = np.multiply(XT[:, a:b], r[a:b], out=work[:, :b - a])
            seg_xr[:, sa:sb] = np.add.reduceat(xr, self.seg_start[sa:sb] - a, axis=1)
        bounds = self.stratum_group_bounds
        s0 = _segment_cumsum(np.add.reduceat(seg_r, self.group_first_seg), bounds, True)[self.block_group]
        s1 = _segment_cumsum(np.add.reduceat(seg_xr, self.group_first_seg, axis=1), bounds,
                             True)[:, self.block_group]
        d0 = seg_r[self.dead_seg]
        d1 = seg_xr[:, self.dead_seg]
        wbar = self.wbar
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_c, a1, af, a2, b2, g2 = self._block_sums(s0, d0)
            loglik = float(beta @ self.wx_dead - self.stratum_death_weight @ shift - wbar @ log_c)
            score = self.wx_dead - s1 @ (wbar * a1) + d1 @ (wbar * af)
            # sum_j wbar m_j m_j^T with m_j = (S1 - f_j D1) / c_j, expanded per block
            cross = (s1 * (wbar * b2)) @ d1.T
            mm = (s1 * (wbar * a2)) @ s1.T - cross - cross.T + (d1 * (wbar * g2)) @ d1.T
            # v_i = r_i (C_i - delta_i B_b), constant on each segment
            a_grp = np.zeros(self.n_groups)
            a_grp[self.block_group] = wbar * a1
            seg_c = _segment_cumsum(a_grp, bounds, False)[self.seg_group]
            seg_c[self.dead_seg] -= wbar * af
            v = np.multiply(r, np.repeat(seg_c, self.seg_sizes), out=r)
            gross = np.zeros((self.p, self.p))
            for a, b, _, _ in self.chunks:
                gross += np.multiply(XT[:, a:b], v[a:b], out=work[:, :b - a]) @ XT[:, a:b].T
        info = gross - mm
        return CoxPass(loglik=loglik, score=score, info=(info + info.T) / 2,
                       gross_info_diag=np.diag(gross).copy(), risk=e, s1=s1, d1=d1, a1=a1,
                       af=af, a2=a2, b2=b2, g2=g2)

    def _block_sums(self, s0: np.ndarray, d0: np.ndarray) -> np.ndarray:
        """Per death block, the sums over its deaths of log c, 1/c, f/c, 1/c^2, f/c^2, f^2/c^2.

        Breslow (every f = 0, c = S0) in closed form per block; Efron per death (the
        scalars ``c_j = S0 - f_j D0`` only), summed with one ``reduceat``.
        """
        d = self.block_size
        if not self.efron:
            zero = np.zeros_like(s0)
            return np.stack([d * np.log(s0), d / s0, zero, d / s0**2, zero, zero])
        frac = self.frac
        c = np.repeat(s0, d) - frac * np.repeat(d0, d)
        inv = 1.0 / c
        terms = np.empty((6, c.shape[0]))
        np.log(c, out=terms[0])
        terms[1] = inv
        np.multiply(frac, inv, out=terms[2])
        np.multiply(inv, inv, out=terms[3])
        np.multiply(frac, terms[3], out=terms[4])
        np.multiply(frac, terms[4], out=terms[5])
        return np.add.reduceat(terms, self.block_start, axis=1)

    def score_residuals(self, ev: CoxPass) -> np.ndarray:
        """Unweighted score residuals, (p, n) in sorted order, at the pass ``ev`` (R type="score").

        For row i with time t_i (Therneau & Grambsch 2000, sec. 3.7; R ``coxscore2.c``)::

            L_i = delta_i (x_i - mbar(t_i))
                  - e_i sum_{death blocks t <= t_i} sum_j h_j (x_i - m_j) g_ij

        with ``h_j = wbar / c_j`` the hazard increment of death j, ``mbar`` the mean of
        the ``m_j`` of the block and ``g_ij = 1 - f_j`` when i is one of the tied deaths
        of that block (Efron's down-weighting), else 1. Per block, ``sum_j h_j = wbar a1``,
        ``sum_j h_j m_j = wbar (a2 S1 - b2 D1)``, ``sum_j h_j f_j = wbar af``, ``sum_j h_j
        f_j m_j = wbar (b2 S1 - g2 D1)``, ``mbar = (a1 S1 - af D1) / d``; running sums of
        the first two within strata make the cost O((n + D) p) instead of R 3.5-3's
        O(n D p).
        """
        wbar, bounds, dead, seg_group = self.wbar, self.stratum_group_bounds, self.dead_seg, self.seg_group
        h_grp = np.zeros(self.n_groups)
        h_grp[self.block_group] = wbar * ev.a1
        hm_grp = np.zeros((self.p, self.n_groups))
        hm_grp[:, self.block_group] = (ev.s1 * ev.a2 - ev.d1 * ev.b2) * wbar
        # everything is constant on a segment (the deaths, or the censorings, of one time):
        #   L_i = x_i (delta_i + e_i (delta_i hf - H)) + e_i (G - delta_i hmf) - delta_i mbar
        # with H, G the running sums and hf, hmf, mbar the death-block terms above
        seg_scalar = -_segment_cumsum(h_grp, bounds, False)[seg_group]
        seg_scalar[dead] += wbar * ev.af
        seg_vector = _segment_cumsum(hm_grp, bounds, False)[:, seg_group]
        seg_vector[:, dead] -= (ev.s1 * ev.b2 - ev.d1 * ev.g2) * wbar
        seg_mbar = np.zeros((self.p, seg_group.shape[0]))
        seg_mbar[:, dead] = (ev.s1 * ev.a1 - ev.d1 * ev.af) / self.block_size
        seg_delta = np.zeros(seg_group.shape[0])
        seg_delta[dead] = 1.0
        sizes, e = self.seg_sizes, ev.risk
        scalar = e * np.repeat(seg_scalar, sizes) + np.repeat(seg_delta, sizes)
        return (self.XT * scalar + np.repeat(seg_vector, sizes, axis=1) * e
                - np.repeat(seg_mbar, sizes, axis=1))


#: R ``coxph.control()``: ``eps`` and ``toler.inf = sqrt(eps)``, used by the infinite-beta check
R_EPS = 1e-9
R_TOLER_INF = np.sqrt(R_EPS)


@dataclass(frozen=True)
class NewtonFit:
    """Outcome of :func:`newton` (coefficients on the centred scale == original scale)."""

    beta: np.ndarray
    final: CoxPass
    initial: CoxPass
    step: np.ndarray  # the Newton step I^- U still pending at ``beta``
    iterations: int
    status: str  # "converged", "plateau" (loglik stopped changing) or "max_iter"


def newton(layout: CoxLayout, initial: CoxPass, max_iter: int = 30, step_tol: float = 1e-10,
           loglik_tol: float = 1e-12) -> NewtonFit:
    """Newton-Raphson from beta = 0 with step halving, iterated to the MLE.

    Stops with ``"converged"`` when the pending Newton step is below ``step_tol``
    relative to ``max(1, |beta_j|)`` for every j: Newton converges quadratically, so the
    returned beta is within ~1e-10 of the maximiser (R stops at a relative log-likelihood
    change of 1e-9, which leaves its coefficients up to ~1e-8 relative from it). Stops
    with ``"plateau"`` when an accepted step changes the log-likelihood by at most
    ``loglik_tol * max(1, |l|)``: either the limit of floating-point resolution (regular
    fits) or a monotone likelihood whose coefficient drifts to infinity (the caller tells
    them apart with R's ``toler.inf`` rule). ``initial`` is ``layout.evaluate(0)``. A step
    that lowers the log-likelihood (beyond that resolution) or makes it non-finite is
    halved, as in R ``coxfit6.c``. Each likelihood evaluation after the one at beta = 0
    counts as an iteration.
    """
    beta = np.zeros(layout.p)
    current = initial
    step = generalized_inverse(current.info)[0] @ current.score
    trial_step = step
    iterations = 0
    while iterations < max_iter:
        if np.all(np.abs(step) <= step_tol * np.maximum(1.0, np.abs(beta))):
            return NewtonFit(beta, current, initial, step, iterations, "converged")
        iterations += 1
        trial = layout.evaluate(beta + trial_step)
        tol = loglik_tol * max(1.0, abs(current.loglik))
        finite = np.isfinite(trial.loglik) and np.all(np.isfinite(trial.info))
        if not finite or trial.loglik < current.loglik - tol:
            trial_step = trial_step / 2
            continue
        gain = trial.loglik - current.loglik
        beta = beta + trial_step
        current = trial
        step = trial_step = generalized_inverse(current.info)[0] @ current.score
        if gain <= tol:
            return NewtonFit(beta, current, initial, step, iterations, "plateau")
    return NewtonFit(beta, current, initial, step, iterations, "max_iter")


def infinite_coefficients(fit: NewtonFit) -> np.ndarray:
    """R's ``toler.inf`` rule (``coxph.fit.R``): which coefficients look infinite.

    A coefficient is flagged when the one-step update ``I^-1 U`` at the final beta is
    larger than R's ``eps`` and than ``toler.inf * |beta_j|``, or the score is not finite:
    the log-likelihood has flattened out while the coefficient is still moving, which is
    what a monotone likelihood (e.g. a level without events) looks like.
    """
    step = np.abs(fit.step)
    return ~np.isfinite(fit.final.score) | ((step > R_EPS) & (step > R_TOLER_INF * np.abs(fit.beta)))
