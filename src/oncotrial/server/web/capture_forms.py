"""Any case report form as a page: inputs from the form's spec (as
:func:`oncotrial.server.services.capture.form_specs` gives it), and the submitted text read
back into the JSON the capture service validates.

Nothing here checks a value against the protocol: a number that is out of range, a date in
the future, a missing required field are the service's issues (the pure
:func:`oncotrial.clinical.crf.validate_form`), shown on their fields. The page only turns
text into the JSON types a browser cannot send: a whole number, a decimal, yes/no, a
choice's value; text that is none of these is passed on as typed, so the validator's
message names it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["LESION_ROWS", "entered_text", "form_data", "input_name", "issue_label",
           "lesion_rows"]

#: empty lesion rows offered on a new assessment
LESION_ROWS = 6

_INDEX = re.compile(r"\[(\d+)\]")


def input_name(issue_field: str) -> str:
    """The input an issue names: ``lesions[2].diameter_mm`` -> ``lesions.2.diameter_mm``."""
    return _INDEX.sub(r".\1", issue_field)


def issue_label(spec: Mapping[str, Any], issue_field: str) -> str:
    """How a page names the field of an issue: its label, ``Lesions 3: Diameter`` for an
    item of a list."""
    parts = input_name(issue_field).split(".")
    fields = {f["name"]: f for f in spec["fields"]}
    top = fields.get(parts[0])
    if top is None:
        return issue_field
    if len(parts) == 3 and parts[1].isdigit():
        items = {f["name"]: f["label"] for f in top.get("item_fields") or ()}
        return f"{top['label']} {int(parts[1]) + 1}: {items.get(parts[2], parts[2])}"
    return str(top["label"])


def _typed(spec: Mapping[str, Any], text: str) -> Any:
    kind = spec["kind"]
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            value = float(text)
            if math.isfinite(value):
                return int(value) if re.fullmatch(r"-?\d+", text) else value
    except ValueError:
        return text
    if kind == "flag":
        return {"yes": True, "no": False}.get(text, text)
    if kind == "choice":
        for choice in spec.get("choices") or ():
            if str(choice["value"]) == text:
                return choice["value"]
    return text


def _fields(fields: list[Mapping[str, Any]], form: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in fields:
        name = f"{prefix}{spec['name']}"
        if spec["kind"] == "lesions":
            rows = []
            for i in range(lesion_rows(form, name)):
                row = _fields(spec.get("item_fields") or [], form, f"{name}.{i}.")
                if row:
                    rows.append(row)
            if rows:
                out[spec["name"]] = rows
            continue
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        if text:
            out[spec["name"]] = _typed(spec, text)
    return out


def lesion_rows(form: Mapping[str, Any], name: str) -> int:
    """How many lesion rows the submitted form holds (at least :data:`LESION_ROWS`)."""
    found = [int(m.group(1)) for key in form
             if (m := re.match(re.escape(name) + r"\.(\d+)\.", str(key)))]
    return max(LESION_ROWS, max(found, default=-1) + 1)


def form_data(spec: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """The record's data from the submitted form (blank inputs left out)."""
    return _fields(list(spec["fields"]), form, "")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def entered_text(data: Mapping[str, Any]) -> dict[str, str]:
    """A saved record's data as the inputs show it (to edit it)."""
    out: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.update({f"{name}.{i}.{k}": _text(v) for k, v in item.items()
                                if v is not None})
        elif value is not None:
            out[name] = _text(value)
    return out
