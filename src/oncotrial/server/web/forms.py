"""The registration form, generated from the protocol: one input per declared patient field
(eligibility data) and per stratification factor that is not also a field.

Nothing here knows a trial: labels, units, levels and the criteria that read each field
come from the :class:`~oncotrial.protocol.Protocol`. Parsing turns the submitted text into
the typed values the protocol's rules read (numbers, booleans, declared levels, dates) and
reports, per field, what was expected; the eligibility decision itself stays with the
service (:func:`oncotrial.server.services.subjects.register`) and the protocol.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from oncotrial.protocol import Protocol

__all__ = ["Choice", "FormField", "ParsedForm", "criteria_fields", "field_id", "register_fields",
           "parse_register"]

_YES_NO = (("yes", "Yes"), ("no", "No"))


class Choice(NamedTuple):
    """One option of a choice: the submitted value and its label."""

    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One input of a generated form: ``name`` is the submitted key (``eligibility.age``,
    ``factors.stage``), ``kind`` one of number, boolean, category, date, text."""

    name: str
    label: str
    kind: str
    required: bool
    hint: str = ""
    unit: str | None = None
    choices: tuple[Choice, ...] = ()
    criteria: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return field_id(self.name)


@dataclass(frozen=True)
class ParsedForm:
    """Typed values by section (``eligibility``, ``factors``), the text as entered (to show
    the form again) and the error of each field that could not be read."""

    eligibility: dict[str, Any]
    factors: dict[str, Any]
    entered: dict[str, str]
    errors: dict[str, str]


def field_id(name: str) -> str:
    """The HTML id of the input for ``name`` (dots and underscores become dashes)."""
    return "f-" + name.replace(".", "-").replace("_", "-")


def _rule_fields(rule: Any) -> Iterator[str]:
    if rule.field is not None:
        yield rule.field
    for group in (rule.all, rule.any):
        for sub in group or ():
            yield from _rule_fields(sub)


def criteria_fields(protocol: Protocol) -> dict[str, list[str]]:
    """Field name -> the wording of the criteria that test it."""
    out: dict[str, list[str]] = {}
    for criterion in protocol.eligibility:
        for name in dict.fromkeys(_rule_fields(criterion)):
            out.setdefault(name, []).append(criterion.text)
    return out


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def register_fields(protocol: Protocol) -> list[FormField]:
    """The inputs of the registration form, in protocol order."""
    tested = criteria_fields(protocol)
    factors = {f.name: f for f in protocol.stratification}
    fields: list[FormField] = []
    for name, spec in protocol.fields.items():
        factor = factors.get(name)
        label = (factor.label if factor is not None and factor.label else None) or _label(name)
        hint = spec.description[:1].upper() + spec.description[1:] \
            if spec.description and spec.description != label else ""
        choices: tuple[Choice, ...] = ()
        if spec.type == "category":
            labels = {str(k): v for k, v in (factor.level_labels.items() if factor else ())}
            choices = tuple(Choice(str(level), labels.get(str(level), str(level)))
                            for level in spec.levels or ())
        elif spec.type == "boolean":
            choices = tuple(Choice(v, t) for v, t in _YES_NO)
        fields.append(FormField(
            name=f"eligibility.{name}", label=label, kind=spec.type,
            required=name in tested or factor is not None, hint=hint, unit=spec.unit,
            choices=choices, criteria=tuple(tested.get(name, ()))))
    for factor in protocol.stratification:
        if factor.name in protocol.fields:
            continue
        labels = {str(k): v for k, v in factor.level_labels.items()}
        fields.append(FormField(
            name=f"factors.{factor.name}", label=factor.label or _label(factor.name),
            kind="category", required=True, hint="stratification factor",
            choices=tuple(Choice(str(level), labels.get(str(level), str(level)))
                          for level in factor.levels)))
    return fields


def _number(text: str) -> int | float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() \
        else value


def _level(levels: list[Any], text: str) -> Any:
    for level in levels:
        if str(level) == text:
            return level
    raise ValueError(text)


def parse_register(protocol: Protocol, form: Mapping[str, Any]) -> ParsedForm:
    """Read the submitted registration form; a missing required value or text that is not
    of the field's type is an error on that field (and the form is not saved)."""
    eligibility: dict[str, Any] = {}
    factors: dict[str, Any] = {}
    entered: dict[str, str] = {}
    errors: dict[str, str] = {}
    factor_levels = {f.name: list(f.levels) for f in protocol.stratification}
    for field in register_fields(protocol):
        raw = form.get(field.name)
        text = raw.strip() if isinstance(raw, str) else ""
        entered[field.name] = text
        if not text:
            if field.required:
                errors[field.name] = (f"{field.label}: choose one" if field.choices
                                      else f"{field.label}: enter a value")
            continue
        section, name = field.name.split(".", 1)
        try:
            if field.kind == "number":
                value: Any = _number(text)
            elif field.kind == "boolean":
                value = {"yes": True, "no": False}[text]
            elif field.kind == "date":
                value = dt.date.fromisoformat(text)
            elif section == "factors":
                value = _level(factor_levels[name], text)
            else:
                value = _level(list(protocol.fields[name].levels or ()), text)
        except (ValueError, KeyError):
            expected = {"number": "a number such as 64 or 1.5", "date": "a date YYYY-MM-DD",
                        }.get(field.kind, "one of the listed options")
            errors[field.name] = f"{field.label}: expected {expected}, got {text!r}"
            continue
        (eligibility if section == "eligibility" else factors)[name] = value
    return ParsedForm(eligibility, factors, entered, errors)
