"""Admin pages: users (list, add, disable), sites (list, add), the trial's status, the list
status per stratum (no arm, no future allocation) and go-live."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import AllocationError, InputError
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import ROLES, Principal, require
from oncotrial.server.services import accounts, sealing
from oncotrial.server.web.list_status import list_status
from oncotrial.server.web.pages.common import protocol_of, trial_of
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)

#: the confirmation a redirect after a change shows (anything else in ``done`` is ignored,
#: so a crafted link cannot make the page say something else)
_DONE = re.compile(r"^(added|disabled) [A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def _done(request: Request) -> str:
    text = request.query_params.get("done", "")
    return text if _DONE.match(text) else ""


def _field(form: PageForm, name: str) -> str:
    return str(form.get(name) or "").strip()


# ----------------------------------------------------------------------------- users

def _users_page(request: Request, db: Db, principal: Principal, *,
                entered: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    users = db.read(accounts.list_users, principal)
    sites = db.read(accounts.list_sites, principal)
    return render(request, "users.html", {
        "users": users, "role_options": [(r, r.replace("_", " ")) for r in ROLES],
        "sites_options": [(s.code, f"{s.code}: {s.name}") for s in sites], "entered": entered or {},
        "errors": errors or {}, "done": _done(request)},
        principal=principal, status_code=status_code)


@router.get("/users")
def users(request: Request, principal: PagePrincipal, db: Database) -> Response:
    return _users_page(request, db, principal)


@router.post("/users")
def add_user(request: Request, principal: PagePrincipal, form: PageForm,
             db: Database) -> Response:
    require(principal, "user.manage")
    entered = {k: _field(form, k) for k in ("username", "full_name", "role", "site")}
    password = str(form.get("password") or "")
    errors = {k: f"{label}: enter a value" for k, label in
              (("username", "Username"), ("role", "Role")) if not entered[k]}
    if not password:
        errors["password"] = "Password: enter a first password for the user"
    if not errors:
        try:
            db.write(accounts.add_user, principal, entered["username"], password,
                     entered["role"], entered["site"] or None, full_name=entered["full_name"],
                     request_id=db.request_id)
        except InputError as exc:
            key = exc.field if exc.field in ("username", "password", "role", "site") else "form"
            errors[key or "form"] = str(exc)
        else:
            return RedirectResponse(f"/admin/users?done=added+{entered['username']}",
                                    status_code=303)
    return _users_page(request, db, principal, entered=entered, errors=errors, status_code=422)


@router.post("/users/{username}/disable")
def disable_user(request: Request, username: str, principal: PagePrincipal, form: PageForm,
                 db: Database) -> Response:
    require(principal, "user.manage")
    try:
        db.write(accounts.disable_user, principal, username, request_id=db.request_id)
    except InputError as exc:
        return _users_page(request, db, principal, errors={"form": str(exc)}, status_code=422)
    return RedirectResponse(f"/admin/users?done=disabled+{username}", status_code=303)


# ----------------------------------------------------------------------------- sites

def _sites_page(request: Request, db: Db, principal: Principal, *,
                entered: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    require(principal, "site.manage")
    return render(request, "sites.html", {
        "sites": db.read(accounts.list_sites, principal), "entered": entered or {},
        "errors": errors or {}, "done": _done(request)},
        principal=principal, status_code=status_code)


@router.get("/sites")
def sites(request: Request, principal: PagePrincipal, db: Database) -> Response:
    return _sites_page(request, db, principal)


@router.post("/sites")
def add_site(request: Request, principal: PagePrincipal, form: PageForm,
             db: Database) -> Response:
    require(principal, "site.manage")
    entered = {k: _field(form, k) for k in ("code", "name", "country")}
    errors = {k: f"{label}: enter a value" for k, label in
              (("code", "Site code"), ("name", "Site name")) if not entered[k]}
    if not errors:
        try:
            db.write(accounts.add_site, principal, entered["code"], entered["name"],
                     entered["country"] or None, request_id=db.request_id)
        except InputError as exc:
            message = str(exc)
            key = "country" if "country" in message else "name" if "needs a name" in message \
                else "code"
            errors[key] = message
        else:
            return RedirectResponse(f"/admin/sites?done=added+{entered['code']}",
                                    status_code=303)
    return _sites_page(request, db, principal, entered=entered, errors=errors, status_code=422)


# ----------------------------------------------------------------------------- trial

def _trial_page(request: Request, db: Db, principal: Principal, *,
                errors: dict[str, str] | None = None, per_stratum: str = "",
                status_code: int = 200) -> Response:
    require(principal, "trial.go_live")
    trial = trial_of(db, principal)
    protocol = protocol_of(db, principal)
    status = db.read(list_status, principal, protocol, trial.code) \
        if trial.status == "live" else None
    return render(request, "trial.html", {
        "trial": trial, "status": status, "errors": errors or {}, "per_stratum": per_stratum,
        "live": request.query_params.get("live") == "1"}, principal=principal,
        status_code=status_code)


@router.get("/trial")
def trial(request: Request, principal: PagePrincipal, db: Database) -> Response:
    return _trial_page(request, db, principal)


@router.post("/go-live")
def go_live(request: Request, principal: PagePrincipal, form: PageForm,
            db: Database) -> Response:
    require(principal, "trial.go_live")
    text = _field(form, "per_stratum")
    per_stratum: int | None = None
    if text:
        if not text.isdigit() or int(text) < 1:
            return _trial_page(request, db, principal, per_stratum=text, status_code=422,
                               errors={"per_stratum": f"Slots per stratum: expected a positive "
                                                      f"whole number, got {text!r}"})
        per_stratum = int(text)
    try:
        db.write(sealing.go_live, principal, per_stratum=per_stratum, request_id=db.request_id)
    except InputError as exc:
        return _trial_page(request, db, principal, per_stratum=text, status_code=422,
                           errors={"per_stratum": str(exc)})
    except AllocationError as exc:
        return _trial_page(request, db, principal, status_code=409, errors={"form": str(exc)})
    return RedirectResponse("/admin/trial?live=1", status_code=303)
