"""Integer codes of times, groups and strata by counting instead of sorting.

The survival estimators only need, for every row, the rank of its time among the
distinct times (and of its group and stratum among theirs); the statistics are then
weighted counts per cell (``np.bincount``) and cumulative sums over the cells. Ranking by
``np.unique`` sorts the rows, which is most of the cost of a fit on a million rows. When
the values are integers over a modest range, or decimals with a few places (months
rounded to 0.1), which covers the data of a trial, a counting pass gives the same ranks
in O(n): a presence table over the range and its cumulative sum. Anything else falls
back to the sort, so the codes are always exactly those of ``np.unique``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.validation import as_groups

from .conventions import Convention
from .ties import timefix

__all__ = ["counting_limit", "dense_codes", "distinct_times", "group_codes", "scaled_time_codes"]

#: most decimal places tried when coding times as scaled integers (t * 10**k integral)
MAX_DECIMALS = 6
#: rows of the sample that picks the number of decimal places before the full check
SAMPLE_ROWS = 4096


def counting_limit(n: int) -> int:
    """Largest range of integer codes that is counted rather than sorted, for n rows.

    A presence table over the range costs a few passes over it; up to a few entries per
    row (plus a slack that keeps small data sets with long follow-up on the fast path)
    that is still cheaper than an O(n log n) sort.
    """
    return 4 * n + (1 << 16)


def dense_codes(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..m-1 of the distinct values of ``key`` in increasing order, and those values.

    ``key`` holds non-negative integers below ``bound``. This is ``np.unique(key,
    return_inverse=True)`` (values and codes swapped), by counting when ``bound`` is within
    :func:`counting_limit`, by sorting otherwise.
    """
    if bound <= counting_limit(key.size):
        present = np.zeros(bound, dtype=bool)
        present[key] = True
        values = np.flatnonzero(present)
        if values.size == bound:  # every value occurs (arms, days of a big trial): key is its rank
            return key, values
        rank = np.cumsum(present) - 1
        return rank.take(key), values
    values, codes = np.unique(key, return_inverse=True)
    return codes.reshape(-1), values


def _decimals(sample: np.ndarray) -> int | None:
    """Fewest decimal places k <= MAX_DECIMALS such that every value is an integer / 10**k.

    ``t * 10**k`` is rarely integral in floating point even when t has k decimals
    (0.3 * 10 = 3.0000000000000004), so each value is rounded to the nearest integer r
    and the test is that ``r / 10**k`` gives back exactly t: a tolerance for the product
    and a proof of exactness at once.
    """
    for k in range(MAX_DECIMALS + 1):
        scale = 10.0**k
        if np.array_equal(np.rint(sample * scale) / scale, sample):
            return k
    return None


def scaled_time_codes(time: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(time, return_inverse=True)`` in O(n) when times are short decimals.

    Times recorded in days, or in months to one or two decimals, are ``r / 10**k`` for
    integers r over a range comparable to the number of rows: they are coded by counting
    r, with no sort. The number of places k is chosen on an evenly spaced sample, then
    the round trip is checked on every row, so a single time with more places (or one
    that is not a short decimal at all, such as 0.1 + 0.2) sends the data to the sort.
    Returns None in that case or when the range is too wide to count.
    """
    sample = time[:: max(1, time.size // SAMPLE_ROWS)]
    k = _decimals(sample)
    if k is None:
        return None
    scale = 10.0**k
    scaled = np.rint(time * scale) if k else np.rint(time)
    if not np.array_equal(scaled / scale if k else scaled, time):
        return None
    low = scaled.min()
    width = scaled.max() - low
    if width >= counting_limit(time.size):
        return None
    inverse, present = dense_codes(np.subtract(scaled, low, out=scaled).astype(np.intp), int(width) + 1)
    return (present + low) / scale, inverse


def distinct_times(time: np.ndarray, convention: Convention) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct times and every row's index into them.

    Short decimal times (days; months to 0.1) are coded by counting, O(n)
    (:func:`scaled_time_codes`); others by one sort (``np.unique``). Under a convention
    with ``timefix`` (R), times that differ only by round-off are then merged as R's
    ``aeqSurv`` does; the merge works on the distinct values only (R's rule depends on
    nothing else), so it shares the coding and costs O(#times).
    """
    coded = scaled_time_codes(time)
    uniq, inverse = coded if coded is not None else np.unique(time, return_inverse=True)
    if convention.timefix and uniq.size > 1:
        fixed = timefix(uniq)
        starts = np.concatenate(([True], fixed[1:] != fixed[:-1]))
        if not starts.all():
            group = np.cumsum(starts) - 1
            uniq, inverse = fixed[starts], group[inverse]
    return uniq, inverse.reshape(-1)


def group_codes(values: Any, name: str, min_levels: int) -> tuple[np.ndarray, list[Any]]:
    """:func:`oncotrial.core.validation.as_groups`, by counting for integer or boolean arrays.

    Arms and stratification factors usually arrive as small integer codes; those cannot
    be missing, so the only check left is the number of levels, and their ranks come from
    :func:`dense_codes` instead of a sort. Any other input (text, categories, floats,
    lists, unsigned 64-bit integers) goes to ``as_groups``, as does a too-small number of
    levels, so that its error is the one raised.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return as_groups(values, name, min_levels=min_levels)
    arr = values.to_numpy() if isinstance(values, pd.Series) else values
    if (not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.size == 0
            or arr.dtype.kind not in "biu" or arr.dtype == np.uint64):
        return as_groups(values, name, min_levels=min_levels)
    wide = arr.astype(np.int64, copy=False)
    low = int(wide.min())
    width = int(wide.max()) - low
    if width >= counting_limit(arr.size):
        return as_groups(values, name, min_levels=min_levels)
    codes, present = dense_codes((wide - low if low else wide).astype(np.intp, copy=False), width + 1)
    if present.size < min_levels:
        return as_groups(values, name, min_levels=min_levels)
    return codes, (present + low).astype(arr.dtype).tolist()
