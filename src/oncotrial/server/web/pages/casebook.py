"""A subject's casebook and its electronic signature.

The casebook shows every saved record with its version, its source-data verification and
its open queries, and the signatures beside the data they sign (signer, UTC time, meaning;
a voided signature stays listed as void). Signing asks for the password again and for the
meaning of the signature (21 CFR 11.50, 11.200); an edit after signing voids it, and the
page then asks for a new one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import InputError, PermissionDenied
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import Principal
from oncotrial.server.services import capture, casebook
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: what an investigator's signature means unless they state otherwise
DEFAULT_MEANING = ("I have reviewed the data of this casebook and confirm that they are "
                   "complete and accurate.")


def _page(request: Request, db: Db, principal: Principal, code: str, *,
          meaning: str = DEFAULT_MEANING, errors: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    book = db.read(casebook.get_casebook, principal, code)
    specs = db.read(capture.form_specs, principal)
    valid = [s for s in book.signatures if s.status == "valid"]
    return render(request, "casebook.html", {
        "book": book, "labels": {name: spec["label"] for name, spec in specs.items()},
        "valid": valid[-1] if valid else None, "meaning": meaning, "errors": errors or {},
        "signed": request.query_params.get("signed") == "1"},
        principal=principal, status_code=status_code)


@router.get("/subjects/{code}/casebook")
def casebook_page(request: Request, code: str, principal: PagePrincipal,
                  db: Database) -> Response:
    return _page(request, db, principal, code)


@router.post("/subjects/{code}/sign")
def sign(request: Request, code: str, principal: PagePrincipal, form: PageForm,
         db: Database) -> Response:
    meaning = str(form.get("meaning") or "")
    password = str(form.get("password") or "")
    if not password:
        return _page(request, db, principal, code, meaning=meaning, status_code=422,
                     errors={"password": "Password: enter your password again to sign"})
    try:
        db.write(casebook.sign, principal, code, password=password, meaning=meaning,
                 request_id=db.request_id)
    except PermissionDenied as exc:
        if getattr(exc, "not_found", False):
            raise
        return _page(request, db, principal, code, meaning=meaning, status_code=403,
                     errors={"password": f"Password: {exc}"})
    except InputError as exc:
        field = "meaning" if exc.field == "meaning" else "form"
        label = "Meaning of the signature: " if field == "meaning" else ""
        message = str(exc).removeprefix("meaning: ")
        return _page(request, db, principal, code, meaning=meaning, status_code=422,
                     errors={field: label + message})
    return RedirectResponse(f"/subjects/{code}/casebook?signed=1", status_code=303)
