"""ADaM input of the trial report: :class:`AdamData`, :func:`read_adam` and :func:`validate_adam`.

The report reads four analysis datasets: ADSL (one row per subject) and ADTTE (one row per
subject and time-to-event parameter) are required; ADRS (response) and ADAE (adverse
events) are optional — without them the analysis records a message and skips the response
or safety outputs, because a report without a safety table is still a useful efficacy
report, whereas a report without subjects or end points is not.

Validation never drops or repairs a record silently. Every problem is a line of one
``ValueError`` naming the dataset, the variable and the rows, so that a statistician can
find the cells in their own file. Rows are numbered from 1, the first data row below the
header, as a spreadsheet or a SAS ``_N_`` counts them. The checks:

* required variables missing (:data:`REQUIRED`; ADSL also needs ``SAFFL`` and ``ACTARM``
  when ADAE is given, since safety is analysed in the safety population by actual arm);
* dates that do not parse: every variable whose name ends in ``DT`` is a date (the ADaM
  naming rule ``*DT``); ISO 8601 text, SAS ``DATE9.`` text (``02JAN2017``), date objects
  and numbers (SAS dates: days since 1960-01-01, as in an XPT file written without a date
  format) are accepted, blanks are missing;
* a blank ``PARAMCD``; ``CNSR`` values other than integers >= 0, and ``AVAL`` missing or
  negative (each would change an estimate without anyone noticing); ``AVALU``, when
  present, must be days;
* flags (``ITTFL``, ``SAFFL``, ``TRTEMFL``, ``ANL01FL``) other than ``Y``/``N``/blank;
* duplicates: a subject twice in ADSL, a parameter twice for a subject in ADTTE, two best
  overall responses for a subject in ADRS;
* subjects of ADTTE, ADRS or ADAE that are not in ADSL; an ``ARMCD`` with two ``ARM`` labels;
  a randomised (``ITTFL = "Y"``) subject without an arm;
* with a protocol: a randomised subject whose ``ARMCD`` is not a protocol arm, a protocol
  arm with no randomised subject, and the primary end point's ``PARAMCD`` absent from ADTTE.

:func:`validate_adam` returns a normalised copy (dates as ``datetime64``, ``CNSR`` as
integers, ``AVAL`` as floats); validating twice is harmless.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.io import read_table
from oncotrial.stats._results import Result
from oncotrial.stats._validate import row_labels

__all__ = ["DATASETS", "FILE_PREFERENCE", "REQUIRED", "AdamData", "read_adam", "validate_adam"]

DATASETS = ("adsl", "adtte", "adrs", "adae")
#: variables every analysis needs, per dataset
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "adsl": ("USUBJID", "ARMCD", "ARM", "ITTFL"),
    "adtte": ("USUBJID", "PARAMCD", "AVAL", "CNSR"),
    "adrs": ("USUBJID", "PARAMCD", "AVALC"),
    "adae": ("USUBJID", "AEDECOD", "TRTEMFL"),
}
#: when a directory holds several formats of one dataset, the first found in this order is
#: read: Parquet keeps types (dates, integers), XPT keeps dates through its formats but makes
#: every number a float, CSV keeps neither
FILE_PREFERENCE = (".parquet", ".xpt", ".sas7bdat", ".csv")
_FLAGS = ("ITTFL", "SAFFL", "TRTEMFL", "ANL01FL")
_SAS_EPOCH = pd.Timestamp("1960-01-01")


@dataclasses.dataclass(frozen=True, repr=False)
class AdamData(Result):
    """The analysis datasets of one trial; ``adrs`` and ``adae`` may be ``None``."""

    adsl: pd.DataFrame
    adtte: pd.DataFrame
    adrs: pd.DataFrame | None = None
    adae: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.adsl

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={'None' if getattr(self, name) is None else len(getattr(self, name))}"
                          for name in DATASETS)
        return f"AdamData({sizes} rows)"


def read_adam(directory: str | Path) -> AdamData:
    """Read ``adsl``, ``adtte`` and, when present, ``adrs`` and ``adae`` from ``directory``.

    Each dataset is a file named after it (case-insensitive) with extension ``.parquet``,
    ``.xpt``, ``.sas7bdat`` or ``.csv``, read by :func:`oncotrial.io.read_table`; with several
    formats of one dataset the first in :data:`FILE_PREFERENCE` is read. The result is
    validated by :func:`validate_adam` (without protocol checks, which :func:`analyse`
    adds).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ValueError(f"adam: directory not found: {folder}")
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    found = {name: next((files[f"{name}{ext}"] for ext in FILE_PREFERENCE if f"{name}{ext}" in files), None)
             for name in DATASETS}
    for name in ("adsl", "adtte"):
        if found[name] is None:
            expected = ", ".join(f"{name}{ext}" for ext in FILE_PREFERENCE)
            raise ValueError(f"adam: {name.upper()} not found in {folder} (expected one of {expected})")

    def load(name: str) -> pd.DataFrame | None:
        path = found[name]
        return None if path is None else read_table(path)

    return validate_adam(AdamData(read_table(found["adsl"]), read_table(found["adtte"]), load("adrs"),
                                  load("adae")))


def _rows(mask: np.ndarray | pd.Series) -> str:
    flags = np.asarray(mask, dtype=bool)
    return row_labels(flags, np.arange(1, len(flags) + 1))


def _blank(series: pd.Series) -> pd.Series:
    """Missing, or text that is empty once stripped (a SAS blank)."""
    text = series.map(lambda v: isinstance(v, str) and not v.strip())
    return series.isna() | text.astype(bool)


def _parse_dates(series: pd.Series) -> pd.Series:
    """Dates from ISO 8601 or DATE9. text, date objects or SAS day numbers (NaT where unparsable)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(series):
        return _SAS_EPOCH + pd.to_timedelta(series, unit="D")
    values = series.where(~_blank(series))
    parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
    retry = parsed.isna() & values.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(values[retry].astype(str).str.strip(), errors="coerce",
                                       format="%d%b%Y")
    return parsed.astype("datetime64[ns]")


def _numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.where(~_blank(series)), errors="coerce")


class _Problems:
    """Collects ``DATASET.VARIABLE: problem at rows [...]`` lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, dataset: str, variable: str, problem: str, mask: Any = None) -> None:
        where = "" if mask is None else f" at {_rows(mask)}"
        self.lines.append(f"{dataset.upper()}.{variable}: {problem}{where}")

    def missing_variables(self, name: str, frame: pd.DataFrame, required: tuple[str, ...]) -> bool:
        absent = [c for c in required if c not in frame.columns]
        for column in absent:
            self.add(name, column, "required variable missing")
        return not absent


def _check_frame(name: str, frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    """Dataset-local checks and normalisation (dates, flags, CNSR, AVAL)."""
    out = frame.reset_index(drop=True).copy()
    for column in [c for c in out.columns if str(c).upper().endswith("DT")]:
        parsed = _parse_dates(out[column])
        bad = parsed.isna() & ~_blank(out[column])
        if bad.any():
            first = out.loc[bad.idxmax(), column]
            problems.add(name, column, f"date not parsable (e.g. {first!r}; expected ISO 8601 or "
                                       f"DATE9.)", bad)
        out[column] = parsed
    for flag in [f for f in _FLAGS if f in out.columns]:
        bad = ~_blank(out[flag]) & ~out[flag].isin(["Y", "N"])
        if bad.any():
            problems.add(name, flag, "expected Y, N or blank", bad)
    if "USUBJID" in out.columns:
        missing = _blank(out["USUBJID"])
        if missing.any():
            problems.add(name, "USUBJID", "missing subject identifier", missing)
        out["USUBJID"] = out["USUBJID"].astype(str).str.strip().where(~missing)
    if "PARAMCD" in out.columns:
        blank = _blank(out["PARAMCD"])
        if blank.any():
            problems.add(name, "PARAMCD", "missing parameter code", blank)
    if name == "adtte":
        if "CNSR" in out.columns:
            cnsr = _numbers(out["CNSR"])
            bad = cnsr.isna() | (cnsr < 0) | (cnsr != np.floor(cnsr))
            if bad.any():
                problems.add(name, "CNSR", "expected integers >= 0 (0 = event)", bad)
            else:
                out["CNSR"] = cnsr.astype("int64")
        if "AVAL" in out.columns:
            aval = _numbers(out["AVAL"])
            bad = aval.isna() | (aval < 0)
            if bad.any():
                problems.add(name, "AVAL", "expected a time >= 0 (days)", bad)
            out["AVAL"] = aval
        if "AVALU" in out.columns:
            bad = ~_blank(out["AVALU"]) & (out["AVALU"].astype(str).str.strip().str.upper() != "DAYS")
            if bad.any():
                problems.add(name, "AVALU", "AVAL must be in days", bad)
    return out


def _check_keys(data: dict[str, pd.DataFrame], problems: _Problems) -> None:
    adsl = data["adsl"]
    duplicated = adsl["USUBJID"].duplicated(keep=False) & adsl["USUBJID"].notna()
    if duplicated.any():
        problems.add("adsl", "USUBJID", "subject on more than one row", duplicated)
    labels = adsl.dropna(subset=["ARMCD"]).groupby("ARMCD")["ARM"].nunique()
    for code in labels[labels > 1].index:
        problems.add("adsl", "ARM", f"ARMCD {code!r} has more than one ARM label",
                     adsl["ARMCD"] == code)
    itt = adsl["ITTFL"] == "Y"
    no_arm = itt & (_blank(adsl["ARMCD"]) | _blank(adsl["ARM"]))
    if no_arm.any():
        problems.add("adsl", "ARMCD", "randomised subject (ITTFL = Y) without an arm", no_arm)
    subjects = set(adsl["USUBJID"].dropna())
    for name in ("adtte", "adrs", "adae"):
        frame = data.get(name)
        if frame is None:
            continue
        stray = frame["USUBJID"].notna() & ~frame["USUBJID"].isin(subjects)
        if stray.any():
            problems.add(name, "USUBJID", "subject not in ADSL", stray)
    adtte = data["adtte"]
    twice = adtte.duplicated(["USUBJID", "PARAMCD"], keep=False)
    if twice.any():
        problems.add("adtte", "PARAMCD", "parameter on more than one row for a subject", twice)
    adrs = data.get("adrs")
    if adrs is not None:
        bor = adrs["PARAMCD"] == "BOR"
        twice = bor & adrs[bor].duplicated("USUBJID", keep=False).reindex(adrs.index, fill_value=False)
        if twice.any():
            problems.add("adrs", "PARAMCD", "more than one BOR row for a subject", twice)


def _check_protocol(data: dict[str, pd.DataFrame], protocol: Any, problems: _Problems) -> None:
    adsl = data["adsl"]
    codes = [a.code for a in protocol.arms]
    itt = adsl["ITTFL"] == "Y"
    foreign = itt & adsl["ARMCD"].notna() & ~adsl["ARMCD"].isin(codes)
    if foreign.any():
        problems.add("adsl", "ARMCD", f"not an arm of protocol {protocol.id} ({', '.join(codes)})", foreign)
    for arm in protocol.arms:
        if not (itt & (adsl["ARMCD"] == arm.code)).any():
            problems.add("adsl", "ARMCD", f"protocol arm {arm.code!r} ({arm.label}) has no randomised "
                                          f"subject (ITTFL = Y)")
    primary = next(e.name for e in protocol.endpoints if e.role == "primary")
    if not (data["adtte"]["PARAMCD"] == primary.upper()).any():
        present = sorted(data["adtte"]["PARAMCD"].dropna().astype(str).unique())
        problems.add("adtte", "PARAMCD", f"primary end point {primary.upper()!r} absent "
                                         f"(parameters present: {', '.join(present) or 'none'})")


def validate_adam(adam: AdamData, protocol: Any = None) -> AdamData:
    """Check ``adam`` (module docstring lists every rule) and return a normalised copy.

    ``protocol`` (an :class:`oncotrial.protocol.Protocol`) adds the checks against its arms
    and primary end point. Raises one ``ValueError`` listing every problem, one per line.
    """
    problems = _Problems()
    data: dict[str, pd.DataFrame] = {}
    complete = True
    for name in DATASETS:
        frame = getattr(adam, name)
        if frame is None:
            continue
        required = REQUIRED[name]
        if name == "adsl" and adam.adae is not None:
            required = (*required, "SAFFL", "ACTARM")
        complete &= problems.missing_variables(name, frame, required)
        data[name] = _check_frame(name, frame, problems)
    if complete:
        _check_keys(data, problems)
        if protocol is not None:
            _check_protocol(data, protocol, problems)
    if problems.lines:
        raise ValueError("ADaM data failed validation:\n" + "\n".join(problems.lines))
    return AdamData(data["adsl"], data["adtte"], data.get("adrs"), data.get("adae"))
