"""Corrections of an allocation by an admin: the allocation itself never changes.

A subject randomised in error keeps the allocation, marked ``in_error``, and its slot
stays used, so the sequence still replays; a wrong stratum is recorded beside the frozen
factor values. Each correction needs a reason and the password, and is audited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.randomise.strata import Design, stratum_label
from oncotrial.server.db.models import Allocation
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, authentication
from oncotrial.server.services.allocation_store import lock_state
from oncotrial.server.services.randomisation import (
    AllocationView,
    allocation_view,
    blinded,
    username,
)
from oncotrial.server.services.sealing import trial_row
from oncotrial.server.services.subjects import subject_row, trial_protocol

__all__ = ["CORRECTIONS", "correct"]

#: the corrections an admin may record
CORRECTIONS = ("randomised_in_error", "wrong_stratum")


def correct(session: Session, principal: Principal, subject_code: str, *, kind: str, reason: str,
            password: str, factors: Mapping[str, Any] | None = None,
            request_id: str | None = None) -> AllocationView:
    """Record a correction (admin; reason and password required; audited).

    ``randomised_in_error``: the allocation is marked ``in_error`` and the subject
    ``in_error``; the slot stays used (never reused) and the state keeps the allocation,
    so the sequence still replays. ``wrong_stratum``: the corrected factor values
    (``factors``) are recorded beside the frozen ones; the allocation is unchanged.
    """
    require(principal, "correct")
    if kind not in CORRECTIONS:
        raise InputError(f"kind: expected one of {', '.join(CORRECTIONS)}, got {kind!r}", field="kind")
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("reason: a correction needs a reason", field="reason")
    authentication.reauthenticate(session, principal.user_id, password, request_id=request_id)
    lock_state(session, principal.trial_id)
    trial = trial_row(session, principal.trial_id)
    subject, site = subject_row(session, principal, subject_code)
    alloc = session.scalars(select(Allocation).where(Allocation.subject_id == subject.id)).one_or_none()
    if alloc is None:
        raise AllocationError(f"subject {subject.code} is not randomised; there is nothing to correct")
    changes: list[tuple[str, Any, Any]]
    if kind == "randomised_in_error":
        if alloc.status == "in_error":
            raise AllocationError(f"subject {subject.code} is already marked randomised in error")
        changes = [("allocation.status", alloc.status, "in_error"), ("subject.status", subject.status, "in_error")]
        alloc.status = "in_error"
        subject.status = "in_error"
    else:
        if factors is None:
            raise InputError("factors: a wrong-stratum correction needs the correct factor values",
                             field="factors")
        design = Design.from_protocol(trial_protocol(trial))
        old = json.loads(alloc.corrected_stratum_json or alloc.stratum_json)
        try:
            new = design.canonical({**old, **dict(factors)})
        except InputError as exc:
            raise InputError(str(exc).replace("stratum", "factors", 1), field="factors") from None
        if new == old:
            raise InputError(f"factors: {new} are the values already recorded", field="factors")
        changes = [(f"factor.{k}", old.get(k), v) for k, v in new.items() if old.get(k) != v]
        changes.append(("stratum", stratum_label(design.factors, tuple(old.values())),
                        stratum_label(design.factors, tuple(new.values()))))
        alloc.corrected_stratum_json = json.dumps(new)
    audit.append(session, action=f"correct.{kind}", entity="subject", entity_id=subject.code,
                 changes=changes, principal=principal, trial_id=trial.id, reason=reason.strip(),
                 request_id=request_id)
    session.flush()
    return allocation_view(blinded(trial), principal, alloc, subject.code, site.code,
                           username(session, alloc.allocated_by))
