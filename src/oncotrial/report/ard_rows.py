"""ARD records (:data:`~oncotrial.report.ard.ARD_COLUMNS`) of the report's results beyond
the main tables, so that every printed number is an ARD record:

* ``events``: events by type and censorings by reason per end point and arm
  (``subgroup`` ``"event: <type>"`` / ``"censored: <reason>"``, and ``"event"`` /
  ``"censored"`` for the totals), ``n``, ``N`` (the arm's patients with a record) and the
  fraction ``n_percent``;
* ``dor``: duration of response among responders (``responders`` with ``N`` the arm's
  randomised, ``events`` with ``N`` the responders, ``median`` with its CI, ``rate`` at
  each landmark ``time``) — described per arm, never compared;
* ``sensitivity``: the hazard ratio under each sensitivity analysis (``subgroup`` its label);
* ``forest``: the subgroup hazard ratios of the forest plot and its table
  (:func:`forest_ard_rows`), with the interaction P only where the protocol reports it;
* ``km_risk``: the Kaplan–Meier figure's risk table (:func:`risk_table_ard_rows`);
* ``ph_test``: the proportional-hazards figure's Schoenfeld tests (:func:`ph_test_ard_rows`);
* ``safety``: every number of the safety and exposure tables
  (:func:`oncotrial.report.safety_tables.safety_tables`): ``endpoint`` the table's key,
  ``subgroup`` its row and, for the grade columns, ``"<row>; <column>"``; the printed
  percentage as the fraction ``n_percent``.

Why here: the results are computed by the analysis and the safety tables; turning them into
records once keeps the report, the ARS dataset and the lay summary reading one source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.report.ard import ARD_COLUMNS
from oncotrial.report.endpoint_results import (
    EndpointResults,
    EventsAndCensoring,
    ResponseDuration,
    SensitivityAnalyses,
    SubgroupResults,
)

__all__ = ["endpoint_result_records", "forest_ard_rows", "ph_test_ard_rows", "risk_table_ard_rows",
           "safety_records"]


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=ARD_COLUMNS)


def _counted(base: Mapping[str, Any], n: int, total: int) -> list[dict[str, Any]]:
    share = n / total if total else np.nan
    return [{**base, "statistic": "n", "value": float(n)}, {**base, "statistic": "N", "value": float(total)},
            {**base, "statistic": "n_percent", "value": share}]


def _events(result: EventsAndCensoring) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    counts = result.counts
    method = "count of the arm's randomised patients with a record of the end point"
    for arm, total in result.arm_totals().items():
        mine = counts[counts["arm"] == arm]
        for kind in ("event", "censored"):
            part = mine[mine["kind"] == kind]
            if part.empty:
                continue
            base = {"table": "events", "endpoint": result.endpoint, "arm": arm, "method": method}
            rows += _counted({**base, "subgroup": kind}, int(part["n"].sum()), total)
            for r in part.itertuples(index=False):
                rows += _counted({**base, "subgroup": f"{kind}: {r.reason}"}, int(r.n), total)
    return rows


def _response_duration(result: ResponseDuration) -> list[dict[str, Any]]:
    level = f"{100 * result.conf_level:g}% CI"
    rows: list[dict[str, Any]] = []
    for a in result.arms.itertuples(index=False):
        base = {"table": "dor", "endpoint": result.endpoint, "arm": a.arm}
        rows += _counted({**base, "subgroup": "responders", "method": "responders among the randomised"},
                         int(a.responders), int(a.randomised))
        rows += _counted({**base, "subgroup": "events", "method": "progression or death among responders"},
                         int(a.events), int(a.responders))
        rows.append({**base, "statistic": "median", "value": a.median, "lower": a.lower, "upper": a.upper,
                     "method": f"Kaplan–Meier median among responders, {result.time_unit}; {level}"})
    rows += [{"table": "dor", "endpoint": result.endpoint, "arm": r.arm, "statistic": "rate", "value": r.rate,
              "lower": r.lower, "upper": r.upper, "time": float(r.time),
              "method": f"Kaplan–Meier probability of remaining in response; {level}"}
             for r in result.rates.itertuples(index=False)]
    return rows


def _sensitivity(result: SensitivityAnalyses) -> list[dict[str, Any]]:
    level = f"{100 * result.conf_level:g}% CI"
    return [{"table": "sensitivity", "endpoint": result.endpoint, "arm": r.arm, "subgroup": r.label,
             "statistic": "hazard_ratio", "value": r.hr, "lower": r.lower, "upper": r.upper,
             "method": f"{r.model}; {level}; vs {r.reference}"} for r in result.results.itertuples(index=False)]


def _subgroups(result: SubgroupResults) -> pd.DataFrame:
    rows = forest_ard_rows(result.table, result.endpoint)
    if not result.p_interaction:
        rows = rows[rows["statistic"] != "p_interaction"]
    return rows


def forest_ard_rows(table: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """ARD rows (:data:`ARD_COLUMNS`, ``table = "forest"``) of the forest plot's table from
    :func:`oncotrial.report.forest.subgroup_hazard_ratios`: per level and arm ``n``,
    ``events``, ``median``; per level ``hazard_ratio`` (with its CI) under the experimental
    arm; per subgroup variable one ``p_interaction``. The all-patients row has no subgroup."""
    control, experimental = table.attrs.get("control"), table.attrs.get("experimental")
    if control is None or experimental is None:
        raise ValueError("table: expected the table of subgroup_hazard_ratios (attrs 'control' and 'experimental')")
    rows: list[dict[str, Any]] = []
    model, interaction = table.attrs.get("model"), table.attrs.get("interaction")
    seen: set[str] = set()
    for r in table.to_dict("records"):
        name = r["subgroup"] if isinstance(r["subgroup"], str) else None
        sub = None if name is None else f"{name}={r['level']}"
        for arm, suffix in ((control, "control"), (experimental, "experimental")):
            rows += [{"arm": str(arm), "subgroup": sub, "statistic": s, "value": r[f"{s}_{suffix}"]}
                     for s in ("n", "events", "median")]
        note = f"{model}" + (f"; {r['note']}" if r.get("note") else "")
        rows.append({"arm": str(experimental), "subgroup": sub, "statistic": "hazard_ratio", "value": r["hr"],
                     "lower": r["lower"], "upper": r["upper"], "method": f"{note}; vs {control}"})
        if name is not None and name not in seen:
            seen.add(name)
            rows.append({"arm": str(experimental), "subgroup": name, "statistic": "p_interaction",
                         "value": r["p_interaction"], "method": interaction})
    return pd.DataFrame(rows).assign(table="forest", endpoint=endpoint).reindex(columns=ARD_COLUMNS)


def risk_table_ard_rows(risk: pd.DataFrame, endpoint: str, arm_labels: Mapping[Any, str] | None = None
                        ) -> pd.DataFrame:
    """ARD rows (``table = "km_risk"``) of :func:`oncotrial.report.km_plot.risk_table`
    (the KM figure's risk table): per arm and tick ``at_risk``, ``events`` and
    ``censored`` (cumulative), with ``time`` the tick."""
    need = [c for c in ("arm", "time", "at_risk", "events", "censored") if c not in risk.columns]
    if need:
        raise ValueError(f"risk: missing column(s) {need}; expected the table of km_plot.risk_table")
    labels = dict(arm_labels or {})
    rows = [{"arm": labels.get(r["arm"], str(r["arm"])), "statistic": s, "value": r[s], "time": r["time"],
             "method": "number at risk (follow-up >= t)" if s == "at_risk" else f"cumulative {s} up to t"}
            for r in risk.to_dict("records") for s in ("at_risk", "events", "censored")]
    return pd.DataFrame(rows).assign(table="km_risk", endpoint=endpoint).reindex(columns=ARD_COLUMNS)


def ph_test_ard_rows(test: Any, endpoint: str, terms: Mapping[str, str] | None = None) -> pd.DataFrame:
    """ARD rows (``table = "ph_test"``) of a :func:`oncotrial.stats.cox_zph` result (the PH
    figure's test): per tested coefficient ``ph_chisq``, ``ph_df``, ``ph_p``; ``terms``
    maps a coefficient name to its arm label (the experimental arm), ``GLOBAL`` has no arm."""
    table = getattr(test, "table", test)
    names = dict(terms or {})
    rows: list[dict[str, Any]] = []
    for term, r in table.iterrows():
        arm = None if term == "GLOBAL" else names.get(str(term), str(term))
        method = (f"score test of proportional hazards (cox.zph), transform {getattr(test, 'transform', 'km')}"
                  + ("; all terms" if term == "GLOBAL" else ""))
        rows += [{"arm": arm, "subgroup": "GLOBAL" if arm is None else None, "statistic": s, "value": r[c],
                  "method": method} for s, c in (("ph_chisq", "chisq"), ("ph_df", "df"), ("ph_p", "p"))]
    return pd.DataFrame(rows).assign(table="ph_test", endpoint=endpoint).reindex(columns=ARD_COLUMNS)


def endpoint_result_records(results: EndpointResults) -> pd.DataFrame:
    """The ``events``, ``dor``, ``sensitivity`` and ``forest`` records of
    :class:`~oncotrial.report.endpoint_results.EndpointResults` (the landmark rates and
    the follow-up are already records of the efficacy table)."""
    rows: list[dict[str, Any]] = []
    for events in results.events.values():
        rows += _events(events)
    for duration in results.response_duration.values():
        rows += _response_duration(duration)
    for sensitivity in results.sensitivity.values():
        rows += _sensitivity(sensitivity)
    parts = [_frame(rows)] if rows else []
    parts += [_subgroups(s) for s in results.subgroups.values()]
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else _frame([])


def safety_records(numbers: pd.DataFrame) -> pd.DataFrame:
    """The ``safety`` records of :attr:`SafetyTables.numbers
    <oncotrial.report.safety_tables.SafetyTables.numbers>` (``table, group, column, row,
    statistic, value``): counts stay counts, a percentage becomes the fraction
    ``n_percent`` beside its ``n`` and ``N``."""
    if numbers.empty:
        return _frame([])
    column = numbers["column"].fillna("").astype(str)
    subgroup = numbers["row"].astype(str).where(column == "", numbers["row"].astype(str) + "; " + column)
    percent = numbers["statistic"] == "pct"
    value = pd.to_numeric(numbers["value"]).astype(float)
    records = pd.DataFrame({
        "table": "safety", "endpoint": numbers["table"], "arm": numbers["group"], "subgroup": subgroup,
        "statistic": numbers["statistic"].where(~percent, "n_percent"),
        "value": value.where(~percent, value / 100)})
    return records.reindex(columns=ARD_COLUMNS)
