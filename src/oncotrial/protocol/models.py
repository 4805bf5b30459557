"""The protocol file: pydantic models of a trial protocol, its validation and loading.

A protocol is plain data (YAML) so that the trial which is designed, randomised, run and
analysed is the *same* trial everywhere, and so that a reviewer can read it without reading
code. Every model forbids unknown keys: a typo (``ratoi: 1``) is an error, never a silently
ignored setting. Validation runs in two passes: pydantic checks the structure of each
section, then :meth:`Protocol._cross_check` checks references between sections (a rule on
an undeclared field, a block size that is not a multiple of the allocation ratios...), which
can only run once every section is well formed. Both kinds of error are reported through
:class:`ProtocolError` as ``dotted.path[index]: problem`` lines.

The protocol is the lowest layer of oncotrial above :mod:`oncotrial.core`: it imports
nothing else from the package, so design, randomisation and analysis can all depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from oncotrial.core.errors import InputError, SpecError
from oncotrial.core.specfile import Issues, format_errors, load_yaml, not_bool, read_source
from oncotrial.protocol import dosing, eligibility, schedule
from oncotrial.protocol.reporting import Reporting

if TYPE_CHECKING:
    import pandas as pd

    from oncotrial.protocol.dosing import DoseRow
    from oncotrial.protocol.eligibility import EligibilityResult

#: units a dose may be written in; the per-m2 and per-kg units are scaled by the patient
DOSE_UNITS = ("mg/m2", "ug/m2", "mg", "ug", "mg/kg")
PHASES = ("induction", "maintenance")
FIELD_TYPES = ("number", "boolean", "category", "date")
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_true", "is_false")


class ProtocolError(SpecError):
    """An invalid protocol. ``errors`` lists every problem as ``path: message``."""

    kind = "protocol"


# ----------------------------------------------------------------------------- scalar types

def _positive(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive number, got {value!r}")
    return value


def _positive_int(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Number = Annotated[float, BeforeValidator(not_bool)]
PositiveNumber = Annotated[float, BeforeValidator(not_bool), AfterValidator(_positive)]
PositiveInt = Annotated[int, Strict(), AfterValidator(_positive_int)]
Text = Annotated[str, AfterValidator(_non_empty)]
Source = Literal["protocol", "assumption"]


def _unique(items: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"duplicate {what} {item!r}")
        seen.add(item)
    return items


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ----------------------------------------------------------------------------- sections

class Arm(_Model):
    """A treatment arm; ``ratio`` is its share of the allocation (1:1 -> 1 and 1)."""

    code: Text
    label: Text
    ratio: PositiveInt
    role: Literal["control", "experimental"]


class Factor(_Model):
    """A stratification factor and its levels, as recorded at randomisation."""

    name: Text
    label: str | None = None
    levels: Annotated[list[Text], Field(min_length=2)]

    @field_validator("levels")
    @classmethod
    def _distinct(cls, levels: list[str]) -> list[str]:
        return _unique(levels, "level")


class Minimisation(_Model):
    """Pocock-Simon minimisation: factor weights, probability of the preferred arm, metric."""

    weights: dict[str, PositiveNumber]
    p: Number
    imbalance: Literal["range", "variance"] = "range"

    @field_validator("p")
    @classmethod
    def _p(cls, p: float) -> float:
        if not 0.5 < p <= 1:
            raise ValueError(f"must be in (0.5, 1], got {p!r}")
        return p


class Randomisation(_Model):
    """How arms are allocated; the strata are the stratification factors."""

    method: Literal["blocks", "minimisation", "simple"]
    system: str | None = None
    block_sizes: list[PositiveInt] | None = None
    minimisation: Minimisation | None = None

    @model_validator(mode="after")
    def _settings_match_method(self) -> Randomisation:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        if self.method == "blocks" and not self.block_sizes:
            issues.append((("block_sizes",), "method 'blocks' needs at least one block size"))
        if self.method != "blocks" and self.block_sizes is not None:
            issues.append((("block_sizes",), f"only used by method 'blocks', "
                                             f"not {self.method!r}"))
        if self.method == "minimisation" and self.minimisation is None:
            issues.append((("minimisation",), "method 'minimisation' needs a "
                                              "'minimisation' section"))
        if self.method != "minimisation" and self.minimisation is not None:
            issues.append((("minimisation",), f"only used by method 'minimisation', "
                                              f"not {self.method!r}"))
        if self.block_sizes:
            for i, size in enumerate(self.block_sizes):
                if size in self.block_sizes[:i]:
                    issues.append((("block_sizes", i), f"duplicate block size {size}"))
        if issues:
            raise Issues(issues)
        return self


class FieldSpec(_Model):
    """A patient field that eligibility rules may test; categories declare their levels."""

    type: Literal["number", "boolean", "category", "date"]
    levels: list[Text] | None = None
    unit: str | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _levels_for_categories(self) -> FieldSpec:
        if self.type == "category" and not self.levels:
            raise Issues([(("levels",), "a category field must declare its levels")])
        if self.type != "category" and self.levels is not None:
            raise Issues([(("levels",), f"only a category field has levels, "
                                         f"not a {self.type} field")])
        if self.levels:
            _unique(self.levels, "level")
        return self


class Rule(_Model):
    """One machine-checkable condition, or an ``all``/``any`` group of rules.

    A condition is ``field op value`` (``value`` is omitted for ``is_true``/``is_false``;
    it is a list for ``in``/``not_in``). A rule states what must hold for the patient to
    be eligible, so an exclusion criterion is written as its negation
    (``cns_metastases is_false``).
    """

    text: str | None = None
    field: str | None = None
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in",
                "is_true", "is_false"] | None = None
    value: Any = None
    all: list[Rule] | None = None
    any: list[Rule] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        forms = [self.field is not None, self.all is not None, self.any is not None]
        if sum(forms) != 1:
            raise ValueError("a rule needs exactly one of 'field' (with 'op'), "
                             "'all' or 'any'")
        if self.field is not None and self.op is None:
            raise Issues([(("op",), f"a rule on field {self.field!r} needs an 'op' "
                                     f"(one of {', '.join(OPS)})")])
        if self.field is None and (self.op is not None or self.value is not None):
            raise ValueError("'op' and 'value' belong to a rule with a 'field'")
        for key in ("all", "any"):
            group = getattr(self, key)
            if group is not None and not group:
                raise Issues([((key,), "a group needs at least one rule")])
        return self


class Criterion(Rule):
    """An eligibility criterion: an identified, worded :class:`Rule`."""

    id: Text
    text: Text
    kind: Literal["inclusion", "exclusion"] = "inclusion"


class Reduction(_Model):
    """Permitted dose-reduction levels: ``levels[0]`` is level -1, ``levels[1]`` level -2.

    ``kind: dose`` gives the reduced dose in the drug's unit; ``kind: percent`` a percentage
    of the full dose. ``source: assumption`` marks levels not taken from the protocol text.
    """

    kind: Literal["dose", "percent"]
    levels: Annotated[list[PositiveNumber], Field(min_length=1)]
    source: Source = "protocol"

    @model_validator(mode="after")
    def _decreasing(self) -> Reduction:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for i in range(1, len(self.levels)):
            if self.levels[i] >= self.levels[i - 1]:
                issues.append((("levels", i), f"level {-(i + 1)} ({self.levels[i]:g}) must "
                                              f"be below level {-i} ({self.levels[i - 1]:g})"))
        if self.kind == "percent" and self.levels[0] >= 100:
            issues.append((("levels", 0), f"a reduction must be below 100 %, "
                                          f"got {self.levels[0]:g}"))
        if issues:
            raise Issues(issues)
        return self


class Drug(_Model):
    """One drug of a phase: dose per unit, route, infusion time and days of the cycle."""

    drug: Text
    dose: PositiveNumber
    unit: Literal["mg/m2", "ug/m2", "mg", "ug", "mg/kg"]
    route: Literal["IV", "SC", "PO", "IM"]
    infusion_minutes: Annotated[list[PositiveNumber], Field(min_length=1, max_length=2)] | None = None
    days: Annotated[list[PositiveInt], Field(min_length=1)]
    reductions: Reduction | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Drug:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        if any(b <= a for a, b in zip(self.days, self.days[1:])):
            issues.append((("days",), f"days must be strictly increasing, got {self.days}"))
        if self.infusion_minutes is not None and self.infusion_minutes != sorted(
                self.infusion_minutes):
            issues.append((("infusion_minutes",), f"a range is [shortest, longest], "
                                                  f"got {self.infusion_minutes}"))
        if (self.reductions is not None and self.reductions.kind == "dose"
                and self.reductions.levels[0] >= self.dose):
            issues.append((("reductions", "levels", 0),
                           f"level -1 ({self.reductions.levels[0]:g} {self.unit}) must be "
                           f"below the full dose {self.dose:g} {self.unit}"))
        if issues:
            raise Issues(issues)
        return self


class Phase(_Model):
    """Induction or maintenance: cycle length, number of cycles and what is given."""

    cycle_length_days: PositiveInt
    max_cycles: PositiveInt
    continue_if: Literal["no_progression"] | None = None
    drugs: Annotated[list[Drug], Field(min_length=1)]
    supportive_care: list[Drug] = []

    @model_validator(mode="after")
    def _days_in_cycle(self) -> Phase:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for key in ("drugs", "supportive_care"):
            for i, drug in enumerate(getattr(self, key)):
                late = [d for d in drug.days if d > self.cycle_length_days]
                if late:
                    issues.append(((key, i, "days"), f"day(s) {late} fall outside the "
                                                     f"{self.cycle_length_days}-day cycle"))
        names = [d.drug for d in self.drugs]
        for i, name in enumerate(names):
            if name in names[:i]:
                issues.append((("drugs", i, "drug"), f"duplicate drug {name!r}"))
        if issues:
            raise Issues(issues)
        return self


class Regimen(_Model):
    """The treatment of one arm: induction, optional maintenance, free-text notes."""

    induction: Phase
    maintenance: Phase | None = None
    notes: list[str] = []

    def phase(self, name: str) -> Phase:
        if name not in PHASES:
            raise InputError(f"phase: expected one of {', '.join(PHASES)}, got {name!r}",
                             field="phase")
        found = getattr(self, name)
        if found is None:
            raise InputError(f"phase: this arm has no {name} phase", field="phase")
        return found


class Duration(_Model):
    """A positive whole number of days, weeks or months (exactly one of them)."""

    days: Annotated[int, Strict()] | None = None
    weeks: Annotated[int, Strict()] | None = None
    months: Annotated[int, Strict()] | None = None

    @model_validator(mode="after")
    def _one_positive(self) -> Duration:
        given = {k: v for k, v in (("days", self.days), ("weeks", self.weeks),
                                   ("months", self.months)) if v is not None}
        if len(given) != 1:
            raise ValueError(f"a duration is exactly one of days, weeks or months, "
                             f"got {given or 'none'}")
        (unit, value), = given.items()
        if value <= 0:
            raise ValueError(f"must be a positive duration, got {value} {unit}")
        return self

    @property
    def approx_days(self) -> float:
        """Length in days (a month counted as 365.25/12 days), for static checks only."""
        return self.days or (self.weeks or 0) * 7 or (self.months or 0) * 365.25 / 12

    def __str__(self) -> str:
        for unit in ("days", "weeks", "months"):
            if getattr(self, unit) is not None:
                return f"{getattr(self, unit)} {unit}"
        raise AssertionError("unreachable: validated duration")


class Segment(_Model):
    """Assessments every ``every`` until an end: ``until`` a treatment milestone,
    ``until_time`` after randomisation, ``for`` a duration, or none (open-ended)."""

    label: str | None = None
    every: Duration
    until: Literal["end_of_induction", "end_of_treatment"] | None = None
    until_time: Duration | None = None
    for_: Duration | None = Field(default=None, alias="for")
    source: Source = "protocol"

    @model_validator(mode="after")
    def _one_end(self) -> Segment:
        ends = [k for k, v in (("until", self.until), ("until_time", self.until_time),
                               ("for", self.for_)) if v is not None]
        if len(ends) > 1:
            raise ValueError(f"a segment ends in one way, got {', '.join(ends)}")
        if self.for_ is not None and self.for_.approx_days < self.every.approx_days:
            raise Issues([(("for",), f"the segment never advances: it lasts {self.for_}, "
                                      f"less than its interval of {self.every}")])
        return self

    @property
    def open_ended(self) -> bool:
        return self.until is None and self.until_time is None and self.for_ is None


class ResponseRules(_Model):
    """How tumour assessments become analysis data: the SAP choices RECIST 1.1 and the FDA
    guidance leave to the protocol.

    * ``confirmation``: a CR/PR counts for the best overall response only when confirmed by
      a second assessment at least ``confirmation_days`` later (RECIST 1.1 §4.4, required
      in single-arm trials, optional in randomised ones); confirmed responders then define
      the DOR population.
    * ``min_sd_days``: minimum time from randomisation for SD to count as best response
      (RECIST 1.1 §4.4 "protocol-defined"; admiralonco's example uses 42 days, a 6-weekly
      schedule minus a one-week window gives 35).
    * ``missed_assessments``: an event after this many consecutive missed scheduled
      assessments is censored at the last adequate assessment (FDA 2018 table, row P9);
      ``None`` counts every event at its observed date (the EMA primary analysis).
    * ``window_days``: a scheduled assessment counts as done when an assessment falls within
      this many days of it.
    """

    confirmation: bool = False
    confirmation_days: PositiveInt = 28
    min_sd_days: Annotated[int, Strict(), Field(ge=0)] = 35
    missed_assessments: PositiveInt | None = 2
    window_days: Annotated[int, Strict(), Field(ge=0)] = 7
    source: Source = "protocol"


class Assessments(_Model):
    """The tumour-assessment schedule, counted from randomisation (see ``schedule``), and
    the response/censoring rules applied to the assessments (``response``)."""

    criteria: Text
    central_review: bool = False
    segments: Annotated[list[Segment], Field(min_length=1)]
    end: Duration | None = None
    stop_at: list[str] = []
    response: ResponseRules = ResponseRules()

    @model_validator(mode="after")
    def _ends(self) -> Assessments:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        last = len(self.segments) - 1
        for i, seg in enumerate(self.segments):
            if seg.open_ended and i < last:
                issues.append((("segments", i), f"the segment never ends (it has no "
                                                f"'until', 'until_time' or 'for'), so "
                                                f"segment(s) {i + 1}..{last} are never "
                                                f"reached"))
        if not self.segments[last].open_ended and self.end is None:
            issues.append((("segments", last), "the schedule must end with an open-ended "
                                               "segment or declare an 'end'"))
        previous = None
        for i, seg in enumerate(self.segments):
            if seg.until_time is not None:
                if previous is not None and seg.until_time.approx_days <= previous[1]:
                    issues.append((("segments", i, "until_time"),
                                   f"the segment never advances: it ends at "
                                   f"{seg.until_time}, not after segment {previous[0]} "
                                   f"({self.segments[previous[0]].until_time})"))
                previous = (i, seg.until_time.approx_days)
        if issues:
            raise Issues(issues)
        return self


class Endpoint(_Model):
    """An end point as the protocol defines it (text: the analysis reads the definition)."""

    name: Text
    role: Literal["primary", "secondary"]
    kind: Literal["time_to_event", "binary", "safety"]
    definition: Text
    events: list[str] = []
    censoring: str | None = None
    assessed_by: str | None = None


class DesignInputs(_Model):
    """Sample-size assumptions, stored as plain data (see :meth:`Protocol.design_inputs`)."""

    endpoint: Text
    median_control: PositiveNumber
    median_experimental: PositiveNumber
    alpha: Number
    sided: Literal[1, 2]
    power: Number
    accrual_time: PositiveNumber
    follow_up: PositiveNumber
    not_randomised: Number = 0.0
    method: Literal["schoenfeld", "freedman", "hsieh"] = "schoenfeld"
    rounding: Literal["nearest", "up"] = "nearest"
    software: str | None = None

    @model_validator(mode="after")
    def _fractions(self) -> DesignInputs:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        for key in ("alpha", "power"):
            value = getattr(self, key)
            if not 0 < value < 1:
                issues.append(((key,), f"must be in (0, 1), got {value!r}"))
        if not 0 <= self.not_randomised < 1:
            issues.append((("not_randomised",), f"must be in [0, 1), "
                                                f"got {self.not_randomised!r}"))
        if issues:
            raise Issues(issues)
        return self


class Analysis(_Model):
    """Analysis conventions: software defaults to mimic, landmarks, time unit, adjustment."""

    convention: Literal["sas", "r"]
    time_unit: Literal["days", "weeks", "months", "years"]
    landmarks: list[PositiveNumber] = []
    adjust_for: list[str] = []
    efficacy_population: str | None = None


class AdverseEvents(_Model):
    """How adverse events are graded and over which window."""

    ctcae_version: Text
    window: Text


class Dosing(_Model):
    """Plausible body measurements, ``[lowest, highest]``: a dose is computed only from a
    height and weight within them (defaults: adults, 100-250 cm and 20-350 kg)."""

    height_cm: Annotated[list[PositiveNumber], Field(min_length=2, max_length=2)] = \
        list(dosing.HEIGHT_CM)
    weight_kg: Annotated[list[PositiveNumber], Field(min_length=2, max_length=2)] = \
        list(dosing.WEIGHT_KG)

    @model_validator(mode="after")
    def _ordered(self) -> Dosing:
        issues: list[tuple[tuple[str | int, ...], str]] = [
            ((key,), f"a range is [lowest, highest], got {getattr(self, key)}")
            for key in ("height_cm", "weight_kg")
            if getattr(self, key)[0] >= getattr(self, key)[1]]
        if issues:
            raise Issues(issues)
        return self

    @property
    def height_range(self) -> tuple[float, float]:
        return self.height_cm[0], self.height_cm[1]

    @property
    def weight_range(self) -> tuple[float, float]:
        return self.weight_kg[0], self.weight_kg[1]


class SafetyPopulation(_Model):
    """Who is in the safety population: text plus the machine-checkable minimum cycles."""

    text: Text
    min_cycles: PositiveInt


# ----------------------------------------------------------------------------- protocol

class Protocol(_Model):
    """A complete, validated trial protocol.

    Build it with :meth:`load` (a bundled name such as ``"lms04"`` or a YAML path) or
    :meth:`from_dict`; both raise :class:`ProtocolError` listing every problem.
    """

    id: Text
    title: Text
    registry: Text
    phase: Literal[1, 2, 3, 4]
    sponsor: Text
    arms: Annotated[list[Arm], Field(min_length=2)]
    stratification: list[Factor] = []
    randomisation: Randomisation
    fields: dict[str, FieldSpec] = {}
    eligibility: list[Criterion] = []
    regimens: dict[str, Regimen]
    dosing: Dosing = Dosing()
    assessments: Assessments
    endpoints: Annotated[list[Endpoint], Field(min_length=1)]
    design: DesignInputs
    analysis: Analysis
    adverse_events: AdverseEvents
    safety_population: SafetyPopulation
    reporting: Reporting = Reporting()

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Protocol:
        """Validate a parsed protocol; raise :class:`ProtocolError` listing every error."""
        if not isinstance(data, Mapping):
            raise ProtocolError([f"<protocol>: must be a mapping of sections, "
                                 f"got {type(data).__name__}"], source)
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ProtocolError(format_errors(exc, kind="protocol"), source) from None

    @classmethod
    def load(cls, name_or_path: str | Path) -> Protocol:
        """Load a bundled protocol by name (``"lms04"``) or a YAML file by path."""
        text, source = _read(name_or_path)
        data = load_yaml(text, source=source, kind="protocol", error=ProtocolError)
        return cls.from_dict(data if data is not None else {}, source=source)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` turns back into an equal protocol."""
        return self.model_dump(by_alias=True, exclude_none=True)

    def __repr__(self) -> str:
        arms = ":".join(f"{a.code}" for a in self.arms)
        return (f"Protocol(id={self.id!r}, registry={self.registry!r}, arms={arms!r}, "
                f"strata={[f.name for f in self.stratification]!r}, "
                f"criteria={len(self.eligibility)})")

    __str__ = __repr__

    # -- lookups -------------------------------------------------------------------------

    def arm(self, code: str) -> Arm:
        for arm in self.arms:
            if arm.code == code:
                return arm
        raise InputError(f"arm: expected one of {', '.join(a.code for a in self.arms)}, "
                         f"got {code!r}", field="arm")

    def regimen(self, arm: str) -> Regimen:
        return self.regimens[self.arm(arm).code]

    @property
    def control(self) -> Arm:
        return next(a for a in self.arms if a.role == "control")

    @property
    def experimental(self) -> Arm:
        return next(a for a in self.arms if a.role == "experimental")

    # -- behaviour -----------------------------------------------------------------------

    def design_inputs(self) -> dict[str, Any]:
        """Keyword arguments for ``oncotrial.design.survival_sample_size``.

        ``allocation_ratio`` is experimental:control, from the arms' ratios.
        """
        d = self.design
        return {
            "median_control": d.median_control,
            "median_experimental": d.median_experimental,
            "alpha": d.alpha,
            "sided": d.sided,
            "power": d.power,
            "allocation_ratio": self.experimental.ratio / self.control.ratio,
            "accrual_time": d.accrual_time,
            "follow_up": d.follow_up,
            "not_randomised": d.not_randomised,
            "method": d.method,
            "rounding": d.rounding,
        }

    def check_eligibility(self, patient: Mapping[str, Any]) -> EligibilityResult:
        """Check a patient (field name -> value) against every criterion."""
        return eligibility.check(self, patient)

    def body_surface_area(self, height_cm: float, weight_kg: float,
                          method: str = "mosteller") -> float:
        """Body-surface area (m2, unrounded) with this protocol's plausible ranges
        (``dosing``) for height and weight."""
        return dosing.body_surface_area(height_cm, weight_kg, method,
                                        height_range=self.dosing.height_range,
                                        weight_range=self.dosing.weight_range)

    def doses(self, arm: str, phase: str, *, height_cm: float, weight_kg: float,
              dose_level: int | Mapping[str, int] = 0, bsa_cap: float | None = None,
              bsa_method: str = "mosteller", cycle: int = 1,
              bsa_decimals: int | None = 2,
              dose_decimals: int | None = 1) -> list[DoseRow]:
        """Doses of every drug (then supportive care) of ``arm``'s ``phase`` for a patient.

        See :func:`oncotrial.protocol.dosing.doses` for the rounding conventions.
        """
        return dosing.doses(self, arm, phase, height_cm=height_cm, weight_kg=weight_kg,
                            dose_level=dose_level, bsa_cap=bsa_cap, bsa_method=bsa_method,
                            cycle=cycle, bsa_decimals=bsa_decimals,
                            dose_decimals=dose_decimals)

    def schedule(self, arm: str, randomisation_date: date, *,
                 cycle_delays: Mapping[Any, int] | None = None,
                 cycles: Mapping[str, int] | None = None,
                 progression_date: date | None = None,
                 horizon_months: int = 60) -> pd.DataFrame:
        """Planned cycle starts and tumour assessments (see :mod:`.schedule`)."""
        return schedule.plan(self, arm, randomisation_date, cycle_delays=cycle_delays,
                             cycles=cycles, progression_date=progression_date,
                             horizon_months=horizon_months)

    # -- cross-section validation --------------------------------------------------------

    @model_validator(mode="after")
    def _cross_check(self) -> Protocol:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        issues += self._check_arms()
        issues += self._check_strata()
        issues += eligibility.rule_issues(self)
        issues += self._check_regimens()
        issues += self._check_outputs()
        if issues:
            raise Issues(issues)
        return self

    def _check_arms(self) -> list[tuple[tuple[str | int, ...], str]]:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        codes = [a.code for a in self.arms]
        for i, code in enumerate(codes):
            if code in codes[:i]:
                issues.append((("arms", i, "code"), f"duplicate arm code {code!r}"))
        for role in ("control", "experimental"):
            n = sum(a.role == role for a in self.arms)
            if n != 1:
                issues.append((("arms",), f"exactly one arm must have role {role!r}, "
                                          f"got {n}"))
        total = sum(a.ratio for a in self.arms)
        ratios = ":".join(str(a.ratio) for a in self.arms)
        for i, size in enumerate(self.randomisation.block_sizes or []):
            if size % total:
                issues.append((("randomisation", "block_sizes", i),
                               f"{size} is not a multiple of the allocation ratio sum "
                               f"{total} ({':'.join(codes)} = {ratios})"))
        return issues

    def _check_strata(self) -> list[tuple[tuple[str | int, ...], str]]:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        names = [f.name for f in self.stratification]
        for i, factor in enumerate(self.stratification):
            if factor.name in names[:i]:
                issues.append((("stratification", i, "name"),
                               f"duplicate stratification factor {factor.name!r}"))
            spec = self.fields.get(factor.name)
            if spec is None:
                issues.append((("fields",), f"stratification factor {factor.name!r} must "
                                            f"be declared as a category field"))
            elif spec.type != "category" or spec.levels != factor.levels:
                issues.append((("fields", factor.name),
                               f"must be a category with the stratification levels "
                               f"{factor.levels}, got {spec.type} {spec.levels or ''}".rstrip()))
        mini = self.randomisation.minimisation
        for key in (mini.weights if mini else {}):
            if key not in names:
                issues.append((("randomisation", "minimisation", "weights", key),
                               f"not a stratification factor ({', '.join(names) or 'none'})"))
        for i, key in enumerate(self.analysis.adjust_for):
            if key not in names:
                issues.append((("analysis", "adjust_for", i),
                               f"{key!r} is not a stratification factor "
                               f"({', '.join(names) or 'none'})"))
        return issues

    def _check_regimens(self) -> list[tuple[tuple[str | int, ...], str]]:
        codes = [a.code for a in self.arms]
        issues: list[tuple[tuple[str | int, ...], str]] = [
            (("regimens", key), f"not an arm code ({', '.join(codes)})")
            for key in self.regimens if key not in codes]
        issues += [(("regimens",), f"no regimen for arm {code!r}")
                   for code in codes if code not in self.regimens]
        return issues

    def _check_outputs(self) -> list[tuple[tuple[str | int, ...], str]]:
        issues: list[tuple[tuple[str | int, ...], str]] = []
        names = [e.name for e in self.endpoints]
        for i, name in enumerate(names):
            if name in names[:i]:
                issues.append((("endpoints", i, "name"), f"duplicate end point {name!r}"))
        primary = sum(e.role == "primary" for e in self.endpoints)
        if primary != 1:
            issues.append((("endpoints",), f"exactly one end point must be primary, "
                                           f"got {primary}"))
        if self.design.endpoint not in names:
            issues.append((("design", "endpoint"), f"{self.design.endpoint!r} is not an end "
                                                   f"point ({', '.join(names)})"))
        return issues


Rule.model_rebuild()
Criterion.model_rebuild()


# ----------------------------------------------------------------------------- files

def bundled_protocols() -> list[str]:
    """Names of the protocols shipped with oncotrial (``Protocol.load(name)``)."""
    folder = resources.files("oncotrial") / "protocols"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read(name_or_path: str | Path) -> tuple[str, str]:
    return read_source(name_or_path, folder="protocols", kind="protocol", bundled=bundled_protocols,
                       error=ProtocolError)


def protocol_errors(path: str | Path) -> list[str]:
    """Every problem of a protocol file as ``path: message`` lines; empty if it is valid."""
    try:
        Protocol.load(path)
    except ProtocolError as exc:
        return exc.errors
    return []
