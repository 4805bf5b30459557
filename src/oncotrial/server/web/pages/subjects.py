"""Registering a subject (a form generated from the protocol) and a subject's page: its
registration data, eligibility, allocation as the role may see it, the randomise form (the
password is asked again) and the outcome."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from oncotrial.errors import AllocationError, InputError, PermissionDenied
from oncotrial.server.api.deps import Database, Db
from oncotrial.server.security import Principal, require
from oncotrial.server.services import audit, capture, planning, randomisation, subjects
from oncotrial.server.web.forms import field_id, parse_register, register_fields
from oncotrial.server.web.pages.common import protocol_of, trial_of
from oncotrial.server.web.rendering import PageRoute, may, render
from oncotrial.server.web.session import PageForm, PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def _register_page(request: Request, db: Db, principal: Principal, *,
                   entered: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                   check: Any = None, status_code: int = 200) -> Response:
    protocol = protocol_of(db, principal)
    key = (entered or {}).get("idempotency_key") or uuid.uuid4().hex
    return render(request, "register.html", {
        "protocol": protocol, "fields": register_fields(protocol), "entered": entered or {},
        "errors": errors or {}, "check": check, "field_id": field_id,
        "idempotency_key": key}, principal=principal, status_code=status_code)


@router.get("/subjects/new")
def register_form(request: Request, principal: PagePrincipal, db: Database) -> Response:
    require(principal, "subject.register")
    return _register_page(request, db, principal)


def _error_key(field: str | None, names: set[str]) -> str:
    """The form input an InputError's field names (``factors.x`` may be the field ``x``)."""
    if field is None:
        return "form"
    if field in names:
        return field
    if field.startswith("factors.") and f"eligibility.{field[8:]}" in names:
        return f"eligibility.{field[8:]}"
    return "form"


@router.post("/subjects/new")
def register(request: Request, principal: PagePrincipal, form: PageForm,
             db: Database) -> Response:
    require(principal, "subject.register")
    protocol = protocol_of(db, principal)
    parsed = parse_register(protocol, form)
    key = str(form.get("idempotency_key") or "")
    entered = {**parsed.entered, "subject_code": str(form.get("subject_code") or "").strip(),
               "idempotency_key": key if _KEY.match(key) else ""}
    if parsed.errors:
        return _register_page(request, db, principal, entered=entered, errors=parsed.errors,
                              status_code=422)
    if form.get("action") == "check":
        check = protocol.check_eligibility(parsed.eligibility)
        return _register_page(request, db, principal, entered=entered, check=check)
    try:
        view = db.write(subjects.register, principal, subject_code=entered["subject_code"] or None,
                        site_code=principal.site_code or "", eligibility=parsed.eligibility,
                        factors=parsed.factors, idempotency_key=entered["idempotency_key"] or None,
                        request_id=db.request_id)
    except InputError as exc:
        names = {f.name for f in register_fields(protocol)} | {"subject_code"}
        return _register_page(request, db, principal, entered=entered,
                              errors={_error_key(exc.field, names): str(exc)}, status_code=422)
    return RedirectResponse(f"/subjects/{view.code}?registered=1", status_code=303)


def _timeline(subject: subjects.SubjectView, allocation: randomisation.AllocationView | None
              ) -> list[tuple[Any, str]]:
    events: list[tuple[Any, str]] = [(subject.created_at, f"Registered at site {subject.site}"),
                                     (subject.created_at, f"Eligibility: {subject.eligibility_status}")]
    if allocation is not None:
        shown = allocation.arm or allocation.code or "allocated"
        events.append((allocation.allocated_at, f"Randomised (number {allocation.sequence}): "
                                                f"{shown}, by {allocation.allocated_by}"))
        if allocation.status != "active":
            events.append((allocation.allocated_at, f"Allocation marked {allocation.status}"))
    return events


def _subject_page(request: Request, db: Db, principal: Principal, code: str, *,
                  errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    subject = db.read(subjects.get, principal, code)
    allocation = next((a for a in db.read(randomisation.list_allocations, principal)
                       if a.subject == subject.code), None)
    trial = trial_of(db, principal)
    protocol = protocol_of(db, principal)
    records = db.read(audit.records, principal, entity="subject", entity_id=subject.code,
                      limit=200) if may(principal, "audit.read") else []
    schedule = db.read(planning.subject_schedule, principal, subject.code) \
        if allocation is not None else []
    form_labels = {name: spec["label"] for name, spec in
                   db.read(capture.form_specs, principal).items()} if schedule else {}
    can_randomise = (may(principal, "randomise") and allocation is None
                     and subject.status == "registered" and trial.status == "live")
    return render(request, "subject.html", {
        "subject": subject, "allocation": allocation, "trial": trial,
        "arms": {a.code: a.label for a in protocol.arms}, "records": records,
        "labels": {f.name.split(".", 1)[1]: f.label for f in register_fields(protocol)},
        "timeline": _timeline(subject, allocation), "can_randomise": can_randomise,
        "schedule": schedule, "form_labels": form_labels,
        "idempotency_key": uuid.uuid4().hex, "errors": errors or {},
        "registered": request.query_params.get("registered") == "1",
        "randomised": request.query_params.get("randomised") == "1"},
        principal=principal, status_code=status_code)


@router.get("/subjects/{code}")
def subject_page(request: Request, code: str, principal: PagePrincipal,
                 db: Database) -> Response:
    return _subject_page(request, db, principal, code)


@router.post("/subjects/{code}/randomise")
def randomise(request: Request, code: str, principal: PagePrincipal, form: PageForm,
              db: Database) -> Response:
    require(principal, "randomise")
    password = str(form.get("password") or "")
    key = str(form.get("idempotency_key") or "")
    if not password:
        return _subject_page(request, db, principal, code, status_code=422,
                             errors={"password": "Password: enter your password again to "
                                                 "randomise"})
    if not _KEY.match(key):
        return _subject_page(request, db, principal, code, status_code=422,
                             errors={"form": "The form was incomplete; open the page again."})
    try:
        db.write(randomisation.randomise, principal, code, password=password,
                 idempotency_key=key, request_id=db.request_id)
    except PermissionDenied as exc:
        if getattr(exc, "not_found", False):
            raise
        return _subject_page(request, db, principal, code, status_code=403,
                             errors={"password": f"Password: {exc}"})
    except AllocationError as exc:
        return _subject_page(request, db, principal, code, status_code=409,
                             errors={"form": f"Randomisation refused: {exc}"})
    return RedirectResponse(f"/subjects/{code}?randomised=1", status_code=303)
