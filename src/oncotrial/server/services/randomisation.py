"""Randomising a subject: concealed, atomic, serialised per trial, idempotent.

An allocation is one transaction: the trial's allocation lock is taken (PostgreSQL: a
transaction-level advisory lock and ``SELECT ... FOR UPDATE`` of the allocation state and
the audit head; SQLite's ``BEGIN IMMEDIATE`` holds the database write lock), which
serialises the allocations of a trial, hence of every stratum; the pure
:func:`oncotrial.randomise.allocate` (the function the simulator uses) gives the arm; for
block methods the next unused slot of the stratum must be the row the sealed list gives for
that position and arm; allocation, slot, state, subject status and audit record are
written together (:mod:`~oncotrial.server.services.allocation_store` keeps the work inside
the lock to four round trips). Unique constraints (one allocation per subject, per slot,
per idempotency key and per sequence number) are the last line of defence. A request
repeated with the same idempotency key returns the original allocation. Refusals (already
randomised, not eligible, exhausted list, a list or state that no longer matches the seal)
are audited in a transaction of their own, so the record of the refusal is not rolled back
with the request; an exhausted list or a broken seal also notifies the admins.

Masking: in a blinded trial every role but the unblinded statistician sees a code (a kit
number, or a letter per arm) instead of the arm; the audit trail of a blinded trial holds
the code, never the arm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.core.results import Result
from oncotrial.randomise import AllocationState, allocate
from oncotrial.randomise.strata import Design, stratum_label
from oncotrial.server.db.models import Allocation, Site, Subject, Trial, User
from oncotrial.server.security import BLINDED_ROLES, Principal, in_scope, require
from oncotrial.server.services import (
    allocation_store,
    audit,
    authentication,
    masking,
    notifications,
)
from oncotrial.server.services.sealing import check_protocol, commitments, trial_row
from oncotrial.server.services.subjects import SubjectNotFound, trial_protocol

__all__ = ["AllocationView", "allocation_view", "blinded", "list_allocations", "randomise",
           "username"]


@dataclass(frozen=True, repr=False)
class AllocationView(Result):
    """An allocation as one principal may see it: the same keys for every arm and role.

    ``arm`` is ``None`` for masked roles of a blinded trial, who see ``code`` (the kit
    number or arm letter); in an open-label trial ``code`` is ``None``. ``stratum`` holds
    the factor values frozen at randomisation; ``corrected_stratum`` those recorded by a
    wrong-stratum correction (the allocation itself never changes).
    """

    subject: str
    site: str
    sequence: int
    stratum: dict[str, str]
    stratum_label: str
    corrected_stratum: dict[str, str] | None
    code: str | None
    arm: str | None
    status: str
    allocated_at: datetime
    allocated_by: str


def blinded(trial: Trial) -> bool:
    """Whether the trial's protocol masks the arm (the protocol text is hash-checked)."""
    return bool(trial_protocol(trial).randomisation.blinded)


def allocation_view(masked_trial: bool, principal: Principal, allocation: Allocation,
                    subject_code: str, site_code: str, username: str) -> AllocationView:
    """The view of ``allocation`` for ``principal``; ``masked_trial``: :func:`blinded`."""
    masked = masked_trial and principal.role in BLINDED_ROLES
    corrected = allocation.corrected_stratum_json
    return AllocationView(
        subject_code, site_code, allocation.sequence, json.loads(allocation.stratum_json),
        allocation.stratum, None if corrected is None else json.loads(corrected),
        allocation.masked_code if masked_trial else None,
        None if masked else allocation.arm, allocation.status, allocation.allocated_at, username)


# ----------------------------------------------------------------------------- randomise

def _refuse(session: Session, principal: Principal, trial_id: int, subject_code: str, message: str,
            request_id: str | None, *, notify: str | None = None) -> AllocationError:
    """Record a refusal in its own transaction (so it survives the request's rollback)."""
    session.rollback()
    session.connection(execution_options={"oncotrial_write": True})
    audit.append(session, action="randomise.refused", entity="subject", entity_id=subject_code,
                 changes=[("refusal", None, message)], principal=principal, trial_id=trial_id,
                 request_id=request_id)
    if notify is not None:
        notifications.notify(session, trial_id, notify, message)
    session.commit()
    return AllocationError(message)


def _check_key(idempotency_key: Any) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 128:
        raise InputError(f"idempotency_key: expected 1-128 characters, got {idempotency_key!r}",
                         field="idempotency_key")
    return idempotency_key


def username(session: Session, user_id: int) -> str:
    """The username of a user id (the id itself if the user is gone)."""
    return session.scalar(select(User.username).where(User.id == user_id)) or str(user_id)


def _fresh_kit(session: Session, trial_id: int) -> str:
    """A kit number no allocation of the trial holds (methods without a sealed list)."""
    while True:
        code = masking.new_kit()
        if session.scalar(select(Allocation.id).where(Allocation.trial_id == trial_id,
                                                      Allocation.masked_code == code)) is None:
            return code


def randomise(session: Session, principal: Principal, subject_code: str, *, password: str,
              idempotency_key: str, request_id: str | None = None) -> AllocationView:
    """Randomise a registered, eligible subject (inside a write transaction).

    Re-authenticates with ``password``; the same ``idempotency_key`` for the same subject
    returns the original allocation (also when the first request is still in flight: the
    second waits for the lock, then finds it). Raises
    :class:`~oncotrial.core.errors.AllocationError` when the subject is already randomised
    (under another key), not eligible, or the stratum's list is exhausted (the admins are
    notified), or when the sealed list or the protocol no longer match their SHA-256.
    """
    require(principal, "randomise")
    key = _check_key(idempotency_key)
    authentication.reauthenticate(session, principal.user_id, password, request_id=request_id)
    # what does not change under a live trial is read before the lock, to keep it short
    trial = allocation_store.read_request(session, principal.trial_id, subject_code)
    if trial is None:
        raise InputError(f"trial: no trial with id {principal.trial_id}", field="trial")
    if trial.status != "live":
        raise AllocationError(f"trial {trial.code} is not live yet; an admin takes it live")
    committed = commitments(session, principal.trial_id, fresh=False)
    check_protocol(trial, committed)
    if trial.subject_id is None or not in_scope(principal, trial.site_id):
        raise SubjectNotFound(f"no subject {subject_code!r} at your site(s)")
    code = trial.subject_code
    protocol = trial_protocol(trial)
    masked_trial = protocol.randomisation.blinded
    design = Design.from_protocol(protocol)
    stratum = design.canonical(json.loads(trial.factors_json or "{}"))
    label = stratum_label(design.factors, tuple(stratum.values()))
    # the lock; from here on each statement sees the allocations committed before it
    sealed = allocation_store.lock_and_read(session, principal.trial_id, stratum=label,
                                            subject_id=trial.subject_id, key=key)
    if sealed is None:
        raise AllocationError(f"trial {trial.code} is not live yet; an admin takes it live")
    if sealed.key_allocation is not None:
        if sealed.key_subject != trial.subject_id:
            raise InputError("idempotency_key: already used for another subject's randomisation",
                             field="idempotency_key")
        original = session.get_one(Allocation, sealed.key_allocation)
        return allocation_view(masked_trial, principal, original, code, trial.site_code,
                               username(session, original.allocated_by))

    def refuse(message: str, notify: str | None = None) -> AllocationError:
        return _refuse(session, principal, principal.trial_id, code, message, request_id,
                       notify=notify)

    if sealed.subject_allocation is not None:
        raise refuse(f"subject {code} is already randomised")
    if trial.subject_status != "registered":
        reasons = "; ".join(json.loads(trial.refusal_json or "[]")) or trial.subject_status
        raise refuse(f"subject {code} cannot be randomised ({trial.eligibility_status}): {reasons}")
    if sealed.list_id is None or sealed.seed is None:
        raise refuse(f"trial {trial.code}: the sealed list or seed is missing; randomisation "
                     f"is refused", "integrity")
    seed = int(sealed.seed)
    if sealed.sha256 != committed.get("list_sha256"):
        raise refuse(f"trial {trial.code}: the recorded list SHA-256 differs from the one "
                     f"committed at go-live; randomisation is refused", "integrity")
    blocks = sealed.method == "blocks"
    current = AllocationState.from_dict(json.loads(sealed.state_json))
    try:
        arm, new_state = allocate(current, stratum, protocol=protocol, seed=seed, subject=code,
                                  per_stratum=sealed.per_stratum if blocks else None)
    except AllocationError as exc:
        raise refuse(str(exc), "list_exhausted" if "exhausted" in str(exc) else None) from None
    except InputError as exc:  # another seed or a state of another protocol: tampering
        raise refuse(f"trial {trial.code}: the stored state does not match the sealed "
                     f"randomisation ({exc}); randomisation is refused", "integrity") from None
    position = dict(new_state.positions)[label]
    shown_code: str | None = None
    if blocks:
        if sealed.slot_id is None or sealed.slot_position != position or sealed.slot_arm != arm:
            raise refuse(f"trial {trial.code}: the next slot of stratum {label} does not match "
                         f"the sealed list; randomisation is refused", "integrity")
        shown_code = sealed.slot_code
    elif masked_trial:
        shown_code = (masking.arm_letters(design, seed)[arm]
                      if protocol.randomisation.blinding.codes == "arm_letter"
                      else _fresh_kit(session, principal.trial_id))
    allocation: dict[str, Any] = {
        "trial_id": principal.trial_id, "subject_id": trial.subject_id,
        "slot_id": sealed.slot_id if blocks else None, "sequence": new_state.counter,
        "stratum_json": json.dumps(stratum), "corrected_stratum_json": None, "stratum": label,
        "arm": arm, "masked_code": shown_code, "idempotency_key": key,
        "allocated_at": datetime.now(UTC), "allocated_by": principal.user_id, "status": "active"}
    shown = ("code", None, shown_code) if masked_trial else ("arm", None, arm)
    record = audit.chained(sealed.head_seq, sealed.head_hash, action="randomise",
                           entity="subject", entity_id=code,
                           changes=[("status", "registered", "randomised"), ("stratum", None, label),
                                    shown], principal=principal, request_id=request_id)
    allocation["id"] = allocation_store.write_allocation(session, allocation, record, new_state)
    return allocation_view(masked_trial, principal, Allocation(**allocation), code,
                           trial.site_code, principal.username)


def list_allocations(session: Session, principal: Principal) -> list[AllocationView]:
    """The allocations of the subjects the principal may see, in allocation order."""
    require(principal, "subject.read")
    trial = trial_row(session, principal.trial_id)
    query = select(Allocation, Subject.code, Site.code, User.username).join(
        Subject, Allocation.subject_id == Subject.id).join(Site, Subject.site_id == Site.id).join(
        User, Allocation.allocated_by == User.id).where(Allocation.trial_id == trial.id).order_by(
        Allocation.sequence)
    if principal.role == "investigator":
        query = query.where(Subject.site_id == principal.site_id)
    masked_trial = blinded(trial)
    return [allocation_view(masked_trial, principal, a, s, site, u)
            for a, s, site, u in session.execute(query).all()]
