"""The analysis-results dataset (ARD): every number of every table of a trial analysis as
one record, so that a report, a plain-language summary or a QC program reads numbers, never
parses printed cells (CDISC Analysis Results Standard; R ``cards``).

Columns (:data:`ARD_COLUMNS`): ``table`` (``trial``, ``table1``, ``consort``, ``efficacy``,
``response``, ``adverse_events``), ``endpoint`` (``PFS``, ``ORR``, ``TEAE``, ...), ``arm``
(the arm label; ``Total`` for all patients; empty for a statistic of the whole trial),
``subgroup`` (the table row: ``SEX=Female``, ``grade34_any``, ``discontinued: ADVERSE
EVENT``), ``statistic``, ``value``, ``lower``, ``upper`` (a CI, or the quartiles of a median),
``time`` (the landmark of a rate, in the protocol's time unit) and ``method``.

Rules that make the records usable without the tables:

* counts and proportions: a record keyed by (``table``, ``endpoint``, ``arm``, ``subgroup``)
  holding a proportion — a fraction in [0, 1], never a percentage — sits beside the ``n``
  and ``N`` records of the same key, so "68 of 100" and "68%" both come from the ARD;
* statistic names: ``n``, ``N``, ``n_percent`` (Table 1 category), ``n_missing``, ``mean``,
  ``sd``, ``median``, ``min``, ``max``; ``events``, ``median`` (time, with its CI), ``rate``
  (with ``time``), ``hazard_ratio``, ``hazard_ratio_p``, ``logrank_p``, ``median_followup``
  (with the IQR); ``orr``, ``dcr``, ``difference``, ``fisher_p``, ``bor``; ``teae_any``,
  ``grade34_any``, ``serious_any``, ``grade5_any``, ``term_any``, ``term_grade34``,
  ``term_grade5``, ``dose_reduction``; ``randomised`` (``table = "trial"``, one record per arm
  with ``subgroup`` its role, ``control`` or ``experimental``); ``simulated`` (``table =
  "trial"``, only for simulated data: ``value`` is the replica's seed, see
  :mod:`oncotrial.report.provenance`);
* a comparison (``hazard_ratio``, ``difference``, ``fisher_p``) is filed under the
  experimental arm; ``method`` names the reference arm and the method;
* times (medians, landmarks, follow-up) are in the protocol's time unit, stated in
  ``method``;
* a number that is not estimable (a median not reached, a hazard ratio with no events in an
  arm) is missing: ``null`` in JSON, an empty cell in CSV; for a hazard ratio ``method``
  ends with the reason (``not estimable: no events in ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.report.efficacy import EfficacySummary
from oncotrial.stats.conventions import resolve_convention

__all__ = ["ARD_COLUMNS", "ard_to_csv", "ard_to_json", "build_ard"]

ARD_COLUMNS = ["table", "endpoint", "arm", "subgroup", "statistic", "value", "lower", "upper", "time",
               "method"]


def _efficacy_records(summary: EfficacySummary, time_unit: str) -> pd.DataFrame:
    """The records of one end point with the method of each statistic."""
    conv = resolve_convention(summary.convention)
    level = f"{100 * summary.conf_level:g}%"
    cox, _, logrank = summary.model.partition("; ")
    if conv.name == "sas":
        median = f"Kaplan–Meier median, {level} Brookmeyer–Crowley CI ({conv.conf_type}; SAS LIFETEST)"
    else:
        median = f"Kaplan–Meier median, {level} CI where the {conv.conf_type} band crosses 0.5 (R survival)"
    methods = {
        "median": f"{median}; {time_unit}",
        "rate": f"Kaplan–Meier, Greenwood variance, {level} {conv.conf_type} CI; time in {time_unit}",
        "hazard_ratio": f"{cox}; {level} CI; vs {summary.arms['arm'].iloc[0]}",
        "hazard_ratio_p": f"{cox}; Wald test; vs {summary.arms['arm'].iloc[0]}",
        "logrank_p": logrank or "log-rank test",
        "median_followup": f"reversed Kaplan–Meier median (IQR); {time_unit}",
    }
    if summary.notes:  # a hazard ratio that is NaN says why, next to its null value
        for statistic in ("hazard_ratio", "hazard_ratio_p"):
            methods[statistic] += "; " + "; ".join(summary.notes)
    records = summary.to_frame()
    records["method"] = records["statistic"].map(methods)
    return records


def build_ard(analysis: Any) -> pd.DataFrame:
    """The ARD of a :class:`~oncotrial.report.analysis.TrialAnalysis` (any object with its
    ``table1``, ``consort``, ``efficacy``, ``response``, ``adverse_events``, ``arm_roles``,
    ``time_unit`` attributes, optionally ``simulated``; ``response``/``adverse_events`` may
    be ``None``)."""
    parts: list[pd.DataFrame] = []
    n_by_arm = analysis.consort.table.query("stage == 'allocated'").set_index("arm")["n"]
    parts.append(pd.DataFrame({"table": "trial", "arm": list(analysis.arm_roles), "subgroup": list(
        analysis.arm_roles.values()), "statistic": "randomised",
        "value": [float(n_by_arm.get(a, 0)) for a in analysis.arm_roles]}))
    simulated = getattr(analysis, "simulated", None)
    if simulated is not None:
        parts.append(pd.DataFrame({"table": ["trial"], "statistic": ["simulated"], "value": [float(simulated.seed)],
                                   "method": [f"{simulated.note}: made by oncotrial's simulator; value: the seed"]}))
    parts.append(analysis.table1.to_frame().assign(table="table1"))
    parts.append(analysis.consort.to_frame().assign(table="consort"))
    for summary in analysis.efficacy.values():
        parts.append(_efficacy_records(summary, analysis.time_unit).assign(table="efficacy"))
    if analysis.response is not None:
        parts.append(analysis.response.to_frame().assign(table="response"))
    if analysis.adverse_events is not None:
        parts.append(analysis.adverse_events.to_frame().assign(table="adverse_events"))
    ard = pd.concat([p.reindex(columns=ARD_COLUMNS) for p in parts if not p.empty], ignore_index=True)
    for column in ("value", "lower", "upper", "time"):
        ard[column] = ard[column].astype(float)
    for column in ("table", "endpoint", "arm", "subgroup", "statistic", "method"):
        ard[column] = ard[column].astype(object).where(ard[column].notna(), None)
    return ard


def ard_to_json(ard: pd.DataFrame, path: str | Path) -> Path:
    """Write the ARD as a JSON array of records (NaN and missing as ``null``, UTF-8)."""
    out = Path(path)
    ard.replace({np.nan: None}).to_json(out, orient="records", indent=1, force_ascii=False)
    return out


def ard_to_csv(ard: pd.DataFrame, path: str | Path) -> Path:
    """Write the ARD as CSV (no index; missing values as empty cells)."""
    out = Path(path)
    ard.to_csv(out, index=False)
    return out
