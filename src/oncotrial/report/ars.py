"""The analysis results in the shape of the CDISC Analysis Results Standard (ARS): one
record per number, each saying which analysis made it, which output prints it, on which
analysis set, dataset and filter, by which method and operation, for which groups, and how
it is printed.

The long ARD (:mod:`oncotrial.report.ard`) keeps the numbers the tables are built from; a
reviewer or a QC program also needs to know where each number appears and what it means
without reading the code, and must never confuse a CI limit with a quartile. This module is
a pure conversion of that ARD (no statistics are recomputed), plus builders that turn the
objects the figures draw (forest-plot table, KM risk table, PH test) into ARD-shaped rows,
so that every number of the report can be in one dataset. ``docs/ars.md`` documents every
column and id.

Written values are JSON- and CSV-safe: counts are integers (``74``, never ``74.0``), other
numbers are rounded to 15 significant digits and written in their shortest form
(``0.5``, not ``0.5000000000000002``), a missing number is ``null`` / an empty cell.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.protocol import Protocol
from oncotrial.report.analysis import default_table1
from oncotrial.report.ard import ARD_COLUMNS
from oncotrial.report.format import format_number, format_p
from oncotrial.report.html import format_level
from oncotrial.report.tables import Continuous

__all__ = ["ARS_COLUMNS", "ArsDataset", "ars_records"]

ARS_COLUMNS = ["result_id", "analysis_id", "output_id", "analysis_set", "population", "dataset", "filter",
               "method_id", "method", "operation", "group1_var", "group1", "group2_var", "group2", "time",
               "time_unit", "statistic", "value", "formatted", "ci_level", "ard_row", "ard_column"]

#: decimals of printed numbers, as the report's tables print them (html.py, tables.py)
TIME_DIGITS, PERCENT_DIGITS, HR_DIGITS, TABLE1_PERCENT_DIGITS = 1, 1, 2, 0
#: statistics written as integers
_INTEGER = {"n", "N", "events", "n_missing", "randomised", "simulated", "look", "boundary_crossed",
            "at_risk", "censored", "ph_df"}
#: statistics whose ``lower``/``upper`` are a CI (else, for a median, the quartiles)
_CI = {"rate", "hazard_ratio", "orr", "dcr", "difference", "km_median", "forest_hr"}
_QUARTILES = {"table1_median", "median_followup"}
_PROPORTIONS = {"n_percent", "bor", "related_any", "related_grade34", "related_serious", "related_grade5",
                "term_related", "teae_any", "grade34_any", "serious_any", "grade5_any", "term_any",
                "term_grade34", "term_grade5", "dose_reduction", "orr", "dcr", "rate", "difference"}
_P = {"logrank_p", "score_p", "fisher_p", "p_interaction", "ph_p"}
_OPERATION = {"n": "count", "N": "denominator", "events": "count of events", "n_missing": "count of missing",
              "randomised": "count", "simulated": "seed", "mean": "mean", "sd": "standard deviation",
              "min": "minimum", "max": "maximum", "rate": "survival probability", "hazard_ratio": "hazard ratio",
              "forest_hr": "hazard ratio",
              "difference": "difference of proportions", "look": "look number",
              "information_fraction": "information fraction", "critical_value": "critical value",
              "nominal_level": "nominal significance level", "boundary_crossed": "boundary crossed (1/0)",
              "at_risk": "count at risk", "censored": "count censored", "ph_chisq": "chi-square",
              "ph_df": "degrees of freedom"}
_METHOD_ID = {"median": "KM-MEDIAN", "rate": "KM-RATE-GREENWOOD", "hazard_ratio": "COX", "logrank_p": "LOGRANK",
              "score_p": "COX-SCORE", "median_followup": "REVERSE-KM", "orr": "CLOPPER-PEARSON",
              "dcr": "CLOPPER-PEARSON", "difference": "NEWCOMBE-HYBRID", "fisher_p": "FISHER-EXACT",
              "mean": "MEAN", "sd": "SD", "min": "MIN", "max": "MAX", "look": "GSD", "information_fraction": "GSD",
              "critical_value": "GSD", "nominal_level": "GSD", "boundary_crossed": "GSD", "simulated": "SIMULATED",
              "p_interaction": "COX-LRT-INTERACTION", "ph_chisq": "COX-ZPH", "ph_df": "COX-ZPH", "ph_p": "COX-ZPH"}
#: output ids of the per-end-point tables and figures (``-<PARAMCD>`` appended)
_ENDPOINT_OUTPUT = {"efficacy": "T-EFF", "km_risk": "F-KM", "forest": "F-FOREST", "ph_test": "F-PH",
                    "events": "T-EVENTS", "dor": "T-DOR", "sensitivity": "T-SENS"}
#: safety tables counted from ADSL (the rest from ADAE)
_SAFETY_FROM_ADSL = {"safety-exposure", "safety-subsequent", "safety-discontinuation"}
_OUTPUT = {"trial": "T-TRIAL", "table1": "T-1", "consort": "F-CONSORT", "response": "T-RESP",
           "adverse_events": "T-AE"}


@dataclasses.dataclass(frozen=True)
class ArsDataset:
    """The ARS records (:data:`ARS_COLUMNS`), one per number of the ARD; ``records`` is a
    tuple of dicts whose values are already JSON-safe (int, float, str or None)."""

    records: tuple[Mapping[str, Any], ...]

    def __len__(self) -> int:
        return len(self.records)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.records), columns=ARS_COLUMNS)

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-safe records (``json.dumps`` needs no default)."""
        return [dict(r) for r in self.records]

    def write_json(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                       encoding="utf-8")
        return out

    def write_csv(self, path: str | Path) -> Path:
        """CSV with the JSON text of each number (``74``, ``0.5``), missing as an empty cell."""
        out = Path(path)
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(ARS_COLUMNS)
            for r in self.records:
                writer.writerow(["" if r[c] is None else json.dumps(r[c]) if isinstance(r[c], float | int)
                                 else r[c] for c in ARS_COLUMNS])
        return out


def json_number(value: Any, integer: bool = False) -> int | float | None:
    """A number as written: None when missing or infinite, an int for a count, else the
    float rounded to 15 significant digits (its shortest repr has at most 15 digits)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    x = float(value)
    if not math.isfinite(x):
        return None
    if integer:
        if x != round(x):
            raise ValueError(f"value: expected an integer count, got {x!r}")
        return int(round(x))
    return float(f"{x:.15g}")


def _slug(text: Any) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", str(text).upper()).strip("_")


def _split(subgroup: Any) -> tuple[str | None, str | None]:
    """``"SEX=Female"`` -> (``SEX``, ``Female``); ``"stage: reason"`` -> (stage, reason)."""
    if subgroup is None:
        return None, None
    text = str(subgroup)
    for sep in ("=", ": "):
        if sep in text:
            var, level = text.split(sep, 1)
            return var, level
    return text, None


def _table1_digits(protocol: Protocol) -> dict[str, int]:
    """Decimals of each continuous Table 1 variable, as the analysis prints them."""
    return {v.column: v.digits for v in default_table1(protocol) if isinstance(v, Continuous)}


def _kind(table: str, statistic: str) -> str:
    """The statistic with its table where the same name means different numbers."""
    if statistic == "median":
        return {"table1": "table1_median", "forest": "forest_median"}.get(table, "km_median")
    if statistic == "median" and table == "safety":
        return "safety_median"
    if table == "forest" and statistic == "hazard_ratio":
        return "forest_hr"
    return statistic


def _formatted(kind: str, value: float | None, column: str, digits: int, siblings: Mapping[str, float],
               nominal: Any) -> str | None:
    """The number as the report prints it (``formatted``); counts as integers."""
    if kind in _INTEGER:
        if kind == "boundary_crossed":
            return None if value is None else ("Yes" if value else "No")
        return None if value is None else str(int(round(value)))
    if kind in _P and column == "value":
        return format_p(value)
    if kind in _PROPORTIONS:
        share = kind not in ("rate", "difference")  # n / N of the same ARD key, as n_percent prints it
        if share and column == "value" and "n" in siblings and "N" in siblings and siblings["N"]:
            return format_number(100 * int(siblings["n"]) / int(siblings["N"]), digits)
        return format_number(None if value is None else value * 100, digits)
    if kind == "nominal_level":
        return nominal(value)
    return format_number(value, digits)


def _digits(table: str, kind: str, var: str | None, t1: Mapping[str, int]) -> int:
    if table == "table1":
        d = t1.get(var or "", 1)
        return TABLE1_PERCENT_DIGITS if kind == "n_percent" else d + 1 if kind == "sd" else d
    if kind in ("hazard_ratio", "forest_hr", "information_fraction", "ph_chisq"):
        return HR_DIGITS
    if kind == "critical_value":
        return 3
    return PERCENT_DIGITS if kind in _PROPORTIONS else TIME_DIGITS


def _analysis_id(table: str, endpoint: str | None, kind: str, var: str | None, stat: str) -> str:
    ep = _slug(endpoint).replace("_", "-") if endpoint else ""
    if kind in _PROPORTIONS - {"rate", "difference"}:
        return _analysis_id(table, endpoint, "pct", var, "pct")
    name = {"km_median": "KM-MEDIAN", "rate": "KM-RATE", "hazard_ratio": "COX-HR", "logrank_p": "LOGRANK-P",
            "score_p": "SCORE-P", "median_followup": "FOLLOWUP", "events": "EVENTS", "n": "N",
            "forest_hr": "COX-HR", "forest_median": "KM-MEDIAN", "p_interaction": "INTERACTION-P",
            "difference": "DIFF", "fisher_p": "FISHER-P", "information_fraction": "GSD-INFO",
            "critical_value": "GSD-CRIT", "nominal_level": "GSD-NOMINAL", "boundary_crossed": "GSD-CROSSED",
            "look": "GSD-LOOK", "at_risk": "AT-RISK", "censored": "CENSORED", "ph_chisq": "PH-CHISQ",
            "ph_df": "PH-DF", "ph_p": "PH-P", "pct": "PCT"}.get(kind, _slug(stat).replace("_", "-"))
    prefix = {"table1": "T1", "consort": "CONSORT", "trial": "TRIAL", "km_risk": f"{ep}-RISK",
              "forest": f"{ep}-SUBGROUP", "ph_test": ep, "response": ep, "adverse_events": ep,
              "events": f"{ep}-EVENTS", "dor": f"{ep}-DOR", "sensitivity": f"{ep}-SENS",
              "adverse_reactions": "LAY-ADR", "age_groups": "LAY-AGE"}.get(table, ep)
    middle = (f"-{_slug(var).replace('_', '-')}" if var and table in ("table1", "consort", "adverse_events", "events",
                                                                      "dor", "sensitivity", "safety") else "")
    if table == "adverse_events" and var and var.startswith("AEDECOD"):
        grade = var.partition(" G")[2]
        middle = "-TERM" + (f"-G{grade}" if grade else "")
    return f"{prefix}{middle}-{name}"


def _context(table: str, endpoint: str | None, protocol: Protocol) -> dict[str, Any]:
    """Output, analysis set, population, dataset and filter of a record's table."""
    itt = {"analysis_set": "ITT", "population": protocol.analysis.efficacy_population
           or "all randomised patients", "filter_set": 'ITTFL = "Y"'}
    saf = {"analysis_set": "SAF", "population": protocol.safety_population.text, "filter_set": 'SAFFL = "Y"'}
    ep = endpoint or ""
    if table in _ENDPOINT_OUTPUT:
        return {**itt, "output_id": f"{_ENDPOINT_OUTPUT[table]}-{_slug(ep)}", "dataset": "ADTTE",
                "filter": f'PARAMCD = "{ep}"'}
    if table == "safety":
        dataset = "ADSL" if ep in _SAFETY_FROM_ADSL else "ADAE"
        return {**saf, "output_id": f"T-{_slug(ep).replace('_', '-')}", "dataset": dataset,
                "filter": None if dataset == "ADSL" else 'TRTEMFL = "Y"'}
    if table in ("adverse_reactions", "age_groups"):
        dataset = "ADAE" if table == "adverse_reactions" else "ADSL"
        return {**(saf if dataset == "ADAE" else itt), "output_id": "T-LAY", "dataset": dataset,
                "filter": 'TRTEMFL = "Y"' if dataset == "ADAE" else None}
    if table == "response":
        return {**itt, "output_id": "T-RESP", "dataset": "ADRS", "filter": 'PARAMCD = "BOR"'}
    if table == "adverse_events":
        if ep == "dose_reduction":
            return {**saf, "output_id": "T-AE", "dataset": "ADSL", "filter": None}
        return {**saf, "output_id": "T-AE", "dataset": "ADAE", "filter": 'TRTEMFL = "Y"'}
    if table == "consort":
        return {"analysis_set": "ALL", "population": "all patients in ADSL", "filter_set": None,
                "output_id": "F-CONSORT", "dataset": "ADSL", "filter": None}
    if table not in _OUTPUT:
        raise ValueError(f"table: unknown ARD table {table!r}; expected one of "
                         f"{sorted([*_OUTPUT, *_ENDPOINT_OUTPUT, 'safety', 'adverse_reactions', 'age_groups'])}")
    return {**itt, "output_id": _OUTPUT[table], "dataset": "ADSL", "filter": None}


def _method_id(kind: str, stat: str, method: Any) -> str:
    """A short id of the method (docs/ars.md lists them); the text is in ``method``."""
    text = str(method or "")
    if kind == "km_median":
        return "KM-MEDIAN-BROOKMEYER-CROWLEY" if "Brookmeyer" in text else "KM-MEDIAN-R-SURVIVAL"
    if kind in ("table1_median", "safety_median"):
        return "QUANTILE"
    base = _METHOD_ID.get(stat) or ("COUNT" if kind in _INTEGER else "PERCENT" if kind in _PROPORTIONS
                                    else _slug(stat).replace("_", "-"))
    if kind in ("hazard_ratio", "forest_hr", "logrank_p", "score_p") and "stratified" in text:
        return f"{base}-STRATIFIED"
    return base


def _operation(kind: str, column: str) -> str:
    if column != "value":
        first = "first quartile" if kind in _QUARTILES else "lower confidence limit"
        return first if column == "lower" else first.replace("first", "third").replace("lower", "upper")
    if kind in _P:
        return "p-value"
    if kind in _PROPORTIONS:
        return "percentage" if kind not in ("rate", "difference") else _OPERATION[kind]
    if kind.endswith("median") or kind == "median_followup":
        return "median"
    return _OPERATION.get(kind, kind)


def ars_records(ard: pd.DataFrame, protocol: Protocol, *, conf_level: float = 0.95,
                lay_tables: Collection[str] = ()) -> ArsDataset:
    """The ARS records of ``ard`` (:func:`~oncotrial.report.ard.build_ard`, optionally with
    the rows of :mod:`oncotrial.report.ard_rows` appended): one record per number (``value`` always, ``lower``
    and ``upper`` for a statistic that has a CI or quartiles), in ARD order, with
    ``ard_row`` / ``ard_column`` pointing back to the ARD cell. ``ci_level`` is the level
    the record's ARD ``method`` states ("95% CI"), else ``conf_level``.

    ``formatted`` is the number as the report's tables print it (the decimals of
    :mod:`oncotrial.report.html` and the Table 1 digits of the protocol, through
    :mod:`oncotrial.report.format`); a record's limits print separately, so a cell
    "0.27 (0.19–0.40)" is the ``formatted`` of its three records.

    ``lay_tables``: ARD tables the report does not print and the lay summary does (the
    adverse-event overview once the safety tables replace it); their records belong to the
    lay summary's output ``T-LAY``."""
    missing = [c for c in ARD_COLUMNS if c not in ard.columns]
    if missing:
        raise ValueError(f"ard: missing column(s) {missing}; expected the columns of build_ard {ARD_COLUMNS}")
    t1 = _table1_digits(protocol)
    frame = ard.reset_index(drop=True).replace({np.nan: None})
    keyed = frame.assign(key_=list(zip(frame["table"], frame["endpoint"], frame["arm"], frame["subgroup"],
                                       strict=True)))
    counts: dict[Any, dict[str, float]] = {}
    for r in keyed.loc[keyed["statistic"].isin(["n", "N"])].itertuples(index=False):
        counts.setdefault(r.key_, {})[r.statistic] = r.value
    records: list[dict[str, Any]] = []
    for i, row in enumerate(keyed.to_dict("records")):
        table, stat, endpoint = str(row["table"]), str(row["statistic"]), row["endpoint"]
        kind = _kind(table, stat)
        var, level = _split(row["subgroup"])
        if table == "trial" and stat == "randomised":
            var, level = "role", row["subgroup"]  # control / experimental
        id_var, group_var = var, var
        if table == "adverse_events" and level is not None:
            level, _, grade = level.partition("; grade ")  # the grade goes into analysis_id
            id_var = f"{var} G{grade}" if grade else var
        elif table in ("adverse_events", "consort") and level is None:
            group_var = None  # a row of the table, named in analysis_id
        elif table == "consort":
            group_var = "reason"
        ctx = _context(table, endpoint, protocol)
        if table in lay_tables:
            ctx["output_id"] = "T-LAY"
        filters = [f for f in (ctx.pop("filter_set"), ctx["filter"]) if f]
        if table == "table1" and row["method"] and str(row["method"]).startswith("among "):
            filters.append(str(row["method"]).removeprefix("among "))
        ctx["filter"] = " and ".join(filters) or None
        analysis_id = _analysis_id(table, endpoint, kind, id_var, stat)
        columns = ["value", "lower", "upper"] if (kind in _CI | _QUARTILES) else ["value"]
        stated = re.search(r"(\d+(?:\.\d+)?)% ", str(row["method"] or ""))  # "95% CI" in the ARD method
        level_of_ci = float(stated.group(1)) / 100 if stated else conf_level
        for column in columns:
            raw = json_number(row[column], integer=kind in _INTEGER)
            group1 = row["arm"]
            group_text = "|".join(str(x) for x in (group1, id_var, level) if x is not None)
            time = json_number(row["time"])
            result_id = ".".join(filter(None, [analysis_id, _slug(_operation(kind, column)).replace("_", "-"),
                                               group_text, None if time is None else f"t{time:g}"]))
            records.append({
                "result_id": result_id, "analysis_id": analysis_id, **ctx,
                "method_id": _method_id(kind, stat, row["method"]),
                "method": row["method"], "operation": _operation(kind, column),
                "group1_var": None if group1 is None else "ARM", "group1": group1,
                "group2_var": None if table == "trial" and stat == "simulated" else group_var, "group2": level,
                "time": time, "time_unit": protocol.analysis.time_unit if time is not None or kind in (
                    "km_median", "median_followup", "forest_median") else None,
                "statistic": stat, "value": raw,
                "formatted": _formatted(kind, raw if not isinstance(raw, int) else float(raw), column,
                                        _digits(table, kind, id_var, t1), counts.get(row["key_"], {}), format_level),
                "ci_level": level_of_ci if column != "value" and kind in _CI else None,
                "ard_row": i, "ard_column": column})
    ids = [r["result_id"] for r in records]
    if len(set(ids)) != len(ids):
        dup = sorted({x for x in ids if ids.count(x) > 1})[:5]
        raise ValueError(f"ard: records not distinguishable by table, endpoint, arm, subgroup, statistic and "
                         f"time (duplicate result_id {dup})")
    return ArsDataset(tuple({c: r[c] for c in ARS_COLUMNS} for r in records))
