"""The CONSORT patient flow as a partition: every box splits the box above it.

A reader checks a CONSORT diagram by adding up: the patients allocated to an arm are those
who received the allocated treatment plus those who did not; the patients who started a
phase are those who completed it, stopped it early (for a reason: death is one) and are
still on it; those who completed a phase and could go on are those who entered the next
phase plus those who did not (for a reason). :func:`consort_flow` builds the stages so
that these sums hold by construction (``parent`` names the box each stage splits), and
nobody is "still on" a phase who died or has a reason for stopping.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.results import Result
from oncotrial.io import require_columns

__all__ = ["CONSORT_LABELS", "DEATH", "ConsortFlow", "TreatmentPhase", "arm_phases", "consort_flow"]

#: the printed label of each CONSORT stage that is not a treatment phase's
CONSORT_LABELS: Mapping[str, str] = {
    "allocated": "Allocated",
    "received_treatment": "Received allocated treatment",
    "not_treated": "Did not receive allocated treatment",
    "analysed_itt": "Analysed for efficacy (intention to treat)",
    "analysed_safety": "Analysed for safety (as treated)",
}
#: the reason for stopping of a patient who died with no other reason recorded
DEATH = "DEATH"
#: the reason of a patient who stopped or did not go on with no reason recorded
NOT_RECORDED = "REASON NOT RECORDED"


@dataclasses.dataclass(frozen=True)
class TreatmentPhase:
    """A phase of an arm's treatment as the CONSORT flow counts it: the protocol's phase
    ``name``, the ``suffix`` of its ADSL variables (``EOT<suffix>``, ``CYC<suffix>``; see
    :func:`oncotrial.clinical.exposure.phase_suffixes`) and whether it is ``open_ended``
    (given until progression: no one completes it, so it has no "completed" stage unless
    someone's ``EOT<suffix>`` says ``COMPLETED``)."""

    name: str
    suffix: str
    open_ended: bool = False

    @property
    def key(self) -> str:
        """The phase in a stage name: ``completed_<key>``."""
        return re.sub(r"[^0-9a-z]+", "_", self.name.casefold()).strip("_") or "phase"

    @property
    def label(self) -> str:
        """The phase as printed: its name with spaces for underscores."""
        return self.name.replace("_", " ")


@dataclasses.dataclass(frozen=True, repr=False)
class ConsortFlow(Result):
    """Patient flow: ``table`` with ``stage, arm, n, reason, parent`` (``arm`` None for the
    total; one row per stage and arm with ``reason`` None, then one per reason; ``parent``:
    the stage this stage is a part of — the stages with one parent partition it);
    ``labels``: every stage of ``table`` in order → its printed label; ``omitted`` names the
    stages left out because ADSL lacks their variable."""

    table: pd.DataFrame
    omitted: tuple[str, ...]
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """ARD records: ``arm, subgroup (stage or stage: reason), statistic n, value``."""
        t = self.table
        subgroup = np.where(t["reason"].isna(), t["stage"], t["stage"] + ": " + t["reason"].fillna(""))
        return pd.DataFrame({"arm": t["arm"], "subgroup": subgroup, "statistic": "n",
                             "value": t["n"].astype(float)})

    def unbalanced(self) -> list[str]:
        """The boxes whose parts do not add up to them (empty when the flow is a partition):
        per arm, the stages naming a parent must sum to it, and a stage's reasons to it."""
        t = self.table
        totals = t[t["reason"].isna()]
        n = {(r.stage, r.arm): int(r.n) for r in totals.itertuples(index=False)}
        out: list[str] = []
        parts = totals[totals["parent"].notna()]
        whole = parts[parts["parent"].map(lambda p: (p, None) in n)]  # a total over the arms
        for (parent, arm), block in parts.drop(whole.index).groupby(["parent", "arm"], sort=False):
            if int(block["n"].sum()) != n.get((parent, arm), -1):
                out.append(f"{arm}: {' + '.join(block['stage'])} = {int(block['n'].sum())}, "
                           f"{parent} = {n.get((parent, arm))}")
        for parent, block in whole.groupby("parent", sort=False):
            if int(block["n"].sum()) != n[(parent, None)]:
                out.append(f"all arms: {parent} = {n[(parent, None)]}, its parts = {int(block['n'].sum())}")
        reasons = t[t["reason"].notna()].groupby(["stage", "arm"], sort=False)["n"].sum()
        out += [f"{arm}: reasons of {stage} = {int(k)}, {stage} = {n[(stage, arm)]}"
                for (stage, arm), k in reasons.items() if int(k) != n[(stage, arm)]]
        return out

    def __repr__(self) -> str:
        return f"ConsortFlow({len(self.table)} rows, omitted={list(self.omitted)})"


def arm_phases(protocol: Any, labels: Mapping[str, str]) -> dict[str, list[TreatmentPhase]]:
    """Arm label (``labels``: arm code → its ADSL ``ARM``) → the arm's treatment phases in
    the protocol's order, with the suffix of their ADSL variables."""
    from oncotrial.clinical.exposure import phase_suffixes  # the clinical tree is heavy to import

    suffixes = phase_suffixes(protocol)
    return {labels[a.code]: [TreatmentPhase(p.name, suffixes[p.name], p.open_ended)
                             for p in protocol.regimens[a.code].phases] for a in protocol.arms}


class _Builder:
    """The rows of the flow, one stage at a time."""

    def __init__(self, itt: pd.DataFrame, arm: str, order: Sequence[str]) -> None:
        self.itt, self.arm, self.order = itt, arm, list(order)
        self.rows: list[dict[str, Any]] = [{"stage": "randomised", "arm": None, "n": len(itt), "reason": None,
                                            "parent": None}]
        self.labels: dict[str, str] = {}

    def count(self, stage: str, label: str, mask: pd.Series, parent: str | None,
              among: Sequence[str] | None = None, reasons: pd.Series | None = None, by: str | None = None,
              keep_empty: bool = True) -> None:
        """One row per arm of ``among`` (patients of ``mask``), then one per reason."""
        groups = self.itt[by or self.arm].astype(str)
        block: list[dict[str, Any]] = []
        for a in self.order if among is None else among:
            here = mask & (groups == a)
            block.append({"stage": stage, "arm": a, "n": int(here.sum()), "reason": None, "parent": parent})
            if reasons is not None:
                counts = reasons[here].value_counts()
                block.extend({"stage": stage, "arm": a, "n": int(n), "reason": str(r), "parent": parent}
                             for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
        if keep_empty or any(r["n"] for r in block):
            self.labels[stage] = label
            self.rows.extend(block)


def _reason(values: pd.Series, dead: pd.Series) -> pd.Series:
    """The recorded reason, else death for a patient who died, else "not recorded"."""
    recorded = values.where(values.notna() & (values.astype(str).str.strip() != ""))
    return recorded.fillna(pd.Series(np.where(dead, DEATH, NOT_RECORDED), index=values.index))


def consort_flow(adsl: pd.DataFrame, *, arm: str = "ARM", actual_arm: str = "ACTARM",
                 arms: Sequence[str] | None = None,
                 phases: Mapping[str, Sequence[TreatmentPhase]] | None = None) -> ConsortFlow:
    """The CONSORT flow of the randomised patients (``ITTFL = "Y"``), per planned ``arm``.

    ``randomised`` (total) → ``allocated`` → ``received_treatment`` (``SAFFL = "Y"``) and
    ``not_treated``. Then, per arm, its ``phases`` in order (arm → phases; default none):
    the patients who started a phase (the treated for the first phase) split into
    ``completed_<phase>`` (``EOT<suffix> = "COMPLETED"``; not shown for an open-ended phase
    nobody completed), ``discontinued_<phase>`` per reason (the other ``EOT<suffix>`` values,
    and :data:`DEATH` for a patient with no end of treatment who died, ``DTHDT`` set) and
    ``ongoing_<phase>`` (the rest: no end of treatment, alive). The patients who completed a
    phase that has a next one split into ``entered_<next>`` (``CYC<next suffix> > 0``) and
    ``not_entered_<next>`` per reason (``EOT<next suffix>``, else death, else "reason not
    recorded"). ``analysed_itt`` (every randomised patient) and ``analysed_safety``
    (``SAFFL = "Y"``, by ``actual_arm``) close the flow; they are not part of the partition.
    A stage whose variable is absent is listed in ``omitted``, and the phases after it too.
    """
    require_columns(adsl, ["ITTFL", arm], source="ADSL")
    itt = adsl[adsl["ITTFL"] == "Y"].reset_index(drop=True)
    order = list(arms) if arms is not None else sorted(itt[arm].astype(str).unique())
    has = set(itt.columns)
    flow = _Builder(itt, arm, order)
    omitted: list[str] = []
    everyone = pd.Series(True, index=itt.index)
    dead = itt["DTHDT"].notna() if "DTHDT" in has else pd.Series(False, index=itt.index)
    flow.count("allocated", CONSORT_LABELS["allocated"], everyone, "randomised")
    by_arm = {a: list((phases or {}).get(a, ())) for a in order}
    if "SAFFL" in has:
        treated = itt["SAFFL"] == "Y"
        flow.count("received_treatment", CONSORT_LABELS["received_treatment"], treated, "allocated")
        flow.count("not_treated", CONSORT_LABELS["not_treated"], ~treated, "allocated")
        _phases(flow, itt, by_arm, treated, dead, omitted)
    else:
        omitted.append("received_treatment (no SAFFL)")
    flow.count("analysed_itt", CONSORT_LABELS["analysed_itt"], everyone, None)
    if "SAFFL" in has and actual_arm in has:
        flow.count("analysed_safety", CONSORT_LABELS["analysed_safety"], itt["SAFFL"] == "Y", None, by=actual_arm)
    else:
        omitted.append(f"analysed_safety (no SAFFL or {actual_arm})")
    table = pd.DataFrame(flow.rows, columns=["stage", "arm", "n", "reason", "parent"])
    return ConsortFlow(table, tuple(dict.fromkeys(omitted)), flow.labels)


def _phases(flow: _Builder, itt: pd.DataFrame, by_arm: Mapping[str, list[TreatmentPhase]],
            treated: pd.Series, dead: pd.Series, omitted: list[str]) -> None:
    """The stages of every phase, in the order the arms list the phases (see consort_flow)."""
    has = set(itt.columns)
    groups = itt[flow.arm].astype(str)
    # per arm: the patients who started its current phase, and the stage they are in
    started = {a: (treated & (groups == a), "received_treatment") for a in flow.order}
    position = {a: 0 for a in flow.order}
    distinct = list({p.name: p for a in flow.order for p in by_arm[a]}.values())
    for phase in distinct:
        holders = [a for a in flow.order if position[a] < len(by_arm[a]) and by_arm[a][position[a]].name == phase.name]
        if not holders:
            continue
        eot, cyc = f"EOT{phase.suffix}", f"CYC{phase.suffix}"
        entering = [a for a in holders if position[a] > 0]
        if entering and cyc not in has:
            omitted.append(f"entered_{phase.key} (no {cyc})")
        if eot not in has:
            omitted.append(f"completed_{phase.key} (no {eot})")
        if (entering and cyc not in has) or eot not in has:
            for a in holders:
                position[a] = len(by_arm[a])  # the later phases cannot be placed either
            continue
        end = itt[eot].where(itt[eot].notna() & (itt[eot].astype(str).str.strip() != ""))
        for a in entering:  # who completed the previous phase: entered this one or did not
            base, parent = started[a]
            cycles = pd.to_numeric(itt[cyc], errors="coerce").fillna(0)
            went_on = base & (cycles > 0)
            flow.count(f"entered_{phase.key}", f"Entered {phase.label}", went_on, parent, [a])
            flow.count(f"not_entered_{phase.key}", f"Did not enter {phase.label}", base & ~went_on, parent, [a],
                       reasons=_reason(end, dead))
            started[a] = (went_on, f"entered_{phase.key}")
        for a in holders:
            base, parent = started[a]
            completed = base & (end == "COMPLETED")
            flow.count(f"completed_{phase.key}", f"Completed {phase.label}", completed, parent, [a],
                       keep_empty=not phase.open_ended)
            flow.count(f"discontinued_{phase.key}", f"Stopped {phase.label}", base & ~completed & (end.notna() | dead),
                       parent, [a], reasons=_reason(end, dead))
            flow.count(f"ongoing_{phase.key}", f"Still on {phase.label}", base & end.isna() & ~dead, parent, [a],
                       keep_empty=False)
        for a in holders:
            position[a] += 1
            started[a] = (started[a][0] & (end == "COMPLETED"), f"completed_{phase.key}")
