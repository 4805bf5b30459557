"""Cross-field consistency of DM and EX against the protocol, reported, never overwritten.

Rules (each problem is a :class:`~oncotrial.clinical.quality.DataQualityIssue` naming the
subject and the 1-based row of the domain):

* Planned arm. Texts are compared ignoring case and repeated blanks. With ``DM.ARMCD``:
  a code that is not a protocol arm code leaves the subject without a planned arm (the
  ``ARM`` text is not used to guess one). A protocol code whose ``ARM`` names *another*
  protocol arm (its code or label) is a conflict: no planned arm either, because which of
  the two is right needs a site query. An ``ARM`` that is the code's label or the code itself
  agrees; any other ``ARM`` text is reported and the protocol label replaces it in ADSL.
  Without ``ARMCD``, ``ARM`` must be a protocol code or label.
* Death flag (only when DM has ``DTHFL``): ``DTHFL = "Y"`` needs a death date (``DM.DTHDTC``
  or a DS ``DEATH`` record); without one the death cannot be dated, so OS is censored at the
  last date known alive, and the issue says so. A death date with ``DTHFL`` other than
  ``"Y"`` (``"N"`` or blank) is reported and the death date is used (an OS event): a dated
  death record is more specific than a flag derived from it.
* Doses (EX): ``EXDOSU``, when given, must be a unit in which the protocol gives the drug,
  else the record is kept (a dose was given) but not compared with the protocol dose
  (no reduction flag from it). A dose above :data:`~oncotrial.clinical.plausibility.DOSE_CEILING`
  times the drug's highest protocol dose is implausible: reported and the record is excluded.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from oncotrial.clinical.plausibility import DOSE_CEILING
from oncotrial.clinical.quality import DataQualityIssue, source_rows

__all__ = ["check_death_flags", "check_doses", "planned_arms"]


def _norm(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def _given(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def planned_arms(dm: pd.DataFrame, protocol: Any,
                 ) -> tuple[list[str | None], list[Any], list[DataQualityIssue]]:
    """``ARMCD`` and ``ARM`` of each validated DM row by the rules of the module docstring,
    and the issues."""
    labels = {a.code: a.label for a in protocol.arms}
    named = {}
    for arm_code, label in labels.items():
        named[_norm(arm_code)] = arm_code
        named.setdefault(_norm(label), arm_code)
    accepted = ", ".join(labels)
    rows = source_rows(dm)
    has_code = "ARMCD" in dm.columns
    armcd: list[str | None] = []
    arm: list[Any] = []
    issues: list[DataQualityIssue] = []
    for position, record in enumerate(dm.to_dict(orient="records")):
        subject, text = str(record["USUBJID"]), record["ARM"]
        given = record.get("ARMCD") if has_code else None
        row = rows[position]
        code: str | None
        if _given(given):
            code = str(given).strip()
            named_as = named.get(_norm(text))
            if code not in labels:
                issues.append(DataQualityIssue(
                    "DM", subject, "ARMCD", given,
                    f"not a protocol arm code ({accepted}); the subject has no planned arm",
                    row))
                code = None
            elif named_as is not None and named_as != code:
                issues.append(DataQualityIssue(
                    "DM", subject, "ARM", text,
                    f"ARM names arm {named_as} but ARMCD is {code}: conflicting planned arm; "
                    "the subject has no planned arm", row))
                code = None
            elif named_as is None:
                issues.append(DataQualityIssue(
                    "DM", subject, "ARM", text,
                    f"differs from the protocol label {labels[code]!r} of ARMCD {code}; "
                    "the protocol label is used", row))
        else:
            code = named.get(_norm(text))
            if code is None:
                issues.append(DataQualityIssue(
                    "DM", subject, "ARM", text,
                    f"arm is not a protocol arm ({accepted})", row))
        armcd.append(code)
        arm.append(labels[code] if code is not None else text)
    return armcd, arm, issues


def check_death_flags(dm: pd.DataFrame, death: pd.Series) -> list[DataQualityIssue]:
    """Issues where ``DM.DTHFL`` and the death date (``death``, aligned with ``dm``'s rows:
    the earliest of ``DM.DTHDTC`` and the DS ``DEATH`` record) disagree."""
    if "DTHFL" not in dm.columns:
        return []
    rows = source_rows(dm)
    issues = []
    for position, (subject, flag, date) in enumerate(
            zip(dm["USUBJID"], dm["DTHFL"], death, strict=True)):
        dead = isinstance(flag, str) and flag == "Y"
        if dead and pd.isna(date):
            issues.append(DataQualityIssue(
                "DM", str(subject), "DTHFL", flag,
                "DTHFL = Y without a death date (DM.DTHDTC or a DS DEATH record): "
                "OS is censored at the last date known alive", rows[position]))
        elif not dead and not pd.isna(date):
            shown = flag if isinstance(flag, str) else None
            issues.append(DataQualityIssue(
                "DM", str(subject), "DTHFL", shown,
                f"a death date ({pd.Timestamp(date).date()}) with DTHFL "
                f"{'= ' + shown if shown else 'blank'}: the death date is used (OS event)",
                rows[position]))
    return issues


def _protocol_doses(protocol: Any) -> dict[str, tuple[float, set[str]]]:
    """Per drug (lower case): its highest protocol dose and the units it is given in."""
    out: dict[str, tuple[float, set[str]]] = {}
    for regimen in protocol.regimens.values():
        for phase in (regimen.induction, regimen.maintenance):
            if phase is None:
                continue
            for drug in (*phase.drugs, *phase.supportive_care):
                name = drug.drug.lower()
                dose, units = out.get(name, (0.0, set()))
                out[name] = (max(dose, float(drug.dose)), units | {drug.unit.upper()})
    return out


def check_doses(ex: pd.DataFrame, protocol: Any,
                ) -> tuple[pd.DataFrame, set[Any], list[DataQualityIssue]]:
    """EX without its implausible doses, the index labels of records whose unit is not the
    protocol's (not to be compared with the protocol dose), and the issues (rules: module
    docstring). ``ex`` is a validated EX frame."""
    if not len(ex):
        return ex, set(), []
    doses = _protocol_doses(protocol)
    rows = source_rows(ex)
    units = ex["EXDOSU"] if "EXDOSU" in ex.columns else pd.Series(None, index=ex.index)
    other_unit: set[Any] = set()
    implausible: list[Any] = []
    issues: list[DataQualityIssue] = []
    for position, (index, subject, drug, dose, unit) in enumerate(
            zip(ex.index, ex["USUBJID"], ex["EXTRT"], ex["EXDOSE"], units, strict=True)):
        planned = doses.get(str(drug).strip().lower())
        if planned is None or pd.isna(dose):
            continue
        highest, accepted = planned
        if _given(unit) and str(unit).strip().upper() not in accepted:
            other_unit.add(index)
            issues.append(DataQualityIssue(
                "EX", str(subject), "EXDOSU", unit,
                f"not a unit the protocol gives {drug} in ({', '.join(sorted(accepted))}); "
                "the dose is not compared with the protocol dose", rows[position]))
        elif float(dose) > DOSE_CEILING * highest:
            implausible.append(index)
            issues.append(DataQualityIssue(
                "EX", str(subject), "EXDOSE", dose,
                f"implausible dose: above {DOSE_CEILING:g} x the protocol dose of {drug} "
                f"({highest:g}); record excluded", rows[position]))
    return ex.drop(index=implausible), other_unit, issues
