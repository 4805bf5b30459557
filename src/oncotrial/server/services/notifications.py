"""Notifications for the trial's admins: emergency unblindings, an exhausted list, a sealed
list or state that no longer verifies (``integrity``), a locked account.

A notification is a row written in the transaction of the event it reports (or, for a
refused request, in the refusal's own transaction), so an event is never reported without
having happened nor lost when it did. Admins read them on their page (the API) and
``oncotrial audit unblindings`` lists the unblindings. Messages never name an arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.server.db.models import Notification
from oncotrial.server.security import Principal, require

__all__ = ["KINDS", "NotificationView", "list_notifications", "notify"]

#: what a notification reports
KINDS = ("unblinding", "list_exhausted", "integrity", "lockout")


@dataclass(frozen=True, repr=False)
class NotificationView(Result):
    """One notification."""

    id: int
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None


def notify(session: Session, trial_id: int, kind: str, message: str) -> Notification:
    """Store a notification for the admins of ``trial_id`` (in the caller's transaction)."""
    if kind not in KINDS:
        raise InputError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}", field="kind")
    row = Notification(trial_id=trial_id, kind=kind, message=message, created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def list_notifications(session: Session, principal: Principal) -> list[NotificationView]:
    """The trial's notifications, newest first (roles allowed ``notifications.read``)."""
    require(principal, "notifications.read")
    rows = session.scalars(select(Notification).where(Notification.trial_id == principal.trial_id)
                           .order_by(Notification.id.desc())).all()
    return [NotificationView(r.id, r.kind, r.message, r.created_at, r.read_at) for r in rows]
