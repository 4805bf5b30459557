"""Emergency unblinding of one subject from the browser: the investigator of the subject's
site gives a reason and the password again, and sees that subject's arm only. The service
audits it and notifies the admins; an open-label trial has nothing to unblind (409)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from oncotrial.errors import AllocationError, InputError, PermissionDenied
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import Principal, require
from oncotrial.server.services import subjects, unblinding
from oncotrial.server.web.pages.common import protocol_of
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _page(request: Request, db: Db, principal: Principal, code: str, *,
          reason: str = "", errors: dict[str, str] | None = None, revealed: object = None,
          status_code: int = 200) -> Response:
    require(principal, "unblind")
    subject = db.read(subjects.get, principal, code)
    arms = {a.code: a.label for a in protocol_of(db, principal).arms}
    return render(request, "unblind.html", {
        "subject": subject, "reason": reason, "errors": errors or {}, "revealed": revealed,
        "arms": arms}, principal=principal, status_code=status_code)


@router.get("/subjects/{code}/unblind")
def unblind_page(request: Request, code: str, principal: PagePrincipal,
                 db: Database) -> Response:
    return _page(request, db, principal, code)


@router.post("/subjects/{code}/unblind")
def unblind(request: Request, code: str, principal: PagePrincipal, form: PageForm,
            db: Database) -> Response:
    require(principal, "unblind")
    reason, password = str(form.get("reason") or ""), str(form.get("password") or "")
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "Reason for unblinding: an emergency unblinding needs a reason"
    if not password:
        errors["password"] = "Password: enter your password again to unblind"
    if errors:
        return _page(request, db, principal, code, reason=reason, errors=errors,
                     status_code=422)
    try:
        revealed = db.write(unblinding.unblind, principal, code, reason=reason,
                            password=password, request_id=db.request_id)
    except PermissionDenied as exc:
        if getattr(exc, "not_found", False):
            raise
        return _page(request, db, principal, code, reason=reason, status_code=403,
                     errors={"password": f"Password: {exc}"})
    except AllocationError as exc:
        return _page(request, db, principal, code, reason=reason, status_code=409,
                     errors={"form": str(exc)})
    except InputError as exc:
        return _page(request, db, principal, code, reason=reason, status_code=422,
                     errors={"reason": f"Reason for unblinding: {exc}"})
    return _page(request, db, principal, code, revealed=revealed)
