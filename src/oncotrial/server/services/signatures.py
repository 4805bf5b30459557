"""Electronic signatures of casebooks (21 CFR Part 11): the records of a signature, and
voiding them when the data they covered change.

A signature records the signer's user name and printed name, the date and time and the
meaning stated (11.50), and is linked to the data it signs by the SHA-256 of the casebook
at signing (11.70): an edit or a new record afterwards makes the signature void, which is
audited, and the investigator signs again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.results import Result
from oncotrial.server.db.models import Signature, Subject, User
from oncotrial.server.security import Principal
from oncotrial.server.services import audit

__all__ = ["SignatureView", "signature_views", "void"]


@dataclass(frozen=True, repr=False)
class SignatureView(Result):
    """A signature as shown with the casebook (valid, or void and why)."""

    subject: str
    signer: str
    signer_name: str
    meaning: str
    signed_at: dt.datetime
    casebook_sha256: str
    status: str
    voided_at: dt.datetime | None
    void_reason: str | None


def signature_views(session: Session, subject: Subject) -> list[SignatureView]:
    """Every signature of ``subject``'s casebook, oldest first."""
    rows = session.execute(select(Signature, User.username).join(
        User, Signature.user_id == User.id).where(Signature.subject_id == subject.id)
        .order_by(Signature.id)).all()
    return [SignatureView(subject.code, u, s.signer_name, s.meaning, s.signed_at,
                          s.casebook_sha256, s.status, s.voided_at, s.void_reason)
            for s, u in rows]


def void(session: Session, principal: Principal | None, subject: Subject, why: str, *,
         request_id: str | None = None) -> int:
    """Void the valid signatures of ``subject``'s casebook because ``why``; each voiding is
    audited. Returns how many were voided."""
    rows = list(session.scalars(select(Signature).where(Signature.subject_id == subject.id,
                                                        Signature.status == "valid")))
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        row.status = "void"
        row.voided_at = now
        row.void_reason = why
        audit.append(session, action="signature.void", entity="subject", entity_id=subject.code,
                     changes=[(f"signature.{row.id}.status", "valid", "void")],
                     principal=principal, trial_id=subject.trial_id, reason=why,
                     request_id=request_id)
    if rows:
        session.flush()
    return len(rows)
