"""The analysis of a trial from its ADaM data: :func:`analyse` → :class:`TrialAnalysis`.

One call validates the data against the protocol and computes every table of the trial
report — Table 1, the CONSORT flow, the efficacy table of each time-to-event end point, the
response table and the adverse-event table, the end-point summaries of
:mod:`oncotrial.report.endpoint_results` — plus the analysis-results dataset (ARD) that
holds each of their numbers (:mod:`oncotrial.report.ard_rows` for the end-point summaries)
and the lay summary's adverse-reaction and age-group records
(:func:`~oncotrial.report.lay_records.annex_v_records`). Reports (HTML, DOCX) and plain-language summaries are rendered
from a :class:`TrialAnalysis`, never recomputed, so that they cannot disagree.

Everything trial-specific comes from the protocol: each end point's model, test, sidedness,
P value or not, confidence level and landmarks (its ``analysis`` block), the CONSORT stages
(each arm's treatment phases) and, for a group-sequential design, which look the data are
and the efficacy boundary of that look (:func:`interim_looks`).

An output that cannot be produced is skipped with a message, never silently: an optional
dataset not supplied (ADRS, ADAE), an end point absent from ADTTE, a Table 1 variable absent
from ADSL, a CONSORT stage without its variable, AE rows without grades.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.special import ndtr

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.design import protocol_design
from oncotrial.design.group_sequential import GroupSequentialDesign, group_sequential
from oncotrial.protocol import Protocol
from oncotrial.protocol.reporting import Table1Row
from oncotrial.report.adam import AdamData, validate_adam
from oncotrial.report.ard import append_records, build_ard
from oncotrial.report.ard_rows import endpoint_result_records
from oncotrial.report.consort import arm_phases
from oncotrial.report.efficacy import EfficacySummary
from oncotrial.report.endpoint_results import EndpointResults, endpoint_results
from oncotrial.report.lay_records import annex_v_records
from oncotrial.report.provenance import Simulated, provenance
from oncotrial.report.tables import (
    DOSE_REDUCTION_ANY,
    RESPONDER_ONLY,
    AdverseEventTable,
    Categorical,
    ConsortFlow,
    Continuous,
    Flags,
    ResponseTable,
    Table1,
    Variable,
    adverse_event_table,
    consort_flow,
    efficacy_endpoints,
    efficacy_tables,
    response_table,
    table1,
)

__all__ = ["InterimLook", "TrialAnalysis", "analyse", "data_cutoff", "default_table1", "interim_looks", "look_boundary"]


@dataclasses.dataclass(frozen=True, repr=False)
class InterimLook(Result):
    """Which look of a group-sequential design the data are, for one comparison of the
    design's end point, and its efficacy boundary.

    ``look`` of ``looks`` (the last is the final analysis); ``events`` observed in the two
    arms compared and ``max_events`` the design's maximum, ``observed_fraction`` their ratio;
    ``information_rates``: those the boundary was computed with (see
    :func:`interim_looks`); ``critical_value``: the boundary on the z scale;
    ``nominal_level``: its nominal significance level on the design's sidedness
    (``1 - Phi(c)`` one-sided, twice that two-sided); ``p``: the comparison's P on that
    sidedness and ``crossed`` whether it is at or below the nominal level (both ``None``
    when the end point reports no P value); ``rule``: how the information rate of this
    look was chosen.
    """

    endpoint: str
    arm: str
    reference: str
    look: int
    looks: int
    design: str
    alpha: float
    sided: int
    events: int
    max_events: int
    observed_fraction: float
    information_rates: tuple[float, ...]
    critical_value: float
    nominal_level: float
    p: float | None
    crossed: bool | None
    rule: str

    @property
    def final(self) -> bool:
        return self.look == self.looks


def data_cutoff(adsl: pd.DataFrame) -> str | None:
    """The data cut-off of ADSL ``DCUTDT`` as an ISO date; one trial has one cut-off, so
    several values are an error naming the column (``None`` without the variable or a value)."""
    if "DCUTDT" not in adsl.columns:
        return None
    values = pd.to_datetime(adsl["DCUTDT"], errors="coerce").dropna().unique()
    if len(values) > 1:
        raise InputError(f"ADSL: column DCUTDT: one data cut-off expected, found {len(values)} "
                         f"({', '.join(str(pd.Timestamp(v).date()) for v in sorted(values)[:3])})",
                         field="DCUTDT")
    return None if len(values) == 0 else str(pd.Timestamp(values[0]).date())


@dataclasses.dataclass(frozen=True, repr=False)
class TrialAnalysis(Result):
    """Every table of a trial report and the ARD of their numbers.

    ``arm_roles``: arm label → ``"control"`` / ``"experimental"`` (the arm labels are the
    ADSL ``ARM`` values, used as columns and as the ``arm`` of the ARD); ``efficacy``:
    ``PARAMCD`` → efficacy summary; ``response`` and ``adverse_events`` are ``None`` when
    skipped; ``look`` and ``looks``: the analysis of the design the data are (1 of 1 for a
    fixed design); ``interim``: per comparison of the design's end point, its look and
    boundary (empty for a fixed design); ``endpoints``: the end-point summaries (events
    and censoring, landmark rates, the trial's follow-up, duration of response, sensitivity and
    subgroup analyses, :mod:`oncotrial.report.endpoint_results`); ``messages``: every output skipped or restricted,
    and why; ``simulated``: the replica's mark when the data are simulated
    (:mod:`oncotrial.report.provenance`); ``data_cutoff``: the ADSL ``DCUTDT`` (ISO date),
    ``None`` when the data do not record it.
    """

    protocol_id: str
    arm_roles: dict[str, str]
    time_unit: str
    convention: str
    table1: Table1
    consort: ConsortFlow
    efficacy: dict[str, EfficacySummary]
    response: ResponseTable | None
    adverse_events: AdverseEventTable | None
    ard: pd.DataFrame
    messages: tuple[str, ...]
    simulated: Simulated | None = None
    look: int = 1
    looks: int = 1
    interim: tuple[InterimLook, ...] = ()
    endpoints: EndpointResults | None = None
    data_cutoff: str | None = None

    @property
    def control(self) -> str:
        return next(a for a, role in self.arm_roles.items() if role == "control")

    @property
    def experimental(self) -> str:
        return next(a for a, role in self.arm_roles.items() if role == "experimental")

    def to_frame(self) -> pd.DataFrame:
        return self.ard

    def __repr__(self) -> str:
        return (f"TrialAnalysis(protocol={self.protocol_id!r}, arms={list(self.arm_roles)}, "
                f"efficacy={list(self.efficacy)}, response={self.response is not None}, "
                f"adverse_events={self.adverse_events is not None}, look={self.look} of {self.looks}, "
                f"ard={len(self.ard)} records, messages={len(self.messages)})")


def default_table1(protocol: Protocol) -> tuple[Variable, ...]:
    """The protocol's Table 1: its ``reporting.table1`` rows, else age (median, IQR), sex
    and the stratification factors with their declared levels."""
    rows = protocol.reporting.table1
    if rows is None:
        return (Continuous("AGE", "Age, years", statistics=("median_iqr",), digits=0),
                Categorical("SEX", "Sex"),
                *[Categorical(f.name, f.label or f.name, levels={lv: str(lv) for lv in f.levels})
                  for f in protocol.stratification])
    return tuple(_variable(row) for row in rows)


def _variable(row: Table1Row) -> Variable:
    """A Table 1 variable of :mod:`oncotrial.report.tables` from its protocol row (the
    schema has checked that each type has the keys it needs)."""
    if row.type == "flags":
        return Flags(row.label, dict(row.columns or {}), where=row.where)
    column = row.column or ""
    if row.type == "continuous":
        return Continuous(column, row.label, statistics=tuple(row.statistics or ("median_iqr",)),
                          digits=1 if row.digits is None else row.digits, where=row.where)
    return Categorical(column, row.label, levels=None if row.levels is None else dict(row.levels),
                       bins=None if row.bins is None else tuple((lo, hi, label) for lo, hi, label in row.bins),
                       where=row.where, missing=row.missing or "row")


def _columns(variable: Variable) -> list[str]:
    return list(variable.columns) if isinstance(variable, Flags) else [variable.column]


def _look(protocol: Protocol, look: Any) -> int:
    """The look the data are: 1 to the design's looks (default the last, the final analysis)."""
    looks = protocol.design.looks
    if look is None:
        return looks
    if isinstance(look, bool) or not isinstance(look, int) or not 1 <= look <= looks:
        plan = "one analysis, the final one" if looks == 1 else f"{looks} analyses, the last the final one"
        raise InputError(f"look: expected a look of the design from 1 to {looks} (the protocol plans {plan}), "
                         f"got {look!r}", field="look")
    return look


def look_boundary(protocol: Protocol, look: int, observed: float) -> tuple[GroupSequentialDesign, str, bool]:
    """The group-sequential design whose ``look``-th boundary is that look's, for data at the
    ``observed`` information fraction, the rule applied in words, and whether the observed
    fraction could be used.

    The design is :func:`oncotrial.design.group_sequential` with the protocol's spending
    function, alpha and sidedness at these information rates: earlier looks at their
    planned rates; this look, when it is an interim, at the observed fraction, so that the
    alpha spent is that of the information actually reached (Lan & DeMets); later looks at
    their planned rates (they do not change an alpha-spending boundary). At the final look
    the rate is 1: the final analysis spends all the remaining alpha, whatever the number of
    events. An observed fraction that is not between the planned rates of the neighbouring
    looks cannot be placed in the sequence: the planned rate is used.
    """
    inputs = protocol.group_sequential_inputs()
    if inputs is None:
        raise InputError("look: the protocol's design has one analysis; a boundary needs a group-sequential "
                         "design (design.looks > 1)", field="look")
    looks = int(inputs["k"])
    rates = [float(r) for r in inputs.get("information_rates") or [(j + 1) / looks for j in range(looks)]]
    used = False
    if look == looks:
        rule = "final look: the remaining alpha is spent (information rate 1)"
    else:
        below = rates[look - 2] if look > 1 else 0.0
        if below < observed < rates[look]:
            rates[look - 1], used = observed, True
            rule = "interim look at the observed information fraction; other looks at their planned rates"
        else:
            rule = (f"the observed information fraction {observed:.4g} is not between the planned rates of the "
                    f"neighbouring looks ({below:g}, {rates[look]:g}): the planned rate {rates[look - 1]:g} is used")
    return group_sequential(**{**inputs, "information_rates": rates}), rule, used


def interim_looks(protocol: Protocol, efficacy: dict[str, EfficacySummary], look: int,
                  codes: dict[str, str]) -> tuple[tuple[InterimLook, ...], list[str]]:
    """The look and efficacy boundary (:func:`look_boundary`) of each comparison of the
    design's end point, for a group-sequential design (empty for a fixed design or when the
    end point was not analysed), and the messages of what could not be done as planned.

    The observed information fraction of an experimental arm is the events of the two arms
    compared over the design's maximum events for that arm
    (:func:`oncotrial.design.protocol_design`). ``codes``: arm label → arm code. The
    boundary is crossed when the comparison's P on the design's sidedness (one-sided: in the
    direction of benefit, from the same signed statistic as the end point's P) is at or
    below the look's nominal level.
    """
    paramcd = protocol.design.endpoint.upper()
    summary = efficacy.get(paramcd)
    if protocol.design.looks == 1 or summary is None:
        return (), []
    messages: list[str] = []
    out = []
    arm_events = dict(zip(summary.arms["arm"], summary.arms["events"], strict=True))
    reference = str(summary.arms["arm"].iloc[0])
    for row in summary.hazard_ratios.itertuples(index=False):
        arm = str(row.arm)
        max_events = int(protocol_design(protocol, arm=codes[arm]).events)
        events = int(arm_events[arm] + arm_events[reference])
        observed = events / max_events
        design, rule, used = look_boundary(protocol, look, observed)
        if look < design.k and not used:
            messages.append(f"{paramcd}: interim look {look} ({events} of {max_events} events): {rule}")
        nominal = float(design.nominal_p[look - 1]) * design.sided
        p: float | None = None
        crossed: bool | None = None
        found = summary.comparisons[summary.comparisons["arm"] == row.arm]
        if not found.empty:
            z = float(found["z"].iloc[0])
            p = float(ndtr(z)) if design.sided == 1 else float(2 * ndtr(-abs(z)))
            crossed = bool(p <= nominal)
        out.append(InterimLook(
            endpoint=paramcd, arm=arm, reference=reference, look=look, looks=design.k, design=design.description,
            alpha=float(design.alpha), sided=int(design.sided), events=events, max_events=max_events,
            observed_fraction=observed, information_rates=tuple(float(r) for r in design.information_rates),
            critical_value=float(design.critical_values[look - 1]), nominal_level=nominal, p=p, crossed=crossed,
            rule=rule))
    return tuple(out), messages


def analyse(adam: AdamData, protocol: Protocol | str | Path, *,
            table1_variables: Sequence[Variable] | None = None, look: int | None = None) -> TrialAnalysis:
    """Validate ``adam`` against ``protocol`` (a :class:`Protocol`, a bundled name or a
    path) and compute the trial's tables and ARD.

    Populations and rules are those of :mod:`oncotrial.report.tables`: Table 1, CONSORT,
    efficacy and response on the randomised patients by planned arm, adverse events in the
    safety population by actual arm; the protocol's control arm is the reference of every
    comparison, each other arm compared with it pairwise; each end point is analysed as its
    ``analysis`` block declares (:func:`oncotrial.report.tables.efficacy_tables`); the
    protocol's ``analysis`` section sets the time unit and the R/SAS convention (also used
    for the Table 1 quartiles). ``look``: which analysis of a group-sequential design the
    data are, 1 to ``design.looks`` (default: the last, the final analysis); an
    :class:`~oncotrial.core.errors.InputError` (field ``look``) otherwise.
    """
    proto = protocol if isinstance(protocol, Protocol) else Protocol.load(protocol)
    look = _look(proto, look)
    data = validate_adam(adam, proto)
    adsl, messages = data.adsl, []
    simulated = provenance(adsl)
    itt = adsl[adsl["ITTFL"] == "Y"]
    labels = {a.code: str(itt.loc[itt["ARMCD"] == a.code, "ARM"].iloc[0]) for a in proto.arms}
    arm_roles = {labels[a.code]: a.role for a in sorted(proto.arms, key=lambda a: a.role != "control")}
    order = list(arm_roles)

    variables = []
    for variable in table1_variables if table1_variables is not None else default_table1(proto):
        absent = [c for c in _columns(variable) if c not in adsl.columns]
        if absent:
            messages.append(f"Table 1: {variable.label} left out (ADSL has no {', '.join(absent)})")
        else:
            variables.append(variable)
    characteristics = table1(adsl, arm="ARM", variables=variables, arms=order,
                             convention=proto.analysis.convention, population="ITTFL")

    phases = arm_phases(proto, labels)
    consort = consort_flow(adsl, arm="ARM", actual_arm="ACTARM", arms=order, phases=phases)
    messages += [f"CONSORT: stage {stage} left out" for stage in consort.omitted]

    efficacy = efficacy_tables(adsl, data.adtte, proto)
    for paramcd in efficacy_endpoints(proto):
        if paramcd not in efficacy:
            messages.append(f"{paramcd}: no ADTTE records (PARAMCD {paramcd!r} absent); efficacy table skipped")
            continue
        recorded = set(data.adtte.loc[data.adtte["PARAMCD"] == paramcd, "USUBJID"])
        without = sorted(set(itt["USUBJID"]) - recorded)
        if without:
            messages.append(f"{paramcd}: {len(without)} randomised patient(s) without an ADTTE record, not "
                            f"analysed ({', '.join(without[:5])}{', ...' if len(without) > 5 else ''})")
    for endpoint in proto.endpoints:
        if endpoint.kind == "time_to_event" and endpoint.name.upper() in RESPONDER_ONLY:
            messages.append(f"{endpoint.name.upper()}: measured among responders only; not compared between arms")
    interim, notes = interim_looks(proto, efficacy, look, {label: code for code, label in labels.items()})
    messages += notes
    endpoints = endpoint_results(adsl, data.adtte, proto, efficacy, order)
    messages += list(endpoints.messages)

    response: ResponseTable | None = None
    if data.adrs is None:
        messages.append("ADRS not supplied: response table (ORR, DCR) skipped")
    elif not (data.adrs["PARAMCD"] == "BOR").any():
        messages.append("ADRS has no PARAMCD 'BOR' record: response table (ORR, DCR) skipped")
    else:
        tested = {e.name.upper() for e in proto.endpoints if e.kind == "binary" and e.p_value}
        response = response_table(adsl, data.adrs, arm="ARM", arms=order, reference=order[0], p_values=tested)

    adverse: AdverseEventTable | None = None
    if data.adae is None:
        messages.append("ADAE not supplied: adverse-event table skipped")
    else:
        named = {phase.name: phase for listed in phases.values() for phase in listed}
        reductions = {**DOSE_REDUCTION_ANY, **{f"RED{p.suffix}": f"Dose reduction, {p.label}" for p in named.values()}}
        adverse = adverse_event_table(adsl, data.adae, arm="ACTARM", arms=order, reference=order[0],
                                      reductions=reductions, p_values=proto.reporting.adverse_event_p_values)
        messages += list(adverse.messages)

    extra = [endpoint_result_records(endpoints)]
    if data.adae is not None:
        try:
            extra.append(annex_v_records(adsl, data.adae, arm="ACTARM", arms=order))
        except InputError as exc:
            messages.append(f"ADAE: the lay summary's adverse reactions and age groups left out ({exc})")

    parts: dict[str, Any] = {
        "protocol_id": proto.id, "arm_roles": arm_roles, "time_unit": proto.analysis.time_unit,
        "convention": proto.analysis.convention, "table1": characteristics, "consort": consort,
        "efficacy": efficacy, "response": response, "adverse_events": adverse, "messages": tuple(messages),
        "simulated": simulated, "look": look, "looks": proto.design.looks, "interim": interim,
        "endpoints": endpoints, "data_cutoff": data_cutoff(adsl)}
    draft = TrialAnalysis(ard=pd.DataFrame(), **parts)
    return TrialAnalysis(ard=append_records(build_ard(draft), *extra), **parts)
