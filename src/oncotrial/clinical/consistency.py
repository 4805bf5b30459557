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
* Doses (EX): ``EXDOSU``, when given, must be a unit in which the protocol gives the drug
  or the absolute unit of a per-m2/per-kg dose (``MG`` for ``mg/m2``), else the record is
  kept (a dose was given) but not compared with the protocol dose (no reduction flag from
  it). A record in the absolute unit needs the subject's DM ``HEIGHT`` and ``WEIGHT``; without
  them it is not compared either (one issue per subject and drug). An ``EXDOSFRQ`` that is
  not understood (:func:`~oncotrial.clinical.exposure.administrations_per_day`) is an issue
  and the record is not compared. A daily amount (``EXDOSE`` times the administrations per
  day, :mod:`oncotrial.clinical.exposure`) above
  :data:`~oncotrial.clinical.plausibility.DOSE_CEILING` times the drug's highest protocol
  daily dose (scaled by the subject's body-surface area or weight for an absolute unit) is
  implausible: reported and the record is excluded.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from oncotrial.clinical.exposure import administrations_per_day, body_sizes, unit_of
from oncotrial.clinical.plausibility import DOSE_CEILING
from oncotrial.clinical.quality import DataQualityIssue, source_rows
from oncotrial.core.errors import InputError

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


def _protocol_doses(protocol: Any) -> dict[str, dict[str, tuple[float, int]]]:
    """Per drug (lower case): per protocol unit (upper case), its highest dose per
    administration and the most administrations per day."""
    out: dict[str, dict[str, tuple[float, int]]] = {}
    for regimen in protocol.regimens.values():
        for phase in regimen.phases:
            for drug in (*phase.drugs, *phase.supportive_care):
                units = out.setdefault(drug.drug.lower(), {})
                dose, per_day = units.get(drug.unit.upper(), (0.0, 1))
                units[drug.unit.upper()] = (max(dose, float(drug.dose)),
                                            max(per_day, drug.times_per_day))
    return out


def _scale(protocol: Any, basis: str, body: tuple[float, float] | None) -> float | None:
    """Body-surface area (m2) or weight (kg) of a subject, None when not known."""
    if body is None:
        return None
    if basis == "KG":
        return body[1]
    try:
        return float(protocol.body_surface_area(*body))
    except InputError:
        return None


def check_doses(ex: pd.DataFrame, protocol: Any, *, dm: pd.DataFrame | None = None,
                ) -> tuple[pd.DataFrame, set[Any], list[DataQualityIssue]]:
    """EX without its implausible doses, the index labels of records not to be compared with
    the protocol dose, and the issues (rules: module docstring). ``ex`` is a validated EX
    frame; ``dm`` (validated) gives ``HEIGHT``/``WEIGHT`` for doses in an absolute unit."""
    if not len(ex):
        return ex, set(), []
    doses = _protocol_doses(protocol)
    sizes = body_sizes(dm) if dm is not None else {}
    rows = source_rows(ex)
    units = ex["EXDOSU"] if "EXDOSU" in ex.columns else pd.Series(None, index=ex.index)
    frequencies = (ex["EXDOSFRQ"] if "EXDOSFRQ" in ex.columns
                   else pd.Series(None, index=ex.index))
    other_unit: set[Any] = set()
    implausible: list[Any] = []
    issues: list[DataQualityIssue] = []
    no_body: set[tuple[str, str]] = set()
    undosed = pd.isna(ex["EXDOSE"]).to_numpy()
    absolutes: dict[str, dict[str, str]] = {}  # per drug: absolute unit -> per-size unit
    for position, (index, subject, drug, dose, unit, frequency) in enumerate(
            zip(ex.index, ex["USUBJID"], ex["EXTRT"], ex["EXDOSE"], units, frequencies,
                strict=True)):
        name = str(drug).strip().lower()
        planned = doses.get(name)
        if planned is None or undosed[position]:
            continue
        subject = str(subject)
        given_per_day = None
        if _given(frequency):
            given_per_day = administrations_per_day(frequency)
            if given_per_day is None:
                other_unit.add(index)
                issues.append(DataQualityIssue(
                    "EX", subject, "EXDOSFRQ", frequency,
                    "dosing frequency not understood (QD, BID, TID, QID, QnH, ONCE, QOD, "
                    "QnD, QnW, QnM); the dose is not compared with the protocol dose",
                    rows[position]))
                continue
        record_unit = unit_of(unit)
        if name not in absolutes:
            absolutes[name] = {u.partition("/")[0]: u for u in planned if "/" in u}
        absolute = absolutes[name]
        if record_unit is None or record_unit in planned:
            highest, per_day = planned[record_unit or max(planned, key=lambda u: planned[u][0])]
        elif record_unit in absolute:
            highest, per_day = planned[absolute[record_unit]]
            scale = _scale(protocol, absolute[record_unit].partition("/")[2], sizes.get(subject))
            if scale is None:
                other_unit.add(index)
                if (subject, name) not in no_body:
                    no_body.add((subject, name))
                    issues.append(DataQualityIssue(
                        "EX", subject, "EXDOSU", unit,
                        f"{drug} in {record_unit} needs the subject's HEIGHT and WEIGHT in DM "
                        f"(the protocol dose is {absolute[record_unit].lower()}); the dose is "
                        "not compared with the protocol dose", rows[position]))
                continue
            highest *= scale
        else:
            other_unit.add(index)
            issues.append(DataQualityIssue(
                "EX", subject, "EXDOSU", unit,
                f"not a unit the protocol gives {drug} in "
                f"({', '.join(sorted({*planned, *absolute}))}); "
                "the dose is not compared with the protocol dose", rows[position]))
            continue
        daily = float(dose) * (given_per_day or per_day)
        if daily > DOSE_CEILING * highest * per_day:
            implausible.append(index)
            issues.append(DataQualityIssue(
                "EX", str(subject), "EXDOSE", dose,
                f"implausible dose: above {DOSE_CEILING:g} x the protocol dose of {drug} "
                f"({highest:g}); record excluded", rows[position]))
    return ex.drop(index=implausible), other_unit, issues
