"""The trial report: tables, figures, the analysis-results dataset, HTML/DOCX reports and
the plain-language summary, all computed from ADaM data through :mod:`oncotrial.stats`.

The figure functions and :func:`build_report` are imported on first use: they need
matplotlib, which takes longer to import than the whole analysis, and a program that only
validates ADaM data or computes the tables should not pay for it.
"""

from __future__ import annotations

import importlib
from typing import Any

from oncotrial.report.adam import AdamData, AdamValidationError, read_adam, validate_adam
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.ard import build_ard
from oncotrial.report.efficacy import EfficacySummary, efficacy_summary
from oncotrial.report.lay_summary import lay_summary

#: the names whose module imports matplotlib, and that module
_LAZY = {
    "forest_figure": "oncotrial.report.forest",
    "subgroup_hazard_ratios": "oncotrial.report.forest",
    "km_figure": "oncotrial.report.km_plot",
    "risk_table": "oncotrial.report.km_plot",
    "save_figure": "oncotrial.report.km_plot",
    "loglog_figure": "oncotrial.report.ph_plot",
    "build_report": "oncotrial.report.writer",
}

__all__ = [
    "AdamData",
    "AdamValidationError",
    "EfficacySummary",
    "TrialAnalysis",
    "analyse",
    "build_ard",
    "build_report",
    "efficacy_summary",
    "forest_figure",
    "km_figure",
    "lay_summary",
    "loglog_figure",
    "read_adam",
    "risk_table",
    "save_figure",
    "subgroup_hazard_ratios",
    "validate_adam",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
