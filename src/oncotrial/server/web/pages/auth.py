"""The login form, logging out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import InputError, PermissionDenied
from oncotrial.server.api.deps import Database
from oncotrial.server.services import authentication
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import (
    PageForm,
    PagePrincipal,
    clear_session,
    login_csrf,
    safe_next,
    session_token,
    set_login_csrf,
    set_session,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _login_page(request: Request, *, next_path: str, username: str = "",
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    value = login_csrf(request)
    response = render(request, "login.html", {
        "login_csrf": value, "next": safe_next(next_path), "username": username,
        "errors": errors or {}, "expired": bool(request.query_params.get("next"))},
        status_code=status_code)
    set_login_csrf(response, request, value)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, next_path=request.query_params.get("next", "/"))


@router.post("/login")
def login(request: Request, form: PageForm, db: Database) -> Response:
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = str(form.get("next") or "/")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Username: enter your username"
    if not password:
        errors["password"] = "Password: enter your password"
    if not errors:
        try:
            result = db.write(authentication.login, username=username, password=password,
                              trial_code=db.trial_code, settings=db.settings,
                              client=db.client, request_id=db.request_id)
        except (PermissionDenied, InputError) as exc:
            errors["password"] = f"Password: {exc}"
        else:
            response = RedirectResponse(safe_next(next_path), status_code=303)
            set_session(response, request, result.token, db.settings.session_minutes * 60)
            return response
    return _login_page(request, next_path=next_path, username=username, errors=errors,
                       status_code=422 if "username" in errors or not password else 403)


@router.post("/logout")
def logout(request: Request, principal: PagePrincipal, form: PageForm,
           db: Database) -> Response:
    token = session_token(request)
    if token is not None:
        db.write(authentication.logout, principal, token, request_id=db.request_id)
    response = RedirectResponse("/login", status_code=303)
    clear_session(response, request)
    return response
