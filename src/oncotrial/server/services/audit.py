"""The audit trail: append-only and hash-chained.

Every change the service makes is recorded in the same transaction as the change: who
(user, role, site), what (action, entity, field, old and new value), when (UTC), why
(reason) and the request id. Record *n* stores ``hash = SHA-256(hash of record n-1 +
canonical JSON of record n)``, the first one chaining from 64 zeros, and the one-row
``audit_head`` holds the last sequence number and hash. :func:`verify` recomputes the chain:
an edited record no longer matches its hash, a deleted one leaves a gap in the sequence
(or, at the end, disagrees with the head), an inserted or reordered one breaks the link to
its predecessor.

The database backs this up: triggers refuse UPDATE and DELETE of records, and on
PostgreSQL the application's role may only SELECT and INSERT them. A chain is evidence
against edits by anyone who cannot also rewrite every later record and the head; someone
who owns the database can, which is why backups (whose head hashes can be kept elsewhere)
matter.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.server.db.models import AuditHead, AuditRecord
from oncotrial.server.security import Principal, require

__all__ = ["EXPORT_COLUMNS", "GENESIS", "INSERT_RECORD", "LOCK_HEAD", "MOVE_HEAD", "AuditVerification",
           "AuditView", "Change", "append", "canonical", "chained", "export", "export_text", "list_records",
           "record_dict", "records", "render", "verify", "verify_for"]

#: the hash the first record chains from
GENESIS = "0" * 64

#: the columns of a CSV export: one row per changed field (a record without changes has one)
EXPORT_COLUMNS = ("seq", "at", "trial_id", "user_id", "username", "role", "site_id", "action",
                  "entity", "entity_id", "field", "old", "new", "reason", "request_id", "client",
                  "prev_hash", "hash")

#: a change: (field, old value, new value)
Change = tuple[str, Any, Any]

_RECORDS = cast(Table, AuditRecord.__table__)
_HEAD = cast(Table, AuditHead.__table__)
# the statements of an append, built once (every allocation appends while holding its lock)
#: lock the audit head and read the last sequence number and hash
LOCK_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
#: insert the values of :func:`chained`
INSERT_RECORD = insert(_RECORDS)
#: move the head to the record just inserted (parameters ``b_seq``, ``b_hash``)
MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """A change's value as JSON: dates and times as ISO 8601, containers recursively;
    anything else must already be JSON (a str, number, bool or None)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return value
    if isinstance(value, dt.datetime):
        return _iso(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"an audit value must be JSON data, got {type(value).__name__}")


def _changes(changes: Iterable[Change]) -> list[dict[str, Any]]:
    out = []
    for change in changes:
        if not isinstance(change, tuple) or len(change) != 3 or not isinstance(change[0], str):
            raise TypeError(f"a change is (field, old, new), got {change!r}")
        field, old, new = change
        out.append({"field": field, "old": _plain(old), "new": _plain(new)})
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def record_dict(record: AuditRecord) -> dict[str, Any]:
    """A record as plain data (the fields its hash covers, plus the hashes)."""
    return {
        "seq": record.seq, "at": _iso(record.at), "trial_id": record.trial_id,
        "user_id": record.user_id, "username": record.username, "role": record.role,
        "site_id": record.site_id, "action": record.action, "entity": record.entity,
        "entity_id": record.entity_id, "changes": json.loads(record.changes_json),
        "reason": record.reason, "request_id": record.request_id, "client": record.client,
        "prev_hash": record.prev_hash, "hash": record.hash,
    }


def canonical(record: AuditRecord) -> str:
    """The canonical JSON of what ``record``'s hash covers: every field but the hashes,
    keys sorted, no spaces, the time as UTC ISO 8601 with microseconds."""
    data = record_dict(record)
    del data["prev_hash"], data["hash"]
    return _dumps(data)


def _hash(prev_hash: str, record: AuditRecord) -> str:
    return hashlib.sha256((prev_hash + canonical(record)).encode("utf-8")).hexdigest()


def chained(head_seq: int, head_hash: str, *, action: str, entity: str,
            entity_id: str | int | None = None, changes: Sequence[Change] = (),
            principal: Principal | None = None, trial_id: int | None = None,
            reason: str | None = None, request_id: str | None = None, client: str | None = None,
            actor: str | None = None, at: dt.datetime | None = None) -> dict[str, Any]:
    """The column values of the record that follows the head ``(head_seq, head_hash)``,
    its hash computed (the arguments are those of :func:`append`).

    For a caller that writes the record in a statement of its own while it holds the audit
    head (see :func:`append` for the locking it needs): the allocation writes its record,
    the head and its own rows in one statement.
    """
    for name, value in (("action", action), ("entity", entity)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{name}: an audit record needs a non-empty {name}", field=name)
    now = at if at is not None else dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise TypeError("at must be timezone-aware")
    # PostgreSQL keeps microseconds: the hash must cover what is stored
    now = now.astimezone(dt.UTC)
    record = AuditRecord(
        seq=head_seq + 1, at=now,
        trial_id=principal.trial_id if principal is not None else trial_id,
        user_id=principal.user_id if principal is not None else None,
        username=principal.username if principal is not None else actor,
        role=principal.role if principal is not None else None,
        site_id=principal.site_id if principal is not None else None,
        action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        changes_json=_dumps(_changes(changes)), reason=reason,
        request_id=request_id, client=client, prev_hash=head_hash, hash="")
    record.hash = _hash(head_hash, record)
    return {column.key: getattr(record, column.key) for column in _RECORDS.columns}


def append(session: Session, *, action: str, entity: str, entity_id: str | int | None = None,
           changes: Sequence[Change] = (), principal: Principal | None = None,
           trial_id: int | None = None, reason: str | None = None, request_id: str | None = None,
           client: str | None = None, actor: str | None = None,
           at: dt.datetime | None = None) -> AuditRecord:
    """Append a record to the chain, in the caller's (write) transaction; return it (not
    attached to the session).

    ``principal`` is who acted; without one (the command line, a failed login) ``actor``
    names who did (a username or ``"cli"``) and ``trial_id`` the trial. The audit head row is
    locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write transaction
    holds the database lock already), so records are numbered without gaps in commit order.
    """
    head = session.execute(LOCK_HEAD).one()
    values = chained(head.seq, head.hash, action=action, entity=entity, entity_id=entity_id,
                     changes=changes, principal=principal, trial_id=trial_id, reason=reason,
                     request_id=request_id, client=client, actor=actor, at=at)
    # one INSERT and one UPDATE, without the unit of work
    session.execute(INSERT_RECORD, values)
    session.execute(MOVE_HEAD, {"b_seq": values["seq"], "b_hash": values["hash"]})
    return AuditRecord(**values)


@dataclasses.dataclass(frozen=True, repr=False)
class AuditVerification(Result):
    """The outcome of :func:`verify`: ``ok`` when every record matches its hash and links
    to its predecessor, the sequence has no gaps and the head names the last record."""

    ok: bool
    records: int
    head_seq: int
    head_hash: str
    problems: tuple[str, ...]


def verify(session: Session, *, max_problems: int = 50) -> AuditVerification:
    """Recompute the whole chain (see the module docstring); list what is wrong, by
    sequence number."""
    problems: list[str] = []
    prev_hash, expected_seq, count = GENESIS, 1, 0
    rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()
    for record in rows:
        count += 1
        if record.seq != expected_seq:
            problems.append(f"record {record.seq}: expected sequence number {expected_seq} "
                            f"(records {expected_seq}..{record.seq - 1} missing or renumbered)"
                            if record.seq > expected_seq else
                            f"record {record.seq}: sequence number out of order")
        if record.prev_hash != prev_hash:
            problems.append(f"record {record.seq}: does not link to the record before it "
                            f"(inserted, deleted or reordered)")
        if _hash(record.prev_hash, record) != record.hash:
            problems.append(f"record {record.seq}: content does not match its hash (edited)")
        prev_hash, expected_seq = record.hash, record.seq + 1
        session.expunge(record)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).execution_options(
        populate_existing=True)).scalar_one_or_none()
    if head is None:
        problems.append("the audit head row is missing")
        head_seq, head_hash = 0, ""
    else:
        head_seq, head_hash = head.seq, head.hash
        if (head.seq, head.hash) != (expected_seq - 1, prev_hash):
            problems.append(f"the audit head names record {head.seq}, the last record is "
                            f"{expected_seq - 1} (records deleted at the end, or the head edited)")
    shown = problems[:max_problems]
    if len(problems) > max_problems:
        shown.append(f"... and {len(problems) - max_problems} more problems")
    return AuditVerification(ok=not problems, records=count, head_seq=head_seq,
                             head_hash=head_hash, problems=tuple(shown))


def list_records(session: Session, *, trial_id: int | None = None, entity: str | None = None,
                 entity_id: str | None = None, username: str | None = None,
                 action: str | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, after_seq: int = 0, limit: int | None = None,
                 offset: int = 0) -> list[dict[str, Any]]:
    """Records as plain data, oldest first, filtered (all filters optional; ``since``
    inclusive, ``until`` exclusive; ``after_seq`` for paging). A ``trial_id`` also keeps
    the records of no trial (failed logins of unknown users)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"limit: expected a positive whole number, got {limit!r}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InputError(f"offset: expected a whole number >= 0, got {offset!r}", field="offset")
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise InputError(f"after_seq: expected a whole number >= 0, got {after_seq!r}",
                         field="after_seq")
    query = select(AuditRecord).where(AuditRecord.seq > after_seq).order_by(AuditRecord.seq)
    if trial_id is not None:
        query = query.where(or_(AuditRecord.trial_id == trial_id, AuditRecord.trial_id.is_(None)))
    for column, value in ((AuditRecord.entity, entity),
                          (AuditRecord.entity_id, entity_id), (AuditRecord.username, username),
                          (AuditRecord.action, action)):
        if value is not None:
            query = query.where(column == value)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and (not isinstance(moment, dt.datetime) or moment.tzinfo is None):
            raise InputError(f"{name}: expected a timezone-aware date and time", field=name)
    if since is not None:
        query = query.where(AuditRecord.at >= since)
    if until is not None:
        query = query.where(AuditRecord.at < until)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [record_dict(r) for r in session.execute(query).scalars()]


def render(records: Sequence[dict[str, Any]], fmt: str = "csv") -> str:
    """Records (as :func:`list_records` gives them) as CSV text (one row per changed field,
    values as JSON) or JSON text (a list of records)."""
    if fmt not in ("csv", "json"):
        raise InputError(f"format: expected csv or json, got {fmt!r}", field="format")
    if fmt == "json":
        return json.dumps(list(records), indent=1, ensure_ascii=False) + "\n"
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for record in records:
        for change in record["changes"] or [{"field": None, "old": None, "new": None}]:
            row = dict(record, field=change["field"],
                       old=None if change["field"] is None else _dumps(change["old"]),
                       new=None if change["field"] is None else _dumps(change["new"]))
            writer.writerow(["" if row[c] is None else row[c] for c in EXPORT_COLUMNS])
    return out.getvalue()


def export(session: Session, path: str | Path, fmt: str = "csv", **filters: Any) -> int:
    """Write the records (filtered as :func:`list_records`) to ``path`` (:func:`render`);
    returns the number of records written."""
    if fmt not in ("csv", "json"):
        raise InputError(f"format: expected csv or json, got {fmt!r}", field="format")
    records = list_records(session, **filters)
    Path(path).write_text(render(records, fmt), encoding="utf-8", newline="")
    return len(records)


# ----------------------------------------------------------------------------- for a principal

@dataclasses.dataclass(frozen=True, repr=False)
class AuditView(Result):
    """One audit record as the API shows it."""

    seq: int
    at: str
    trial_id: int | None
    user_id: int | None
    username: str | None
    role: str | None
    site_id: int | None
    action: str
    entity: str
    entity_id: str | None
    changes: list[dict[str, Any]]
    reason: str | None
    request_id: str | None
    client: str | None
    prev_hash: str
    hash: str


def records(session: Session, principal: Principal, *, limit: int = 100, after_seq: int = 0,
            entity: str | None = None, entity_id: str | None = None,
            username: str | None = None) -> list[AuditView]:
    """The principal's trial's records after ``after_seq`` (role ``audit.read``). Records
    carry no concealed values: the services never write an arm, list, seed or state of a
    blinded trial into the trail."""
    require(principal, "audit.read")
    rows = list_records(session, trial_id=principal.trial_id, entity=entity,
                        entity_id=entity_id, username=username, after_seq=after_seq,
                        limit=limit)
    return [AuditView(**row) for row in rows]


def verify_for(session: Session, principal: Principal) -> AuditVerification:
    """:func:`verify`, for a role that may read the trail."""
    require(principal, "audit.read")
    return verify(session)


def export_text(session: Session, principal: Principal, fmt: str = "csv", *,
                request_id: str | None = None) -> str:
    """The trial's whole trail as CSV or JSON text (role ``audit.export``); the export is
    itself recorded, in the caller's write transaction."""
    require(principal, "audit.export")
    if fmt not in ("csv", "json"):
        raise InputError(f"format: expected csv or json, got {fmt!r}", field="format")
    rows = list_records(session, trial_id=principal.trial_id)
    append(session, action="audit.export", entity="audit", principal=principal,
           request_id=request_id, changes=[("format", None, fmt), ("records", None, len(rows))])
    return render(rows, fmt)
