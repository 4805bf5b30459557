"""The service's tables (SQLAlchemy 2 declarative models).

Invariants that must hold whatever the application does are constraints of the database,
not only checks in the services: a subject is randomised at most once
(``allocations.subject_id`` unique), a list slot is used at most once
(``list_slots.allocation_id`` unique, ``allocations.slot_id`` unique), an idempotency key
names one allocation per trial, and a trial's allocation sequence numbers are unique. The
audit table is append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL;
see the initial migration), and on PostgreSQL the application's role is granted only SELECT
and INSERT on it (:func:`oncotrial.server.db.upgrade.grant_app_role`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from oncotrial.server.db.base import Base

__all__ = [
    "ROLES",
    "Allocation",
    "AllocationStateRow",
    "ApiToken",
    "AuditHead",
    "AuditRecord",
    "UTCDateTime",
    "Notification",
    "RandomisationList",
    "RoleAssignment",
    "SealedSeed",
    "Site",
    "Subject",
    "Trial",
    "Unblinding",
    "User",
    "UserSession",
    "ListSlot",
    "DatabaseLock",
    "FormRecord",
    "DataQuery",
    "QueryMessage",
    "Signature",
    "SdvFlag",
]

#: the roles, scoped per trial (and per site for investigators)
ROLES = ("admin", "investigator", "data_manager", "monitor", "unblinded_statistician")


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always timezone-aware UTC in Python.

    SQLite has no time zones and hands back naive values; PostgreSQL's ``timestamptz``
    hands back the session's zone. Both come back here as UTC, so that the audit hash and
    every comparison see the same value on either database. A naive value is refused:
    its zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise TypeError(f"expected a timezone-aware datetime, got {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    protocol_yaml: Mapped[str] = mapped_column(Text)
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    blinded: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="setup")  # setup | live
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("trial_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(3), nullable=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RoleAssignment(Base):
    """A user's role in a trial; an investigator's is scoped to one site."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "trial_id", "role", "site_id"),
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="known_role"),
        CheckConstraint("role <> 'investigator' OR site_id IS NOT NULL",
                        name="investigator_has_site"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)


class UserSession(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SealedSeed(Base):
    """The list seed, readable through the services by the unblinded statistician only."""

    __tablename__ = "sealed_seeds"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RandomisationList(Base):
    __tablename__ = "randomisation_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), unique=True)
    method: Mapped[str] = mapped_column(String(16))
    per_stratum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    algorithm_version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ListSlot(Base):
    """One row of a sealed block list. The partial index over the free slots finds a
    stratum's next slot without stepping over the used ones: without it each allocation
    scanned every slot its stratum had used, and allocation cost grew with the trial."""

    __tablename__ = "list_slots"
    __table_args__ = (
        UniqueConstraint("list_id", "stratum", "position"),
        Index("ix_list_slots_free", "list_id", "stratum", "position",
              postgresql_where=text("allocation_id IS NULL"), sqlite_where=text("allocation_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("randomisation_lists.id"))
    stratum: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)  # 1-based within the stratum
    block: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(32))
    masked_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    allocation_id: Mapped[int | None] = mapped_column(
        ForeignKey("allocations.id", use_alter=True), unique=True, nullable=True)


class AllocationStateRow(Base):
    """The pure :class:`oncotrial.randomise.AllocationState` of a trial as JSON; its row is
    locked (PostgreSQL ``SELECT ... FOR UPDATE``) while an allocation is made."""

    __tablename__ = "allocation_states"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    state_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("trial_id", "code"),
                      UniqueConstraint("trial_id", "idempotency_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # registered | ineligible | randomised | withdrawn
    eligibility_json: Mapped[str] = mapped_column(Text)  # the data entered
    factors_json: Mapped[str] = mapped_column(Text, default="{}")  # stratification factors entered
    eligibility_status: Mapped[str] = mapped_column(String(32))
    refusal_json: Mapped[str | None] = mapped_column(Text, nullable=True)  # reasons of a refusal
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # a retried registration with the same key returns this subject (same request only)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("trial_id", "sequence"),
                      UniqueConstraint("trial_id", "idempotency_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("list_slots.id"), unique=True, nullable=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1-based order of allocation in the trial
    stratum_json: Mapped[str] = mapped_column(Text)  # the factor values, frozen
    # a "wrong stratum" correction records the right values here; the allocation keeps its own
    corrected_stratum_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    stratum: Mapped[str] = mapped_column(String(255))
    arm: Mapped[str] = mapped_column(String(32))
    masked_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    allocated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | in_error


class Unblinding(Base):
    __tablename__ = "unblindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    kind: Mapped[str] = mapped_column(String(32))  # unblinding | list_exhausted | lockout | ...
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditRecord(Base):
    """One audit record; ``hash`` = SHA-256 of ``prev_hash`` and the record's canonical JSON."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    trial_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    site_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changes_json: Mapped[str] = mapped_column(Text)  # [{"field", "old", "new"}, ...]
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The last audit record's sequence number and hash: one row, locked by every append
    (PostgreSQL ``SELECT ... FOR UPDATE``) so that the chain grows one record at a time."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


# ----------------------------------------------------------------------------- data capture

class DatabaseLock(Base):
    """A database lock at a data cut-off: the records dated up to ``cutoff`` are frozen
    while ``status`` is ``locked``; the SHA-256 of the export written at the lock is kept
    here and in the audit trail. An unlock (admin, with a reason) keeps the row."""

    __tablename__ = "database_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    cutoff: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # locked | unlocked
    export_sha256: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str] = mapped_column(String(64))
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unlocked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unlock_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FormRecord(Base):
    """One filled form of one subject: ``form`` is the kind (a form spec of the protocol),
    ``repeat_key`` tells repeats apart (a visit, an event number; empty for a one-off
    form). ``data_json`` holds the clean values, ``response_json`` what the service
    computed from them (the RECIST response of an assessment). ``record_date`` is the
    date the data are about, which a database lock compares with its cut-off; ``lock_id``
    names the lock that froze the record."""

    __tablename__ = "form_records"
    __table_args__ = (UniqueConstraint("subject_id", "form", "repeat_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    form: Mapped[str] = mapped_column(String(64))
    repeat_key: Mapped[str] = mapped_column(String(64), default="")
    data_json: Mapped[str] = mapped_column(Text)
    response_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    record_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="saved")  # saved | locked
    lock_id: Mapped[int | None] = mapped_column(ForeignKey("database_locks.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class DataQuery(Base):
    """A question about one field of one record, raised by a data manager or a monitor,
    answered by the site, closed by the data manager; its messages are the history."""

    __tablename__ = "data_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("form_records.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open | answered | closed
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class QueryMessage(Base):
    """One step of a query's history (raise, answer, close): append-only (triggers)."""

    __tablename__ = "query_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("data_queries.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # raise | answer | close
    text: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Signature(Base):
    """An investigator's electronic signature of a subject's casebook (21 CFR 11.50):
    the signer's name, the date and time and the meaning; ``casebook_sha256`` covers the
    records signed. An edit of the casebook afterwards voids it (``status`` ``void``)."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(Text)
    meaning: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    casebook_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # valid | void
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SdvFlag(Base):
    """A monitor's source-data verification of one record at one version: an edit makes
    the record's current version unverified again."""

    __tablename__ = "sdv_flags"
    __table_args__ = (UniqueConstraint("record_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("form_records.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    verified_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
