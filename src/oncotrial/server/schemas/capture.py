"""Request and response models of data capture: forms, casebooks, signatures, queries,
source-data verification, database locks and exports.

Form data are an object of field -> value checked by the form's spec in the service (the
spec comes from the protocol, so the API schema cannot list the fields); values are
strict JSON scalars, or lists of objects of scalars for the repeating parts of a form
(lesions of an assessment), dates as ISO 8601 text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from oncotrial.server.schemas.requests import FieldName, Password, Reason, Value

__all__ = [
    "FORM_PATTERN",
    "KEY_PATTERN",
    "CasebookOut",
    "FieldIssueOut",
    "FormEdit",
    "FormSave",
    "FormSpecOut",
    "LockOut",
    "LockRequest",
    "MissingFormOut",
    "QueryAction",
    "QueryCreate",
    "QueryOut",
    "RecordOut",
    "SdtmExportOut",
    "SdvOut",
    "SdvRequest",
    "SignRequest",
    "SignatureOut",
    "UnlockRequest",
]

#: a form's name as the protocol's specs give it, and a repeat key (a visit, a number)
FORM_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

FormName = Annotated[StrictStr, Field(pattern=FORM_PATTERN, max_length=64)]
RepeatKey = Annotated[StrictStr, Field(pattern=KEY_PATTERN, max_length=64)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=2000, pattern=r"\S")]
#: a row of a repeating part of a form (one lesion): field -> scalar
Row = dict[FieldName, Value]
FormValue = Value | Annotated[list[Row], Field(max_length=200)]
FormData = Annotated[dict[FieldName, FormValue], Field(max_length=200)]
Code = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", max_length=64)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, from_attributes=True)


class FormSave(_Request):
    data: FormData


class FormEdit(_Request):
    data: FormData
    reason: Reason = Field(description="why saved data change (21 CFR 11.10(e))")


class SignRequest(_Request):
    password: Password = Field(description="the signer's password, entered again")
    meaning: Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=r"\S")] = Field(
        description="what the signature means, e.g. 'I confirm the data of this casebook are "
                    "complete and accurate'")


class QueryCreate(_Request):
    subject: Code
    form: FormName
    key: RepeatKey | None = None
    field: FieldName
    text: Text


class QueryAction(_Request):
    text: Text


class SdvRequest(_Request):
    subject: Code
    form: FormName
    key: RepeatKey | None = None


class LockRequest(_Request):
    cutoff: date


class UnlockRequest(_Request):
    reason: Reason


class FieldIssueOut(_Response):
    field: str
    message: str


class FormSpecOut(_Response):
    """A form of the protocol: its fields and how it repeats (as the spec gives them)."""

    name: str
    spec: dict[str, Any]


class RecordOut(_Response):
    subject: str
    form: str
    key: str
    data: dict[str, Any]
    response: dict[str, Any] | None
    record_date: date | None
    version: int
    status: str
    verified_version: int | None
    open_queries: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class SignatureOut(_Response):
    subject: str
    signer: str
    signer_name: str
    meaning: str
    signed_at: datetime
    casebook_sha256: str
    status: str
    voided_at: datetime | None
    void_reason: str | None


class CasebookOut(_Response):
    subject: str
    site: str
    records: list[RecordOut]
    signatures: list[SignatureOut]


class QueryMessageOut(_Response):
    action: str
    text: str
    by: str
    at: datetime


class QueryOut(_Response):
    id: int
    subject: str
    site: str
    form: str
    key: str
    field: str
    status: Literal["open", "answered", "closed"]
    raised_by: str
    raised_at: datetime
    messages: list[QueryMessageOut]


class SdvOut(_Response):
    subject: str
    form: str
    key: str
    version: int
    verified_by: str
    verified_at: datetime


class MissingFormOut(_Response):
    subject: str
    site: str
    form: str
    key: str
    due: date
    earliest: date
    latest: date
    status: Literal["due", "overdue", "missed"]


class LockOut(_Response):
    cutoff: date
    status: str
    records: int
    export_sha256: str
    locked_at: datetime
    locked_by: str
    unlocked_at: datetime | None
    unlocked_by: str | None
    unlock_reason: str | None


class SdtmFileOut(_Response):
    name: str
    rows: int
    sha256: str


class SdtmExportOut(_Response):
    cutoff: date | None
    masked: bool
    sha256: str
    files: list[SdtmFileOut]
