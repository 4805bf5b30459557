"""Fast calibration of a scenario on the replicas' latent truth (no derivations).

:func:`replica_estimates` analyses one replica as the publication did, with
:mod:`oncotrial.stats` applied to ``SimulatedTrial.truth`` - the analysis data the derivations
produce from the replica's SDTM (``tests/simulate/test_trial.py`` checks they agree date for
date) - so hundreds of replicas take seconds instead of the minutes that
:func:`oncotrial.simulate.calibrate.calibrate` (every replica through ``derive_all``) takes.
This is the loop used to tune a scenario's parameters; ``calibrate`` is the final check.

Estimates carry the names of :func:`oncotrial.simulate.estimates.trial_estimates` (so both
calibrations read the same ``<scenario>_targets.yaml``), plus Table 1 treatment-delivery
shares under ``treatment.*`` and ``subsequent.*``. Kaplan-Meier and Cox follow the protocol's
analysis convention (as published); hazard ratios are adjusted for the protocol's
``adjust_for`` factors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotrial.simulate.estimates import CYTOLYSIS_TERMS, endpoint_estimates
from oncotrial.stats import median_followup

if TYPE_CHECKING:
    from oncotrial.protocol import Protocol
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import SimulatedTrial

__all__ = ["calibration_table", "replica_estimates"]

ENDPOINTS = ("PFS", "OS", "PFS2")


def replica_estimates(trial: SimulatedTrial, protocol: Protocol, *,
                      landmark: float = 24.0) -> dict[str, float]:
    """The published-style estimates of one replica (names as in the module docstring)."""
    t = trial.truth
    roles = {a.code: a.role for a in protocol.arms}
    role = t["ARMCD"].map(roles)
    convention = protocol.analysis.convention
    factors = [f for f in protocol.analysis.adjust_for if t[f].nunique() > 1]
    regimen = protocol.regimen(protocol.experimental.code)
    induction = regimen.induction.max_cycles
    maintenance = regimen.maintenance.max_cycles if regimen.maintenance is not None else 0
    regimens = sorted((set(t["SECOND_LINE"]) | set(t["THIRD_LINE"])) - {""})
    out: dict[str, float] = {}
    for ep in ENDPOINTS:
        data = t[[*factors, f"{ep}_MONTHS"]].assign(EVENT=(t[f"{ep}_CNSR"] == 0).astype(float))
        out.update(endpoint_estimates(data, key=ep.lower(), time=f"{ep}_MONTHS", role=role,
                                      adjust=factors, landmark=landmark, convention=convention))
    out["followup.median"] = median_followup(t["OS_MONTHS"], (t["OS_CNSR"] == 0).astype(float),
                                             convention=convention).median
    ae = trial.ae
    severe = ae[ae["AETOXGR"].isin([3, 4])]
    severe_ids = set(severe["USUBJID"])
    cytolysis = set(severe.loc[severe["AEDECOD"].isin(CYTOLYSIS_TERMS), "USUBJID"])
    serious = set(ae.loc[ae["AESER"] == "Y", "USUBJID"])
    for r in ("control", "experimental"):
        arm = t[role == r]
        n = len(arm)
        treated = arm[arm["TREATED"]]
        ids = treated["USUBJID"]
        out[f"response.orr.{r}"] = float(arm["RESPONDER"].mean())
        out[f"safety.grade34.{r}"] = float(ids.isin(severe_ids).mean())
        out[f"safety.cytolysis34.{r}"] = float(ids.isin(cytolysis).mean())
        out[f"safety.serious.{r}"] = float(ids.isin(serious).sum())
        out[f"surgery.fraction.{r}"] = float(arm["SURGERY"].mean())
        out[f"dose_reduction.induction.{r}"] = float(treated["REDUCED_INDUCTION"].mean())
        early = arm["CYCLES_INDUCTION"] < induction
        out[f"treatment.completed_induction.{r}"] = float((~early & arm["TREATED"]).sum() / n)
        out[f"treatment.progression_induction.{r}"] = float(
            (early & (arm["STOP_REASON"] == "PROGRESSION")).sum() / n)
        out[f"treatment.toxicity_induction.{r}"] = float(
            (early & (arm["STOP_REASON"] == "TOXICITY")).sum() / n)
        lines = max(int((arm["SECOND_LINE"] != "").sum()), 1)  # per patient given a 2nd line
        for line, column in (("second_line", "SECOND_LINE"), ("later", "THIRD_LINE")):
            for name in regimens:
                out[f"subsequent.{name}_{line}.{r}"] = int((arm[column] == name).sum()) / lines
        if maintenance and r == "experimental":
            cycles = arm["CYCLES_MAINTENANCE"]
            out["maintenance.cycles_median"] = float(cycles[cycles > 0].median())
            out[f"treatment.completed_maintenance.{r}"] = float((cycles == maintenance).sum() / n)
            out[f"treatment.toxicity_maintenance.{r}"] = float(
                (~early & (arm["STOP_REASON"] == "TOXICITY")).sum() / n)
    return out


def calibration_table(scenario: Scenario, *, replicas: int = 200, seed: int = 0,
                      targets: Mapping[str, float] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Estimates over ``replicas`` replicas (seeds ``seed .. seed + replicas - 1``): one row
    per estimate with ``target`` (published value, NaN if none), ``mean``, ``q025``, ``q975``
    and ``inside``: the target lies within the central 95 %, widened by half a unit of the
    target's last published digit (a median published as 6 months stands for [5.5, 6.5)).
    ``targets`` default to the scenario's bundled ``<id>_targets.yaml`` when there is one.
    ``progress(done, total)`` is called after each replica if given."""
    from oncotrial.simulate.calibrate import load_targets
    from oncotrial.simulate.trial import simulate_trial

    if targets is None:
        try:
            targets = load_targets(scenario.id)
        except ValueError:
            targets = {}
    protocol = scenario.protocol_model()
    rows = []
    for i in range(replicas):
        rows.append(replica_estimates(simulate_trial(scenario, seed=seed + i), protocol))
        if progress is not None:
            progress(i + 1, replicas)
    draws = pd.DataFrame(rows)
    table = pd.DataFrame({
        "target": [float(targets.get(c, np.nan)) for c in draws.columns],
        "mean": draws.mean(),
        "q025": draws.quantile(0.025),
        "q975": draws.quantile(0.975),
    }, index=pd.Index(draws.columns, name="estimate"))
    half = table["target"].map(_half_digit)
    inside = (table["target"] + half >= table["q025"]) & (table["target"] - half <= table["q975"])
    table["inside"] = inside.astype(object).where(table["target"].notna(), None)
    return table


def _half_digit(value: float) -> float:
    """Half a unit of the last digit of ``value``'s shortest representation (6 -> 0.5,
    0.03 -> 0.005, 10.5 -> 0.05)."""
    if not np.isfinite(value):
        return np.nan
    text = repr(float(value))
    decimals = 0 if text.endswith(".0") else len(text.split(".")[1])
    return 0.5 * 10.0 ** (-decimals)
