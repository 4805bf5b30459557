"""The list status an admin sees: per stratum, slots used and remaining, and nothing about
arms or future allocations.

Composed from what the services already show an admin: the strata of the protocol's
design, the allocations (masked) and the list length committed by the go-live audit record.
The role check is the service's; this module adds only the counting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from oncotrial.core.results import Result
from oncotrial.protocol import Protocol
from oncotrial.randomise.strata import Design
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, randomisation

__all__ = ["ListStatus", "StratumStatus", "list_status"]


@dataclass(frozen=True, repr=False)
class StratumStatus(Result):
    """One stratum: its factor levels (label, level label), slots used, and the list length
    and remaining slots (``None`` for methods without a list)."""

    stratum: str
    levels: tuple[tuple[str, str], ...]
    used: int
    total: int | None
    remaining: int | None


@dataclass(frozen=True, repr=False)
class ListStatus(Result):
    """The whole list: method, per-stratum length and the strata."""

    method: str
    per_stratum: int | None
    allocated: int
    strata: tuple[StratumStatus, ...]


def _per_stratum(session: Any, principal: Principal, trial_code: str) -> int | None:
    for record in audit.records(session, principal, entity="trial", entity_id=trial_code,
                                limit=1000):
        if record.action == "trial.go_live":
            for change in record.changes:
                if change["field"] == "per_stratum" and change["new"] is not None:
                    return int(change["new"])
    return None


def list_status(session: Any, principal: Principal, protocol: Protocol,
                trial_code: str) -> ListStatus:
    """Slots used and remaining per stratum (roles that may take the trial live)."""
    require(principal, "trial.go_live")
    design = Design.from_protocol(protocol)
    used = Counter(a.stratum_label for a in randomisation.list_allocations(session, principal))
    method = protocol.randomisation.method
    per = _per_stratum(session, principal, trial_code) if method == "blocks" else None
    names = {f.name: f for f in protocol.stratification}
    rows = []
    for label, levels in zip(design.stratum_labels, design.strata, strict=True):
        shown: list[tuple[str, str]] = []
        for factor, level in zip(design.factors, levels, strict=True):
            spec: Any = names[factor]
            level_labels = {str(k): v for k, v in spec.level_labels.items()}
            shown.append((spec.label or factor, level_labels.get(level, level)))
        n = used.get(label, 0)
        rows.append(StratumStatus(label, tuple(shown), n, per,
                                  None if per is None else max(per - n, 0)))
    return ListStatus(method, per, sum(used.values()), tuple(rows))
