"""The error classes of oncotrial (see :mod:`oncotrial.core.errors`)."""

from oncotrial.core.errors import (
    AllocationError,
    ConcurrencyConflict,
    ConvergenceWarning,
    DataError,
    InputError,
    OncotrialError,
    OncotrialWarning,
    PermissionDenied,
    SpecError,
)

__all__ = [
    "AllocationError",
    "ConcurrencyConflict",
    "ConvergenceWarning",
    "DataError",
    "InputError",
    "OncotrialError",
    "OncotrialWarning",
    "PermissionDenied",
    "SpecError",
]
