"""Reading analysis data from the file formats trial statisticians exchange.

CSV, Parquet and SAS (transport ``.xpt`` and ``.sas7bdat``) are accepted, chosen by the
file extension. This module is the only place in the analysis path that touches the
file system, so the statistics stay pure.

Every problem of a file is a :class:`~oncotrial.core.errors.DataError` naming the file
and what was expected: a missing, empty, header-only, undecodable or corrupt file, or
duplicated column names (which pandas would otherwise rename silently to ``time.1``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from oncotrial.core.errors import DataError

__all__ = ["FORMATS", "identifier_column", "read_folder", "read_table", "require_columns"]

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xpt": "SAS transport",
           ".sas7bdat": "SAS data set"}


def _duplicates(names: Iterable[object]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for name in map(str, names):
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    return repeated


def _check_columns(names: Sequence[object], source: str) -> None:
    repeated = _duplicates(names)
    if repeated:
        raise DataError(f"{source}: duplicated column name(s) {repeated}; every column needs "
                        "a name of its own", dataset=source)


def identifier_column(name: str) -> bool:
    """Whether a column holds identifiers, read from CSV as text: CDISC names them ``--ID``
    (``STUDYID``, ``USUBJID``, ``SUBJID``, ``SITEID``, ``TULNKID``...) and they are
    character variables, so a site ``01`` must stay ``01``, not become the number 1."""
    return str(name).upper().endswith("ID")


def _read_csv(path: Path) -> pd.DataFrame:
    """CSV read from UTF-8 text (a byte-order mark is allowed), with the header row read
    here so that duplicated names are refused instead of renamed by pandas; identifier
    columns (:func:`identifier_column`) are text, the others typed by their values."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}: not UTF-8 text (line {line}, byte {exc.start + 1}: "
                        f"{data[exc.start:exc.start + 1]!r}); save the file as UTF-8 CSV",
                        dataset=str(path)) from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected a header row and data rows",
                        dataset=str(path))
    rows = csv.reader(io.StringIO(text))
    header = next(rows, [])
    _check_columns(header, str(path))
    ragged = [number for number, row in enumerate((r for r in rows if r), start=1)
              if len(row) != len(header)]
    if ragged:
        shown = ", ".join(map(str, ragged[:10])) + (", ..." if len(ragged) > 10 else "")
        raise DataError(f"{path}: data rows [{shown}] ({len(ragged)} row{'s' if len(ragged) != 1 else ''}) "
                        f"do not have {len(header)} fields like the header", dataset=str(path),
                        rows=ragged)
    try:
        return pd.read_csv(io.StringIO(text),
                           dtype={name: str for name in header if identifier_column(name)})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"{path}: not a readable CSV file ({detail})", dataset=str(path)) from None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow

    try:
        return pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"{path}: not a readable Parquet file ({detail})", dataset=str(path)) from None


def _read_sas(path: Path) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_xport if path.suffix.lower() == ".xpt" else pyreadstat.read_sas7bdat
    try:
        frame, _ = reader(str(path))
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        kind = "SAS transport (.xpt)" if path.suffix.lower() == ".xpt" else "SAS data set (.sas7bdat)"
        raise DataError(f"{path}: not a readable {kind} file ({exc})", dataset=str(path)) from None
    text = frame.select_dtypes(include="object").columns
    frame[text] = frame[text].replace({"": np.nan})
    return frame


def read_table(path: str | Path, *, allow_empty: bool = False) -> pd.DataFrame:
    """Read a data set by extension: ``.csv``, ``.parquet``/``.pq``, ``.xpt``, ``.sas7bdat``.

    SAS files are read with ReadStat (``pyreadstat``), which decodes both formats
    faithfully (pandas' own SAS reader misreads some transport-file zeros). CSV identifier
    columns (``SITEID``, ``USUBJID``...; see :func:`identifier_column`) are read as text,
    as SAS and Parquet keep them, so ``01`` stays ``01``. A blank SAS
    character value is SAS's missing value, so it becomes NaN, as does an empty CSV cell;
    the estimators then report missing values with their row numbers rather than
    dropping them.

    A file with columns but no data rows is refused unless ``allow_empty`` (a domain
    with no records, such as no concomitant medications, is legitimate data).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{p}: unsupported file type {p.suffix!r}; expected one of "
                        f"{', '.join(sorted(FORMATS))}", dataset=str(p))
    if p.is_dir():
        raise DataError(f"{p}: is a directory; expected a {FORMATS[suffix]} file", dataset=str(p))
    if not p.is_file():
        raise DataError(f"{p}: file not found", dataset=str(p))
    try:
        if suffix == ".csv":
            frame = _read_csv(p)
        elif suffix in (".parquet", ".pq"):
            frame = _read_parquet(p)
        else:
            frame = _read_sas(p)
    except PermissionError as exc:
        raise DataError(f"{p}: cannot read the file ({exc.strerror})", dataset=str(p)) from None
    _check_columns(list(frame.columns), str(p))
    if frame.shape[1] == 0:
        raise DataError(f"{p}: no columns; expected a header row and data rows", dataset=str(p))
    if len(frame) == 0 and not allow_empty:
        raise DataError(f"{p}: a header but no data rows; expected at least one row",
                        dataset=str(p))
    return frame


def read_folder(directory: str | Path, names: Iterable[str], *, required: Iterable[str] = (),
                extensions: Iterable[str] = tuple(FORMATS),
                ignore: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
    """One data set per name from ``directory``: ``<name><extension>``, matched without
    regard to case (``dm.csv``, ``AE.xpt``, ``tr.parquet``), keyed by the name as given.

    Every file in the folder must be one of them, so that a file the user meant to be
    read (``ae.txt``, ``adverse.csv``) is reported rather than silently left out; files
    whose names start with a dot and the names in ``ignore`` are skipped. A name in
    ``required`` must have a file with data rows; the others may be absent or header-only.
    """
    folder = Path(directory)
    if not folder.exists():
        raise DataError(f"{folder}: directory not found", dataset=str(folder))
    if not folder.is_dir():
        raise DataError(f"{folder}: a file; expected a directory with one file per data set",
                        dataset=str(folder))
    wanted = {name.lower(): name for name in names}
    suffixes = tuple(s.lower() for s in extensions)
    skipped = {name.lower() for name in ignore}
    paths: dict[str, Path] = {}
    unread: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.lower() in skipped:
            continue
        name = wanted.get(path.stem.lower())
        if path.is_file() and name is not None and path.suffix.lower() in suffixes:
            if name in paths:
                raise DataError(f"{folder}: two files for {name}: {paths[name].name} and {path.name}; "
                                "keep one", dataset=str(folder))
            paths[name] = path
        else:
            unread.append(path.name + ("/" if path.is_dir() else ""))
    if unread:
        raise DataError(f"{folder}: will not read {', '.join(unread)}; expected files named "
                        f"{', '.join(n.lower() for n in wanted.values())} with extension "
                        f"{', '.join(suffixes)}", dataset=str(folder))
    must = list(required)
    for name in must:
        if name not in paths:
            raise DataError(f"{folder}: no {name} file (expected one of "
                            f"{', '.join(name.lower() + s for s in suffixes)})", dataset=str(folder))
    return {name: read_table(path, allow_empty=name not in must) for name, path in paths.items()}


def require_columns(data: pd.DataFrame, columns: Iterable[str | None], *, source: str = "data") -> None:
    """Raise a DataError naming every requested column that ``data`` does not have, or
    the duplicated column names of ``data`` (a column could not be chosen by name)."""
    _check_columns(list(data.columns), source)
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise DataError(f"{source}: no column(s) {missing}; available columns: {list(data.columns)}",
                        dataset=source)
