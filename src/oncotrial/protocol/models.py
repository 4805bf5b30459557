"""The protocol file: the :class:`Protocol` model, its cross-section validation and loading.

A protocol is plain data (YAML) so that the trial which is designed, randomised, run and
analysed is the *same* trial everywhere, and so that a reviewer can read it without reading
code. The sections are modelled in their own modules (:mod:`.population`,
:mod:`.treatment`, :mod:`.assessments`, :mod:`.endpoints`, :mod:`.design_spec`).
Validation runs in two passes: pydantic checks the structure of each section, then
:meth:`Protocol._cross_check` checks references between sections (a rule on an undeclared
field, a block size that is not a multiple of the allocation ratios...), which can only run
once every section is well formed. Both kinds of error are reported through
:class:`ProtocolError` as ``dotted.path[index]: problem`` lines.

The protocol is the lowest layer of oncotrial above :mod:`oncotrial.core`: it imports
nothing else from the package, so design, randomisation and analysis can all depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from oncotrial.core.errors import InputError
from oncotrial.core.specfile import Issues, format_errors, load_yaml, read_source
from oncotrial.protocol import dosing, eligibility, schedule
from oncotrial.protocol.assessments import Assessments
from oncotrial.protocol.base import (
    Issue,
    PositiveInt,
    PositiveNumber,
    ProtocolError,
    SchemaModel,
    Text,
    level_key,
)
from oncotrial.protocol.design_spec import DesignSpec
from oncotrial.protocol.endpoints import Endpoint, EndpointAnalysis
from oncotrial.protocol.lay import LaySummary
from oncotrial.protocol.population import (
    Arm,
    Criterion,
    FieldSpec,
    Randomisation,
    StratificationFactor,
)
from oncotrial.protocol.reporting import Reporting
from oncotrial.protocol.treatment import Dosing, Regimen

if TYPE_CHECKING:
    import pandas as pd

    from oncotrial.protocol.dosing import DoseRow
    from oncotrial.protocol.eligibility import EligibilityResult

__all__ = ["SCHEMA_VERSION", "AdverseEvents", "Analysis", "Protocol", "ProtocolError",
           "SafetyPopulation", "bundled_protocols", "protocol_errors"]

#: the version of the protocol schema this oncotrial reads
SCHEMA_VERSION: Literal[1] = 1


class Analysis(SchemaModel):
    """Analysis conventions: software defaults to mimic, landmarks, time unit, adjustment."""

    convention: Literal["sas", "r"] = Field(description="Whose defaults (ties, CI) to "
                                                        "reproduce: SAS or R.")
    time_unit: Literal["days", "weeks", "months", "years"] = Field(
        description="Unit of every time in the design and the analyses.")
    landmarks: list[PositiveNumber] = Field(default=[], description="Default Kaplan-Meier "
                                                            "landmark times.")
    adjust_for: list[str] = Field(default=[], description="Stratification factors of the stratified "
                                                  "analyses (default strata of end points).")
    efficacy_population: str | None = Field(default=None, description="Free text: who is analysed.")


class AdverseEvents(SchemaModel):
    """How adverse events are graded and over which window."""

    ctcae_version: Text = Field(description='CTCAE version, e.g. "5.0".')
    window: Text = Field(description="Free text: the reporting window.")
    meddra_version: Text | None = Field(default=None, description='MedDRA version the events are coded '
                                        'with, e.g. "26.1"; omitted: the tables say it is not stated.')


class SafetyPopulation(SchemaModel):
    """Who is in the safety population: text plus the machine-checkable minimum cycles."""

    text: Text = Field(description="Definition, as in the protocol.")
    min_cycles: PositiveInt = Field(description="Cycles received to be in the population.")


class Protocol(SchemaModel):
    """A complete, validated trial protocol.

    Build it with :meth:`load` (a bundled name such as ``"gastric_example"`` or a YAML path) or
    :meth:`from_dict`; both raise :class:`ProtocolError` listing every problem.
    """

    schema_version: Literal[1] = Field(default=1, description="Version of the protocol "
                                                                   "schema (1).")
    id: Text = Field(description="Short trial identifier (ADSL STUDYID).")
    title: Text = Field(description="Full title.")
    registry: Text | None = Field(default=None, description="Registry number (e.g. NCT...), if any.")
    phase: Literal[1, 2, 3, 4] = Field(description="Trial phase.")
    sponsor: Text = Field(description="Sponsor.")
    note: str | None = Field(default=None, description="Free text shown with the title (e.g. that "
                                               "the protocol is an example).")
    arms: Annotated[list[Arm], Field(min_length=2)] = Field(
        description="Two or more arms, exactly one control.")
    stratification: list[StratificationFactor] = Field(default=[], description="Stratification "
                                                                       "factors.")
    randomisation: Randomisation = Field(description="Allocation method and settings.")
    fields: dict[str, FieldSpec] = Field(default={}, description="Patient fields, by name.")
    eligibility: list[Criterion] = Field(default=[], description="Eligibility criteria.")
    regimens: dict[str, Regimen] = Field(description="Treatment of each arm, by arm code.")
    dosing: Dosing = Field(default=Dosing(), description="Plausible body measurements.")
    assessments: Assessments = Field(description="Tumour-assessment schedule and rules.")
    endpoints: Annotated[list[Endpoint], Field(min_length=1)] = Field(
        description="End points, exactly one primary.")
    design: DesignSpec = Field(description="Sample-size design.")
    analysis: Analysis = Field(description="Analysis conventions.")
    adverse_events: AdverseEvents = Field(description="Adverse-event grading.")
    safety_population: SafetyPopulation = Field(description="Safety population.")
    reporting: Reporting = Reporting()
    lay_summary: LaySummary | None = Field(default=None, description="Plain-language facts for the lay "
                                                                     "summary (EU CTR 536/2014 Annex V).")

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
        """Load a bundled protocol by name (``"gastric_example"``) or a YAML file by path."""
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
    def experimental_arms(self) -> list[Arm]:
        """The experimental arms, in protocol order (each is compared with control)."""
        return [a for a in self.arms if a.role == "experimental"]

    @property
    def experimental(self) -> Arm:
        """The experimental arm of a two-arm trial (InputError when there are several)."""
        arms = self.experimental_arms
        if len(arms) > 1:
            raise InputError(f"arm: this trial has {len(arms)} experimental arms "
                             f"({', '.join(a.code for a in arms)}); name one", field="arm")
        return arms[0]

    def factor(self, name: str) -> StratificationFactor:
        """The stratification factor called ``name``."""
        for factor in self.stratification:
            if factor.name == name:
                return factor
        raise InputError(f"factor: expected one of "
                         f"{', '.join(f.name for f in self.stratification) or 'none'}, "
                         f"got {name!r}", field="factor")

    def endpoint(self, name: str) -> Endpoint:
        """The end point called ``name`` (its PARAMCD)."""
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise InputError(f"endpoint: expected one of "
                         f"{', '.join(e.name for e in self.endpoints)}, got {name!r}",
                         field="endpoint")

    @property
    def subgroup_names(self) -> list[str]:
        """Names an end point's ``analysis.subgroups`` may use: the keys of
        ``reporting.subgroups``, else the stratification factors (the report's default
        forest-plot subgroups)."""
        if self.reporting.subgroups is not None:
            return list(self.reporting.subgroups)
        return [f.name for f in self.stratification]

    @property
    def primary_endpoint(self) -> Endpoint:
        return next(e for e in self.endpoints if e.role == "primary")

    def endpoint_analysis(self, name: str) -> EndpointAnalysis:
        """The analysis of end point ``name`` with every default filled in: strata from
        ``analysis.adjust_for``, a stratified model and test when there are strata, the
        design's sidedness for the primary end point (2 otherwise), landmarks from
        ``analysis.landmarks``."""
        endpoint = self.endpoint(name)
        given = endpoint.analysis or EndpointAnalysis()
        strata = given.strata if given.strata is not None else list(self.analysis.adjust_for)
        primary = endpoint.role == "primary" and endpoint.name == self.design.endpoint
        return given.model_copy(update={
            "strata": strata,
            "model": given.model or ("stratified_cox" if strata else "cox"),
            "test": given.test or ("stratified_logrank" if strata else "logrank"),
            "sided": given.sided or (self.design.sided if primary else 2),
            "landmarks": (list(given.landmarks) if given.landmarks is not None
                          else list(self.analysis.landmarks)),
        })

    # -- behaviour -----------------------------------------------------------------------

    def allocation_ratio(self, arm: str | None = None) -> float:
        """Experimental:control allocation of ``arm`` (default: the experimental arm)."""
        experimental = self.experimental if arm is None else self.arm(arm)
        if experimental.role != "experimental":
            raise InputError(f"arm: {experimental.code} is the control arm; name an "
                             f"experimental arm", field="arm")
        return experimental.ratio / self.control.ratio

    def design_inputs(self, arm: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``oncotrial.design.survival_sample_size``: the design of
        ``arm`` (default: the experimental arm) against control.

        ``allocation_ratio`` is experimental:control, from the arms' ratios. Accrual
        intensities, the hazard ratio and dropout appear only when the protocol gives them.
        With a group-sequential design pass
        ``design=group_sequential(**protocol.group_sequential_inputs())`` and leave out
        ``alpha``, ``sided`` and ``power``, which the design then carries.
        """
        d = self.design
        out: dict[str, Any] = {"median_control": d.median_control}
        if d.median_experimental is not None:
            out["median_experimental"] = d.median_experimental
        else:
            out["hazard_ratio"] = d.hazard_ratio
        out |= {"alpha": d.alpha, "sided": d.sided, "power": d.power,
                "allocation_ratio": self.allocation_ratio(arm)}
        if d.accrual.duration is not None:
            out["accrual_time"] = d.accrual.duration
        else:
            out["accrual_time"] = list(d.accrual.time or [])
            out["accrual_intensity"] = list(d.accrual.intensity or [])
        out["follow_up"] = d.follow_up
        if d.dropout is not None:
            out |= {"dropout_rate": d.dropout.rate, "dropout_time": d.dropout.time}
        out |= {"not_randomised": d.not_randomised, "method": d.method,
                "rounding": d.rounding}
        return out

    def group_sequential_inputs(self) -> dict[str, Any] | None:
        """Keyword arguments for ``oncotrial.design.group_sequential``; None for a fixed
        design (one look)."""
        d = self.design
        if d.looks == 1:
            return None
        out: dict[str, Any] = {"k": d.looks, "alpha": d.alpha, "sided": d.sided,
                               "beta": round(1 - d.power, 12), "type": d.spending}
        for key in ("information_rates", "gamma", "futility", "futility_gamma"):
            if getattr(d, key) is not None:
                out[key] = getattr(d, key)
        return out

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
                 end_date: date | None = None,
                 horizon_months: int = 60) -> pd.DataFrame:
        """Planned cycle starts and tumour assessments (see :mod:`.schedule`)."""
        return schedule.plan(self, arm, randomisation_date, cycle_delays=cycle_delays,
                             cycles=cycles, progression_date=progression_date,
                             end_date=end_date, horizon_months=horizon_months)

    # -- cross-section validation --------------------------------------------------------

    @model_validator(mode="after")
    def _cross_check(self) -> Protocol:
        issues: list[Issue] = []
        issues += self._check_arms()
        issues += self._check_strata()
        issues += eligibility.rule_issues(self)
        issues += self._check_regimens()
        issues += self._check_outputs()
        issues += self._check_design()
        if issues:
            raise Issues(issues)
        return self

    def _check_arms(self) -> list[Issue]:
        issues: list[Issue] = []
        codes = [a.code for a in self.arms]
        for i, code in enumerate(codes):
            if code in codes[:i]:
                issues.append((("arms", i, "code"), f"duplicate arm code {code!r}"))
        n = sum(a.role == "control" for a in self.arms)
        if n != 1:
            issues.append((("arms",), f"exactly one arm must have role 'control', got {n}"))
        total = sum(a.ratio for a in self.arms)
        ratios = ":".join(str(a.ratio) for a in self.arms)
        for i, size in enumerate(self.randomisation.block_sizes or []):
            if size % total:
                issues.append((("randomisation", "block_sizes", i),
                               f"{size} is not a multiple of the allocation ratio sum "
                               f"{total} ({':'.join(codes)} = {ratios})"))
        return issues

    def _check_strata(self) -> list[Issue]:
        issues: list[Issue] = []
        names = [f.name for f in self.stratification]
        for i, factor in enumerate(self.stratification):
            if factor.name in names[:i]:
                issues.append((("stratification", i, "name"),
                               f"duplicate stratification factor {factor.name!r}"))
            spec = self.fields.get(factor.name)
            keys = [level_key(v) for v in factor.levels]
            shown = ", ".join(map(str, factor.levels))
            if spec is None:
                issues.append((("fields",), f"stratification factor {factor.name!r} must "
                                            f"be declared as a field"))
            elif spec.type == "number":
                if not all(isinstance(v, int) for v in factor.levels):
                    issues.append((("stratification", i, "levels"),
                                   f"a number field's levels are whole numbers, got {shown}"))
            elif spec.type != "category" or [level_key(v) for v in spec.levels or []] != keys:
                issues.append((("fields", factor.name),
                               f"must be a category with the stratification levels "
                               f"[{shown}] (or a number field), got {spec.type} "
                               f"{spec.levels or ''}".rstrip()))
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

    def _check_regimens(self) -> list[Issue]:
        codes = [a.code for a in self.arms]
        issues: list[Issue] = [
            (("regimens", key), f"not an arm code ({', '.join(codes)})")
            for key in self.regimens if key not in codes]
        issues += [(("regimens",), f"no regimen for arm {code!r}")
                   for code in codes if code not in self.regimens]
        phases = {name for regimen in self.regimens.values() for name in regimen.phase_names}
        for i, seg in enumerate(self.assessments.segments):
            if seg.until is not None and seg.until != "end_of_treatment" \
                    and seg.until.removeprefix("end_of_") not in phases:
                issues.append((("assessments", "segments", i, "until"),
                               f"{seg.until!r} names no phase (phases: "
                               f"{', '.join(sorted(phases))})"))
        return issues

    def _check_outputs(self) -> list[Issue]:
        issues: list[Issue] = []
        names = [e.name for e in self.endpoints]
        factors = [f.name for f in self.stratification]
        for i, name in enumerate(names):
            if name in names[:i]:
                issues.append((("endpoints", i, "name"), f"duplicate end point {name!r}"))
        primary = sum(e.role == "primary" for e in self.endpoints)
        if primary != 1:
            issues.append((("endpoints",), f"exactly one end point must be primary, "
                                           f"got {primary}"))
        for i, endpoint in enumerate(self.endpoints):
            given = endpoint.analysis
            if given is None:
                continue
            loc: tuple[str | int, ...] = ("endpoints", i, "analysis")
            for j, name in enumerate(given.strata or []):
                if name not in factors:
                    issues.append((loc + ("strata", j), f"{name!r} is not a stratification "
                                                        f"factor ({', '.join(factors) or 'none'})"))
            defined = ", ".join(self.subgroup_names) or "none"
            where = (f"of reporting.subgroups ({defined})" if self.reporting.subgroups is not None
                     else f"(without reporting.subgroups, the subgroups are the stratification "
                          f"factors: {defined})")
            issues += [(loc + ("subgroups", j), f"{name!r} is not a subgroup {where}")
                       for j, name in enumerate(given.subgroups) if name not in self.subgroup_names]
            strata = given.strata if given.strata is not None else self.analysis.adjust_for
            for key in ("model", "test"):
                value = getattr(given, key)
                if value in ("stratified_cox", "adjusted_cox", "stratified_logrank") \
                        and not strata:
                    issues.append((loc + (key,), f"{value} needs strata (analysis.strata or "
                                                 f"analysis.adjust_for), there are none"))
        return issues

    def _check_design(self) -> list[Issue]:
        issues: list[Issue] = []
        d = self.design
        names = [e.name for e in self.endpoints]
        if d.endpoint not in names:
            issues.append((("design", "endpoint"), f"{d.endpoint!r} is not an end "
                                                   f"point ({', '.join(names)})"))
        elif self.endpoint(d.endpoint).kind != "time_to_event":
            issues.append((("design", "endpoint"), f"{d.endpoint!r} is not a time_to_event "
                                                   f"end point"))
        controls = sum(a.role == "control" for a in self.arms)
        if d.allocation_ratio is not None and controls == 1:
            ratios = {a.code: a.ratio / self.control.ratio for a in self.experimental_arms}
            wrong = {c: r for c, r in ratios.items() if abs(r - d.allocation_ratio) > 1e-12}
            if wrong:
                issues.append((("design", "allocation_ratio"),
                               f"{d.allocation_ratio:g} disagrees with the arms' ratios "
                               f"(experimental:control = "
                               f"{', '.join(f'{c} {r:g}' for c, r in wrong.items())})"))
        return issues


# ----------------------------------------------------------------------------- files

def bundled_protocols() -> list[str]:
    """Names of the protocols shipped with oncotrial (``Protocol.load(name)``)."""
    folder = resources.files("oncotrial") / "protocols"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read(name_or_path: str | Path) -> tuple[str, str]:
    return read_source(name_or_path, folder="protocols", kind="protocol",
                       bundled=bundled_protocols, error=ProtocolError)


def protocol_errors(name_or_path: str | Path) -> list[str]:
    """Every problem of a protocol (a bundled name or a YAML file, as :meth:`Protocol.load`
    reads them) as ``path: message`` lines; empty if it is valid."""
    try:
        Protocol.load(name_or_path)
    except ProtocolError as exc:
        return exc.errors
    return []
