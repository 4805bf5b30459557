"""The CONSORT flow diagram as a figure: boxes and arrows, from the report's CONSORT boxes.

The report already holds the flow as boxes (:class:`~oncotrial.report.html.ConsortBox`, one
per stage and arm, with the reasons of the patients who left); the HTML page lays them out
in a grid, but a Word report, a PDF and a journal need the diagram as an image, as CONSORT
2010 (Schulz et al.) draws it: the randomised patients at the top, one column per arm below
them, and in each column the stages in order.

With the flow's structure (:class:`~oncotrial.report.consort.ConsortFlow`: which stage each
stage splits) the stages that go on — allocated, received treatment, entered the next phase,
analysed — stand on the arm's main line, joined by arrows, and the stages that end there —
did not receive treatment, stopped a phase, with their reasons — branch off to the right,
as the "discontinued intervention" boxes of the CONSORT template do. Without it every box
stands on the main line. The figure is drawn in inches, so its boxes keep their size
whatever the number of reasons; the figure grows instead.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from oncotrial.core.errors import InputError
from oncotrial.report.consort import ConsortFlow
from oncotrial.report.figures import FONT, PALETTE, save_figure
from oncotrial.report.html import ConsortBox, ReportFigure
from oncotrial.report.provenance import mark_figure

__all__ = ["CONSORT_CAPTION", "CONSORT_TITLE", "consort_figure", "draw_consort"]

CONSORT_TITLE = "Patient flow (CONSORT diagram)"
CONSORT_CAPTION = ("Numbers of patients (n) at each stage of the randomised arms; boxes branching to the right "
                   "are patients who left the arm's course of treatment there, with their reasons. Efficacy "
                   "analysed by randomised arm (intention to treat), safety by the treatment actually received.")

#: box geometry (inches): main-line box width, branch box width and its indent, gaps
_MAIN_W = 2.5
_SIDE_W = 2.35
_SIDE_X = 0.95
_COL_GAP = 0.45
_ROW_GAP = 0.28
_PAD = 0.07
_LINE = FONT["table"] * 1.3 / 72  # height of a text line
_CHARS = int((_SIDE_W - 2 * _PAD) * 72 / (0.55 * FONT["table"]))  # characters per line of a box


def _box_lines(box: ConsortBox) -> list[str]:
    """The text of a box: its label (wrapped), the count, then one line per reason."""
    lines = textwrap.wrap(box.label, _CHARS, break_on_hyphens=False) or [box.label]
    lines.append(f"n = {box.n}")
    for reason, n in box.reasons:
        lines += textwrap.wrap(f"{reason}: n = {n}", _CHARS - 2, initial_indent="\u2022 ",
                               subsequent_indent="  ", break_on_hyphens=False)
    return lines


def _main_line(rows: Sequence[Sequence[ConsortBox | None]], arm: int,
               parents: Mapping[str, str | None] | None) -> list[bool]:
    """Per row, whether the arm's box stands on the main line: a stage another box of the
    arm splits, or one with no parent (the analysis sets). Every box, without ``parents``."""
    labels = [r[arm].label if r[arm] is not None else None for r in rows]  # type: ignore[union-attr]
    if parents is None:
        return [True] * len(rows)
    present = {lab for lab in labels if lab is not None}
    split = {parents.get(lab) for lab in present}
    return [lab is None or lab in split or parents.get(lab) is None for lab in labels]


def _parents(flow: ConsortFlow) -> dict[str, str | None]:
    """Printed label of each stage → printed label of the stage it splits (None for none)."""
    table = flow.table[flow.table["reason"].isna()].drop_duplicates("stage")
    labels = dict(flow.labels)
    out: dict[str, str | None] = {}
    for row in table.itertuples(index=False):
        if row.stage in labels:
            parent = row.parent if isinstance(row.parent, str) else None
            out[labels[row.stage]] = labels.get(parent) if parent is not None else None
    return out


def consort_figure(total: int, arms: Sequence[str], rows: Sequence[Sequence[ConsortBox | None]], *,
                   flow: ConsortFlow | None = None, total_label: str = "Randomised") -> Figure:
    """Draw the CONSORT diagram of ``rows`` (per stage, one box or None per arm of ``arms``).

    ``total`` patients were randomised (the top box); ``flow`` gives the structure that puts
    the stages ending the arm's course (stopped, did not enter, not treated) to the side.
    Every box is a Rectangle with ``gid = "consort:box:<row>:<arm index>"`` and its text a
    Text with ``gid = "consort:text:<row>:<arm index>"`` (the top box: ``"consort:box:top"``).
    """
    arms = [str(a) for a in arms]
    if not arms:
        raise InputError("arms: expected the names of the randomised arms, got none", field="arms")
    for i, row in enumerate(rows):
        if len(row) != len(arms):
            raise InputError(f"rows: row {i} has {len(row)} boxes for {len(arms)} arms {arms}", field="rows")
    parents = _parents(flow) if flow is not None else None
    main = [_main_line(rows, j, parents) for j in range(len(arms))]
    texts = [[_box_lines(b) if b is not None else [] for b in row] for row in rows]
    heights = [max((len(t) for t in row), default=0) * _LINE + 2 * _PAD for row in texts]

    col_w = _SIDE_X + _SIDE_W
    head_h = 2 * _LINE + 2 * _PAD
    width = len(arms) * col_w + (len(arms) - 1) * _COL_GAP + 0.4
    height = 0.2 + head_h + 0.45 + _LINE + 0.15 + sum(h + _ROW_GAP for h in heights) + 0.1
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()

    def draw_box(x: float, top: float, w: float, h: float, lines: Sequence[str], gid: str, colour: str = "0.15",
                 centre: bool = False) -> None:
        ax.add_patch(Rectangle((x, top - h), w, h, facecolor="white", edgecolor=colour, linewidth=0.9,
                               gid=f"consort:box:{gid}"))
        ax.text(x + (w / 2 if centre else _PAD), top - _PAD, "\n".join(lines), ha="center" if centre else "left",
                va="top", fontsize=FONT["table"], linespacing=1.3 / 1.2, gid=f"consort:text:{gid}")

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=8, linewidth=0.8,
                                     color="0.15", shrinkA=0, shrinkB=0))

    # the randomised patients, centred, with a split line to each arm's column
    top_w = 2.4
    y = height - 0.2
    draw_box((width - top_w) / 2, y, top_w, head_h, [total_label, f"n = {total}"], "top", centre=True)
    y -= head_h
    lefts = [0.2 + j * (col_w + _COL_GAP) for j in range(len(arms))]
    spines = [x + 0.45 for x in lefts]
    split_y = y - 0.2
    ax.plot([width / 2, width / 2], [y, split_y], color="0.15", linewidth=0.8)
    ax.plot([min(spines), max(spines)], [split_y, split_y], color="0.15", linewidth=0.8)
    y = split_y - 0.25
    for j, arm in enumerate(arms):  # the arm's name above its column
        arrow(spines[j], split_y, spines[j], y - _LINE - 0.05)
        ax.text(lefts[j] + 0.55, y, arm, ha="left", va="top", fontsize=FONT["label"], fontweight="bold",
                color=PALETTE[j % len(PALETTE)], gid=f"consort:arm:{j}")
    y -= _LINE + 0.15
    last_main = [split_y] * len(arms)  # bottom of each arm's last main-line box (the split line at first)
    for i, row in enumerate(rows):
        for j, box in enumerate(row):
            if box is None:
                continue
            lines = texts[i][j]
            h = len(lines) * _LINE + 2 * _PAD
            if main[j][i]:
                draw_box(lefts[j], y, _MAIN_W, h, lines, f"{i}:{j}")
                if last_main[j] != split_y:  # the first box is reached by the arrow from the split
                    arrow(spines[j], last_main[j], spines[j], y)
                last_main[j] = y - h
            else:  # a branch off the main line, to the right
                draw_box(lefts[j] + _SIDE_X, y, _SIDE_W, h, lines, f"{i}:{j}", colour="0.35")
                ax.plot([spines[j], spines[j]], [last_main[j], y - h / 2], color="0.15", linewidth=0.8)
                arrow(spines[j], y - h / 2, lefts[j] + _SIDE_X, y - h / 2)
        y -= heights[i] + _ROW_GAP
    return fig


def draw_consort(total: int, arms: Sequence[str], rows: Sequence[Sequence[ConsortBox | None]],
                 out_dir: str | Path, *, flow: ConsortFlow | None = None, note: str | None = None,
                 formats: Sequence[str] = ("png", "svg", "pdf"), name: str = "consort") -> ReportFigure:
    """Draw :func:`consort_figure`, mark it with ``note`` (the simulated-data mark of
    :mod:`oncotrial.report.provenance`, None for trial data), write ``out_dir/<name>`` in
    each of ``formats`` and return it as the report's figure (kind ``"consort"``)."""
    fig = consort_figure(total, arms, rows, flow=flow)
    if note is not None:
        mark_figure(fig, note)
    paths = save_figure(fig, Path(out_dir) / name, formats)
    return ReportFigure(key=name, endpoint="", kind="consort", title=CONSORT_TITLE, caption=CONSORT_CAPTION,
                        paths={p.suffix.lstrip("."): p for p in paths})
