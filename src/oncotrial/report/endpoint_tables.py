"""The end-point tables of a trial report, built from the results of
:mod:`oncotrial.report.endpoint_results` as :class:`~oncotrial.report.html.ReportTable`
(rendered to HTML and Word like every other table).

A table prints numbers only; every one of them is in its result. Patients a subgroup does
not apply to are "not applicable", never "missing"; a responder-only end point is described
per arm, never compared; sensitivity analyses and subgroups show estimates with confidence
intervals only unless the protocol asks for an interaction P.
"""

from __future__ import annotations

from collections.abc import Sequence

from oncotrial.report.endpoint_results import (
    EndpointResults,
    EventsAndCensoring,
    LandmarkRates,
    ResponseDuration,
    SensitivityAnalyses,
    SubgroupResults,
    TrialFollowup,
)
from oncotrial.report.format import format_estimate, format_p, n_percent
from oncotrial.report.html import (
    HR_DIGITS,
    PERCENT_DIGITS,
    TIME_DIGITS,
    ReportTable,
    Row,
)

__all__ = ["endpoint_section_tables", "events_table", "followup_table", "landmark_table", "response_duration_table",
           "sensitivity_table", "subgroup_table"]

_EVENT_WORDS = {"progression": "progression", "second_progression": "second progression", "death": "death"}


def _level(conf_level: float) -> str:
    return f"{100 * conf_level:g}%"


def events_table(result: EventsAndCensoring) -> ReportTable:
    """Events by type and censorings by reason, n (%) of the arm's patients with a record,
    each group summing to the arm's events and censorings; the protocol's event definition,
    censoring rule and who assessed the end point in the footnotes."""
    counts = result.counts
    totals = result.arm_totals()
    rows: list[Row] = []
    for kind, heading in (("event", "Events"), ("censored", "Censored")):
        part = counts[counts["kind"] == kind]
        if part.empty:
            continue
        by_arm = part.groupby("arm")["n"].sum()
        rows.append(Row((heading, *[n_percent(int(by_arm.get(a, 0)), totals[a], digits=PERCENT_DIGITS)
                                    for a in result.arms])))
        for reason, group in part.groupby("reason", sort=False):
            n = group.set_index("arm")["n"]
            rows.append(Row((str(reason), *[n_percent(int(n.get(a, 0)), totals[a], digits=PERCENT_DIGITS)
                                            for a in result.arms]), indent=True))
    notes = ["n (%) of the arm's randomised patients with a record of the end point."]
    if result.events:
        notes.append("Event: " + " or ".join(_EVENT_WORDS.get(e, e.replace("_", " ")) for e in result.events) + ".")
    if result.censoring:
        notes.append(f"Censoring: {result.censoring.rstrip('.')}.")
    if result.assessed_by:
        notes.append(f"Assessed by {result.assessed_by}.")
    return ReportTable(key=f"events-{result.endpoint.lower()}", title=f"{result.endpoint}: events and censoring",
                       header=("", *[f"{a} (N={totals[a]})" for a in result.arms]), rows=tuple(rows),
                       footnotes=tuple(notes))


def landmark_table(result: LandmarkRates, arms: Sequence[str]) -> ReportTable:
    """Every landmark rate of every end point, % (CI), one section per end point."""
    rows: list[Row] = []
    for endpoint, part in result.rates.groupby("endpoint", sort=False):
        rows.append(Row((str(endpoint),), kind="section"))
        level = _level(float(part["conf_level"].iloc[0]))
        for time, at in part.groupby("time", sort=True):
            by_arm = at.set_index("arm")
            rows.append(Row((f"Rate at {time:g} {result.time_unit}, % ({level} CI)",
                             *[format_estimate(by_arm.at[a, "rate"], by_arm.at[a, "lower"], by_arm.at[a, "upper"],
                                               PERCENT_DIGITS, scale=100) if a in by_arm.index else ""
                               for a in arms]), indent=True))
    return ReportTable(key="landmark-rates", title="Event-free rates at the landmark times", header=("", *arms),
                       rows=tuple(rows), footnotes=("Kaplan–Meier estimates with Greenwood confidence intervals, "
                                                    "at the landmark times of each end point's analysis.",))


def followup_table(result: TrialFollowup) -> ReportTable:
    """The trial's median follow-up (IQR), once, with the end point it was computed on."""
    row = Row((f"Median follow-up, {result.time_unit} (IQR)",
               format_estimate(result.median, result.q1, result.q3, TIME_DIGITS)), kind="span")
    return ReportTable(key="followup", title="Follow-up", header=("", f"All randomised patients (N={result.n})"),
                       rows=(row,), footnotes=(result.method + ".",))


def response_duration_table(result: ResponseDuration) -> ReportTable:
    """Duration of response per arm among responders: responders of the randomised,
    events, median (CI) and the landmark rates; described, not compared."""
    arms = list(result.arms.itertuples(index=False))
    level = _level(result.conf_level)
    rows = [Row(("Responders, n (% of randomised)", *[n_percent(int(a.responders), int(a.randomised),
                                                                digits=PERCENT_DIGITS) for a in arms])),
            Row(("Progression or death, n (% of responders)",
                 *[n_percent(int(a.events), int(a.responders), digits=PERCENT_DIGITS) for a in arms])),
            Row((f"Median duration, {result.time_unit} ({level} CI)",
                 *[format_estimate(a.median, a.lower, a.upper, TIME_DIGITS) for a in arms]))]
    for time, at in result.rates.groupby("time", sort=True):
        by_arm = at.set_index("arm")
        rows.append(Row((f"In response at {time:g} {result.time_unit}, % ({level} CI)",
                         *[format_estimate(by_arm.at[a.arm, "rate"], by_arm.at[a.arm, "lower"],
                                           by_arm.at[a.arm, "upper"], PERCENT_DIGITS, scale=100)
                           if a.arm in by_arm.index else "" for a in arms])))
    return ReportTable(key=f"dor-{result.endpoint.lower()}", title=f"{result.endpoint}: duration of response",
                       header=("", *[f"{a.arm} (N={int(a.randomised)})" for a in arms]), rows=tuple(rows),
                       footnotes=("Among responders, from the first response to progression or death; Kaplan–Meier "
                                  "estimates per arm. Measured among responders only: described, not compared "
                                  "between arms (no hazard ratio, no P value).",))


def sensitivity_table(result: SensitivityAnalyses) -> ReportTable:
    """The hazard ratio (CI) of each sensitivity analysis, per compared arm."""
    level = _level(result.conf_level)
    arms = list(dict.fromkeys(result.results["arm"]))
    rows = []
    for label, part in result.results.groupby("label", sort=False):
        by_arm = part.set_index("arm")
        rows.append(Row((str(label), *[format_estimate(by_arm.at[a, "hr"], by_arm.at[a, "lower"],
                                                       by_arm.at[a, "upper"], HR_DIGITS) for a in arms])))
    models = [f"{label}: {model}." for label, model in dict(zip(result.results["label"], result.results["model"],
                                                                strict=True)).items()]
    reference = result.results["reference"].iloc[0] if len(result.results) else ""
    return ReportTable(key=f"sensitivity-{result.endpoint.lower()}",
                       title=f"{result.endpoint}: sensitivity analyses",
                       header=("Analysis", *[f"Hazard ratio ({level} CI), {a} vs {reference}" for a in arms]),
                       rows=tuple(rows),
                       footnotes=(f"Estimates with {level} CI only (no P value): sensitivity analyses check the "
                                  "primary estimate, they are not further tests.", *models))


def subgroup_table(result: SubgroupResults) -> ReportTable:
    """The numbers of the forest plot: per subgroup level, events/patients per arm and the
    hazard ratio (CI); the interaction P only when the protocol reports it; who is outside
    each subgroup (not applicable, not recorded) in the footnotes."""
    table = result.table
    control, experimental = table.attrs["control"], table.attrs["experimental"]
    level = _level(result.conf_level)
    header = ["Subgroup", f"{control}, events/patients", f"{experimental}, events/patients",
              f"Hazard ratio ({level} CI)"]
    if result.p_interaction:
        header.append("P for interaction")
    rows: list[Row] = []
    current = None
    for r in table.itertuples(index=False):
        name = r.subgroup if isinstance(r.subgroup, str) else None
        if name is not None and name != current:
            current = name
            rows.append(Row((name, "", "", "", format_p(r.p_interaction))) if result.p_interaction
                        else Row((name,), kind="section"))
        cells = [str(r.level), f"{int(r.events_control)}/{int(r.n_control)}",
                 f"{int(r.events_experimental)}/{int(r.n_experimental)}",
                 format_estimate(r.hr, r.lower, r.upper, HR_DIGITS)]
        rows.append(Row(tuple(cells + ([""] if result.p_interaction else [])), indent=name is not None))
    notes = [result.model]
    if not result.p_interaction:
        notes.append(f"Estimates with {level} CI only (no P value for interaction, per the SAP).")
    for name, (not_applicable, not_recorded) in result.outside.items():
        parts = []
        if not_applicable:
            parts.append(f"{not_applicable} not applicable (a value outside the subgroup's levels or patients it "
                         f"does not apply to)")
        if not_recorded:
            parts.append(f"{not_recorded} not recorded")
        if parts:
            notes.append(f"{name}: " + "; ".join(parts) + "; not in the subgroup's rows.")
    return ReportTable(key=f"subgroups-{result.endpoint.lower()}", title=f"{result.endpoint}: hazard ratio by subgroup",
                       header=tuple(header), rows=tuple(rows), footnotes=tuple(notes))


def endpoint_section_tables(results: EndpointResults, paramcd: str) -> tuple[ReportTable, ...]:
    """The tables of one end point's section after its efficacy table, in reading order:
    events and censoring, sensitivity analyses, subgroup hazard ratios (for a
    responder-only end point: its duration of response)."""
    tables: list[ReportTable] = []
    if paramcd in results.events:
        tables.append(events_table(results.events[paramcd]))
    if paramcd in results.response_duration:
        tables.append(response_duration_table(results.response_duration[paramcd]))
    if paramcd in results.sensitivity:
        tables.append(sensitivity_table(results.sensitivity[paramcd]))
    if paramcd in results.subgroups:
        tables.append(subgroup_table(results.subgroups[paramcd]))
    return tuple(tables)
