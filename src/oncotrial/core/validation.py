"""Input checks shared by every layer.

Every check raises an :class:`~oncotrial.core.errors.InputError` that names the argument
(or column) and the offending rows, so that a user looking at a 1,000-row CRF export can
find the culprit; a wrong Python *type* (a dict where an array belongs) is a
:class:`TypeError`. Nothing is dropped or coerced silently: a time of ``NaN`` is an error,
not a censoring, and neither the string ``"12"`` nor the boolean ``True`` is a time.

Rows are 1-based positions in the data as given (the first data row is row 1), whatever
the pandas index says: that is the row a user finds in a spreadsheet under the header.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from oncotrial.core.errors import InputError
from oncotrial.core.lazy_pandas import loaded_pandas

__all__ = [
    "as_event",
    "as_fraction",
    "as_groups",
    "as_numbers",
    "as_time",
    "as_weights",
    "check_seed",
    "check_lengths",
    "label",
    "row_labels",
    "row_numbers",
    "survival_arrays",
]

_MAX_ROWS_SHOWN = 10


def row_numbers(mask: Any) -> list[int]:
    """The 1-based row numbers where ``mask`` is true."""
    return (np.flatnonzero(np.asarray(mask, dtype=bool)) + 1).tolist()


def row_labels(mask: Any) -> str:
    """Describe the rows where ``mask`` is true, e.g. ``"rows [3, 17] (2 rows)"`` (1-based)."""
    rows = row_numbers(mask)
    shown = ", ".join(str(x) for x in rows[:_MAX_ROWS_SHOWN])
    more = ", ..." if len(rows) > _MAX_ROWS_SHOWN else ""
    return f"rows [{shown}{more}] ({len(rows)} row{'s' if len(rows) != 1 else ''})"


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def label(values: Any, name: str) -> str:
    """The argument name, plus the column name when a named pandas Series was passed.

    ``kaplan_meier(df["pfs_months"], ...)`` then reports ``time ('pfs_months'): ...``,
    which is what a user needs to find the bad cells in their own data.
    """
    pd = loaded_pandas()
    column = getattr(values, "name", None) if pd is not None and isinstance(values, pd.Series) else None
    return name if column is None or str(column) in name else f"{name} ({str(column)!r})"


def _as_1d(values: Any, name: str, field: str | None = None) -> np.ndarray:
    if isinstance(values, (str, bytes, Mapping)) or values is None:
        raise TypeError(f"{name}: expected a 1-dimensional array of values, "
                        f"got {type(values).__name__}")
    pd = loaded_pandas()
    if pd is not None and isinstance(values, pd.DataFrame):
        raise TypeError(f"{name}: expected one column (a Series or an array), got a DataFrame "
                        f"with columns {list(map(str, values.columns))}")
    pandas_column = pd is not None and isinstance(values, (pd.Series, pd.Index))
    arr = values.to_numpy() if pandas_column else np.asarray(values)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        # a list mixing numbers and text becomes all text in NumPy: keep each value's type
        # so that only the rows holding text are reported
        arr = np.array(list(values), dtype=object)
    if arr.ndim == 0:
        raise TypeError(f"{name}: expected a 1-dimensional array of values, got a single "
                        f"{type(values).__name__} ({values!r})")
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-dimensional array, got shape {arr.shape}",
                         field=field or name)
    return arr


def as_numbers(values: Any, name: str, *, field: str | None = None) -> np.ndarray:
    """``values`` as float64, refusing strings and booleans (naming the rows).

    Missing values (``None``, ``NaN``, ``pd.NA``) become NaN for the caller to judge.
    A number stored as text (``"12"``) is refused rather than converted: it usually
    means a column was read with the wrong type, and the rest of it may be wrong too.
    ``name`` heads the message (it may carry the column, ``"time ('pfs')"``); ``field``
    (default ``name``) is the argument the error is about, for front ends to map.
    """
    field = field or name
    arr = _as_1d(values, name, field)
    if arr.dtype.kind in "fiu":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "b":
        raise InputError(f"{name}: expected numbers, got booleans (True/False) at "
                         f"{row_labels(np.ones(arr.shape[0], dtype=bool))}", field=field)
    if arr.dtype.kind not in "O":
        bad = np.ones(arr.shape[0], dtype=bool)
        first = _item(arr[0]) if arr.shape[0] else None
        raise InputError(f"{name}: expected numbers, got {arr.dtype} values at "
                         f"{row_labels(bad)} (first: {first!r})", field=field)
    out = np.empty(arr.shape[0], dtype=np.float64)
    bad = np.zeros(arr.shape[0], dtype=bool)
    boolean = np.zeros(arr.shape[0], dtype=bool)
    pd = loaded_pandas()
    na = pd.NA if pd is not None else None
    for i, v in enumerate(arr):
        if v is None or v is na or (isinstance(v, float) and math.isnan(v)):
            out[i] = np.nan
        elif isinstance(v, (bool, np.bool_)):
            boolean[i] = True
        elif not isinstance(v, (int, float, np.number)):
            bad[i] = True
        else:
            out[i] = float(v)
    if bad.any():
        example = _item(arr[np.flatnonzero(bad)[0]])
        raise InputError(f"{name}: expected numbers, got non-numeric values at "
                         f"{row_labels(bad)} (first: {example!r})", field=field)
    if boolean.any():
        raise InputError(f"{name}: expected numbers, got booleans (True/False) at "
                         f"{row_labels(boolean)}", field=field)
    return out


def as_time(values: Any, name: str = "time", *, field: str | None = None) -> np.ndarray:
    """Survival times as float64: finite and non-negative, else an InputError naming the rows."""
    field = field or name
    name = label(values, name)
    t = as_numbers(values, name, field=field)
    for mask, what in (
        (np.isnan(t), "missing (NaN) values"),
        (np.isinf(t), "infinite values"),
        (t < 0, "negative values"),
    ):
        if mask.any():
            raise InputError(f"{name}: expected finite non-negative times, got {what} at "
                             f"{row_labels(mask)}", field=field)
    return t


def as_event(values: Any, name: str = "event", *, field: str | None = None) -> np.ndarray:
    """Event indicators as float64 0.0/1.0; accepts bool or the numbers 0 and 1 only."""
    field = field or name
    name = label(values, name)
    arr = _as_1d(values, name, field)
    if arr.dtype.kind == "b":
        return arr.astype(np.float64)
    if arr.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in arr):
        return arr.astype(bool).astype(np.float64)
    e = as_numbers(values, name, field=field)
    bad = ~((e == 0) | (e == 1))
    if bad.any():
        example = _item(arr[np.flatnonzero(bad)[0]])
        raise InputError(f"{name}: expected 0/1 or boolean event indicators, got {example!r} at "
                         f"{row_labels(bad)}", field=field)
    return e


def as_weights(values: Any, n: int, name: str = "weights", *,
               field: str | None = None) -> np.ndarray:
    """Case weights as float64 (all ones when ``values`` is None): finite and >= 0.

    Some weights may be 0 (a row kept for the record but not counted), not all: with every
    weight 0 nobody is at risk and every estimate would be undefined, not 1.
    """
    if values is None:
        return np.ones(n, dtype=np.float64)
    field = field or name
    name = label(values, name)
    w = as_numbers(values, name, field=field)
    if w.shape[0] != n:
        raise InputError(f"length mismatch: {name} has {w.shape[0]} rows, the data {n}",
                         field=field)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InputError(f"{name}: expected finite non-negative case weights, got invalid "
                         f"values at {row_labels(bad)}", field=field)
    if n and not (w > 0).any():
        raise InputError(f"{name}: every case weight is 0 (rows 1 to {n}); expected at least "
                         "one positive weight", field=field)
    return w


def as_groups(values: Any, name: str = "group", min_levels: int = 2, *,
              field: str | None = None) -> tuple[np.ndarray, list[Any]]:
    """Integer codes and the sorted distinct levels of a grouping variable.

    Missing group values are an error (naming the rows): a patient without an arm cannot
    be analysed by arm, and dropping them silently would change the denominators.
    A categorical input keeps its declared level order (unused levels dropped).
    """
    import pandas as pd  # its isna knows every missing-value marker of object columns

    field = field or name
    name = label(values, name)
    arr = _as_1d(values, name, field)
    missing = pd.isna(arr)
    if missing.any():
        raise InputError(f"{name}: expected a value for every row, got missing values at "
                         f"{row_labels(missing)}", field=field)
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
            raise InputError(f"{name}: levels of mixed types cannot be ordered ({exc})",
                             field=field) from None
        levels = uniq.tolist()
    if len(levels) < min_levels:
        raise InputError(f"{name}: expected at least {min_levels} distinct levels, "
                         f"got {len(levels)} ({levels!r})", field=field)
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
    raise InputError(f"{name}: expected {what} strictly between 0 and 1, got {value!r}",
                     field=name)


def check_lengths(**arrays: Any) -> int:
    """Raise unless all arrays have the same length; return that length.

    The error's ``field`` is the first argument whose length differs from the first one's.
    """
    lengths = {}
    for k, v in arrays.items():
        if v is None:
            continue
        if isinstance(v, (str, bytes, Mapping)) or not hasattr(v, "__len__"):
            raise TypeError(f"{k}: expected a 1-dimensional array of values, got {type(v).__name__}")
        lengths[k] = len(v)
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        first = next(iter(lengths.values()))
        odd = next(k for k, v in lengths.items() if v != first)
        raise InputError(f"length mismatch: {desc} rows", field=odd)
    return next(iter(lengths.values()))


def survival_arrays(
    time: Any,
    event: Any,
    weights: Any = None,
    *,
    time_name: str = "time",
    event_name: str = "event",
    time_field: str | None = None,
    event_field: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(time, event, weights)`` float64 arrays of one common, non-zero length.

    ``*_name`` head the messages (e.g. the column names of a data frame); ``*_field`` are
    the arguments the errors are about (default: the names).
    """
    time_field, event_field = time_field or time_name, event_field or event_name
    for value, name, field in ((time, time_name, time_field), (event, event_name, event_field)):
        _as_1d(value, name, field)
    n = check_lengths(**{time_name: time, event_name: event})
    if n == 0:
        raise InputError(f"{time_name}: empty input, expected at least one row", field=time_field)
    t = as_time(time, time_name, field=time_field)
    e = as_event(event, event_name, field=event_field)
    w = as_weights(weights, n)
    return t, e, w


def check_seed(seed: Any) -> int:
    """A seed is a non-negative integer (it feeds :class:`numpy.random.SeedSequence`)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed: expected a non-negative integer, got {seed!r}", field="seed")
    return int(seed)
