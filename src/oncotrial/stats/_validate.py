"""Input checks shared by every estimator in :mod:`oncotrial.stats`.

Every check raises a :class:`ValueError` that names the argument (or column) and the
offending rows, so that a user looking at a 1,000-row CRF export can find the culprit.
Nothing is dropped or coerced silently: a time of ``NaN`` is an error, not a censoring.

Rows are named by the pandas index when the input is a Series, otherwise by 0-based
position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "row_labels",
    "as_time",
    "as_event",
    "as_weights",
    "as_groups",
    "as_fraction",
    "check_lengths",
    "survival_arrays",
    "timefix",
    "label",
]

_MAX_ROWS_SHOWN = 10


def row_labels(mask: np.ndarray, index: Sequence[Any] | None = None) -> str:
    """Describe the rows where ``mask`` is true, e.g. ``"rows [3, 17] (2 rows)"``."""
    positions = np.flatnonzero(mask)
    labels = list(positions if index is None else np.asarray(index)[positions])
    shown = ", ".join(str(x) for x in labels[:_MAX_ROWS_SHOWN])
    more = ", ..." if len(labels) > _MAX_ROWS_SHOWN else ""
    return f"rows [{shown}{more}] ({len(labels)} row{'s' if len(labels) != 1 else ''})"


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _index_of(values: Any) -> Sequence[Any] | None:
    return values.index if isinstance(values, pd.Series) else None


def label(values: Any, name: str) -> str:
    """The argument name, plus the column name when a named pandas Series was passed.

    ``kaplan_meier(df["pfs_months"], ...)`` then reports ``time ('pfs_months'): ...``,
    which is what a user needs to find the bad cells in their own data.
    """
    column = getattr(values, "name", None) if isinstance(values, pd.Series) else None
    return name if column is None or str(column) in name else f"{name} ({str(column)!r})"


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-dimensional array, got shape {arr.shape}")
    return arr


def _as_float(values: Any, name: str) -> np.ndarray:
    arr = _as_1d(values, name)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False)
    # object or string input: convert element-wise so that we can name the bad rows
    out = np.empty(arr.shape[0], dtype=np.float64)
    bad = np.zeros(arr.shape[0], dtype=bool)
    for i, v in enumerate(arr):
        try:
            out[i] = np.nan if v is None else float(v)
        except (TypeError, ValueError):
            bad[i] = True
    if bad.any():
        example = _item(arr[np.flatnonzero(bad)[0]])
        raise ValueError(
            f"{name}: expected numbers, got non-numeric values at "
            f"{row_labels(bad, _index_of(values))} (first: {example!r})"
        )
    return out


def as_time(values: Any, name: str = "time") -> np.ndarray:
    """Survival times as float64: finite and non-negative, else a ValueError naming the rows."""
    name = label(values, name)
    t = _as_float(values, name)
    index = _index_of(values)
    for mask, what in (
        (np.isnan(t), "missing (NaN) values"),
        (np.isinf(t), "infinite values"),
        (t < 0, "negative values"),
    ):
        if mask.any():
            raise ValueError(
                f"{name}: expected finite non-negative times, got {what} at {row_labels(mask, index)}"
            )
    return t


def as_event(values: Any, name: str = "event") -> np.ndarray:
    """Event indicators as float64 0.0/1.0; accepts bool or the numbers 0 and 1 only."""
    name = label(values, name)
    arr = _as_1d(values, name)
    if arr.dtype.kind == "b":
        return arr.astype(np.float64)
    e = _as_float(values, name)
    bad = ~((e == 0) | (e == 1))
    if bad.any():
        example = _item(arr[np.flatnonzero(bad)[0]])
        raise ValueError(
            f"{name}: expected 0/1 or boolean event indicators, got {example!r} at "
            f"{row_labels(bad, _index_of(values))}"
        )
    return e


def as_weights(values: Any, n: int, name: str = "weights") -> np.ndarray:
    """Case weights as float64 (all ones when ``values`` is None): finite and >= 0."""
    if values is None:
        return np.ones(n, dtype=np.float64)
    name = label(values, name)
    w = _as_float(values, name)
    check_lengths(**{name: w}, n=np.empty(n))
    index = _index_of(values)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ValueError(
            f"{name}: expected finite non-negative case weights, got invalid values at "
            f"{row_labels(bad, index)}"
        )
    return w


def as_groups(values: Any, name: str = "group", min_levels: int = 2) -> tuple[np.ndarray, list[Any]]:
    """Integer codes and the sorted distinct levels of a grouping variable.

    Missing group values are an error (naming the rows): a patient without an arm cannot
    be analysed by arm, and dropping them silently would change the denominators.
    A categorical input keeps its declared level order (unused levels dropped).
    """
    name = label(values, name)
    arr = _as_1d(values, name)
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(f"{name}: expected a value for every row, got missing values at "
                         f"{row_labels(missing, _index_of(values))}")
    if isinstance(values, pd.Categorical) or (
        isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype)
    ):
        cat = pd.Categorical(values)
        used = np.unique(cat.codes)
        levels = [cat.categories[c] for c in used]
        codes = np.searchsorted(used, cat.codes)
    else:
        try:
            uniq, codes = np.unique(arr, return_inverse=True)
        except TypeError as exc:  # mixed types that do not sort, e.g. 1 and "a"
            raise ValueError(f"{name}: levels of mixed types cannot be ordered ({exc})") from None
        levels = uniq.tolist()
    if len(levels) < min_levels:
        raise ValueError(
            f"{name}: expected at least {min_levels} distinct levels, got {len(levels)} ({levels!r})"
        )
    return codes.astype(np.intp, copy=False), levels


def as_fraction(value: Any, name: str, what: str = "a number") -> float:
    """``value`` as a float strictly between 0 and 1 (a confidence level, a probability)."""
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if 0.0 < number < 1.0:
            return number
    raise ValueError(f"{name}: expected {what} strictly between 0 and 1, got {value!r}")


def check_lengths(**arrays: Any) -> int:
    """Raise unless all arrays have the same length; return that length."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"length mismatch: {desc} rows")
    return next(iter(lengths.values()))


def survival_arrays(
    time: Any,
    event: Any,
    weights: Any = None,
    *,
    time_name: str = "time",
    event_name: str = "event",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(time, event, weights)`` float64 arrays of one common, non-zero length."""
    n = check_lengths(**{time_name: time, event_name: event})
    if n == 0:
        raise ValueError(f"{time_name}: empty input, expected at least one row")
    t = as_time(time, time_name)
    e = as_event(event, event_name)
    w = as_weights(weights, n)
    return t, e, w


def timefix(time: np.ndarray, tolerance: float = np.sqrt(np.finfo(float).eps)) -> np.ndarray:
    """Merge times that differ only by round-off, as R ``survival`` does (``timefix=TRUE``).

    Two consecutive distinct times are treated as tied when their difference is at most
    ``tolerance`` absolutely, or relative to the mean absolute distinct time (the rule of
    R's ``aeqSurv``, which is that of ``all.equal``). Each time is replaced by the smallest
    member of its run of near-equal values. Without this, e.g. ``1/3*3`` and ``1`` would be
    distinct times and Efron and Breslow fits on "continuous" data would not reproduce R.
    """
    y = np.unique(time)
    if y.size < 2:
        return time
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return time
    # map every time to the first member of its run of near-equal distinct values; the
    # inverse index of np.unique is much faster than a binary search for 1e6 rows
    _, inverse = np.unique(time, return_inverse=True)
    first_of_run = y[np.concatenate(([True], ~tied))]
    return first_of_run[np.cumsum(np.concatenate(([0], ~tied)))[inverse]]
