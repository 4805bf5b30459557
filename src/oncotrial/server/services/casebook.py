"""A subject's casebook: all its records with their computed responses and signatures,
and the investigator's signature of it.

Signing re-asks the password (21 CFR 11.200: a signature outside a continuous session of
signing uses both components of the credential), states its meaning, and records the
signer's name with the date and time (11.50) and the SHA-256 of the casebook signed, which
ties the signature to those data (11.70). A later edit voids it (:mod:`.signatures`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.server.db.models import Signature
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, authentication, capture, signatures
from oncotrial.server.services.capture import RecordView
from oncotrial.server.services.signatures import SignatureView

__all__ = ["CasebookView", "casebook_sha256", "get_casebook", "sign"]

_MEANING_MAX = 500


@dataclass(frozen=True, repr=False)
class CasebookView(Result):
    subject: str
    site: str
    records: tuple[RecordView, ...]
    signatures: tuple[SignatureView, ...]


def casebook_sha256(records: tuple[RecordView, ...] | list[RecordView]) -> str:
    """SHA-256 of what a signature covers: every record's form, key, version and data."""
    content = [{"form": r.form, "key": r.key, "version": r.version, "data": r.data}
               for r in sorted(records, key=lambda r: (r.form, r.key))]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_casebook(session: Session, principal: Principal, subject_code: str) -> CasebookView:
    """All the records of a subject, with their computed responses, and its signatures."""
    subject, site, records = capture.list_records(session, principal, subject_code)
    return CasebookView(subject.code, site.code, tuple(records),
                        tuple(signatures.signature_views(session, subject)))


def sign(session: Session, principal: Principal, subject_code: str, *, password: Any,
         meaning: Any, request_id: str | None = None) -> CasebookView:
    """Sign a subject's casebook (investigator of the subject's site; inside a write
    transaction). An earlier valid signature is superseded (voided) by the new one."""
    require(principal, "casebook.sign")
    if not isinstance(meaning, str) or not meaning.strip():
        raise InputError("meaning: state what the signature means", field="meaning")
    if len(meaning) > _MEANING_MAX:
        raise InputError(f"meaning: at most {_MEANING_MAX} characters", field="meaning")
    subject, site, records = capture.list_records(session, principal, subject_code)
    user = authentication.reauthenticate(session, principal.user_id, password,
                                         request_id=request_id)
    if not records:
        raise InputError(f"subject: the casebook of {subject.code} has no record to sign",
                         field="subject")
    signatures.void(session, principal, subject, "superseded by a new signature",
                    request_id=request_id)
    now = dt.datetime.now(dt.UTC)
    digest = casebook_sha256(records)
    name = user.full_name or user.username
    row = Signature(trial_id=principal.trial_id, subject_id=subject.id, user_id=principal.user_id,
                    signer_name=name, meaning=meaning.strip(), signed_at=now,
                    casebook_sha256=digest, status="valid")
    session.add(row)
    session.flush()
    audit.append(session, action="casebook.sign", entity="subject", entity_id=subject.code,
                 changes=[(f"signature.{row.id}.signer", None, name),
                          (f"signature.{row.id}.meaning", None, meaning.strip()),
                          (f"signature.{row.id}.signed_at", None, now),
                          (f"signature.{row.id}.casebook_sha256", None, digest)],
                 principal=principal, reason=meaning.strip(), request_id=request_id)
    return CasebookView(subject.code, site.code, tuple(records),
                        tuple(signatures.signature_views(session, subject)))
