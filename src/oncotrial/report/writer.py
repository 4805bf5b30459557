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
                           as .png, and .svg, .pdf when asked for (``formats``)

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

Writing the figures is most of the report's time, PNG alone half of it; hence SVG and PDF
only on request. Where there are idle CPUs, the figures and then the Word report are
made in worker processes (:class:`~oncotrial.report.figure_pool.FigurePool`) while this
process goes on with what does not need them (the safety tables; the ARD, lay summary and
HTML report). Each figure is drawn from its own inputs, so its files are those it has when
drawn in this process.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData, validate_adam
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.ard import append_records, ard_to_csv, ard_to_json
from oncotrial.report.ard_rows import ph_test_ard_rows, risk_table_ard_rows, safety_records
from oncotrial.report.ars import ars_records
from oncotrial.report.consort_figure import draw_consort
from oncotrial.report.docx import write_docx
from oncotrial.report.efficacy import EfficacySummary, sided_text
from oncotrial.report.figure_pool import FigurePool, Pending
from oncotrial.report.forest import (
    SubgroupSpec,
    endpoint_subgroups,
    forest_figure,
    spec_column,
    subgroup_hazard_ratios,
)
from oncotrial.report.format import NumberFormat, current_format, format_number, formatting
from oncotrial.report.html import (
    FigureKind,
    ReportFigure,
    consort_boxes,
    report_content,
    write_html,
)
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

__all__ = ["DEFAULT_FORMATS", "FIGURE_FORMATS", "Progress", "build_report", "draw_figures", "endpoint_data",
           "figure_formats", "km_caption", "ph_caption", "report_ard", "write_report"]

#: ``progress(step, done, total)``: called before each step (``done`` steps finished out of
#: ``total``) and once at the end with ``done == total``
Progress = Callable[[str, int, int], None]

#: the formats a figure can be written in: PNG for the HTML and Word reports, SVG for
#: editing, PDF for print
FIGURE_FORMATS = ("png", "svg", "pdf")
#: the formats written unless others are asked for: the reports need only the PNG, and
#: writing SVG and PDF as well doubles the time the figures take
DEFAULT_FORMATS = ("png",)
#: steps besides the figures: analyse, ARD, HTML, DOCX, lay summary
_FIXED_STEPS = 5


def _quiet(step: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


def figure_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """The figure formats asked for (``["svg"]``, ``".PDF"``, or comma-separated as typed,
    ``"png,svg"``), checked, with PNG always among them (the HTML and Word reports embed
    it) and in the order of :data:`FIGURE_FORMATS`, so that the files are written in the
    same order whatever the order asked. An unknown or empty format is an
    :class:`InputError` on ``formats``."""
    items = formats.split(",") if isinstance(formats, str) else formats
    asked = [str(f).strip().lower().removeprefix(".") for f in items]
    unknown = [f for f in asked if f not in FIGURE_FORMATS]
    if unknown:
        raise InputError(f"formats: unknown figure format(s) {', '.join(map(repr, unknown))}; expected a "
                         f"comma-separated list of {', '.join(FIGURE_FORMATS)} (PNG is always written)",
                         field="formats")
    return tuple(f for f in FIGURE_FORMATS if f == "png" or f in asked)


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


@dataclasses.dataclass(frozen=True)
class _Drawing:
    """What every figure of a report shares: the analysis's settings, the simulated-data
    mark, the formats and the number formatter in force. Small and picklable, so that a
    figure can be drawn in another process with nothing else of the analysis."""

    control: str
    time_unit: str
    convention: str
    note: str | None
    formats: tuple[str, ...]
    number_format: NumberFormat


#: what drawing a figure gives: the figure, or ``None`` and why it was skipped
_Drawn = tuple[ReportFigure | None, list[str]]


@dataclasses.dataclass(frozen=True)
class _Job:
    """One figure step: its progress text, the messages known before drawing (a subgroup
    left out) and the drawing, ``None`` when there is nothing to draw: a module-level
    function and its arguments, so that it can run in a worker process."""

    step: str
    notes: tuple[str, ...] = ()
    draw: Callable[..., _Drawn] | None = None
    args: tuple[Any, ...] = ()


def draw_figures(adam: AdamData, analysis: TrialAnalysis, protocol: Protocol, out_dir: str | Path, *,
                 formats: Iterable[str] = DEFAULT_FORMATS, progress: Progress | None = None, done: int = 0,
                 total: int | None = None, workers: int | None = None) -> tuple[list[ReportFigure], list[str]]:
    """Draw the Kaplan–Meier figure, the proportional-hazards check and the subgroup forest
    plot of each analysed end point into ``out_dir`` (in each of ``formats``, see
    :func:`figure_formats`), each with the end point's Cox model, confidence level and
    subgroups; a P value only when the end point's analysis reports one.

    Returns the figures and the messages of those skipped. ``done``/``total`` place the
    figure steps within a larger ``progress`` count (default: the figures alone).
    ``workers``: processes drawing the figures side by side (default: one per CPU left
    idle by other programs; 1: one after the other in this process; see
    :class:`~oncotrial.report.figure_pool.FigurePool`) — the files are the same either way.
    """
    valid = validate_adam(adam, protocol)
    jobs = _figure_jobs(valid, analysis, protocol, Path(out_dir), _drawing(analysis, figure_formats(formats)))
    with FigurePool(workers) as pool:
        return _collect(jobs, _submit(jobs, pool), progress or _quiet, done,
                        total if total is not None else 3 * len(analysis.efficacy))


def _drawing(analysis: TrialAnalysis, formats: tuple[str, ...]) -> _Drawing:
    """The settings every figure of ``analysis`` shares, with the formatter in force."""
    return _Drawing(analysis.control, analysis.time_unit, analysis.convention,
                    None if analysis.simulated is None else analysis.simulated.note, formats, current_format())


def _submit(jobs: Sequence[_Job], pool: FigurePool) -> list[Pending[_Drawn] | None]:
    """Start drawing every figure of ``jobs`` (``None`` for the steps without one)."""
    return [None if job.draw is None else pool.submit(job.draw, *job.args) for job in jobs]


def _collect(jobs: Sequence[_Job], pending: Sequence[Pending[_Drawn] | None], progress: Progress, done: int,
             total: int) -> tuple[list[ReportFigure], list[str]]:
    """The figures of ``jobs`` and the messages of those skipped, in the order of the
    jobs whichever is drawn first, each step reported to ``progress`` before its wait."""
    figures: list[ReportFigure] = []
    messages: list[str] = []
    for job, drawn in zip(jobs, pending, strict=True):
        progress(job.step, done, total)
        messages.extend(job.notes)
        if drawn is not None:
            figure, skipped = drawn.result()
            figures.extend([figure] if figure is not None else [])
            messages.extend(skipped)
        done += 1
    return figures, messages


def _figure_jobs(valid: AdamData, analysis: TrialAnalysis, protocol: Protocol, folder: Path,
                 drawing: _Drawing) -> list[_Job]:
    """The three figure steps of each analysed end point, in the report's order, each with
    the data of its end point only."""
    analyses = endpoint_analyses(protocol, list(analysis.efficacy))
    jobs: list[_Job] = []
    for paramcd, summary in analysis.efficacy.items():
        data = endpoint_data(valid, protocol, paramcd)
        label = _endpoint_label(valid.adtte, paramcd)
        key = paramcd.lower()
        strata, adjust = model_terms(analyses[paramcd])
        jobs.append(_Job(f"Kaplan–Meier figure, {paramcd}", draw=_km,
                         args=(summary, data, label, drawing, folder / f"km_{key}")))
        jobs.append(_Job(f"Proportional-hazards check, {paramcd}", draw=_ph,
                         args=(summary, data, label, adjust, strata, drawing, folder / f"ph_{key}")))
        subgroups, absent = _subgroups(protocol, analyses[paramcd].subgroups, valid.adsl)
        notes = [f"{paramcd}: forest plot without subgroups {', '.join(absent)}"] if absent else []
        step = f"Forest plot, {paramcd}"
        if not subgroups:
            jobs.append(_Job(step, (*notes, f"{paramcd}: forest plot skipped (no subgroup variable in ADSL)")))
        else:
            jobs.append(_Job(step, tuple(notes), _forest,
                             (summary, data, label, subgroups, adjust, strata, drawing, folder / f"forest_{key}")))
    return jobs


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


def _km(summary: EfficacySummary, data: pd.DataFrame, label: str, drawing: _Drawing,
        base: Path) -> _Drawn:
    """The Kaplan–Meier figure with the hazard ratio and, when the end point reports one,
    the P value of ``summary`` (one per comparison, labelled with its sidedness)."""
    with formatting(drawing.number_format):
        arms = list(summary.arms["arm"])
        p: float | dict[str, float] | None = None
        if summary.p_value:
            by_arm = dict(zip(summary.comparisons["arm"], summary.comparisons["p"], strict=True))
            p = by_arm[arms[1]] if len(arms) == 2 else by_arm
        ticks = default_risk_times(float(data["TIME"].max()), drawing.time_unit).tolist()
        fig = km_figure(data, time="TIME", event="EVENT", group="ARM", reference=arms[0], arm_order=arms,
                        hazard_ratio={r.arm: (r.hr, r.lower, r.upper) for r in summary.hazard_ratios.itertuples()},
                        p=p, p_label=summary.p_label, show_p=summary.p_value,
                        conf_level=summary.conf_level, time_unit=drawing.time_unit, ylabel=label,
                        convention=drawing.convention, risk_times=ticks)
        risk = risk_table(data, "TIME", "EVENT", "ARM", ticks, arm_order=arms, convention=drawing.convention)
        return _saved(fig, base, summary.endpoint, "km", f"{label}: Kaplan–Meier estimate by arm",
                      km_caption(summary), drawing, risk_table_ard_rows(risk, summary.endpoint)), []


def _ph(summary: EfficacySummary, data: pd.DataFrame, label: str, adjust: list[str], strata: list[str],
        drawing: _Drawing, base: Path) -> _Drawn:
    """The proportional-hazards check of the end point's Cox model, captioned with its
    Schoenfeld tests; skipped with a message when the model cannot be fitted."""
    with formatting(drawing.number_format):
        model: dict[str, Any] = {"time": "TIME", "event": "EVENT", "group": "ARM", "reference": drawing.control,
                                 "arm_order": list(summary.arms["arm"]), "adjust": adjust, "strata": strata,
                                 "convention": drawing.convention}
        try:
            fig = loglog_figure(data, time_unit=drawing.time_unit, **model)
            tests = schoenfeld_tests(data, **model)
        except ValueError as exc:
            return None, [f"{summary.endpoint}: proportional-hazards figure skipped ({exc})"]
        p_values = {arm: float(p) for arm, p in tests["p"].items()}
        return _saved(fig, base, summary.endpoint, "ph", f"{label}: check of proportional hazards",
                      ph_caption(p_values, drawing.control, summary.model), drawing,
                      ph_test_ard_rows(tests, summary.endpoint)), []


def _forest(summary: EfficacySummary, data: pd.DataFrame, label: str, subgroups: dict[str, SubgroupSpec],
            adjust: list[str], strata: list[str], drawing: _Drawing,
            base: Path) -> _Drawn:
    """The subgroup forest plot of the end point's Cox model, with the interaction tests
    when the end point reports P values; skipped with a message when it cannot be made."""
    with formatting(drawing.number_format):
        try:
            table = subgroup_hazard_ratios(data, time="TIME", event="EVENT", group="ARM", subgroups=subgroups,
                                           adjust=adjust, strata=strata, reference=drawing.control,
                                           conf_level=summary.conf_level, convention=drawing.convention)
            fig = forest_figure(table, overall_hr=float(summary.hazard_ratios["hr"].iloc[0]),
                                show_interaction=summary.p_value)
        except ValueError as exc:
            return None, [f"{summary.endpoint}: forest plot skipped ({exc})"]
        caption = str(table.attrs.get("model", ""))
        if summary.p_value:
            caption += " " + str(table.attrs.get("interaction", ""))
        return _saved(fig, base, summary.endpoint, "forest", f"{label}: hazard ratio by subgroup", caption.strip(),
                      drawing), []


def _saved(fig: Figure, base: Path, endpoint: str, kind: FigureKind, title: str, caption: str,
           drawing: _Drawing, records: pd.DataFrame | None = None) -> ReportFigure:
    """Save ``fig`` in the drawing's formats, marked first when the data are simulated;
    ``records``: the ARD rows of the numbers it prints beyond its table."""
    if drawing.note is not None:
        mark_figure(fig, drawing.note)
    paths = save_figure(fig, base, drawing.formats)
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
                 formats: Iterable[str] = DEFAULT_FORMATS, progress: Progress | None = None, done: int = 0,
                 total: int | None = None) -> dict[str, Path]:
    """Write the ARD, the HTML and Word reports, the lay summary and ``messages.txt`` for an
    analysis and its figures, with the CONSORT diagram drawn into ``out_dir/figures`` (in
    each of ``formats``, see :func:`figure_formats`); ``safety``: the safety and exposure
    tables (in place of the analysis's adverse-event overview). Everything is written
    within :func:`~oncotrial.report.format.formatting` of the protocol's convention.
    Returns the files by their path relative to ``out_dir``."""
    folder = Path(out_dir)
    with formatting(protocol.analysis.convention), FigurePool(1) as pool:
        consort = _submit_consort(analysis, folder / "figures", figure_formats(formats), pool)
        return _write_report(analysis, figures, protocol, folder, messages=messages, safety=safety,
                             consort=consort, pool=pool, progress=progress or _quiet, done=done,
                             total=total if total is not None else done + 4)


def _formatted(number_format: NumberFormat, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``write(*args, **kwargs)`` within the formatter in force where it was asked for,
    which a worker process does not inherit."""
    with formatting(number_format):
        return write(*args, **kwargs)


def _submit_consort(analysis: TrialAnalysis, folder: Path, formats: tuple[str, ...],
                    pool: FigurePool) -> Pending[ReportFigure]:
    """Start drawing the CONSORT diagram of ``analysis`` into ``folder``."""
    total, arms, rows = consort_boxes(analysis)
    mark = None if analysis.simulated is None else analysis.simulated.note
    return pool.submit(_formatted, current_format(), draw_consort, total, arms, rows, folder,
                       flow=analysis.consort, note=mark, formats=formats)


def _write_report(analysis: TrialAnalysis, figures: Sequence[ReportFigure], protocol: Protocol, folder: Path, *,
                  messages: Sequence[str], safety: SafetyTables | None, consort: Pending[ReportFigure],
                  pool: FigurePool, progress: Progress, done: int, total: int) -> dict[str, Path]:
    """:func:`write_report` with the CONSORT diagram drawn in ``pool``, where the Word
    report is then written while this process writes the ARD and the HTML report."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    notes = [*messages, *(safety.messages if safety is not None else ())]
    diagram = consort.result()
    content = report_content(analysis, protocol, figures, notes, safety=safety.tables if safety is not None else (),
                             consort_figure=diagram)
    word = pool.submit(_formatted, current_format(), write_docx, content, folder / "report.docx")

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
    written["report.docx"] = word.result()

    progress("Lay summary", done + 3, total)
    written["lay_summary.md"] = summary.write_markdown(folder / "lay_summary.md")
    written["lay_summary.html"] = summary.write_html(folder / "lay_summary.html")

    (folder / "messages.txt").write_text("".join(f"{m}\n" for m in [*analysis.messages, *notes]), encoding="utf-8")
    written["messages.txt"] = folder / "messages.txt"
    for figure in (diagram, *figures):
        for path in figure.paths.values():
            written[path.relative_to(folder).as_posix()] = path
    progress("Report written", total, total)
    return written


def build_report(adam: AdamData, protocol: Protocol | str | Path, out_dir: str | Path, *,
                 formats: Iterable[str] = DEFAULT_FORMATS, progress: Progress | None = None,
                 look: int | None = None, workers: int | None = None) -> dict[str, Path]:
    """Analyse ``adam`` against ``protocol``, draw the figures (in each of ``formats``, see
    :func:`figure_formats`), make the safety tables (when ADAE is supplied) and write every
    output of the module docstring into ``out_dir``; returns the files by relative path
    (``"report.html"``, ``"figures/km_pfs.png"``, ...). ``look``: the analysis of a
    group-sequential design the data are (default: the final one; see
    :func:`~oncotrial.report.analysis.analyse`). Invalid ADaM data raise the
    :class:`~oncotrial.report.adam.AdamValidationError` (a ``DataError``) of
    :func:`oncotrial.report.adam.validate_adam`, an unknown format an ``InputError``,
    before anything is written.

    ``workers``: processes drawing the figures (see :func:`draw_figures`) and writing the
    Word report; while they draw, this process makes the safety tables, and while the
    Word report is written, the ARD, the lay summary and the HTML report."""
    report = progress or _quiet
    chosen = figure_formats(formats)
    proto = protocol if isinstance(protocol, Protocol) else Protocol.load(protocol)
    folder = Path(out_dir)
    present = set(adam.adtte["PARAMCD"].dropna()) if "PARAMCD" in adam.adtte.columns else set()
    total = _FIXED_STEPS + 3 * len([p for p in efficacy_endpoints(proto) if p in present])
    report("Analysis", 0, total)
    with formatting(proto.analysis.convention), FigurePool(workers) as pool:
        analysis = analyse(adam, proto, look=look)
        valid = validate_adam(adam, proto)  # analyse checked it: this only normalises it again
        jobs = _figure_jobs(valid, analysis, proto, folder / "figures", _drawing(analysis, chosen))
        pending = _submit(jobs, pool)
        consort = _submit_consort(analysis, folder / "figures", chosen, pool)
        safety = None if valid.adae is None else safety_tables(valid, proto)
        total = _FIXED_STEPS + 3 * len(analysis.efficacy)
        figures, messages = _collect(jobs, pending, report, 1, total)
        return _write_report(analysis, figures, proto, folder, messages=messages, safety=safety, consort=consort,
                             pool=pool, progress=report, done=total - 4, total=total)
