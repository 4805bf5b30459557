"""Log in and out; API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from oncotrial.server.api.deps import CurrentPrincipal, Database, Token
from oncotrial.server.schemas import LoginOut, LoginRequest, TokenCreate, TokenInfoOut, TokenOut
from oncotrial.server.services import authentication

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut,
             responses={403: {"description": "wrong user name or password, or locked"}})
def login(body: LoginRequest, db: Database) -> LoginOut:
    """A session token (``Authorization: Bearer <token>``) that expires after the
    configured minutes. Repeated wrong passwords lock the account for a while."""
    result = db.write(authentication.login, username=body.username, password=body.password,
                      trial_code=body.trial or db.trial_code, settings=db.settings,
                      client=db.client, request_id=db.request_id)
    return LoginOut.model_validate(result.to_dict())


@router.post("/logout", status_code=204)
def logout(token: Token, principal: CurrentPrincipal, db: Database) -> Response:
    """Revoke the session token of this request."""
    db.write(authentication.logout, principal, token, request_id=db.request_id)
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenInfoOut])
def list_tokens(principal: CurrentPrincipal, db: Database) -> list[TokenInfoOut]:
    """The caller's API tokens (never their secrets)."""
    return [TokenInfoOut.model_validate(t) for t in db.read(authentication.list_api_tokens, principal)]


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenCreate, principal: CurrentPrincipal, db: Database) -> TokenOut:
    """An API token for scripts: shown once, stored hashed, valid until revoked. It acts as
    its user but does not replace the password to randomise or unblind."""
    issued = db.write(authentication.create_api_token, principal, body.name, request_id=db.request_id)
    return TokenOut.model_validate(issued.to_dict())


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                 principal: CurrentPrincipal, db: Database) -> Response:
    """Revoke an API token (one's own; an admin any of the trial's users')."""
    db.write(authentication.revoke_api_token, principal, token_id, request_id=db.request_id)
    return Response(status_code=204)
