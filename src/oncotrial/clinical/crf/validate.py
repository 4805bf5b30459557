"""Validation of one form's data: typed clean values, or issues naming each bad field.

:func:`validate_form` takes whatever a browser or an import sends (any JSON) and never
raises on it: every problem is a :class:`FieldIssue` whose ``field`` is the path of the
value (``grade``, ``lesions[2].diameter_mm``) and whose message says what was expected, so
the web layer can show it next to the input. Numbers may come as numbers or as numeric text
(HTML inputs send text); booleans are never numbers. The checks per form (dates, the
randomisation date, dose against the protocol dose) are in :mod:`~oncotrial.clinical.crf.checks`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from oncotrial.clinical.crf.checks import form_issues
from oncotrial.clinical.crf.context import FieldIssue, FormValidation, SubjectContext
from oncotrial.clinical.crf.forms import FieldSpec, FormSpec
from oncotrial.protocol.base import level_key

__all__ = ["parse_fields", "parse_value", "validate_form"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_TEXT = 500
_FLAGS = {"Y": True, "YES": True, "TRUE": True, "N": False, "NO": False, "FALSE": False}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> float | str:
    """The number ``value`` holds, or the problem as text."""
    if isinstance(value, bool):
        return "expected a number, got a boolean"
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return f"expected a number, got text {value[:40]!r}"
    if not isinstance(value, (int, float)):
        return f"expected a number, got {type(value).__name__}"
    number = float(value)
    return number if math.isfinite(number) else "expected a finite number"


def _bounds(spec: FieldSpec, number: float) -> str | None:
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.minimum is not None and number < spec.minimum:
        return f"expected >= {spec.minimum:g}{unit}, got {number:g}"
    if spec.maximum is not None and number > spec.maximum:
        return f"expected <= {spec.maximum:g}{unit}, got {number:g}"
    return None


def _date(value: Any) -> str | tuple[str]:
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        return ("expected a complete ISO 8601 date YYYY-MM-DD",)
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return (f"not a calendar date: {value.strip()!r}",)


def parse_value(spec: FieldSpec, value: Any, today: dt.date | None = None) -> tuple[Any, str | None]:
    """``value`` typed for ``spec`` (not blank) and the problem, if any (the value is then
    ``None``). Lists of lesions are checked by the caller, item by item."""
    if spec.kind == "date":
        parsed = _date(value)
        if isinstance(parsed, tuple):
            return None, parsed[0]
        if today is not None and parsed > today.isoformat():
            return None, f"a date in the future ({parsed}; today is {today.isoformat()})"
        return parsed, None
    if spec.kind in ("integer", "number"):
        number = _number(value)
        if isinstance(number, str):
            return None, number
        if spec.kind == "integer" and not number.is_integer():
            return None, f"expected a whole number, got {number:g}"
        problem = _bounds(spec, number)
        if problem:
            return None, problem
        return (int(number) if spec.kind == "integer" else number), None
    if spec.kind == "flag":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().upper() in _FLAGS:
            return _FLAGS[value.strip().upper()], None
        return None, "expected yes or no (true/false, Y/N)"
    if spec.kind == "choice":
        key = level_key(value) if isinstance(value, (str, int, float)) else None
        choices = [c for c, _ in spec.choices or ()]
        for choice in choices:
            if key is not None and level_key(choice) == key:
                return choice, None
        folded = [c for c in choices if isinstance(c, str) and isinstance(value, str)
                  and c.casefold() == value.strip().casefold()]
        if len(folded) == 1:
            return folded[0], None
        shown = ", ".join(str(c) for c, _ in spec.choices or ())
        return None, f"expected one of {shown}, got {str(value)[:40]!r}"
    if spec.kind == "text":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return None, f"expected text, got {type(value).__name__}"
        text = str(value).strip()
        if len(text) > _MAX_TEXT:
            return None, f"expected at most {_MAX_TEXT} characters, got {len(text)}"
        return text, None
    return None, f"unsupported kind {spec.kind!r}"


def parse_fields(fields: Sequence[FieldSpec], data: Any, prefix: str, today: dt.date,
                 issues: list[FieldIssue]) -> dict[str, Any]:
    """Type every field of ``data`` (a JSON object) by ``fields``; unknown keys and missing
    required fields are issues. ``lesions`` lists are returned as given (lists of objects)."""
    if not isinstance(data, Mapping):
        issues.append(FieldIssue(prefix.rstrip(".") or "data",
                                 f"expected an object of field -> value, got "
                                 f"{type(data).__name__}"))
        return {}
    known = {f.name: f for f in fields}
    for key in data:
        if key not in known:
            shown = str(key) or '""'
            issues.append(FieldIssue(f"{prefix}{shown}", "unknown field (expected one of "
                                                      f"{', '.join(known)})"))
    values: dict[str, Any] = {}
    for spec in fields:
        value = data.get(spec.name)
        path = f"{prefix}{spec.name}"
        if spec.kind == "lesions":
            if value is None:
                if spec.required:
                    issues.append(FieldIssue(path, "required: a list of lesions"))
            elif not isinstance(value, list):
                issues.append(FieldIssue(path, "expected a list of lesions"))
            else:
                values[spec.name] = [parse_fields(spec.item_fields, item, f"{path}[{i}].",
                                                  today, issues)
                                     for i, item in enumerate(value)]
            continue
        if _blank(value):
            if spec.required:
                issues.append(FieldIssue(path, f"required ({spec.label})"))
            continue
        parsed, problem = parse_value(spec, value, today)
        if problem:
            issues.append(FieldIssue(path, problem))
        else:
            values[spec.name] = parsed
    return values


def validate_form(spec: FormSpec, data: Any, context: SubjectContext) -> FormValidation:
    """Check ``data`` (anything JSON can hold) against ``spec`` and the subject's
    ``context``: required fields, types, ranges and choices, then the form's own rules
    (:func:`~oncotrial.clinical.crf.checks.form_issues`). Never raises on bad data."""
    issues: list[FieldIssue] = []
    values = parse_fields(spec.fields, data, "", context.today, issues)
    if isinstance(data, Mapping):
        issues.extend(form_issues(spec, values, context, {i.field for i in issues}))
    return FormValidation(values, tuple(issues))
