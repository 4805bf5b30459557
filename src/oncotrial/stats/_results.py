"""Base class of every result object: a readable ``repr``, ``to_dict()`` and ``to_frame()``.

Results are frozen dataclasses so that they are small, typed and cannot drift from the
numbers they report. ``to_dict()`` returns plain Python types (NaN stays ``float('nan')``;
DataFrames become lists of records) so that it can feed JSON and the analysis-results
dataset without special cases.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ChiSquareTest", "Result", "plain"]


def plain(value: Any) -> Any:
    """Convert NumPy/pandas values into plain Python types, recursively."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, pd.DataFrame):
        return [{k: plain(v) for k, v in row.items()} for row in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _short(value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        return f"<DataFrame {value.shape[0]} rows x {value.shape[1]} columns>"
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return f"<array shape={value.shape}>"
    if isinstance(value, Result):
        return repr(value)
    return repr(value)


@dataclasses.dataclass(frozen=True, repr=False)
class Result:
    """Mixin for frozen dataclass results. Fields whose name starts with ``_`` are private."""

    def _public_fields(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if not f.name.startswith("_")]

    def to_dict(self) -> dict[str, Any]:
        return {name: plain(getattr(self, name)) for name in self._public_fields()}

    def to_frame(self) -> pd.DataFrame:
        """One row of the scalar fields; results holding tables override this."""
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
