"""Response bodies of the HTTP API, read from the services' results (``to_dict()``, or the
attributes of what a service returned).

A response model lists the fields a client gets and nothing else: a key a service returns
that is not listed here is dropped, so a new internal field cannot reach clients unnoticed.
The services mask what the caller may not see (arms of a blinded trial, other sites'
subjects); the models add no masking of their own. ``AllocationOut`` has the same keys
whatever the arm, so a response's shape tells nothing about the allocation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "AllocationOut",
    "AuditOut",
    "AuditVerificationOut",
    "GoLiveOut",
    "ListOut",
    "LoginOut",
    "NotificationOut",
    "SeedOut",
    "SiteOut",
    "StateOut",
    "SubjectOut",
    "TokenInfoOut",
    "TokenOut",
    "TrialOut",
    "UnblindingOut",
    "UnblindingRecordOut",
    "UserOut",
]


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, from_attributes=True)


class LoginOut(_Response):
    token: str
    expires_at: datetime
    username: str
    role: str
    site: str | None


class TokenOut(_Response):
    """An API token, shown once."""

    id: int
    name: str
    token: str


class TokenInfoOut(_Response):
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


class SiteOut(_Response):
    code: str
    name: str
    country: str | None


class UserOut(_Response):
    """A user's account and role in the trial: a line of the access review (who has which
    role, blinded or not, when they last logged in)."""

    username: str
    full_name: str
    role: str | None
    site: str | None
    blinded: bool
    active: bool
    locked_until: datetime | None
    last_login: datetime | None
    created_at: datetime


class TrialOut(_Response):
    """The trial as every role may know it (no title: it names the arms; no block sizes)."""

    code: str
    protocol_sha256: str
    blinded: bool
    status: str
    method: str
    factors: list[dict[str, Any]]
    sites: list[SiteOut]


class GoLiveOut(_Response):
    trial: str
    method: str
    strata: int
    per_stratum: int | None
    slots: int
    list_sha256: str
    protocol_sha256: str
    live_at: datetime


class SubjectOut(_Response):
    code: str
    site: str
    status: str
    eligibility_status: str
    refusal_reasons: list[str]
    eligibility: dict[str, Any]
    factors: dict[str, Any]
    created_at: datetime


class AllocationOut(_Response):
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


class UnblindingOut(_Response):
    """The answer to an emergency unblinding: the one subject's arm."""

    subject: str
    site: str
    arm: str
    code: str | None
    unblinded_by: str
    reason: str
    at: datetime


class UnblindingRecordOut(_Response):
    """A line of the unblinding report (no arm)."""

    subject: str
    site: str
    unblinded_by: str
    reason: str
    at: datetime


class ListOut(_Response):
    trial: str
    method: str
    per_stratum: int | None
    algorithm_version: str
    sha256: str
    block_sizes: list[int]
    rows: list[dict[str, Any]]


class SeedOut(_Response):
    trial: str
    seed: int
    created_at: datetime


class StateOut(_Response):
    trial: str
    version: int
    state: dict[str, Any]
    replay_ok: bool
    replay_problems: list[str]


class AuditOut(_Response):
    seq: int
    at: datetime
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


class AuditVerificationOut(_Response):
    ok: bool
    records: int
    head_seq: int
    head_hash: str
    problems: list[str]


class NotificationOut(_Response):
    id: int
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None
