"""Figures for trial reports (matplotlib, drawn off-screen and written to a file), and the
helpers every report figure shares: palette, font sizes, input checks, the arms' order, the
Cox hazard ratio printed on a figure, the key placement and the writing of files.

The figure functions take numbers computed elsewhere (by :mod:`oncotrial.design` or
:mod:`oncotrial.stats`) and never compute statistics of their own, so that a figure and the
table beside it cannot disagree.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.patches import Rectangle

from oncotrial.core.errors import InputError
from oncotrial.core.validation import as_groups, survival_arrays
from oncotrial.report.efficacy import not_estimable_reason
from oncotrial.stats import ConvergenceWarning, coxph
from oncotrial.stats.conventions import Convention
from oncotrial.stats.cox import level_label

__all__ = ["AUTO_LOCATIONS", "FIGURE_FORMATS", "FONT", "PALETTE", "PNG_DPI", "check_columns", "check_event_column",
           "check_survival_input", "coefficient_name", "hazard_ratio_by_cox", "key_line", "level_text",
           "place_keys", "power_curve_figure", "resolve_arms", "save_figure", "write_figure"]

FIGURE_FORMATS = (".png", ".svg", ".pdf")
#: resolution of PNG output: 300 dpi is what journals ask for line art with text
PNG_DPI = 300
#: zlib level of PNG output. A 300-dpi figure is about 8 million pixels, and at zlib's
#: default level (6) encoding them took a third of the time of saving a report's figures;
#: at level 1 encoding takes about 70 % of that time and the file (lossless either way) is
#: about 1.4 times larger.
PNG_COMPRESS_LEVEL = 1

#: Okabe–Ito colours (Okabe & Ito 2008), distinguishable with the common colour-vision
#: deficiencies and in greyscale by lightness: blue (reference arm), vermillion,
#: bluish green, reddish purple, orange, sky blue.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")

#: font sizes (points) shared by the report figures: journal figures are printed at a
#: column width of 7 inches or less, where 8-9 pt is the smallest comfortable size
FONT = {"tick": 8.5, "label": 9.5, "title": 10.5, "table": 8.5, "note": 8.0}


def write_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (.png at 300 dpi, .svg or .pdf), creating the folder."""
    out = Path(path)
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise InputError(f"path: unsupported file type {out.suffix!r} in {str(out)!r}; "
                         f"expected one of {', '.join(FIGURE_FORMATS)}", field="path")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        fig.savefig(out, dpi=PNG_DPI, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    else:
        fig.savefig(out)
    return out


def save_figure(fig: Figure, path_without_suffix: str | Path,
                formats: Iterable[str] = ("png", "svg", "pdf")) -> list[Path]:
    """Write ``fig`` once per format (``"png"``, ``"svg"``, ``"pdf"``) and return the paths.

    A report usually needs the same figure as PNG (Word, HTML), SVG (editing) and PDF
    (eCTD, LaTeX); ``save_figure(fig, "out/km_pfs")`` writes ``out/km_pfs.png``, ``.svg``
    and ``.pdf``.
    """
    base = Path(path_without_suffix)
    paths = []
    for fmt in formats:
        suffix = "." + str(fmt).lower().lstrip(".")
        if suffix not in FIGURE_FORMATS:
            raise InputError(f"formats: unsupported format {fmt!r}; expected some of "
                             f"{[s.lstrip('.') for s in FIGURE_FORMATS]}", field="formats")
        paths.append(write_figure(fig, base.with_name(base.name + suffix)))
    return paths


def check_columns(data: Any, roles: Mapping[str, tuple[Sequence[str], str]]) -> None:
    """Raise an InputError naming each missing column, its role and what was expected.

    ``roles`` maps an argument name to ``(columns, description)``. ``data`` that is not a
    DataFrame is a ``TypeError``; a DataFrame with a column name used twice is refused
    (``data[name]`` would be two columns).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    twice = list(dict.fromkeys(map(str, data.columns[data.columns.duplicated()])))
    if twice:
        raise InputError(f"data: column name(s) {twice} used more than once; rename or drop the copies",
                         field="data")
    for role, (cols, what) in roles.items():
        for col in cols:
            if col not in data.columns:
                raise InputError(f"{role}: column {col!r} not in data; expected {what} "
                                 f"(columns: {list(data.columns)})", field=role)


def check_event_column(event: str) -> None:
    """Refuse the ADaM censoring flag as the event column: CNSR = 0 is the event."""
    if str(event).upper() == "CNSR":
        raise InputError("event: 'CNSR' is the ADaM censoring flag (0 = event); expected an event "
                         "indicator with 1 = event, e.g. data.assign(EVENT=(data.CNSR == 0).astype(int))",
                         field="event")

def check_survival_input(data: pd.DataFrame, time: str, event: str, group: str,
                         adjust: Sequence[str], strata: Sequence[str]) -> tuple[list[str], list[str]]:
    """The checks every figure runs first: the event column is 1/0 (not ``CNSR``), every
    named column exists, times and events are valid. Returns ``adjust`` and ``strata`` as lists."""
    check_event_column(event)
    adjust, strata = list(adjust), list(strata)
    check_columns(data, {"time": ([time], "follow-up times"), "event": ([event], "1 = event, 0 = censored"),
                         "group": ([group], "the arm of each patient"),
                         "adjust": (adjust, "a covariate column"), "strata": (strata, "a stratification column")})
    survival_arrays(data[time], data[event], time_name=time, event_name=event)
    return adjust, strata



def resolve_arms(data: pd.DataFrame, group: str, *, reference: Any = None,
                 order: Sequence[Any] | None = None, convention: Convention) -> tuple[list[Any], Any]:
    """The arms in display order and the reference arm.

    Default: the reference arm first (``reference``, else the convention's reference
    level: first sorted level under R, last under SAS, as in the efficacy table), then
    the other arms in sorted order. ``order`` lists every arm in the order wanted; the
    reference stays ``reference`` (default: the first arm of ``order``).
    """
    _, levels = as_groups(data[group], name=group)
    if order is not None:
        order = list(order)
        if sorted(map(str, order)) != sorted(map(str, levels)) or len(order) != len(levels):
            raise InputError(f"arm_order: expected each level of {group!r} once, {levels}; got {order}",
                             field="arm_order")
        order = [levels[[str(lv) for lv in levels].index(str(a))] for a in order]
    if reference is None:
        ref = order[0] if order is not None else (levels[0] if convention.reference == "first" else levels[-1])
    elif reference in levels:
        ref = reference
    else:
        raise InputError(f"reference: level {reference!r} not found in column {group!r}; levels are {levels}",
                         field="reference")
    if order is None:
        order = [ref] + [lv for lv in levels if lv != ref]
    return order, ref


def hazard_ratio_by_cox(data: pd.DataFrame, *, time: str, event: str, group: str, reference: Any,
                        adjust: Sequence[str], strata: Sequence[str], conf_level: float,
                        convention: Convention) -> dict[Any, tuple[float, float, float]]:
    """Hazard ratio (CI) of each arm against ``reference`` from :func:`oncotrial.stats.coxph`.

    Non-numeric ``adjust`` columns enter as categorical terms with the convention's
    reference level; ``strata`` get separate baseline hazards (the usual primary
    analysis: stratified by the randomisation factors). A hazard ratio that cannot be estimated
    (:func:`~oncotrial.report.efficacy.not_estimable_reason`: an arm without events, a fit
    that did not converge) is ``(nan, nan, nan)``; the figure prints it as not estimable.
    """
    categorical: dict[str, Any] = {group: reference}
    for col in adjust:
        if not pd.api.types.is_numeric_dtype(data[col]):
            categorical[col] = None
    events = data.groupby(group, observed=True)[event].sum().to_dict()
    with warnings.catch_warnings():
        if any(v == 0 for v in events.values()):  # the figure says "not estimable" instead
            warnings.simplefilter("ignore", ConvergenceWarning)
        fit = coxph(data, time=time, event=event, covariates=[group, *adjust], strata=list(strata) or None,
                    categorical=categorical, conf_level=conf_level, convention=convention)
    out = {}
    for arm in as_groups(data[group], name=group)[1]:
        if arm != reference:
            term = coefficient_name(group, arm)
            if not_estimable_reason(fit, term, events, arm, reference) is not None:
                out[arm] = (math.nan, math.nan, math.nan)
                continue
            row = fit.coef_table.loc[term]
            out[arm] = (float(row["hr"]), float(row["lower"]), float(row["upper"]))
    return out


def level_text(level: Any) -> str:
    """A level as printed: 2.0 -> "2" (a numeric code read from a file), else ``str``."""
    return level_label(level)


def coefficient_name(group: str, arm: Any) -> str:
    """The name :func:`oncotrial.stats.coxph` gives the coefficient of ``arm``: ``"ARM[level]"``."""
    return f"{group}[{level_text(arm)}]"


#: where an automatically placed key is tried, in order, before it goes outside the plot
AUTO_LOCATIONS = ("upper right", "lower left", "lower right", "center right", "lower center", "center left",
                  "upper center")


def key_line(text: str, colour: str | None = None, band: bool = False, gap: bool = False,
              dashed: bool = False) -> Any:
    """One line of a figure key: a line (or band) sample in ``colour`` and its text."""
    label = TextArea(text, textprops={"fontsize": FONT["note"], "linespacing": 1.35})
    if colour is None:
        return VPacker(children=[DrawingArea(1, 3), label], pad=0, sep=0) if gap else label
    sample = DrawingArea(18, 8)
    if band:
        sample.add_artist(Rectangle((0, 1), 18, 6, facecolor=colour, alpha=0.35, linewidth=0))
    else:
        sample.add_artist(Line2D([0, 18], [4, 4], color=colour, linewidth=1.6,
                                 linestyle=(0, (3, 2)) if dashed else "-"))
    return HPacker(children=[sample, label], align="center", pad=0, sep=5)


def place_keys(fig: Figure, ax: Any, parts: Sequence[Callable[[], Any]], loc: str,
               points: np.ndarray) -> list[AnchoredOffsetbox]:
    """Put the key parts (built by the callables) in ``ax`` where they cover none of ``points``.

    ``loc="above"``: all parts side by side above the axes, at the same place in every
    figure. ``loc="auto"``: each part goes to the first of :data:`AUTO_LOCATIONS` (after the final
    layout) where it covers no point (data x, y) and no part already placed; the parts
    that fit nowhere go above the axes, so that text never lies on a curve. (Figure
    titles are therefore ``suptitle``, above such a key.) Any other matplotlib ``loc``
    puts all parts together there.
    """
    def together() -> VPacker:
        return VPacker(children=[part() for part in parts], align="left", pad=0, sep=6)

    if loc == "above":  # above the axes, the same place in every figure: side by side if they fit
        for packer in (HPacker, VPacker):
            child = packer(children=[part() for part in parts], align="top" if packer is HPacker else "left",
                           pad=0, sep=18 if packer is HPacker else 6)
            box = AnchoredOffsetbox(loc="lower left", child=child, frameon=False, pad=0.2, borderpad=0,
                                    bbox_to_anchor=(0.0, 1.02), bbox_transform=ax.transAxes)
            ax.add_artist(box)
            if packer is VPacker:
                break
            fig.draw_without_rendering()
            if box.get_window_extent(fig.canvas.get_renderer()).x1 <= fig.bbox.x1 - 4:  # type: ignore[attr-defined]
                break
            box.remove()
        return [box]
    if loc != "auto":
        box = AnchoredOffsetbox(loc=loc, child=together(), frameon=False, pad=0.2, borderpad=0.6)
        ax.add_artist(box)
        return [box]
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg), "the figure needs an Agg canvas for its renderer"
    renderer = canvas.get_renderer()
    placed: list[tuple[str, AnchoredOffsetbox]] = []
    outside: list[Callable[[], Any]] = []
    for part in parts:
        for candidate in (c for c in AUTO_LOCATIONS if c not in dict(placed)):
            box = AnchoredOffsetbox(loc=candidate, child=part(), frameon=False, pad=0.2, borderpad=0.6)
            ax.add_artist(box)
            fig.draw_without_rendering()
            extent = box.get_window_extent(renderer).padded(2)
            if not extent.count_contains(ax.transData.transform(points)) and not any(
                    extent.overlaps(other.get_window_extent(renderer)) for _, other in placed):
                placed.append((candidate, box))
                break
            box.remove()
        else:
            outside.append(part)
    boxes = [box for _, box in placed]
    if outside:
        box = AnchoredOffsetbox(loc="lower left", child=VPacker(children=[part() for part in outside], align="left",
                                                                pad=0, sep=6),
                                frameon=False, pad=0.2, borderpad=0, bbox_to_anchor=(0.0, 1.02),
                                bbox_transform=ax.transAxes)
        ax.add_artist(box)
        boxes.append(box)
    return boxes



def power_curve_figure(
    hazard_ratios: Sequence[float],
    power: Sequence[float],
    path: str | Path,
    *,
    design_hazard_ratio: float | None = None,
    target_power: float | None = None,
    title: str = "Power against the true hazard ratio",
    subtitle: str | None = None,
) -> Path:
    """Draw power against the hazard ratio and write it to ``path`` (PNG, SVG or PDF).

    A dashed vertical line marks the hazard ratio the trial was designed for and a dotted
    horizontal line the target power, so that a reader sees at once how fast power is
    lost if the true effect is smaller than assumed.
    """
    out = Path(path)
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise InputError(f"path: unsupported file type {out.suffix!r}; expected one of {', '.join(FIGURE_FORMATS)}",
                         field="path")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hr = np.asarray(hazard_ratios, dtype=float)
    pw = np.asarray(power, dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    ax.plot(hr, pw, color="#1f4e79", linewidth=2)
    if design_hazard_ratio is not None:
        ax.axvline(design_hazard_ratio, color="#7f7f7f", linestyle="--", linewidth=1,
                   label=f"design HR {design_hazard_ratio:.3g}")
    if target_power is not None:
        ax.axhline(target_power, color="#7f7f7f", linestyle=":", linewidth=1,
                   label=f"target power {target_power:.0%}")
    ax.set_xlabel("True hazard ratio (experimental : control)")
    ax.set_ylabel("Power")
    ax.set_ylim(0, 1)
    ax.set_xlim(hr.min(), hr.max())
    ax.grid(True, alpha=0.3)
    ax.set_title(title if subtitle is None else f"{title}\n{subtitle}", fontsize=10)
    if design_hazard_ratio is not None or target_power is not None:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
