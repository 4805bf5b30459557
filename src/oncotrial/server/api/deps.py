"""What every route depends on: the database, the caller and the request's identity.

Routes never open transactions. They hand a service function to :class:`Db`:
``db.read(fn, ...)`` runs it in a plain session, ``db.write(fn, ...)`` inside
:func:`~oncotrial.server.db.session.write_transaction`, which commits when the service
returns and rolls back when it raises, so a use case is one transaction whatever the route
does. The caller is resolved from ``Authorization: Bearer <token>`` (a session token from
login or an API token) to a :class:`~oncotrial.server.security.Principal` of the server's
trial; a missing, unknown, expired or revoked token is a 401.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from oncotrial.errors import PermissionDenied
from oncotrial.server.db.session import write_transaction
from oncotrial.server.security import Principal
from oncotrial.server.services import authentication
from oncotrial.server.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["CurrentPrincipal", "Database", "Db", "Token", "bearer", "current_principal",
           "get_db", "new_request_id"]

T = TypeVar("T")

#: a caller's X-Request-ID is kept (and so reaches the audit trail) only if it is short and
#: plain; anything else is replaced, so a header cannot inject text into logs or records
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

bearer = HTTPBearer(auto_error=False, description="a session token (POST /api/auth/login) or "
                                                  "an API token (POST /api/auth/tokens)")


def new_request_id(offered: str | None) -> str:
    """The caller's request id if it is acceptable, else a fresh random one."""
    if offered and _REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def _unauthenticated(message: str = "not authenticated") -> HTTPException:
    return HTTPException(status_code=401, detail=message,
                         headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Db:
    """Runs one service call in one session (``read``) or one write transaction (``write``)."""

    factory: sessionmaker[Session]
    settings: Settings
    trial_code: str | None
    request_id: str
    client: str | None

    def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        with self.factory() as session:
            return fn(session, *args, **kwargs)

    def write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        with write_transaction(self.factory) as session:
            return fn(session, *args, **kwargs)


async def get_db(request: Request) -> Db:
    """The service caller of this request (with its id, set by the app's middleware).

    This and :func:`_token` are ``async`` because they do no I/O: FastAPI runs a plain
    ``def`` dependency in its thread pool, and the hop costs more than the work."""
    state = request.app.state
    rid = str(getattr(request.state, "request_id", None) or new_request_id(None))
    return Db(factory=state.session_factory, settings=state.settings,
              trial_code=state.trial_code, request_id=rid,
              client=request.client.host if request.client else None)


Database = Annotated[Db, Depends(get_db)]


async def _token(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                  Depends(bearer)]) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthenticated()
    return credentials.credentials


Token = Annotated[str, Depends(_token)]


def current_principal(token: Token, db: Database) -> Principal:
    """The authenticated caller; 401 for a token that is unknown, expired or revoked, or a
    user with no role in the server's trial (the same answer, so that nothing leaks)."""
    try:
        return db.read(authentication.token_principal, token, db.settings, db.trial_code)
    except PermissionDenied:
        raise _unauthenticated("invalid, expired or revoked token") from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
