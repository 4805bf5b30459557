"""What validation knows about the subject, what it returns, and the protocol dose of a drug
for that subject (body size x dose per m2 or per kg)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from oncotrial.clinical.crf.forms import DoseRule, FormSpec
from oncotrial.core.results import Result
from oncotrial.protocol.dosing import body_surface_area

__all__ = ["FieldIssue", "FormValidation", "SubjectContext", "body_size", "computed_doses",
           "protocol_doses", "rules_for"]


@dataclasses.dataclass(frozen=True, repr=False)
class FieldIssue(Result):
    """A problem with one field; ``field`` is a path (``grade``, ``lesions[2].diameter_mm``)."""

    field: str
    message: str


@dataclasses.dataclass(frozen=True, repr=False)
class FormValidation(Result):
    """``values``: the clean values (JSON-safe: dates as ISO text, flags as booleans, choice
    values as the protocol's levels), only the fields given; ``issues``: every problem."""

    values: Mapping[str, Any]
    issues: tuple[FieldIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclasses.dataclass(frozen=True, repr=False)
class SubjectContext(Result):
    """What the checks need beyond the form: today's date (no date after it), the
    randomisation date (no cycle, assessment or event before it), height and weight (the
    computed dose), the subject's arm code (``None`` when masked: the dose is checked against
    every arm's dose of the phase), and the lesions of the baseline assessment (its
    ``lesions`` values) for a follow-up assessment."""

    today: dt.date
    randomised_on: dt.date | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    arm: str | None = None
    baseline_lesions: Sequence[Mapping[str, Any]] | None = None


def body_size(context: SubjectContext, rule: DoseRule) -> float | None:
    """What the dose of ``rule`` is multiplied by: BSA (Mosteller) for per-m2 doses, the
    weight for per-kg ones, 1 for flat doses; None when height or weight is missing or
    implausible."""
    per = rule.unit.split("/")[1] if "/" in rule.unit else None
    if per is None:
        return 1.0
    if context.weight_kg is None or (per == "m2" and context.height_cm is None):
        return None
    if per == "kg":
        return float(context.weight_kg)
    try:
        return body_surface_area(float(context.height_cm or 0), float(context.weight_kg))
    except (ValueError, TypeError):  # implausible height or weight
        return None


def rules_for(spec: FormSpec, phase: Any, stem: str, arm: str | None) -> list[DoseRule]:
    """The dose rules of drug field ``stem`` in ``phase`` (of ``arm`` when known)."""
    return [r for r in spec.doses if r.phase == phase and r.field == stem
            and (arm is None or r.arm == arm)]


def computed_doses(spec: FormSpec, phase: str, context: SubjectContext) -> dict[str, float]:
    """Drug -> the computed total dose of ``phase`` for this subject (absolute unit: BSA by
    Mosteller x dose per m2, weight x dose per kg, a flat dose as is) at the full dose of the
    subject's arm; drugs whose dose cannot be computed (body size unknown, or a masked arm
    whose arms differ) are left out."""
    out: dict[str, float] = {}
    for rule in spec.doses:
        if rule.phase != phase or rule.drug in out:
            continue
        rules = rules_for(spec, phase, rule.field, context.arm)
        if not rules or len({r.dose for r in rules}) != 1:
            continue
        size = body_size(context, rules[0])
        if size is not None:
            out[rule.drug] = round(rules[0].dose * size, 2)
    return out


def protocol_doses(spec: FormSpec, phase: str, context: SubjectContext) -> dict[str, float]:
    """Field -> the value a cycle's entry form starts with: each drug's full protocol dose
    of ``phase`` (``<drug>_dose``, in the protocol unit) and, when the body size is known,
    the total it makes (``<drug>_total``). A drug is left blank when the candidate arms
    (every arm, when the arm is masked) disagree on its dose, so that a pre-filled form is
    the same for every subject of a blinded trial and reveals no arm. The investigator
    changes a value that differs; the check on save asks for the reason."""
    names = {f.name for f in spec.fields}
    out: dict[str, float] = {}
    for rule in spec.doses:
        dose_field, total_field = f"{rule.field}_dose", f"{rule.field}_total"
        if rule.phase != phase or dose_field in out or dose_field not in names:
            continue
        rules = rules_for(spec, phase, rule.field, context.arm)
        if not rules or len({r.dose for r in rules}) != 1:
            continue
        out[dose_field] = rules[0].dose
        size = body_size(context, rules[0])
        if size is not None and total_field in names:
            out[total_field] = round(rules[0].dose * size, 2)
    return out
