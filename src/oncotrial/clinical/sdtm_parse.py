"""Parsing of SDTM values to their types, one value (the rules) and one column at a time.

The scalar functions state the rules of :mod:`oncotrial.clinical.sdtm`: what a complete ISO
8601 date is, that numbers must be numbers, what a code list accepts. :func:`parse_column`
applies them to a whole column: the common shapes of data -- a column of ISO date strings,
of text, of numpy numbers -- are checked with vectorised string and array operations, and
any other column (mixed types, booleans, extension arrays) falls back to the scalar rules
value by value, so the result is the same either way: per row the typed value and the
problem, if any. Typed columns are returned with the dtype pandas would infer from the typed
values (``datetime64[ns]`` for dates, ``float64``/``int64`` for numbers, ``object`` for
text), which keeps the validated frames identical to a row-by-row build.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype
from pandas.api.types import infer_dtype, is_object_dtype

__all__ = ["ColumnSpec", "Kind", "Parsed", "boxed", "inferred", "is_missing", "number",
           "parse_column", "parse_iso_date"]

Kind = Literal["text", "date", "number", "integer", "flag"]

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")
_PARTIAL = "partial date (not imputed)"
_UNPARSABLE = "unparsable ISO 8601 date"


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """One accepted column: its name, type, whether required, and its code list if fixed."""

    name: str
    kind: Kind = "text"
    required: bool = False
    codes: tuple[Any, ...] | None = None


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA (a list or tuple cell is a value)."""
    if value is None:
        return True
    if isinstance(value, str):  # most cells: skip the costlier pd.isna
        return False
    return not isinstance(value, (list, tuple)) and bool(pd.isna(value))


def parse_iso_date(value: Any) -> tuple[Any, str | None]:
    """``value`` as a ``Timestamp`` and, when it is not a complete ISO 8601 date, ``NaT`` and
    the problem. A partial date (``2019``, ``2019-05``) is never completed to the first of
    the month or year: which day to impute is an analysis decision, so it is a problem.
    Missing values are the caller's to judge (``NaT``, no problem)."""
    if is_missing(value):
        return pd.NaT, None
    return _date(value)


def _date(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, pd.Timestamp):
        return value, None
    text = str(value).strip()
    if _PARTIAL_DATE.match(text):
        return pd.NaT, _PARTIAL
    if not _FULL_DATE.match(text):
        return pd.NaT, _UNPARSABLE
    try:
        return pd.Timestamp(text), None
    except ValueError:
        return pd.NaT, _UNPARSABLE


def number(value: Any) -> tuple[float | None, str | None]:
    """A number as given, refusing booleans and text: ``"12"`` in a numeric column means the
    column was read or typed wrongly, and converting it would hide that."""
    if isinstance(value, (bool, np.bool_)):
        return None, "not a number: a boolean (True/False)"
    if isinstance(value, str):
        return None, "not a number: text (numbers stored as text are not converted)"
    if not isinstance(value, (int, float, np.number)):
        return None, f"not a number: {type(value).__name__}"
    return float(value), None


def _outside(codes: tuple[Any, ...]) -> str:
    return f"outside {codes[0]}-{codes[-1]}"


def _unknown_code(codes: tuple[Any, ...]) -> str:
    return f"unknown code (accepted: {', '.join(map(str, codes))})"


def _parse(column: ColumnSpec, value: Any) -> tuple[Any, str | None]:
    """The typed value and, if it cannot be used, the problem (value is then ``None``/NaT)."""
    if column.kind == "date":
        return _date(value)
    if column.kind in ("number", "integer"):
        parsed, problem = number(value)
        if parsed is None:
            return None, problem
        if not math.isfinite(parsed):
            return None, "not a finite number"
        if column.kind == "integer":
            if not parsed.is_integer():
                return None, "not an integer"
            parsed = int(parsed)
        if column.codes is not None and parsed not in column.codes:
            return None, _outside(column.codes)
        return parsed, None
    text = str(value).strip().upper() if column.kind == "flag" else str(value).strip()
    codes = ("Y", "N") if column.kind == "flag" else column.codes
    if codes is not None and text.upper() not in codes:
        return None, _unknown_code(codes)
    return (text.upper() if codes is not None else text), None


def _native(value: Any) -> Any:
    """A scalar as ``DataFrame.to_dict`` gives it: numpy numbers and booleans as Python ones,
    numpy dates as ``Timestamp``/``Timedelta``, ``pd.NA`` as None; anything else unchanged."""
    if value is pd.NA:
        return None
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    if isinstance(value, (np.number, np.bool_)):
        return value.item()
    return value


def boxed(series: pd.Series) -> np.ndarray:
    """The values of ``series`` as Python objects, as ``DataFrame.to_dict`` gives them (numpy
    scalars become Python scalars, ``pd.NA`` None), so that parsed values and the values
    named by issues are those of a row-by-row validation."""
    if series.dtype == np.dtype("datetime64[ns]"):  # one Timestamp per distinct date
        codes, uniques = pd.factorize(series)
        stamps = np.empty(len(uniques) + 1, dtype=object)
        stamps[:-1] = list(uniques)
        stamps[-1] = pd.NaT
        return stamps[codes]
    values = series.to_numpy(dtype=object)
    if isinstance(series.dtype, ExtensionDtype) or (
            is_object_dtype(series.dtype)
            and infer_dtype(values, skipna=True) != "string"):
        native = np.empty(len(values), dtype=object)
        native[:] = [_native(v) for v in values]
        values = native
    return values


@dataclasses.dataclass(frozen=True)
class Parsed:
    """One parsed column: typed values, and per row ``blank`` (missing or only spaces) and
    the problem of a present value (None: fine)."""

    typed: Any
    blank: np.ndarray
    problem: np.ndarray


def _blank(values: np.ndarray) -> np.ndarray:
    return np.array([is_missing(v) or (isinstance(v, str) and not v.strip()) for v in values],
                    dtype=bool)


@dataclasses.dataclass(frozen=True)
class _Strings:
    """A column of strings (and missing values) by distinct value: SDTM columns repeat a few
    codes, study and subject ids and dates many times, so each distinct string is stripped,
    matched and parsed once and the result spread to its rows (``rows``, ``codes``)."""

    n: int
    rows: np.ndarray
    codes: np.ndarray
    stripped: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> _Strings:
        rows = np.flatnonzero(~pd.isna(values))
        codes, uniques = pd.factorize(values[rows])
        stripped = np.empty(len(uniques), dtype=object)
        stripped[:] = [u.strip() for u in uniques]
        return cls(len(values), rows, codes, stripped)

    def blank(self) -> np.ndarray:
        blank = np.ones(self.n, dtype=bool)
        blank[self.rows] = (self.stripped == "")[self.codes]
        return blank

    def spread(self, per_unique: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(self.n, fill, dtype=per_unique.dtype if fill is not None else object)
        out[self.rows] = per_unique[self.codes]
        return out


def _one_by_one(column: ColumnSpec, values: np.ndarray, blank: np.ndarray) -> Parsed:
    """The scalar rules value by value: any column the vectorised paths do not cover."""
    typed = np.empty(len(values), dtype=object)
    problem = np.full(len(values), None, dtype=object)
    fill = pd.NaT if column.kind == "date" else None
    for i, value in enumerate(values):
        if blank[i]:
            typed[i] = fill
        else:
            typed[i], problem[i] = _parse(column, value)
    return Parsed(inferred(typed), blank, problem)


def inferred(values: np.ndarray) -> Any:
    """Python values as the column pandas builds from them when a frame is made from records
    (``pd.DataFrame(list_of_dicts)``): the same inference, so a column parsed value by value
    gets the dtype the row-by-row validation gave it."""
    return pd.Series(values.tolist(), dtype=None).to_numpy()


def _dates(column: ColumnSpec, values: np.ndarray, strings: _Strings) -> Parsed:
    """ISO date strings: partial and malformed ones by regular expression, the rest parsed at
    once; a string the vectorised parser refuses is judged by the scalar rule."""
    blank = strings.blank()
    texts = pd.Series(strings.stripped, dtype=object)
    partial = texts.str.match(_PARTIAL_DATE).to_numpy(dtype=bool)
    full = ~partial & texts.str.match(_FULL_DATE).to_numpy(dtype=bool) & (texts != "").to_numpy()
    parsed = pd.to_datetime(texts[full], format="ISO8601", errors="coerce")
    if parsed.isna().any():
        return _one_by_one(column, values, blank)
    stamps = np.full(len(texts), np.datetime64("NaT", "ns"))
    stamps[full] = parsed.to_numpy(dtype="datetime64[ns]")
    problems = np.full(len(texts), None, dtype=object)
    problems[partial] = _PARTIAL
    problems[~partial & ~full & (texts != "").to_numpy()] = _UNPARSABLE
    return Parsed(strings.spread(stamps, np.datetime64("NaT", "ns")), blank,
                  strings.spread(problems, None))


def _numbers(column: ColumnSpec, values: np.ndarray) -> Parsed:
    """A numpy int or float column: only finiteness, integrality and the code list to check."""
    floats = values.astype(np.float64)
    blank = np.isnan(floats)
    problem = np.full(len(values), None, dtype=object)
    infinite = ~blank & ~np.isfinite(floats)
    problem[infinite] = "not a finite number"
    ok = ~blank & ~infinite
    if column.kind == "integer":
        fraction = ok & (floats != np.floor(np.where(ok, floats, 0)))
        problem[fraction] = "not an integer"
        ok &= ~fraction
    if column.codes is not None:
        outside = ok & ~np.isin(floats, np.asarray(column.codes, dtype=np.float64))
        problem[outside] = _outside(column.codes)
        ok &= ~outside
    if not ok.any():
        return Parsed(np.full(len(values), None, dtype=object), blank, problem)
    if column.kind == "integer" and ok.all():
        return Parsed(floats.astype(np.int64), blank, problem)
    return Parsed(np.where(ok, floats, np.nan), blank, problem)


def _texts(column: ColumnSpec, strings: _Strings) -> Parsed:
    """Strings: stripped, and (flags, code lists) compared with the accepted codes."""
    blank = strings.blank()
    codes = ("Y", "N") if column.kind == "flag" else column.codes
    if codes is None:
        typed = strings.spread(strings.stripped, None)
        typed[blank] = None
        return Parsed(typed, blank, np.full(strings.n, None, dtype=object))
    upper = pd.Series(strings.stripped, dtype=object).str.upper()
    known = upper.isin(codes).to_numpy()
    accepted = np.full(len(upper), None, dtype=object)
    accepted[known] = upper.to_numpy(dtype=object)[known]
    refused = np.full(len(upper), None, dtype=object)
    refused[~known] = _unknown_code(codes)
    typed = strings.spread(accepted, None)
    problems = strings.spread(refused, None)
    typed[blank] = None
    problems[blank] = None
    return Parsed(typed, blank, problems)


def parse_column(column: ColumnSpec, series: pd.Series) -> Parsed:
    """Typed values and problems of one column."""
    dtype = series.dtype
    if column.kind in ("number", "integer") and dtype in (np.int64, np.float64):
        return _numbers(column, series.to_numpy())
    if column.kind == "date" and dtype == np.dtype("datetime64[ns]"):
        blank = series.isna().to_numpy()
        return Parsed(series.to_numpy(), blank, np.full(len(series), None, dtype=object))
    values = boxed(series)
    if is_object_dtype(dtype) and infer_dtype(values, skipna=True) in ("string", "empty"):
        if column.kind == "date":
            return _dates(column, values, _Strings.of(values))
        if column.kind in ("text", "flag"):
            return _texts(column, _Strings.of(values))
    return _one_by_one(column, values, _blank(values))
