"""Where the data of a report come from: a simulated replica must never pass for a trial.

Data made by :mod:`oncotrial.simulate` carry a mark that the derivation keeps: SDTM DM has
``SIMFL = "Y"`` and ``SIMSEED`` (the integer seed of the replica), and ADSL carries both
unchanged. :func:`provenance` reads the mark; when it is there every output of the report
says so — the HTML title, every page header of the Word report, every figure, the first
line of the lay summary and a ``trial``/``simulated`` record of the ARD — and the lay
summary neither thanks participants nor sends readers to the trial's registry entry, as it
would for real results.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pandas as pd

from oncotrial.core.results import Result
from oncotrial.report.adam import _blank, data_error

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SEED_VARIABLE", "SIMULATED_FLAG", "Simulated", "mark_figure", "provenance"]

#: the ADSL (and DM) flag of simulated data and the variable holding the replica's seed
SIMULATED_FLAG = "SIMFL"
SEED_VARIABLE = "SIMSEED"
#: height (inches) of the strip added above a figure for the simulated-data mark
_STRIP = 0.3


@dataclasses.dataclass(frozen=True, repr=False)
class Simulated(Result):
    """Data of a simulated replica made with ``seed`` (a result, so that analyses holding it
    serialise to JSON)."""

    seed: int

    @property
    def note(self) -> str:
        """The mark every output of simulated data shows."""
        return f"Simulated data (seed {self.seed}) — not trial results"


def provenance(adsl: pd.DataFrame) -> Simulated | None:
    """:class:`Simulated` when every patient of ``adsl`` has ``SIMFL = "Y"``, ``None`` when
    none has (no ``SIMFL`` column, or every value blank or ``"N"``).

    Some patients marked and others not is a :class:`~oncotrial.core.errors.DataError` (data
    sets mixed by mistake), as is a simulated ADSL without one integer ``SIMSEED`` shared by
    every patient: a replica is reproducible only with its seed.
    """
    if SIMULATED_FLAG not in adsl.columns:
        return None
    frame = adsl.reset_index(drop=True)
    flag = frame[SIMULATED_FLAG].map(lambda v: v.strip().upper() if isinstance(v, str) else v)
    marked = flag == "Y"
    if not marked.any():
        bad = ~(_blank(frame[SIMULATED_FLAG]) | (flag == "N"))
        if bad.any():
            raise data_error("ADSL", SIMULATED_FLAG, "expected Y, N or blank", bad)
        return None
    if not marked.all():
        raise data_error("ADSL", SIMULATED_FLAG, f"{int(marked.sum())} of {len(frame)} patients are marked as "
                                                 f"simulated (Y) and the others not: simulated and real data mixed",
                         ~marked)
    if SEED_VARIABLE not in frame.columns:
        raise data_error("ADSL", SEED_VARIABLE, f"simulated data ({SIMULATED_FLAG} = Y) without the seed variable")
    seeds = pd.to_numeric(frame[SEED_VARIABLE], errors="coerce")
    whole = seeds.notna() & (seeds == seeds.round())
    if not whole.all():
        raise data_error("ADSL", SEED_VARIABLE, "expected the integer seed of the replica", ~whole)
    if seeds.nunique() != 1:
        raise data_error("ADSL", SEED_VARIABLE, f"one seed expected, got {sorted(int(s) for s in seeds.unique())}",
                         seeds != seeds.iloc[0])
    return Simulated(int(seeds.iloc[0]))


def mark_figure(fig: Figure, note: str) -> None:
    """Write ``note`` in a strip added above ``fig``, where it covers nothing.

    The figure grows by the strip; its axes keep their size and their distance from the
    bottom edge (and a constrained layout is confined below the strip), so text placed in
    inches from the bottom — a forest plot's columns and footnotes — does not move.
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    width, height = fig.get_size_inches()
    total = height + _STRIP
    engine = fig.get_layout_engine()
    fig.set_size_inches(width, total)
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, 0.0, 1.0, height / total))
    else:
        for ax in fig.axes:
            box = ax.get_position()
            ax.set_position((box.x0, box.y0 * height / total, box.width, box.height * height / total))
    fig.text(0.1, total - _STRIP / 2, note, transform=fig.dpi_scale_trans, ha="left", va="center",
             fontsize=9, fontweight="bold", color="#9b1c1c", gid="provenance")
