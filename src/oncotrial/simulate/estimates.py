"""The headline estimates of one trial, computed from its ADaM data as the paper reports them.

Used by the calibration of in-silico replicas (:mod:`oncotrial.simulate.calibrate`): every
replica goes through the real derivations (:func:`oncotrial.clinical.derive_all`) and then
through this function, so a published number is compared with the same estimator applied to
simulated data. Every estimator is from :mod:`oncotrial.stats`:

* medians and landmark rates: Kaplan–Meier per arm (time in months, ``AVALM``), under the
  protocol's analysis convention (as published);
* hazard ratios: Cox model (the convention's ties) of experimental vs control adjusted for the
  protocol's ``analysis.adjust_for`` factors (as published);
* median follow-up: reversed Kaplan–Meier of OS over all randomised patients;
* ORR: best overall response CR or PR among randomised patients (ADRS ``BOR``);
* adverse events: share of the safety population with a treatment-emergent event of grade 3
  or 4 (any term, and cytolysis = ALT or AST increased), and patients with a serious event;
* surgery after induction and induction dose reductions: ADSL ``SURGFL`` among randomised
  and ``REDINDUC`` among the safety population.

Names are ``<end point>.<statistic>[.<arm role>]`` (``pfs.median.control``,
``os.hazard_ratio``, ``safety.grade34.experimental``); an estimate that does not exist in a
replica (e.g. a median not reached) is NaN, never dropped, so calibration can count it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from oncotrial.stats import coxph, kaplan_meier, median_followup

__all__ = ["CYTOLYSIS_TERMS", "endpoint_estimates", "trial_estimates"]

#: CTCAE terms counted as "cytolysis" (hepatic transaminase increase), as in the paper
CYTOLYSIS_TERMS = ("Alanine aminotransferase increased", "Aspartate aminotransferase increased")
_ENDPOINTS = ("PFS", "OS", "PFS2")


def _roles(protocol: Any) -> dict[str, str]:
    return {arm.code: arm.role for arm in protocol.arms}


def endpoint_estimates(data: pd.DataFrame, *, key: str, time: str, role: pd.Series,
                       adjust: list[str], landmark: float, convention: str) -> dict[str, float]:
    """KM median, landmark rate and events per arm role, and the Cox HR of experimental vs
    control adjusted for ``adjust``, of one end point: ``data`` has ``time``, ``EVENT``
    (1 = event) and the ``adjust`` columns; ``role`` maps each row to its arm's role. Shared
    with the quick calibration, which applies it to the replica's latent truth."""
    out: dict[str, float] = {}
    data = data.assign(EXPERIMENTAL=(role == "experimental").astype(float).to_numpy())
    for r in ("control", "experimental"):
        arm = data[(role == r).to_numpy()]
        km = kaplan_meier(arm[time].to_numpy(float), arm["EVENT"].to_numpy(),
                          convention=convention)
        out[f"{key}.median.{r}"] = float(km.median().estimate)
        out[f"{key}.rate_{landmark:g}m.{r}"] = float(
            km.survival_at([landmark])["survival"].iloc[0])
        out[f"{key}.events.{r}"] = float(arm["EVENT"].sum())
    usable = data.dropna(subset=adjust) if adjust else data
    fit = coxph(usable, time=time, event="EVENT", covariates=["EXPERIMENTAL", *adjust],
                categorical=[c for c in adjust if not pd.api.types.is_numeric_dtype(usable[c])],
                convention=convention)
    out[f"{key}.hazard_ratio"] = float(np.exp(fit.coef[0]))
    return out


def _time_to_event(adtte: pd.DataFrame, adsl: pd.DataFrame, paramcd: str, roles: dict[str, str],
                   adjust: list[str], landmark: float, convention: str) -> dict[str, float]:
    rows = adtte[adtte["PARAMCD"] == paramcd]
    if rows.empty:
        return {}
    data = rows.merge(adsl[["USUBJID", "ARMCD", *adjust]], on="USUBJID")
    data = data.assign(EVENT=(data["CNSR"] == 0).astype(float))
    return endpoint_estimates(data, key=paramcd.lower(), time="AVALM",
                              role=data["ARMCD"].map(roles), adjust=adjust, landmark=landmark,
                              convention=convention)


def trial_estimates(adsl: pd.DataFrame, adtte: pd.DataFrame, adrs: pd.DataFrame,
                    adae: pd.DataFrame, protocol: Any, *, landmark: float = 24.0,
                    ) -> dict[str, float]:
    """Headline estimates of one trial (see the module docstring for each rule)."""
    roles = _roles(protocol)
    adjust = list(protocol.analysis.adjust_for)
    convention = protocol.analysis.convention
    itt = adsl[adsl["ITTFL"] == "Y"]
    out: dict[str, float] = {}
    for paramcd in _ENDPOINTS:
        out.update(_time_to_event(adtte, itt, paramcd, roles, adjust, landmark, convention))
    os_rows = adtte[(adtte["PARAMCD"] == "OS") & adtte["USUBJID"].isin(itt["USUBJID"])]
    if not os_rows.empty:
        follow = median_followup(os_rows["AVALM"].to_numpy(float),
                                 (os_rows["CNSR"] == 0).to_numpy(float), convention=convention)
        out["followup.median"] = float(follow.median)

    bor = adrs[adrs["PARAMCD"] == "BOR"].set_index("USUBJID")["AVALC"]
    safety = adsl[adsl["SAFFL"] == "Y"]
    teae = adae[adae.get("TRTEMFL", pd.Series(dtype=object)) == "Y"] if len(adae) else adae
    for role in ("control", "experimental"):
        arm = itt[itt["ARMCD"].map(roles) == role]
        responses = arm["USUBJID"].map(bor)
        out[f"response.orr.{role}"] = float(responses.isin(("CR", "PR")).mean())
        if "SURGFL" in arm.columns:
            out[f"surgery.fraction.{role}"] = float((arm["SURGFL"] == "Y").mean())
        treated = safety[safety["ARMCD"].map(roles) == role]
        n = len(treated)
        if "REDINDUC" in treated.columns and n:
            out[f"dose_reduction.induction.{role}"] = float((treated["REDINDUC"] == "Y").mean())
        if n and len(teae):
            events = teae[teae["USUBJID"].isin(treated["USUBJID"])]
            severe = events[events["ATOXGR"].isin((3, 4))]
            out[f"safety.grade34.{role}"] = severe["USUBJID"].nunique() / n
            cytolysis = severe[severe["AEDECOD"].isin(CYTOLYSIS_TERMS)]
            out[f"safety.cytolysis34.{role}"] = cytolysis["USUBJID"].nunique() / n
            serious = events[events["AESER"] == "Y"]
            out[f"safety.serious.{role}"] = float(serious["USUBJID"].nunique())
    maintenance = safety.get("CYCMAINT")
    if maintenance is not None:
        given = maintenance[maintenance > 0]
        out["maintenance.cycles_median"] = float(given.median()) if len(given) else float("nan")
    return out
