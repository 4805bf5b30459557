"""Write a whole trial report from ADaM data: :func:`build_report`.

One call runs the analysis (:func:`oncotrial.report.analysis.analyse`), draws the figures of
each efficacy end point from the same data, and writes every output into one folder::

    out_dir/
      report.html          self-contained HTML report (figures embedded)
      report.docx          the same content as a Word document, for medical writers
      lay_summary.md       plain-language summary (Markdown), from the ARD only
      lay_summary.html     the same, as a self-contained web page
      ard.json, ard.csv    the analysis-results dataset: every number of the report
      ars.json, ars.csv    the same numbers as CDISC ARS records (docs/ars.md)
      messages.txt         every output skipped or restricted, and why (empty if none)
      figures/             consort, km_<endpoint>, ph_<endpoint>, forest_<endpoint>
                           as .png, .svg, .pdf

An output whose input is missing is skipped with a message, never silently: the analysis
reports the tables it could not make (no ADRS, no ADAE, an end point absent from ADTTE), and
:func:`draw_figures` the figures (a subgroup column absent from ADSL, a model that cannot be
fitted). The messages appear in the report's notes, in the sections concerned, and in
``messages.txt``.

The figures are given the numbers of the analysis (hazard ratio, P value) rather than
computing their own, so that a figure and the table beside it cannot disagree; the numbers a
figure prints beyond its table (the KM risk table, the PH tests) become ARD records like the
tables', as do those of the safety and exposure tables
(:func:`~oncotrial.report.safety_tables.safety_tables`), which take the place of the
analysis's adverse-event overview. Every output is written within
:func:`~oncotrial.report.format.formatting` of the protocol's convention, so one rounding
rule prints them all. Figures of simulated data carry the mark of
:mod:`oncotrial.report.provenance` above them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData, validate_adam
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.ard import append_records, ard_to_csv, ard_to_json
from oncotrial.report.ard_rows import ph_test_ard_rows, risk_table_ard_rows, safety_records
from oncotrial.report.ars import ars_records
from oncotrial.report.consort_figure import draw_consort
from oncotrial.report.docx import write_docx
from oncotrial.report.efficacy import EfficacySummary, sided_text
from oncotrial.report.forest import (
    SubgroupSpec,
    endpoint_subgroups,
    forest_figure,
    spec_column,
    subgroup_hazard_ratios,
)
from oncotrial.report.format import format_number, formatting
from oncotrial.report.html import FigureKind, ReportFigure, report_content, write_html
from oncotrial.report.km_plot import (
    TAIL_FRACTION,
    default_risk_times,
    km_figure,
    risk_table,
    save_figure,
)
from oncotrial.report.lay_numbers import NumberSource
from oncotrial.report.lay_summary import lay_summary
from oncotrial.report.ph_plot import loglog_figure, ph_test_sentence, schoenfeld_tests
from oncotrial.report.provenance import mark_figure
from oncotrial.report.safety_tables import SafetyTables, safety_tables
from oncotrial.report.tables import (
    DAYS_PER_UNIT,
    efficacy_endpoints,
    endpoint_analyses,
    model_terms,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FIGURE_FORMATS", "Progress", "build_report", "draw_figures", "endpoint_data", "km_caption",
           "ph_caption", "report_ard", "write_report"]

#: ``progress(step, done, total)``: called before each step (``done`` steps finished out of
#: ``total``) and once at the end with ``done == total``
Progress = Callable[[str, int, int], None]

#: formats of every figure: PNG for the HTML and Word reports, SVG for editing, PDF for print
FIGURE_FORMATS = ("png", "svg", "pdf")
#: steps besides the figures: analyse, ARD, HTML, DOCX, lay summary
_FIXED_STEPS = 5


def _quiet(step: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


def endpoint_data(adam: AdamData, protocol: Protocol, paramcd: str) -> pd.DataFrame:
    """One row per randomised patient with an ADTTE record of ``paramcd``: every ADSL
    column, ``TIME`` in the protocol's time unit and ``EVENT`` (1 = event, ``CNSR == 0``) —
    the data of :func:`oncotrial.report.tables.efficacy_tables`, so figures and tables agree."""
    itt = adam.adsl[adam.adsl["ITTFL"] == "Y"]
    records = adam.adtte.loc[adam.adtte["PARAMCD"] == paramcd, ["USUBJID", "AVAL", "CNSR"]]
    data = itt.merge(records, on="USUBJID", how="inner")
    data["TIME"] = data["AVAL"].astype(float) / DAYS_PER_UNIT[protocol.analysis.time_unit]
    data["EVENT"] = (data["CNSR"] == 0).astype(int)
    return data


def _endpoint_label(adtte: pd.DataFrame, paramcd: str) -> str:
    """The ADTTE ``PARAM`` of the end point without its unit ("Overall Survival (days)" →
    "Overall survival"), else the ``PARAMCD``."""
    if "PARAM" not in adtte.columns:
        return paramcd
    params = adtte.loc[adtte["PARAMCD"] == paramcd, "PARAM"].dropna()
    if params.empty:
        return paramcd
    label = re.sub(r"\s*\([^)]*\)\s*$", "", str(params.iloc[0])).strip()
    return label[:1].upper() + label[1:].lower() if label else paramcd


def _subgroups(protocol: Protocol, names: Sequence[str], adsl: pd.DataFrame
               ) -> tuple[dict[str, SubgroupSpec], list[str]]:
    """The forest-plot subgroups of an end point (:func:`~oncotrial.report.forest.endpoint_subgroups`)
    whose column ADSL has, and what was left out."""
    chosen, unknown = endpoint_subgroups(protocol, names)
    kept, absent = {}, [f"{name} (not a subgroup of the protocol)" for name in unknown]
    for name, spec in chosen.items():
        column = spec_column(spec)
        if column in adsl.columns:
            kept[name] = spec
        else:
            absent.append(f"{name} (ADSL has no {column})")
    return kept, absent


def draw_figures(adam: AdamData, analysis: TrialAnalysis, protocol: Protocol, out_dir: str | Path, *,
                 progress: Progress | None = None, done: int = 0, total: int | None = None,
                 ) -> tuple[list[ReportFigure], list[str]]:
    """Draw the Kaplan–Meier figure, the proportional-hazards check and the subgroup forest
    plot of each analysed end point into ``out_dir`` (:data:`FIGURE_FORMATS` each), each with
    the end point's Cox model, confidence level and subgroups; a P value only when the
    end point's analysis reports one.

    Returns the figures and the messages of those skipped. ``done``/``total`` place the
    figure steps within a larger ``progress`` count (default: the figures alone).
    """
    report = progress or _quiet
    folder = Path(out_dir)
    valid = validate_adam(adam, protocol)
    total = total if total is not None else 3 * len(analysis.efficacy)
    analyses = endpoint_analyses(protocol, list(analysis.efficacy))
    figures: list[ReportFigure] = []
    messages: list[str] = []
    for paramcd, summary in analysis.efficacy.items():
        data = endpoint_data(valid, protocol, paramcd)
        label = _endpoint_label(valid.adtte, paramcd)
        key = paramcd.lower()
        strata, adjust = model_terms(analyses[paramcd])

        report(f"Kaplan–Meier figure, {paramcd}", done, total)
        figures.append(_km(summary, data, label, analysis, folder / f"km_{key}"))
        done += 1

        report(f"Proportional-hazards check, {paramcd}", done, total)
        try:
            model: dict[str, Any] = {"time": "TIME", "event": "EVENT", "group": "ARM", "reference": analysis.control,
                     "arm_order": list(summary.arms["arm"]), "adjust": adjust, "strata": strata,
                     "convention": analysis.convention}
            fig = loglog_figure(data, time_unit=analysis.time_unit, **model)
            tests = schoenfeld_tests(data, **model)
        except ValueError as exc:
            messages.append(f"{paramcd}: proportional-hazards figure skipped ({exc})")
        else:
            p_values = {arm: float(p) for arm, p in tests["p"].items()}
            figures.append(_saved(fig, folder / f"ph_{key}", paramcd, "ph",
                                  f"{label}: check of proportional hazards",
                                  ph_caption(p_values, analysis.control, summary.model), analysis,
                                  ph_test_ard_rows(tests, paramcd)))
        done += 1

        report(f"Forest plot, {paramcd}", done, total)
        subgroups, absent = _subgroups(protocol, analyses[paramcd].subgroups, valid.adsl)
        if absent:
            messages.append(f"{paramcd}: forest plot without subgroups {', '.join(absent)}")
        if not subgroups:
            messages.append(f"{paramcd}: forest plot skipped (no subgroup variable in ADSL)")
        else:
            try:
                table = subgroup_hazard_ratios(data, time="TIME", event="EVENT", group="ARM",
                                               subgroups=subgroups, adjust=adjust, strata=strata,
                                               reference=analysis.control, conf_level=summary.conf_level,
                                               convention=analysis.convention)
                fig = forest_figure(table, overall_hr=float(summary.hazard_ratios["hr"].iloc[0]),
                                    show_interaction=summary.p_value)
            except ValueError as exc:
                messages.append(f"{paramcd}: forest plot skipped ({exc})")
            else:
                caption = str(table.attrs.get("model", ""))
                if summary.p_value:
                    caption += " " + str(table.attrs.get("interaction", ""))
                figures.append(_saved(fig, folder / f"forest_{key}", paramcd, "forest",
                                      f"{label}: hazard ratio by subgroup", caption.strip(), analysis))
        done += 1
    return figures, messages


def ph_caption(p_values: dict[str, float], control: str, model: str) -> str:
    """The caption of the proportional-hazards figure, whose conclusion follows the
    Schoenfeld residual test of each comparison (:func:`~oncotrial.report.ph_plot.ph_test_sentence`)."""
    tests = [ph_test_sentence(p) if len(p_values) == 1 else f"{arm} vs {control}: {ph_test_sentence(p)}"
             for arm, p in p_values.items()]
    return ("Left: log(−log) of the Kaplan–Meier estimate by arm against log time; under proportional hazards "
            "the curves are parallel. Right: scaled Schoenfeld residuals of the treatment term against time, "
            "with a spline smooth (±2 SE); a flat smooth supports proportional hazards. "
            + "; ".join(tests) + f" (model: {model}).")


def km_caption(summary: EfficacySummary, tail_fraction: float | None = TAIL_FRACTION) -> str:
    """The caption of the Kaplan–Meier figure: what the bands, the dashed tails and the
    table show, and where the hazard ratio and P come from."""
    level = format_number(100 * summary.conf_level, 0)
    caption = f"Shaded bands: pointwise {level}% confidence intervals. "
    if tail_fraction is not None:
        caption += (f"Curves are dashed, without band, where fewer than {format_number(100 * tail_fraction, 0)}% "
                    "of the arm's patients remain at risk. ")
    caption += ("Censored patients marked +. Below the time axis, per arm at each time: numbers at risk, "
                "cumulative numbers of events and of censored patients. "
                f"Hazard ratio ({level}% CI): {summary.model}")
    if summary.p_value:
        caption += f". P: {summary.test_method}, {sided_text(summary.sided)}"
    return caption + "."


def _km(summary: EfficacySummary, data: pd.DataFrame, label: str, analysis: TrialAnalysis,
        base: Path) -> ReportFigure:
    """The Kaplan–Meier figure with the hazard ratio and, when the end point reports one,
    the P value of ``summary`` (one per comparison, labelled with its sidedness)."""
    arms = list(summary.arms["arm"])
    p: float | dict[str, float] | None = None
    if summary.p_value:
        by_arm = dict(zip(summary.comparisons["arm"], summary.comparisons["p"], strict=True))
        p = by_arm[arms[1]] if len(arms) == 2 else by_arm
    ticks = default_risk_times(float(data["TIME"].max()), analysis.time_unit).tolist()
    fig = km_figure(data, time="TIME", event="EVENT", group="ARM", reference=arms[0], arm_order=arms,
                    hazard_ratio={r.arm: (r.hr, r.lower, r.upper) for r in summary.hazard_ratios.itertuples()},
                    p=p, p_label=summary.p_label, show_p=summary.p_value,
                    conf_level=summary.conf_level, time_unit=analysis.time_unit, ylabel=label,
                    convention=analysis.convention, risk_times=ticks)
    risk = risk_table(data, "TIME", "EVENT", "ARM", ticks, arm_order=arms, convention=analysis.convention)
    return _saved(fig, base, summary.endpoint, "km", f"{label}: Kaplan–Meier estimate by arm", km_caption(summary),
                  analysis, risk_table_ard_rows(risk, summary.endpoint))


def _saved(fig: Figure, base: Path, endpoint: str, kind: FigureKind, title: str, caption: str,
           analysis: TrialAnalysis, records: pd.DataFrame | None = None) -> ReportFigure:
    """Save ``fig`` in every format, marked first when the data are simulated; ``records``:
    the ARD rows of the numbers it prints beyond its table."""
    if analysis.simulated is not None:
        mark_figure(fig, analysis.simulated.note)
    paths = save_figure(fig, base, FIGURE_FORMATS)
    return ReportFigure(key=base.name, endpoint=endpoint, kind=kind, title=title, caption=caption,
                        paths={p.suffix.lstrip("."): p for p in paths}, records=records)


def report_ard(analysis: TrialAnalysis, figures: Sequence[ReportFigure] = (),
               safety: SafetyTables | None = None) -> pd.DataFrame:
    """The report's ARD: the analysis's records, then those of the figures (risk tables,
    PH tests) and of the safety tables — every number the report prints, once."""
    parts = [analysis.ard, *[f.records for f in figures if f.records is not None]]
    if safety is not None:
        parts.append(safety_records(safety.numbers))
    return append_records(*parts)


#: the ARD table of the analysis's adverse-event overview
OVERVIEW = "adverse_events"


def lay_overview_only(ard: pd.DataFrame, numbers: Sequence[NumberSource]) -> pd.DataFrame:
    """``ard`` keeping, of the adverse-event overview, only the records a lay-summary number
    is traced to. Why: once the safety tables replace the overview, the report prints no
    other of its numbers, and an ARD holds every printed number once and nothing else."""
    fields = ("endpoint", "arm", "subgroup", "statistic")

    def key(values: Iterable[Any]) -> tuple[Any, ...]:
        return tuple(None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values)

    traced = {key(k.get(f) for f in fields) for source in numbers for k in source.records
              if k.get("table") == OVERVIEW}
    rows = ard[list(fields)].astype(object).itertuples(index=False, name=None)
    keep = (ard["table"] != OVERVIEW) | pd.Series([key(r) in traced for r in rows], index=ard.index)
    return ard[keep].reset_index(drop=True)


def write_report(analysis: TrialAnalysis, figures: Sequence[ReportFigure], protocol: Protocol,
                 out_dir: str | Path, *, messages: Sequence[str] = (), safety: SafetyTables | None = None,
                 progress: Progress | None = None, done: int = 0, total: int | None = None) -> dict[str, Path]:
    """Write the ARD, the HTML and Word reports, the lay summary and ``messages.txt`` for an
    analysis and its figures, with the CONSORT diagram drawn into ``out_dir/figures``;
    ``safety``: the safety and exposure tables (in place of the analysis's adverse-event
    overview). Everything is written within :func:`~oncotrial.report.format.formatting`
    of the protocol's convention. Returns the files by their path relative to ``out_dir``."""
    with formatting(protocol.analysis.convention):
        return _write_report(analysis, figures, protocol, Path(out_dir), messages=messages, safety=safety,
                             progress=progress or _quiet, done=done,
                             total=total if total is not None else done + 4)


def _write_report(analysis: TrialAnalysis, figures: Sequence[ReportFigure], protocol: Protocol, folder: Path, *,
                  messages: Sequence[str], safety: SafetyTables | None, progress: Progress, done: int,
                  total: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    notes = [*messages, *(safety.messages if safety is not None else ())]
    content = report_content(analysis, protocol, figures, notes,
                             safety=safety.tables if safety is not None else ())
    mark = None if analysis.simulated is None else analysis.simulated.note
    consort = draw_consort(content.consort_total, content.consort_arms, content.consort_rows, folder / "figures",
                           flow=analysis.consort, note=mark, formats=FIGURE_FORMATS)
    content = dataclasses.replace(content, consort_figure=consort)

    progress("Analysis-results dataset", done, total)
    ard = report_ard(analysis, figures, safety)
    summary = lay_summary(ard, protocol, data_cutoff=analysis.data_cutoff)
    lay_tables: tuple[str, ...] = ()
    if safety is not None:
        ard = lay_overview_only(ard, summary.numbers)
        lay_tables = (OVERVIEW,)
    written["ard.json"] = ard_to_json(ard, folder / "ard.json")
    written["ard.csv"] = ard_to_csv(ard, folder / "ard.csv")
    ars = ars_records(ard, protocol, lay_tables=lay_tables)
    written["ars.json"] = ars.write_json(folder / "ars.json")
    written["ars.csv"] = ars.write_csv(folder / "ars.csv")

    progress("HTML report", done + 1, total)
    written["report.html"] = write_html(content, folder / "report.html")

    progress("Word report", done + 2, total)
    written["report.docx"] = write_docx(content, folder / "report.docx")

    progress("Lay summary", done + 3, total)
    written["lay_summary.md"] = summary.write_markdown(folder / "lay_summary.md")
    written["lay_summary.html"] = summary.write_html(folder / "lay_summary.html")

    (folder / "messages.txt").write_text("".join(f"{m}\n" for m in [*analysis.messages, *notes]), encoding="utf-8")
    written["messages.txt"] = folder / "messages.txt"
    for figure in (consort, *figures):
        for path in figure.paths.values():
            written[path.relative_to(folder).as_posix()] = path
    progress("Report written", total, total)
    return written


def build_report(adam: AdamData, protocol: Protocol | str | Path, out_dir: str | Path, *,
                 progress: Progress | None = None, look: int | None = None) -> dict[str, Path]:
    """Analyse ``adam`` against ``protocol``, draw the figures, make the safety tables
    (when ADAE is supplied) and write every output of the module docstring into
    ``out_dir``; returns the files by relative path (``"report.html"``,
    ``"figures/km_pfs.png"``, ...). ``look``: the analysis of a group-sequential design the
    data are (default: the final one; see :func:`~oncotrial.report.analysis.analyse`).
    Invalid ADaM data raise the :class:`~oncotrial.report.adam.AdamValidationError` (a
    ``DataError``) of :func:`oncotrial.report.adam.validate_adam`."""
    report = progress or _quiet
    proto = protocol if isinstance(protocol, Protocol) else Protocol.load(protocol)
    folder = Path(out_dir)
    present = set(adam.adtte["PARAMCD"].dropna()) if "PARAMCD" in adam.adtte.columns else set()
    total = _FIXED_STEPS + 3 * len([p for p in efficacy_endpoints(proto) if p in present])
    report("Analysis", 0, total)
    with formatting(proto.analysis.convention):
        analysis = analyse(adam, proto, look=look)
        safety = None if adam.adae is None else safety_tables(validate_adam(adam, proto), proto)
        total = _FIXED_STEPS + 3 * len(analysis.efficacy)
        figures, messages = draw_figures(adam, analysis, proto, folder / "figures", progress=report, done=1,
                                         total=total)
        return write_report(analysis, figures, proto, folder, messages=messages, safety=safety, progress=report,
                            done=total - 4, total=total)
