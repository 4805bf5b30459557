"""The trial's sites."""

from __future__ import annotations

from fastapi import APIRouter

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas import SiteCreate, SiteOut
from oncotrial.server.services import accounts

router = APIRouter(prefix="/sites", tags=["sites"])


@router.get("", response_model=list[SiteOut])
def list_sites(principal: CurrentPrincipal, db: Database) -> list[SiteOut]:
    """The trial's sites (every role)."""
    return [SiteOut.model_validate(s.to_dict())
            for s in db.read(accounts.list_sites, principal)]


@router.post("", response_model=SiteOut, status_code=201)
def add_site(body: SiteCreate, principal: CurrentPrincipal, db: Database) -> SiteOut:
    """Admin: a new site."""
    site = db.write(accounts.add_site, principal, body.code, body.name, body.country,
                    request_id=db.request_id)
    return SiteOut.model_validate(site.to_dict())
