"""Case report forms built from the protocol: which forms a trial has and what each holds.

Every form is generic: the fields come from the protocol (stratification factors and their
levels, the Table 1 characteristics that live in DM, each phase's drugs and doses), never
from trial-specific code, so the web layer can render any trial's forms from
:meth:`FormSpec.to_dict` alone. Each field names the SDTM variable it is exported to
(``column``) so a data manager can trace a value from the form to the dataset.

Repeating forms have a *key* made of some of their fields (:func:`record_key`): a cycle is
``<phase>:<cycle>``, a tumour assessment its visit number (``0`` is baseline), the other
repeating forms a sequence number chosen by the caller (field ``seq``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal

from oncotrial.clinical.sdtm import AE_ACTIONS, DS_DECODES, DS_DISCONTINUATION
from oncotrial.core.errors import InputError
from oncotrial.core.results import Result, json_safe

__all__ = [
    "DoseRule",
    "FieldSpec",
    "FormSpec",
    "LESION_ROLES",
    "LESION_STATES",
    "drug_field",
    "form_specs",
    "record_key",
]

Kind = Literal["date", "integer", "number", "text", "choice", "flag", "lesions"]

#: RECIST roles of a lesion (SDTM TUORRES)
LESION_ROLES = ("TARGET", "NON-TARGET", "NEW")
#: states of a non-target lesion at follow-up (SDTM TR TUMSTATE)
LESION_STATES = ("PRESENT", "ABSENT", "UNEQUIVOCAL PROGRESSION")
#: fields of the baseline form that are not protocol characteristics
_STANDARD_BASELINE = {"birth_year", "age", "sex", "performance_status", "height_cm",
                      "weight_kg"}


@dataclasses.dataclass(frozen=True, repr=False)
class FieldSpec(Result):
    """One field of a form. ``choices`` are ``(value, label)`` pairs (values JSON-safe: the
    protocol's levels as written, so an ECOG level stays the number 0); ``minimum`` and
    ``maximum`` bound numbers (inclusive); ``item_fields`` are the fields of one item of a
    ``lesions`` list; ``column`` is the SDTM variable the value is exported to."""

    name: str
    label: str
    kind: Kind
    required: bool = False
    choices: tuple[tuple[Any, str], ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    help: str | None = None
    column: str | None = None
    item_fields: tuple[FieldSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "label": self.label, "kind": self.kind,
            "required": self.required, "minimum": self.minimum, "maximum": self.maximum,
            "unit": self.unit, "help": self.help, "column": self.column,
            "choices": None if self.choices is None else [
                {"value": json_safe(v), "label": label} for v, label in self.choices],
        }
        if self.item_fields:
            out["item_fields"] = [f.to_dict() for f in self.item_fields]
        return out


@dataclasses.dataclass(frozen=True, repr=False)
class DoseRule(Result):
    """The full dose of one drug in one phase of one arm (protocol unit, per administration)
    and its reduced levels (-1, -2, ... in the same unit), used to check an entered dose;
    not part of :meth:`FormSpec.to_dict` because the arm codes
    would unmask a blinded trial."""

    arm: str
    phase: str
    drug: str
    field: str
    dose: float
    unit: str
    levels: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True, repr=False)
class FormSpec(Result):
    """One case report form: its fields in display order, whether it repeats, the fields
    making its key, and the field holding the record's date (``date_field``: what a data
    lock compares with the cut-off). ``doses`` (cycle form only) are the protocol's full
    doses per arm, phase and drug."""

    name: str
    label: str
    repeating: bool
    key_fields: tuple[str, ...]
    date_field: str | None
    fields: tuple[FieldSpec, ...]
    doses: tuple[DoseRule, ...] = ()

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise InputError(f"field: expected one of {', '.join(f.name for f in self.fields)}, "
                         f"got {name!r}", field="field")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, without arm codes (see :class:`DoseRule`); drugs appear as fields."""
        return {"name": self.name, "label": self.label, "repeating": self.repeating,
                "key_fields": list(self.key_fields), "date_field": self.date_field,
                "fields": [f.to_dict() for f in self.fields]}


def _f(name: str, label: str, kind: Kind, required: bool = False, **kw: Any) -> FieldSpec:
    return FieldSpec(name, label, kind, required, **kw)


def _date(name: str, label: str, required: bool = True, column: str | None = None,
          help: str | None = None) -> FieldSpec:
    return _f(name, label, "date", required, column=column,
              help=help or "ISO 8601 date YYYY-MM-DD, not in the future")


def _seq() -> FieldSpec:
    return _f("seq", "Number", "integer", True, minimum=1,
              help="1, 2, ...: tells records of this form apart")


def drug_field(drug: str) -> str:
    """The field-name stem of a drug: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", drug.lower()).strip("_") or "drug"


def _baseline(protocol: Any) -> FormSpec:
    fields = [
        _f("age", "Age at randomisation", "integer", minimum=0, maximum=120, unit="years",
           column="AGE", help="give the age or the year of birth"),
        _f("birth_year", "Year of birth", "integer", minimum=1900, maximum=2100,
           help="used for AGE when the age is not given"),
        _f("sex", "Sex", "choice", True, choices=(("F", "Female"), ("M", "Male"),
                                                   ("U", "Unknown")), column="SEX"),
        _f("performance_status", "ECOG performance status", "integer", minimum=0, maximum=4,
           column="ECOG", help="0 (fully active) to 4 (completely disabled)"),
    ]
    taken = set(_STANDARD_BASELINE) | {"ecog"}
    for factor in protocol.stratification:
        fields.append(_f(factor.name, factor.label or factor.name, "choice", True,
                         choices=tuple((lv, factor.label_of(lv)) for lv in factor.levels),
                         column=factor.name, help="stratification factor, as randomised"))
        taken.add(factor.name.lower())
    fields.extend(_characteristics(protocol, taken))
    lo_h, hi_h = protocol.dosing.height_cm
    lo_w, hi_w = protocol.dosing.weight_kg
    fields.append(_f("height_cm", "Height", "number", minimum=lo_h, maximum=hi_h, unit="cm",
                     column="HEIGHT", help="for the body-surface area (Mosteller)"))
    fields.append(_f("weight_kg", "Weight", "number", minimum=lo_w, maximum=hi_w, unit="kg",
                     column="WEIGHT", help="for the body-surface area (Mosteller)"))
    return FormSpec("baseline", "Baseline characteristics", False, (), None, tuple(fields))


def _characteristics(protocol: Any, taken: set[str]) -> list[FieldSpec]:
    """Fields for the Table 1 rows over DM columns other than age, sex, ECOG and the strata."""
    out: list[FieldSpec] = []

    def name_of(column: str) -> str | None:
        if column.upper() in ("AGE", "SEX", "ECOG") or column.lower() in taken:
            return None
        taken.add(column.lower())
        return column.lower()

    for row in protocol.reporting.table1 or ():
        where = f"only when {row.where}" if row.where else None
        if row.type == "flags":
            for column, label in (row.columns or {}).items():
                name = name_of(column)
                if name:
                    out.append(_f(name, f"{row.label}: {label}", "flag", column=column,
                                  help=where))
            continue
        name = name_of(row.column or "")
        if name is None:
            continue
        if row.type == "continuous":
            out.append(_f(name, row.label, "number", column=row.column, help=where))
        elif row.levels:
            out.append(_f(name, row.label, "choice", column=row.column, help=where,
                          choices=tuple((v, str(t)) for v, t in row.levels.items())))
        else:
            out.append(_f(name, row.label, "integer", minimum=0, column=row.column, help=where))
    return out


def _phases(protocol: Any) -> list[str]:
    names: list[str] = []
    for regimen in protocol.regimens.values():
        names.extend(p.name for p in regimen.phases if p.name not in names)
    return names


def _levels(drug: Any) -> tuple[float, ...]:
    """The reduced doses of ``drug`` in its unit (percent levels applied to the full dose)."""
    if drug.reductions is None:
        return ()
    if drug.reductions.kind == "percent":
        return tuple(float(drug.dose) * level / 100 for level in drug.reductions.levels)
    return tuple(float(level) for level in drug.reductions.levels)


def _cycle(protocol: Any) -> FormSpec:
    phases = _phases(protocol)
    fields = [
        _f("phase", "Treatment phase", "choice", True, choices=tuple((p, p) for p in phases),
           column="EPOCH"),
        _f("cycle", "Cycle", "integer", True, minimum=1, help="1 for the first cycle of the "
                                                               "phase"),
        _date("date", "Day 1 of the cycle", column="EXSTDTC"),
        _f("delay_days", "Delay", "integer", minimum=0, unit="days",
           help="days the cycle was postponed"),
    ]
    rules: list[DoseRule] = []
    units: dict[str, str] = {}
    for arm, regimen in protocol.regimens.items():
        for phase in regimen.phases:
            for drug in phase.drugs:
                stem = drug_field(drug.drug)
                rules.append(DoseRule(arm, phase.name, drug.drug, stem, float(drug.dose),
                                      drug.unit, _levels(drug)))
                units.setdefault(drug.drug, drug.unit)
    for drug, unit in units.items():
        stem = drug_field(drug)
        per = unit.split("/")[0]
        scaled = "/" in unit
        fields.append(_f(f"{stem}_dose", f"{drug}: dose given", "number", minimum=0,
                         unit=unit, column="EXDOSE",
                         help="per administration, in the protocol's unit; blank if not given"))
        if scaled:
            fields.append(_f(f"{stem}_total", f"{drug}: total amount given", "number",
                             minimum=0, unit=per,
                             help=f"compared with the computed dose (body size x {unit})"))
        fields.append(_f(f"{stem}_reduced", f"{drug}: dose reduced", "flag"))
        fields.append(_f(f"{stem}_reason", f"{drug}: reason for the dose change", "text",
                         column="EXADJ", help="required when the dose differs from the "
                                              "protocol dose by more than 10 %"))
    return FormSpec("cycle", "Treatment cycle", True, ("phase", "cycle"), "date",
                    tuple(fields), tuple(rules))


def _lesion_fields() -> tuple[FieldSpec, ...]:
    return (
        _f("id", "Lesion", "text", True, column="TULNKID", help="e.g. T01, NT01, NEW01"),
        _f("role", "Kind", "choice", choices=tuple((r, r.lower()) for r in LESION_ROLES),
           column="TUORRES", help="required at baseline and for new lesions"),
        _f("location", "Location", "text", column="TULOC"),
        _f("node", "Lymph node", "flag", column="TUNODE",
           help="nodes are measured in the short axis"),
        _f("diameter_mm", "Diameter", "number", minimum=0, unit="mm", column="TRSTRESN",
           help="target lesions: longest diameter (short axis of a node); > 0 at baseline"),
        _f("state", "State", "choice", choices=tuple((s, s.lower()) for s in LESION_STATES),
           column="TRORRES", help="non-target lesions at follow-up"),
    )


def _assessment() -> FormSpec:
    return FormSpec("tumour_assessment", "Tumour assessment (RECIST)", True, ("visit",), "date", (
        _f("visit", "Visit", "integer", True, minimum=0, help="0 = baseline"),
        _date("date", "Date of imaging", column="TRDTC"),
        _f("lesions", "Lesions", "lesions", True, item_fields=_lesion_fields(),
           help="baseline: every lesion with its kind; follow-up: every baseline lesion "
                "measured, plus new lesions"),
    ))


def _adverse_event() -> FormSpec:
    return FormSpec("adverse_event", "Adverse event", True, ("seq",), "start_date", (
        _seq(),
        _f("term", "CTCAE term", "text", True, column="AEDECOD"),
        _f("verbatim", "Verbatim term", "text", column="AETERM",
           help="as reported, when it differs from the CTCAE term"),
        _f("system_organ_class", "System organ class", "text", True, column="AEBODSYS"),
        _f("grade", "CTCAE grade", "integer", True, minimum=1, maximum=5, column="AETOXGR"),
        _date("start_date", "Start date", column="AESTDTC"),
        _date("end_date", "End date", required=False, column="AEENDTC",
              help="blank while ongoing; not before the start"),
        _f("serious", "Serious", "flag", True, column="AESER"),
        _f("related", "Related to study treatment", "flag", column="AEREL"),
        _f("action", "Action taken with study treatment", "choice", column="AEACN",
           choices=tuple((a, a.lower()) for a in AE_ACTIONS)),
    ))


def _simple(name: str, label: str, date_label: str, column: str,
            *extra: FieldSpec, repeating: bool = False) -> FormSpec:
    fields = ((_seq(),) if repeating else ()) + (_date("date", date_label, column=column),
                                                 *extra)
    return FormSpec(name, label, repeating, ("seq",) if repeating else (), "date", fields)


def _reasons(codes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((c, c.capitalize()) for c in codes)


def form_specs(protocol: Any) -> dict[str, FormSpec]:
    """The forms of ``protocol`` by name: ``baseline``, ``cycle``, ``tumour_assessment``,
    ``adverse_event``, ``surgery``, ``subsequent_therapy``, ``second_progression``,
    ``end_of_treatment`` (one per phase), ``follow_up`` (last known alive), ``death`` and
    ``end_of_study``. The cycle form holds the drugs of every arm (a form must not tell
    the arm of a masked subject); :class:`SubjectContext` narrows the dose check to the
    subject's arm when it is known."""
    phases = _phases(protocol)
    reasons = _reasons(tuple(c for c in DS_DECODES if c in ("COMPLETED", *DS_DISCONTINUATION)))
    forms = [
        _baseline(protocol),
        _cycle(protocol),
        _assessment(),
        _adverse_event(),
        _simple("surgery", "Surgery", "Date of surgery", "PRSTDTC",
                _f("procedure", "Procedure", "text", True, column="PRTRT"),
                _f("location", "Site", "text", column="PRLOC"), repeating=True),
        _simple("subsequent_therapy", "Subsequent anticancer therapy", "Start date", "CMSTDTC",
                _f("therapy", "Therapy", "text", True, column="CMTRT"),
                _f("line", "Line of therapy", "integer", True, minimum=2, column="CMSCAT",
                   help="2 = second line"),
                _date("end_date", "End date", required=False, column="CMENDTC"),
                repeating=True),
        _simple("second_progression", "Second progression", "Date of progression on the next "
                "line of therapy", "RSDTC"),
        FormSpec("end_of_treatment", "End of treatment phase", True, ("phase",), "date", (
            _f("phase", "Treatment phase", "choice", True, choices=tuple((p, p) for p in phases),
               column="EPOCH"),
            _date("date", "Date", column="DSSTDTC"),
            _f("reason", "Reason", "choice", True, choices=reasons,
               column="DSDECOD"))),
        _simple("follow_up", "Follow-up", "Date last known alive", "RFENDTC"),
        _simple("death", "Death", "Date of death", "DTHDTC",
                _f("cause", "Cause", "text", True, column="DSTERM")),
        _simple("end_of_study", "End of study", "Date", "DSSTDTC",
                _f("reason", "Reason", "choice", True, choices=reasons,
                   column="DSDECOD")),
    ]
    return {form.name: form for form in forms}


def record_key(spec: FormSpec, values: Mapping[str, Any]) -> str:
    """The key of a record of ``spec`` from its (validated) values: ``""`` for a form that
    does not repeat, else its key fields joined by ``:`` (``induction:3``, ``2``)."""
    if not spec.repeating:
        return ""
    missing = [k for k in spec.key_fields if values.get(k) in (None, "")]
    if missing:
        raise InputError(f"{missing[0]}: required for the key of a {spec.name} record",
                         field=missing[0])
    return ":".join(str(values[k]) for k in spec.key_fields)
