"""The analysis of a trial from its ADaM data: :func:`analyse` → :class:`TrialAnalysis`.

One call validates the data against the protocol and computes every table of the trial
report — Table 1, the CONSORT flow, the efficacy table of each time-to-event end point, the
response table and the adverse-event table — plus the analysis-results dataset (ARD) that
holds each of their numbers. Reports (HTML, DOCX) and plain-language summaries are rendered
from a :class:`TrialAnalysis`, never recomputed, so that they cannot disagree.

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

from oncotrial.core.results import Result
from oncotrial.protocol import Protocol
from oncotrial.protocol.reporting import Table1Row
from oncotrial.report.adam import AdamData, validate_adam
from oncotrial.report.ard import build_ard
from oncotrial.report.efficacy import EfficacySummary
from oncotrial.report.provenance import Simulated, provenance
from oncotrial.report.tables import (
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

__all__ = ["TrialAnalysis", "analyse", "default_table1"]


@dataclasses.dataclass(frozen=True, repr=False)
class TrialAnalysis(Result):
    """Every table of a trial report and the ARD of their numbers.

    ``arm_roles``: arm label → ``"control"`` / ``"experimental"`` (the arm labels are the
    ADSL ``ARM`` values, used as columns and as the ``arm`` of the ARD); ``efficacy``:
    ``PARAMCD`` → efficacy summary; ``response`` and ``adverse_events`` are ``None`` when
    skipped; ``messages``: every output skipped or restricted, and why; ``simulated``: the
    replica's mark when the data are simulated (:mod:`oncotrial.report.provenance`).
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
                f"adverse_events={self.adverse_events is not None}, ard={len(self.ard)} records, "
                f"messages={len(self.messages)})")


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


def analyse(adam: AdamData, protocol: Protocol | str | Path, *,
            table1_variables: Sequence[Variable] | None = None,
            conf_level: float = 0.95) -> TrialAnalysis:
    """Validate ``adam`` against ``protocol`` (a :class:`Protocol`, a bundled name or a
    path) and compute the trial's tables and ARD.

    Populations and rules are those of :mod:`oncotrial.report.tables`: Table 1, CONSORT,
    efficacy and response on the randomised patients by planned arm, adverse events in the
    safety population by actual arm; the protocol's control arm is the reference of every
    comparison; the protocol's ``analysis`` section sets the time unit, landmarks,
    adjustment factors and the R/SAS convention (also used for the Table 1 quartiles).
    """
    proto = protocol if isinstance(protocol, Protocol) else Protocol.load(protocol)
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

    maintenance = [labels[code] for code, regimen in proto.regimens.items() if regimen.maintenance is not None]
    consort = consort_flow(adsl, arm="ARM", actual_arm="ACTARM", arms=order, maintenance_arms=maintenance)
    messages += [f"CONSORT: stage {stage} left out" for stage in consort.omitted]

    efficacy = efficacy_tables(adsl, data.adtte, proto, conf_level=conf_level)
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

    response: ResponseTable | None = None
    if data.adrs is None:
        messages.append("ADRS not supplied: response table (ORR, DCR) skipped")
    elif not (data.adrs["PARAMCD"] == "BOR").any():
        messages.append("ADRS has no PARAMCD 'BOR' record: response table (ORR, DCR) skipped")
    else:
        response = response_table(adsl, data.adrs, arm="ARM", arms=order, reference=order[0],
                                  conf_level=conf_level)

    adverse: AdverseEventTable | None = None
    if data.adae is None:
        messages.append("ADAE not supplied: adverse-event table skipped")
    else:
        adverse = adverse_event_table(adsl, data.adae, arm="ACTARM", arms=order, reference=order[0])
        messages += list(adverse.messages)

    parts: dict[str, Any] = {
        "protocol_id": proto.id, "arm_roles": arm_roles, "time_unit": proto.analysis.time_unit,
        "convention": proto.analysis.convention, "table1": characteristics, "consort": consort,
        "efficacy": efficacy, "response": response, "adverse_events": adverse, "messages": tuple(messages),
        "simulated": simulated}
    draft = TrialAnalysis(ard=pd.DataFrame(), **parts)
    return TrialAnalysis(ard=build_ard(draft), **parts)
