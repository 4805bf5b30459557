"""User accounts and their roles in the trial."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas import CODE_PATTERN, UserCreate, UserOut
from oncotrial.server.services import accounts

router = APIRouter(prefix="/users", tags=["users"])

Username = Annotated[str, Path(pattern=CODE_PATTERN, max_length=64)]


@router.get("", response_model=list[UserOut])
def list_users(principal: CurrentPrincipal, db: Database) -> list[UserOut]:
    """Admin: who has which role, blinded or not, and when they last logged in (access
    review)."""
    return [UserOut.model_validate(u.to_dict())
            for u in db.read(accounts.list_users, principal)]


@router.post("", response_model=UserOut, status_code=201)
def add_user(body: UserCreate, principal: CurrentPrincipal, db: Database) -> UserOut:
    """Admin: a new user with one role in the trial (investigators: at one site)."""
    result = db.write(accounts.add_user, principal, body.username, body.password, body.role,
                      site_code=body.site, request_id=db.request_id)
    return UserOut.model_validate(result.to_dict())


@router.post("/{username}/disable", response_model=UserOut)
def disable_user(username: Username, principal: CurrentPrincipal, db: Database) -> UserOut:
    """Admin: the user can no longer log in; their sessions and tokens stop working."""
    result = db.write(accounts.disable_user, principal, username, request_id=db.request_id)
    return UserOut.model_validate(result.to_dict())
