"""Subjects: registration with eligibility data, and reading them (own site only for an
investigator; another site's subject is a 404, like a code that does not exist)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas import CODE_PATTERN, SubjectCreate, SubjectOut
from oncotrial.server.services import subjects

router = APIRouter(prefix="/subjects", tags=["subjects"])

SubjectCode = Annotated[str, Path(pattern=CODE_PATTERN, max_length=64)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such subject at the caller's sites"}}


@router.post("", response_model=SubjectOut, status_code=201,
             responses={409: {"description": "the Idempotency-Key was used for another "
                                             "registration"}})
def register(body: SubjectCreate, principal: CurrentPrincipal, db: Database,
             idempotency_key: Annotated[str | None, Header(
                 alias="Idempotency-Key", pattern=r"^[A-Za-z0-9._:-]{8,128}$",
                 description="optional: a key made once per intended registration; a retry "
                             "with the same key and body returns the subject registered "
                             "first, the same key with another body is a 409")] = None,
             ) -> SubjectOut:
    """Register a subject; the eligibility data are checked against the protocol and an
    ineligible subject is stored with the reasons (status ``ineligible``)."""
    result = db.write(subjects.register, principal, subject_code=body.subject_code,
                      site_code=body.site, eligibility=dict(body.eligibility),
                      factors=dict(body.factors), idempotency_key=idempotency_key,
                      request_id=db.request_id)
    return SubjectOut.model_validate(result.to_dict())


@router.get("", response_model=list[SubjectOut])
def list_subjects(principal: CurrentPrincipal, db: Database) -> list[SubjectOut]:
    """The subjects the caller may see (an investigator: their own site's)."""
    return [SubjectOut.model_validate(s.to_dict())
            for s in db.read(subjects.list_subjects, principal)]


@router.get("/{code}", response_model=SubjectOut, responses=NOT_FOUND)
def get_subject(code: SubjectCode, principal: CurrentPrincipal, db: Database) -> SubjectOut:
    """One subject; 404 when it does not exist or is at another site than the caller's."""
    return SubjectOut.model_validate(db.read(subjects.get, principal, code).to_dict())
