"""Survival statistics validated against R ``survival``: pure functions on arrays, no I/O.

Public names are imported lazily (PEP 562) so that ``import oncotrial`` and the command
line stay fast; ``from oncotrial.stats import kaplan_meier`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "kaplan_meier": "kaplan_meier",
    "KaplanMeier": "kaplan_meier",
    "QuantileEstimate": "kaplan_meier",
    "loglog_data": "kaplan_meier",
    "RMST": "rmst",
    "RMSTDifference": "rmst",
    "rmst_difference": "rmst",
    "median_followup": "followup",
    "FollowUp": "followup",
    "logrank_test": "logrank",
    "LogrankResult": "logrank",
    "coxph": "cox",
    "CoxResult": "cox",
    "CoxDesign": "cox",
    "cox_zph": "cox_zph",
    "ChiSquareTest": "_results",
    "Convention": "conventions",
    "R": "conventions",
    "SAS": "conventions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'oncotrial.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"oncotrial.stats.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
