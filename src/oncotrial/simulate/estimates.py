"""The headline estimates of one trial, computed from its ADaM data as a publication reports them.

Used by the calibration of in-silico replicas (:mod:`oncotrial.simulate.calibrate`): every
replica goes through the real derivations (:func:`oncotrial.clinical.derive_all`) and then
through this function, so a published number is compared with the same estimator applied to
simulated data. What is estimated follows the protocol: its time-to-event end points, its
arms' roles and its treatment phases. Every estimator is from :mod:`oncotrial.stats`:

* per time-to-event end point compared between the arms (:func:`compared_endpoints`; ADTTE
  ``PARAMCD`` = the end point's name in upper case): Kaplan–Meier median (months, ``AVALM``)
  and rate at each of the end point's landmarks (:func:`landmark_months`) per arm role,
  events per arm role,
  and the Cox hazard ratio of experimental vs control adjusted for the protocol's
  ``analysis.adjust_for`` factors, all under the protocol's analysis convention;
* median follow-up: reversed Kaplan–Meier of OS over all randomised patients;
* ORR: best overall response CR or PR among randomised patients (ADRS ``BOR``);
* adverse events: share of the safety population with a treatment-emergent event of grade 3
  or 4 (any term, and cytolysis = ALT or AST increased), and patients with a serious event;
* surgery: ADSL ``SURGFL`` among randomised patients;
* per treatment phase (:func:`phase_label` of its name): dose reductions (ADSL ``RED`` + the
  phase suffix) among the safety patients given the phase, and the median number of cycles
  (``CYC`` + the suffix) of the patients given at least one.

Names are ``<end point>.<statistic>[.<arm role>]`` (``pfs.median.control``,
``os.hazard_ratio``, ``os.rate_24m.experimental``, ``safety.grade34.experimental``),
``dose_reduction.<phase>.<arm role>`` and ``<phase>.cycles_median``; an estimate that does not
exist in a replica (e.g. a median not reached) is NaN, never dropped, so calibration can
count it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical.exposure import phase_key, phase_suffixes
from oncotrial.stats import coxph, kaplan_meier, median_followup

__all__ = ["CYTOLYSIS_TERMS", "RESPONDER_ONLY", "compared_endpoints", "endpoint_estimates",
           "landmark_months", "phase_label", "role_phases", "trial_estimates"]

#: CTCAE terms counted as "cytolysis" (hepatic transaminase increase)
CYTOLYSIS_TERMS = ("Alanine aminotransferase increased", "Aspartate aminotransferase increased")
#: end points measured among responders from the response (CDISC ``PARAMCD``): not compared
#: between the randomised arms
RESPONDER_ONLY = ("DOR",)
#: months per unit of ``analysis.time_unit``, and the unit's letter in estimate names
_MONTHS_PER = {"days": 12 / 365.25, "weeks": 7 * 12 / 365.25, "months": 1.0, "years": 12.0}
_LETTER = {"days": "d", "weeks": "w", "months": "m", "years": "y"}


def compared_endpoints(protocol: Any) -> list[Any]:
    """The protocol's time-to-event end points compared between the randomised arms, in
    protocol order: all but a duration of response (:data:`RESPONDER_ONLY`)."""
    return [e for e in protocol.endpoints
            if e.kind == "time_to_event" and e.name.upper() not in RESPONDER_ONLY]


def landmark_months(protocol: Any, endpoint: str) -> dict[str, float]:
    """The landmarks of ``endpoint``'s rates (its analysis, else ``analysis.landmarks``): their
    name in estimates (the time and the letter of ``analysis.time_unit``: ``"24m"``) -> months."""
    unit = protocol.analysis.time_unit
    return {f"{t:g}{_LETTER[unit]}": float(t) * _MONTHS_PER[unit]
            for t in protocol.endpoint_analysis(endpoint).landmarks}


def phase_label(name: str) -> str:
    """A phase name as it appears in estimate names: lower case, runs of other characters
    than letters and digits as ``_`` (``"induction"``, ``"part_2"``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).casefold()).strip("_") or "phase"


def role_phases(protocol: Any) -> dict[str, list[str]]:
    """Arm role -> the phase names of its arms' regimens, in order of first appearance (names
    with the same :func:`phase_label` are one phase)."""
    out: dict[str, list[str]] = {}
    for arm in protocol.arms:
        names = out.setdefault(arm.role, [])
        for name in protocol.regimen(arm.code).phase_names:
            if phase_label(name) not in map(phase_label, names):
                names.append(name)
    return out


def _roles(protocol: Any) -> dict[str, str]:
    return {arm.code: arm.role for arm in protocol.arms}


def endpoint_estimates(data: pd.DataFrame, *, key: str, time: str, role: pd.Series,
                       adjust: list[str], landmarks: Mapping[str, float],
                       convention: str) -> dict[str, float]:
    """KM median, rate at each landmark (name -> months, :func:`landmark_months`) and events
    per arm role, and the Cox HR of
    experimental vs control adjusted for ``adjust``, of one end point: ``data`` has ``time``
    (months), ``EVENT`` (1 = event) and the ``adjust`` columns; ``role`` maps each row to its
    arm's role. Shared with the quick calibration, which applies it to the replica's latent
    truth."""
    out: dict[str, float] = {}
    data = data.assign(EXPERIMENTAL=(role == "experimental").astype(float).to_numpy())
    for r in ("control", "experimental"):
        arm = data[(role == r).to_numpy()]
        km = kaplan_meier(arm[time].to_numpy(float), arm["EVENT"].to_numpy(),
                          convention=convention)
        out[f"{key}.median.{r}"] = float(km.median().estimate)
        if landmarks:
            rates = km.survival_at(list(landmarks.values()))["survival"].to_numpy(float)
            for name, rate in zip(landmarks, rates, strict=True):
                out[f"{key}.rate_{name}.{r}"] = float(rate)
        out[f"{key}.events.{r}"] = float(arm["EVENT"].sum())
    usable = data.dropna(subset=adjust) if adjust else data
    fit = coxph(usable, time=time, event="EVENT", covariates=["EXPERIMENTAL", *adjust],
                categorical=[c for c in adjust if not pd.api.types.is_numeric_dtype(usable[c])],
                convention=convention)
    out[f"{key}.hazard_ratio"] = float(np.exp(fit.coef[0]))
    return out


def _time_to_event(adtte: pd.DataFrame, adsl: pd.DataFrame, paramcd: str, key: str,
                   roles: dict[str, str], adjust: list[str], landmarks: Mapping[str, float],
                   convention: str) -> dict[str, float]:
    rows = adtte[adtte["PARAMCD"] == paramcd]
    if rows.empty:
        return {}
    data = rows.merge(adsl[["USUBJID", "ARMCD", *adjust]], on="USUBJID")
    data = data.assign(EVENT=(data["CNSR"] == 0).astype(float))
    return endpoint_estimates(data, key=key, time="AVALM", role=data["ARMCD"].map(roles),
                              adjust=adjust, landmarks=landmarks, convention=convention)


def trial_estimates(adsl: pd.DataFrame, adtte: pd.DataFrame, adrs: pd.DataFrame,
                    adae: pd.DataFrame, protocol: Any) -> dict[str, float]:
    """Headline estimates of one trial (see the module docstring for each rule)."""
    roles = _roles(protocol)
    adjust = list(protocol.analysis.adjust_for)
    convention = protocol.analysis.convention
    itt = adsl[adsl["ITTFL"] == "Y"]
    out: dict[str, float] = {}
    for endpoint in compared_endpoints(protocol):
        out.update(_time_to_event(adtte, itt, endpoint.name.upper(), endpoint.name.lower(),
                                  roles, adjust, landmark_months(protocol, endpoint.name),
                                  convention))
    os_rows = adtte[(adtte["PARAMCD"] == "OS") & adtte["USUBJID"].isin(itt["USUBJID"])]
    if not os_rows.empty:
        follow = median_followup(os_rows["AVALM"].to_numpy(float),
                                 (os_rows["CNSR"] == 0).to_numpy(float), convention=convention)
        out["followup.median"] = float(follow.median)

    bor = adrs[adrs["PARAMCD"] == "BOR"].set_index("USUBJID")["AVALC"]
    safety = adsl[adsl["SAFFL"] == "Y"]
    teae = adae[adae.get("TRTEMFL", pd.Series(dtype=object)) == "Y"] if len(adae) else adae
    suffixes = phase_suffixes(protocol)
    suffix_of = {phase_key(name): suffix for name, suffix in suffixes.items()}
    phases = role_phases(protocol)
    for role in ("control", "experimental"):
        arm = itt[itt["ARMCD"].map(roles) == role]
        responses = arm["USUBJID"].map(bor)
        out[f"response.orr.{role}"] = float(responses.isin(("CR", "PR")).mean())
        if "SURGFL" in arm.columns:
            out[f"surgery.fraction.{role}"] = float((arm["SURGFL"] == "Y").mean())
        treated = safety[safety["ARMCD"].map(roles) == role]
        n = len(treated)
        for phase in phases.get(role, []):
            reduced = treated.get("RED" + suffix_of[phase_key(phase)])
            if reduced is not None and n:
                given = reduced[reduced.notna()]
                out[f"dose_reduction.{phase_label(phase)}.{role}"] = (
                    float((given == "Y").mean()) if len(given) else float("nan"))
        if n and len(teae):
            events = teae[teae["USUBJID"].isin(treated["USUBJID"])]
            severe = events[events["ATOXGR"].isin((3, 4))]
            out[f"safety.grade34.{role}"] = severe["USUBJID"].nunique() / n
            cytolysis = severe[severe["AEDECOD"].isin(CYTOLYSIS_TERMS)]
            out[f"safety.cytolysis34.{role}"] = cytolysis["USUBJID"].nunique() / n
            serious = events[events["AESER"] == "Y"]
            out[f"safety.serious.{role}"] = float(serious["USUBJID"].nunique())
    for phase, suffix in suffixes.items():
        cycles = safety.get("CYC" + suffix)
        if cycles is not None:
            given = cycles[cycles > 0]
            out[f"{phase_label(phase)}.cycles_median"] = (float(given.median()) if len(given)
                                                          else float("nan"))
    return out
