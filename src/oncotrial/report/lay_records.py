"""ARD records that the lay summary of EU Regulation 536/2014 (Annex V) needs beyond the
trial report's: adverse *reactions* (adverse events the investigator related to the
treatment, ``AEREL`` of ADAE) and the age groups of the population.

Annex V asks for adverse reactions, not all adverse events, and for the age-group
breakdown of the population. :func:`annex_v_records` computes them from ADSL and ADAE in
the shape of the ARD (``table, endpoint, arm, subgroup, statistic, value``), so that the
analysis can append them to its ARD and the summary keeps reading numbers from the ARD only:

- ``adverse_reactions``: per arm of the safety population (``SAFFL = "Y"``, by actual arm),
  treatment-emergent events (``TRTEMFL = "Y"``) with a related ``AEREL``: any
  (``related_any``), grade 3–4 (``related_grade34``), serious (``related_serious``), fatal
  (``related_grade5``), each as ``n``, ``N`` and the proportion; and per preferred term
  ``AEDECOD=<term>; related`` (``term_related``). A missing ``AEREL`` counts as related,
  the cautious convention of safety reporting.
- ``age_groups``: all randomised patients (arm ``Total``) in the age groups of the EU trial
  registers (under 18, 18–64, 65–84, 85 and over), ``n`` and ``N``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.report.causality import related_events

__all__ = ["AGE_GROUPS", "annex_v_records"]

#: the age groups of the EU trial registers: label, lowest and highest age (years)
AGE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("under 18", 0, 18), ("18-64", 18, 65), ("65-84", 65, 85), ("85 and over", 85, float("inf")))


def _require(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{source} lacks column(s) {', '.join(missing)} needed for the lay summary")


def _row(table: str, arm: str, subgroup: str, statistic: str, value: float,
         endpoint: str | None = None) -> dict[str, object]:
    return {"table": table, "endpoint": endpoint, "arm": arm, "subgroup": subgroup, "statistic": statistic,
            "value": float(value)}


def annex_v_records(adsl: pd.DataFrame, adae: pd.DataFrame, *, arm: str = "ACTARM",
                    arms: Sequence[str] | None = None) -> pd.DataFrame:
    """The adverse-reaction and age-group records (see the module docstring); ``arms``
    orders the arms (default: as they first appear in ADSL)."""
    _require(adsl, ["USUBJID", "SAFFL", arm], "ADSL")
    _require(adae, ["USUBJID", "AEDECOD", "TRTEMFL", "AEREL"], "ADAE")
    safety = adsl[adsl["SAFFL"] == "Y"]
    arm_of = dict(zip(safety["USUBJID"].astype(str), safety[arm].astype(str), strict=True))
    order = list(arms) if arms is not None else list(dict.fromkeys(safety[arm].astype(str)))
    events = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].astype(str).isin(arm_of)].copy()
    events["_arm"] = events["USUBJID"].astype(str).map(arm_of)
    related = events[related_events(events["AEREL"])[0]]
    grade = pd.to_numeric(related["ATOXGR"], errors="coerce") if "ATOXGR" in related else None
    conditions = {"related_any": pd.Series(True, index=related.index)}
    if grade is not None:
        conditions["related_grade34"] = grade.isin([3, 4])
    if "AESER" in related:
        conditions["related_serious"] = related["AESER"] == "Y"
    if grade is not None:
        conditions["related_grade5"] = grade == 5
    rows: list[dict[str, object]] = []
    for a in order:
        total = sum(v == a for v in arm_of.values())
        if not total:
            continue
        mine = related[related["_arm"] == a]
        for name, condition in conditions.items():
            n = mine[condition.loc[mine.index]]["USUBJID"].nunique()
            rows += [_row("adverse_reactions", a, name, statistic, value, "ADR")
                     for statistic, value in (("n", n), ("N", total), (name, n / total))]
        for term, count in mine.groupby("AEDECOD")["USUBJID"].nunique().items():
            rows.append(_row("adverse_reactions", a, f"AEDECOD={term}; related", "term_related", count / total, "ADR"))
    if "AGE" in adsl.columns:
        age = pd.to_numeric(adsl["AGE"], errors="coerce").dropna()
        for label, low, high in AGE_GROUPS:
            rows += [_row("age_groups", "Total", f"AGEGR={label}", "n", int(((age >= low) & (age < high)).sum())),
                     _row("age_groups", "Total", f"AGEGR={label}", "N", len(age))]
    return pd.DataFrame(rows, columns=["table", "endpoint", "arm", "subgroup", "statistic", "value"])
