"""The trial report as one self-contained HTML file, and the printed content it shares with
the Word report.

:func:`report_content` turns a :class:`~oncotrial.report.analysis.TrialAnalysis` (and the
figures drawn from the same data) into printed cells — the CONSORT flow, Table 1, one
efficacy table per end point, the response and adverse-event tables, the methods and the
notes of skipped outputs. :func:`render_html` lays that content out with the Jinja2
templates in ``templates/``, and :mod:`oncotrial.report.docx` lays out the very same
content in Word, so that the two reports cannot disagree by a digit.

Rules that keep the numbers honest:

* every number is read from the analysis objects (the same objects the ARD is built
  from), never recomputed or typed; every methods footnote is the ``method`` text of the
  ARD records of that table;
* one formatting convention throughout, the SAS one the protocol's analysis follows:
  rounding half up (:mod:`oncotrial.report.format`, the one formatter of every output), "NE" for a value that
  cannot be estimated, P values with three decimals and ``<0.001`` below; times and
  percentages with one decimal, hazard ratios with two (Table 1 keeps the journal's whole
  percentages of :func:`oncotrial.report.tables.table1`);
* the file works offline and alone: CSS inline, figures embedded as base64 PNG, no
  script, no web font, no external link needed to read it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import jinja2
import pandas as pd

from oncotrial import __version__
from oncotrial.protocol import Protocol
from oncotrial.report.analysis import InterimLook, TrialAnalysis
from oncotrial.report.efficacy import EfficacySummary
from oncotrial.report.figures import PNG_DPI
from oncotrial.report.format import (
    current_format,
    format_estimate,
    format_number,
    format_p,
    n_percent,
)

__all__ = [
    "ConsortBox",
    "EndpointSection",
    "FigureKind",
    "ReportContent",
    "ReportFigure",
    "ReportTable",
    "Row",
    "efficacy_table",
    "format_level",
    "output_numbers",
    "no_p_value_note",
    "render_html",
    "report_content",
    "write_html",
]

#: decimals of each kind of number (times in the protocol's unit, percentages, hazard ratios)
TIME_DIGITS = 1
PERCENT_DIGITS = 1
HR_DIGITS = 2
#: CSS pixels per inch: an <img> drawn at this width shows the figure at its printed size
CSS_PX_PER_INCH = 96

#: the fixed footnote of each table (what its cells are), before the ARD's methods
_NOTES: Mapping[str, str] = {
    "table1": "Cells are n (%), or n/N (%) where the denominator is not the column's patients (a characteristic "
              "of some patients only, or missing values left out).",
    "consort": "Efficacy by randomised arm (intention to treat); safety by the arm actually received.",
    "response": "ORR: best overall response complete (CR) or partial (PR); DCR: CR, PR or stable disease. Every "
                "randomised patient is in the denominator.",
    "adverse_events": "Patients with at least one event, n (%); a patient is counted once per row. Safety "
                      "population by the arm actually received.",
}


# ----------------------------------------------------------------------------- formatting

def _sentence_case(text: str) -> str:
    """``"PROGRESSIVE DISEASE"`` → ``"Progressive disease"`` (CDISC terms are upper case)."""
    return text[:1].upper() + text[1:].lower() if text.isupper() else text


# ----------------------------------------------------------------------------- content model

@dataclasses.dataclass(frozen=True)
class Row:
    """One table row: ``cells[0]`` is the label. ``kind``: ``"data"``; ``"section"`` (a
    heading row, label only); ``"span"`` (label and one value spanning the value columns,
    for a statistic of the whole comparison such as a P value)."""

    cells: tuple[str, ...]
    kind: Literal["data", "section", "span"] = "data"
    indent: bool = False


@dataclasses.dataclass(frozen=True)
class ReportTable:
    """A table as printed: a title, header cells, rows and footnotes; ``key`` names it in
    the HTML (``id``) and in tests. ``header_groups``: an optional header row above
    ``header``, each ``(label, columns spanned)`` left to right (e.g. an arm over its grade
    columns), spanning exactly the table's columns."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    footnotes: tuple[str, ...] = ()
    header_groups: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.header_groups and sum(span for _, span in self.header_groups) != len(self.header):
            raise ValueError(f"{self.key}: header groups span {sum(s for _, s in self.header_groups)} columns, "
                             f"the header has {len(self.header)}")


FigureKind = Literal["km", "ph", "forest", "consort"]


@dataclasses.dataclass(frozen=True)
class ReportFigure:
    """A figure written by the report writer: its files by format (``png``, ``svg``,
    ``pdf``), a title and a caption. ``kind`` is ``"km"``, ``"ph"``, ``"forest"`` or
    ``"consort"``."""

    key: str
    endpoint: str
    kind: FigureKind
    title: str
    caption: str
    paths: Mapping[str, Path]
    #: the ARD records of the numbers the figure prints beyond its table's (the KM risk
    #: table, the PH test), appended to the report's ARD
    records: pd.DataFrame | None = dataclasses.field(default=None, compare=False, repr=False)

    def png_data_uri(self) -> str:
        """The PNG as a ``data:`` URI, so that the HTML file needs nothing beside it."""
        return "data:image/png;base64," + base64.b64encode(self.paths["png"].read_bytes()).decode("ascii")

    def width_inches(self) -> float:
        """Printed width from the PNG header (pixels at :data:`PNG_DPI`)."""
        with open(self.paths["png"], "rb") as fh:
            header = fh.read(24)
        width = struct.unpack(">I", header[16:20])[0]
        return width / PNG_DPI


@dataclasses.dataclass(frozen=True)
class ConsortBox:
    """One box of the CONSORT diagram: a stage, its count and the reasons under it."""

    label: str
    n: int
    reasons: tuple[tuple[str, int], ...] = ()


@dataclasses.dataclass(frozen=True)
class EndpointSection:
    """An efficacy end point: its table, figures and the notes of what was skipped."""

    endpoint: str
    title: str
    definition: str
    table: ReportTable | None
    figures: tuple[ReportFigure, ...]
    notes: tuple[str, ...]
    extra_tables: tuple[ReportTable, ...] = ()


@dataclasses.dataclass(frozen=True)
class ReportContent:
    """Everything a trial report prints, in order; rendered by :func:`render_html` and
    :func:`oncotrial.report.docx.render_docx`. ``provenance``: the simulated-data mark
    (:mod:`oncotrial.report.provenance`), shown in the title and on every page; ``None`` for
    trial data."""

    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    consort_total: int
    consort_arms: tuple[str, ...]
    consort_rows: tuple[tuple[ConsortBox | None, ...], ...]
    consort: ReportTable
    table1: ReportTable
    endpoints: tuple[EndpointSection, ...]
    response: ReportTable | None
    response_notes: tuple[str, ...]
    adverse_events: ReportTable | None
    adverse_event_notes: tuple[str, ...]
    notes: tuple[str, ...]
    generated: str
    provenance: str | None = None
    followup: tuple[ReportTable, ...] = ()
    data_cutoff: str | None = None
    consort_figure: ReportFigure | None = None
    safety: tuple[ReportTable, ...] = ()


# ----------------------------------------------------------------------------- tables

def _arm_header(arm: str, n: int) -> str:
    return f"{arm} (N={n})"


def _methods(ard: pd.DataFrame, table: str, endpoint: str | None = None) -> tuple[str, ...]:
    """The distinct ``method`` texts of the ARD records of a table (and end point), in order."""
    rows = ard[ard["table"] == table]
    if endpoint is not None:
        rows = rows[rows["endpoint"] == endpoint]
    return tuple(dict.fromkeys(m for m in rows["method"] if isinstance(m, str) and m))


def no_p_value_note(conf_level: float) -> str:
    """What an end point without a P value reports, said once, in its table's footnotes."""
    return f"Estimates with {100 * conf_level:g}% CI only (no P value, per the SAP)."


def format_level(value: float) -> str:
    """A significance level with two significant digits (0.025, 0.0038, 0.00012)."""
    if value is None or not math.isfinite(value) or value <= 0:
        return format_number(value, 3)
    return format_number(value, max(3, 1 - math.floor(math.log10(value))))


def _interim_rows(looks: Sequence[InterimLook], arms: Sequence[str]) -> list[Row]:
    """The look, its nominal significance level and whether the boundary was crossed: one
    value spanning the arms with one comparison, a cell per experimental arm otherwise."""
    if not looks:
        return []
    first = looks[0]
    side = "one-sided" if first.sided == 1 else "two-sided"
    kind = "final analysis" if first.final else "interim analysis"
    by_arm = {k.arm: k for k in looks}

    def row(label: str, text: Callable[[InterimLook], str]) -> Row:
        if len(looks) == 1:
            return Row((label, text(first)), kind="span")
        return Row((label, *["" if a not in by_arm else text(by_arm[a]) for a in arms]))

    rows = [row(f"Analysis: look {first.look} of {first.looks} ({kind})",
                lambda k: f"information fraction {format_number(k.observed_fraction, 2)} "
                          f"({k.events} of {k.max_events} events)"),
            row(f"Nominal significance level at this look, {side}", lambda k: format_level(k.nominal_level))]
    if any(k.crossed is not None for k in looks):
        rows.append(row("Efficacy boundary crossed",
                        lambda k: "—" if k.crossed is None else
                        f"{'Yes' if k.crossed else 'No'} (P {format_level(k.p or math.nan)} "
                        f"{'≤' if k.crossed else '>'} {format_level(k.nominal_level)})"))
    return rows


def efficacy_table(summary: EfficacySummary, time_unit: str, ard: pd.DataFrame,
                   interim: Sequence[InterimLook] = ()) -> ReportTable:
    """The efficacy table of one end point: per arm events, median (CI) and landmark rates
    (CI) at the end point's landmarks; the hazard ratio (CI) of each arm against the
    reference; the P of the test the end point's analysis names, labelled with its
    sidedness (left out, and said once in the footnotes, when the analysis reports no P);
    for the design's end point of a group-sequential design the look, its nominal
    significance level and whether the boundary was crossed (``interim``); and the median
    follow-up (IQR) over all patients."""
    level = f"{100 * summary.conf_level:g}%"
    arms = list(summary.arms.itertuples(index=False))
    reference = arms[0].arm
    rows = [
        Row(("Events, n (%)", *[n_percent(int(a.events), int(a.n), digits=PERCENT_DIGITS) for a in arms])),
        Row((f"Median, {time_unit} ({level} CI)",
             *[format_estimate(a.median, a.median_lower, a.median_upper, TIME_DIGITS) for a in arms])),
    ]
    for time, rates in summary.rates.groupby("time", sort=True):
        by_arm = rates.set_index("arm")
        rows.append(Row((f"Rate at {time:g} {time_unit}, % ({level} CI)",
                         *[format_estimate(by_arm.at[a.arm, "rate"], by_arm.at[a.arm, "lower"],
                                           by_arm.at[a.arm, "upper"], PERCENT_DIGITS, scale=100)
                           for a in arms])))
    hrs = summary.hazard_ratios.set_index("arm")

    def hazard_ratio(arm: str) -> str:
        if arm == reference:
            return "Reference"
        if "estimable" in hrs.columns and not bool(hrs.at[arm, "estimable"]):
            return "NE"  # the footnote says why
        return format_estimate(hrs.at[arm, "hr"], hrs.at[arm, "lower"], hrs.at[arm, "upper"], HR_DIGITS)

    rows.append(Row((f"Hazard ratio ({level} CI)", *[hazard_ratio(a.arm) for a in arms])))
    footnotes = list(_methods(ard, "efficacy", summary.endpoint))
    if summary.p_value:
        p = dict(zip(summary.comparisons["arm"], summary.comparisons["p"], strict=True))
        label = f"{summary.test_name} P" + (", one-sided" if summary.sided == 1 else "")
        if len(arms) == 2:
            rows.append(Row((label, format_p(p[arms[1].arm])), kind="span"))
        else:
            rows.append(Row((f"{label} (vs {reference})",
                             *["" if a.arm == reference else format_p(p[a.arm]) for a in arms])))
        if not summary.same_model:
            footnotes.append(f"The P value is from the {summary.test_method}, not from the model that gives the "
                             f"hazard ratio ({summary.model}).")
    else:
        footnotes.insert(0, no_p_value_note(summary.conf_level))
    rows += _interim_rows(interim, [a.arm for a in arms])
    return ReportTable(key=f"efficacy-{summary.endpoint.lower()}", title=f"{summary.endpoint}: efficacy",
                       header=("", *[_arm_header(a.arm, int(a.n)) for a in arms]), rows=tuple(rows),
                       footnotes=(*footnotes, *[f"Hazard ratio NE, {note}." for note in summary.notes]))


def _table1(analysis: TrialAnalysis) -> ReportTable:
    t1 = analysis.table1
    columns = [c for c in t1.table.columns if c not in ("variable", "level")]
    rows: list[Row] = []
    for variable, block in t1.table.groupby("variable", sort=False):
        rows.append(Row((str(variable),), kind="section"))
        rows += [Row((str(r["level"]), *[str(r[c]) for c in columns]), indent=True)
                 for r in block.to_dict("records")]
    notes = (_NOTES["table1"], *_methods(analysis.ard, "table1"))
    return ReportTable(key="table1", title="Characteristics of the patients at randomisation",
                       header=("Characteristic", *[_arm_header(c, t1.arm_n[c]) for c in columns]),
                       rows=tuple(rows), footnotes=notes)


def _consort(analysis: TrialAnalysis) -> tuple[ReportTable, tuple[tuple[ConsortBox | None, ...], ...], int]:
    """The CONSORT flow as a table (Word) and as rows of boxes per arm (HTML diagram)."""
    flow = analysis.consort.table
    arms = list(analysis.arm_roles)
    total = int(flow.loc[flow["stage"] == "randomised", "n"].sum())
    rows = [Row(("Randomised", str(total)), kind="span")]
    boxes: list[tuple[ConsortBox | None, ...]] = []
    for stage, label in analysis.consort.labels.items():
        block = flow[flow["stage"] == stage]
        if block.empty:
            continue
        counts = block[block["reason"].isna()].set_index("arm")["n"]
        reasons = block[block["reason"].notna()]
        per_arm: list[ConsortBox | None] = []
        for arm in arms:
            arm_reasons = tuple((_sentence_case(str(r.reason)), int(r.n))
                                for r in reasons[reasons["arm"] == arm].itertuples(index=False))
            if arm in counts.index:
                n = int(counts[arm])
            elif arm_reasons:
                n = sum(k for _, k in arm_reasons)
            else:
                per_arm.append(None)
                continue
            per_arm.append(ConsortBox(label, n, arm_reasons))
        boxes.append(tuple(per_arm))
        rows.append(Row((label, *["—" if b is None else str(b.n) for b in per_arm])))
        names = list(dict.fromkeys(name for b in per_arm if b is not None for name, _ in b.reasons))
        for name in names:
            cells = []
            for b in per_arm:
                found = dict(b.reasons).get(name) if b is not None else None
                cells.append("—" if b is None else str(found or 0))
            rows.append(Row((name, *cells), indent=True))
    table = ReportTable(key="consort", title="Patient flow (CONSORT)",
                        header=("Stage", *arms), rows=tuple(rows),
                        footnotes=(_NOTES["consort"],))
    return table, tuple(boxes), total


def _display_table(frame: pd.DataFrame, key: str, title: str, arm_n: Mapping[str, int],
                   footnotes: Sequence[str]) -> ReportTable:
    """A ``display()`` frame of :mod:`oncotrial.report.tables` as a printed table (empty
    cells for the comparisons of rows that have none)."""
    columns = [c for c in frame.columns if c != "row"]
    header = ("", *[_arm_header(c, arm_n[c]) if c in arm_n else c for c in columns])
    rows = []
    for record in frame.to_dict("records"):
        label = str(record["row"])
        cells = tuple("" if not isinstance(record[c], str) else record[c] for c in columns)
        rows.append(Row((label, *cells), indent=label.endswith("grade 3–4")))
    return ReportTable(key=key, title=title, header=header, rows=tuple(rows), footnotes=tuple(footnotes))


def _response(analysis: TrialAnalysis) -> ReportTable | None:
    if analysis.response is None:
        return None
    response = analysis.response
    arm_n = {r.arm: int(r.N) for r in response.rates.itertuples(index=False)}
    return _display_table(response.display(digits=PERCENT_DIGITS), "response",
                          "Objective response and disease control (RECIST 1.1)", arm_n,
                          (_NOTES["response"], *_methods(analysis.ard, "response")))


def _adverse_events(analysis: TrialAnalysis) -> ReportTable | None:
    if analysis.adverse_events is None:
        return None
    ae = analysis.adverse_events
    return _display_table(ae.display(digits=PERCENT_DIGITS, percent_sign=False), "adverse-events",
                          "Treatment-emergent adverse events (safety population)", ae.arm_n,
                          (_NOTES["adverse_events"], *_methods(analysis.ard, "adverse_events")))


# ----------------------------------------------------------------------------- content

def _endpoint_definition(protocol: Protocol, paramcd: str) -> str:
    found = [e.definition for e in protocol.endpoints if e.name.upper() == paramcd]
    return found[0] if found else ""


def _notes_about(messages: Sequence[str], *prefixes: str) -> tuple[str, ...]:
    return tuple(m for m in messages if m.startswith(prefixes))


def consort_boxes(analysis: TrialAnalysis) -> tuple[int, tuple[str, ...], tuple[tuple[ConsortBox | None, ...], ...]]:
    """The ``consort_total``, ``consort_arms`` and ``consort_rows`` of :func:`report_content`,
    without the rest of the content: the CONSORT diagram can then be drawn from the
    analysis alone, while the other figures are drawn."""
    _, boxes, total = _consort(analysis)
    return total, tuple(analysis.arm_roles), boxes


def report_content(analysis: TrialAnalysis, protocol: Protocol, figures: Sequence[ReportFigure] = (),
                   messages: Sequence[str] = (), *, generated: dt.datetime | None = None,
                   safety: Sequence[ReportTable] = (), consort_figure: ReportFigure | None = None) -> ReportContent:
    """Everything the report prints, built from ``analysis`` (numbers), ``protocol``
    (names, definitions) and the ``figures`` drawn from the same data; ``messages`` are the
    writer's notes (figures skipped) added to the analysis's own; ``safety``: the safety and
    exposure tables (:func:`oncotrial.report.safety_tables.safety_tables`, which needs the
    ADaM data), printed in place of the analysis's adverse-event overview;
    ``consort_figure``: the CONSORT diagram drawn as a figure."""
    all_messages = (*analysis.messages, *messages)
    from oncotrial.report.endpoint_tables import (  # it builds html tables: imported here, not at the top
        endpoint_section_tables,
        followup_table,
        landmark_table,
    )

    consort, boxes, total = _consort(analysis)
    sections = []
    for endpoint in [e.name.upper() for e in sorted(protocol.endpoints, key=lambda e: e.role != "primary")
                     if e.kind == "time_to_event"]:
        summary = analysis.efficacy.get(endpoint)
        notes = _notes_about(all_messages, f"{endpoint}:")
        if summary is None and not notes:
            continue
        role = next(e.role for e in protocol.endpoints if e.name.upper() == endpoint)
        sections.append(EndpointSection(
            endpoint=endpoint, title=f"{endpoint} ({role} end point)",
            definition=_endpoint_definition(protocol, endpoint),
            table=None if summary is None else efficacy_table(
                summary, analysis.time_unit, analysis.ard, [k for k in analysis.interim if k.endpoint == endpoint]),
            figures=tuple(f for f in figures if f.endpoint == endpoint), notes=notes,
            extra_tables=() if analysis.endpoints is None else endpoint_section_tables(analysis.endpoints, endpoint)))
    followup: tuple[ReportTable, ...] = ()
    if analysis.endpoints is not None:
        followup = (landmark_table(analysis.endpoints.landmarks, list(analysis.arm_roles)),)
        if analysis.endpoints.followup is not None:
            followup = (followup_table(analysis.endpoints.followup), *followup)
    arms = " vs ".join(f"{arm} ({role})" for arm, role in analysis.arm_roles.items())
    facts: tuple[tuple[str, str], ...] = (
        ("Protocol", f"{protocol.id}, phase {protocol.phase}"), ("Registry", protocol.registry or "not given"),
        ("Sponsor", protocol.sponsor), ("Arms", arms),
        ("Population", protocol.analysis.efficacy_population or "all randomised patients"),
        ("Statistical convention", f"{analysis.convention.upper()} (times in {analysis.time_unit})"),
        ("Data cut-off", analysis.data_cutoff or "not recorded in the data (ADSL DCUTDT)"))
    if analysis.looks > 1:
        kind = "Final" if analysis.look == analysis.looks else "Interim"
        facts += (("Analysis", f"{kind} analysis: look {analysis.look} of {analysis.looks} of the group-sequential "
                               f"design ({protocol.design.endpoint})"),)
    when = generated or dt.datetime.now(dt.UTC)
    mark = None if analysis.simulated is None else analysis.simulated.note
    title = f"{protocol.id}: trial report" + ("" if mark is None else f". {mark}")
    return ReportContent(
        title=title, subtitle=protocol.title, facts=facts, provenance=mark,
        consort_total=total, consort_arms=tuple(analysis.arm_roles), consort_rows=boxes, consort=consort,
        table1=_table1(analysis), endpoints=tuple(sections),
        response=_response(analysis), response_notes=_notes_about(all_messages, "ADRS"),
        adverse_events=None if safety else _adverse_events(analysis),
        adverse_event_notes=_notes_about(all_messages, "ADAE"),
        notes=tuple(all_messages), followup=followup, data_cutoff=analysis.data_cutoff,
        safety=tuple(safety), consort_figure=consort_figure,
        generated=f"oncotrial {__version__}, {when:%Y-%m-%d %H:%M} UTC")


# ----------------------------------------------------------------------------- rendering

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("oncotrial.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["slug"] = lambda text: re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return env


def output_numbers(content: ReportContent) -> tuple[dict[str, int], dict[str, int]]:
    """Table and figure numbers by ``key``, in the order the report prints them (CONSORT,
    Table 1, each end point's tables and figures, follow-up, response, adverse events,
    safety), so that every table and figure is numbered and the HTML and Word reports number
    them alike."""
    tables: list[ReportTable] = [content.consort, content.table1]
    figures: list[ReportFigure] = [] if content.consort_figure is None else [content.consort_figure]
    for section in content.endpoints:
        tables += [t for t in (section.table, *section.extra_tables) if t is not None]
        figures += section.figures
    tables += [*content.followup, *[t for t in (content.response, content.adverse_events) if t is not None],
               *content.safety]
    return ({t.key: i for i, t in enumerate(tables, start=1)},
            {f.key: i for i, f in enumerate(figures, start=1)})


def render_html(content: ReportContent) -> str:
    """The report as one HTML document (``templates/report.html.j2``)."""
    table_numbers, figure_numbers = output_numbers(content)
    return _environment().get_template("report.html.j2").render(
        c=content, px_per_inch=CSS_PX_PER_INCH, table_numbers=table_numbers, figure_numbers=figure_numbers,
        number_rule=current_format().rule)


def write_html(content: ReportContent, path: str | Path) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(content), encoding="utf-8")
    return out

