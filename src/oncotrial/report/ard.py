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
  (with ``time``), ``hazard_ratio``, ``logrank_p`` or ``score_p`` (the P of the test the end
  point's analysis names; absent when it reports no P value), ``median_followup`` (with the
  IQR); for the design's end point of a group-sequential design ``look`` (the look the data
  are), ``information_fraction`` (observed events over the design's maximum),
  ``critical_value`` (the efficacy boundary, z scale), ``nominal_level`` (its nominal
  significance level) and ``boundary_crossed`` (1 or 0; absent without a P value);
  ``orr``, ``dcr``, ``difference``, ``fisher_p``, ``bor``; ``teae_any``,
  ``grade34_any``, ``serious_any``, ``grade5_any``, ``term_any``, ``term_grade34``,
  ``term_grade5``, ``dose_reduction``; ``randomised`` (``table = "trial"``, one record per arm
  with ``subgroup`` its role, ``control`` or ``experimental``); ``simulated`` (``table =
  "trial"``, only for simulated data: ``value`` is the replica's seed, see
  :mod:`oncotrial.report.provenance`);
* a comparison (``hazard_ratio``, its P, the interim records, ``difference``, ``fisher_p``)
  is filed under the experimental arm (pairwise against control when there are several);
  ``method`` names the reference arm and the method, and a P's sidedness (``two-sided`` or
  ``one-sided, in the direction of benefit (hazard ratio < 1)``);
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

from oncotrial.report.efficacy import EfficacySummary, sided_text
from oncotrial.stats.conventions import resolve_convention

__all__ = ["ARD_COLUMNS", "append_records", "ard_to_csv", "ard_to_json", "build_ard", "efficacy_records"]

ARD_COLUMNS = ["table", "endpoint", "arm", "subgroup", "statistic", "value", "lower", "upper", "time",
               "method"]


def efficacy_records(summary: EfficacySummary, time_unit: str) -> pd.DataFrame:
    """The records of one end point with the method of each statistic."""
    conv = resolve_convention(summary.convention)
    level = f"{100 * summary.conf_level:g}%"
    reference = summary.arms["arm"].iloc[0]
    if conv.name == "sas":
        median = f"Kaplan–Meier median, {level} Brookmeyer–Crowley CI ({conv.conf_type}; SAS LIFETEST)"
    else:
        median = f"Kaplan–Meier median, {level} CI where the {conv.conf_type} band crosses 0.5 (R survival)"
    test = summary.test_method + (f" ({summary.model.removeprefix('Cox model, ')})"
                                  if summary.test == "model_score" else "")
    methods = {
        "median": f"{median}; {time_unit}",
        "rate": f"Kaplan–Meier, Greenwood variance, {level} {conv.conf_type} CI; time in {time_unit}",
        "hazard_ratio": f"{summary.model}; {level} CI; vs {reference}",
        summary.p_statistic: f"{test}; {sided_text(summary.sided)}; vs {reference}",
        "median_followup": f"reversed Kaplan–Meier median (IQR); {time_unit}",
    }
    if summary.notes:  # a hazard ratio that is NaN says why, next to its null value
        methods["hazard_ratio"] += "; " + "; ".join(summary.notes)
    records = summary.to_frame()
    records["method"] = records["statistic"].map(methods)
    return records


def _interim_records(looks: Any) -> pd.DataFrame:
    """The look and efficacy boundary of each comparison of a group-sequential design."""
    rows: list[dict[str, Any]] = []
    for k in looks:
        side = "one-sided" if k.sided == 1 else "two-sided"
        key = {"endpoint": k.endpoint, "arm": k.arm}
        kind = "final analysis" if k.final else "interim analysis"
        rates = ", ".join(f"{r:.4g}" for r in k.information_rates)
        rows += [
            {**key, "statistic": "look", "value": k.look,
             "method": f"look {k.look} of {k.looks} ({kind}) of the group-sequential design: {k.design}, "
                       f"{side} alpha {k.alpha:g}; vs {k.reference}"},
            {**key, "statistic": "information_fraction", "value": k.observed_fraction,
             "method": f"observed events {k.events} (both arms) / maximum events of the design {k.max_events}"},
            {**key, "statistic": "critical_value", "value": k.critical_value,
             "method": f"efficacy boundary of look {k.look} on the z scale (benefit positive)"},
            {**key, "statistic": "nominal_level", "value": k.nominal_level,
             "method": f"{side} nominal significance level of the efficacy boundary of look {k.look} "
                       f"(information rates {rates}; {k.rule})"},
        ]
        if k.crossed is not None:
            rows.append({**key, "statistic": "boundary_crossed", "value": float(k.crossed),
                         "method": f"1 when the {side} P ({k.p:.4g}) is at or below the nominal level "
                                   f"({k.nominal_level:.4g}), else 0"})
    return pd.DataFrame(rows)


def build_ard(analysis: Any) -> pd.DataFrame:
    """The ARD of a :class:`~oncotrial.report.analysis.TrialAnalysis` (any object with its
    ``table1``, ``consort``, ``efficacy``, ``response``, ``adverse_events``, ``arm_roles``,
    ``time_unit`` attributes, optionally ``simulated`` and ``interim``;
    ``response``/``adverse_events`` may be ``None``)."""
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
        parts.append(efficacy_records(summary, analysis.time_unit).assign(table="efficacy"))
        looks = [k for k in getattr(analysis, "interim", ()) if k.endpoint == summary.endpoint]
        if looks:
            parts.append(_interim_records(looks).assign(table="efficacy"))
    if analysis.response is not None:
        parts.append(analysis.response.to_frame().assign(table="response"))
    if analysis.adverse_events is not None:
        parts.append(analysis.adverse_events.to_frame().assign(table="adverse_events"))
    return append_records(*parts)


def append_records(*parts: pd.DataFrame) -> pd.DataFrame:
    """The ARD made of ``parts`` in order (each with some of :data:`ARD_COLUMNS`): numbers
    as floats, text columns with ``None`` for a missing value — the one shape of
    :func:`build_ard`, whatever the part a record came from (the analysis, a figure, a
    safety table)."""
    frames = [p.reindex(columns=ARD_COLUMNS) for p in parts if not p.empty]
    ard = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ARD_COLUMNS)
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
