"""The rules of each form beyond field types: dates against randomisation and each other,
doses against the protocol, and the RECIST rules of lesions at baseline and follow-up.

A baseline tumour assessment (visit 0) may precede randomisation (RECIST baseline imaging
is done up to four weeks before treatment); every other event form is dated on or after it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from oncotrial.clinical.crf.context import FieldIssue, SubjectContext, body_size, rules_for
from oncotrial.clinical.crf.forms import FormSpec

__all__ = ["form_issues"]

#: relative difference from the protocol (or computed) dose above which a reason is needed
DOSE_TOLERANCE = 0.10
#: forms whose date (their ``date_field``) is on or after randomisation
_AFTER_RANDOMISATION = ("cycle", "tumour_assessment", "adverse_event", "surgery",
                        "subsequent_therapy", "second_progression", "end_of_treatment",
                        "follow_up", "death", "end_of_study")


def form_issues(spec: FormSpec, values: Mapping[str, Any], context: SubjectContext,
                bad: Collection[str] = ()) -> list[FieldIssue]:
    """The issues of ``values`` (already typed) under the rules of form ``spec.name``;
    ``bad`` are the paths that already have an issue (not reported twice)."""
    issues: list[FieldIssue] = []
    _randomisation(spec, values, context, issues)
    _end_after_start(values, issues)
    if spec.name == "baseline" and values.get("age") is None and values.get("birth_year") is None:
        issues.append(FieldIssue("age", "required: the age at randomisation or the year of "
                                        "birth"))
    if spec.name == "cycle":
        _doses(spec, values, context, issues)
    if spec.name == "tumour_assessment" and isinstance(values.get("lesions"), list):
        _lesions(values, context, issues, bad)
    return issues


def _randomisation(spec: FormSpec, values: Mapping[str, Any], context: SubjectContext,
                   issues: list[FieldIssue]) -> None:
    field = spec.date_field
    when = values.get(field) if field else None
    if (spec.name not in _AFTER_RANDOMISATION or when is None or context.randomised_on is None
            or (spec.name == "tumour_assessment" and values.get("visit") == 0)):
        return
    start = context.randomised_on.isoformat()
    if when < start:
        issues.append(FieldIssue(str(field), f"expected on or after the randomisation date "
                                             f"{start}, got {when}"))


def _end_after_start(values: Mapping[str, Any], issues: list[FieldIssue]) -> None:
    end = values.get("end_date")
    start = values.get("start_date", values.get("date"))
    if end is not None and start is not None and end < start:
        issues.append(FieldIssue("end_date", f"expected on or after the start {start}, "
                                             f"got {end}"))


def _far(given: float, expected: float) -> bool:
    return expected > 0 and abs(given - expected) / expected > DOSE_TOLERANCE


def _doses(spec: FormSpec, values: Mapping[str, Any], context: SubjectContext,
           issues: list[FieldIssue]) -> None:
    """Each drug given must belong to the phase (of the subject's arm when known); a dose
    more than 10 % from the protocol dose (or a total more than 10 % from the computed dose,
    body size x protocol dose) needs the reason. A masked subject's dose is compared with
    every arm's dose of the phase: it needs a reason only when far from all of them."""
    phase = values.get("phase")
    stems = sorted({r.field for r in spec.doses})
    for stem in stems:
        dose, total = values.get(f"{stem}_dose"), values.get(f"{stem}_total")
        if dose is None and total is None:
            continue
        rules = rules_for(spec, phase, stem, context.arm)
        field = f"{stem}_dose" if dose is not None else f"{stem}_total"
        if not rules:
            whose = " of the subject's arm" if context.arm else ""
            issues.append(FieldIssue(field, f"not a drug of phase {phase!r}{whose}"))
            continue
        reason = values.get(f"{stem}_reason")
        if values.get(f"{stem}_reduced") and reason is None:
            issues.append(FieldIssue(f"{stem}_reason", "required when the dose is reduced"))
            continue
        if reason is not None:
            continue
        unit = rules[0].unit
        if dose is not None and all(_far(dose, r.dose) for r in rules):
            shown = " or ".join(f"{r.dose:g}" for r in rules)
            levels = sorted({x for r in rules for x in r.levels}, reverse=True)
            allowed = (f" (reduced levels: {', '.join(f'{x:g}' for x in levels)})"
                       if levels else "")
            issues.append(FieldIssue(f"{stem}_reason", f"required: the dose {dose:g} {unit} "
                                     f"differs from the protocol dose {shown} {unit} by more "
                                     f"than 10 %{allowed}"))
            continue
        sizes = [(r, body_size(context, r)) for r in rules]
        computed = [r.dose * s for r, s in sizes if s is not None]
        if total is not None and computed and all(_far(total, c) for c in computed):
            shown = " or ".join(f"{c:.1f}" for c in computed)
            issues.append(FieldIssue(f"{stem}_reason", f"required: the total {total:g} differs "
                                     f"from the computed dose {shown} by more than 10 %"))


def _lesions(values: Mapping[str, Any], context: SubjectContext, issues: list[FieldIssue],
             bad: Collection[str]) -> None:
    """Baseline: every lesion target or non-target, targets measured (> 0 mm). Follow-up:
    lesions not at baseline are new; a target is measured in mm (0 when it disappeared), a
    non-target has a state."""
    lesions: list[Mapping[str, Any]] = values["lesions"]
    baseline = values.get("visit") == 0
    known = {str(x.get("id")): x for x in context.baseline_lesions or () if isinstance(x, Mapping)}
    seen: set[str] = set()
    for i, lesion in enumerate(lesions):
        path = f"lesions[{i}]"
        ident = lesion.get("id")
        if ident is None:
            continue
        if ident in seen:
            issues.append(FieldIssue(f"{path}.id", f"duplicate lesion {ident!r}"))
        seen.add(ident)
        role = lesion.get("role")
        if baseline:
            if role is None and f"{path}.role" not in bad:
                issues.append(FieldIssue(f"{path}.role", "required at baseline: target or "
                                                         "non-target"))
            elif role == "NEW":
                issues.append(FieldIssue(f"{path}.role", "expected target or non-target: a "
                                                         "lesion at baseline is not new"))
            diameter = lesion.get("diameter_mm")
            if (role == "TARGET" and f"{path}.diameter_mm" not in bad
                    and (diameter is None or diameter <= 0)):
                issues.append(FieldIssue(f"{path}.diameter_mm", "required for a target "
                                         f"lesion at baseline: > 0 mm, got {diameter}"))
            continue
        base = known.get(str(ident))
        if base is not None:
            role = base.get("role")
        elif context.baseline_lesions is not None and role != "NEW":
            issues.append(FieldIssue(f"{path}.role", f"lesion {ident!r} is not a baseline "
                                     "lesion: expected kind new"))
            continue
        if role == "TARGET" and lesion.get("state") not in (None, "PRESENT", "ABSENT"):
            issues.append(FieldIssue(f"{path}.state", "a target lesion is measured in mm"))
        if role == "NON-TARGET" and lesion.get("diameter_mm") is not None:
            issues.append(FieldIssue(f"{path}.diameter_mm", "a non-target lesion is not "
                                     "measured: give its state"))
