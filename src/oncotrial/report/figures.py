"""Figures for trial reports (matplotlib, drawn off-screen and written to a file).

The figure functions take numbers computed elsewhere (by :mod:`oncotrial.design` or
:mod:`oncotrial.stats`) and never compute statistics themselves, so that a figure and the
table beside it cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from oncotrial.core.errors import InputError

__all__ = ["FIGURE_FORMATS", "PNG_DPI", "power_curve_figure"]

FIGURE_FORMATS = (".png", ".svg", ".pdf")
#: resolution of PNG output: 300 dpi is what journals ask for line art with text
PNG_DPI = 300


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
