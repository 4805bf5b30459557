"""Fast calibration of a scenario on the replicas' latent truth (no derivations).

:func:`replica_estimates` analyses one replica as a publication would, with
:mod:`oncotrial.stats` applied to ``SimulatedTrial.truth`` - the analysis data the derivations
produce from the replica's SDTM (``tests/simulate/test_trial.py`` checks they agree date for
date) - so hundreds of replicas take seconds instead of the minutes that
:func:`oncotrial.simulate.calibrate.calibrate` (every replica through ``derive_all``) takes.
This is the loop used to tune a scenario's parameters; ``calibrate`` is the final check.

Estimates carry the names of :func:`oncotrial.simulate.estimates.trial_estimates` (so both
calibrations read the same ``<scenario>_targets.yaml``) and follow the protocol the same way:
its compared time-to-event end points (each one whose events the replica draws: OS, PFS or
PFS2 of the truth), its landmarks, its arms' roles and the phases of its regimens, named by
phase. Treatment-delivery shares come in addition, per phase of an arm role, as fractions of
the role's randomised patients: ``treatment.completed_<phase>`` (every cycle of a phase with
``max_cycles`` given), ``treatment.progression_<phase>`` and ``treatment.toxicity_<phase>``
(treatment ended during the phase for progression or toxicity; a phase without
``max_cycles``, given until progression, ends only so), and subsequent therapy under
``subsequent.*``. Kaplan-Meier and Cox follow the protocol's analysis convention; hazard ratios
are adjusted for the protocol's ``adjust_for`` factors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from oncotrial.simulate.estimates import (
    CYTOLYSIS_TERMS,
    compared_endpoints,
    endpoint_estimates,
    landmark_months,
    phase_label,
    role_phases,
)
from oncotrial.stats import median_followup

if TYPE_CHECKING:
    from oncotrial.protocol import Protocol
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import SimulatedTrial

__all__ = ["calibration_table", "replica_estimates", "truth_outcomes"]


def truth_outcomes(protocol: Protocol) -> dict[str, str]:
    """Compared end point (name) -> the ``truth`` outcome (``OS``, ``PFS``, ``PFS2``) with its
    events; an end point whose events a replica does not draw is left out."""
    from oncotrial.simulate.trial import OUTCOMES

    found = {e.name: OUTCOMES.get(frozenset(e.events)) for e in compared_endpoints(protocol)}
    return {name: outcome for name, outcome in found.items() if outcome is not None}


def _delivery(truth: pd.DataFrame, protocol: Protocol, role: pd.Series,
              r: str) -> dict[str, float]:
    """Per phase of the arms of role ``r``: treatment completed, ended for progression,
    ended for toxicity (fractions of the role's patients), and dose reductions among the
    patients given the phase."""
    counts: dict[str, float] = {}
    given: dict[str, list[pd.Series]] = {}
    n = int((role == r).sum())
    for arm in (a for a in protocol.arms if a.role == r):
        rows = truth[truth["ARMCD"] == arm.code]
        reached = rows["TREATED"].to_numpy(bool)
        stop = rows["STOP_REASON"].to_numpy()
        for phase in protocol.regimen(arm.code).phases:
            label = phase_label(phase.name)
            cycles = rows[f"CYCLES_{label.upper()}"].to_numpy()
            done = (cycles >= phase.max_cycles if phase.max_cycles is not None
                    else np.zeros(len(rows), dtype=bool))
            ended = reached & ~done
            keys = [(f"treatment.progression_{label}", ended & (stop == "PROGRESSION")),
                    (f"treatment.toxicity_{label}", ended & (stop == "TOXICITY"))]
            if phase.max_cycles is not None:
                keys.insert(0, (f"treatment.completed_{label}", reached & done))
            for key, hit in keys:
                counts[key] = counts.get(key, 0.0) + float(hit.sum())
            given.setdefault(label, []).append(
                rows.loc[cycles > 0, f"REDUCED_{label.upper()}"])
            reached = reached & done
    out = {f"{key}.{r}": value / n for key, value in counts.items()}
    for label, parts in given.items():
        reduced = pd.concat(parts)
        out[f"dose_reduction.{label}.{r}"] = float(reduced.mean()) if len(reduced) else np.nan
    return out


def replica_estimates(trial: SimulatedTrial, protocol: Protocol) -> dict[str, float]:
    """The published-style estimates of one replica (names as in the module docstring)."""
    t = trial.truth
    roles = {a.code: a.role for a in protocol.arms}
    role = t["ARMCD"].map(roles)
    convention = protocol.analysis.convention
    factors = [f for f in protocol.analysis.adjust_for if t[f].nunique() > 1]
    regimens = sorted((set(t["SECOND_LINE"]) | set(t["THIRD_LINE"])) - {""})
    out: dict[str, float] = {}
    for name, ep in truth_outcomes(protocol).items():
        data = t[[*factors, f"{ep}_MONTHS"]].assign(EVENT=(t[f"{ep}_CNSR"] == 0).astype(float))
        out.update(endpoint_estimates(data, key=name.lower(), time=f"{ep}_MONTHS", role=role,
                                      adjust=factors, landmarks=landmark_months(protocol, name),
                                      convention=convention))
    out["followup.median"] = median_followup(t["OS_MONTHS"], (t["OS_CNSR"] == 0).astype(float),
                                             convention=convention).median
    ae = trial.ae
    severe = ae[ae["AETOXGR"].isin([3, 4])]
    severe_ids = set(severe["USUBJID"])
    cytolysis = set(severe.loc[severe["AEDECOD"].isin(CYTOLYSIS_TERMS), "USUBJID"])
    serious = set(ae.loc[ae["AESER"] == "Y", "USUBJID"])
    phases = role_phases(protocol)
    for r in ("control", "experimental"):
        arm = t[role == r]
        ids = arm.loc[arm["TREATED"], "USUBJID"]
        out[f"response.orr.{r}"] = float(arm["RESPONDER"].mean())
        out[f"safety.grade34.{r}"] = float(ids.isin(severe_ids).mean())
        out[f"safety.cytolysis34.{r}"] = float(ids.isin(cytolysis).mean())
        out[f"safety.serious.{r}"] = float(ids.isin(serious).sum())
        out[f"surgery.fraction.{r}"] = float(arm["SURGERY"].mean())
        if phases.get(r):
            out.update(_delivery(t, protocol, role, r))
        lines = max(int((arm["SECOND_LINE"] != "").sum()), 1)  # per patient given a 2nd line
        for line, column in (("second_line", "SECOND_LINE"), ("later", "THIRD_LINE")):
            for name in regimens:
                out[f"subsequent.{name}_{line}.{r}"] = int((arm[column] == name).sum()) / lines
    for label in dict.fromkeys(phase_label(p) for names in phases.values() for p in names):
        cycles = t[f"CYCLES_{label.upper()}"]
        given = cycles[cycles > 0]
        out[f"{label}.cycles_median"] = float(given.median()) if len(given) else np.nan
    return out


def calibration_table(scenario: Scenario, *, replicas: int = 200, seed: int = 0,
                      targets: Mapping[str, float] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Estimates over ``replicas`` replicas (seeds ``seed .. seed + replicas - 1``): one row
    per estimate with ``target`` (published value, NaN if none), ``mean``, ``q025``, ``q975``
    and ``inside``: the target lies within the central 95 %, widened by half a unit of the
    target's last published digit (a median published as 6 months stands for [5.5, 6.5)).
    ``targets`` default to the scenario's bundled ``<id>_targets.yaml`` when there is one
    (:func:`~oncotrial.simulate.calibrate.default_targets`). ``progress(done, total)`` is
    called after each replica if given."""
    from oncotrial.simulate.calibrate import default_targets
    from oncotrial.simulate.trial import simulate_trial

    if targets is None:
        targets = default_targets(scenario) or {}
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
