"""Reading analysis data from the file formats trial statisticians exchange.

CSV, Parquet and SAS (transport ``.xpt`` and ``.sas7bdat``) are accepted, chosen by the
file extension. This module is the only place in the analysis path that touches the
file system, so the statistics stay pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FORMATS", "read_table", "require_columns"]

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xpt": "SAS transport",
           ".sas7bdat": "SAS data set"}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data set by extension: ``.csv``, ``.parquet``/``.pq``, ``.xpt``, ``.sas7bdat``.

    SAS files are read with ReadStat (``pyreadstat``), which decodes both formats
    faithfully (pandas' own SAS reader misreads some transport-file zeros). A blank SAS
    character value is SAS's missing value, so it becomes NaN, as does an empty CSV cell;
    the estimators then report missing values with their row numbers rather than
    dropping them.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"data: unsupported file type {p.suffix!r} for {p}; expected one of "
                         f"{', '.join(sorted(FORMATS))}")
    if not p.is_file():
        raise ValueError(f"data: file not found: {p}")
    if suffix == ".csv":
        return pd.read_csv(p)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    import pyreadstat

    reader = pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat
    frame, _ = reader(str(p))
    text = frame.select_dtypes(include="object").columns
    frame[text] = frame[text].replace({"": np.nan})
    return frame


def require_columns(data: pd.DataFrame, columns: Iterable[str | None], *, source: str = "data") -> None:
    """Raise a ValueError naming every requested column that ``data`` does not have."""
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise ValueError(f"{source}: no column(s) {missing}; available columns: {list(data.columns)}")
