"""Data queries and source-data verification: how the central roles question the sites'
data and how monitors record that a record matches its source.

A query is about one field of one record. A data manager or a monitor raises it, an
investigator of the subject's site answers it (usually after correcting the record, which
needs a reason of its own), and the data manager closes it (or, unsatisfied, raises a new
one). Every step is a message of the query's history, which the database keeps
append-only, and an audit record. A query's state decides what may happen next: answering
a closed query is refused with :class:`QueryStateError` (HTTP 409).

Source-data verification marks one version of a record as checked against the source
documents; an edit makes a new version, which is unverified until a monitor checks it
again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.errors import AllocationError, InputError, PermissionDenied
from oncotrial.core.results import Result
from oncotrial.server.db.models import (
    DataQuery,
    FormRecord,
    QueryMessage,
    SdvFlag,
    Site,
    Subject,
    User,
)
from oncotrial.server.security import Principal, in_scope, require
from oncotrial.server.services import audit, capture

__all__ = ["QueryMessageView", "QueryNotFound", "QueryStateError", "QueryView", "SdvView",
           "answer_query", "close_query", "get_query", "list_queries", "raise_query",
           "verify_record"]

_TEXT_MAX = 2000
_STATUSES = ("open", "answered", "closed")


class QueryStateError(AllocationError):
    """The query's state does not allow the step (the API answers 409)."""


class QueryNotFound(PermissionDenied):
    """No such query, or one about another site's subject: 404 for both."""

    not_found = True


@dataclass(frozen=True, repr=False)
class QueryMessageView(Result):
    action: str
    text: str
    by: str
    at: dt.datetime


@dataclass(frozen=True, repr=False)
class QueryView(Result):
    """A query, its state and its whole history."""

    id: int
    subject: str
    site: str
    form: str
    key: str
    field: str
    status: str
    raised_by: str
    raised_at: dt.datetime
    messages: tuple[QueryMessageView, ...]


@dataclass(frozen=True, repr=False)
class SdvView(Result):
    """A record's verification: which version, by whom, when."""

    subject: str
    form: str
    key: str
    version: int
    verified_by: str
    verified_at: dt.datetime


def _text(value: Any, field: str = "text") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{field}: expected a non-empty text", field=field)
    if len(value) > _TEXT_MAX:
        raise InputError(f"{field}: at most {_TEXT_MAX} characters, got {len(value)}", field=field)
    return value.strip()


def _view(session: Session, query: DataQuery) -> QueryView:
    record, subject, site = session.execute(
        select(FormRecord, Subject, Site).join(Subject, FormRecord.subject_id == Subject.id)
        .join(Site, Subject.site_id == Site.id).where(FormRecord.id == query.record_id)).one()
    messages = session.execute(select(QueryMessage, User.username).join(
        User, QueryMessage.user_id == User.id).where(QueryMessage.query_id == query.id)
        .order_by(QueryMessage.id)).all()
    raised_by = messages[0][1] if messages else ""
    return QueryView(query.id, subject.code, site.code, record.form, record.repeat_key,
                     query.field, query.status, raised_by, query.raised_at,
                     tuple(QueryMessageView(m.action, m.text, u, m.at) for m, u in messages))


def _step(session: Session, principal: Principal, query: DataQuery, action: str, text: str,
          status: str, request_id: str | None, subject_code: str) -> None:
    now = dt.datetime.now(dt.UTC)
    old = query.status if action != "raise" else None
    query.status = status
    session.add(QueryMessage(query_id=query.id, action=action, text=text,
                             user_id=principal.user_id, at=now))
    audit.append(session, action=f"query.{action}", entity="query", entity_id=str(query.id),
                 changes=[("subject", None, subject_code), ("field", None, query.field),
                          ("status", old, status), ("text", None, text)],
                 principal=principal, request_id=request_id)
    session.flush()


def raise_query(session: Session, principal: Principal, subject_code: str, form: str,
                key: str | None, *, field: str, text: str,
                request_id: str | None = None) -> QueryView:
    """Raise a query on ``field`` of a saved record (data manager or monitor)."""
    require(principal, "query.raise")
    record, subject, _ = capture.record_row(session, principal, subject_code, form, key)
    message = _text(text)
    if not isinstance(field, str) or field not in capture.record_fields(session, record):
        raise InputError(f"field: {field!r} is not a field of form {record.form}",
                         field="field")
    query = DataQuery(trial_id=principal.trial_id, record_id=record.id, field=field,
                      status="open", raised_at=dt.datetime.now(dt.UTC),
                      raised_by=principal.user_id)
    session.add(query)
    session.flush()
    _step(session, principal, query, "raise", message, "open", request_id, subject.code)
    return _view(session, query)


def _query(session: Session, principal: Principal, query_id: int) -> tuple[DataQuery, Subject]:
    found = session.execute(select(DataQuery, Subject).join(
        FormRecord, DataQuery.record_id == FormRecord.id).join(
        Subject, FormRecord.subject_id == Subject.id).where(
        DataQuery.id == query_id, DataQuery.trial_id == principal.trial_id)).one_or_none()
    if found is None or not in_scope(principal, found[1].site_id):
        raise QueryNotFound(f"no query {query_id} at your site(s)")
    return found[0], found[1]


def answer_query(session: Session, principal: Principal, query_id: int, *, text: str,
                 request_id: str | None = None) -> QueryView:
    """Answer an open query about a subject of the investigator's site."""
    require(principal, "query.answer")
    query, subject = _query(session, principal, query_id)
    message = _text(text)
    if query.status != "open":
        raise QueryStateError(f"query {query_id} is {query.status}: only an open query is answered")
    _step(session, principal, query, "answer", message, "answered", request_id, subject.code)
    return _view(session, query)


def close_query(session: Session, principal: Principal, query_id: int, *, text: str,
                request_id: str | None = None) -> QueryView:
    """Close a query (data manager), answered or not; a closed query stays closed."""
    require(principal, "query.close")
    query, subject = _query(session, principal, query_id)
    message = _text(text)
    if query.status == "closed":
        raise QueryStateError(f"query {query_id} is already closed")
    _step(session, principal, query, "close", message, "closed", request_id, subject.code)
    return _view(session, query)


def get_query(session: Session, principal: Principal, query_id: int) -> QueryView:
    """One query and its history; a query of another site is not found, as its subject."""
    require(principal, "query.read")
    query, _ = _query(session, principal, query_id)
    return _view(session, query)


def list_queries(session: Session, principal: Principal, *, status: str | None = None,
                 subject_code: str | None = None) -> list[QueryView]:
    """The queries the principal may see (an investigator: their site's), oldest first."""
    require(principal, "query.read")
    if status is not None and status not in _STATUSES:
        raise InputError(f"status: expected one of {', '.join(_STATUSES)}, got {status!r}",
                         field="status")
    query = select(DataQuery).join(FormRecord, DataQuery.record_id == FormRecord.id).join(
        Subject, FormRecord.subject_id == Subject.id).where(
        DataQuery.trial_id == principal.trial_id).order_by(DataQuery.id)
    if principal.role == "investigator":
        query = query.where(Subject.site_id == principal.site_id)
    if status is not None:
        query = query.where(DataQuery.status == status)
    if subject_code is not None:
        query = query.where(Subject.code == subject_code)
    return [_view(session, q) for q in session.scalars(query)]


def verify_record(session: Session, principal: Principal, subject_code: str, form: str,
                  key: str | None, *, request_id: str | None = None) -> SdvView:
    """Mark the current version of a record source-data verified (monitor); verifying a
    version already verified changes nothing."""
    require(principal, "sdv.flag")
    record, subject, _ = capture.record_row(session, principal, subject_code, form, key)
    flag = session.scalars(select(SdvFlag).where(SdvFlag.record_id == record.id,
                                                 SdvFlag.version == record.version)).one_or_none()
    if flag is None:
        flag = SdvFlag(record_id=record.id, version=record.version, verified_by=principal.user_id,
                       verified_at=dt.datetime.now(dt.UTC))
        session.add(flag)
        session.flush()
        audit.append(session, action="sdv.verify", entity="subject", entity_id=subject.code,
                     changes=[(f"{capture.label(record)}.verified_version", None, record.version)],
                     principal=principal, request_id=request_id)
    by = session.scalar(select(User.username).where(User.id == flag.verified_by)) or ""
    return SdvView(subject.code, record.form, record.repeat_key, flag.version, by,
                   flag.verified_at)
