"""The trial report: tables, figures, the analysis-results dataset, HTML/DOCX reports and
the plain-language summary, all computed from ADaM data through :mod:`oncotrial.stats`."""

from oncotrial.report.adam import AdamData, read_adam, validate_adam
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.ard import build_ard
from oncotrial.report.efficacy import EfficacySummary, efficacy_summary
from oncotrial.report.forest import forest_figure, subgroup_hazard_ratios
from oncotrial.report.km_plot import km_figure, risk_table, save_figure
from oncotrial.report.lay_summary import lay_summary
from oncotrial.report.ph_plot import loglog_figure
from oncotrial.report.writer import build_report

__all__ = [
    "AdamData",
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
