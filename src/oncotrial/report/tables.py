"""The tables of a trial report, computed from ADaM data: characteristics (Table 1), the
CONSORT flow, efficacy, response and adverse events.

Each function returns a small frozen result (the :class:`~oncotrial.core.results.Result`
mixin) holding numbers, never text alone: ``to_frame()`` gives every number in long form
(the columns of the analysis-results dataset, :mod:`oncotrial.report.ard`), and
``display()`` (or ``Table1.table``) the cells as a report prints them. Counting rules:

* populations: Table 1, CONSORT, efficacy and response use the randomised patients
  (``ITTFL = "Y"``, intention to treat) by planned arm; the adverse-event table uses the
  safety population (``SAFFL = "Y"``) by the arm actually received, because a patient given
  the other arm's drugs had that arm's toxicity;
* a patient is counted once per row (distinct ``USUBJID``), whatever the number of records;
* percentages are rounded half up (SAS's ``ROUND``, and what a reader checking a table by
  hand does; Python's ``round`` rounds half to even on binary floats);
* nothing is dropped silently: a value outside the declared levels, a grade outside 1–5, a
  response code outside RECIST or a flag other than Y/N is a
  :class:`~oncotrial.core.errors.DataError` naming the dataset, variable and rows (the data
  rows of the dataset passed, numbered from 1 as in :mod:`oncotrial.report.adam`, also when
  the table describes a subset of them); a bad argument is an
  :class:`~oncotrial.core.errors.InputError` naming it;
* a hazard ratio that cannot be estimated (an arm without events) is ``NaN`` with the
  reason in the efficacy summary's ``notes``, printed "NE" (see
  :mod:`oncotrial.report.efficacy`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.io import require_columns
from oncotrial.protocol.base import level_key
from oncotrial.report.adam import BOR_CODES, _blank, _not_numbers, data_error
from oncotrial.report.consort import CONSORT_LABELS, ConsortFlow, TreatmentPhase, consort_flow
from oncotrial.report.efficacy import EfficacySummary, efficacy_summary
from oncotrial.report.format import format_ci, format_estimate, format_number, format_p, n_percent
from oncotrial.stats.conventions import resolve_convention

__all__ = [
    "DAYS_PER_UNIT",
    "AE_OVERVIEW",
    "CONSORT_LABELS",
    "DOSE_REDUCTION_ANY",
    "RESPONDER_ONLY",
    "RESPONSE_CATEGORIES",
    "AdverseEventTable",
    "Categorical",
    "ConsortFlow",
    "Continuous",
    "Flags",
    "ResponseTable",
    "Table1",
    "TreatmentPhase",
    "Variable",
    "adverse_event_table",
    "consort_flow",
    "efficacy_endpoints",
    "efficacy_tables",
    "endpoint_analyses",
    "model_terms",
    "fisher_p",
    "newcombe_difference",
    "response_table",
    "table1",
]

TOTAL = "Total"


# ----------------------------------------------------------------------------- formatting

# ----------------------------------------------------------------------------- Table 1

@dataclasses.dataclass(frozen=True)
class Categorical:
    """A categorical characteristic: one row per level, ``n (%)``.

    ``levels`` maps each value to the label printed, in printing order (every level is
    shown, with 0 if nobody has it; a value outside ``levels`` is an error). Without
    ``levels`` the observed values are shown, sorted. ``bins`` instead groups a number into
    closed intervals ``(low, high, label)``; values in no bin are counted in no row but stay
    in the denominator (a table of 1 and >= 2 metastases over all patients, patients without
    metastases in neither row). ``where`` (a pandas expression over ADSL columns) restricts the variable to
    the patients it applies to, whose number becomes the denominator (grade is defined for
    soft-tissue tumours only). Missing values: ``missing="row"`` adds a Missing row and keeps
    missing patients in the denominator; ``"exclude"`` leaves them out of the denominator
    and prints their count alone (performance-status rows such as 45/74 with two patients missing).
    """

    column: str
    label: str
    levels: Mapping[Any, str] | None = None
    bins: tuple[tuple[float, float, str], ...] | None = None
    where: str | None = None
    missing: Literal["row", "exclude"] = "row"


@dataclasses.dataclass(frozen=True)
class Continuous:
    """A continuous characteristic: rows for ``statistics`` among ``"n"``, ``"mean_sd"``,
    ``"median_iqr"``, ``"median"``, ``"range"``, plus a Missing row when values are missing.

    Location statistics are printed with ``digits`` decimals and the SD with one more (the
    usual CSR rule: 75.2 (8.59) for an age in whole years). Quartiles follow the analysis
    convention (see :func:`table1`).
    """

    column: str
    label: str
    statistics: tuple[str, ...] = ("median_iqr",)
    digits: int = 1
    where: str | None = None


@dataclasses.dataclass(frozen=True)
class Flags:
    """Several Y/N indicator columns shown as the levels of one characteristic (sites of
    metastasis: a patient may have several, so the rows do not add up). Each row counts the
    ``"Y"`` values over the patients the characteristic applies to; a patient with a blank
    flag in any column is counted once in a Missing row."""

    label: str
    columns: Mapping[str, str]
    where: str | None = None


Variable = Categorical | Continuous | Flags

_CONTINUOUS_LABELS = {"n": "n", "mean_sd": "Mean (SD)", "median_iqr": "Median (IQR)", "median": "Median",
                      "range": "Min–max"}
_QuantileMethod = Literal["averaged_inverted_cdf", "linear"]
_SAS_QUANTILES: _QuantileMethod = "averaged_inverted_cdf"  # SAS QNTLDEF=5 = Hyndman–Fan type 2
_R_QUANTILES: _QuantileMethod = "linear"  # R quantile() default, type 7


@dataclasses.dataclass(frozen=True, repr=False)
class Table1(Result):
    """Characteristics by arm.

    ``table``: ``variable, level`` then one column of printed cells per arm and ``Total``;
    ``stats``: the numbers in long form (``variable, column, level, arm, statistic, value,
    lower, upper, where``): per category ``n``, ``N`` and ``n_percent`` (a fraction), per
    continuous variable ``n``, ``n_missing``, ``mean``, ``sd``, ``median`` (Q1, Q3 as
    lower, upper), ``min``, ``max``; ``arm_n``: patients per column.
    """

    table: pd.DataFrame
    stats: pd.DataFrame
    arm_n: dict[str, int]
    quantiles: str

    def to_frame(self) -> pd.DataFrame:
        """ARD records: ``arm, subgroup (column=level), statistic, value, lower, upper, method``."""
        s = self.stats
        subgroup = np.where(s["level"].isna(), s["column"], s["column"] + "=" + s["level"].fillna(""))
        method = [_table1_method(statistic, where, self.quantiles)
                  for statistic, where in zip(s["statistic"], s["where"], strict=True)]
        return pd.DataFrame({"arm": s["arm"], "subgroup": subgroup, "statistic": s["statistic"],
                             "value": s["value"], "lower": s["lower"], "upper": s["upper"],
                             "method": method})

    def __repr__(self) -> str:
        return f"Table1({len(self.table)} rows, arms={self.arm_n})"


def _table1_method(statistic: str, where: Any, quantiles: str) -> str | None:
    parts = [f"median (IQR: {quantiles})"] if statistic == "median" else []
    if isinstance(where, str):
        parts.append(f"among {where}")
    return "; ".join(parts) or None


def _applies(adsl: pd.DataFrame, where: str | None) -> pd.Series:
    if where is None:
        return pd.Series(True, index=adsl.index)
    try:
        mask = adsl.eval(where)
    except (NameError, SyntaxError, KeyError, TypeError, ValueError) as exc:  # pandas' errors of a bad expression
        raise InputError(f"where: cannot evaluate {where!r} over ADSL: {exc}", field="where") from None
    return mask.fillna(False).astype(bool)


def _categorical_codes(adsl: pd.DataFrame, var: Categorical) -> tuple[pd.Series, list[str]]:
    """The printed level of each patient (NaN when missing or in no bin) and the level order."""
    values = adsl[var.column]
    missing = _blank(values)
    if var.bins is not None:
        text = _not_numbers(values)
        numbers = pd.to_numeric(values.where(~missing & ~text), errors="coerce")
        bad = (numbers.isna() & ~missing) | text
        if bad.any():
            raise data_error("ADSL", var.column, "expected numbers for the bins", bad)
        codes = pd.Series(np.nan, index=adsl.index, dtype=object)
        for low, high, label in var.bins:
            codes[(numbers >= low) & (numbers <= high)] = label
        return codes, [label for _, _, label in var.bins]
    if var.levels is not None:
        labels = {level_key(value): label for value, label in var.levels.items()}
        codes = values.where(~missing).map(lambda v: labels.get(level_key(v)) if not pd.isna(v) else np.nan)
        bad = codes.isna() & ~missing
        if bad.any():
            first = values[bad].iloc[0]
            shown = first.item() if isinstance(first, np.generic) else first  # 2, not np.int64(2)
            raise data_error("ADSL", var.column, f"value {shown!r} is not a declared level "
                                                 f"({', '.join(map(str, var.levels))})", bad)
        return codes, list(var.levels.values())
    codes = values.where(~missing).map(lambda v: v if pd.isna(v) else str(v))
    return codes, sorted(codes.dropna().unique())


def _stat(rows: list[dict[str, Any]], var: Variable, column: str, level: str | None, arm: str,
          statistic: str, value: float, lower: float = np.nan, upper: float = np.nan) -> None:
    rows.append({"variable": var.label, "column": column, "level": level, "arm": arm,
                 "statistic": statistic, "value": value, "lower": lower, "upper": upper,
                 "where": var.where})


def _categorical(adsl: pd.DataFrame, groups: dict[str, pd.Series], var: Categorical, digits: int,
                 rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    codes, levels = _categorical_codes(adsl, var)
    applies = _applies(adsl, var.where)
    missing = _blank(adsl[var.column]) & applies
    shown = [*levels, "Missing"] if missing.any() else levels
    cells: dict[str, dict[str, str]] = {level: {} for level in shown}
    for arm, members in groups.items():
        group = members & applies
        n_all, n_missing = int(group.sum()), int((group & missing).sum())
        total = n_all if var.missing == "row" else n_all - n_missing
        show_total = total != int(members.sum())
        for level in shown:
            if level == "Missing" and var.missing == "exclude":
                cells[level][arm] = str(n_missing)
                _stat(rows, var, var.column, level, arm, "n_missing", n_missing)
                continue
            n = n_missing if level == "Missing" else int((group & (codes == level)).sum())
            cells[level][arm] = n_percent(n, total, digits=digits, denominator=show_total)
            for statistic, value in (("n", n), ("N", total), ("n_percent", n / total if total else np.nan)):
                _stat(rows, var, var.column, level, arm, statistic, value)
    return [{"variable": var.label, "level": level, **row} for level, row in cells.items()]


def _continuous(adsl: pd.DataFrame, groups: dict[str, pd.Series], var: Continuous, method: _QuantileMethod,
                rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unknown = [s for s in var.statistics if s not in _CONTINUOUS_LABELS]
    if unknown:
        raise InputError(f"statistics: unknown statistics {unknown} for {var.column}; expected any of "
                         f"{list(_CONTINUOUS_LABELS)}", field="statistics")
    raw = adsl[var.column]
    missing = _blank(raw)
    text = _not_numbers(raw)
    numbers = pd.to_numeric(raw.where(~missing & ~text), errors="coerce")
    bad = (numbers.isna() & ~missing) | text
    if bad.any():
        raise data_error("ADSL", var.column, "expected numbers (text and booleans are not converted)", bad)
    applies = _applies(adsl, var.where)
    d = var.digits
    cells: dict[str, dict[str, str]] = {_CONTINUOUS_LABELS[s]: {} for s in var.statistics}
    cells["Missing"] = {}
    for arm, members in groups.items():
        group = members & applies
        x = numbers[group & ~missing].to_numpy(dtype=float)
        n, n_missing = len(x), int((group & missing).sum())
        if n:
            q1, median, q3 = np.quantile(x, [0.25, 0.5, 0.75], method=method)
            mean = float(x.mean())
            sd = float(x.std(ddof=1)) if n > 1 else np.nan
            low, high = float(x.min()), float(x.max())
        else:
            q1 = median = q3 = mean = sd = low = high = np.nan
        _stat(rows, var, var.column, None, arm, "n", n)
        _stat(rows, var, var.column, None, arm, "n_missing", n_missing)
        _stat(rows, var, var.column, None, arm, "mean", mean)
        _stat(rows, var, var.column, None, arm, "sd", sd)
        _stat(rows, var, var.column, None, arm, "median", float(median), float(q1), float(q3))
        _stat(rows, var, var.column, None, arm, "min", low)
        _stat(rows, var, var.column, None, arm, "max", high)
        printed = {
            "n": str(n),
            "mean_sd": f"{format_number(mean, d)} ({format_number(sd, d + 1)})",
            "median_iqr": format_estimate(median, q1, q3, d),
            "median": format_number(median, d),
            "range": format_ci(low, high, d),
        }
        for s in var.statistics:
            cells[_CONTINUOUS_LABELS[s]][arm] = printed[s]
        cells["Missing"][arm] = str(n_missing)
    if not (missing & applies).any():
        del cells["Missing"]
    return [{"variable": var.label, "level": level, **row} for level, row in cells.items()]


def _flags(adsl: pd.DataFrame, groups: dict[str, pd.Series], var: Flags, digits: int,
           rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    applies = _applies(adsl, var.where)
    blank_any = pd.Series(False, index=adsl.index)
    for column in var.columns:
        values = adsl[column]
        blank = _blank(values)
        bad = ~blank & ~values.isin(["Y", "N"])
        if bad.any():
            raise data_error("ADSL", column, "expected Y, N or blank", bad)
        blank_any |= blank
    blank_any &= applies
    shown: list[tuple[str, str, pd.Series]] = [(c, label, adsl[c].eq("Y")) for c, label in var.columns.items()]
    if blank_any.any():
        shown.append((var.label, "Missing", blank_any))
    cells: dict[str, dict[str, str]] = {label: {} for _, label, _ in shown}
    for arm, members in groups.items():
        group = members & applies
        total = int(group.sum())
        show_total = total != int(members.sum())
        for column, label, counted in shown:
            n = int((group & counted).sum())
            cells[label][arm] = n_percent(n, total, digits=digits, denominator=show_total)
            for statistic, value in (("n", n), ("N", total), ("n_percent", n / total if total else np.nan)):
                _stat(rows, var, column, label, arm, statistic, value)
    return [{"variable": var.label, "level": level, **row} for level, row in cells.items()]


def _columns_of(var: Variable) -> list[str]:
    return list(var.columns) if isinstance(var, Flags) else [var.column]


def table1(adsl: pd.DataFrame, *, variables: Sequence[Variable], arm: str = "ARMCD",
           arms: Sequence[str] | None = None, total: bool = True, percent_digits: int = 0,
           convention: str = "r", population: str | None = None) -> Table1:
    """Characteristics of the patients in ``adsl`` by ``arm`` (and in all, ``total``).

    Pass the population to describe (the randomised patients for a trial's Table 1).
    Categorical cells print ``n (%)``, or ``n/N (%)`` when the denominator differs from the
    column's patients (a variable for a subset, or missing values excluded); continuous
    cells print the requested statistics. Quartiles follow ``convention``: R's ``quantile``
    default (type 7) for ``"r"``, SAS's default ``QNTLDEF=5`` (averaging at jumps of the
    empirical distribution, Hyndman–Fan type 2) for ``"sas"``, so the IQR matches the
    software the trial was analysed with. ``arms`` fixes the column order (default: sorted).
    ``population`` (a flag such as ``"ITTFL"``) describes only the patients flagged ``"Y"``;
    passing the whole ADSL that way, rather than a subset, keeps the row numbers of any
    error those of the ADSL.
    """
    columns = [arm, *[c for var in variables for c in _columns_of(var)], population]
    require_columns(adsl, columns, source="ADSL")
    frame = adsl.reset_index(drop=True)
    if population is not None:
        frame = frame[frame[population] == "Y"]
    missing_arm = _blank(frame[arm])
    if missing_arm.any():
        raise data_error("ADSL", arm, "patients without an arm", missing_arm)
    order = list(arms) if arms is not None else sorted(frame[arm].astype(str).unique())
    stray = ~frame[arm].astype(str).isin(order)
    if stray.any():
        raise data_error("ADSL", arm, f"arm {frame[arm][stray].iloc[0]!r} not among {order}", stray)
    groups = {a: frame[arm].astype(str) == a for a in order}
    if total:
        groups[TOTAL] = pd.Series(True, index=frame.index)
    method = _SAS_QUANTILES if resolve_convention(convention).name == "sas" else _R_QUANTILES
    rows: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    for var in variables:
        if isinstance(var, Categorical):
            table += _categorical(frame, groups, var, percent_digits, rows)
        elif isinstance(var, Continuous):
            table += _continuous(frame, groups, var, method, rows)
        else:
            table += _flags(frame, groups, var, percent_digits, rows)
    quantiles = ("SAS QNTLDEF=5 (R type 2)" if method == _SAS_QUANTILES else "R type 7")
    return Table1(
        table=pd.DataFrame(table, columns=["variable", "level", *groups]),
        stats=pd.DataFrame(rows, columns=["variable", "column", "level", "arm", "statistic", "value",
                                          "lower", "upper", "where"]),
        arm_n={a: int(m.sum()) for a, m in groups.items()},
        quantiles=quantiles,
    )


# ----------------------------------------------------------------------------- efficacy

#: ADTTE ``AVAL`` is in days (admiral's ``ADT - STARTDT + 1``); the protocol's time unit in
#: days, so that months are ``AVAL / 30.4375``, the ``AVALM`` of :mod:`oncotrial.clinical`
DAYS_PER_UNIT: Mapping[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}
#: time-to-event end points measured among responders only: a hazard ratio between arms
#: would compare groups selected by response, not randomised groups, so they are not in the
#: efficacy tables
RESPONDER_ONLY = ("DOR",)


def efficacy_endpoints(protocol: Any) -> list[str]:
    """``PARAMCD`` of the protocol's time-to-event end points (upper-cased names), primary
    first, without the responder-only ones (:data:`RESPONDER_ONLY`)."""
    names = [e.name.upper() for e in sorted(protocol.endpoints, key=lambda e: e.role != "primary")
             if e.kind == "time_to_event"]
    return [n for n in names if n not in RESPONDER_ONLY]


def model_terms(analysis: Any) -> tuple[list[str], list[str]]:
    """``(strata, covariates)`` of the Cox model an end point's analysis names
    (:class:`oncotrial.protocol.endpoints.EndpointAnalysis` with defaults filled in):
    ``stratified_cox``, separate baseline hazards per combination of its strata;
    ``adjusted_cox``, the strata as covariates; ``cox``, the arm alone."""
    factors = list(analysis.strata or [])
    if analysis.model == "stratified_cox":
        return factors, []
    if analysis.model == "adjusted_cox":
        return [], factors
    return [], []


def endpoint_analyses(protocol: Any, endpoints: Sequence[str]) -> dict[str, Any]:
    """``PARAMCD`` → the end point's analysis with every default filled in
    (:meth:`oncotrial.protocol.Protocol.endpoint_analysis`); PARAMCDs are upper-cased
    end-point names."""
    names = {e.name.upper(): e.name for e in protocol.endpoints}
    return {paramcd: protocol.endpoint_analysis(names[paramcd]) for paramcd in endpoints if paramcd in names}


def efficacy_tables(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Any, *,
                    endpoints: Sequence[str] | None = None) -> dict[str, EfficacySummary]:
    """The efficacy table of each time-to-event end point present in ADTTE, analysed as
    the protocol declares it.

    Per ``PARAMCD`` (default :func:`efficacy_endpoints`; absent ones are skipped — the
    caller reports them), on the randomised patients with a record, by planned arm
    (``ARM``) against the protocol's control arm, each other arm compared with it
    pairwise: :func:`~oncotrial.report.efficacy.efficacy_summary` with time ``AVAL`` in the
    protocol's ``analysis.time_unit`` (:data:`DAYS_PER_UNIT`), event ``CNSR == 0`` and the
    protocol's R/SAS ``convention``, and from the end point's analysis
    (:meth:`oncotrial.protocol.Protocol.endpoint_analysis`): the Cox model of
    :func:`model_terms`, the test (``stratified_logrank``: the log-rank test stratified by
    the end point's strata; ``logrank``: unstratified; ``model_score``: the score test of
    that Cox model), its sidedness, whether a P value is reported, the confidence level and
    the Kaplan–Meier landmarks.
    """
    wanted = list(endpoints) if endpoints is not None else efficacy_endpoints(protocol)
    analyses = endpoint_analyses(protocol, wanted)
    factors = list(dict.fromkeys(f for a in analyses.values() for f in a.strata or []))
    require_columns(adsl, ["USUBJID", "ARM", "ARMCD", "ITTFL", *factors], source="ADSL")
    require_columns(adtte, ["USUBJID", "PARAMCD", "AVAL", "CNSR"], source="ADTTE")
    itt = adsl[adsl["ITTFL"] == "Y"]
    control = itt.loc[itt["ARMCD"] == protocol.control.code, "ARM"]
    if control.empty:
        raise data_error("ADSL", "ARMCD", f"no randomised patient in the control arm {protocol.control.code!r}")
    present = set(adtte["PARAMCD"].dropna())
    out: dict[str, EfficacySummary] = {}
    for paramcd in wanted:
        if paramcd not in present or paramcd not in analyses:
            continue
        analysis = analyses[paramcd]
        strata, covariates = model_terms(analysis)
        if analysis.test == "model_score" and covariates:
            raise InputError(f"{paramcd}: analysis test model_score with model adjusted_cox: the score test of a "
                             f"Cox model adjusted for {', '.join(covariates)} tests those covariates with the arm, "
                             f"not the arm alone; declare model stratified_cox or a log-rank test", field="test")
        records = adtte.loc[adtte["PARAMCD"] == paramcd, ["USUBJID", "AVAL", "CNSR"]]
        data = itt[["USUBJID", "ARM", *factors]].merge(records, on="USUBJID", how="inner")
        data["TIME"] = data["AVAL"].astype(float) / DAYS_PER_UNIT[protocol.analysis.time_unit]
        data["EVENT"] = (data["CNSR"] == 0).astype(int)
        out[paramcd] = efficacy_summary(
            data, time="TIME", event="EVENT", group="ARM", strata=strata, adjust=covariates,
            landmarks=list(analysis.landmarks), reference=control.iloc[0], conf_level=analysis.conf_level,
            convention=protocol.analysis.convention, endpoint=paramcd,
            test="model_score" if analysis.test == "model_score" else "logrank",
            test_strata=list(analysis.strata or []) if analysis.test == "stratified_logrank" else [],
            sided=int(analysis.sided or 2), p_value=analysis.p_value)
    return out


# ----------------------------------------------------------------------------- response

def fisher_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher exact p for ``x1/n1`` against ``x2/n2`` (R ``fisher.test``: tables as
    or less likely than the observed one, within a relative 1e-7)."""
    from scipy.stats import (
        fisher_exact,  # scipy.stats is slow to import; only tables with counts need it
    )

    return float(fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int,
                        conf_level: float = 0.95) -> tuple[float, float, float]:
    """``p1 - p2`` with Newcombe's hybrid score interval (Newcombe 1998, Stat Med 17:873,
    method 10): the Wilson score limits ``l_i, u_i`` of each proportion (no continuity
    correction) combined as ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and
    ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.

    Chosen over Miettinen–Nurminen because it is closed form, stays within [-1, 1], has
    coverage close to nominal even at 0 or n responders (Newcombe's evaluation), and its
    ingredients are R's ``prop.test(correct = FALSE)`` intervals, which makes it checkable.
    NaN when an arm has no patient.
    """
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan, math.nan
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - conf_level) / 2))
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = _wilson(x1, n1, z), _wilson(x2, n2, z)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@dataclasses.dataclass(frozen=True, repr=False)
class ResponseTable(Result):
    """Objective response (ORR: best overall response CR or PR) and disease control (DCR:
    CR, PR, SD or NON-CR/NON-PD) per arm with Clopper–Pearson CIs; per non-reference arm the
    difference against ``reference`` (Newcombe hybrid score CI) and Fisher's exact p.

    ``rates``: ``endpoint, arm, n, N, rate, lower, upper``; ``comparisons``: ``endpoint, arm,
    reference, difference, lower, upper, fisher_p``; ``best_response``: ``arm, category, n, N``.
    """

    rates: pd.DataFrame
    comparisons: pd.DataFrame
    best_response: pd.DataFrame
    reference: str
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """ARD records (``endpoint, arm, subgroup, statistic, value, lower, upper, method``)."""
        rows: list[dict[str, Any]] = []
        for r in self.rates.itertuples(index=False):
            rows += [{"endpoint": r.endpoint, "arm": r.arm, "statistic": "n", "value": r.n},
                     {"endpoint": r.endpoint, "arm": r.arm, "statistic": "N", "value": r.N},
                     {"endpoint": r.endpoint, "arm": r.arm, "statistic": r.endpoint.lower(), "value": r.rate,
                      "lower": r.lower, "upper": r.upper, "method": "Clopper–Pearson exact CI"}]
        for c in self.comparisons.itertuples(index=False):
            rows += [{"endpoint": c.endpoint, "arm": c.arm, "statistic": "difference", "value": c.difference,
                      "lower": c.lower, "upper": c.upper,
                      "method": f"{c.arm} minus {c.reference}; Newcombe hybrid score CI (method 10)"},
                     *([] if pd.isna(c.fisher_p) else [
                         {"endpoint": c.endpoint, "arm": c.arm, "statistic": "fisher_p", "value": c.fisher_p,
                          "method": f"Fisher's exact test, two-sided, {c.arm} vs {c.reference}"}])]
        for b in self.best_response.itertuples(index=False):
            sub = f"BOR={b.category}"
            rows += [{"endpoint": "BOR", "arm": b.arm, "subgroup": sub, "statistic": "n", "value": b.n},
                     {"endpoint": "BOR", "arm": b.arm, "subgroup": sub, "statistic": "N", "value": b.N},
                     {"endpoint": "BOR", "arm": b.arm, "subgroup": sub, "statistic": "bor",
                      "value": b.n / b.N if b.N else np.nan}]
        return pd.DataFrame(rows)

    def display(self, digits: int = 0) -> pd.DataFrame:
        """Printed cells: one row per end point and BOR category, one column per arm, then the
        difference (CI) and Fisher p of each comparison."""
        level = f"{100 * self.conf_level:g}%"
        rows = []
        for endpoint, rates in self.rates.groupby("endpoint", sort=False):
            row = {"row": endpoint}
            for r in rates.itertuples(index=False):
                row[r.arm] = (f"{n_percent(r.n, r.N, digits=digits)} [{level} CI "
                              f"{format_ci(r.lower, r.upper, digits, scale=100)}]")
            for c in self.comparisons[self.comparisons["endpoint"] == endpoint].itertuples(index=False):
                row[f"{c.arm} − {c.reference}"] = (
                    format_estimate(c.difference, c.lower, c.upper, digits, scale=100))
                if not pd.isna(c.fisher_p):
                    row[f"P ({c.arm} vs {c.reference})"] = format_p(c.fisher_p)
            rows.append(row)
        for category, best in self.best_response.groupby("category", sort=False):
            rows.append({"row": f"BOR {category}",
                         **{b.arm: n_percent(b.n, b.N, digits=digits) for b in best.itertuples(index=False)}})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        orr = self.rates[self.rates["endpoint"] == "ORR"]
        rates = dict(zip(orr["arm"], orr["rate"].round(4), strict=True))
        return f"ResponseTable(orr={rates}, reference={self.reference!r})"


#: the best-overall-response rows of the response table, always shown; with ``MISSING`` (no
#: assessment) and "no BOR record", shown when someone has them, they partition the
#: randomised patients of each arm
RESPONSE_CATEGORIES = tuple(code for code in BOR_CODES if code != "MISSING")
NO_BOR = "no BOR record"


def _arm_order(values: pd.Series, arms: Sequence[str] | None, reference: str | None,
               variable: str) -> tuple[list[str], str]:
    """Arms with the reference first; every value of ``values`` (ADSL ``variable``, indexed
    by ADSL row positions) must be one of ``arms``."""
    text = values.astype(str)
    observed = sorted(text.unique())
    order = list(arms) if arms is not None else observed
    stray = ~text.isin(order)
    if stray.any():
        raise data_error("ADSL", variable, f"arm {text[stray].iloc[0]!r} is not among the arms {order}", stray)
    ref = order[0] if reference is None else reference
    if ref not in order:
        raise InputError(f"reference: arm {ref!r} not found in ADSL.{variable}; arms are {order}",
                         field="reference")
    return [ref, *[a for a in order if a != ref]], ref


def response_table(adsl: pd.DataFrame, adrs: pd.DataFrame, *, arm: str = "ARM",
                   arms: Sequence[str] | None = None, reference: str | None = None,
                   conf_level: float = 0.95, p_values: Collection[str] | None = None) -> ResponseTable:
    """ORR and DCR of the randomised patients by ``arm`` from the ADRS best overall response.

    The BOR is the ``PARAMCD = "BOR"`` record (``AVALC``; records with ``ANL01FL`` other than
    ``"Y"`` are ignored when the flag exists). Every randomised patient is in the
    denominator: a patient without a BOR record is a non-responder (RECIST and FDA guidance:
    the ORR denominator must not shrink with missing assessments); the rates and exact CIs
    come from :func:`oncotrial.clinical.recist_bor.response_rates`. ``reference`` (default:
    the first arm) is the comparator of the differences and Fisher tests. ``p_values``: the
    end points (``"ORR"``, ``"DCR"``) whose comparison gets a Fisher P, as the protocol's
    ``endpoints[].p_value`` says (default: both); the others show the difference and its CI
    only.
    """
    from oncotrial.clinical.recist_bor import response_rates  # the clinical tree is heavy to import

    require_columns(adsl, ["USUBJID", "ITTFL", arm], source="ADSL")
    require_columns(adrs, ["USUBJID", "PARAMCD", "AVALC"], source="ADRS")
    frame = adsl.reset_index(drop=True)
    itt = frame[frame["ITTFL"] == "Y"]
    order, ref = _arm_order(itt[arm], arms, reference, arm)
    records = adrs.reset_index(drop=True)
    bor = records[records["PARAMCD"] == "BOR"]
    if "ANL01FL" in bor.columns:
        bor = bor[bor["ANL01FL"] == "Y"]
    bor = bor[bor["USUBJID"].astype(str).isin(itt["USUBJID"].astype(str))]
    codes = bor["AVALC"].map(lambda v: v.strip().upper() if isinstance(v, str) else v)
    unknown = ~codes.isin(BOR_CODES)
    if unknown.any():
        raise data_error("ADRS", "AVALC", f"best overall response {bor['AVALC'][unknown].iloc[0]!r} is not a "
                                          f"RECIST 1.1 code ({', '.join(BOR_CODES)})", unknown)
    twice = bor["USUBJID"].astype(str).duplicated(keep=False)
    if twice.any():
        raise data_error("ADRS", "PARAMCD", "more than one BOR record for a subject", twice)
    best = pd.DataFrame({"USUBJID": bor["USUBJID"].astype(str), "BOR": codes})
    arm_of = dict(zip(itt["USUBJID"].astype(str), itt[arm].astype(str), strict=True))
    rates = response_rates(best, arm_of, confidence=conf_level).rename(
        columns={"ARM": "arm", "PARAMCD": "endpoint", "RATE": "rate", "LCL": "lower", "UCL": "upper"})
    rates = (rates.assign(_e=rates["endpoint"].map({"ORR": 0, "DCR": 1}), _a=rates["arm"].map(order.index))
             .sort_values(["_e", "_a"])[["endpoint", "arm", "n", "N", "rate", "lower", "upper"]]
             .reset_index(drop=True))
    comparisons = []
    for endpoint, group in rates.groupby("endpoint", sort=False):
        base = group[group["arm"] == ref].iloc[0]
        for r in group[group["arm"] != ref].itertuples(index=False):
            d, lo, hi = newcombe_difference(int(r.n), int(r.N), int(base["n"]), int(base["N"]), conf_level)
            tested = p_values is None or endpoint in p_values
            comparisons.append({"endpoint": endpoint, "arm": r.arm, "reference": ref, "difference": d,
                                "lower": lo, "upper": hi,
                                "fisher_p": fisher_p(int(r.n), int(r.N), int(base["n"]), int(base["N"]))
                                if tested else np.nan})
    categories = best.set_index("USUBJID")["BOR"].reindex(list(arm_of)).fillna(NO_BOR)
    shown = [*RESPONSE_CATEGORIES, *[c for c in ("MISSING", NO_BOR) if (categories == c).any()]]
    arm_values = pd.Series(arm_of).reindex(categories.index)
    bor_rows = [{"arm": a, "category": category, "n": int(((arm_values == a) & (categories == category)).sum()),
                 "N": int((arm_values == a).sum())} for a in order for category in shown]
    return ResponseTable(
        rates=rates,
        comparisons=pd.DataFrame(comparisons, columns=["endpoint", "arm", "reference", "difference", "lower",
                                                       "upper", "fisher_p"]),
        best_response=pd.DataFrame(bor_rows, columns=["arm", "category", "n", "N"]),
        reference=ref, conf_level=conf_level)


# ----------------------------------------------------------------------------- adverse events

#: overview rows of the adverse-event table and what each counts among treatment-emergent AEs
AE_OVERVIEW = {
    "teae_any": "Any TEAE",
    "grade34_any": "Grade 3–4 TEAE",
    "serious_any": "Serious TEAE",
    "grade5_any": "Grade 5 (fatal) TEAE",
}
#: the ADSL flag of a dose reduction in any phase and its printed label; the per-phase flags
#: (``RED<suffix>``) are named by the caller, from the protocol's phases
DOSE_REDUCTION_ANY = {"DOSREDFL": "Dose reduction, any phase"}


@dataclasses.dataclass(frozen=True, repr=False)
class AdverseEventTable(Result):
    """Treatment-emergent adverse events in the safety population by actual arm.

    ``overview``: ``row`` (:data:`AE_OVERVIEW` key), ``arm, n, N``; ``comparisons``: ``row,
    arm, reference, fisher_p``; ``by_term``: ``AEDECOD, arm, N, any_n, grade34_n, grade5_n``
    sorted by the number of patients with the term (all arms), then by term; ``dose_reductions``:
    ``variable, label, arm, n, N``; ``messages``: rows left out and why (no grade, no AESER).
    """

    overview: pd.DataFrame
    comparisons: pd.DataFrame
    by_term: pd.DataFrame
    dose_reductions: pd.DataFrame
    reference: str
    arm_n: dict[str, int]
    messages: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """ARD records: per (endpoint, arm, subgroup) ``n``, ``N`` and the proportion named
        after the row (``teae_any``, ``grade34_any``, ..., ``term_any``, ``term_grade34``,
        ``term_grade5``, ``dose_reduction``), plus ``fisher_p``."""
        rows: list[dict[str, Any]] = []

        def cell(endpoint: str, subgroup: str, statistic: str, arm: str, n: int, total: int) -> None:
            key = {"endpoint": endpoint, "arm": arm, "subgroup": subgroup}
            rows.extend([{**key, "statistic": "n", "value": n}, {**key, "statistic": "N", "value": total},
                         {**key, "statistic": statistic, "value": n / total if total else np.nan}])

        for r in self.overview.itertuples(index=False):
            cell("TEAE", r.row, r.row, r.arm, r.n, r.N)
        for c in self.comparisons.itertuples(index=False):
            rows.append({"endpoint": "TEAE", "arm": c.arm, "subgroup": c.row, "statistic": "fisher_p",
                         "value": c.fisher_p,
                         "method": f"Fisher's exact test, two-sided, {c.arm} vs {c.reference}"})
        for t in self.by_term.itertuples(index=False):
            cell("TEAE", f"AEDECOD={t.AEDECOD}", "term_any", t.arm, t.any_n, t.N)
            if not pd.isna(t.grade34_n):
                cell("TEAE", f"AEDECOD={t.AEDECOD}; grade 3-4", "term_grade34", t.arm, int(t.grade34_n), t.N)
                cell("TEAE", f"AEDECOD={t.AEDECOD}; grade 5", "term_grade5", t.arm, int(t.grade5_n), t.N)
        for d in self.dose_reductions.itertuples(index=False):
            cell("dose_reduction", d.variable, "dose_reduction", d.arm, d.n, d.N)
        return pd.DataFrame(rows)

    def display(self, digits: int = 1, percent_sign: bool = True) -> pd.DataFrame:
        """Printed cells ``n (%)``: overview rows with Fisher p, then each term (any grade,
        grade 3–4), then dose reductions; one column per arm."""
        rows: list[dict[str, str]] = []

        def add(label: str, cells: pd.DataFrame, count: str = "n") -> dict[str, str]:
            row = {"row": label, **{r.arm: n_percent(int(getattr(r, count)), r.N, digits=digits,
                                                    percent_sign=percent_sign)
                                    for r in cells.itertuples(index=False)}}
            rows.append(row)
            return row

        for key, label in AE_OVERVIEW.items():
            sub = self.overview[self.overview["row"] == key]
            if not sub.empty:
                row = add(label, sub)
                for c in self.comparisons[self.comparisons["row"] == key].itertuples(index=False):
                    row[f"P ({c.arm} vs {c.reference})"] = format_p(c.fisher_p)
        for term, sub in self.by_term.groupby("AEDECOD", sort=False):
            add(str(term), sub, "any_n")
            if not sub["grade34_n"].isna().any():
                add(f"{term}, grade 3–4", sub, "grade34_n")
        for label, sub in self.dose_reductions.groupby("label", sort=False):
            add(str(label), sub)
        columns = ["row", *self.arm_n]
        columns += [c for row in rows for c in row if c not in columns]
        return pd.DataFrame(rows).reindex(columns=list(dict.fromkeys(columns)))

    def __repr__(self) -> str:
        return (f"AdverseEventTable(arms={self.arm_n}, terms={self.by_term['AEDECOD'].nunique()}, "
                f"reference={self.reference!r})")


def _grades(teae: pd.DataFrame) -> pd.Series:
    grade = pd.to_numeric(teae["ATOXGR"].where(~_blank(teae["ATOXGR"])), errors="coerce")
    bad = (grade.isna() & ~_blank(teae["ATOXGR"])) | ~(grade.isna() | grade.isin([1, 2, 3, 4, 5]))
    if bad.any():
        raise data_error("ADAE", "ATOXGR", "expected grades 1-5", bad)
    return grade


def adverse_event_table(adsl: pd.DataFrame, adae: pd.DataFrame, *, arm: str = "ACTARM",
                        arms: Sequence[str] | None = None, reference: str | None = None,
                        reductions: Mapping[str, str] | None = None, p_values: bool = True) -> AdverseEventTable:
    """Patients with treatment-emergent AEs (``TRTEMFL = "Y"``) in the safety population
    (``SAFFL = "Y"``) by actual ``arm``; percentages of the arm's safety patients.

    Overview: any TEAE, grade 3–4 (``ATOXGR`` 3 or 4, a patient counted once whatever the
    term), serious (``AESER = "Y"``) and grade 5, each with Fisher's exact p against
    ``reference`` (default: the first arm). Per preferred term (``AEDECOD``): any grade,
    grade 3–4 and grade 5, sorted by frequency. Without ``ATOXGR`` (or ``AESER``) the grade
    (serious) rows are left out and a message says so; AEs with a blank grade count in the
    any-grade rows only (also reported). Dose reductions: the ADSL flags of ``reductions``
    (flag → printed label, in order; default :data:`DOSE_REDUCTION_ANY`) present, over the
    arm's safety patients (an arm where the flag is blank for everyone, e.g. a phase its
    regimen does not have, has no row). The counts equal
    :func:`oncotrial.clinical.adae.adverse_event_summary`'s. ``p_values=False`` (the
    protocol's ``reporting.adverse_event_p_values``) leaves the Fisher tests out: the table
    then describes only.
    """
    require_columns(adsl, ["USUBJID", "SAFFL", arm], source="ADSL")
    require_columns(adae, ["USUBJID", "AEDECOD", "TRTEMFL"], source="ADAE")
    safety = adsl.reset_index(drop=True)
    safety = safety[safety["SAFFL"] == "Y"]
    order, ref = _arm_order(safety[arm], arms, reference, arm)
    arm_of = dict(zip(safety["USUBJID"].astype(str), safety[arm].astype(str), strict=True))
    arm_n = {a: sum(v == a for v in arm_of.values()) for a in order}
    frame = adae.reset_index(drop=True)
    teae = frame[(frame["TRTEMFL"] == "Y") & frame["USUBJID"].astype(str).isin(arm_of)].copy()
    teae["_arm"] = teae["USUBJID"].astype(str).map(arm_of)
    messages: list[str] = []
    conditions: dict[str, pd.Series] = {"teae_any": pd.Series(True, index=teae.index)}
    graded = "ATOXGR" in teae.columns
    if graded:
        grade = _grades(teae)
        conditions["grade34_any"] = grade.isin([3, 4])
        if grade.isna().any():
            messages.append(f"ADAE: {int(grade.isna().sum())} TEAE records without ATOXGR count in the any-grade "
                            f"rows only")
    else:
        messages.append("ADAE has no ATOXGR: grade 3–4 and grade 5 rows left out")
    if "AESER" in teae.columns:
        conditions["serious_any"] = teae["AESER"] == "Y"
    else:
        messages.append("ADAE has no AESER: serious adverse events left out")
    if graded:
        conditions["grade5_any"] = grade == 5
    overview, comparisons = [], []
    for key, condition in conditions.items():
        counts = teae[condition].groupby("_arm")["USUBJID"].nunique()
        for a in order:
            overview.append({"row": key, "arm": a, "n": int(counts.get(a, 0)), "N": arm_n[a]})
        for a in order[1:] if p_values else ():
            comparisons.append({"row": key, "arm": a, "reference": ref,
                                "fisher_p": fisher_p(int(counts.get(a, 0)), arm_n[a],
                                                     int(counts.get(ref, 0)), arm_n[ref])})
    terms = teae.groupby(["AEDECOD", "_arm"])["USUBJID"].nunique().rename("any_n").to_frame()
    if graded:
        for name, mask in (("grade34_n", conditions["grade34_any"]), ("grade5_n", conditions["grade5_any"])):
            terms[name] = teae[mask].groupby(["AEDECOD", "_arm"])["USUBJID"].nunique()
    names = terms.index.get_level_values("AEDECOD").unique()
    full = pd.MultiIndex.from_product([names, order], names=["AEDECOD", "_arm"])
    terms = terms.reindex(full).fillna(0).astype(int).reset_index().rename(columns={"_arm": "arm"})
    for name in ("grade34_n", "grade5_n"):
        if name not in terms.columns:
            terms[name] = np.nan
    terms["N"] = terms["arm"].map(arm_n)
    totals = terms.groupby("AEDECOD")["any_n"].transform("sum")
    terms = (terms.assign(_total=-totals, _order=terms["arm"].map(order.index))
             .sort_values(["_total", "AEDECOD", "_order"]).drop(columns=["_total", "_order"]))
    dose_rows: list[dict[str, Any]] = []
    flags_shown = DOSE_REDUCTION_ANY if reductions is None else reductions
    for variable, label in [(v, text) for v, text in flags_shown.items() if v in safety.columns]:
        flags = safety[variable]
        for a in order:
            in_arm = safety[arm].astype(str) == a
            if (~_blank(flags[in_arm])).any():
                dose_rows.append({"variable": variable, "label": label, "arm": a,
                                  "n": int((flags[in_arm] == "Y").sum()), "N": arm_n[a]})
    return AdverseEventTable(
        overview=pd.DataFrame(overview, columns=["row", "arm", "n", "N"]),
        comparisons=pd.DataFrame(comparisons, columns=["row", "arm", "reference", "fisher_p"]),
        by_term=terms[["AEDECOD", "arm", "N", "any_n", "grade34_n", "grade5_n"]].reset_index(drop=True),
        dose_reductions=pd.DataFrame(dose_rows, columns=["variable", "label", "arm", "n", "N"]),
        reference=ref, arm_n=arm_n, messages=tuple(messages))
