"""Stored notifications (emergency unblindings, an exhausted list, lockouts) for admins."""

from __future__ import annotations

from fastapi import APIRouter

from oncotrial.server.api.deps import CurrentPrincipal, Database
from oncotrial.server.schemas import NotificationOut
from oncotrial.server.services import notifications

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationOut])
def list_notifications(principal: CurrentPrincipal, db: Database) -> list[NotificationOut]:
    """Admin: the stored notifications, newest first."""
    return [NotificationOut.model_validate(n.to_dict())
            for n in db.read(notifications.list_notifications, principal)]
