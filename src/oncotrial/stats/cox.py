"""Cox proportional-hazards regression, matching R ``survival::coxph`` to 1e-6.

:func:`coxph` fits the model from a DataFrame with Efron or Breslow handling of tied
event times, strata, case weights and the robust (sandwich) variance with or without
clusters, and reports the coefficient table and the likelihood-ratio, Wald and score
tests (plus the robust score test) as R's ``summary.coxph`` does. The numerical core is
in :mod:`oncotrial.stats._cox_engine` (rows grouped by (stratum, time) with
``np.bincount`` — whole-number times need no sort at all — then vectorised passes that
cost O((n + D) p^2) per Newton step).

References
----------
Cox DR (1972). Regression models and life-tables. JRSS B 34:187-220.
Breslow NE (1974). Covariance analysis of censored survival data. Biometrics 30:89-99.
Efron B (1977). The efficiency of Cox's likelihood function for censored data. JASA 72:557-565.
Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards model. JASA 84:1074-1078.
Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox Model. Springer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._cox_engine import (
    NewtonFit,
    CoxLayout,
    CoxPass,
    generalized_inverse,
    infinite_coefficients,
    newton,
    quadratic_form,
)
from ._results import ChiSquareTest, Result, plain
from ._validate import as_fraction, as_groups, as_weights, row_labels, survival_arrays, timefix
from .conventions import Convention, resolve_convention

__all__ = ["ConvergenceWarning", "CoxDesign", "CoxResult", "coxph"]

#: Newton-Raphson iteration cap (R's ``iter.max`` is 20, but R stops 1e4 times earlier)
MAX_ITER = 30
#: smallest eigenvalue of the information at beta = 0, scaled to unit diagonal, below
#: which covariates are reported as linearly dependent
COLLINEAR_TOL = 1e-10
_TIES = ("efron", "breslow")


class ConvergenceWarning(UserWarning):
    """The Cox fit did not converge, or a coefficient appears to be infinite."""


@dataclass(frozen=True, repr=False)
class CoxDesign(Result):
    """The data a Cox fit was computed from (original row order), e.g. for ``cox_zph``.

    ``time`` is after R's ``timefix`` merging when the convention applies it; ``X`` is
    the design matrix *before* centring, columns in coefficient order; ``strata`` holds
    integer stratum codes (or None); ``terms`` maps each covariate named in the call to
    the indices of its columns in ``X`` (several for a categorical covariate).
    """

    time: np.ndarray
    event: np.ndarray
    X: np.ndarray
    weights: np.ndarray
    strata: np.ndarray | None
    columns: list[str]
    terms: dict[str, list[int]]


@dataclass(frozen=True, repr=False)
class CoxResult(Result):
    """A fitted Cox model; see :func:`coxph` for the definitions.

    ``coef_table`` has one row per coefficient (index = term) and columns ``coef, hr,
    se, z, p, lower, upper`` (lower/upper: Wald limits for the hazard ratio at
    ``conf_level``); when ``robust`` the ``se`` (and z, p, limits) is the robust one
    and ``naive_se`` holds the model-based SE. ``var`` is the variance used for
    inference (robust if ``robust``), ``naive_var`` the inverse information.
    ``loglik`` = (log partial likelihood at beta = 0, at the estimate).
    """

    coef_table: pd.DataFrame
    coef: np.ndarray
    var: np.ndarray
    naive_var: np.ndarray
    loglik: tuple[float, float]
    lr_test: ChiSquareTest
    wald_test: ChiSquareTest
    score_test: ChiSquareTest
    robust_score_test: ChiSquareTest | None
    n: int
    n_events: int
    converged: bool
    iterations: int
    ties: str
    conf_level: float
    robust: bool
    convention: str
    design: CoxDesign

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table with the term as a column."""
        return self.coef_table.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form of every field except ``design`` (the full data set); the
        coefficient table as records that keep the ``term``."""
        out = super().to_dict()
        del out["design"]
        out["coef_table"] = plain(self.to_frame())
        return out

    def __repr__(self) -> str:
        table = self.coef_table.to_string(float_format=lambda v: f"{v:.4g}")
        lines = [
            f"Cox proportional hazards: n={self.n}, events={self.n_events}, ties={self.ties}, "
            f"convention={self.convention}" + (", robust variance" if self.robust else ""),
            table,
            f"(lower/upper: {self.conf_level:.0%} CI for the hazard ratio)",
        ]
        tests = [("Likelihood ratio test", self.lr_test), ("Wald test", self.wald_test),
                 ("Score (log-rank) test", self.score_test), ("Robust score test", self.robust_score_test)]
        lines += [f"{label:<21} = {t.stat:.4g} on {t.df} df, p = {t.p:.4g}"
                  for label, t in tests if t is not None]
        if not self.converged:
            lines.append(f"WARNING: not converged after {self.iterations} iterations "
                         "(see the ConvergenceWarning issued by coxph)")
        return "\n".join(lines)


# --------------------------------------------------------------------------- design
def _columns_arg(value: Any, name: str) -> list[str]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise ValueError(f"{name}: expected a list of column names, got {value!r}")
    cols = list(value)
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise ValueError(f"{name}: columns listed more than once: {dupes}")
    return cols


def _categorical_arg(categorical: Any, covariates: list[str]) -> dict[str, Any]:
    """``{column: reference level or None (= the convention's default)}``."""
    if categorical is None:
        return {}
    if isinstance(categorical, dict):
        spec = dict(categorical)
    else:
        spec = dict.fromkeys(_columns_arg(categorical, "categorical"))
    unknown = [c for c in spec if c not in covariates]
    if unknown:
        raise ValueError(f"categorical: {unknown} not in covariates {covariates}; "
                         "list every categorical column in covariates too")
    return spec


def _level_label(level: Any) -> str:
    """Level as it appears in a dummy name: 2.0 -> "2" (as R prints a numeric factor)."""
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def _check_columns(data: pd.DataFrame, roles: dict[str, list[str]]) -> None:
    for role, cols in roles.items():
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ValueError(f"{role}: column(s) {missing} not in data (columns: {list(data.columns)})")
    for cols in roles.values():
        for col in cols:
            mask = data[col].isna().to_numpy()
            if mask.any():
                raise ValueError(
                    f"{col}: missing values at {row_labels(mask, data.index)}; coxph never drops "
                    "rows silently: select complete cases explicitly (e.g. data.dropna(subset=[...]))")


def _dummies(data: pd.DataFrame, col: str, reference: Any, conv: Convention
             ) -> tuple[list[str], list[np.ndarray]]:
    """Treatment-contrast dummy columns of a categorical covariate (R ``contr.treatment``)."""
    codes, levels = as_groups(data[col], name=col, min_levels=1)
    labels = [_level_label(lv) for lv in levels]
    if len(levels) < 2:
        raise ValueError(f"covariates: column {col!r} is constant (only level {labels[0]!r}); "
                         "its hazard ratio is not defined")
    if reference is None:
        ref = 0 if conv.reference == "first" else len(levels) - 1
    else:
        matches = [i for i, (lv, lab) in enumerate(zip(levels, labels))
                   if lv == reference or lab == str(reference)]
        if not matches:
            raise ValueError(f"categorical: reference level {reference!r} of column {col!r} is not "
                             f"among its levels {labels}")
        ref = matches[0]
    names, cols = [], []
    for i, lab in enumerate(labels):
        if i != ref:
            names.append(f"{col}[{lab}]")
            cols.append((codes == i).astype(np.float64))
    return names, cols


def _numeric(data: pd.DataFrame, col: str) -> np.ndarray:
    series = data[col]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ValueError(f"covariates: column {col!r} is not numeric (dtype {series.dtype}); list it "
                         f"in categorical= (e.g. categorical={{{col!r}: <reference level>}}) to expand it "
                         "into treatment-contrast dummies, or convert it to numbers")
    x = series.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{col}: infinite values at {row_labels(bad, data.index)}")
    if x.min() == x.max():
        raise ValueError(f"covariates: column {col!r} is constant (every row is {x[0]:g}); "
                         "its coefficient is not identifiable")
    return x


def _strata_codes(data: pd.DataFrame, strata: list[str]) -> np.ndarray:
    """One integer code per combination of the levels of the strata columns (R ``strata()``)."""
    combined = np.zeros(len(data), dtype=np.int64)
    for col in strata:
        codes, levels = as_groups(data[col], name=col, min_levels=1)
        combined = combined * len(levels) + codes
    return np.unique(combined, return_inverse=True)[1].astype(np.intp)


def _check_information(initial: CoxPass, columns: list[str]) -> None:
    """Refuse non-identifiable models, naming the covariates (R would return NA coefficients).

    Identifiability is judged on the information matrix at beta = 0, i.e. on the
    variation of the covariates *within the risk sets at the event times*: a covariate
    constant within every stratum, or linear combinations that are, have none.
    """
    info = initial.info
    diag = np.diag(info)
    flat = diag <= COLLINEAR_TOL * initial.gross_info_diag
    if flat.any():
        names = [columns[j] for j in np.flatnonzero(flat)]
        raise ValueError(f"covariates: {names} have no variation within the risk sets at the event "
                         "times (e.g. constant within every stratum, or varying only after the last "
                         "event), so their coefficients are not identifiable")
    scale = np.sqrt(diag)
    vals, vecs = np.linalg.eigh(info / np.outer(scale, scale))
    null = vals < COLLINEAR_TOL
    if null.any():
        involved = np.any(np.abs(vecs[:, null]) > 1e-6, axis=1)
        names = [columns[j] for j in np.flatnonzero(involved)]
        raise ValueError(f"covariates: {names} are linearly dependent (within the risk sets at the "
                         "event times, i.e. after removing strata effects); drop one of them")


def _collapse(matrix: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Sum the columns (rows of the data) of a (p, n) matrix within clusters (R ``rowsum``)."""
    if cluster is None:
        return matrix
    k = int(cluster.max()) + 1
    return np.stack([np.bincount(cluster, weights=row, minlength=k) for row in matrix])


def _chi2(stat: float, df: int) -> ChiSquareTest:
    return ChiSquareTest(stat=float(stat), df=int(df), p=float(stats.chi2.sf(stat, df)))


# --------------------------------------------------------------------------- public API
def coxph(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    covariates: list[str],
    strata: list[str] | None = None,
    categorical: dict[str, Any] | list[str] | None = None,
    weights: str | None = None,
    ties: str | None = None,
    robust: bool = False,
    cluster: str | None = None,
    conf_level: float = 0.95,
    convention: str | Convention = "r",
) -> CoxResult:
    """Fit a Cox proportional-hazards model (R ``coxph``, SAS ``PROC PHREG``).

    The hazard of row i is ``h_s(t) exp(x_i' beta)`` with a baseline hazard ``h_s`` per
    stratum s. beta maximises the log partial likelihood; with case weights w and, at
    each event time, d tied deaths of total weight W and mean weight ``wbar = W/d``::

        Breslow: l = sum_t [ sum_{deaths} w_i eta_i - W log S0(t) ]
        Efron:   l = sum_t [ sum_{deaths} w_i eta_i - wbar sum_{k=0}^{d-1} log(S0(t) - k/d D0(t)) ]

    where S0(t) sums ``w exp(eta)`` over the risk set (same stratum, time >= t) and D0
    over the tied deaths. Newton-Raphson with step halving from beta = 0 is iterated to
    a pending step below 1e-10 (R stops earlier, at a relative loglik change of 1e-9,
    so its estimates differ from the exact maximiser by up to ~1e-8 relative).

    Parameters
    ----------
    data : one row per subject (or per event record with ``cluster``); no missing values
        in the columns used (a ``ValueError`` names them: select complete cases explicitly).
    time, event : column names; ``event`` is 0/1 or boolean (1 = event).
    covariates : the model terms. Numeric (or boolean) columns enter as they are; a column
        listed in ``categorical`` becomes treatment-contrast dummies named ``"col[level]"``.
    strata : columns whose level combinations get separate baseline hazards (R
        ``strata(a, b)``, SAS ``STRATA``); risk sets never cross strata.
    categorical : ``{"rx": "Obs"}`` gives each column's reference level; a list takes the
        convention's reference (R: first level, SAS: last level; levels are sorted, or
        in category order for a pandas Categorical).
    weights : case-weight column (R ``weights=``, SAS ``WEIGHT``), > 0.
    ties : ``"efron"`` or ``"breslow"``; ``None`` takes the convention's (R: efron, SAS:
        breslow).
    robust : sandwich variance ``D'D`` where D sums the weighted dfbeta residuals
        ``w_i L_i I^-1`` (score residuals L) within clusters (Lin & Wei 1989; R
        ``robust=TRUE``, SAS ``COVS(AGGREGATE)``); without ``cluster`` each row is its own
        cluster. Default False: unlike R, non-integer weights do not switch it on.
    cluster : column of cluster identifiers (e.g. patient id with several records);
        implies ``robust=True`` as in R.
    conf_level : level of the Wald interval ``exp(coef -/+ z se)``, default 0.95.
    convention : ``"r"`` (default) or ``"sas"``: sets the default ``ties`` and reference
        level, and whether near-equal times are merged first (R's ``timefix``).

    Returns
    -------
    CoxResult with the coefficient table, variances, log-likelihoods (at 0 and at the
    estimate) and the global tests as R stores them: ``lr_test`` = 2(l(beta) - l(0)),
    ``wald_test`` = beta' var^-1 beta with the variance used for inference (R
    ``fit$wald.test``), ``score_test`` = U(0)' I(0)^-1 U(0) (R ``fit$score``; equals the
    log-rank test for one binary covariate with Breslow ties), ``robust_score_test`` =
    U(0)' (T'T)^-1 U(0) with T the cluster sums of the weighted score residuals at 0 (R
    ``fit$rscore``), or None when not robust.

    A monotone likelihood (e.g. a level without events: the coefficient is infinite) is
    detected with R's ``toler.inf`` rule and reported by ``converged=False`` and a
    :class:`ConvergenceWarning` naming the terms, as is a fit still moving after 30
    iterations. Constant or linearly dependent covariates raise ``ValueError`` (R
    silently returns NA coefficients).
    """
    conv = resolve_convention(convention)
    method = conv.ties if ties is None else str(ties).lower()
    if method not in _TIES:
        raise ValueError(f"ties: expected one of {list(_TIES)}, got {ties!r}")
    conf_level = as_fraction(conf_level, "conf_level")
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    covariates = _columns_arg(covariates, "covariates")
    if not covariates:
        raise ValueError("covariates: expected at least one covariate")
    strata = [] if strata is None else _columns_arg(strata, "strata")
    cat_spec = _categorical_arg(categorical, covariates)
    roles = {"time": [time], "event": [event], "covariates": covariates, "strata": strata,
             "weights": [] if weights is None else [weights],
             "cluster": [] if cluster is None else [cluster]}
    _check_columns(data, roles)

    t, e, _ = survival_arrays(data[time], data[event], time_name=time, event_name=event)
    n = t.shape[0]
    if not e.any():
        raise ValueError(f"{event}: no events (every row is censored); the partial likelihood is empty")
    w = as_weights(data[weights], n, name=weights) if weights is not None else np.ones(n)
    if weights is not None and (w == 0).any():
        raise ValueError(f"{weights}: case weights must be > 0 (as in R coxph), got 0 at "
                         f"{row_labels(w == 0, data.index)}")
    if conv.timefix:
        t = timefix(t)

    columns: list[str] = []
    blocks: list[np.ndarray] = []
    terms: dict[str, list[int]] = {}
    for col in covariates:
        if col in cat_spec:
            names, cols = _dummies(data, col, cat_spec[col], conv)
        else:
            names, cols = [col], [_numeric(data, col)]
        terms[col] = list(range(len(columns), len(columns) + len(names)))
        columns.extend(names)
        blocks.extend(cols)
    X = np.stack(blocks).T  # (n, p) view of a (p, n) array: each covariate contiguous
    strata_codes = _strata_codes(data, strata) if strata else None
    cluster_codes = as_groups(data[cluster], name=cluster, min_levels=1)[0] if cluster is not None else None
    robust = bool(robust) or cluster is not None

    layout = CoxLayout(t, e, X, w, strata_codes, efron=method == "efron")
    initial = layout.evaluate(np.zeros(X.shape[1]))
    _check_information(initial, columns)
    fit = newton(layout, initial, max_iter=MAX_ITER)
    converged = _report_convergence(fit, columns)

    beta = fit.beta
    naive_var, rank = generalized_inverse(fit.final.info)
    robust_score = None
    if robust:
        dfbeta = _collapse(naive_var @ layout.score_residuals(fit.final) * w, cluster_codes)
        var = dfbeta @ dfbeta.T
        resid0 = _collapse(layout.score_residuals(initial) * w, cluster_codes)
        robust_score = _chi2(*quadratic_form(resid0 @ resid0.T, resid0.sum(axis=1)))
    else:
        var = naive_var

    se = np.sqrt(np.diag(var))
    z = beta / se
    q = stats.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(over="ignore"):  # an infinite coefficient (warned above) may overflow
        table = pd.DataFrame({
            "coef": beta, "hr": np.exp(beta), "se": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
            "lower": np.exp(beta - q * se), "upper": np.exp(beta + q * se),
        }, index=pd.Index(columns, name="term"))
    if robust:
        table["naive_se"] = np.sqrt(np.diag(naive_var))

    design = CoxDesign(time=t, event=e, X=X, weights=w, strata=strata_codes, columns=columns,
                       terms=terms)
    return CoxResult(
        coef_table=table, coef=beta, var=var, naive_var=naive_var,
        loglik=(initial.loglik, fit.final.loglik),
        lr_test=_chi2(2 * (fit.final.loglik - initial.loglik), rank),
        wald_test=_chi2(*quadratic_form(var, beta)),
        score_test=_chi2(*quadratic_form(initial.info, initial.score)),
        robust_score_test=robust_score,
        n=n, n_events=int(e.sum()), converged=converged, iterations=fit.iterations,
        ties=method, conf_level=float(conf_level), robust=robust, convention=conv.name,
        design=design,
    )


def _report_convergence(fit: NewtonFit, columns: list[str]) -> bool:
    """Warn (ConvergenceWarning naming the terms) unless the fit reached a finite maximum."""
    if fit.status == "converged":
        return True
    moving = [columns[j] for j in np.flatnonzero(infinite_coefficients(fit))]
    if fit.status == "plateau":
        if not moving:
            return True
        msg = (f"coxph: the log partial likelihood converged before coefficient(s) {moving}; "
               "they may be infinite (monotone likelihood, e.g. a level or stratum without events). "
               "Their hazard ratios, SEs and tests are not meaningful.")
    else:
        msg = (f"coxph: did not converge in {fit.iterations} iterations (coefficients still moving: "
               f"{moving}); the estimates are unreliable")
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return False
