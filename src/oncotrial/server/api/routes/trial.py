"""The server's trial, and its go-live (the randomisation list is generated and sealed)."""

from __future__ import annotations

from fastapi import APIRouter

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas import GoLiveOut, GoLiveRequest, TrialOut
from oncotrial.server.services import accounts, sealing

router = APIRouter(tags=["trial"])


@router.get("/trial", response_model=TrialOut)
def get_trial(principal: CurrentPrincipal, db: Database) -> TrialOut:
    """The trial: code, protocol SHA-256, blinding and status."""
    return TrialOut.model_validate(db.read(accounts.trial_view, principal).to_dict())


@router.post("/go-live", response_model=GoLiveOut)
def go_live(body: GoLiveRequest, principal: CurrentPrincipal, db: Database) -> GoLiveOut:
    """Admin: seal a fresh seed, generate the list in the platform and record its SHA-256;
    the trial starts randomising."""
    result = db.write(sealing.go_live, principal, per_stratum=body.per_stratum,
                      request_id=db.request_id)
    return GoLiveOut.model_validate(result.to_dict())
