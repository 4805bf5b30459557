"""The treatment of each arm: drugs, doses, phases of cycles, reductions, tablet strengths."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from oncotrial.core.errors import InputError
from oncotrial.core.specfile import Issues
from oncotrial.protocol import dosing
from oncotrial.protocol.base import Issue, PositiveInt, PositiveNumber, SchemaModel, Source, Text

__all__ = ["DOSE_UNITS", "ROUTES", "Dosing", "Drug", "Phase", "Reduction", "Regimen"]

#: units a dose may be written in; the per-m2 and per-kg units are scaled by the patient
DOSE_UNITS = ("mg/m2", "ug/m2", "mg", "ug", "mg/kg")
#: routes of administration: intravenous, subcutaneous, oral (per os), intramuscular
ROUTES = ("IV", "SC", "PO", "IM")
#: most tablet strengths a drug may list (the rounding enumerates their combinations)
MAX_STRENGTHS = 4


def _day_list(value: Any) -> Any:
    """``{from: 1, to: 14}`` as ``[1, 2, ..., 14]``; a list is kept as written."""
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        start, stop = value["from"], value["to"]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop)):
            if stop < start:
                raise ValueError(f"a day range runs from its first to its last day, "
                                 f"got from {start} to {stop}")
            return list(range(start, stop + 1))
        raise ValueError(f"a day range is {{from: first day, to: last day}} in whole days, "
                         f"got {value!r}")
    if isinstance(value, dict):
        raise ValueError(f"days are a list or {{from: first, to: last}}, got keys "
                         f"{sorted(value)}")
    return value


class Reduction(SchemaModel):
    """Permitted dose-reduction levels: ``levels[0]`` is level -1, ``levels[1]`` level -2.

    ``kind: dose`` gives the reduced dose in the drug's unit; ``kind: percent`` a percentage
    of the full dose. ``source: assumption`` marks levels not taken from the protocol text.
    """

    kind: Literal["dose", "percent"] = Field(description="Reduced doses in the drug's unit, "
                                                         "or percentages of the full dose.")
    levels: Annotated[list[PositiveNumber], Field(min_length=1)] = Field(
        description="Level -1, level -2, ... strictly decreasing.")
    source: Source = Field(default="protocol", description="``assumption`` when not from the "
                                                   "protocol text.")

    @model_validator(mode="after")
    def _decreasing(self) -> Reduction:
        issues: list[Issue] = []
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


class Drug(SchemaModel):
    """One drug of a phase: dose, unit, route, how often and on which days of the cycle.

    A flat dose is in ``mg`` or ``ug``; ``mg/m2``/``ug/m2`` and ``mg/kg`` are scaled by the
    patient's body-surface area or weight. The dose is per administration: capecitabine
    1000 mg/m2 twice daily on days 1-14 is ``dose: 1000, times_per_day: 2, days: {from: 1,
    to: 14}``. An oral drug with ``strengths`` is rounded to what the tablets can make
    (see :func:`oncotrial.protocol.dosing.tablets`).
    """

    drug: Text = Field(description="Drug name.")
    dose: PositiveNumber = Field(description="Full dose per administration, in ``unit``.")
    unit: Literal["mg/m2", "ug/m2", "mg", "ug", "mg/kg"] = Field(
        description="Flat (mg, ug) or scaled by body-surface area (per m2) or weight (per kg).")
    route: Literal["IV", "SC", "PO", "IM"] = Field(description="IV, SC, PO (oral) or IM.")
    infusion_minutes: Annotated[list[PositiveNumber],
                                Field(min_length=1, max_length=2)] | None = Field(
        default=None, description="Infusion time, or its range ``[shortest, longest]``.")
    days: Annotated[Annotated[list[PositiveInt], Field(min_length=1)],
                    BeforeValidator(_day_list)] = Field(
        description="Days of the cycle it is given: a list or ``{from: 1, to: 14}``.")
    times_per_day: PositiveInt = Field(default=1, description="Administrations per dosing day "
                                                      "(2 = twice daily).")
    strengths: list[PositiveNumber] | None = Field(
        default=None, description="Tablet or capsule strengths (oral drugs, in the absolute unit): "
                          "each dose is rounded to the nearest total they can make.")
    max_total_cycles: PositiveInt | None = Field(
        default=None, description="Cycles after which the drug stops, counted over all phases "
                          "(e.g. an antibody given for at most two years).")
    reductions: Reduction | None = Field(default=None, description="Permitted reduction levels.")

    @model_validator(mode="after")
    def _consistent(self) -> Drug:
        issues: list[Issue] = []
        if any(b <= a for a, b in zip(self.days, self.days[1:])):
            issues.append((("days",), f"days must be strictly increasing, got {self.days}"))
        if self.infusion_minutes is not None and self.infusion_minutes != sorted(
                self.infusion_minutes):
            issues.append((("infusion_minutes",), f"a range is [shortest, longest], "
                                                  f"got {self.infusion_minutes}"))
        if self.infusion_minutes is not None and self.route not in ("IV", "SC"):
            issues.append((("infusion_minutes",), f"only an IV or SC drug is infused, "
                                                  f"not a {self.route} drug"))
        if self.strengths is not None:
            if self.route != "PO":
                issues.append((("strengths",), f"tablet strengths belong to an oral (PO) "
                                               f"drug, not a {self.route} drug"))
            if not 1 <= len(self.strengths) <= MAX_STRENGTHS:
                issues.append((("strengths",), f"expected 1 to {MAX_STRENGTHS} strengths, "
                                               f"got {len(self.strengths)}"))
            for i, s in enumerate(self.strengths):
                if s in self.strengths[:i]:
                    issues.append((("strengths", i), f"duplicate strength {s:g}"))
        if (self.reductions is not None and self.reductions.kind == "dose"
                and self.reductions.levels[0] >= self.dose):
            issues.append((("reductions", "levels", 0),
                           f"level -1 ({self.reductions.levels[0]:g} {self.unit}) must be "
                           f"below the full dose {self.dose:g} {self.unit}"))
        if issues:
            raise Issues(issues)
        return self


class Phase(SchemaModel):
    """One phase of an arm's treatment: cycles of the same drugs.

    A phase ends after ``max_cycles`` cycles, or, open-ended, only when ``continue_if``
    fails (``no_progression``: until progression, death or withdrawal). Only the last phase
    of a regimen may be open-ended: a phase after it would never start.
    """

    name: Text = Field(description="Phase name, any word (induction, combination, "
                                   "maintenance, treatment...).")
    cycle_length_days: PositiveInt = Field(description="Days from one cycle to the next.")
    max_cycles: PositiveInt | None = Field(default=None, description="Most cycles of the phase; "
                                                             "omitted: until progression.")
    continue_if: Literal["no_progression"] | None = Field(
        default=None, description="Condition for the next cycle (``no_progression``).")
    drugs: Annotated[list[Drug], Field(min_length=1)] = Field(description="What is given.")
    supportive_care: list[Drug] = Field(default=[], description="Support, never dose-reduced.")

    @model_validator(mode="after")
    def _days_in_cycle(self) -> Phase:
        issues: list[Issue] = []
        if self.max_cycles is None and self.continue_if is None:
            issues.append((("max_cycles",), "a phase without max_cycles must say when it "
                                            "stops (continue_if: no_progression)"))
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

    @property
    def open_ended(self) -> bool:
        """True when the phase has no maximum number of cycles."""
        return self.max_cycles is None


class Regimen(SchemaModel):
    """The treatment of one arm: its phases in the order they are given, and notes."""

    phases: Annotated[list[Phase], Field(min_length=1)] = Field(
        description="Phases in order; each starts when the previous one ends.")
    notes: list[str] = Field(default=[], description="Free-text notes.")

    @model_validator(mode="after")
    def _ordered(self) -> Regimen:
        issues: list[Issue] = []
        names = self.phase_names
        for i, name in enumerate(names):
            if name in names[:i]:
                issues.append((("phases", i, "name"), f"duplicate phase {name!r}"))
        for i, phase in enumerate(self.phases[:-1]):
            if phase.open_ended:
                issues.append((("phases", i, "max_cycles"),
                               f"phase {phase.name!r} has no max_cycles, so the later "
                               f"phase(s) {', '.join(names[i + 1:])} would never start"))
        if issues:
            raise Issues(issues)
        return self

    @property
    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    def phase(self, name: str) -> Phase:
        """The phase called ``name`` (InputError naming the arm's phases otherwise)."""
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise InputError(f"phase: expected one of {', '.join(self.phase_names)}, got {name!r}",
                         field="phase")

    @property
    def induction(self) -> Phase:
        """The first phase (the view of a regimen as induction then maintenance)."""
        return self.phases[0]

    @property
    def maintenance(self) -> Phase | None:
        """The second phase, if any (the view of a regimen as induction then maintenance)."""
        return self.phases[1] if len(self.phases) > 1 else None


class Dosing(SchemaModel):
    """Plausible body measurements, ``[lowest, highest]``: a dose is computed only from a
    height and weight within them (defaults: adults, 100-250 cm and 20-350 kg)."""

    height_cm: Annotated[list[PositiveNumber], Field(min_length=2, max_length=2)] = Field(
        default=list(dosing.HEIGHT_CM), description="Plausible height range, cm.")
    weight_kg: Annotated[list[PositiveNumber], Field(min_length=2, max_length=2)] = Field(
        default=list(dosing.WEIGHT_KG), description="Plausible weight range, kg.")

    @model_validator(mode="after")
    def _ordered(self) -> Dosing:
        issues: list[Issue] = [
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
