"""Database lock at a data cut-off, unlock, and the SDTM export (masked for blinded roles
of a blinded trial)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas.capture import LockOut, LockRequest, SdtmExportOut, UnlockRequest
from oncotrial.server.services import exports, locking

router = APIRouter(tags=["lock and export"])


@router.post("/lock", response_model=LockOut,
             responses={409: {"description": "the database is already locked"}})
def lock(body: LockRequest, principal: CurrentPrincipal, db: Database) -> LockOut:
    """Freeze the records dated up to the cut-off; the SHA-256 of their SDTM export is
    recorded in the audit trail."""
    return LockOut.model_validate(db.write(
        locking.lock, principal, body.cutoff, request_id=db.request_id).to_dict())


@router.post("/unlock", response_model=LockOut,
             responses={409: {"description": "the database is not locked"}})
def unlock(body: UnlockRequest, principal: CurrentPrincipal, db: Database) -> LockOut:
    """Admin: lift the lock, with a reason."""
    return LockOut.model_validate(db.write(
        locking.unlock, principal, reason=body.reason, request_id=db.request_id).to_dict())


@router.get("/locks", response_model=list[LockOut])
def list_locks(principal: CurrentPrincipal, db: Database) -> list[LockOut]:
    """Every lock of the trial and its unlock, if any."""
    return [LockOut.model_validate(v.to_dict()) for v in db.read(locking.lock_status, principal)]


@router.get("/exports/sdtm", response_model=SdtmExportOut,
            responses={200: {"content": {"application/json": {}, "application/zip": {}}}})
def export_sdtm(principal: CurrentPrincipal, db: Database,
                cutoff: Annotated[dt.date | None, Query()] = None,
                format: Annotated[Literal["json", "zip"], Query()] = "json") -> SdtmExportOut | Response:
    """The SDTM export: a listing of its files and SHA-256 (``json``) or the CSV files in
    a zip archive (``zip``); audited."""
    export = db.write(exports.export_sdtm, principal, cutoff=cutoff, request_id=db.request_id)
    if format == "zip":
        return Response(export.zip_bytes(), media_type="application/zip", headers={
            "Content-Disposition": 'attachment; filename="sdtm.zip"',
            "X-Export-SHA256": export.sha256})
    return SdtmExportOut.model_validate(export.to_dict())
