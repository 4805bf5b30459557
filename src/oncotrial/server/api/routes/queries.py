"""Queries on a record's field (raise, answer, close; history kept) and source-data
verification by monitors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.api.routes.subjects import NOT_FOUND
from oncotrial.server.schemas.capture import QueryAction, QueryCreate, QueryOut, SdvOut, SdvRequest
from oncotrial.server.services import queries

router = APIRouter(tags=["queries"])

QueryId = Annotated[int, Path(ge=1, le=2**62)]
STATE: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 409: {"description": "the query's state does not allow this step"}}


@router.get("/queries", response_model=list[QueryOut])
def list_queries(principal: CurrentPrincipal, db: Database,
                 status: Annotated[Literal["open", "answered", "closed"] | None, Query()] = None,
                 subject: Annotated[str | None, Query(max_length=64)] = None) -> list[QueryOut]:
    """The queries the caller may see (an investigator: their site's), with their history."""
    return [QueryOut.model_validate(q.to_dict()) for q in db.read(
        queries.list_queries, principal, status=status, subject_code=subject)]


@router.post("/queries", response_model=QueryOut, status_code=201, responses=NOT_FOUND)
def raise_query(body: QueryCreate, principal: CurrentPrincipal, db: Database) -> QueryOut:
    """Data manager or monitor: question one field of a saved record."""
    return QueryOut.model_validate(db.write(
        queries.raise_query, principal, body.subject, body.form, body.key, field=body.field,
        text=body.text, request_id=db.request_id).to_dict())


@router.post("/queries/{query_id}/answer", response_model=QueryOut, responses=STATE)
def answer_query(query_id: QueryId, body: QueryAction, principal: CurrentPrincipal,
                 db: Database) -> QueryOut:
    """Investigator of the subject's site: answer an open query."""
    return QueryOut.model_validate(db.write(
        queries.answer_query, principal, query_id, text=body.text,
        request_id=db.request_id).to_dict())


@router.post("/queries/{query_id}/close", response_model=QueryOut, responses=STATE)
def close_query(query_id: QueryId, body: QueryAction, principal: CurrentPrincipal,
                db: Database) -> QueryOut:
    """Data manager: close a query."""
    return QueryOut.model_validate(db.write(
        queries.close_query, principal, query_id, text=body.text,
        request_id=db.request_id).to_dict())


@router.post("/sdv", response_model=SdvOut, responses=NOT_FOUND)
def verify(body: SdvRequest, principal: CurrentPrincipal, db: Database) -> SdvOut:
    """Monitor: mark the record's current version verified against the source."""
    return SdvOut.model_validate(db.write(
        queries.verify_record, principal, body.subject, body.form, body.key,
        request_id=db.request_id).to_dict())
