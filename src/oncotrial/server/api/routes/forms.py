"""Data capture: the protocol's forms, a subject's records (save, read, edit with a
reason), the casebook and its signature, and the forms missing or overdue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.api.routes.subjects import NOT_FOUND, SubjectCode
from oncotrial.server.schemas.capture import (
    FORM_PATTERN,
    KEY_PATTERN,
    CasebookOut,
    FormEdit,
    FormSave,
    FormSpecOut,
    MissingFormOut,
    RecordOut,
    SignRequest,
)
from oncotrial.server.services import capture, casebook, planning

router = APIRouter(tags=["data capture"])

FormName = Annotated[str, Path(pattern=FORM_PATTERN, max_length=64)]
RepeatKey = Annotated[str, Path(pattern=KEY_PATTERN, max_length=64)]
LOCKED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 409: {"description": "the record is frozen by a database lock"}}


@router.get("/forms", response_model=list[FormSpecOut])
def list_forms(principal: CurrentPrincipal, db: Database) -> list[FormSpecOut]:
    """The forms of the trial's protocol: fields, types, ranges, repeats."""
    specs = db.read(capture.form_specs, principal)
    return [FormSpecOut(name=name, spec=spec) for name, spec in specs.items()]


@router.get("/forms/missing", response_model=list[MissingFormOut])
def missing_forms(principal: CurrentPrincipal, db: Database,
                  as_of: Annotated[dt.date | None, Query()] = None) -> list[MissingFormOut]:
    """Planned forms not saved yet (an investigator: their site's), overdue when their
    date is past ``as_of`` (default today)."""
    return [MissingFormOut.model_validate(m.to_dict())
            for m in db.read(planning.missing_forms, principal, as_of=as_of)]


def _get(db: Database, principal: Any, code: str, form: str, key: str | None) -> RecordOut:
    return RecordOut.model_validate(db.read(capture.get_form, principal, code, form, key).to_dict())


def _save(db: Database, principal: Any, code: str, form: str, key: str | None,
          body: FormSave) -> RecordOut:
    return RecordOut.model_validate(db.write(
        capture.save_form, principal, code, form, key, dict(body.data),
        request_id=db.request_id).to_dict())


def _edit(db: Database, principal: Any, code: str, form: str, key: str | None,
          body: FormEdit) -> RecordOut:
    return RecordOut.model_validate(db.write(
        capture.edit_form, principal, code, form, key, dict(body.data), reason=body.reason,
        request_id=db.request_id).to_dict())


@router.get("/subjects/{code}/forms/{form}", response_model=RecordOut, responses=NOT_FOUND)
def get_form(code: SubjectCode, form: FormName, principal: CurrentPrincipal,
             db: Database) -> RecordOut:
    """A form filled once per subject."""
    return _get(db, principal, code, form, None)


@router.get("/subjects/{code}/forms/{form}/{key}", response_model=RecordOut, responses=NOT_FOUND)
def get_repeat(code: SubjectCode, form: FormName, key: RepeatKey, principal: CurrentPrincipal,
               db: Database) -> RecordOut:
    """One repeat of a repeating form (a visit, an event)."""
    return _get(db, principal, code, form, key)


@router.post("/subjects/{code}/forms/{form}", response_model=RecordOut, status_code=201,
             responses=LOCKED)
def save_form(code: SubjectCode, form: FormName, body: FormSave, principal: CurrentPrincipal,
              db: Database) -> RecordOut:
    """Save a form filled once per subject; a field that does not validate is a 422 naming
    it, and nothing is saved."""
    return _save(db, principal, code, form, None, body)


@router.post("/subjects/{code}/forms/{form}/{key}", response_model=RecordOut, status_code=201,
             responses=LOCKED)
def save_repeat(code: SubjectCode, form: FormName, key: RepeatKey, body: FormSave,
                principal: CurrentPrincipal, db: Database) -> RecordOut:
    """Save one repeat of a repeating form."""
    return _save(db, principal, code, form, key, body)


@router.put("/subjects/{code}/forms/{form}", response_model=RecordOut, responses=LOCKED)
def edit_form(code: SubjectCode, form: FormName, body: FormEdit, principal: CurrentPrincipal,
              db: Database) -> RecordOut:
    """Change saved data, with a reason; audited field by field; voids a signature."""
    return _edit(db, principal, code, form, None, body)


@router.put("/subjects/{code}/forms/{form}/{key}", response_model=RecordOut, responses=LOCKED)
def edit_repeat(code: SubjectCode, form: FormName, key: RepeatKey, body: FormEdit,
                principal: CurrentPrincipal, db: Database) -> RecordOut:
    """Change one saved repeat, with a reason."""
    return _edit(db, principal, code, form, key, body)


@router.get("/subjects/{code}/casebook", response_model=CasebookOut, responses=NOT_FOUND)
def get_casebook(code: SubjectCode, principal: CurrentPrincipal, db: Database) -> CasebookOut:
    """Every record of the subject with its computed response, and the signatures."""
    return CasebookOut.model_validate(db.read(casebook.get_casebook, principal, code).to_dict())


@router.post("/subjects/{code}/sign", response_model=CasebookOut, responses=NOT_FOUND)
def sign(code: SubjectCode, body: SignRequest, principal: CurrentPrincipal,
         db: Database) -> CasebookOut:
    """The investigator signs the casebook: password again, the meaning stated."""
    return CasebookOut.model_validate(db.write(
        casebook.sign, principal, code, password=body.password, meaning=body.meaning,
        request_id=db.request_id).to_dict())
