"""The trial as data: protocol files, eligibility, dosing and schedules.

A protocol is a YAML file validated by pydantic models (:class:`Protocol`); the bundled
protocols load by name (``Protocol.load("gastric_example")``; :func:`bundled_protocols`
lists them).
The lowest layer above :mod:`oncotrial.core`: it imports nothing else from oncotrial.
"""

from oncotrial.protocol.base import ProtocolError, level_key
from oncotrial.protocol.design_spec import Accrual, DesignSpec, Dropout
from oncotrial.protocol.dosing import DoseRow, body_surface_area, tablets
from oncotrial.protocol.eligibility import EligibilityResult, Outcome
from oncotrial.protocol.endpoints import Endpoint, EndpointAnalysis
from oncotrial.protocol.models import SCHEMA_VERSION, Protocol, bundled_protocols, protocol_errors
from oncotrial.protocol.population import Arm, FieldSpec, StratificationFactor
from oncotrial.protocol.treatment import Drug, Phase, Regimen

__all__ = [
    "SCHEMA_VERSION",
    "Accrual",
    "Arm",
    "DesignSpec",
    "DoseRow",
    "Dropout",
    "Drug",
    "EligibilityResult",
    "Endpoint",
    "EndpointAnalysis",
    "FieldSpec",
    "Outcome",
    "Phase",
    "Protocol",
    "ProtocolError",
    "Regimen",
    "StratificationFactor",
    "body_surface_area",
    "bundled_protocols",
    "level_key",
    "protocol_errors",
    "tablets",
]
