"""Emergency unblinding: one subject's arm revealed to the investigator treating them.

Who: an investigator of the subject's site, with a reason and their password — the person
who needs the arm to treat the patient. Admins are not granted it: trial managers stay
blinded, and the unblinded statistician already sees every arm. Only blinded trials have
anything to unblind. Each unblinding reveals one subject, is stored (who, when, why,
whom), written to the audit trail and notified to the admins; neither the audit record nor
the notification names the arm, which only the requesting investigator receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.core.results import Result
from oncotrial.server.db.models import Allocation, Site, Subject, Trial, Unblinding, User
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, authentication, notifications
from oncotrial.server.services.subjects import subject_row, trial_protocol

__all__ = ["UnblindingRecord", "UnblindingView", "list_unblindings", "unblind", "unblinding_report"]


@dataclass(frozen=True, repr=False)
class UnblindingView(Result):
    """What the unblinding investigator receives: the subject's arm."""

    subject: str
    site: str
    arm: str
    code: str | None
    unblinded_by: str
    reason: str
    at: datetime


@dataclass(frozen=True, repr=False)
class UnblindingRecord(Result):
    """One unblinding in the report (who, when, why, whom; no arm)."""

    subject: str
    site: str
    unblinded_by: str
    reason: str
    at: datetime


def unblind(session: Session, principal: Principal, subject_code: str, *, reason: str,
            password: str, request_id: str | None = None) -> UnblindingView:
    """Reveal one subject's arm (investigator of the subject's site; inside a write
    transaction). Raises :class:`~oncotrial.core.errors.AllocationError` for an open-label
    trial or a subject not randomised."""
    require(principal, "unblind")
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("reason: an emergency unblinding needs a reason", field="reason")
    subject, site = subject_row(session, principal, subject_code)
    authentication.reauthenticate(session, principal.user_id, password, request_id=request_id)
    trial = session.get(Trial, principal.trial_id)
    assert trial is not None
    if not trial_protocol(trial).randomisation.blinded:
        raise AllocationError(f"trial {trial.code} is open label: the arm is not masked")
    alloc = session.scalars(select(Allocation).where(Allocation.subject_id == subject.id)).one_or_none()
    if alloc is None:
        raise AllocationError(f"subject {subject.code} is not randomised; there is no arm to reveal")
    now = datetime.now(UTC)
    session.add(Unblinding(allocation_id=alloc.id, user_id=principal.user_id, reason=reason.strip(), at=now))
    audit.append(session, action="unblind", entity="subject", entity_id=subject.code,
                 changes=[("unblinded", None, "true")], principal=principal, trial_id=trial.id,
                 reason=reason.strip(), request_id=request_id)
    notifications.notify(session, trial.id, "unblinding",
                         f"subject {subject.code} (site {site.code}) was unblinded by "
                         f"{principal.username} at {now.isoformat(timespec='seconds')}: {reason.strip()}")
    session.flush()
    return UnblindingView(subject.code, site.code, alloc.arm, alloc.masked_code, principal.username,
                          reason.strip(), now)


def list_unblindings(session: Session, principal: Principal) -> list[UnblindingRecord]:
    """Every unblinding of the principal's trial, in order (roles allowed
    ``unblindings.read``)."""
    require(principal, "unblindings.read")
    return unblinding_report(session, principal.trial_id)


def unblinding_report(session: Session, trial_id: int) -> list[UnblindingRecord]:
    """Every unblinding of ``trial_id``, in order, for the command line (``oncotrial audit
    unblindings``, run by whoever holds the database) and :func:`list_unblindings`."""
    rows = session.execute(select(Unblinding, Subject.code, Site.code, User.username).join(
        Allocation, Unblinding.allocation_id == Allocation.id).join(
        Subject, Allocation.subject_id == Subject.id).join(Site, Subject.site_id == Site.id).join(
        User, Unblinding.user_id == User.id).where(Allocation.trial_id == trial_id).order_by(
        Unblinding.id)).all()
    return [UnblindingRecord(code, site, user, u.reason, u.at) for u, code, site, user in rows]
