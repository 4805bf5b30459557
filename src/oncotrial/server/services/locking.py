"""Database lock at a data cut-off, and unlocking.

A lock freezes every record dated up to the cut-off (and every undated one: baseline forms
belong to every analysis): the services refuse to edit a frozen record, or to save a new
one dated up to the cut-off, with :class:`RecordLocked` (HTTP 409) until an admin unlocks
the database with a reason. At the lock the full SDTM export of the frozen data is made
(:func:`oncotrial.server.services.exports.build_export`) and its SHA-256 recorded on the
lock and in the audit trail, so that the data set an analysis was run on can be shown to be
the one locked: the export is deterministic, and the same request after the lock gives
the same bytes.

One lock at a time: locking a locked database is refused. On PostgreSQL a save or edit
holds the trial's row in share mode and the lock takes it exclusively, so a record cannot
slip into the locked period while the lock is being taken (SQLite's write transactions are
serial already). The command line locks without
a principal (``actor`` names who did, as for the other commands that act on the database
directly).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.core.results import Result
from oncotrial.server.db.models import DatabaseLock, FormRecord, Trial
from oncotrial.server.db.session import is_postgres
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, exports

__all__ = ["LockView", "RecordLocked", "active_lock", "check_writable", "lock", "lock_status",
           "unlock"]


class RecordLocked(AllocationError):
    """The record is frozen by a database lock (the API answers 409)."""


@dataclass(frozen=True, repr=False)
class LockView(Result):
    """A database lock: its cut-off, how many records it froze, the SHA-256 of the export
    made at the lock, who locked and when; after an unlock, who, when and why."""

    cutoff: dt.date
    status: str
    records: int
    export_sha256: str
    locked_at: dt.datetime
    locked_by: str
    unlocked_at: dt.datetime | None
    unlocked_by: str | None
    unlock_reason: str | None


def _view(row: DatabaseLock) -> LockView:
    return LockView(row.cutoff, row.status, row.records, row.export_sha256, row.locked_at,
                    row.locked_by, row.unlocked_at, row.unlocked_by, row.unlock_reason)


def active_lock(session: Session, trial_id: int) -> DatabaseLock | None:
    """The trial's lock in force, if any."""
    return session.scalars(select(DatabaseLock).where(
        DatabaseLock.trial_id == trial_id, DatabaseLock.status == "locked")).one_or_none()


def check_writable(session: Session, trial_id: int, record: FormRecord | None,
                   record_date: dt.date | None, what: str) -> None:
    """Raise :class:`RecordLocked` if ``record`` is frozen, or if data dated
    ``record_date`` would enter the locked period (``what`` names the form in the message)."""
    if is_postgres(session):  # a lock being taken waits for this write, or this for it
        session.execute(select(Trial.id).where(Trial.id == trial_id).with_for_update(read=True))
    held = active_lock(session, trial_id)
    if held is None:
        return
    if record is not None and record.lock_id is not None:
        raise RecordLocked(f"{what} is locked (database lock at the cut-off {held.cutoff}); an "
                           "admin must unlock the database, with a reason, before it is edited")
    if record_date is None or record_date <= held.cutoff:
        dated = "undated data" if record_date is None else f"data dated {record_date}"
        raise RecordLocked(f"{what}: {dated} fall in the locked period (cut-off "
                           f"{held.cutoff}); an admin must unlock the database first")


def lock(session: Session, principal: Principal | None, cutoff: Any, *,
         request_id: str | None = None, actor: str = "cli") -> LockView:
    """Lock the database at ``cutoff`` (inside a write transaction): freeze the records,
    make the export of the frozen data and record its SHA-256."""
    if principal is not None:
        require(principal, "database.lock")
        trial_id = principal.trial_id
    else:
        trial_id = exports.only_trial_id(session)
    day = exports.parse_cutoff(cutoff)
    if is_postgres(session):  # no record is saved or edited while the lock is taken
        session.execute(select(Trial.id).where(Trial.id == trial_id).with_for_update())
    held = active_lock(session, trial_id)
    if held is not None:
        raise RecordLocked(f"the database is already locked at the cut-off {held.cutoff}; "
                           "unlock it first")
    export = exports.build_export(session, trial_id, cutoff=day, masked=False)
    who = principal.username if principal is not None else actor
    row = DatabaseLock(trial_id=trial_id, cutoff=day, status="locked",
                       export_sha256=export.sha256, records=0,
                       locked_at=dt.datetime.now(dt.UTC), locked_by=who)
    session.add(row)
    session.flush()
    frozen = session.execute(update(FormRecord).where(
        FormRecord.trial_id == trial_id,
        or_(FormRecord.record_date.is_(None), FormRecord.record_date <= day)).values(
        lock_id=row.id, status="locked"))
    row.records = int(getattr(frozen, "rowcount", 0) or 0)
    audit.append(session, action="database.lock", entity="database", entity_id=str(row.id),
                 changes=[("cutoff", None, day), ("records", None, row.records),
                          ("export_sha256", None, export.sha256)],
                 principal=principal, trial_id=trial_id,
                 actor=None if principal is not None else actor, request_id=request_id)
    session.flush()
    return _view(row)


def unlock(session: Session, principal: Principal | None, *, reason: Any,
           request_id: str | None = None, actor: str = "cli") -> LockView:
    """Lift the lock in force (admin, with a reason): its records can be edited again."""
    if principal is not None:
        require(principal, "database.unlock")
        trial_id = principal.trial_id
    else:
        trial_id = exports.only_trial_id(session)
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("reason: unlocking the database needs a reason", field="reason")
    held = active_lock(session, trial_id)
    if held is None:
        raise RecordLocked("the database is not locked")
    held.status = "unlocked"
    held.unlocked_at = dt.datetime.now(dt.UTC)
    held.unlocked_by = principal.username if principal is not None else actor
    held.unlock_reason = reason.strip()
    session.execute(update(FormRecord).where(FormRecord.lock_id == held.id).values(
        lock_id=None, status="saved"))
    audit.append(session, action="database.unlock", entity="database", entity_id=str(held.id),
                 changes=[("status", "locked", "unlocked")], principal=principal,
                 trial_id=trial_id, actor=None if principal is not None else actor,
                 reason=reason.strip(), request_id=request_id)
    session.flush()
    return _view(held)


def lock_status(session: Session, principal: Principal) -> list[LockView]:
    """Every lock of the trial, oldest first (every role may know whether data are locked)."""
    require(principal, "form.read")
    return [_view(r) for r in session.scalars(select(DatabaseLock).where(
        DatabaseLock.trial_id == principal.trial_id).order_by(DatabaseLock.id))]
