"""Test of proportional hazards for a Cox model: R ``survival::cox.zph`` (survival >= 3.0).

Since survival 3.0, ``cox.zph`` computes the exact score test for adding the
time-varying terms :math:`g(t)\\,x` to the fitted model, in one pass over the data at the
fitted coefficients, instead of the Grambsch–Therneau approximation from scaled
Schoenfeld residuals that older R, lifelines and most textbooks use. That is why results
of older software differ from R's; this module reproduces the current R numbers
(``therneau/survival:R/cox.zph.R`` and ``src/zph1.c``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result, json_safe
from oncotrial.core.validation import row_labels
from oncotrial.stats._cox_engine import single_threaded_blas
from oncotrial.stats.logrank import _time_blocks

__all__ = ["CoxZphResult", "cox_zph", "left_km"]

Transform = str | Callable[[np.ndarray], Any]
_TRANSFORMS = ("km", "rank", "identity", "log")


def left_km(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Unweighted pooled Kaplan–Meier just before each row's time, S(t-), as R's zph uses."""
    distinct, inverse = np.unique(time, return_inverse=True)
    rows = np.bincount(inverse, minlength=distinct.size)
    deaths = np.bincount(inverse, weights=event, minlength=distinct.size)
    at_risk = np.cumsum(rows[::-1])[::-1]
    surv = np.cumprod((at_risk - deaths) / at_risk)
    return np.r_[1.0, surv[:-1]][inverse]


def _time_transform(time: np.ndarray, event: np.ndarray, transform: Transform) -> np.ndarray:
    """g(t) for every row, centred at its (unweighted) mean over the events, as R does."""
    if callable(transform):
        g = np.asarray(transform(time.copy()), dtype=float)
        if g.shape != time.shape:
            raise InputError(f"transform: the callable must return one value per row, shape "
                             f"{time.shape}, got shape {g.shape}", field="transform")
    elif transform == "km":
        g = 1.0 - left_km(time, event)
    elif transform == "rank":
        from scipy.stats import rankdata  # scipy.stats is slow to import; only this needs it

        g = rankdata(time)
    elif transform == "identity":
        g = time.astype(float)
    elif transform == "log":
        with np.errstate(divide="ignore"):  # log(0) is reported below if it is an event time
            g = np.log(time)
    else:
        raise InputError(f"transform: expected one of {list(_TRANSFORMS)} or a callable g(t), "
                         f"got {transform!r}", field="transform")
    bad = (event == 1) & ~np.isfinite(g)
    if bad.any():
        raise InputError(f"transform: g(t) is not finite at the event times of {row_labels(bad)} "
                         f"(e.g. 'log' of a time 0)", field="transform")
    return g - g[event == 1].mean()


def _strictly_cumsum(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, later: bool) -> np.ndarray:
    """Sums along axis 0 over the *other* blocks of the same stratum that come strictly
    later (``later=True``) or strictly earlier, accumulated in time order as zph1.c does
    (no differencing of running totals, so no cancellation)."""
    out = np.zeros_like(values)
    for a, b in zip(starts, ends):
        if later:
            out[a:b - 1] = np.cumsum(values[a + 1:b][::-1], axis=0)[::-1]
        else:
            out[a + 1:b] = np.cumsum(values[a:b - 1], axis=0)
    return out


def _zph_score(
    time: np.ndarray,
    event: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray,
    strata: np.ndarray,
    beta: np.ndarray,
    efron: bool,
    gtime: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Score ``u`` (p) for the g(t)·x terms and the full 2p x 2p information at ``beta``.

    At a death time with risk set R, tied deaths D (d of them, case-weight total W) and
    risk weights :math:`r_i = w_i e^{x_i\beta}`, the Efron approximation uses the d
    partial risk sets :math:`c_k = \sum_{R\setminus D} r + f_k \sum_D r`, :math:`f_k = k/d`,
    each with weight W/d (Breslow: one set, f = 1, weight W). With
    :math:`\bar x_k, V_k` the r-weighted mean and covariance of x over set k,

    .. math::
        u = \sum_{t}\Big[\sum_D w\,g(t)\,x - \tfrac{W}{d} \sum_k g(t)\,\bar x_k\Big], \quad
        \mathcal I = \sum_t \tfrac{W}{d}\sum_k \begin{pmatrix}1 & g\\ g & g^2\end{pmatrix}
        \otimes V_k .

    Vectorised: the sums over k reduce to five scalars per death time
    (:math:`\sum 1/c_k, \sum f_k/c_k, \sum 1/c_k^2, \sum f_k/c_k^2, \sum f_k^2/c_k^2`);
    the risk-set second moments :math:`\sum_R r x x^\top` are never formed per time but
    folded into one :math:`X^\top \operatorname{diag}(r\kappa) X` product, with
    :math:`\kappa_i` the accumulated coefficient of the death times whose risk set holds
    row i. Cost O(n p^2 + D) after one sort; memory O(n p).
    """
    p = X.shape[1]
    blocks = _time_blocks(time, strata)
    order, block, n_blocks = blocks.order, blocks.block, blocks.n_blocks
    xs = X[order] - X.mean(axis=0)  # centring is for numerical stability only (as zph1.c)
    risk = weights[order] * np.exp(xs @ beta)
    dead = event[order] == 1
    w_dead = np.where(dead, weights[order], 0.0)
    r_dead = np.where(dead, risk, 0.0)
    r_cens = risk - r_dead

    # per-block sums over the censored rows and over the deaths
    c0 = np.bincount(block, weights=r_cens, minlength=n_blocks)
    d0 = np.bincount(block, weights=r_dead, minlength=n_blocks)
    rx_cens = np.empty((n_blocks, p))
    rx_dead = np.empty((n_blocks, p))
    wx_dead = np.empty((n_blocks, p))
    for j in range(p):  # loop over covariates only
        rx_cens[:, j] = np.bincount(block, weights=r_cens * xs[:, j], minlength=n_blocks)
        rx_dead[:, j] = np.bincount(block, weights=r_dead * xs[:, j], minlength=n_blocks)
        wx_dead[:, j] = np.bincount(block, weights=w_dead * xs[:, j], minlength=n_blocks)
    n_dead = np.bincount(block, weights=dead, minlength=n_blocks)
    w_tot = np.bincount(block, weights=w_dead, minlength=n_blocks)

    # risk set without this time's deaths = later blocks + this block's censored rows
    later0 = _strictly_cumsum(c0 + d0, blocks.starts, blocks.ends, later=True)
    later1 = _strictly_cumsum(rx_cens + rx_dead, blocks.starts, blocks.ends, later=True)
    use = np.flatnonzero(n_dead > 0)
    s0e = later0[use] + c0[use]
    s1e = later1[use] + rx_cens[use]
    dd0, dd1, nd, wt = d0[use], rx_dead[use], n_dead[use], w_tot[use]
    g = gtime[order][blocks.first][use]

    # the partial risk sets: Efron f = k/d (k = 1..d), weight W/d; Breslow f = 1, weight W
    m = use.size
    if efron:
        which = np.repeat(np.arange(m), nd.astype(np.intp))
        step = np.arange(which.size) - np.repeat(np.cumsum(nd) - nd, nd.astype(np.intp)) + 1.0
        f = step / nd[which]
        mult = wt / nd
    else:
        which = np.arange(m)
        f = np.ones(m)
        mult = wt.astype(float)
    inv = 1.0 / (s0e[which] + f * dd0[which])
    a0 = np.bincount(which, weights=inv, minlength=m)
    a1 = np.bincount(which, weights=f * inv, minlength=m)
    b0 = np.bincount(which, weights=inv**2, minlength=m)
    b1 = np.bincount(which, weights=f * inv**2, minlength=m)
    b2 = np.bincount(which, weights=f**2 * inv**2, minlength=m)

    u = (g[:, None] * (wx_dead[use] - mult[:, None] * (s1e * a0[:, None] + dd1 * a1[:, None]))).sum(axis=0)

    # information blocks for the powers 0, 1, 2 of g
    info = []
    for power in range(3):
        h = mult * g**power
        # second moments: a death time adds h*a0 to rows in its risk set without its deaths
        # and h*a1 to its deaths
        add_all = np.zeros(n_blocks)
        add_all[use] = h * a0
        add_dead = np.zeros(n_blocks)
        add_dead[use] = h * a1
        earlier = _strictly_cumsum(add_all, blocks.starts, blocks.ends, later=False)
        kappa = earlier[block] + np.where(dead, add_dead[block], add_all[block])
        second = (xs * (risk * kappa)[:, None]).T @ xs
        cross = (s1e * (h * b1)[:, None]).T @ dd1
        outer = ((s1e * (h * b0)[:, None]).T @ s1e + cross + cross.T
                 + (dd1 * (h * b2)[:, None]).T @ dd1)
        info.append(second - outer)
    imat = np.block([[info[0], info[1]], [info[1], info[2]]])
    return u, imat


def _zph_table(u: np.ndarray, imat: np.ndarray, terms: Mapping[str, Sequence[int]],
               global_test: bool) -> pd.DataFrame:
    """Score tests u' I^{-1} u with the base coefficients' score set to 0, as R does."""
    p = u.size
    names, chisq, df = [], [], []
    tests = list(terms.items()) + ([("GLOBAL", list(range(p)))] if global_test else [])
    for name, cols in tests:
        idx = np.asarray(cols, dtype=np.intp)
        keep = np.r_[np.arange(p), p + idx]
        score = np.r_[np.zeros(p), u[idx]]
        names.append(name)
        chisq.append(float(score @ np.linalg.solve(imat[np.ix_(keep, keep)], score)))
        df.append(int(idx.size))
    table = pd.DataFrame({"chisq": chisq, "df": df}, index=pd.Index(names, name="term"))
    table["p"] = chdtrc(table["df"].to_numpy(float), table["chisq"].to_numpy())
    return table


def _cox_zph_arrays(
    time: np.ndarray,
    event: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray,
    strata: np.ndarray | None,
    beta: np.ndarray,
    ties: str,
    transform: Transform,
    terms: Mapping[str, Sequence[int]],
    global_test: bool = True,
) -> pd.DataFrame:
    """:func:`cox_zph` on arrays: a fitted model given by its data and coefficients."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    X = np.asarray(X, dtype=float).reshape(time.size, -1)
    weights = np.asarray(weights, dtype=float)
    beta = np.asarray(beta, dtype=float).ravel()
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties: expected 'efron' or 'breslow', got {ties!r}", field="ties")
    if beta.size != X.shape[1] or not np.isfinite(beta).all():
        raise InputError(f"coef: expected {X.shape[1]} finite coefficients, got {beta!r}", field="coef")
    if not (event == 1).any():
        raise InputError("event: no events, the proportional-hazards test is undefined", field="event")
    codes = np.zeros(time.size, dtype=np.intp) if strata is None else np.asarray(strata, dtype=np.intp)
    gtime = _time_transform(time, event, transform)
    with single_threaded_blas():  # many small products: see single_threaded_blas
        u, imat = _zph_score(time, event, X, weights, codes, beta, ties == "efron", gtime)
    return _zph_table(u, imat, terms, global_test)


@dataclass(frozen=True, repr=False, eq=False)
class CoxZphResult(Result):
    """The proportional-hazards tests of a Cox fit (see :func:`cox_zph`).

    ``table`` is indexed by term (or coefficient, with ``terms=False``) plus ``"GLOBAL"``,
    with columns ``chisq``, ``df``, ``p``; ``transform`` names g(t) (``"km"``, ``"rank"``,
    ``"identity"``, ``"log"``, or the callable's name); ``by_term`` says whether a
    categorical term is tested jointly; ``ties`` and ``n_events`` are those of the fit.

    The table's own accessors (``result.loc[term, "p"]``, ``result["p"]``,
    ``result.index``) read it directly, as when cox_zph returned the table itself.
    """

    table: pd.DataFrame
    transform: str
    by_term: bool
    ties: str
    n_events: int

    @property
    def loc(self) -> Any:
        """``table.loc``: ``result.loc["trt", "p"]`` is the P value of the term trt."""
        return self.table.loc

    @property
    def index(self) -> pd.Index:
        return self.table.index

    @property
    def columns(self) -> pd.Index:
        return self.table.columns

    def __getitem__(self, column: str) -> pd.Series:
        return self.table[column]

    def to_frame(self) -> pd.DataFrame:
        """The test table with the term as a column."""
        return self.table.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields; the table as records that keep the ``term``."""
        out = super().to_dict()
        out["table"] = json_safe(self.to_frame())
        return out

    def __repr__(self) -> str:
        table = self.table.to_string(float_format=lambda v: f"{v:.4g}")
        return (f"Test of proportional hazards (cox.zph): transform={self.transform}, "
                f"ties={self.ties}, events={self.n_events}\n{table}")


def cox_zph(result: Any, transform: Transform = "km", *, terms: bool = True,
            global_test: bool = True) -> CoxZphResult:
    r"""Score test of proportional hazards for each term of a Cox model, and globally.

    For each model term with columns :math:`x_j` the test asks whether adding
    :math:`\gamma_j\, g(t)\, x_j` (a log-hazard ratio drifting along g(t)) improves the
    fit: the score test of :math:`\gamma = 0` at the fitted :math:`\hat\beta`,

    .. math::
        \chi^2 = u_\gamma^\top \big[\mathcal I^{-1}\big]_{\gamma\gamma} u_\gamma,

    with :math:`\mathcal I` the joint information of :math:`(\beta, \gamma)` and the score
    for :math:`\beta` set to zero (it is zero at the MLE), on as many degrees of freedom as
    the term has columns; GLOBAL tests all :math:`\gamma` together. A small p-value is
    evidence that the hazard ratio changes with time (e.g. a treatment effect that wears
    off), which a single Cox hazard ratio would misrepresent. The exact score test is
    Therneau & Grambsch (2000), *Modeling Survival Data*, §6.2; R computes it since
    survival 3.0 (Grambsch & Therneau 1994, Biometrika 81:515, gave the older
    residual-based approximation).

    Mirrors R ``cox.zph(fit, transform, terms, global=TRUE)`` to 1e-6: same tie handling
    as the fit (Efron or Breslow), same strata (risk sets within strata), case weights
    used in the score and information, robust variance and clusters ignored (the test
    uses the model-based information, as R). SAS PHREG's ``ZPH`` option reports the
    Grambsch–Therneau residual version and will differ slightly.

    Parameters
    ----------
    result
        A ``CoxResult`` from :func:`oncotrial.stats.coxph`.
    transform
        g(t), computed on all rows and centred at its mean over the events:
        ``"km"`` (default, R's default: 1 - the pooled, unweighted, left-continuous
        Kaplan–Meier just before t, which spreads the events evenly and resists outlying
        times), ``"rank"`` (rank of t among all rows, ties averaged), ``"identity"``
        (t) or ``"log"`` (log t); or a callable mapping the array of times to g(t).
    terms
        True (default): one test per model term, a multi-column (categorical) term
        tested jointly; False: one test per coefficient.
    global_test
        Add the GLOBAL row (default True).

    Returns
    -------
    CoxZphResult whose ``table`` is indexed by term (plus ``"GLOBAL"``), columns
    ``chisq``, ``df``, ``p``.
    """
    design = getattr(result, "design", None)
    if design is None or not hasattr(result, "coef") or not hasattr(result, "ties"):
        raise TypeError(f"result: expected a CoxResult from coxph(), got {type(result).__name__}")
    if terms:
        term_map: Mapping[str, Sequence[int]] = design.terms
    else:
        term_map = {name: [j] for j, name in enumerate(design.columns)}
    table = _cox_zph_arrays(design.time, design.event, design.X, design.weights, design.strata,
                            result.coef, result.ties, transform, term_map, global_test)
    name = transform if isinstance(transform, str) else getattr(transform, "__name__", "callable")
    return CoxZphResult(table=table, transform=str(name), by_term=bool(terms), ties=result.ties,
                        n_events=int(np.sum(design.event == 1)))
