"""The audit history: the trial's records, filtered by record (entity and id) or user, in
pages, and the verification of the hash chain (roles that may read the trail)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from oncotrial.server.api.deps import Database
from oncotrial.server.services import audit
from oncotrial.server.web.rendering import PageRoute, render
from oncotrial.server.web.session import PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE = 100


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:64] or None


@router.get("/audit")
def audit_page(request: Request, principal: PagePrincipal, db: Database) -> Response:
    after_text = request.query_params.get("after", "0")
    after = int(after_text) if after_text.isdigit() and len(after_text) < 18 else 0
    filters = {"entity": _text(request, "entity"), "entity_id": _text(request, "entity_id"),
               "username": _text(request, "username")}
    rows = db.read(audit.records, principal, after_seq=after, limit=PAGE, **filters)
    verification = db.read(audit.verify_for, principal) \
        if request.query_params.get("verify") == "1" else None
    return render(request, "audit.html", {
        "records": rows, "filters": filters, "after": after, "page": PAGE,
        "next_after": rows[-1].seq if len(rows) == PAGE else None,
        "verification": verification}, principal=principal)
