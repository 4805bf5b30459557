"""Numerical core of :func:`oncotrial.stats.coxph`: vectorised passes over unsorted rows.

The partial likelihood, its gradient and its information matrix are computed in
O((n + D) p^2) per Newton step with no Python loop over rows or event times (D = number
of deaths); score residuals (for the robust variance) in O((n + D) p). The layout of the
data (segments, blocks of tied times and of tied deaths) is computed once, outside the
Newton loop, and without sorting the rows when the times are short decimals (e.g. days).

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
2. The S2/D2 term is swapped into one weighted sum over rows: with ``A_b = wbar a1``,
   ``B_b = wbar af`` and ``C_i`` the sum of ``A_b`` over the blocks at or before t_i
   (same stratum), ``sum_j wbar (S2 - f_j D2) / c_j = sum_i r_i (C_i - delta_i B_b(i))
   x_i x_i^T``.
3. The rows stay in the caller's order, each labelled with its *segment*: the deaths,
   or the censorings, of one distinct time in one stratum, numbered in (stratum, time,
   deaths first) order. One ``bincount`` per covariate gives the segment sums, hence
   the death-block sums D0, D1 and, after a reverse cumulative sum over the segments,
   S0 and S1; what is constant on a segment (such as ``C_i - delta_i B_b(i)``) reaches
   the rows by one ``take`` from a small table. So no column is ever gathered into
   sorted order (a random-access copy), and short decimal times (days; months to 0.1)
   need no sort at all: they are coded by counting, as in Kaplan–Meier and the log-rank
   test (other times cost one ``np.unique``).

Covariates are centred at their weighted means (as R does) and the linear predictor is
shifted by its maximum within each stratum before ``exp``; both leave every quantity
above unchanged and keep the sums free of overflow and cancellation.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from oncotrial.stats._counting import dense_codes, scaled_time_codes

__all__ = ["CoxLayout", "CoxPass", "NewtonFit", "generalized_inverse", "infinite_coefficients", "newton",
           "quadratic_form", "single_threaded_blas"]

#: rows per chunk of the (p, n) products in a pass (a 3 MB buffer for p = 6), and deaths
#: per chunk of the Efron terms
CHUNK_ROWS = 65536
#: deaths per product in the Efron log-sums (see ``CoxLayout._block_sums``)
LOG_RUN = 16
#: relative eigenvalue cut-off of a generalized inverse; R's ``toler.chol`` (eps^0.75)
SINGULAR_TOL = np.finfo(float).eps ** 0.75


_BLAS: Any = None


def single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """A context in which the BLAS runs on one thread.

    A Cox fit makes many small matrix products (p x p, p x chunk); a multi-threaded
    OpenBLAS splits each across its threads and then waits for the slowest, so when
    another process keeps a core busy every product waits for a descheduled thread and
    the fit slows down several-fold. One thread costs nothing at these sizes and keeps
    the fit's time independent of the load. The thread pools are found once per process
    (``threadpoolctl``), so entering the context costs microseconds.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


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


def _dense_codes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes 0..m-1 of the distinct values of ``key`` (non-negative integers) in increasing
    order of value, the distinct values and their counts (``np.unique`` with inverse and
    counts), by counting when the values are few enough (:func:`dense_codes`)."""
    codes, values = dense_codes(key, int(key.max()) + 1)
    return codes, values, np.bincount(codes, minlength=values.shape[0])


def _time_codes(time: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0..m-1 that order the times as they are (equal times, equal codes), and m.

    Short decimal times (days; months to 0.1) are coded by counting, with no sort
    (:func:`scaled_time_codes`, as Kaplan–Meier and the log-rank test code them); other
    times are ranked by ``np.unique`` (one sort).
    """
    coded = scaled_time_codes(time)
    values, codes = coded if coded is not None else np.unique(time, return_inverse=True)
    return codes.reshape(-1), values.shape[0]


@dataclass(frozen=True)
class CoxPass:
    """What one pass over the data computes at a given ``beta``.

    Besides the log-likelihood, score and information it keeps the per-block sums the
    score residuals need: ``s1`` and ``d1`` (p, B) are S1 and D1 of each death block,
    and ``a1, af, a2, b2, g2`` (B,) are the block sums over its tied deaths of
    ``1/c, f/c, 1/c^2, f/c^2, f^2/c^2``.
    """

    loglik: float
    score: np.ndarray  # U, (p,)
    info: np.ndarray  # I, (p, p)
    gross_info_diag: np.ndarray  # diag of sum_i v_i x_i x_i^T (before subtracting m m^T), (p,)
    risk: np.ndarray  # exp(eta - stratum max), (n,) in the caller's row order
    s1: np.ndarray
    d1: np.ndarray
    a1: np.ndarray
    af: np.ndarray
    a2: np.ndarray
    b2: np.ndarray
    g2: np.ndarray


class CoxLayout:
    """The segment structure of the data, computed once, and the passes over it.

    ``time``, ``event``, ``X`` (n, p), ``weights`` and ``strata`` (integer codes >= 0, or
    None) are in the caller's row order, which every row-level array here keeps: rows are
    never sorted nor gathered. ``X`` is centred here (weighted column means, as R
    ``coxfit6.c``) and stored transposed, (p, n), so that every per-covariate pass runs
    over contiguous memory. Each row carries the code ``seg`` of its segment (the deaths,
    or the censorings, of one distinct time in one stratum); segments are numbered in
    (stratum, time, deaths first) order, so that the distinct times (*groups*), the
    strata and the death blocks are runs of consecutive segments. ``efron`` selects the
    tie handling.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, weights: np.ndarray,
                 strata: np.ndarray | None, efron: bool) -> None:
        n, p = X.shape
        self.n, self.p = n, p
        dead = event > 0
        self.weights = weights
        # unit case weights (the usual case) spare a product per pass: r = exp(eta)
        self.unit_weights = bool(np.all(weights == 1.0))
        time_code, n_times = _time_codes(time)
        key = 2 * time_code + ~dead  # deaths (0) before censorings (1) at each time
        if strata is None:
            self.stratum = None
            self.n_strata = 1
        else:
            self.stratum, stratum_codes, _ = _dense_codes(strata.astype(np.intp, copy=False))
            self.n_strata = stratum_codes.shape[0]
            key += 2 * n_times * self.stratum
        self.seg, seg_key, self.seg_sizes = _dense_codes(key)
        n_seg = seg_key.shape[0]

        # groups (distinct times within a stratum) and strata as runs of segments
        group_key = seg_key // 2
        g_new = np.ones(n_seg, dtype=bool)
        g_new[1:] = group_key[1:] != group_key[:-1]
        self.seg_group = np.cumsum(g_new) - 1
        self.group_first_seg = np.flatnonzero(g_new)
        self.n_groups = self.group_first_seg.shape[0]
        group_stratum = group_key[self.group_first_seg] // n_times
        s_new = np.ones(self.n_groups, dtype=bool)
        s_new[1:] = group_stratum[1:] != group_stratum[:-1]
        self.stratum_group_bounds = np.append(np.flatnonzero(s_new), self.n_groups)

        # deaths and death blocks (the tied deaths of one time = one dead segment)
        self.dead_seg = np.flatnonzero(seg_key % 2 == 0)
        self.block_group = self.seg_group[self.dead_seg]
        self.block_size = self.seg_sizes[self.dead_seg]
        n_dead = int(self.block_size.sum())
        self.block_start = np.cumsum(self.block_size) - self.block_size  # in death order
        seg_weight = self.seg_sizes.astype(float) if self.unit_weights else self._segment_sums(weights)
        block_weight = seg_weight[self.dead_seg]
        self.wbar = block_weight / self.block_size
        self.stratum_death_weight = np.bincount(group_stratum[self.block_group], weights=block_weight,
                                                minlength=self.n_strata)
        self.efron = efron
        if efron:
            self._efron_layout(n_dead)

        self.centre = (weights @ X) / weights.sum()
        self.XT = np.subtract(X.T, self.centre[:, None], out=np.empty((p, n)))
        self.wx_dead = self.XT @ (dead * weights)
        # row chunks: the (p, n) products of a pass are formed chunk by chunk in a
        # cache-sized buffer (a loop over ~n/CHUNK_ROWS chunks)
        self.chunks = [(a, min(a + CHUNK_ROWS, n)) for a in range(0, n, CHUNK_ROWS)]
        self._work = np.empty((p, min(n, CHUNK_ROWS)))
        self._pairs = [(i, j) for i in range(p) for j in range(i, p)]

    def _efron_layout(self, n_dead: int) -> None:
        """The per-death arrays of Efron's correction, and their chunks of whole death blocks.

        Death j of a block of d deaths gets ``f_j = k_j / d`` (k_j = 0..d-1). ``_block_sums``
        works through the deaths in chunks of whole blocks of about CHUNK_ROWS deaths, so
        that its per-death temporaries stay in cache; each chunk records its blocks
        ``k0:k1``, its deaths ``a:b``, and (relative to a) the first death of each block
        and of each *run* (at most LOG_RUN consecutive deaths of one block).
        """
        n_blocks = self.block_size.shape[0]
        block = np.repeat(np.arange(n_blocks), self.block_size)
        rank = np.arange(n_dead) - self.block_start[block]
        self.death_block, self.frac = block, rank / self.block_size[block]
        run_start = np.flatnonzero(rank % LOG_RUN == 0)
        first_blocks = np.searchsorted(self.block_start, np.arange(0, n_dead, CHUNK_ROWS), side="right") - 1
        block_cuts = np.append(np.unique(first_blocks), n_blocks)
        death_cuts = np.append(self.block_start, n_dead)[block_cuts]
        self.death_chunks = []
        for k0, k1, a, b in zip(block_cuts[:-1], block_cuts[1:], death_cuts[:-1], death_cuts[1:]):
            runs = run_start[np.searchsorted(run_start, a):np.searchsorted(run_start, b)] - a
            starts = self.block_start[k0:k1] - a
            self.death_chunks.append((k0, k1, a, b, starts, runs, np.searchsorted(runs, starts)))

    def _risk(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``eta - max(eta within stratum)`` (row order) and that maximum per stratum."""
        eta = beta @ self.XT
        if self.stratum is None:
            shift = eta.max(keepdims=True)
            eta -= shift[0]
        else:
            shift = np.full(self.n_strata, -np.inf)
            np.maximum.at(shift, self.stratum, eta)
            eta -= shift.take(self.stratum)
        return eta, shift

    def _segment_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (row order) over each segment."""
        return np.bincount(self.seg, weights=values, minlength=self.seg_sizes.shape[0])

    def evaluate(self, beta: np.ndarray) -> CoxPass:
        """Log partial likelihood, score vector and information matrix at ``beta``."""
        XT, seg, work = self.XT, self.seg, self._work
        n_seg = self.seg_sizes.shape[0]
        if beta.any():
            eta, shift = self._risk(beta)
            e = np.exp(eta, out=eta)
        else:  # the first pass, at beta = 0
            shift, e = np.zeros(self.n_strata), np.ones(self.n)
        r = e if self.unit_weights else e * self.weights
        # sums over each segment; risk-set sums = reverse cumulative sums within strata
        seg_r = self._segment_sums(r)
        seg_xr = np.zeros((self.p, n_seg))
        for a, b in self.chunks:
            xr = np.multiply(XT[:, a:b], r[a:b], out=work[:, :b - a])
            for j in range(self.p):  # loop over covariates
                seg_xr[j] += np.bincount(seg[a:b], weights=xr[j], minlength=n_seg)
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
            # v_i = r_i (C_i - delta_i B_b), C_i - delta_i B_b constant on each segment
            a_grp = np.zeros(self.n_groups)
            a_grp[self.block_group] = wbar * a1
            seg_c = _segment_cumsum(a_grp, bounds, False)[self.seg_group]
            seg_c[self.dead_seg] -= wbar * af
            # the (p, k) @ (k, p) product of a chunk as p (p + 1) / 2 dot products of its
            # cached rows: OpenBLAS gemm/syrk are about twice as slow for such flat shapes
            gross = np.zeros((self.p, self.p))
            for a, b in self.chunks:
                v = seg_c.take(seg[a:b])
                v *= r[a:b]
                xv = np.multiply(XT[:, a:b], v, out=work[:, :b - a])
                for i, j in self._pairs:
                    gross[i, j] += xv[i] @ XT[j, a:b]
        gross = np.triu(gross) + np.triu(gross, 1).T
        info = gross - mm
        return CoxPass(loglik=loglik, score=score, info=(info + info.T) / 2,
                       gross_info_diag=np.diag(gross).copy(), risk=e, s1=s1, d1=d1, a1=a1,
                       af=af, a2=a2, b2=b2, g2=g2)

    def _block_sums(self, s0: np.ndarray, d0: np.ndarray) -> np.ndarray:
        """Per death block, the sums over its deaths of log c, 1/c, f/c, 1/c^2, f/c^2, f^2/c^2.

        Breslow (every f = 0, c = S0) in closed form per block; Efron per death (the
        scalars ``c_j = S0 - f_j D0`` only), a chunk of whole blocks at a time (see
        ``_efron_layout``), summed per block with ``reduceat``. The logarithms, the
        costliest part, are taken of products: ``sum_j log c_j = d log S0 + sum log prod_j
        u_j`` with ``u_j = 1 - f_j D0 / S0``, the products over runs of LOG_RUN deaths. As
        D0 <= S0 and f_j <= (d - 1) / d, each ``u_j`` is in [1/d, 1], so a product of
        LOG_RUN of them cannot underflow (for d < 1e19) and its logarithm is as accurate as
        the sum of theirs.
        """
        d = self.block_size
        if not self.efron:
            zero = np.zeros_like(s0)
            return np.stack([d * np.log(s0), d / s0, zero, d / s0**2, zero, zero])
        out = np.empty((6, d.shape[0]))
        q = d0 / s0
        for k0, k1, a, b, starts, runs, first_run in self.death_chunks:
            frac, block = self.frac[a:b], self.death_block[a:b]
            u = q.take(block)
            u *= frac
            np.subtract(1.0, u, out=u)
            np.add.reduceat(np.log(np.multiply.reduceat(u, runs)), first_run, out=out[0, k0:k1])
            c = s0.take(block)
            c -= np.multiply(d0.take(block), frac, out=u)
            inv = np.divide(1.0, c, out=c)
            np.add.reduceat(inv, starts, out=out[1, k0:k1])
            np.add.reduceat(np.multiply(frac, inv, out=u), starts, out=out[2, k0:k1])
            inv2 = np.square(inv, out=c)  # 1/c is no longer needed
            np.add.reduceat(inv2, starts, out=out[3, k0:k1])
            f_inv2 = np.multiply(frac, inv2, out=u)
            np.add.reduceat(f_inv2, starts, out=out[4, k0:k1])
            np.add.reduceat(np.multiply(frac, f_inv2, out=u), starts, out=out[5, k0:k1])
        out[0] += d * np.log(s0)
        return out

    def score_residuals(self, ev: CoxPass) -> np.ndarray:
        """Unweighted score residuals, (p, n) in row order, at the pass ``ev`` (R type="score").

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
        # with H, G the running sums and hf, hmf, mbar the death-block terms above. The
        # table seg_terms holds per segment the coefficients of x_i e_i (row 0), x_i (row
        # 1), e_i (p rows) and 1 (p rows); one take per row chunk brings them to the rows
        n_seg, p = seg_group.shape[0], self.p
        seg_terms = np.zeros((2 + 2 * p, n_seg))
        seg_terms[0] = -_segment_cumsum(h_grp, bounds, False)[seg_group]
        seg_terms[0, dead] += wbar * ev.af
        seg_terms[1, dead] = 1.0
        seg_terms[2:2 + p] = _segment_cumsum(hm_grp, bounds, False)[:, seg_group]
        seg_terms[2:2 + p, dead] -= (ev.s1 * ev.b2 - ev.d1 * ev.g2) * wbar
        seg_terms[2 + p:, dead] = -(ev.s1 * ev.a1 - ev.d1 * ev.af) / self.block_size
        e, seg = ev.risk, self.seg
        out = np.empty((p, self.n))
        for a, b in self.chunks:  # row chunks keep the gathered temporaries small
            terms, e_chunk = seg_terms.take(seg[a:b], axis=1), e[a:b]
            scalar = terms[0] * e_chunk
            scalar += terms[1]
            chunk = np.multiply(self.XT[:, a:b], scalar, out=out[:, a:b])
            vector = terms[2:2 + p]
            vector *= e_chunk
            chunk += vector
            chunk += terms[2 + p:]
        return out


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
