"""Randomising, emergency unblinding and corrections of one subject; the allocations; and
the concealed material (list, seed, state) that only the unblinded statistician reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.api.routes.subjects import NOT_FOUND, SubjectCode
from oncotrial.server.schemas import (
    AllocationOut,
    CorrectionRequest,
    ListOut,
    RandomiseRequest,
    SeedOut,
    StateOut,
    UnblindingOut,
    UnblindingRecordOut,
    UnblindRequest,
)
from oncotrial.server.services import corrections, randomisation, sealing, unblinding

router = APIRouter(tags=["randomisation"])

IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", pattern=r"^[A-Za-z0-9._:-]{8,128}$",
    description="a key the client makes once per intended randomisation (e.g. a UUID); a "
                "retry with the same key returns the original allocation")]


@router.post("/subjects/{code}/randomise", response_model=AllocationOut,
             responses={**NOT_FOUND, 409: {"description": "refused: ineligible, already "
                                                          "randomised, list exhausted"}})
def randomise(code: SubjectCode, body: RandomiseRequest, idempotency_key: IdempotencyKey,
              principal: CurrentPrincipal, db: Database) -> AllocationOut:
    """Randomise the subject (the password is asked again)."""
    result = db.write(randomisation.randomise, principal, code, password=body.password,
                      idempotency_key=idempotency_key, request_id=db.request_id)
    return AllocationOut.model_validate(result.to_dict())


@router.post("/subjects/{code}/unblind", response_model=UnblindingOut, responses=NOT_FOUND)
def unblind(code: SubjectCode, body: UnblindRequest, principal: CurrentPrincipal,
            db: Database) -> UnblindingOut:
    """Emergency unblinding of one subject by an investigator of its site: reveals that
    subject's arm, is audited and notified to the admins."""
    result = db.write(unblinding.unblind, principal, code, reason=body.reason,
                      password=body.password, request_id=db.request_id)
    return UnblindingOut.model_validate(result.to_dict())


@router.post("/subjects/{code}/corrections", response_model=AllocationOut,
             responses=NOT_FOUND)
def correct(code: SubjectCode, body: CorrectionRequest, principal: CurrentPrincipal,
            db: Database) -> AllocationOut:
    """Admin: mark an allocation randomised in error, or record the right stratum; the slot
    is never reused and the allocation itself never changes."""
    result = db.write(corrections.correct, principal, code, kind=body.kind,
                      reason=body.reason, password=body.password,
                      factors=dict(body.factors) if body.factors is not None else None,
                      request_id=db.request_id)
    return AllocationOut.model_validate(result.to_dict())


@router.get("/allocations", response_model=list[AllocationOut])
def list_allocations(principal: CurrentPrincipal, db: Database) -> list[AllocationOut]:
    """The allocations made so far that the caller may see (masked for blinded roles)."""
    return [AllocationOut.model_validate(a.to_dict())
            for a in db.read(randomisation.list_allocations, principal)]


@router.get("/unblindings", response_model=list[UnblindingRecordOut])
def list_unblindings(principal: CurrentPrincipal, db: Database) -> list[UnblindingRecordOut]:
    """Who unblinded whom, when and why (no arms)."""
    return [UnblindingRecordOut.model_validate(u.to_dict())
            for u in db.read(unblinding.list_unblindings, principal)]


@router.get("/list", response_model=ListOut)
def sealed_list(principal: CurrentPrincipal, db: Database) -> ListOut:
    """Unblinded statistician: the randomisation list (every download is audited)."""
    return ListOut.model_validate(
        db.write(sealing.sealed_list, principal, request_id=db.request_id).to_dict())


@router.get("/seed", response_model=SeedOut)
def sealed_seed(principal: CurrentPrincipal, db: Database) -> SeedOut:
    """Unblinded statistician: the list's seed (audited)."""
    return SeedOut.model_validate(
        db.write(sealing.sealed_seed, principal, request_id=db.request_id).to_dict())


@router.get("/state", response_model=StateOut)
def allocation_state(principal: CurrentPrincipal, db: Database) -> StateOut:
    """Unblinded statistician: the allocation state (block positions, minimisation totals)
    and whether a replay of the stored inputs reproduces it (audited)."""
    return StateOut.model_validate(
        db.write(sealing.state, principal, request_id=db.request_id).to_dict())
