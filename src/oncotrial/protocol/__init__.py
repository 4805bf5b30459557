"""The trial as data: protocol files, eligibility, dosing and schedules.

A protocol is a YAML file validated by pydantic models (:class:`Protocol`); LMS04 ships as
``Protocol.load("lms04")``. The lowest layer above :mod:`oncotrial.core`: it imports nothing else from oncotrial.
"""

from oncotrial.protocol.dosing import DoseRow, body_surface_area
from oncotrial.protocol.eligibility import EligibilityResult, Outcome
from oncotrial.protocol.models import (
    Protocol,
    ProtocolError,
    bundled_protocols,
    protocol_errors,
)

__all__ = [
    "DoseRow",
    "EligibilityResult",
    "Outcome",
    "Protocol",
    "ProtocolError",
    "body_surface_area",
    "bundled_protocols",
    "protocol_errors",
]
