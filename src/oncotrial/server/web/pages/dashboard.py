"""The dashboard: the caller's subjects with their status and allocation as the role may
see it (a masked code in a blinded trial), and the open notifications for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from oncotrial.server.api.deps import Database
from oncotrial.server.services import notifications, randomisation, subjects
from oncotrial.server.web.pages.common import trial_of
from oncotrial.server.web.rendering import PageRoute, may, render
from oncotrial.server.web.session import PagePrincipal

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def dashboard(request: Request, principal: PagePrincipal, db: Database) -> Response:
    trial = trial_of(db, principal)
    rows = db.read(subjects.list_subjects, principal)
    allocations = {a.subject: a for a in db.read(randomisation.list_allocations, principal)}
    notes = db.read(notifications.list_notifications, principal) \
        if may(principal, "notifications.read") else []
    return render(request, "dashboard.html", {
        "trial": trial, "subjects": rows, "allocations": allocations,
        "notifications": [n for n in notes if n.read_at is None]}, principal=principal)
