"""ADaM input of the trial report: :class:`AdamData`, :func:`read_adam` and :func:`validate_adam`.

The report reads four analysis datasets: ADSL (one row per subject) and ADTTE (one row per
subject and time-to-event parameter) are required; ADRS (response) and ADAE (adverse
events) are optional — without them the analysis records a message and skips the response
or safety outputs, because a report without a safety table is still a useful efficacy
report, whereas a report without subjects or end points is not.

Validation never drops or repairs a record silently. Every problem is a
:class:`~oncotrial.core.errors.DataError` naming the dataset, the variable and the rows, so
that a statistician can find the cells in their own file; all of them are raised at once as
one :class:`AdamValidationError` (a ``DataError`` whose ``problems`` lists each). Rows are
numbered from 1, the first data row below the header, as a spreadsheet or a SAS ``_N_``
counts them. The checks:

* a dataset that is not a DataFrame (``TypeError``), or with a column name used twice
  (pandas would then return two columns where one is expected);
* required variables missing (:data:`REQUIRED`; ADSL also needs ``SAFFL`` and ``ACTARM``
  when ADAE is given, since safety is analysed in the safety population by actual arm);
* text or booleans in a numeric variable (:data:`NUMERIC`): ``"12"`` is not silently read
  as 12, nor ``True`` as 1;
* dates that do not parse: every variable whose name ends in ``DT`` is a date (the ADaM
  naming rule ``*DT``); ISO 8601 text, SAS ``DATE9.`` text (``02JAN2017``), date objects
  and numbers (SAS dates: days since 1960-01-01, as in an XPT file written without a date
  format) are accepted, blanks are missing;
* a blank ``PARAMCD``; ``CNSR`` values other than integers >= 0, and ``AVAL`` missing or
  negative (each would change an estimate without anyone noticing);
* an ``AVALU`` other than the CDISC unit terms ``DAYS``, ``WEEKS``, ``MONTHS``, ``YEARS``
  (any case; blank means days). ``AVAL`` is converted to days record by record (a week 7
  days, a month 365.25 / 12 = 30.4375, a year 365.25, as everywhere in oncotrial), so one
  parameter may mix units and the results are those of the same times given in days;
* flags (``ITTFL``, ``SAFFL``, ``TRTEMFL``, ``ANL01FL``, ``DTHFL``) other than ``Y``/``N``/blank;
  ``DTHFL = "Y"`` without a death date ``DTHDT``, or a death date without ``DTHFL = "Y"``
  (either would turn a death into a censoring or the reverse, depending on which one a
  derivation reads);
* a best overall response (ADRS ``PARAMCD = "BOR"``) blank or outside the RECIST codes
  (:data:`BOR_CODES`): such a subject would fall into no response category;
* duplicates: a subject twice in ADSL, a parameter twice for a subject in ADTTE, two best
  overall responses for a subject in ADRS;
* subjects of ADTTE, ADRS or ADAE that are not in ADSL; an ``ARMCD`` with two ``ARM`` labels;
  a randomised (``ITTFL = "Y"``) subject without an arm;
* with a protocol: a randomised subject whose ``ARMCD`` is not a protocol arm, an ``ARM``
  that is not the protocol's label of its ``ARMCD`` (never overwritten: which one is right
  is for the data manager to say), a protocol arm with no randomised subject, a stratification
  factor not found, blank or outside its declared levels for a randomised subject, and the
  primary end point's ``PARAMCD`` absent from ADTTE.

A stratification factor is the ADSL column named after it (``ecog``) or, when ADSL has
none, the variable the factor's ``adam_variable`` declares: in CDISC ADSL the value of
factor *w* used for randomisation is ``STRATwR`` (``STRATwRN`` numeric) and the value from
the verification source ``STRATwV``; which one the analysis uses is the protocol's choice.
Its values are matched to the declared levels by
:func:`~oncotrial.protocol.level_key` (``"0"``, ``0`` and ``0.0`` are level ``0``) and copied
into a column named after the factor. When ADSL has both, they must agree for every
randomised subject. A factor found under neither name is refused, naming the CDISC
stratification variables ADSL does have.

:func:`validate_adam` returns a normalised copy (dates as ``datetime64``, ``CNSR`` as
integers, ``AVAL`` as numbers in days with ``AVALU = "DAYS"``, the stratification factors
under their names); validating twice is harmless.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.errors import DataError, InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import row_labels
from oncotrial.io import read_table
from oncotrial.protocol.base import level_key

__all__ = ["BOR_CODES", "DATASETS", "DAYS_PER_AVALU", "FILE_PREFERENCE", "NUMERIC", "REQUIRED",
           "AdamData", "AdamValidationError", "data_error", "read_adam", "validate_adam"]

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
#: numeric variables: text or booleans in them are refused, not converted
NUMERIC: Mapping[str, tuple[str, ...]] = {
    "adsl": ("AGE",),
    "adtte": ("AVAL", "CNSR", "ADY"),
    "adrs": ("AVAL", "ADY"),
    "adae": ("ASTDY", "AENDY"),
}
#: the RECIST 1.1 best overall responses (upper case, as ADRS ``AVALC`` holds them), and
#: ``MISSING`` for a subject without any assessment (the admiral convention)
BOR_CODES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING")
#: days per unit of ADTTE ``AVAL``, by the CDISC UNIT terms ``AVALU`` may hold: a month is
#: 365.25 / 12 = 30.4375 days and a year 365.25 days, the lengths every time in months or
#: years of this package uses (ADTTE ``AVALM``, the report's time unit)
DAYS_PER_AVALU: Mapping[str, float] = {"DAYS": 1.0, "WEEKS": 7.0, "MONTHS": 365.25 / 12, "YEARS": 365.25}
_FLAGS = ("ITTFL", "SAFFL", "TRTEMFL", "ANL01FL", "DTHFL")
#: the CDISC ADSL stratification variables (``STRATwR``, ``STRATwV``, their numeric ``N``
#: forms, and the combined ``STRATAR``/``STRATAV``), named when a factor is not found
_CDISC_STRATA = re.compile(r"STRAT(\d{1,2}|A)[RV]N?")
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
        raise InputError(f"adam: directory not found: {folder}", field="adam")
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    found = {name: next((files[f"{name}{ext}"] for ext in FILE_PREFERENCE if f"{name}{ext}" in files), None)
             for name in DATASETS}

    def required(name: str) -> Path:
        path = found[name]
        if path is None:
            expected = ", ".join(f"{name}{ext}" for ext in FILE_PREFERENCE)
            raise DataError(f"adam: {name.upper()} not found in {folder} (expected one of {expected})",
                            dataset=name.upper())
        return path

    adsl, adtte = required("adsl"), required("adtte")

    def load(name: str) -> pd.DataFrame | None:
        path = found[name]
        # a dataset with no records (no adverse events) is data, not a broken file
        return None if path is None else read_table(path, allow_empty=True)

    return validate_adam(AdamData(read_table(adsl), read_table(adtte), load("adrs"), load("adae")))


def _rows(mask: np.ndarray | pd.Series) -> str:
    flags = np.asarray(mask, dtype=bool)
    return row_labels(flags)


def data_error(dataset: str, variable: str, problem: str, mask: pd.Series | None = None) -> DataError:
    """A :class:`DataError` ``"DATASET.VARIABLE: problem at rows [...]"``.

    ``mask`` is indexed by the 0-based positions of the rows in the dataset as given (a
    subset of a frame with a fresh ``RangeIndex`` keeps them), so the rows reported are the
    dataset's 1-based data rows even when the check ran on a subset (the randomised
    patients, the treatment-emergent events).
    """
    name = dataset.upper()
    if mask is None:
        return DataError(f"{name}.{variable}: {problem}", dataset=name, variable=variable)
    flags = mask.to_numpy(dtype=bool)
    rows = [int(i) + 1 for i in mask.index[flags]]
    shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
    where = f"rows [{shown}] ({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return DataError(f"{name}.{variable}: {problem} at {where}", dataset=name, variable=variable, rows=rows)


class AdamValidationError(DataError):
    """Every problem :func:`validate_adam` found; ``problems`` holds each as a
    :class:`DataError` (``dataset``, ``variable`` and ``rows`` are the first one's)."""

    def __init__(self, problems: list[DataError]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__("ADaM data failed validation:\n" + "\n".join(map(str, self.problems)),
                         dataset=first.dataset, variable=first.variable, rows=first.rows)


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
    """Collects the :class:`DataError` of every problem found."""

    def __init__(self) -> None:
        self.errors: list[DataError] = []

    def add(self, dataset: str, variable: str, problem: str, mask: Any = None) -> None:
        if mask is not None and not isinstance(mask, pd.Series):
            mask = pd.Series(np.asarray(mask, dtype=bool))
        self.errors.append(data_error(dataset, variable, problem, mask))

    def missing_variables(self, name: str, frame: pd.DataFrame, required: tuple[str, ...]) -> bool:
        absent = [c for c in required if c not in frame.columns]
        for column in absent:
            self.add(name, column, "required variable missing")
        return not absent


def _not_numbers(series: pd.Series) -> pd.Series:
    """Cells holding text (not blank) or a boolean, which a numeric variable must not hold."""
    if pd.api.types.is_bool_dtype(series):
        return series.notna()
    if pd.api.types.is_numeric_dtype(series):
        return pd.Series(False, index=series.index)
    return series.map(lambda v: isinstance(v, (bool, np.bool_)) or (isinstance(v, str) and bool(v.strip())))


def _check_frame(name: str, frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    """Dataset-local checks and normalisation (dates, flags, CNSR, AVAL)."""
    out = frame.reset_index(drop=True).copy()
    typed = {column: pd.Series(False, index=out.index) for column in ("AVAL", "CNSR")}
    for column in [c for c in NUMERIC[name] if c in out.columns]:
        bad = _not_numbers(out[column])
        if bad.any():
            first = out.loc[bad.idxmax(), column]
            problems.add(name, column, f"expected numbers, got {type(first).__name__} values such as "
                                       f"{first!r} (text and booleans are not converted)", bad)
            if column in typed:
                typed[column] = bad
            out[column] = out[column].where(~bad)
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
            bad = (cnsr.isna() | (cnsr < 0) | (cnsr != np.floor(cnsr))) & ~typed["CNSR"]
            if bad.any() or typed["CNSR"].any():
                if bad.any():
                    problems.add(name, "CNSR", "expected integers >= 0 (0 = event)", bad)
            else:
                out["CNSR"] = cnsr.astype("int64")
        if "AVAL" in out.columns:
            aval = _numbers(out["AVAL"])
            bad = (aval.isna() | (aval < 0)) & ~typed["AVAL"]
            if bad.any():
                problems.add(name, "AVAL", "expected a time >= 0 (days, or the unit AVALU names)", bad)
            out["AVAL"] = aval
        if "AVALU" in out.columns:
            _avalu_to_days(out, problems)
    if name == "adsl" and {"DTHFL", "DTHDT"} <= set(out.columns):
        dead, dated = out["DTHFL"] == "Y", out["DTHDT"].notna()
        if (dead & ~dated).any():
            problems.add(name, "DTHDT", "DTHFL = Y without a death date", dead & ~dated)
        if (dated & ~dead).any():
            problems.add(name, "DTHFL", "death date DTHDT given but DTHFL is not Y", dated & ~dead)
    if name == "adrs" and {"PARAMCD", "AVALC"} <= set(out.columns):
        bor = out["PARAMCD"] == "BOR"
        blank = bor & _blank(out["AVALC"])
        if blank.any():
            problems.add(name, "AVALC", "best overall response (PARAMCD = BOR) missing", blank)
        code = out["AVALC"].map(lambda v: v.strip().upper() if isinstance(v, str) else v)
        unknown = bor & ~blank & ~code.isin(BOR_CODES)
        if unknown.any():
            first = out.loc[unknown.idxmax(), "AVALC"]
            problems.add(name, "AVALC", f"best overall response {first!r} is not a RECIST 1.1 code "
                                        f"({', '.join(BOR_CODES)})", unknown)
    return out


def _avalu_to_days(adtte: pd.DataFrame, problems: _Problems) -> None:
    """Convert ``AVAL`` to days, record by record, by the unit ``AVALU`` names (blank: days).

    Units may differ between records, even of one parameter: each record is converted by its
    own unit, so the analysis sees one time scale. Afterwards ``AVALU`` is ``DAYS``
    throughout, which makes a second validation a no-op rather than a second conversion.
    """
    text = adtte["AVALU"].map(lambda v: v.strip().upper() if isinstance(v, str) else v)
    blank = _blank(adtte["AVALU"])
    unknown = ~blank & ~text.isin(list(DAYS_PER_AVALU))
    if unknown.any():
        first = adtte.loc[unknown.idxmax(), "AVALU"]
        problems.add("adtte", "AVALU", f"unit {first!r} is not one of the CDISC terms "
                                       f"{', '.join(DAYS_PER_AVALU)} (case-insensitive; blank is DAYS)",
                     unknown)
        return
    if "AVAL" in adtte.columns:
        factor = text.where(~blank, "DAYS").map(DAYS_PER_AVALU).astype(float)
        converted = factor != 1
        # rounded to 1e-9 days (0.1 ms), far below any recorded precision, so that a time
        # written in weeks or months ties with the same time in days despite binary rounding
        # (7 * (316 / 7) is 315.99999999999994): ties decide Kaplan-Meier steps and Cox fits
        if converted.any():
            adtte["AVAL"] = adtte["AVAL"].astype(float).where(~converted, (adtte["AVAL"] * factor).round(9))
    adtte["AVALU"] = "DAYS"


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
        coded = adsl["ARMCD"] == arm.code
        relabelled = coded & ~_blank(adsl["ARM"]) & (adsl["ARM"].astype(str).str.strip() != arm.label)
        if relabelled.any():
            first = adsl.loc[relabelled.idxmax(), "ARM"]
            problems.add("adsl", "ARM", f"ARM {first!r} disagrees with protocol {protocol.id}, whose arm "
                                        f"{arm.code!r} is {arm.label!r}", relabelled)
        if not (itt & coded).any():
            problems.add("adsl", "ARMCD", f"protocol arm {arm.code!r} ({arm.label}) has no randomised "
                                          f"subject (ITTFL = Y)")
    data["adsl"] = _check_strata(adsl, protocol, problems)
    primary = next(e.name for e in protocol.endpoints if e.role == "primary")
    if not (data["adtte"]["PARAMCD"] == primary.upper()).any():
        present = sorted(data["adtte"]["PARAMCD"].dropna().astype(str).unique())
        problems.add("adtte", "PARAMCD", f"primary end point {primary.upper()!r} absent "
                                         f"(parameters present: {', '.join(present) or 'none'})")


def _cdisc_strata(adsl: pd.DataFrame) -> str:
    """The CDISC stratification variables of ``adsl``, each with its ``STRATwD`` description
    when that is one text (``STRAT1R (STRAT1D: Region)``), or ``none``."""
    shown = []
    for match in filter(None, (_CDISC_STRATA.fullmatch(str(c)) for c in adsl.columns)):
        described = f"STRAT{match.group(1)}D"
        texts = adsl[described].dropna().astype(str).str.strip().unique() if described in adsl.columns else []
        shown.append(f"{match.group(0)} ({described}: {texts[0]})" if len(texts) == 1 and texts[0]
                     else match.group(0))
    return ", ".join(shown) or "none"


def _levels(values: pd.Series, factor: Any) -> pd.Series:
    """The declared level of each value (``"0"`` -> ``0``), missing where it is none; an
    object series, so that integer levels stay integers."""
    return pd.Series([factor.level_of(v) for v in values], index=values.index, dtype=object)


def _check_strata(adsl: pd.DataFrame, protocol: Any, problems: _Problems) -> pd.DataFrame:
    """Find each stratification factor in ADSL and check it for the randomised subjects.

    A factor is the ADSL column named after it or, failing that, the variable its
    ``adam_variable`` declares (CDISC ``STRATwR``/``STRATwV``), whose values are read as the
    factor's levels through :func:`~oncotrial.protocol.level_key` (``"0"``, ``0`` and ``0.0``
    are level ``0``) and copied into a column named after the factor, so that every table
    finds the factor under one name. With both present, they must agree. Returns ``adsl``
    with the columns added.
    """
    itt = adsl["ITTFL"] == "Y"
    added: dict[str, pd.Series] = {}
    for factor in protocol.stratification:
        declared = factor.adam_variable
        own, mapped = factor.name in adsl.columns, declared is not None and declared in adsl.columns
        if not own and not mapped:
            looked = " or ".join(repr(v) for v in (factor.name, declared) if v is not None)
            hint = "" if declared is not None else ("; if ADSL holds it under another name, declare "
                                                    "that as the factor's adam_variable")
            problems.add("adsl", declared or factor.name,
                         f"stratification factor {factor.name!r} of protocol {protocol.id} not found: "
                         f"ADSL has no variable {looked} (CDISC stratification variables present: "
                         f"{_cdisc_strata(adsl)}){hint}")
            continue
        source = factor.name if own else str(declared)
        levels = ", ".join(map(str, factor.levels))
        blank = itt & _blank(adsl[source])
        if blank.any():
            problems.add("adsl", source, "randomised subject (ITTFL = Y) with a blank stratification value"
                         + ("" if own else f" (factor {factor.name!r})"), blank)
        undeclared = itt & ~blank & _levels(adsl[source], factor).isna()
        if undeclared.any():
            first = adsl.loc[undeclared.idxmax(), source]
            problems.add("adsl", source, f"value {first!r} is not a declared level of the stratification "
                                         f"factor {factor.name!r} ({levels})", undeclared)
        if not mapped:
            continue
        variable = _levels(adsl[str(declared)], factor)
        if own:
            keys = adsl[factor.name].map(level_key).fillna(""), variable.map(level_key).fillna("")
            differ = itt & ~blank & ~undeclared & (keys[0] != keys[1])
            if differ.any():
                problems.add("adsl", factor.name, f"disagrees with {declared}, the factor's adam_variable "
                                                  f"(which one is right is for the data manager to say)",
                             differ)
            continue
        # the level where the value is one, else the value itself (a subject not randomised
        # may hold anything) or missing where blank: nothing is replaced by a guess
        original = adsl[str(declared)]
        column = variable.where(variable.notna(), original.where(~_blank(original)))
        if column.map(lambda v: type(v) is int).all():
            column = column.astype("int64")
        added[factor.name] = column
    return adsl.assign(**added) if added else adsl


def _duplicated_columns(name: str, frame: Any, problems: _Problems) -> bool:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    twice = list(dict.fromkeys(str(c) for c in frame.columns[frame.columns.duplicated()]))
    for column in twice:
        problems.add(name, column, f"column name used more than once ({int((frame.columns == column).sum())} "
                                   f"columns); rename or drop the copies")
    return not twice


def validate_adam(adam: AdamData, protocol: Any = None) -> AdamData:
    """Check ``adam`` (module docstring lists every rule) and return a normalised copy.

    ``protocol`` (an :class:`oncotrial.protocol.Protocol`) adds the checks against its arms,
    stratification factors and primary end point. Raises one :class:`AdamValidationError`
    listing every problem, one per line.
    """
    if not isinstance(adam, AdamData):
        raise TypeError(f"adam: expected AdamData, got {type(adam).__name__}")
    problems = _Problems()
    data: dict[str, pd.DataFrame] = {}
    complete = True
    for name in DATASETS:
        frame = getattr(adam, name)
        if frame is None:
            continue
        if not _duplicated_columns(name, frame, problems):
            complete = False
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
    if problems.errors:
        raise AdamValidationError(problems.errors)
    return AdamData(data["adsl"], data["adtte"], data.get("adrs"), data.get("adae"))
