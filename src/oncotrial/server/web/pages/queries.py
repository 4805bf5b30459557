"""Queries and source-data verification from the browser: the list of queries the caller
may see, one query with its history and the next step the role may take (answer, close),
raising a query on a field of a saved record, and a monitor's verification of a record.

The steps are those of :mod:`oncotrial.server.services.queries`, with its permissions and
site scope; a step the query's state does not allow is shown on the page (409).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import AllocationError, InputError
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import Principal, require
from oncotrial.server.services import capture, queries
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STATUSES = ("open", "answered", "closed")


@router.get("/queries")
def query_list(request: Request, principal: PagePrincipal, db: Database) -> Response:
    status = request.query_params.get("status") or None
    site = request.query_params.get("site") or None
    if status not in (None, *STATUSES):
        raise InputError(f"status: expected one of {', '.join(STATUSES)}, got {status!r}",
                         field="status")
    found = db.read(queries.list_queries, principal, status=status)
    sites = sorted({q.site for q in found})
    shown = [q for q in found if site is None or q.site == site]
    return render(request, "queries.html", {
        "queries": shown, "status": status or "", "site": site or "", "sites": sites,
        "statuses": STATUSES}, principal=principal)


def _query_page(request: Request, db: Db, principal: Principal, query_id: int, *,
                entered: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    query = db.read(queries.get_query, principal, query_id)
    return render(request, "query.html", {
        "query": query, "entered": entered or {}, "errors": errors or {}},
        principal=principal, status_code=status_code)


def _query_id(value: str) -> int:
    """The path's query number; anything else is a query that does not exist."""
    if not value.isdigit() or not 0 < int(value) < 2**62:
        raise queries.QueryNotFound(f"no query {value}")
    return int(value)


@router.get("/queries/{query_id}")
def query_page(request: Request, query_id: str, principal: PagePrincipal,
               db: Database) -> Response:
    return _query_page(request, db, principal, _query_id(query_id))


def _step(request: Request, db: Db, principal: Principal, query_id: str, form: Mapping[str, Any],
          step: Callable[..., Any], name: str, label: str) -> Response:
    number = _query_id(query_id)
    text = str(form.get(name) or "")
    try:
        db.write(step, principal, number, text=text, request_id=db.request_id)
    except InputError as exc:
        return _query_page(request, db, principal, number, entered={name: text},
                           errors={name: f"{label}: {str(exc).removeprefix('text: ')}"},
                           status_code=422)
    except AllocationError as exc:
        return _query_page(request, db, principal, number, entered={name: text},
                           errors={"form": str(exc)}, status_code=409)
    return RedirectResponse(f"/queries/{number}", status_code=303)


@router.post("/queries/{query_id}/answer")
def answer(request: Request, query_id: str, principal: PagePrincipal, form: PageForm,
           db: Database) -> Response:
    require(principal, "query.answer")
    return _step(request, db, principal, query_id, form, queries.answer_query, "answer",
                 "Answer")


@router.post("/queries/{query_id}/close")
def close(request: Request, query_id: str, principal: PagePrincipal, form: PageForm,
          db: Database) -> Response:
    require(principal, "query.close")
    return _step(request, db, principal, query_id, form, queries.close_query, "comment",
                 "Closing comment")


def record_page(request: Request, db: Db, principal: Principal, code: str, form: str,
                key: str | None, *, entered: dict[str, str] | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    """The saved-record page: the record, its queries, and the query and verification
    forms for the roles that may use them."""
    record = db.read(capture.get_form, principal, code, form, key)
    specs = db.read(capture.form_specs, principal)
    if form not in specs:
        raise capture.RecordNotFound(f"no form {form!r}")
    raised = [q for q in db.read(queries.list_queries, principal, subject_code=code)
              if q.form == form and q.key == record.key]
    options = [(f["name"], f["label"]) for f in specs[form]["fields"] if f["name"] in record.data]
    return render(request, "record.html", {
        "record": record, "spec": specs[form], "queries": raised, "field_options": options,
        "entered": entered or {},
        "errors": errors or {}, "verified": request.query_params.get("verified") == "1"},
        principal=principal, status_code=status_code)


@router.post("/queries")
def raise_query(request: Request, principal: PagePrincipal, form: PageForm,
                db: Database) -> Response:
    require(principal, "query.raise")
    code, name = str(form.get("subject") or ""), str(form.get("form") or "")
    key = str(form.get("key") or "") or None
    field, text = str(form.get("field") or ""), str(form.get("text") or "")
    try:
        view = db.write(queries.raise_query, principal, code, name, key, field=field,
                        text=text, request_id=db.request_id)
    except InputError as exc:
        target = "field" if exc.field == "field" else "text"
        label = "Field" if target == "field" else "Query text"
        message = str(exc).removeprefix(f"{exc.field}: ")
        return record_page(request, db, principal, code, name, key,
                           entered={"field": field, "text": text},
                           errors={target: f"{label}: {message}"}, status_code=422)
    return RedirectResponse(f"/queries/{view.id}", status_code=303)


@router.post("/subjects/{code}/forms/{form}/sdv")
def verify(request: Request, code: str, form: str, principal: PagePrincipal,
           submitted: PageForm, db: Database) -> Response:
    require(principal, "sdv.flag")
    key = str(submitted.get("key") or "") or None
    record = db.write(queries.verify_record, principal, code, form, key,
                      request_id=db.request_id)
    return RedirectResponse(f"/subjects/{code}/forms/{form}/saved?key={record.key}&verified=1",
                            status_code=303)
