"""Cookie sessions and CSRF protection of the pages.

The session cookie holds the session token that
:func:`oncotrial.server.services.authentication.login` issues, the same token the API takes
as ``Authorization: Bearer``: the pages and the API share one session model, one expiry and
one revocation. The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no
other site's page sends it) and ``Secure`` over HTTPS.

Every POST carries a CSRF token in a hidden field. Once logged in it is an HMAC of the
session token, so it is per session, needs no storage and dies with the session; before
login (the login form itself) it is a random value that must match a short-lived cookie
set with the form (double submit). A POST without the right token is refused with a 403
page before anything runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from oncotrial.errors import PermissionDenied
from oncotrial.server.api.deps import Database
from oncotrial.server.security import Principal
from oncotrial.server.services import authentication

__all__ = ["LOGIN_CSRF_COOKIE", "SESSION_COOKIE", "CsrfRefused", "LoginRequired", "PageForm",
           "PagePrincipal", "clear_session", "csrf_for", "form_data", "login_csrf",
           "page_principal", "safe_next", "session_token", "set_login_csrf", "set_session"]

SESSION_COOKIE = "oncotrial_session"
LOGIN_CSRF_COOKIE = "oncotrial_login_csrf"
CSRF_FIELD = "csrf_token"
_CSRF_TAG = b"oncotrial.web.csrf/1"


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: refused with a 403 page."""


def csrf_for(token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the (secret, HttpOnly) session token."""
    return hmac.new(token.encode("utf-8"), _CSRF_TAG, hashlib.sha256).hexdigest()


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def safe_next(path: str | None) -> str:
    """A local path to go to after login (never another host: no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def login_url(request: Request) -> str:
    path = request.url.path
    if request.method == "GET" and request.url.query:
        path += "?" + request.url.query
    return "/login?next=" + quote(safe_next(path), safe="/")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=_secure(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))


def login_csrf(request: Request) -> str:
    """The pre-session CSRF value of the login form: its cookie's, else a new one (set it
    on the response with :func:`set_login_csrf`)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(response: Response, request: Request, value: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, value, max_age=3600, path="/login", httponly=True,
                        samesite="strict", secure=_secure(request))


def page_principal(request: Request, db: Database) -> Principal:
    """The logged-in caller; no, an expired or a revoked session raises
    :class:`LoginRequired` (the same answer for all, as the API's 401)."""
    token = session_token(request)
    if token is None:
        raise LoginRequired(login_url(request))
    try:
        principal = db.read(authentication.token_principal, token, db.settings, db.trial_code)
    except PermissionDenied:
        raise LoginRequired(login_url(request)) from None
    request.state.csrf = csrf_for(token)
    request.state.principal = principal
    return principal


async def form_data(request: Request) -> FormData:
    """The POSTed form, once its CSRF token is checked (the session's, or for the login
    form the double-submit cookie's)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    token = session_token(request)
    if request.url.path == "/login":
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    else:
        expected = csrf_for(token) if token else None
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfRefused()
    return form


PagePrincipal = Annotated[Principal, Depends(page_principal)]
PageForm = Annotated[FormData, Depends(form_data)]
