"""The statements of an allocation, built once, and the stored allocation state.

Allocations of a trial are serialised, so the time between taking the trial's lock and
committing bounds the throughput, and on PostgreSQL that time is mostly round trips. An
allocation therefore makes four inside the lock: the advisory lock; one read of everything
the allocation depends on (state, sealed list and seed, audit head, an earlier allocation
of the subject or under the idempotency key, the stratum's next free slot), which also
row-locks the state and the audit head; one write (PostgreSQL: a single statement whose
data-modifying ``WITH`` clauses insert the allocation and its audit record and update the
slot, the state, the subject and the audit head; SQLite, where a statement costs no round
trip, the same writes one by one); and the commit.

The stored state is compact: positions, per-level counts and the seed fingerprint. The
allocations themselves (subject, stratum, arm, in order) are rows of ``allocations``, so
the state does not grow with the trial; :func:`stored_state` puts them back for a replay.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import Integer, Row, Table, bindparam, func, insert, select, true, update
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError
from oncotrial.randomise import AllocationState
from oncotrial.server.db.models import (
    Allocation,
    AllocationStateRow,
    AuditHead,
    AuditRecord,
    ListSlot,
    RandomisationList,
    SealedSeed,
    Site,
    Subject,
    Trial,
)
from oncotrial.server.db.session import is_postgres

__all__ = ["ALLOCATION_COLUMNS", "compact_state_json", "lock_and_read", "lock_state",
           "read_request", "stored_state", "write_allocation"]

#: first key of the PostgreSQL advisory lock that queues a trial's allocations
_ADVISORY_KEY = 0x52414E44  # "RAND"

_ALLOCATIONS = cast(Table, Allocation.__table__)
_SLOTS = cast(Table, ListSlot.__table__)
_STATES = cast(Table, AllocationStateRow.__table__)
_SUBJECTS = cast(Table, Subject.__table__)
_RECORDS = cast(Table, AuditRecord.__table__)
_HEAD = cast(Table, AuditHead.__table__)

#: the columns an allocation writes (its id comes from the database)
ALLOCATION_COLUMNS = ("trial_id", "subject_id", "slot_id", "sequence", "stratum_json",
                      "corrected_stratum_json", "stratum", "arm", "masked_code",
                      "idempotency_key", "allocated_at", "allocated_by", "status")

# before the lock: the trial and the subject (with its site's code) in one read
_REQUEST_Q = select(
    Trial.code, Trial.status, Trial.protocol_yaml, Trial.protocol_sha256,
    Subject.id.label("subject_id"), Subject.code.label("subject_code"), Subject.site_id,
    Subject.status.label("subject_status"), Subject.factors_json, Subject.refusal_json,
    Subject.eligibility_status,
    Site.code.label("site_code")).select_from(Trial).outerjoin(
    Subject, (Subject.trial_id == Trial.id) & (Subject.code == bindparam("code"))).outerjoin(
    Site, Subject.site_id == Site.id).where(Trial.id == bindparam("trial_id"))

_ADVISORY_Q = select(func.pg_advisory_xact_lock(_ADVISORY_KEY, bindparam("trial_id", type_=Integer)))

_BY_KEY = (Allocation.trial_id == bindparam("trial_id")) & (Allocation.idempotency_key == bindparam("key"))
_NEXT_SLOT = select(ListSlot.id, ListSlot.position, ListSlot.arm, ListSlot.masked_code).where(
    ListSlot.list_id == select(RandomisationList.id).where(
        RandomisationList.trial_id == bindparam("trial_id")).scalar_subquery(),
    ListSlot.stratum == bindparam("stratum"), ListSlot.allocation_id.is_(None)).order_by(
    ListSlot.position).limit(1).subquery("next_slot")
# under the lock: everything the allocation depends on, in one read
_LOCKED_Q = select(
    AllocationStateRow.state_json, RandomisationList.id.label("list_id"), RandomisationList.method,
    RandomisationList.per_stratum, RandomisationList.sha256, SealedSeed.seed,
    AuditHead.seq.label("head_seq"), AuditHead.hash.label("head_hash"),
    select(Allocation.id).where(_BY_KEY).scalar_subquery().label("key_allocation"),
    select(Allocation.subject_id).where(_BY_KEY).scalar_subquery().label("key_subject"),
    select(Allocation.id).where(Allocation.subject_id == bindparam("subject_id")).scalar_subquery()
    .label("subject_allocation"),
    _NEXT_SLOT.c.id.label("slot_id"), _NEXT_SLOT.c.position.label("slot_position"),
    _NEXT_SLOT.c.arm.label("slot_arm"), _NEXT_SLOT.c.masked_code.label("slot_code"),
).select_from(AllocationStateRow).join(AuditHead, AuditHead.id == 1).outerjoin(
    RandomisationList, RandomisationList.trial_id == AllocationStateRow.trial_id).outerjoin(
    SealedSeed, SealedSeed.trial_id == AllocationStateRow.trial_id).outerjoin(
    _NEXT_SLOT, true()).where(AllocationStateRow.trial_id == bindparam("trial_id"))
_LOCKED_Q_PG = _LOCKED_Q.with_for_update(of=[_STATES, _HEAD])

# the writes, with parameters a_<column> (allocation), r_<column> (audit record), b_*
_NEW_ALLOCATION = insert(_ALLOCATIONS).values(
    {c: bindparam(f"a_{c}", type_=_ALLOCATIONS.c[c].type) for c in ALLOCATION_COLUMNS})
_NEW_RECORD = insert(_RECORDS).values(
    {c.key: bindparam(f"r_{c.key}", type_=c.type) for c in _RECORDS.columns})
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("r_seq"), hash=bindparam("r_hash"))
_STORE_STATE = update(_STATES).where(_STATES.c.trial_id == bindparam("a_trial_id")).values(
    state_json=bindparam("b_state"), version=_STATES.c.version + 1)
_SUBJECT_RANDOMISED = update(_SUBJECTS).where(_SUBJECTS.c.id == bindparam("a_subject_id")).values(
    status="randomised")
_INSERT_ALLOCATION = _NEW_ALLOCATION.returning(_ALLOCATIONS.c.id)
_USE_SLOT = update(_SLOTS).where(_SLOTS.c.id == bindparam("a_slot_id")).values(
    allocation_id=bindparam("b_allocation"))


def _pg_write() -> Any:
    new = _INSERT_ALLOCATION.cte("new_allocation")
    use_slot = update(_SLOTS).where(_SLOTS.c.id == bindparam("a_slot_id")).values(
        allocation_id=select(new.c.id).scalar_subquery()).cte("use_slot")
    return select(new.c.id).add_cte(use_slot, _STORE_STATE.cte("store_state"),
                                    _SUBJECT_RANDOMISED.cte("subject_randomised"),
                                    _NEW_RECORD.cte("audit_record"), _MOVE_HEAD.cte("audit_head"))


_WRITE_PG = _pg_write()

_STORED_Q = select(Subject.code, Allocation.stratum, Allocation.arm).join(
    Subject, Allocation.subject_id == Subject.id).where(
    Allocation.trial_id == bindparam("trial_id")).order_by(Allocation.sequence)


def read_request(session: Session, trial_id: int, subject_code: str) -> Row[*tuple[Any, ...]] | None:
    """The trial's ``code``, ``status`` and protocol with the subject's columns
    (``subject_id`` ... ``site_code``, ``None`` where the trial has no such subject);
    ``None`` if there is no such trial."""
    return session.execute(_REQUEST_Q, {"trial_id": trial_id, "code": subject_code}).one_or_none()


def lock_and_read(session: Session, trial_id: int, *, stratum: str, subject_id: int,
                  key: str) -> Row[*tuple[Any, ...]] | None:
    """Take the trial's allocation lock and read what the next allocation depends on
    (``None`` if the trial has no state yet). SQLite's ``BEGIN IMMEDIATE`` already holds
    the lock; on PostgreSQL see :func:`lock_state`."""
    params = {"trial_id": trial_id, "stratum": stratum, "subject_id": subject_id, "key": key}
    if is_postgres(session):
        session.execute(_ADVISORY_Q, params)
        return session.execute(_LOCKED_Q_PG, params).one_or_none()
    return session.execute(_LOCKED_Q, params).one_or_none()


def lock_state(session: Session, trial_id: int) -> AllocationStateRow:
    """Lock and return the trial's allocation-state row: the lock that serialises the
    allocations of a trial.

    On PostgreSQL the row is locked with ``SELECT ... FOR UPDATE`` after a
    transaction-level advisory lock on the trial. The advisory lock queues the waiters in
    PostgreSQL's lock manager, which grants it to them one at a time; with a row lock alone
    every waiter wakes at each commit and they contend for the updated row again.
    """
    query = select(AllocationStateRow).where(AllocationStateRow.trial_id == trial_id)
    if is_postgres(session):
        session.execute(_ADVISORY_Q, {"trial_id": trial_id})
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise AllocationError(f"trial {trial_id} is not live yet; an admin takes it live")
    return row


def compact_state_json(state: AllocationState) -> str:
    """The state as stored: without the subjects and allocations the table holds."""
    data = state.to_dict()
    del data["subjects"], data["allocations"]
    return json.dumps(data, separators=(",", ":"))


def write_allocation(session: Session, allocation: dict[str, Any], record: dict[str, Any],
                     state: AllocationState) -> int:
    """Write an allocation (``allocation``: :data:`ALLOCATION_COLUMNS`), use its slot,
    store ``state``, mark the subject randomised and append the audit ``record`` (the
    values of :func:`oncotrial.server.services.audit.chained`); return the allocation id.
    The caller holds the lock of :func:`lock_and_read`."""
    params: dict[str, Any] = {f"a_{c}": allocation[c] for c in ALLOCATION_COLUMNS}
    params.update({f"r_{k}": v for k, v in record.items()})
    params["b_state"] = compact_state_json(state)
    if is_postgres(session):
        return int(session.execute(_WRITE_PG, params).scalar_one())
    allocation_id = int(session.execute(_INSERT_ALLOCATION, params).scalar_one())
    if allocation["slot_id"] is not None:
        session.execute(_USE_SLOT, {**params, "b_allocation": allocation_id})
    for statement in (_STORE_STATE, _SUBJECT_RANDOMISED, _NEW_RECORD, _MOVE_HEAD):
        session.execute(statement, params)
    return allocation_id


def stored_state(session: Session, trial_id: int) -> AllocationState:
    """The trial's allocation state with every allocation (subject, stratum, arm) put back
    from the allocations table, in allocation order: what
    :func:`oncotrial.randomise.replay_state` re-runs."""
    row = session.get(AllocationStateRow, trial_id)
    if row is None:
        raise AllocationError(f"trial {trial_id} is not live yet: there is no allocation state")
    state = AllocationState.from_dict(json.loads(row.state_json))
    rows = session.execute(_STORED_Q, {"trial_id": trial_id}).all()
    return replace(state, subjects=tuple(r.code for r in rows),
                   allocations=tuple((r.code, r.stratum, r.arm) for r in rows))
