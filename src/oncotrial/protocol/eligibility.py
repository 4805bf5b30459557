"""Eligibility: checking the protocol's rules, and checking a patient against them.

A rule is three-valued: it holds, fails, or cannot be decided (the field is missing, or
holds a value of the wrong type). Missing data never makes a patient eligible: "eligible"
needs every criterion to hold; one failed criterion makes the patient "not eligible" even if
others are undecided, because no missing value could rescue them; otherwise the answer is
"cannot be determined" and the undecided criteria say what to collect. Values are never
coerced: ``"72"`` for a number or ``1`` for a boolean is undecided, with a reason naming the
field, because a silent conversion in an eligibility check is how an ineligible patient is
randomised. The one exception is a category level, which matches by its canonical text
(:func:`~oncotrial.protocol.level_key`): ECOG category ``[0, 1]`` accepts ``1``, ``1.0``,
``"1"`` and ``numpy.int64(1)``, the forms the same level takes in a form, a CSV file and SDTM.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from oncotrial.protocol.base import level_key

if TYPE_CHECKING:
    from oncotrial.protocol.models import Protocol
    from oncotrial.protocol.population import FieldSpec, Rule

_ORDER_OPS = ("<", "<=", ">", ">=")
_OPS_BY_TYPE = {
    "number": ("==", "!=", "<", "<=", ">", ">=", "in", "not_in"),
    "date": ("==", "!=", "<", "<=", ">", ">="),
    "category": ("==", "!=", "in", "not_in"),
    "boolean": ("is_true", "is_false"),
}

Issue = tuple[tuple[str | int, ...], str]


class Outcome(NamedTuple):
    """Why one criterion failed or could not be decided."""

    id: str
    text: str
    reason: str


@dataclass(frozen=True)
class EligibilityResult:
    """``status`` is "eligible", "not eligible" or "cannot be determined"."""

    status: str
    failed: tuple[Outcome, ...]
    undetermined: tuple[Outcome, ...]
    passed: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        return self.status == "eligible"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status,
                "failed": [o._asdict() for o in self.failed],
                "undetermined": [o._asdict() for o in self.undetermined],
                "passed": list(self.passed)}

    def __repr__(self) -> str:
        return (f"EligibilityResult(status={self.status!r}, "
                f"failed={[o.id for o in self.failed]!r}, "
                f"undetermined={[o.id for o in self.undetermined]!r})")


# ----------------------------------------------------------------------------- static checks

def rule_issues(protocol: Protocol) -> list[Issue]:
    """Problems of the eligibility rules: undeclared fields, wrong ops, undeclared levels."""
    issues: list[Issue] = []
    ids = [c.id for c in protocol.eligibility]
    for i, criterion in enumerate(protocol.eligibility):
        if criterion.id in ids[:i]:
            issues.append((("eligibility", i, "id"), f"duplicate criterion id {criterion.id!r}"))
        issues += _rule_issues(criterion, ("eligibility", i), protocol)
    return issues


def _rule_issues(rule: Rule, loc: tuple[str | int, ...], protocol: Protocol) -> list[Issue]:
    for key in ("all", "any"):
        group = getattr(rule, key)
        if group is not None:
            return [issue for j, sub in enumerate(group)
                    for issue in _rule_issues(sub, loc + (key, j), protocol)]
    assert rule.field is not None and rule.op is not None  # guaranteed by Rule validation
    spec = protocol.fields.get(rule.field)
    if spec is None:
        declared = ", ".join(protocol.fields) or "none"
        return [(loc + ("field",), f"{rule.field!r} is not a declared field "
                                   f"(declared: {declared})")]
    if rule.op not in _OPS_BY_TYPE[spec.type]:
        return [(loc + ("op",), f"{rule.op!r} does not apply to {spec.type} field "
                                f"{rule.field!r} (use one of "
                                f"{', '.join(_OPS_BY_TYPE[spec.type])})")]
    if rule.op in ("is_true", "is_false"):
        return ([] if rule.value is None else
                [(loc + ("value",), f"{rule.op!r} takes no value, got {rule.value!r}")])
    values = rule.value if rule.op in ("in", "not_in") else [rule.value]
    if rule.op in ("in", "not_in") and not (isinstance(rule.value, list) and rule.value):
        return [(loc + ("value",), f"{rule.op!r} needs a non-empty list, got {rule.value!r}")]
    issues = []
    for value in values:
        problem = _type_problem(value, spec)
        if problem:
            what = f"field {rule.field!r}"
            if any(f.name == rule.field for f in protocol.stratification):
                what = f"stratification factor {rule.field!r}"
            issues.append((loc + ("value",), f"{problem} of {what}" if spec.type == "category"
                           else f"{problem} for {what}"))
    return issues


def _type_problem(value: Any, spec: FieldSpec) -> str | None:
    """Why ``value`` is not a valid value of a field of this spec (None if it is)."""
    if spec.type == "number":
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) \
            and math.isfinite(value)
        return None if ok else f"expected a number, got {value!r}"
    if spec.type == "boolean":
        return None if isinstance(value, (bool, np.bool_)) else f"expected true/false, got {value!r}"
    if spec.type == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
        return None if ok else f"expected a date, got {value!r}"
    assert spec.levels is not None
    key = None if isinstance(value, (bool, np.bool_)) else level_key(value)
    if key is None:
        return f"expected one of {spec.levels}, got {value!r}"
    if key not in {level_key(level) for level in spec.levels}:
        return f"{value!r} is not a declared level ({', '.join(map(str, spec.levels))})"
    return None


# ----------------------------------------------------------------------------- evaluation

def check(protocol: Protocol, patient: Mapping[str, Any]) -> EligibilityResult:
    """Evaluate every criterion of ``protocol`` for ``patient`` (field name -> value)."""
    if not isinstance(patient, Mapping):
        raise TypeError(f"patient: expected a mapping of field name to value, "
                         f"got {type(patient).__name__}")
    failed, undetermined, passed = [], [], []
    for criterion in protocol.eligibility:
        verdict, reason = _evaluate(criterion, patient, protocol)
        if verdict is True:
            passed.append(criterion.id)
        elif verdict is False:
            failed.append(Outcome(criterion.id, criterion.text, reason))
        else:
            undetermined.append(Outcome(criterion.id, criterion.text, reason))
    status = ("not eligible" if failed else
              "cannot be determined" if undetermined else "eligible")
    return EligibilityResult(status, tuple(failed), tuple(undetermined), tuple(passed))


def _evaluate(rule: Rule, patient: Mapping[str, Any],
              protocol: Protocol) -> tuple[bool | None, str]:
    """(True/False/None, reason); the reason explains a False or None."""
    for key in ("all", "any"):
        group = getattr(rule, key)
        if group is None:
            continue
        results = [_evaluate(sub, patient, protocol) for sub in group]
        decisive = key != "all"
        hits = [reason for verdict, reason in results if verdict is decisive]
        unknown = [reason for verdict, reason in results if verdict is None]
        if hits:
            return (False, "; ".join(hits)) if key == "all" else (True, "")
        if unknown:
            return None, "; ".join(unknown)
        return ((True, "") if key == "all"
                else (False, " and ".join(reason for _, reason in results)))
    assert rule.field is not None and rule.op is not None
    spec = protocol.fields[rule.field]
    value = patient.get(rule.field)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, f"{rule.field} is missing"
    problem = _type_problem(value, spec)
    if problem:
        return None, f"{rule.field}: {problem}"
    if spec.type == "category":  # levels compare by their canonical text
        target = ([level_key(v) for v in rule.value] if isinstance(rule.value, list)
                  else level_key(rule.value))
        ok = bool(_apply(rule.op, level_key(value), target))
    else:
        ok = bool(_apply(rule.op, value, rule.value))
    return ok, "" if ok else f"{rule.field} = {value!r}, expected {_expected(rule)}"


def _apply(op: str, value: Any, target: Any) -> bool:
    if op == "is_true":
        return bool(value)
    if op == "is_false":
        return not bool(value)
    if op == "in":
        return value in target
    if op == "not_in":
        return value not in target
    return {"==": value == target, "!=": value != target, "<": value < target,
            "<=": value <= target, ">": value > target, ">=": value >= target}[op]


def _expected(rule: Rule) -> str:
    if rule.op in ("is_true", "is_false"):
        return rule.op.removeprefix("is_")
    if rule.op in ("in", "not_in"):
        return f"{'one of' if rule.op == 'in' else 'none of'} {rule.value!r}"
    return f"{rule.op} {rule.value!r}"
