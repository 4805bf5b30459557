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
from scipy.special import chdtrc, ndtr, ndtri

from oncotrial.core.errors import ConvergenceWarning, InputError
from oncotrial.core.results import ChiSquareTest, Result, json_safe
from oncotrial.core.validation import (
    as_event,
    as_fraction,
    as_groups,
    as_numbers,
    as_time,
    as_weights,
    row_labels,
)
from oncotrial.stats.ties import timefix

from ._cox_engine import (
    CoxLayout,
    CoxPass,
    NewtonFit,
    generalized_inverse,
    infinite_coefficients,
    newton,
    quadratic_form,
    single_threaded_blas,
)
from .conventions import Convention, resolve_convention

__all__ = ["CoxDesign", "CoxResult", "coxph", "level_label"]

#: Newton-Raphson iteration cap (R's ``iter.max`` is 20, but R stops 1e4 times earlier)
MAX_ITER = 30
#: smallest eigenvalue of the information at beta = 0, scaled to unit diagonal, below
#: which covariates are reported as linearly dependent
COLLINEAR_TOL = 1e-10
_TIES = ("efron", "breslow")
#: a coefficient whose standardised size |beta| sd(x) exceeds this while its standardised
#: model-based SE se * sd(x) exceeds ``DRIFT_SE`` sits on a likelihood that has flattened
#: out (a hazard ratio per SD beyond e^5 with no information about it): not estimable
DRIFT_COEF = 5.0
DRIFT_SE = 10.0

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
    se, z, p, lower, upper, estimable`` (lower/upper: Wald limits for the hazard ratio at
    ``conf_level``); when ``robust`` the ``se`` (and z, p, limits) is the robust one
    and ``naive_se`` holds the model-based SE. ``var`` is the variance used for
    inference (robust if ``robust``), ``naive_var`` the inverse information.
    ``loglik`` = (log partial likelihood at beta = 0, at the estimate).

    Whether the numbers mean anything is part of the result, not only of a warning:

    * ``converged`` is False when Newton-Raphson stopped at ``max_iter`` with the
      coefficients still moving; every estimate is then unreliable.
    * ``estimable`` (a column of ``coef_table``) is False for a coefficient in which the
      log partial likelihood is monotone, so that its maximum lies at +-infinity: e.g.
      a level (an arm) with no events, whose hazard ratio tends to 0, or a reference
      level with none, where the others' tend to infinity. The printed coefficient is
      then wherever the iteration stopped (R prints such numbers too, e.g. HR 1.7e-13
      with CI 0 to inf): its hazard ratio, SE, Wald test and CI are not estimates.
    * ``problems`` lists each of these in plain words (empty when all is well); coxph
      also issues one :class:`~oncotrial.core.errors.ConvergenceWarning` with them.
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
    problems: tuple[str, ...]
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
        out["coef_table"] = json_safe(self.to_frame())
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
        lines += [f"WARNING: {problem}" for problem in self.problems]
        return "\n".join(lines)

    @property
    def estimable(self) -> bool:
        """True when the fit converged and every coefficient is estimable."""
        return self.converged and bool(self.coef_table["estimable"].all())


# --------------------------------------------------------------------------- design
def _columns_arg(value: Any, name: str) -> list[str]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise TypeError(f"{name}: expected a list of column names, got {type(value).__name__} "
                        f"{value!r}")
    cols = list(value)
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise InputError(f"{name}: columns listed more than once: {dupes}", field=name)
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
        raise InputError(f"categorical: {unknown} not in covariates {covariates}; "
                         "list every categorical column in covariates too", field="categorical")
    return spec


def level_label(level: Any) -> str:
    """Level as it appears in a dummy name: 2.0 -> "2" (as R prints a numeric factor)."""
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def _check_columns(data: pd.DataFrame, roles: dict[str, list[str]]) -> None:
    """Every column named exists exactly once and has no missing values (rows 1-based)."""
    counts = data.columns.value_counts()
    for role, cols in roles.items():
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise InputError(f"{role}: column(s) {missing} not in data (columns: "
                             f"{list(map(str, data.columns))})", field=role)
        doubled = [c for c in cols if counts[c] > 1]
        if doubled:
            positions = {c: (np.flatnonzero(data.columns == c) + 1).tolist() for c in doubled}
            raise InputError(f"{role}: column name(s) {doubled} appear more than once in data (at "
                             f"column positions {positions}); rename them so that each name is one "
                             "column", field=role)
    for role, cols in roles.items():
        for col in cols:
            mask = data[col].isna().to_numpy()
            if mask.any():
                raise InputError(
                    f"{col}: missing values at {row_labels(mask)}; coxph never drops "
                    "rows silently: select complete cases explicitly (e.g. data.dropna(subset=[...]))",
                    field=role)


@dataclass(frozen=True)
class _Levels:
    """The levels of a covariate with two or more distinct values, for the zero-event check:
    row codes, level labels, the reference level and the coefficient of each other level."""

    column: str
    codes: np.ndarray
    labels: list[str]
    reference: int
    coefficients: dict[int, str]


def _dummies(data: pd.DataFrame, col: str, reference: Any, conv: Convention
             ) -> tuple[list[str], list[np.ndarray], _Levels]:
    """Treatment-contrast dummy columns of a categorical covariate (R ``contr.treatment``)."""
    codes, levels = as_groups(data[col], name=col, min_levels=1, field="covariates")
    labels = [level_label(lv) for lv in levels]
    if len(levels) < 2:
        raise InputError(f"covariates: column {col!r} is constant (only level {labels[0]!r}); "
                         "its hazard ratio is not defined", field="covariates")
    if reference is None:
        ref = 0 if conv.reference == "first" else len(levels) - 1
    else:
        matches = [i for i, (lv, lab) in enumerate(zip(levels, labels))
                   if lv == reference or lab == str(reference)]
        if not matches:
            raise InputError(f"categorical: reference level {reference!r} of column {col!r} is not "
                             f"among its levels {labels}", field="categorical")
        ref = matches[0]
    names, cols, coefficients = [], [], {}
    for i, lab in enumerate(labels):
        if i != ref:
            names.append(f"{col}[{lab}]")
            cols.append((codes == i).astype(np.float64))
            coefficients[i] = names[-1]
    return names, cols, _Levels(col, codes, labels, ref, coefficients)


def _numeric(data: pd.DataFrame, col: str) -> tuple[np.ndarray, _Levels | None]:
    """A numeric covariate as float64 and, when it takes two values (a 0/1 arm indicator),
    its two levels for the zero-event check.

    A boolean column is an indicator (False = 0, True = 1). Text is refused naming the
    rows, even text that looks like a number (``"12"``): such a column was read with the
    wrong type and the rest of it may be wrong too.
    """
    series = data[col]
    if pd.api.types.is_bool_dtype(series):
        x = series.to_numpy(dtype=np.float64)
    else:
        try:
            x = as_numbers(series, col, field="covariates")
        except InputError as exc:
            raise InputError(f"{exc}; if {col!r} is categorical, list it in categorical= (e.g. "
                             f"categorical={{{col!r}: <reference level>}}) to expand it into "
                             "treatment-contrast dummies", field="covariates") from None
    bad = ~np.isfinite(x)
    if bad.any():
        raise InputError(f"{col}: infinite values at {row_labels(bad)}", field="covariates")
    if x.min() == x.max():
        raise InputError(f"covariates: column {col!r} is constant (every row is {x[0]:g}); "
                         "its coefficient is not identifiable", field="covariates")
    values, codes = np.unique(x, return_inverse=True)
    if values.size != 2:
        return x, None
    labels = [level_label(float(v)) for v in values]
    return x, _Levels(col, codes.reshape(-1), labels, 0, {1: col})


def _strata_codes(data: pd.DataFrame, strata: list[str]) -> np.ndarray:
    """One integer code per combination of the levels of the strata columns (R ``strata()``)."""
    combined = np.zeros(len(data), dtype=np.int64)
    for col in strata:
        codes, levels = as_groups(data[col], name=col, min_levels=1, field="strata")
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
        raise InputError(f"covariates: {names} have no variation within the risk sets at the event "
                         "times (e.g. constant within every stratum, or varying only after the last "
                         "event), so their coefficients are not identifiable", field="covariates")
    scale = np.sqrt(diag)
    vals, vecs = np.linalg.eigh(info / np.outer(scale, scale))
    null = vals < COLLINEAR_TOL
    if null.any():
        involved = np.any(np.abs(vecs[:, null]) > 1e-6, axis=1)
        names = [columns[j] for j in np.flatnonzero(involved)]
        raise InputError(f"covariates: {names} are linearly dependent (within the risk sets at the "
                         "event times, i.e. after removing strata effects); drop one of them", field="covariates")


def _collapse(matrix: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Sum the columns (rows of the data) of a (p, n) matrix within clusters (R ``rowsum``)."""
    if cluster is None:
        return matrix
    k = int(cluster.max()) + 1
    return np.stack([np.bincount(cluster, weights=row, minlength=k) for row in matrix])


def _chi2(stat: float, df: int) -> ChiSquareTest:
    return ChiSquareTest(stat=float(stat), df=int(df), p=float(chdtrc(df, stat)) if df > 0 else 1.0)


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
    max_iter: int = MAX_ITER,
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
        in the columns used (an ``InputError`` names them and their rows: select complete
        cases explicitly).
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

    max_iter : cap on the Newton-Raphson iterations (default 30).

    Convergence and estimability are reported in the result (see :class:`CoxResult`):
    ``converged`` is False when the iterations hit ``max_iter``; the ``estimable`` column
    of ``coef_table`` is False for a coefficient in which the likelihood is monotone (its
    estimate is infinite), found in two ways: a level of a categorical or two-valued
    covariate without events (exact: the likelihood then always increases towards an
    infinite coefficient), and R's ``toler.inf`` rule (the coefficient still moving when
    the likelihood has stopped changing) or a standardised coefficient beyond
    ``DRIFT_COEF`` with a standardised SE beyond ``DRIFT_SE``. ``problems`` says so in
    words and one :class:`~oncotrial.core.errors.ConvergenceWarning` repeats it. The
    numbers are reported as computed, as R does. Constant or linearly dependent
    covariates raise :class:`~oncotrial.core.errors.InputError` (R silently returns NA
    coefficients).

    Errors: a ``data`` that is not a DataFrame, or column lists that are not lists, raise
    ``TypeError``; missing or duplicated columns, missing values, text or booleans in the
    time column, event values other than 0/1, and the checks above raise ``InputError``
    with ``field`` the argument (``"time"``, ``"covariates"``, ...) and a message naming
    the column and its 1-based rows.
    """
    conv = resolve_convention(convention)
    method = conv.ties if ties is None else str(ties).lower()
    if method not in _TIES:
        raise InputError(f"ties: expected one of {list(_TIES)}, got {ties!r}", field="ties")
    conf_level = as_fraction(conf_level, "conf_level")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter: expected a positive whole number of iterations, got {max_iter!r}",
                         field="max_iter")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    for role, value in (("time", time), ("event", event), ("weights", weights), ("cluster", cluster)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{role}: expected a column name (str), got {type(value).__name__} {value!r}")
    covariates = _columns_arg(covariates, "covariates")
    if not covariates:
        raise InputError("covariates: expected at least one covariate", field="covariates")
    strata = [] if strata is None else _columns_arg(strata, "strata")
    cat_spec = _categorical_arg(categorical, covariates)
    roles = {"time": [time], "event": [event], "covariates": covariates, "strata": strata,
             "weights": [] if weights is None else [weights],
             "cluster": [] if cluster is None else [cluster]}
    _check_columns(data, roles)
    n = len(data)
    if n == 0:
        raise InputError("data: empty, expected at least one row", field="data")

    t = as_time(data[time], time, field="time")
    e = as_event(data[event], event, field="event")
    if not e.any():
        raise InputError(f"{event}: no events (every row is censored); the partial likelihood is empty",
                         field="event")
    w = as_weights(data[weights], n, name=weights, field="weights") if weights is not None else np.ones(n)
    if weights is not None and (w == 0).any():
        raise InputError(f"{weights}: case weights must be > 0 (as in R coxph), got 0 at "
                         f"{row_labels(w == 0)}", field="weights")
    if conv.timefix:
        t = timefix(t)

    columns: list[str] = []
    blocks: list[np.ndarray] = []
    terms: dict[str, list[int]] = {}
    leveled: list[_Levels] = []
    levels: _Levels | None
    for col in covariates:
        if col in cat_spec:
            names, cols, levels = _dummies(data, col, cat_spec[col], conv)
        else:
            x, levels = _numeric(data, col)
            names, cols = [col], [x]
        if levels is not None:
            leveled.append(levels)
        terms[col] = list(range(len(columns), len(columns) + len(names)))
        columns.extend(names)
        blocks.extend(cols)
    X = np.stack(blocks).T  # (n, p) view of a (p, n) array: each covariate contiguous
    strata_codes = _strata_codes(data, strata) if strata else None
    cluster_codes = (as_groups(data[cluster], name=cluster, min_levels=1, field="cluster")[0]
                     if cluster is not None else None)
    robust = bool(robust) or cluster is not None

    with single_threaded_blas():
        layout = CoxLayout(t, e, X, w, strata_codes, efron=method == "efron")
        initial = layout.evaluate(np.zeros(X.shape[1]))
        _check_information(initial, columns)
        fit = newton(layout, initial, max_iter=int(max_iter))
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
    naive_se = np.sqrt(np.diag(naive_var))
    converged = fit.status != "max_iter"
    estimable, problems = _assess(fit, columns, leveled, e * w, naive_se, X.std(axis=0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # a coefficient drifting to infinity may overflow exp(); it is flagged above
        z = beta / se
        q = float(ndtri(1 - (1 - conf_level) / 2))
        table = pd.DataFrame({
            "coef": beta, "hr": np.exp(beta), "se": se, "z": z, "p": 2 * ndtr(-np.abs(z)),
            "lower": np.exp(beta - q * se), "upper": np.exp(beta + q * se),
        }, index=pd.Index(columns, name="term"))
    if robust:
        table["naive_se"] = naive_se
    table["estimable"] = estimable
    if problems:
        warnings.warn("coxph: " + "; ".join(problems), ConvergenceWarning, stacklevel=2)

    design = CoxDesign(time=t, event=e, X=X, weights=w, strata=strata_codes, columns=columns,
                       terms=terms)
    return CoxResult(
        coef_table=table, coef=beta, var=var, naive_var=naive_var,
        loglik=(initial.loglik, fit.final.loglik),
        lr_test=_chi2(2 * (fit.final.loglik - initial.loglik), rank),
        wald_test=_chi2(*quadratic_form(var, beta)),
        score_test=_chi2(*quadratic_form(initial.info, initial.score)),
        robust_score_test=robust_score,
        n=n, n_events=int(e.sum()), converged=converged, problems=tuple(problems),
        iterations=fit.iterations, ties=method, conf_level=float(conf_level), robust=robust,
        convention=conv.name, design=design,
    )


def _assess(fit: NewtonFit, columns: list[str], leveled: list[_Levels], weighted_events: np.ndarray,
            naive_se: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Which coefficients are estimable, and the problems of the fit in plain words.

    A level without events makes the likelihood increase for ever as its coefficient goes
    to -infinity (every death has the level's indicator 0, so the coefficient only shrinks
    the denominators), and a reference level without events sends the other levels' to
    +infinity: both are certain from the counts, whatever the iteration did. The other
    monotone cases (e.g. a covariate separating the deaths) are caught on the fit: by R's
    ``toler.inf`` rule after the likelihood stopped changing, or by a coefficient that is
    both huge and without information once standardised to the covariate's SD.
    """
    p = len(columns)
    estimable = np.ones(p, dtype=bool)
    problems: list[str] = []
    index = {name: j for j, name in enumerate(columns)}
    for lv in leveled:
        events = np.bincount(lv.codes, weights=weighted_events, minlength=len(lv.labels))
        if events[lv.reference] == 0:
            names = list(lv.coefficients.values())
            estimable[[index[c] for c in names]] = False
            problems.append(f"no events in the reference level {lv.labels[lv.reference]!r} of "
                            f"{lv.column}: the hazard ratio{'s' if len(names) > 1 else ''} of "
                            f"{', '.join(names)} against it {'are' if len(names) > 1 else 'is'} not "
                            "estimable (infinite)")
            continue
        for i, name in lv.coefficients.items():
            if events[i] == 0:
                estimable[index[name]] = False
                problems.append(f"no events in level {lv.labels[i]!r} of {lv.column}: the hazard "
                                f"ratio of {name} is not estimable (it tends to 0)")
    if fit.status == "max_iter":
        moving = [columns[j] for j in np.flatnonzero(infinite_coefficients(fit))]
        problems.append(f"did not converge in {fit.iterations} iterations (coefficients still "
                        f"moving: {moving}); the estimates are unreliable")
    flagged = infinite_coefficients(fit) if fit.status == "plateau" else np.zeros(p, dtype=bool)
    with np.errstate(invalid="ignore"):
        flagged |= (np.abs(fit.beta) * sd > DRIFT_COEF) & (naive_se * sd > DRIFT_SE)
    for j in np.flatnonzero(flagged & estimable):
        estimable[j] = False
        direction = "0" if fit.beta[j] < 0 else "infinity"
        problems.append(f"the log partial likelihood is monotone in {columns[j]} (monotone "
                        f"likelihood): its hazard ratio is not estimable (it tends to {direction})")
    return estimable, problems
