"""The audit trail: read, verify, export. No route changes it: PUT, PATCH and DELETE on
these paths are 405."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas import AuditOut, AuditVerificationOut
from oncotrial.server.services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditQuery(BaseModel):
    """Filters of the audit listing; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    after: int = Field(default=0, ge=0, le=2**62, description="records after this seq")
    limit: int = Field(default=100, ge=1, le=1000)
    entity: str | None = Field(default=None, max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    username: str | None = Field(default=None, max_length=64)


@router.get("", response_model=list[AuditOut])
def list_records(query: Annotated[AuditQuery, Query()], principal: CurrentPrincipal,
                 db: Database) -> list[AuditOut]:
    """The trial's records, oldest first, in pages (``after`` = the last ``seq`` seen)."""
    return [AuditOut.model_validate(r.to_dict())
            for r in db.read(audit.records, principal, after_seq=query.after,
                             limit=query.limit, entity=query.entity,
                             entity_id=query.entity_id, username=query.username)]


@router.get("/verify", response_model=AuditVerificationOut)
def verify(principal: CurrentPrincipal, db: Database) -> AuditVerificationOut:
    """Recompute the hash chain: any edited, deleted, inserted or reordered record shows."""
    return AuditVerificationOut.model_validate(
        db.read(audit.verify_for, principal).to_dict())


@router.get("/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export(principal: CurrentPrincipal, db: Database,
           format: Annotated[Literal["csv", "json"], Query()] = "csv") -> Response:
    """The whole trail as CSV or JSON (the export is itself audited)."""
    text = db.write(audit.export_text, principal, format, request_id=db.request_id)
    media = "text/csv" if format == "csv" else "application/json"
    return Response(text, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="audit.{format}"'})
