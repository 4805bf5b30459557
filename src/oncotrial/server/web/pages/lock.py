"""The database lock, the statistician's export and the missing-forms list.

The lock page shows every lock and unlock (who, when, cut-off, the SHA-256 of the export
made at the lock) and, for the roles allowed, the forms to lock at a data cut-off and to
unlock with a reason. The export page downloads the SDTM export through the same service
as the API, so a blinded role of a blinded trial gets the masked export. The missing-forms
page lists the planned forms due, overdue or missed (an investigator: their site's).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import AllocationError, InputError
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import Principal, require
from oncotrial.server.services import exports, locking, planning
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _lock_page(request: Request, db: Db, principal: Principal, *,
               entered: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    locks = db.read(locking.lock_status, principal)
    return render(request, "lock.html", {
        "locks": locks, "held": next((v for v in locks if v.status == "locked"), None),
        "entered": entered or {}, "errors": errors or {},
        "done": request.query_params.get("done", "")}, principal=principal,
        status_code=status_code)


@router.get("/lock")
def lock_page(request: Request, principal: PagePrincipal, db: Database) -> Response:
    return _lock_page(request, db, principal)


@router.post("/lock")
def lock(request: Request, principal: PagePrincipal, form: PageForm, db: Database) -> Response:
    require(principal, "database.lock")
    cutoff = str(form.get("cutoff") or "")
    try:
        db.write(locking.lock, principal, cutoff, request_id=db.request_id)
    except InputError as exc:
        return _lock_page(request, db, principal, entered={"cutoff": cutoff}, status_code=422,
                          errors={"cutoff": "Data cut-off: "
                                            + str(exc).removeprefix("cutoff: ")})
    except AllocationError as exc:
        return _lock_page(request, db, principal, entered={"cutoff": cutoff}, status_code=409,
                          errors={"form": str(exc)})
    return RedirectResponse("/lock?done=locked", status_code=303)


@router.post("/unlock")
def unlock(request: Request, principal: PagePrincipal, form: PageForm,
           db: Database) -> Response:
    require(principal, "database.unlock")
    reason = str(form.get("reason") or "")
    try:
        db.write(locking.unlock, principal, reason=reason, request_id=db.request_id)
    except InputError as exc:
        return _lock_page(request, db, principal, entered={"reason": reason}, status_code=422,
                          errors={"reason": "Reason for unlocking: "
                                            + str(exc).removeprefix("reason: ")})
    except AllocationError as exc:
        return _lock_page(request, db, principal, entered={"reason": reason}, status_code=409,
                          errors={"form": str(exc)})
    return RedirectResponse("/lock?done=unlocked", status_code=303)


@router.get("/exports")
def exports_page(request: Request, principal: PagePrincipal, db: Database) -> Response:
    require(principal, "export.sdtm")
    locks = db.read(locking.lock_status, principal)
    return render(request, "exports.html", {
        "locks": locks, "blinded_role": principal.role != "unblinded_statistician"},
        principal=principal)


@router.get("/exports/sdtm.zip")
def export_zip(request: Request, principal: PagePrincipal, db: Database) -> Response:
    require(principal, "export.sdtm")
    cutoff = request.query_params.get("cutoff") or None
    export = db.write(exports.export_sdtm, principal, cutoff=cutoff, request_id=db.request_id)
    name = f"sdtm-{export.cutoff.isoformat()}.zip" if export.cutoff else "sdtm.zip"
    return Response(export.zip_bytes(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Export-SHA256": export.sha256, "Cache-Control": "no-store"})


@router.get("/missing")
def missing_page(request: Request, principal: PagePrincipal, db: Database) -> Response:
    text = request.query_params.get("as_of") or ""
    try:
        as_of = dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise InputError(f"as_of: expected a date YYYY-MM-DD, got {text!r}",
                         field="as_of") from None
    rows = db.read(planning.missing_forms, principal, as_of=as_of)
    return render(request, "missing.html", {
        "rows": rows, "as_of": as_of or dt.datetime.now(dt.UTC).date(),
        "sites": sorted({r.site for r in rows})}, principal=principal)
