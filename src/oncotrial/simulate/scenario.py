"""The scenario file: everything a patient-level replica needs beyond the protocol.

A protocol says what the trial *does* (arms, strata, regimens, assessment schedule); a
scenario says what *happens* to the patients: accrual, baseline characteristics, the
disease course, tumour response, treatment delivery, subsequent therapy and adverse
events, and the data cut-off. Bundled scenarios ship in ``oncotrial/scenarios/``, each
parameter commented with the published number it reproduces or marked as an assumption;
:func:`oncotrial.simulate.template.scenario_template` writes a documented start for any
protocol.

Validation mirrors the protocol file (:mod:`oncotrial.protocol.models`): unknown keys are
errors, pydantic checks each section, then cross-checks run against the protocol (arm codes)
and between sections, and every problem is reported at once through :class:`ScenarioError`
as ``dotted.path[index]: problem`` lines. Two kinds of target are *solved* here rather than
fitted by simulation, and an impossible one is reported, never silently approximated:

* survival landmarks of the progression-free time (with the median) must describe a
  decreasing survival curve: a 24-month rate at or above 0.5 with a 6-month median is an
  error, not a curve bent to fit;
* the objective response rate cannot exceed the share of patients still progression-free
  at the first scheduled assessment; the grade 3-4 incidence of any adverse event must lie
  between the largest single-term incidence and the incidence of independent terms;
  serious events cannot be more frequent than grade 3-4 ones; the single-metastasis share
  cannot exceed the share of patients with one metastatic site.

The solved quantities (piecewise-exponential hazards, response intercepts, the latent
toxicity correlation, site probabilities) are kept on the validated scenario as
:attr:`Scenario.fitted`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from oncotrial.core.errors import InputError, SpecError
from oncotrial.core.specfile import (
    Issues,
    Loc,
    format_errors,
    load_yaml,
    not_bool,
    path,
    read_source,
)
from oncotrial.protocol import Protocol, ProtocolError
from oncotrial.protocol.base import Number, PositiveInt, PositiveNumber, Text
from oncotrial.simulate.adverse_events import toxicity_loading
from oncotrial.simulate.baseline import site_probabilities
from oncotrial.simulate.disease import PiecewiseExponential
from oncotrial.simulate.tumours import response_intercept
from oncotrial.simulate.visits import DAYS_PER_MONTH, planned_assessments

__all__ = ["Scenario", "ScenarioError", "bundled_scenarios", "scenario_errors"]

Grade = Literal["1", "2", "3", "missing"]
Site = Literal["lung", "liver", "bone", "skin", "other"]
SITES: tuple[Site, ...] = ("lung", "liver", "bone", "skin", "other")


class ScenarioError(SpecError):
    """An invalid scenario. ``errors`` lists every problem as ``path: message``."""

    kind = "scenario"


def _path(loc: Loc) -> str:
    return path(loc, "<scenario>")


# ----------------------------------------------------------------------------- scalar types

def _probability(value: float) -> float:
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"must be a probability in [0, 1], got {value!r}")
    return value


def _open_probability(value: float) -> float:
    if not (math.isfinite(value) and 0 < value < 1):
        raise ValueError(f"must be in (0, 1), got {value!r}")
    return value


def _loading(value: float) -> float:
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ValueError(f"must be in [0, 1), got {value!r}")
    return value


Probability = Annotated[float, BeforeValidator(not_bool), AfterValidator(_probability)]
OpenProbability = Annotated[float, BeforeValidator(not_bool), AfterValidator(_open_probability)]
Loading = Annotated[float, BeforeValidator(not_bool), AfterValidator(_loading)]
def _range(value: tuple[int, int]) -> tuple[int, int]:
    if value[0] > value[1]:
        raise ValueError(f"a range is [smallest, largest], got {list(value)}")
    return value


NonNegativeInt = Annotated[int, Field(ge=0, strict=True)]


def _level_text(value: object) -> object:
    """Stratum levels as the protocol's text: YAML reads ``0:`` as an integer key."""
    if isinstance(value, bool):
        raise ValueError(f"must be a stratum level (text or whole number), got {value!r}")
    return str(value) if isinstance(value, int) else value


#: a stratum level: text, or a whole number read as its text (ECOG ``0`` is level ``"0"``)
Level = Annotated[str, BeforeValidator(_level_text)]
#: stratum levels per factor, e.g. ``{region: [asia]}``
LevelSets = dict[str, list[Level]]
DayRange = Annotated[tuple[NonNegativeInt, NonNegativeInt], AfterValidator(_range)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _shares(values: Mapping[Any, float], loc: Loc) -> list[tuple[Loc, str]]:
    total = sum(values.values())
    if values and abs(total - 1) > 1e-6:
        return [(loc, f"shares must add up to 1, got {total:.6g}")]
    return []


# ----------------------------------------------------------------------------- sections

class RampUp(_Model):
    """Slower recruitment while centres open: ``relative_intensity`` for the first ``months``."""

    months: PositiveNumber
    relative_intensity: PositiveNumber


class Accrual(_Model):
    """Randomisation dates: a Poisson-like process from ``start`` to ``end`` (order statistics
    of i.i.d. draws from the piecewise-constant intensity), moved to weekdays if asked."""

    start: date
    end: date
    ramp_up: RampUp | None = None
    weekdays_only: bool = True

    @model_validator(mode="after")
    def _order(self) -> Accrual:
        if self.end <= self.start:
            raise Issues([(("end",), f"must be after start {self.start}, got {self.end}")])
        return self


class Sites(_Model):
    """Centres; each replica draws uneven shares from a symmetric Dirichlet(``concentration``).
    ``countries``: ISO 3166 alpha-3 code -> number of centres (adding up to ``count``); the
    centres are numbered country by country in this order (DM ``COUNTRY``)."""

    count: PositiveInt
    concentration: PositiveNumber
    countries: Annotated[dict[Annotated[str, Field(pattern=r"^[A-Z]{3}$")], PositiveInt],
                         Field(min_length=1)]

    @model_validator(mode="after")
    def _all_centres(self) -> Sites:
        total = sum(self.countries.values())
        if total != self.count:
            raise Issues([(("countries",), f"centres per country add up to {total}, not the "
                                           f"{self.count} of count")])
        return self

    def site_countries(self) -> list[str]:
        """Country of centre 1, 2, ... ``count``."""
        return [code for code, k in self.countries.items() for _ in range(k)]


class Dropout(_Model):
    """Loss to follow-up: exponential, ``rate`` of the patients lost within ``months`` of
    randomisation (the convention of :func:`oncotrial.design.expected_events`)."""

    rate: OpenProbability
    months: PositiveNumber = 12.0


class FollowUp(_Model):
    """Last contact of patients alive at the cut-off: uniform over the ``last_contact_lag_months``
    before it (visits are spaced, so the last news predates the cut-off); ``dropout``: patients
    lost to follow-up have no record after that day (a ``LOST TO FOLLOW-UP`` disposition)."""

    last_contact_lag_months: Annotated[float, BeforeValidator(not_bool), Field(ge=0)]
    dropout: Dropout | None = None


class EventCutoff(_Model):
    """Analyses when the primary end point reaches event counts: ``events`` per look, or
    ``information`` fractions of ``total_events`` (default: the events the protocol's design
    requires, :func:`oncotrial.design.events_required`). Each look's cut-off is the date of
    its last event."""

    events: Annotated[list[PositiveInt], Field(min_length=1)] | None = None
    information: Annotated[list[Probability], Field(min_length=1)] | None = None
    total_events: PositiveInt | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> EventCutoff:
        issues: list[tuple[Loc, str]] = []
        if (self.events is None) == (self.information is None):
            issues.append(((), "give events or information, not both"))
        for name in ("events", "information"):
            values = getattr(self, name) or []
            if any(b <= a for a, b in pairwise(values)) or 0 in values:
                issues.append(((name,), f"must increase and be positive, got {values}"))
        if self.total_events is not None and self.information is None:
            issues.append((("total_events",), "only with information"))
        if issues:
            raise Issues(issues)
        return self


class Age(_Model):
    """Age at randomisation: a piecewise-linear quantile function through ``quantiles``
    (``[probability, age]`` pairs from probability 0 to 1)."""

    quantiles: Annotated[list[tuple[Probability, PositiveNumber]], Field(min_length=2)]

    @model_validator(mode="after")
    def _monotone(self) -> Age:
        issues: list[tuple[Loc, str]] = []
        ps = [p for p, _ in self.quantiles]
        ages = [a for _, a in self.quantiles]
        if ps[0] != 0 or ps[-1] != 1:
            issues.append((("quantiles",), f"must run from probability 0 to 1, got {ps[0]:g} to {ps[-1]:g}"))
        for i in range(1, len(ps)):
            if ps[i] <= ps[i - 1] or ages[i] < ages[i - 1]:
                issues.append((("quantiles", i), f"probabilities must increase and ages not "
                                                 f"decrease, got {list(self.quantiles[i])} after "
                                                 f"{list(self.quantiles[i - 1])}"))
        if issues:
            raise Issues(issues)
        return self


class Ecog(_Model):
    """ECOG performance status 0 or 1: ``one`` is the share of ECOG 1 among recorded scores,
    ``missing`` the share of all patients without a recorded score."""

    one: Probability
    missing: Probability = 0.0


class TumourGrade(_Model):
    """Histological grade 1-3 (``missing``: not recorded) of the patients whose stratum
    levels are not listed in ``not_applicable`` (e.g. tumours not graded)."""

    shares: dict[Grade, Probability]
    not_applicable: LevelSets = {}

    @model_validator(mode="after")
    def _sum(self) -> TumourGrade:
        issues = _shares(self.shares, ("shares",))
        if issues:
            raise Issues(issues)
        return self


class PrimaryLocation(_Model):
    """Location (TU ``TULOC``) of a primary tumour still in place: fixed by a stratum level
    (``fixed: {factor: {level: LOCATION}}``), otherwise drawn uniformly from ``otherwise``."""

    fixed: dict[str, dict[Level, Text]] = {}
    otherwise: Annotated[list[Text], Field(min_length=1)]


class Baseline(_Model):
    """Baseline characteristics (Table 1): shares of all randomised patients unless named
    otherwise. ``strata``: for each stratification factor of the protocol, the share of
    patients per level (all levels, adding up to 1). Women are the patients of the
    ``all_female`` stratum levels plus ``female`` of the others. ``metastatic``: a share, or
    the stratum levels of metastatic disease. Metastasis sites and ``single_metastasis`` are
    shares of metastatic patients, each having at least one site; ``primary_in_place``:
    metastatic patients whose primary tumour is still there (always for locally advanced
    disease). ``ecog`` and ``grade`` are optional (no DM column without them)."""

    age: Age
    strata: dict[str, dict[Level, Probability]] = {}
    metastatic: Probability | LevelSets
    female: Probability
    all_female: LevelSets = {}
    ecog: Ecog | None = None
    grade: TumourGrade | None = None
    metastasis_sites: dict[Site, Probability]
    single_metastasis: Probability
    primary_in_place: Probability
    primary_location: PrimaryLocation

    @model_validator(mode="after")
    def _consistent(self) -> Baseline:
        issues: list[tuple[Loc, str]] = []
        for factor, shares in self.strata.items():
            issues += _shares(shares, ("strata", factor))
        missing = [s for s in SITES if s not in self.metastasis_sites]
        if missing:
            issues.append((("metastasis_sites",), f"every site needs a share, missing {missing}"))
        if issues:
            raise Issues(issues)
        return self

    def level_sets(self) -> list[tuple[Loc, Mapping[str, Any]]]:
        """Every mapping of this section keyed by stratification factor, with its location."""
        sets: list[tuple[Loc, Mapping[str, Any]]] = [(("all_female",), self.all_female),
                                                    (("primary_location", "fixed"),
                                                     self.primary_location.fixed)]
        if not isinstance(self.metastatic, float):
            sets.append((("metastatic",), self.metastatic))
        if self.grade is not None:
            sets.append((("grade", "not_applicable"), self.grade.not_applicable))
        return sets


class AssessmentProcess(_Model):
    """How scheduled scans really happen: date jitter (uniform whole days in
    ``[-jitter_days, jitter_days]``, then to the nearest weekday: at most ``jitter_days + 1``
    days off, inside the +/- 7-day visit window when ``jitter_days <= 6``), the probability a
    scan is missed, and the baseline scan ``baseline_days`` (range) before randomisation."""

    jitter_days: Annotated[int, Field(ge=0, le=6, strict=True)]
    missed: Probability
    baseline_days: DayRange

    @model_validator(mode="after")
    def _window(self) -> AssessmentProcess:
        if self.baseline_days[1] > 28:
            raise Issues([(("baseline_days",), "the baseline scan must be within 28 days "
                                                "before randomisation (RECIST 1.1 section 4.1)")])
        return self


class SurvivalCurve(_Model):
    """A latent survival curve (months): ``survival`` lists ``[months, rate]`` landmarks; with
    ``median`` (a landmark at rate 0.5) they define a piecewise-exponential curve whose
    log-survival is linear between landmarks (the last piece's hazard continues). A median
    alone is an exponential distribution."""

    median: PositiveNumber | None = None
    survival: list[tuple[PositiveNumber, OpenProbability]] = []

    @model_validator(mode="after")
    def _some_point(self) -> SurvivalCurve:
        if self.median is None and not self.survival:
            raise Issues([((), "give a median, survival landmarks or both")])
        return self

    def points(self) -> list[tuple[float, float]]:
        """Landmarks with the median merged in, sorted by time."""
        pts = [(float(t), float(s)) for t, s in self.survival]
        if self.median is not None:
            pts.append((float(self.median), 0.5))
        return sorted(pts)


class ProgressionFree(SurvivalCurve):
    """Latent time to first progression or death (months), per arm; ``death_share`` of the
    events are deaths without progression (multi-state model only: with an
    ``overall_survival`` curve, deaths without progression are the patients dying first)."""

    death_share: Probability = 0.0


class Sojourn(_Model):
    """Time spent in a disease state (months): Weibull with this median and shape; on
    leaving, death with probability ``death_share`` (otherwise the next progression)."""

    median: PositiveNumber
    shape: PositiveNumber
    death_share: Probability = 0.0


class ArmDisease(_Model):
    """An arm's disease course (see :mod:`.disease`): either the three transitions of the
    multi-state model (``progression_free``, ``second_progression``,
    ``death_after_second_progression``), overall survival following from them, or the
    ``progression_free`` and ``overall_survival`` curves as targets of their own (no second
    progression), for a trial steered by its overall survival."""

    progression_free: ProgressionFree
    overall_survival: SurvivalCurve | None = None
    second_progression: Sojourn | None = None
    death_after_second_progression: Sojourn | None = None

    @model_validator(mode="after")
    def _one_model(self) -> ArmDisease:
        issues: list[tuple[Loc, str]] = []
        sojourns = ("second_progression", "death_after_second_progression")
        if self.overall_survival is not None:
            issues += [((name,), "not with overall_survival (the curve gives the deaths)")
                       for name in sojourns if getattr(self, name) is not None]
            if self.progression_free.death_share:
                issues.append((("progression_free", "death_share"),
                               "not with overall_survival: deaths without progression are the "
                               "patients whose death comes first"))
        else:
            issues += [((name,), "required without overall_survival")
                       for name in sojourns if getattr(self, name) is None]
        last = self.death_after_second_progression
        if last is not None and last.death_share not in (0.0, 1.0):
            issues.append((("death_after_second_progression", "death_share"),
                           "the last state only ends in death; leave death_share out"))
        if issues:
            raise Issues(issues)
        return self


class Dependence(_Model):
    """Loadings of each transition time on one latent patient factor (indolence), through a
    Gaussian copula: 0 = independent sojourns; closer to 1 = the same patients are slow in
    every state. They do not change any margin (``death``: the last sojourn, or overall
    survival when it is a curve of its own)."""

    progression_free: Loading
    second_progression: Loading = 0.0
    death: Loading


class Disease(_Model):
    dependence: Dependence
    arms: dict[str, ArmDisease]


class ArmResponse(_Model):
    """Objective response (best overall response CR or PR, unconfirmed) among all randomised
    patients, and the share of responders in complete response."""

    orr: Probability
    complete_share: Probability


class ProgressionBy(_Model):
    """How progression shows on the scans: target growth (>= 20 % and >= 5 mm over the
    nadir), a new lesion, or unequivocal progression of non-target disease (patients
    without non-target lesions progress by target growth instead)."""

    target_growth: Probability
    new_lesion: Probability
    non_target: Probability

    @model_validator(mode="after")
    def _sum(self) -> ProgressionBy:
        issues = _shares(self.model_dump(), ())
        if issues:
            raise Issues(issues)
        return self


class Response(_Model):
    """Tumour response; ``link`` is the log-odds of response per unit of the latent
    indolence factor (responders tend to be the patients with long progression-free times)."""

    link: Number
    arms: dict[str, ArmResponse]
    progression_by: ProgressionBy


class Delay(_Model):
    probability: Probability
    days: PositiveInt


class PhaseDelivery(_Model):
    """Per-cycle probabilities of stopping a phase: for toxicity (only patients with a grade
    3-4 adverse event), for another reason (physician decision); ``reduction``: probability
    that a patient with a grade 3-4 adverse event has the dose reduced in this phase;
    ``declined``: probability of not starting the phase (a second phase) although eligible."""

    toxicity_stop: Probability
    other_stop: Probability
    reduction: Probability
    declined: Probability = 0.0


#: phases of a regimen the delivery model follows: a first phase, then possibly a second
MAX_PHASES = 2


class ArmTreatment(_Model):
    """Delivery in one arm: ``phases`` per protocol phase name, in the regimen's order
    (the first and an optional second phase); ``surgery`` after the first phase."""

    not_treated: Probability
    delay: Delay
    phases: Annotated[dict[str, PhaseDelivery], Field(min_length=1, max_length=MAX_PHASES)]
    surgery: Probability = 0.0

    @property
    def first_phase(self) -> PhaseDelivery:
        """Delivery of the first phase."""
        return next(iter(self.phases.values()))

    @property
    def second_phase(self) -> PhaseDelivery | None:
        """Delivery of the second phase, if any."""
        later = list(self.phases.values())[1:]
        return later[0] if later else None


class Treatment(_Model):
    """Treatment delivery. ``surgery``: probability of surgery of residual disease after the
    first phase without progression; ``surgery_relative``: how many times as likely it is in
    some stratum levels (``{factor: {level: factor}}``, multiplied over factors);
    ``surgery_primary``: share of operations on the primary tumour; ``second_reduction``:
    probability that a reduced patient is reduced again."""

    arms: dict[str, ArmTreatment]
    surgery_relative: dict[str, dict[Level, PositiveNumber]] = {}
    surgery_primary: Probability
    second_reduction: Probability

    @model_validator(mode="after")
    def _surgery_is_a_probability(self) -> Treatment:
        most = math.prod(max([*levels.values(), 1.0]) for levels in self.surgery_relative.values())
        issues: list[tuple[Loc, str]] = [
            (("surgery_relative",),
             f"{most:g} times arms.{arm}.surgery ({delivery.surgery:g}) is "
             f"{most * delivery.surgery:.3g}, not a probability")
            for arm, delivery in self.arms.items() if most * delivery.surgery > 1]
        if issues:
            raise Issues(issues)
        return self


class ArmSubsequent(_Model):
    second_line: Probability
    second_line_regimens: dict[str, Probability]
    third_line: Probability
    third_line_regimens: dict[str, Probability]

    @model_validator(mode="after")
    def _sums(self) -> ArmSubsequent:
        issues = (_shares(self.second_line_regimens, ("second_line_regimens",))
                  + _shares(self.third_line_regimens, ("third_line_regimens",)))
        if issues:
            raise Issues(issues)
        return self


class Subsequent(_Model):
    """Therapy after progression: a second line after the first progression (starting
    ``start_days`` after it), a third line after the second; a third-line regimen is never
    the one already given in second line."""

    start_days: DayRange
    arms: dict[str, ArmSubsequent]


class Term(_Model):
    """One adverse-event term (CTCAE v4.0 / MedDRA): per arm ``[any grade, grade 3-4]``
    incidence among treated patients; ``with_term``: grade 3-4 only in patients who also have
    that term at grade 3-4 (AST rises with ALT in hepatic cytolysis)."""

    decod: Text
    soc: Text
    grade_4_share: Probability
    serious_eligible: bool = True
    with_term: str | None = None
    incidence: dict[str, tuple[Probability, Probability]]


class ArmSafety(_Model):
    grade_3_4: Probability
    serious: Probability
    treatment_related_death: Probability


class FatalTerm(_Model):
    decod: Text
    soc: Text


class AdverseEvents(_Model):
    """Adverse events: per-term incidences (exact in expectation), the incidence of any grade
    3-4 event per arm (reached by correlating the terms through a latent toxicity factor),
    serious-event incidence, and the share of deaths without progression during treatment
    that are treatment related (recorded as a grade 5 ``fatal_term``)."""

    grade_2_share: Probability
    arms: dict[str, ArmSafety]
    terms: Annotated[list[Term], Field(min_length=1)]
    fatal_term: FatalTerm


# ----------------------------------------------------------------------------- solved model

@dataclasses.dataclass(frozen=True)
class Fitted:
    """What validation solved from the scenario's targets (see the module docstring).

    ``pfs``: arm -> :class:`~oncotrial.simulate.disease.PiecewiseExponential`;
    ``overall_survival``: the same for the arms whose overall survival is a curve of its own;
    ``response_intercept``: arm -> log-odds intercept of response; ``toxicity_loading``:
    arm -> loading of grade 3-4 events on the latent toxicity factor;
    ``site_probabilities``: unconditional per-site probabilities that, conditioned on at
    least one site, give the published shares; ``single_given_one_site``: probability that a
    patient with one metastatic site has a single metastasis; ``first_assessment_day``:
    day of the first scheduled scan (per arm).
    """

    pfs: Mapping[str, Any]
    overall_survival: Mapping[str, Any]
    response_intercept: Mapping[str, float]
    toxicity_loading: Mapping[str, float]
    site_probabilities: Mapping[str, float]
    single_given_one_site: float
    first_assessment_day: Mapping[str, int]


# ----------------------------------------------------------------------------- scenario

class Scenario(_Model):
    """A validated scenario. Build it with :meth:`load` (bundled name or YAML path) or
    :meth:`from_dict`; both raise :class:`ScenarioError` listing every problem."""

    id: Text
    title: Text
    protocol: Text
    patients: PositiveInt
    cutoff: date | EventCutoff
    accrual: Accrual
    sites: Sites
    follow_up: FollowUp
    baseline: Baseline
    assessments: AssessmentProcess
    disease: Disease
    response: Response
    treatment: Treatment
    subsequent_therapy: Subsequent
    adverse_events: AdverseEvents

    _fitted: Fitted | None = PrivateAttr(default=None)
    _protocol: Protocol | None = PrivateAttr(default=None)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None,
                  protocol: Protocol | None = None) -> Scenario:
        """Validate a parsed scenario against its protocol (``protocol`` overrides the file's
        ``protocol`` entry); raise :class:`ScenarioError` listing every error."""
        if not isinstance(data, Mapping):
            raise ScenarioError([f"<scenario>: must be a mapping of sections, "
                                 f"got {type(data).__name__}"], source)
        try:
            scenario = cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ScenarioError(format_errors(exc, kind="scenario"), source) from None
        if protocol is None:
            try:
                protocol = Protocol.load(scenario.protocol)
            except ProtocolError as exc:
                raise ScenarioError([f"protocol: cannot load {scenario.protocol!r}: "
                                     + "; ".join(exc.errors)], source) from None
        issues = scenario._check_arms(protocol)
        if issues:  # every later check is per arm
            raise ScenarioError([f"{_path(loc)}: {msg}" for loc, msg in issues], source)
        issues = scenario._check_shares()
        bad_curves = {loc[2] for loc, _ in issues if loc[:2] == ("disease", "arms")}
        fitted, more = scenario._fit(protocol, skip=bad_curves)
        issues += more
        if issues:
            raise ScenarioError([f"{_path(loc)}: {msg}" for loc, msg in issues], source)
        scenario._fitted = fitted
        scenario._protocol = protocol
        return scenario

    @classmethod
    def load(cls, name_or_path: str | Path, *, protocol: Protocol | None = None) -> Scenario:
        """Load a bundled scenario by name (``"gastric_example"``) or a YAML file by path."""
        text, source = _read(name_or_path)
        data = load_yaml(text, source=source, kind="scenario", error=ScenarioError)
        return cls.from_dict(data if data is not None else {}, source=source, protocol=protocol)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` turns back into an equal scenario."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="python")

    def with_changes(self, changes: Mapping[str, Any], *,
                     protocol: Protocol | None = None) -> Scenario:
        """A new, re-validated scenario with ``changes`` merged in (nested dicts merge key by
        key), e.g. ``{"cutoff": date(2020, 6, 30)}`` for an interim look."""
        return Scenario.from_dict(_merge(self.to_dict(), changes), source=f"{self.id} (changed)",
                                  protocol=protocol or self._protocol)

    @property
    def fitted(self) -> Fitted:
        """The quantities solved from the targets at validation."""
        if self._fitted is None:  # only a model_copy() skips from_dict
            raise InputError("scenario: not validated; build it with Scenario.load or "
                             "from_dict", field="scenario")
        return self._fitted

    def protocol_model(self) -> Protocol:
        """The protocol this scenario was validated against."""
        if self._protocol is None:
            raise InputError("scenario: not validated; build it with Scenario.load or "
                             "from_dict", field="scenario")
        return self._protocol

    def __eq__(self, other: object) -> bool:
        """Same settings validated against the same protocol (the solved quantities follow)."""
        return (isinstance(other, Scenario) and self.model_dump() == other.model_dump()
                and self._protocol == other._protocol)

    __hash__ = None  # type: ignore[assignment]  # dict fields: not hashable

    def __repr__(self) -> str:
        return (f"Scenario(id={self.id!r}, protocol={self.protocol!r}, patients={self.patients}, "
                f"accrual={self.accrual.start}..{self.accrual.end}, cutoff={self.cutoff})")

    __str__ = __repr__

    # -- checks --------------------------------------------------------------------------

    def _check_arms(self, protocol: Protocol) -> list[tuple[Loc, str]]:
        codes = [a.code for a in protocol.arms]
        issues: list[tuple[Loc, str]] = []
        sections: list[tuple[Loc, Mapping[str, Any]]] = [
            (("disease", "arms"), self.disease.arms),
            (("response", "arms"), self.response.arms),
            (("treatment", "arms"), self.treatment.arms),
            (("subsequent_therapy", "arms"), self.subsequent_therapy.arms),
            (("adverse_events", "arms"), self.adverse_events.arms),
        ]
        sections += [(("adverse_events", "terms", i, "incidence"), t.incidence)
                     for i, t in enumerate(self.adverse_events.terms)]
        for loc, mapping in sections:
            for key in mapping:
                if key not in codes:
                    issues.append(((*loc, key), f"not an arm of protocol {protocol.id} "
                                                 f"({', '.join(codes)})"))
            issues += [(loc, f"arm {code!r} is missing") for code in codes if code not in mapping]
        for code, arm in self.treatment.arms.items():
            if code not in codes:
                continue
            names = protocol.regimen(code).phase_names
            if len(names) > MAX_PHASES:
                issues.append((("protocol",), f"arm {code} has {len(names)} phases "
                                              f"({', '.join(names)}); the simulator delivers "
                                              f"at most {MAX_PHASES}"))
            elif list(arm.phases) != names:
                issues.append((("treatment", "arms", code, "phases"),
                               f"expected the protocol's phases in order ({', '.join(names)}), "
                               f"got {', '.join(arm.phases)}"))
            first = protocol.regimen(code).phases[0]
            if arm.surgery > 0 and first.max_cycles is None:
                issues.append((("treatment", "arms", code, "surgery"),
                               f"surgery follows the first phase, but {first.name!r} has no "
                               f"max_cycles (given until progression): set surgery to 0"))
        issues += self._check_strata(protocol)
        if isinstance(self.cutoff, date) and self.cutoff <= self.accrual.start:
            issues.append((("cutoff",), f"must be after the accrual start {self.accrual.start}"))
        if isinstance(self.cutoff, EventCutoff) and self.cutoff.information is not None \
                and self.cutoff.total_events is None and protocol.design is None:
            issues.append((("cutoff", "total_events"), f"required: protocol {protocol.id} has "
                                                       "no design to take the events from"))
        return issues

    def _check_strata(self, protocol: Protocol) -> list[tuple[Loc, str]]:
        """Shares for every level of every factor; level sets name the protocol's levels;
        no baseline column shadows a factor's (ADSL takes strata from DM by name)."""
        issues: list[tuple[Loc, str]] = []
        levels = {f.name: [str(v) for v in f.levels] for f in protocol.stratification}
        loc = ("baseline", "strata")
        for name, declared in levels.items():
            given = self.baseline.strata.get(name)
            if given is None:
                issues.append((loc, f"factor {name!r} of protocol {protocol.id} needs a share "
                                    f"per level ({', '.join(declared)})"))
            elif set(given) != set(declared):
                issues.append(((*loc, name), f"levels must be the protocol's "
                                             f"({', '.join(declared)}), got {', '.join(given)}"))
        issues += [((*loc, name), f"not a stratification factor of protocol {protocol.id}")
                   for name in self.baseline.strata if name not in levels]
        sets = [(("baseline", *where), mapping) for where, mapping in self.baseline.level_sets()]
        sets.append((("treatment", "surgery_relative"), self.treatment.surgery_relative))
        for where, mapping in sets:
            for name, chosen in mapping.items():
                if name not in levels:
                    issues.append(((*where, name), f"not a stratification factor of protocol "
                                                   f"{protocol.id}"))
                    continue
                issues += [((*where, name), f"{level!r} is not a level of {name} "
                                            f"({', '.join(levels[name])})")
                           for level in chosen if str(level) not in levels[name]]
        shadowed = {"ECOG": self.baseline.ecog, "GRADE": self.baseline.grade}
        for name in levels:
            if shadowed.get(name.upper()) is not None:
                issues.append((("baseline", name.upper().lower()),
                               f"protocol {protocol.id} stratifies by {name!r}: its DM column "
                               f"comes from baseline.strata.{name}; leave this out"))
        return issues

    def _check_shares(self) -> list[tuple[Loc, str]]:
        issues: list[tuple[Loc, str]] = []
        terms = [t.decod for t in self.adverse_events.terms]
        for i, term in enumerate(self.adverse_events.terms):
            if term.decod in terms[:i]:
                issues.append((("adverse_events", "terms", i, "decod"), f"duplicate term {term.decod!r}"))
            for arm, (any_grade, severe) in term.incidence.items():
                if severe > any_grade:
                    issues.append((("adverse_events", "terms", i, "incidence", arm),
                                   f"grade 3-4 incidence {severe:g} exceeds the any-grade "
                                   f"incidence {any_grade:g}"))
            if term.with_term is not None:
                if term.with_term not in terms or term.with_term == term.decod:
                    issues.append((("adverse_events", "terms", i, "with_term"),
                                   f"{term.with_term!r} is not another term of the list"))
                    continue
                base = self.adverse_events.terms[terms.index(term.with_term)]
                if base.with_term is not None:
                    issues.append((("adverse_events", "terms", i, "with_term"),
                                   f"{term.with_term!r} itself depends on another term"))
                for arm, (_, severe) in term.incidence.items():
                    if severe > base.incidence.get(arm, (1, 1))[1]:
                        issues.append((("adverse_events", "terms", i, "incidence", arm),
                                       f"grade 3-4 incidence {severe:g} exceeds that of "
                                       f"{term.with_term!r}, which it requires"))
        for arm, safety in self.adverse_events.arms.items():
            if safety.serious > safety.grade_3_4:
                issues.append((("adverse_events", "arms", arm, "serious"),
                               f"{safety.serious:g} of patients with a serious event cannot exceed "
                               f"the {safety.grade_3_4:g} with a grade 3-4 event (serious events "
                               "are drawn among grade 3-4 ones)"))
        for arm, disease in self.disease.arms.items():
            loc = ("disease", "arms", arm, "progression_free")
            issues += _landmark_issues(disease.progression_free, loc)
            if disease.overall_survival is not None:
                issues += _landmark_issues(disease.overall_survival,
                                           ("disease", "arms", arm, "overall_survival"))
        return issues

    def _fit(self, protocol: Protocol, skip: set[str | int]) -> tuple[Fitted, list[tuple[Loc, str]]]:
        """Solve the targets; arms in ``skip`` have invalid survival landmarks (reported)."""
        issues: list[tuple[Loc, str]] = []
        pfs = {arm: PiecewiseExponential.from_points(d.progression_free.points())
               for arm, d in self.disease.arms.items() if arm not in skip}
        overall = {arm: PiecewiseExponential.from_points(d.overall_survival.points())
                   for arm, d in self.disease.arms.items()
                   if arm not in skip and d.overall_survival is not None}
        first_day: dict[str, int] = {}
        for arm in pfs:
            start = np.array([self.accrual.start], dtype="datetime64[D]")
            grid = planned_assessments(protocol, arm, start, 12)
            first_day[arm] = int((grid[0, 0] - start[0]).astype(np.int64)) if grid.size else 0
        intercepts: dict[str, float] = {}
        for arm, target in self.response.arms.items():
            if arm not in pfs:
                continue
            months = max(first_day[arm] - self.assessments.jitter_days, 0) / DAYS_PER_MONTH
            value, reachable = response_intercept(
                target.orr, self.response.link, pfs[arm], self.disease.dependence.progression_free,
                months)
            if value is None:
                issues.append((("response", "arms", arm, "orr"),
                               f"{target.orr:g} cannot be reached: only {reachable:.3f} of patients "
                               f"are still progression-free at the first assessment (day "
                               f"{first_day[arm]}) under disease.arms.{arm}.progression_free"))
            else:
                intercepts[arm] = value
        loadings: dict[str, float] = {}
        for arm, safety in self.adverse_events.arms.items():
            probs = np.array([t.incidence[arm][1] for t in self.adverse_events.terms
                              if t.with_term is None])
            value, (low, high) = toxicity_loading(probs, safety.grade_3_4)
            if value is None:
                issues.append((("adverse_events", "arms", arm, "grade_3_4"),
                               f"{safety.grade_3_4:g} is impossible with the per-term grade 3-4 "
                               f"incidences: it must lie between {low:.3f} (the most frequent "
                               f"term) and {high:.3f} (independent terms)"))
            else:
                loadings[arm] = value
        shares = self.baseline.metastasis_sites
        sites, one_site = site_probabilities(np.array([shares[s] for s in SITES]))
        single = 0.0
        if sites is None:
            issues.append((("baseline", "metastasis_sites"),
                           f"shares add up to {sum(shares.values()):.3f} sites per patient, "
                           "fewer than the one site every metastatic patient has"))
        elif self.baseline.single_metastasis > one_site:
            issues.append((("baseline", "single_metastasis"),
                           f"{self.baseline.single_metastasis:g} exceeds the {one_site:.3f} of "
                           "metastatic patients with a single metastatic site"))
        else:
            single = self.baseline.single_metastasis / one_site if one_site > 0 else 0.0
        fitted = Fitted(pfs, overall, intercepts, loadings,
                        dict(zip(SITES, sites.tolist(), strict=True)) if sites is not None else {},
                        single, first_day)
        return fitted, issues


def _landmark_issues(spec: SurvivalCurve, loc: Loc) -> list[tuple[Loc, str]]:
    """The landmarks (with the median) must describe a strictly decreasing survival curve."""
    issues: list[tuple[Loc, str]] = []
    points = [(float(t), float(s), i) for i, (t, s) in enumerate(spec.survival)]
    times = [t for t, _, _ in points]
    for t, _, i in points:
        if times.count(t) > 1:
            issues.append(((*loc, "survival", i), f"two landmarks at {t:g} months"))
    if spec.median is not None:
        m = float(spec.median)
        for t, s, i in points:
            if (t < m and s <= 0.5) or (t > m and s >= 0.5) or (t == m and s != 0.5):
                side = "before" if t < m else "after" if t > m else "at"
                issues.append(((*loc, "survival", i),
                               f"rate {s:g} at {t:g} months is inconsistent with the median of "
                               f"{m:g} months (a rate {side} the median must be "
                               f"{'above' if t < m else 'below' if t > m else 'exactly'} 0.5)"))
    ordered = sorted(points)
    for (t0, s0, _), (t1, s1, i) in pairwise(ordered):
        if t1 > t0 and s1 >= s0:
            issues.append(((*loc, "survival", i),
                           f"rate {s1:g} at {t1:g} months is not below the rate {s0:g} at "
                           f"{t0:g} months: survival must decrease"))
    return issues


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# ----------------------------------------------------------------------------- files

def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with oncotrial (``Scenario.load(name)``); a
    ``<name>_targets.yaml`` next to a scenario holds its published calibration targets
    (:func:`oncotrial.simulate.calibrate.load_targets`) and ``<name>_published.yaml`` the
    published numbers with their sources (:mod:`oncotrial.simulate.published`); neither is a
    scenario."""
    folder = resources.files("oncotrial") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir()
                  if p.name.endswith(".yaml") and not p.name.endswith(("_targets.yaml", "_published.yaml")))


def _read(name_or_path: str | Path) -> tuple[str, str]:
    return read_source(name_or_path, folder="scenarios", kind="scenario", bundled=bundled_scenarios,
                       error=ScenarioError)


def scenario_errors(path: str | Path) -> list[str]:
    """Every problem of a scenario file as ``path: message`` lines; empty if it is valid."""
    try:
        Scenario.load(path)
    except ScenarioError as exc:
        return exc.errors
    return []
