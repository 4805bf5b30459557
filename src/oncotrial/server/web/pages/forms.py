"""Case report forms of a subject: the list of the protocol's forms and the subject's
records, an entry page for any form (generated from its spec), a saved record with the
response computed at entry (RECIST for a tumour assessment), and its edit with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import InputError
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import Principal, require
from oncotrial.server.services import capture
from oncotrial.server.web.capture_forms import (
    entered_text,
    form_data,
    input_name,
    issue_label,
    lesion_rows,
)
from oncotrial.server.web.pages.queries import record_page
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _spec(db: Db, principal: Principal, form: str) -> dict[str, Any]:
    specs = db.read(capture.form_specs, principal)
    if form not in specs:
        raise capture.RecordNotFound(f"no form {form!r}")
    return specs[form]


@router.get("/subjects/{code}/forms")
def forms(request: Request, code: str, principal: PagePrincipal, db: Database) -> Response:
    subject, site, records = db.read(capture.list_records, principal, code)
    return render(request, "forms.html", {
        "code": subject.code, "site": site.code, "records": records,
        "specs": db.read(capture.form_specs, principal)}, principal=principal)


def _entry_page(request: Request, db: Db, principal: Principal, code: str, form: str, *,
                entered: Mapping[str, Any] | None = None, errors: dict[str, str] | None = None,
                edit_key: str | None = None, status_code: int = 200) -> Response:
    """The entry form of ``form`` (``edit_key``: the edit form of that saved record)."""
    require(principal, "form.write")
    db.read(capture.list_records, principal, code)  # 404 for a subject out of scope
    spec = _spec(db, principal, form)
    values = {k: v for k, v in (entered or {}).items() if isinstance(v, str)}
    rows = {f["name"]: lesion_rows(values, f["name"])
            for f in spec["fields"] if f["kind"] == "lesions"}
    return render(request, "form.html", {
        "code": code, "spec": spec, "entered": values, "errors": errors or {}, "rows": rows,
        "edit_key": edit_key}, principal=principal, status_code=status_code)


def _issues(spec: Mapping[str, Any], exc: InputError) -> dict[str, str]:
    """The errors of a refused save, by input: every field issue, else the one message."""
    if isinstance(exc, capture.FormInvalid):
        return {input_name(i.field): f"{issue_label(spec, i.field)}: {i.message}"
                for i in exc.issues}
    return {"change_reason" if exc.field == "reason" else "form": str(exc)}


@router.get("/subjects/{code}/forms/{form}")
def entry(request: Request, code: str, form: str, principal: PagePrincipal,
          db: Database) -> Response:
    require(principal, "form.write")
    _spec(db, principal, form)  # an unknown form is not found, as an unknown record
    start = db.read(capture.prefill, principal, code, form,
                    request.query_params.get("phase") or None)
    return _entry_page(request, db, principal, code, form, entered=entered_text(start))


@router.post("/subjects/{code}/forms/{form}")
def save(request: Request, code: str, form: str, principal: PagePrincipal, submitted: PageForm,
         db: Database) -> Response:
    require(principal, "form.write")
    spec = _spec(db, principal, form)
    try:
        record = db.write(capture.save_form, principal, code, form, None,
                          form_data(spec, submitted), request_id=db.request_id)
    except InputError as exc:
        return _entry_page(request, db, principal, code, form, entered=submitted,
                           errors=_issues(spec, exc), status_code=422)
    return RedirectResponse(f"/subjects/{code}/forms/{form}/saved?key={record.key}",
                            status_code=303)


@router.get("/subjects/{code}/forms/{form}/saved")
def saved(request: Request, code: str, form: str, principal: PagePrincipal,
          db: Database) -> Response:
    return record_page(request, db, principal, code, form,
                       request.query_params.get("key") or None)


@router.get("/subjects/{code}/forms/{form}/edit")
def edit_form(request: Request, code: str, form: str, principal: PagePrincipal,
              db: Database) -> Response:
    require(principal, "form.write")
    key = request.query_params.get("key") or None
    record = db.read(capture.get_form, principal, code, form, key)
    return _entry_page(request, db, principal, code, form, entered=entered_text(record.data),
                       edit_key=record.key)


@router.post("/subjects/{code}/forms/{form}/edit")
def save_edit(request: Request, code: str, form: str, principal: PagePrincipal,
              submitted: PageForm, db: Database) -> Response:
    require(principal, "form.write")
    spec = _spec(db, principal, form)
    key = str(submitted.get("record_key") or "") or None
    try:
        record = db.write(capture.edit_form, principal, code, form, key,
                          form_data(spec, submitted),
                          reason=str(submitted.get("change_reason") or ""),
                          request_id=db.request_id)
    except InputError as exc:
        return _entry_page(request, db, principal, code, form, entered=submitted,
                           errors=_issues(spec, exc), edit_key=key or "", status_code=422)
    return RedirectResponse(f"/subjects/{code}/forms/{form}/saved?key={record.key}",
                            status_code=303)
