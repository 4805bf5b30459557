"""Base class of every result object: a readable ``repr``, ``to_dict()`` and ``to_frame()``.

Results are frozen dataclasses so that they are small, typed and cannot drift from the
numbers they report. ``to_dict()`` is JSON-safe — NaN and infinities become ``None``
(JSON ``null``), NumPy scalars become Python numbers, dates become ISO 8601 strings and
DataFrames become lists of records — so that the command line, the analysis-results
dataset and the web service serialise every result the same way, with no special cases.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import math
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

from oncotrial.core.lazy_pandas import loaded_pandas

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChiSquareTest", "Result", "json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON-compatible Python, recursively.

    NaN, infinities, ``None``, ``pd.NA`` and ``NaT`` become ``None``; NumPy scalars and
    arrays become Python numbers and lists; timestamps and dates become ISO 8601 strings;
    results become their ``to_dict()``.
    """
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.bool_):
        return bool(value)
    pd = loaded_pandas()
    if pd is not None and isinstance(value, pd.DataFrame):
        return [{str(k): json_safe(v) for k, v in row.items()}
                for row in value.to_dict(orient="records")]
    if pd is not None and isinstance(value, pd.Series):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if pd is not None and (value is pd.NaT or value is pd.NA):
        return None
    if isinstance(value, (_dt.datetime, _dt.date)):  # pandas' Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, np.datetime64):
        import pandas

        return None if np.isnat(value) else pandas.Timestamp(value).isoformat()
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


def _short(value: Any) -> str:
    pd = loaded_pandas()
    if pd is not None and isinstance(value, pd.DataFrame):
        return f"<DataFrame {value.shape[0]} rows x {value.shape[1]} columns>"
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return f"<array shape={value.shape}>"
    return repr(value)


@dataclasses.dataclass(frozen=True, repr=False)
class Result:
    """Mixin for frozen dataclass results. Fields whose name starts with ``_`` are private."""

    def _public_fields(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if not f.name.startswith("_")]

    def to_dict(self) -> dict[str, Any]:
        """The public fields as JSON-safe Python (see :func:`json_safe`)."""
        return {name: json_safe(getattr(self, name)) for name in self._public_fields()}

    def to_frame(self) -> pd.DataFrame:
        """One row of the scalar fields; results holding tables override this."""
        import pandas as pd

        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, (list, dict))}
        return pd.DataFrame([row])

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={_short(getattr(self, name))}" for name in self._public_fields())
        return f"{type(self).__name__}({parts})"


@dataclasses.dataclass(frozen=True, repr=False)
class ChiSquareTest(Result):
    """A chi-square test: statistic, degrees of freedom and upper-tail p-value."""

    stat: float
    df: int
    p: float
