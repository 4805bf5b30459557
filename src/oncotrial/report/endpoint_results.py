"""The end-point summaries a trial report shows beside each efficacy table.

- :func:`events_and_censoring`: what ended each patient's time on an end point — the event
  types and the censoring reasons per arm, from ADTTE ``EVNTDESC`` and ``CNSDTDSC``, with the
  protocol's event definition, censoring rule and who assessed the end point.
- :func:`landmark_rates`: every landmark rate of every end point in one long result, so that
  several landmarks of one end point are never collapsed into one.
- :func:`trial_followup`: the median follow-up of the trial, once, by reverse Kaplan–Meier
  on the overall-survival end point (the end point whose only event is death: its censoring
  is "alive at the last contact", the follow-up reverse Kaplan–Meier measures); the
  primary end point's when the protocol has none, and the result says which.
- :func:`response_duration`: duration of response per arm among the responders (a
  responder-only end point, described, not compared).
- :func:`sensitivity_analyses`: the hazard ratio of an end point under each alternative
  Cox model the protocol names, estimates with confidence intervals only.
- :func:`subgroup_results`: the subgroup hazard ratios of the forest plot as a result,
  with the patients a subgroup does not apply to counted apart from those with no value.

Each is a frozen :class:`~oncotrial.core.results.Result`; the tables are built from them by
:mod:`oncotrial.report.endpoint_tables`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.report.efficacy import EfficacySummary, efficacy_summary
from oncotrial.report.forest import (
    Subgroup,
    SubgroupSpec,
    endpoint_subgroups,
    spec_column,
    subgroup_hazard_ratios,
    subgroup_levels,
)
from oncotrial.report.tables import DAYS_PER_UNIT, RESPONDER_ONLY, model_terms
from oncotrial.stats import kaplan_meier, median_followup

__all__ = ["EndpointResults", "EventsAndCensoring", "LandmarkRates", "ResponseDuration", "SensitivityAnalyses",
           "SubgroupResults", "TrialFollowup", "endpoint_frame", "endpoint_results", "events_and_censoring",
           "landmark_rates", "response_duration", "sensitivity_analyses", "subgroup_results", "trial_followup"]

#: the reason given to a record without an ``EVNTDESC``/``CNSDTDSC`` text
NO_REASON = "Reason not recorded"


def _sentence(text: Any) -> str:
    """A CDISC text as printed: ``"LAST KNOWN ALIVE"`` → ``"Last known alive"``."""
    if not isinstance(text, str) or not text.strip():
        return NO_REASON
    text = text.strip()
    return text[:1].upper() + text[1:].lower() if text.isupper() else text


def _endpoint(protocol: Any, paramcd: str) -> Any:
    """The protocol's end point of ``paramcd`` (names match case-insensitively: ``DoR`` is
    ``DOR``)."""
    for endpoint in protocol.endpoints:
        if endpoint.name.upper() == paramcd.upper():
            return endpoint
    raise InputError(f"endpoint: {paramcd!r} is not an end point of the protocol; expected one of "
                     f"{', '.join(e.name for e in protocol.endpoints)}", field="endpoint")


def endpoint_frame(adsl: pd.DataFrame, adtte: pd.DataFrame, paramcd: str, time_unit: str) -> pd.DataFrame:
    """The randomised patients' ADTTE records of ``paramcd`` with every ADSL column, ``TIME``
    (in ``time_unit``) and ``EVENT`` (``CNSR == 0``) — the data of the efficacy table."""
    itt = adsl.loc[adsl["ITTFL"] == "Y"]
    columns = [c for c in ("USUBJID", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC") if c in adtte.columns]
    data = itt.merge(adtte.loc[adtte["PARAMCD"] == paramcd, columns], on="USUBJID", how="inner")
    data["TIME"] = data["AVAL"].astype(float) / DAYS_PER_UNIT[time_unit]
    data["EVENT"] = (data["CNSR"] == 0).astype(int)
    return data


# ----------------------------------------------------------------------------- events and censoring

@dataclasses.dataclass(frozen=True, repr=False)
class EventsAndCensoring(Result):
    """Why each patient's time on one end point ended, per arm.

    ``counts``: one row per arm, ``kind`` (``"event"`` or ``"censored"``) and ``reason``
    (``arm, kind, reason, n, total``; ``total`` the arm's patients with a record), every
    reason in every arm (0 where none); ``events``: the protocol's event definition;
    ``censoring``: its censoring rule; ``assessed_by``: who assessed the end point
    (``None`` when the protocol does not say).
    """

    endpoint: str
    arms: tuple[str, ...]
    counts: pd.DataFrame
    events: tuple[str, ...]
    censoring: str | None
    assessed_by: str | None

    def arm_totals(self) -> dict[str, int]:
        """Each arm's patients with a record of the end point, the denominator of its counts."""
        counts = self.counts
        return {arm: int(counts.loc[counts["arm"] == arm, "total"].max()) if (counts["arm"] == arm).any() else 0
                for arm in self.arms}

    def to_frame(self) -> pd.DataFrame:
        return self.counts.assign(endpoint=self.endpoint)[["endpoint", "arm", "kind", "reason", "n", "total"]]

    def __repr__(self) -> str:
        events = int(self.counts.loc[self.counts["kind"] == "event", "n"].sum())
        censored = int(self.counts.loc[self.counts["kind"] == "censored", "n"].sum())
        return (f"EventsAndCensoring(endpoint={self.endpoint!r}, events={events}, censored={censored}, "
                f"assessed_by={self.assessed_by!r})")


def events_and_censoring(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Any, paramcd: str,
                         arms: Sequence[str]) -> EventsAndCensoring:
    """The event types (ADTTE ``EVNTDESC`` of ``CNSR == 0`` records) and censoring reasons
    (``CNSDTDSC``, else ``EVNTDESC``, of ``CNSR > 0`` records) of ``paramcd`` per arm (ADSL
    ``ARM``, randomised patients, in the order ``arms``). A record without a text is counted
    under :data:`NO_REASON`, never dropped, so that each arm's rows add up to its patients."""
    data = endpoint_frame(adsl, adtte, paramcd, protocol.analysis.time_unit)
    described = data.get("EVNTDESC", pd.Series(np.nan, index=data.index))
    censor_text = data.get("CNSDTDSC", pd.Series(np.nan, index=data.index)).where(lambda s: s.notna(), described)
    data["kind"] = np.where(data["EVENT"] == 1, "event", "censored")
    data["reason"] = [_sentence(e if k == "event" else c)
                      for k, e, c in zip(data["kind"], described, censor_text, strict=True)]
    totals = data.groupby("ARM").size()
    rows = []
    for kind in ("event", "censored"):
        reasons = sorted(data.loc[data["kind"] == kind, "reason"].unique(),
                         key=lambda r: (-int((data["reason"] == r).sum()), r))
        for reason in reasons:
            for arm in arms:
                n = int(((data["ARM"] == arm) & (data["kind"] == kind) & (data["reason"] == reason)).sum())
                rows.append({"arm": arm, "kind": kind, "reason": reason, "n": n, "total": int(totals.get(arm, 0))})
    endpoint = _endpoint(protocol, paramcd)
    return EventsAndCensoring(endpoint=paramcd, arms=tuple(arms),
                              counts=pd.DataFrame(rows, columns=["arm", "kind", "reason", "n", "total"]),
                              events=tuple(endpoint.events), censoring=endpoint.censoring,
                              assessed_by=endpoint.assessed_by)


# ----------------------------------------------------------------------------- landmark rates

@dataclasses.dataclass(frozen=True, repr=False)
class LandmarkRates(Result):
    """Every Kaplan–Meier landmark rate of every end point: ``rates`` has ``endpoint, arm,
    time, rate, lower, upper, conf_level`` (one row per end point, landmark and arm)."""

    rates: pd.DataFrame
    time_unit: str

    def to_frame(self) -> pd.DataFrame:
        return self.rates

    def __repr__(self) -> str:
        times = {e: sorted(set(g["time"])) for e, g in self.rates.groupby("endpoint", sort=False)}
        return f"LandmarkRates({times}, time_unit={self.time_unit!r})"


def landmark_rates(efficacy: Mapping[str, EfficacySummary], time_unit: str) -> LandmarkRates:
    """The landmark rates of each end point's efficacy summary (its protocol landmarks), in
    end-point order, each landmark kept."""
    frames = [s.rates.assign(endpoint=paramcd, conf_level=s.conf_level) for paramcd, s in efficacy.items()
              if not s.rates.empty]
    columns = ["endpoint", "arm", "time", "rate", "lower", "upper", "conf_level"]
    rates = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    return LandmarkRates(rates=rates, time_unit=time_unit)


# ----------------------------------------------------------------------------- follow-up

@dataclasses.dataclass(frozen=True, repr=False)
class TrialFollowup(Result):
    """The median follow-up of the trial by reverse Kaplan–Meier with its IQR, computed on
    one end point (``endpoint``) over its ``n`` patients; ``basis`` says why that one."""

    endpoint: str
    n: int
    median: float
    q1: float
    q3: float
    time_unit: str
    basis: str

    @property
    def method(self) -> str:
        return (f"Median follow-up by reverse Kaplan–Meier (censoring as the event) on {self.endpoint}, "
                f"{self.basis}; IQR; {self.time_unit}")


def trial_followup(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Any) -> TrialFollowup:
    """The trial's median follow-up, once: reverse Kaplan–Meier on the time-to-event end
    point whose only event is death (overall survival), else on the primary end point.

    Why overall survival: reverse Kaplan–Meier estimates the potential follow-up, the time to
    the last contact, which an end point censored at the last contact measures; an end point
    with progression as an event stops at progression and understates it.
    """
    candidates = [e for e in protocol.endpoints if e.kind == "time_to_event" and list(e.events) == ["death"]
                  and (adtte["PARAMCD"] == e.name.upper()).any()]
    if candidates:
        endpoint, basis = candidates[0], "the end point whose only event is death"
    else:
        endpoint = next(e for e in protocol.endpoints if e.role == "primary")
        basis = "the primary end point (the protocol has no end point whose only event is death)"
    paramcd = endpoint.name.upper()
    data = endpoint_frame(adsl, adtte, paramcd, protocol.analysis.time_unit)
    if data.empty:
        raise InputError(f"ADTTE: no record of {paramcd} for the randomised patients; the follow-up needs one",
                         field="PARAMCD")
    fu = median_followup(data["TIME"], data["EVENT"], convention=protocol.analysis.convention)
    return TrialFollowup(endpoint=paramcd, n=len(data), median=float(fu.median), q1=float(fu.q1), q3=float(fu.q3),
                         time_unit=protocol.analysis.time_unit, basis=basis)


# ----------------------------------------------------------------------------- duration of response

@dataclasses.dataclass(frozen=True, repr=False)
class ResponseDuration(Result):
    """Duration of response per arm among responders: ``arms`` (``arm, randomised,
    responders, events, median, lower, upper``) and ``rates`` (``arm, time, rate, lower,
    upper``) at the end point's landmarks; described per arm, not compared."""

    endpoint: str
    arms: pd.DataFrame
    rates: pd.DataFrame
    conf_level: float
    time_unit: str
    convention: str

    def to_frame(self) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for r in self.arms.itertuples(index=False):
            rows += [{"arm": r.arm, "statistic": "responders", "value": r.responders, "time": np.nan},
                     {"arm": r.arm, "statistic": "events", "value": r.events, "time": np.nan},
                     {"arm": r.arm, "statistic": "median", "value": r.median, "lower": r.lower, "upper": r.upper,
                      "time": np.nan}]
        rows += [{"arm": r.arm, "statistic": "rate", "value": r.rate, "lower": r.lower, "upper": r.upper,
                  "time": r.time} for r in self.rates.itertuples(index=False)]
        return pd.DataFrame(rows, columns=["arm", "statistic", "value", "lower", "upper", "time"]).assign(
            endpoint=self.endpoint)

    def __repr__(self) -> str:
        responders = dict(zip(self.arms["arm"], self.arms["responders"], strict=True))
        return f"ResponseDuration(endpoint={self.endpoint!r}, responders={responders})"


def response_duration(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Any, paramcd: str,
                      arms: Sequence[str]) -> ResponseDuration:
    """Kaplan–Meier of ``paramcd`` (a responder-only end point: responders have a record)
    per arm: responders, events, median and its CI, and the rates at the end point's
    landmarks (the protocol's ``analysis.landmarks`` and a 95% CI when the protocol has no
    such end point, the ADTTE parameter being derived from the response data), under the
    protocol's convention."""
    declared = [e.name for e in protocol.endpoints if e.name.upper() == paramcd.upper()]
    if declared:
        analysis = protocol.endpoint_analysis(declared[0])
        conf_level, landmarks = analysis.conf_level, list(analysis.landmarks or [])
    else:  # derived from the response data without an end point of its own in the protocol
        conf_level, landmarks = 0.95, list(protocol.analysis.landmarks)
    data = endpoint_frame(adsl, adtte, paramcd, protocol.analysis.time_unit)
    randomised = adsl.loc[adsl["ITTFL"] == "Y"].groupby("ARM").size()
    arm_rows, rate_rows = [], []
    for arm in arms:
        sub = data[data["ARM"] == arm]
        row: dict[str, Any] = {"arm": arm, "randomised": int(randomised.get(arm, 0)), "responders": len(sub),
                               "events": int(sub["EVENT"].sum()), "median": np.nan, "lower": np.nan,
                               "upper": np.nan}
        if len(sub):
            km = kaplan_meier(sub["TIME"], sub["EVENT"], conf_level=conf_level,
                              convention=protocol.analysis.convention)
            med = km.median()
            row.update(median=med.estimate, lower=med.lower, upper=med.upper)
            if landmarks:
                rate_rows += [{"arm": arm, "time": r.time, "rate": r.survival, "lower": r.lower, "upper": r.upper}
                              for r in km.survival_at(landmarks).itertuples(index=False)]
        arm_rows.append(row)
    return ResponseDuration(endpoint=paramcd, arms=pd.DataFrame(arm_rows),
                            rates=pd.DataFrame(rate_rows, columns=["arm", "time", "rate", "lower", "upper"]),
                            conf_level=conf_level, time_unit=protocol.analysis.time_unit,
                            convention=protocol.analysis.convention)


# ----------------------------------------------------------------------------- sensitivity analyses

@dataclasses.dataclass(frozen=True, repr=False)
class SensitivityAnalyses(Result):
    """The hazard ratio of one end point under each sensitivity analysis: ``results`` has
    ``label, model, arm, reference, hr, lower, upper`` (estimates with CIs only)."""

    endpoint: str
    results: pd.DataFrame
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.results.assign(endpoint=self.endpoint)

    def __repr__(self) -> str:
        return f"SensitivityAnalyses(endpoint={self.endpoint!r}, analyses={list(dict.fromkeys(self.results['label']))})"


def sensitivity_analyses(data: pd.DataFrame, analysis: Any, variants: Sequence[Any], *, endpoint: str,
                         reference: Any, convention: str) -> SensitivityAnalyses:
    """The end point's hazard ratio under each of ``variants`` (objects with ``label``,
    ``model`` — ``stratified_cox``, ``adjusted_cox`` or ``cox`` — and optional ``strata``,
    default the end point's): :func:`~oncotrial.report.efficacy.efficacy_summary` on ``data``
    (``TIME``, ``EVENT``, ``ARM`` and the strata columns), without a P value: a sensitivity
    analysis checks the estimate's robustness, it is not a second test."""
    rows = []
    for variant in variants:
        strata_given = getattr(variant, "strata", None)
        spec = analysis.model_copy(update={"model": variant.model,
                                           "strata": analysis.strata if strata_given is None else strata_given})
        strata, adjust = model_terms(spec)
        summary = efficacy_summary(data, time="TIME", event="EVENT", group="ARM", strata=strata, adjust=adjust,
                                   reference=reference, conf_level=analysis.conf_level, convention=convention,
                                   endpoint=endpoint, p_value=False)
        rows += [{"label": variant.label, "model": summary.model, "arm": r.arm, "reference": r.reference,
                  "hr": r.hr, "lower": r.lower, "upper": r.upper} for r in summary.hazard_ratios.itertuples()]
    return SensitivityAnalyses(endpoint=endpoint, conf_level=analysis.conf_level, results=pd.DataFrame(
        rows, columns=["label", "model", "arm", "reference", "hr", "lower", "upper"]))


# ----------------------------------------------------------------------------- subgroups

@dataclasses.dataclass(frozen=True, repr=False)
class SubgroupResults(Result):
    """The subgroup hazard ratios of one end point, the numbers of its forest plot.

    ``table``: the rows of :func:`oncotrial.report.forest.subgroup_hazard_ratios` (overall
    first); ``outside``: per subgroup, ``(not applicable, not recorded)`` — the patients
    its ``where`` does not apply to (e.g. a grade defined for one tumour origin only) and
    those it applies to without a level; ``p_interaction``: whether the protocol reports
    the interaction P (estimates with CIs only otherwise); ``model``: the models in words.
    """

    endpoint: str
    table: pd.DataFrame
    outside: dict[str, tuple[int, int]]
    p_interaction: bool
    conf_level: float
    model: str

    def to_frame(self) -> pd.DataFrame:
        frame = self.table.drop(columns=[] if self.p_interaction else ["p_interaction"])
        return frame.assign(endpoint=self.endpoint)

    def __repr__(self) -> str:
        return (f"SubgroupResults(endpoint={self.endpoint!r}, subgroups={list(self.outside)}, "
                f"p_interaction={self.p_interaction})")


def _outside(data: pd.DataFrame, name: str, spec: SubgroupSpec) -> tuple[int, int]:
    """``(not applicable, not recorded)`` patients of one subgroup variable: left out by its
    ``where`` or with a value in none of its levels (patients without metastases in a
    subgroup of 1 and >= 2 metastases), and those with no value."""
    column, levels, _ = subgroup_levels(data, name, spec)
    left_out = levels.isna()
    has_value = data[column].notna()
    applies = (data.eval(spec.where).astype(bool) if isinstance(spec, Subgroup) and spec.where
               else pd.Series(True, index=data.index))
    not_applicable = left_out & (~applies | has_value)
    return int(not_applicable.sum()), int((left_out & applies & ~has_value).sum())


def subgroup_results(data: pd.DataFrame, subgroups: Mapping[str, SubgroupSpec], analysis: Any, *,
                     endpoint: str, reference: Any, convention: str, p_interaction: bool) -> SubgroupResults:
    """The subgroup hazard ratios of ``data`` (one row per patient: ``TIME``, ``EVENT``,
    ``ARM`` and the subgroup and strata columns) with the end point's Cox model (``analysis``
    as :meth:`oncotrial.protocol.Protocol.endpoint_analysis` gives it), and the patients
    outside each subgroup, said apart: not applicable or not recorded."""
    strata, adjust = model_terms(analysis)
    table = subgroup_hazard_ratios(data, time="TIME", event="EVENT", group="ARM", subgroups=subgroups,
                                   adjust=adjust, strata=strata, reference=reference,
                                   conf_level=analysis.conf_level, convention=convention)
    return SubgroupResults(endpoint=endpoint, table=table,
                           outside={name: _outside(data, name, spec) for name, spec in subgroups.items()},
                           p_interaction=p_interaction, conf_level=analysis.conf_level,
                           model=str(table.attrs.get("model", "")))


# ----------------------------------------------------------------------------- all of them

@dataclasses.dataclass(frozen=True, repr=False)
class EndpointResults(Result):
    """The end-point summaries of a trial, by ``PARAMCD``: ``events`` (events and censoring
    of each analysed end point), ``landmarks`` (every landmark rate), ``followup`` (the
    trial's, once), ``response_duration`` (responder-only end points), ``sensitivity`` (the
    protocol's sensitivity analyses), ``subgroups`` (the forest plot's numbers);
    ``messages``: what was left out and why."""

    events: dict[str, EventsAndCensoring]
    landmarks: LandmarkRates
    followup: TrialFollowup | None
    response_duration: dict[str, ResponseDuration]
    sensitivity: dict[str, SensitivityAnalyses]
    subgroups: dict[str, SubgroupResults]
    messages: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Every number, one long frame with the result it belongs to (``output``)."""
        parts = [("events", r.to_frame()) for r in self.events.values()]
        parts += [("landmarks", self.landmarks.to_frame())]
        if self.followup is not None:
            f = self.followup
            parts.append(("followup", pd.DataFrame([{"endpoint": f.endpoint, "statistic": "median_followup",
                                                     "value": f.median, "lower": f.q1, "upper": f.q3}])))
        parts += [("response_duration", r.to_frame()) for r in self.response_duration.values()]
        parts += [("sensitivity", r.to_frame()) for r in self.sensitivity.values()]
        parts += [("subgroups", r.to_frame()) for r in self.subgroups.values()]
        frames = [frame.assign(output=name) for name, frame in parts if not frame.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["output"])

    def __repr__(self) -> str:
        return (f"EndpointResults(events={list(self.events)}, followup={self.followup is not None}, "
                f"response_duration={list(self.response_duration)}, sensitivity={list(self.sensitivity)}, "
                f"subgroups={list(self.subgroups)}, messages={len(self.messages)})")


def endpoint_results(adsl: pd.DataFrame, adtte: pd.DataFrame, protocol: Any,
                     efficacy: Mapping[str, EfficacySummary], arms: Sequence[str]) -> EndpointResults:
    """Every end-point summary of the trial from its ADaM data (randomised patients, planned
    arm ``ARM``, ``arms`` in order, control first) and its efficacy summaries, as the
    protocol declares them: per analysed end point its events and censoring, its
    sensitivity analyses (``analysis.sensitivity``) and its subgroup hazard ratios
    (``analysis.subgroups``, interaction P when ``analysis.p_interaction``); per
    responder-only ADTTE parameter present (``RESPONDER_ONLY``, e.g. DOR) its duration
    table; the landmark rates and the follow-up.

    ``analysis.sensitivity`` and ``analysis.p_interaction`` are read when the protocol
    schema has them (requested fields; without them: no sensitivity analysis, no
    interaction P)."""
    messages: list[str] = []
    unit, convention = protocol.analysis.time_unit, protocol.analysis.convention
    present = set(adtte["PARAMCD"].dropna())
    events = {paramcd: events_and_censoring(adsl, adtte, protocol, paramcd, arms) for paramcd in efficacy}
    duration = {paramcd: response_duration(adsl, adtte, protocol, paramcd, arms)
                for paramcd in RESPONDER_ONLY if paramcd in present}
    sensitivity, subgroups = {}, {}
    for paramcd in efficacy:
        analysis = protocol.endpoint_analysis(_endpoint(protocol, paramcd).name)
        data = endpoint_frame(adsl, adtte, paramcd, unit)
        variants = list(getattr(analysis, "sensitivity", None) or [])
        if variants:
            sensitivity[paramcd] = sensitivity_analyses(data, analysis, variants, endpoint=paramcd,
                                                        reference=arms[0], convention=convention)
        chosen, unknown = endpoint_subgroups(protocol, analysis.subgroups)
        absent = [name for name, spec in chosen.items() if spec_column(spec) not in data.columns]
        if unknown or absent:
            messages.append(f"{paramcd}: subgroup table without {', '.join([*unknown, *absent])} "
                            f"(not a subgroup of the protocol, or not in ADSL)")
        kept = {name: spec for name, spec in chosen.items() if name not in absent}
        if kept and len(arms) == 2:
            subgroups[paramcd] = subgroup_results(data, kept, analysis, endpoint=paramcd, reference=arms[0],
                                                  convention=convention,
                                                  p_interaction=bool(getattr(analysis, "p_interaction", False)))
    followup = trial_followup(adsl, adtte, protocol) if efficacy else None
    return EndpointResults(events=events, landmarks=landmark_rates(efficacy, unit), followup=followup,
                           response_duration=duration, sensitivity=sensitivity, subgroups=subgroups,
                           messages=tuple(messages))
