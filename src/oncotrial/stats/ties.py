"""Merging times that differ only by round-off (R ``survival``'s ``timefix``)."""

from __future__ import annotations

import numpy as np

__all__ = ["timefix"]


def timefix(time: np.ndarray, tolerance: float = np.sqrt(np.finfo(float).eps)) -> np.ndarray:
    """Merge times that differ only by round-off, as R ``survival`` does (``timefix=TRUE``).

    Two consecutive distinct times are treated as tied when their difference is at most
    ``tolerance`` absolutely, or relative to the mean absolute distinct time (the rule of
    R's ``aeqSurv``, which is that of ``all.equal``). Each time is replaced by the smallest
    member of its run of near-equal values. Without this, e.g. ``1/3*3`` and ``1`` would be
    distinct times and Efron and Breslow fits on "continuous" data would not reproduce R.

    The mean is taken on values scaled by their maximum, so that times near the largest
    float (1e307) do not overflow into one tied run.
    """
    y = np.unique(time)
    if y.size < 2:
        return time
    dy = np.diff(y)
    scale = float(np.max(np.abs(y)))
    mean_abs = scale * float(np.mean(np.abs(y) / scale)) if scale > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = dy / mean_abs if mean_abs > 0 else np.full_like(dy, np.inf)
    tied = (dy <= tolerance) | (relative <= tolerance)
    if not tied.any():
        return time
    # map every time to the first member of its run of near-equal distinct values; the
    # inverse index of np.unique is much faster than a binary search for 1e6 rows
    _, inverse = np.unique(time, return_inverse=True)
    first_of_run = y[np.concatenate(([True], ~tied))]
    return first_of_run[np.cumsum(np.concatenate(([0], ~tied)))[inverse]]
