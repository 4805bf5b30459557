"""What several pages need: the trial's protocol and summary for the caller."""

from __future__ import annotations

from typing import Any

from oncotrial.protocol import Protocol
from oncotrial.server.api.deps import Db
from oncotrial.server.security import Principal, require
from oncotrial.server.services import accounts, sealing, subjects

__all__ = ["protocol_of", "trial_of"]


def _protocol(session: Any, principal: Principal) -> Protocol:
    require(principal, "trial.read")
    return subjects.trial_protocol(sealing.trial_row(session, principal.trial_id))


def protocol_of(db: Db, principal: Principal) -> Protocol:
    """The validated protocol of the caller's trial (parsed once per protocol text). Pages
    show only its fields, criteria and factors, never the randomisation's settings."""
    return db.read(_protocol, principal)


def trial_of(db: Db, principal: Principal) -> accounts.TrialView:
    """The trial as every role may see it (code, title, status, blinded, sites)."""
    return db.read(accounts.trial_view, principal)
