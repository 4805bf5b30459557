"""The accepted SDTM subset, as data, and its validation into clean frames plus a data-quality report.

Each domain has a :class:`DomainSpec`: its columns (required or optional), each column's type
and, where the code list is fixed, the accepted codes; and the natural key used to find
duplicate records (SDTMIG key variables; ``--SEQ`` is not required because raw exports often
lack it). Types: ``text``; ``date`` (ISO 8601 ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm[:ss]``);
``number``; ``integer``; ``flag`` (``Y``/``N``). Column names and codes are upper case.

======  ======================================================  =====================================
Domain  Required columns                                        Optional columns
======  ======================================================  =====================================
DM      STUDYID, USUBJID, ARM                                   SUBJID, SITEID, ARMCD, ACTARM, AGE
                                                                (number), SEX (M/F/U), RACE, RFSTDTC,
                                                                RFENDTC, DTHDTC (dates), DTHFL (Y/N)
EX      USUBJID, EXTRT, EXDOSE (number), EXSTDTC (date)         STUDYID, EXSEQ, EXDOSU, EXDOSFRQ,
                                                                EXENDTC, EXADJ (reason for dose
                                                                adjustment), EPOCH (treatment phase)
AE      USUBJID, AEDECOD, AEBODSYS, AESTDTC (date),             STUDYID, AESEQ, AETERM, AEENDTC,
        AETOXGR (integer 1-5), AESER (Y/N)                      AEREL, AEOUT
DS      USUBJID, DSDECOD (code list ``DS_DECODES``),            STUDYID, DSSEQ, DSTERM, DSCAT,
        DSSTDTC (date)                                          EPOCH (phase a disposition ends)
CM      USUBJID, CMTRT                                          STUDYID, CMSEQ, CMDECOD, CMCAT,
                                                                CMSTDTC, CMENDTC (dates)
TU      USUBJID, TULNKID, TUTESTCD (TUMIDENT), TUORRES          STUDYID, TUSEQ, TULOC, TUDTC (date),
        (TARGET/NON-TARGET/NEW)                                 TUNODE (Y/N)
TR      USUBJID, TRLNKID, TRTESTCD, TRDTC (date)                STUDYID, TRSEQ, TRORRES,
                                                                TRSTRESN (number), TRSTRESU
RS      USUBJID, RSTESTCD, RSORRES (CR/PR/SD/NON-CR/NON-PD/     STUDYID, RSSEQ, RSEVAL
        PD/NE), RSDTC (date)
PR      USUBJID, PRTRT, PRSTDTC (date)                          STUDYID, PRSEQ, PRDECOD, PRCAT,
                                                                PRENDTC (date)
======  ======================================================  =====================================

Natural keys: DM ``USUBJID``; EX ``USUBJID, EXTRT, EXSTDTC``; AE ``USUBJID, AEDECOD,
AESTDTC``; DS ``USUBJID, DSDECOD, DSSTDTC``; CM ``USUBJID, CMTRT, CMSTDTC``; TU ``USUBJID,
TULNKID``; TR ``USUBJID, TRLNKID, TRTESTCD, TRDTC``; RS ``USUBJID, RSTESTCD, RSDTC`` (plus
``RSEVAL`` when present, so two readers are not duplicates); PR ``USUBJID, PRTRT, PRSTDTC``.
Other columns pass through unchanged.

RS carries two kinds of records: ``RSTESTCD = "OVRLRESP"`` (a collected overall response,
used when TU/TR are not given) and ``RSTESTCD = "PROG2"`` with ``RSORRES = "PD"``: the date of
second progression (progression on the next line of therapy), the event of PFS2. PR
(procedures) holds surgery of residual disease (``PRCAT`` containing ``SURG``).

Rules of :func:`validate_domain`: a frame that is not a DataFrame is a ``TypeError``; an
unknown domain name an :class:`~oncotrial.core.errors.InputError`; duplicated column names
and a missing *required column* are structural :class:`~oncotrial.core.errors.DataError`
errors naming the columns. Everything else is row level: the row is excluded from ``valid``,
copied to ``excluded`` with the reason in ``EXCLREAS``, and reported as a
:class:`~oncotrial.clinical.quality.DataQualityIssue` with its 1-based data row. In DM a
problem in an optional column empties the value and keeps the row (dropping it would drop a
randomised subject). Numbers must be numbers: text (``"12"``) and booleans in a numeric
column are refused, never converted. A code outside the domain's code list (``SEX``,
``AETOXGR``, ``DSDECOD``, ``RSORRES``, ``EXDOSU`` (``DOSE_UNITS``), ``TUORRES``, flags) is
an issue. Physical quantities must be plausible (:mod:`oncotrial.clinical.plausibility`:
``AGE``, DM ``HEIGHT``/``WEIGHT``, TR ``TRSTRESN`` in mm); an EX dose must be >= 0. Dates
are parsed to pandas ``Timestamp``; a *partial* date (``2019`` or ``2019-05``) is never
imputed here -- imputation is an analysis decision -- so it is an issue: in a required
column the row is excluded, in an optional column the value becomes ``NaT`` and the row is
kept. A missing value in an optional column is not a problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from oncotrial.clinical.plausibility import Range, plausible_ranges
from oncotrial.clinical.quality import DataQualityIssue, SourceRows, issues_frame, source_rows
from oncotrial.clinical.sdtm_parse import (
    ColumnSpec,
    Kind,
    boxed,
    inferred,
    is_missing,
    number,
    parse_column,
    parse_iso_date,
)
from oncotrial.core.errors import DataError, InputError
from oncotrial.core.results import Result

__all__ = [
    "AE_ACTIONS",
    "DS_DECODES",
    "DS_DISCONTINUATION",
    "SPECS",
    "ColumnSpec",
    "DomainCheck",
    "DomainSpec",
    "DOSE_UNITS",
    "check_columns",
    "check_dates",
    "parse_iso_date",
    "validate_domain",
]

#: DSDECOD codes of a discontinuation (withdrawal) record
DS_DISCONTINUATION = (
    "ADVERSE EVENT",
    "PROGRESSIVE DISEASE",
    "WITHDRAWAL BY SUBJECT",
    "PHYSICIAN DECISION",
    "LOST TO FOLLOW-UP",
    "PROTOCOL DEVIATION",
    "OTHER",
)
#: DSDECOD codes accepted (CDISC NCOMPLT / protocol milestone subset used in oncology trials)
DS_DECODES = (
    "RANDOMIZED",
    "INFORMED CONSENT OBTAINED",
    "COMPLETED",
    "DEATH",
    "SCREEN FAILURE",
    *DS_DISCONTINUATION,
)
#: AEACN codes accepted (CDISC ACN: action taken with study treatment)
AE_ACTIONS = (
    "DOSE INCREASED", "DOSE NOT CHANGED", "DOSE RATE REDUCED", "DOSE REDUCED", "DRUG INTERRUPTED",
    "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN",
)
#: EXDOSU codes accepted (CDISC UNIT terms for administered doses; compared upper case)
DOSE_UNITS = (
    "MG", "MG/M2", "MG/KG", "UG", "UG/M2", "UG/KG", "MCG", "MCG/M2", "MCG/KG", "G", "G/M2",
    "IU", "IU/M2", "IU/KG", "U", "U/M2", "U/KG", "ML", "MMOL", "AUC",
)


@dataclasses.dataclass(frozen=True)
class DomainSpec:
    """The accepted columns of one SDTM domain and its natural key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _req(
    name: str, kind: Kind = "text", codes: tuple[Any, ...] | None = None
) -> ColumnSpec:
    return ColumnSpec(name, kind, True, codes)


def _opt(
    name: str, kind: Kind = "text", codes: tuple[Any, ...] | None = None
) -> ColumnSpec:
    return ColumnSpec(name, kind, False, codes)


_COMMON = (_opt("STUDYID"), _req("USUBJID"))

SPECS: dict[str, DomainSpec] = {
    "DM": DomainSpec(
        "DM",
        (
            _req("STUDYID"),
            _req("USUBJID"),
            _req("ARM"),
            _opt("SUBJID"),
            _opt("SITEID"),
            _opt("ARMCD"),
            _opt("ACTARM"),
            _opt("AGE", "number"),
            _opt("SEX", codes=("M", "F", "U")),
            _opt("RACE"),
            _opt("RFSTDTC", "date"),
            _opt("RFENDTC", "date"),
            _opt("DTHDTC", "date"),
            _opt("DTHFL", "flag"),
        ),
        ("USUBJID",),
    ),
    "EX": DomainSpec(
        "EX",
        (
            *_COMMON,
            _opt("EXSEQ", "integer"),
            _req("EXTRT"),
            _req("EXDOSE", "number"),
            _opt("EXDOSU", codes=DOSE_UNITS),
            _opt("EXDOSFRQ"),
            _req("EXSTDTC", "date"),
            _opt("EXENDTC", "date"),
            _opt("EXADJ"),
            _opt("EPOCH"),
        ),
        ("USUBJID", "EXTRT", "EXSTDTC"),
    ),
    "AE": DomainSpec(
        "AE",
        (
            *_COMMON,
            _opt("AESEQ", "integer"),
            _opt("AETERM"),
            _req("AEDECOD"),
            _req("AEBODSYS"),
            _req("AESTDTC", "date"),
            _opt("AEENDTC", "date"),
            _req("AETOXGR", "integer", (1, 2, 3, 4, 5)),
            _req("AESER", "flag"),
            _opt("AEREL"),
            _opt("AEOUT"),
            _opt("AEACN", codes=AE_ACTIONS),
        ),
        ("USUBJID", "AEDECOD", "AESTDTC"),
    ),
    "DS": DomainSpec(
        "DS",
        (
            *_COMMON,
            _opt("DSSEQ", "integer"),
            _opt("DSTERM"),
            _req("DSDECOD", codes=DS_DECODES),
            _opt("DSCAT"),
            _req("DSSTDTC", "date"),
            _opt("EPOCH"),
        ),
        ("USUBJID", "DSDECOD", "DSSTDTC"),
    ),
    "CM": DomainSpec(
        "CM",
        (
            *_COMMON,
            _opt("CMSEQ", "integer"),
            _req("CMTRT"),
            _opt("CMDECOD"),
            _opt("CMCAT"),
            _opt("CMSTDTC", "date"),
            _opt("CMENDTC", "date"),
        ),
        ("USUBJID", "CMTRT", "CMSTDTC"),
    ),
    "TU": DomainSpec(
        "TU",
        (
            *_COMMON,
            _opt("TUSEQ", "integer"),
            _req("TULNKID"),
            _req("TUTESTCD", codes=("TUMIDENT",)),
            _req("TUORRES", codes=("TARGET", "NON-TARGET", "NEW")),
            _opt("TULOC"),
            _opt("TUDTC", "date"),
            _opt("TUNODE", "flag"),
        ),
        ("USUBJID", "TULNKID"),
    ),
    "TR": DomainSpec(
        "TR",
        (
            *_COMMON,
            _opt("TRSEQ", "integer"),
            _req("TRLNKID"),
            _req("TRTESTCD"),
            _opt("TRORRES"),
            _opt("TRSTRESN", "number"),
            _opt("TRSTRESU"),
            _req("TRDTC", "date"),
        ),
        ("USUBJID", "TRLNKID", "TRTESTCD", "TRDTC"),
    ),
    "RS": DomainSpec(
        "RS",
        (
            *_COMMON,
            _opt("RSSEQ", "integer"),
            _req("RSTESTCD"),
            _req("RSORRES", codes=("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")),
            _req("RSDTC", "date"),
            _opt("RSEVAL"),
        ),
        ("USUBJID", "RSTESTCD", "RSDTC", "RSEVAL"),
    ),
    "PR": DomainSpec(
        "PR",
        (
            *_COMMON,
            _opt("PRSEQ", "integer"),
            _req("PRTRT"),
            _opt("PRDECOD"),
            _opt("PRCAT"),
            _req("PRSTDTC", "date"),
            _opt("PRENDTC", "date"),
        ),
        ("USUBJID", "PRTRT", "PRSTDTC"),
    ),
}


@dataclasses.dataclass(frozen=True, repr=False)
class DomainCheck(Result):
    """A validated domain: the usable rows (typed), the excluded rows with ``EXCLREAS``, issues.

    ``to_frame()`` is the data-quality report (:func:`issues_frame` of ``issues``).
    """

    domain: str
    valid: pd.DataFrame
    excluded: pd.DataFrame
    issues: tuple[DataQualityIssue, ...]

    def to_frame(self) -> pd.DataFrame:
        return issues_frame(self.issues)


def check_columns(frame: Any, dataset: str) -> None:
    """Refuse what is not a DataFrame (``TypeError``) and duplicated column names
    (:class:`DataError` naming them): pandas would silently use one of the two columns,
    or rename the second on reading (``AGE.1``)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{dataset}: expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise DataError(f"{dataset}: duplicated column name(s): {', '.join(twice)}; each "
                        "column must appear once", dataset=dataset, variable=twice[0])


def _extra_numbers(domain: str, frame: pd.DataFrame) -> dict[str, str]:
    """Pass-through DM columns that hold physical quantities (height, weight): checked as
    numbers and against their plausible range though the SDTM subset does not type them."""
    if domain != "DM":
        return {}
    return {str(c): str(c).upper() for c in frame.columns
            if str(c).upper() in ("HEIGHT", "WEIGHT")}


def validate_domain(
    name: str, frame: pd.DataFrame, *, subjects: Iterable[str] | None = None,
    ranges: Mapping[tuple[str, str], Range] | None = None,
) -> DomainCheck:
    """Check ``frame`` against the accepted spec of domain ``name`` (see module docstring).

    Rule per row, in order: every spec column present is parsed to its type (problems in a
    required column, or an unknown code anywhere, exclude the row; a bad date in an optional
    column becomes NaT and keeps the row; in DM a bad optional value becomes empty and keeps
    the row, because dropping a DM row would drop a randomised subject); ``USUBJID`` must be
    in ``subjects`` (the DM subjects) when given, because a record of an unknown subject
    cannot be analysed; numbers must lie in their plausible range (``ranges``, default
    :func:`~oncotrial.clinical.plausibility.plausible_ranges`; a dose must be >= 0); then
    rows sharing the natural key are duplicates: exact copies keep the first row, conflicting
    rows are all excluded because the correct one cannot be known. Every issue names the
    1-based data row of ``frame``. Re-validating a valid frame is a no-op (parsed Timestamps
    are accepted): ``valid`` carries the mark ``attrs["sdtm_domain"]`` and its input rows
    ``attrs["sdtm_rows"]``, and a frame with the mark (or a row subset of one) only has its
    subjects re-checked, which keeps derivations that validate their inputs defensively cheap.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a domain name, got {type(name).__name__}")
    domain = name.upper()
    if domain not in SPECS:
        raise InputError(f"unknown SDTM domain {name!r}; accepted: {', '.join(SPECS)}",
                         field="name")
    check_columns(frame, domain)
    spec = SPECS[domain]
    absent = [c for c in spec.required if c not in frame.columns]
    if absent:
        raise DataError(f"{domain}: required column(s) missing: {', '.join(absent)}",
                        dataset=domain, variable=absent[0])
    known = None if subjects is None else {str(s) for s in subjects}
    marked = frame.attrs.get("sdtm_domain") == domain
    if marked and (known is None or frame["USUBJID"].astype(str).isin(known).all()):
        excluded = frame.iloc[0:0].assign(EXCLREAS=pd.Series(dtype=object))
        return DomainCheck(domain, frame, excluded, ())
    origin = source_rows(frame) if marked else list(range(1, len(frame) + 1))
    origin = [r if r is not None else i + 1 for i, r in enumerate(origin)]
    keeps = domain == "DM"
    extra = _extra_numbers(domain, frame)
    typed, issues = _typed(domain, spec, frame, known, origin)
    _check_ranges(domain, typed, origin, extra, ranges, issues, keeps)
    key = [c for c in spec.key if c in typed.columns]
    candidates = typed[typed["EXCLREAS"].isna()]
    data_columns = [c for c in typed.columns if c != "EXCLREAS"]
    # only keys that occur twice need a look (cheap vectorised pre-filter)
    candidates = candidates[candidates.duplicated(key, keep=False)]
    for _, group in candidates.groupby(key, dropna=False, sort=False):
        exact = len(group.drop_duplicates(subset=data_columns)) == 1
        rest = group.index[1:] if exact else group.index
        problem = "exact duplicate record" if exact else "conflicting duplicate records"
        for index in rest:
            value = ", ".join(str(typed.at[index, c]) for c in key)
            subject = str(typed.at[index, "USUBJID"])
            issues.append(
                DataQualityIssue(domain, subject, "/".join(key), value, problem,
                                 origin[index])
            )
            typed.at[index, "EXCLREAS"] = f"{'/'.join(key)}: {problem}"
    ok = typed["EXCLREAS"].isna()
    for column in spec.columns:
        if column.kind == "date" and column.name in typed.columns:
            typed[column.name] = pd.to_datetime(typed[column.name])
    valid = typed.loc[ok, data_columns].reset_index(drop=True)
    for column in spec.columns:
        if column.kind in ("number", "integer") and column.name in valid.columns:
            numbers = pd.to_numeric(valid[column.name])
            valid[column.name] = (
                numbers.astype("Int64") if column.kind == "integer" else numbers
            )
    excluded = typed.loc[~ok].reset_index(drop=True)
    valid.attrs["sdtm_domain"] = domain
    valid.attrs["sdtm_rows"] = SourceRows(origin[i] for i in np.flatnonzero(ok.to_numpy()))
    issues.sort(key=lambda i: (i.row is None, i.row or 0))
    return DomainCheck(domain, valid, excluded, tuple(issues))


#: one kind of row problem: the rows, field, values, problems and whether they exclude
_Found = tuple[np.ndarray, str, np.ndarray, np.ndarray, bool]


def _typed(domain: str, spec: DomainSpec, frame: pd.DataFrame, known: set[str] | None,
           origin: list[int]) -> tuple[pd.DataFrame, list[DataQualityIssue]]:
    """``frame`` with every spec column parsed (``EXCLREAS`` naming the first excluding
    problem of a row) and the row problems, ordered as a row-by-row check would meet them:
    by row, then by column in spec order, the extra numbers, the subject check.

    Why by column: each column is parsed at once
    (:func:`~oncotrial.clinical.sdtm_parse.parse_column`) and only the rows with a problem
    become issues, which keeps validation linear and cheap in the number of records."""
    columns = list(frame.columns)
    n = len(frame)
    keeps = domain == "DM"
    raw_subject = boxed(frame["USUBJID"])
    subject = np.array(["" if is_missing(v) else str(v).strip() for v in raw_subject]
                       if infer_dtype(raw_subject, skipna=True) not in ("string", "empty")
                       else pd.Series(raw_subject, dtype=object).fillna("").str.strip()
                       .to_numpy(dtype=object), dtype=object)
    found: list[_Found] = []
    parsed: dict[Any, Any] = {}
    for column in spec.columns:
        if column.name not in frame.columns:
            continue
        source = (pd.Series(subject, dtype=object) if column.name == "USUBJID"
                  else frame[column.name].reset_index(drop=True))
        result = parse_column(column, source)
        parsed[column.name] = result.typed
        rows = np.flatnonzero(result.blank) if column.required else np.array([], dtype=int)
        if len(rows):
            found.append((rows, column.name, boxed(source.iloc[rows]),
                          np.full(len(rows), "required value missing", dtype=object), True))
        bad = np.flatnonzero(~result.blank & pd.notna(result.problem))
        if len(bad):
            excluding = column.required or (column.kind != "date" and not keeps)
            found.append((bad, column.name, boxed(source.iloc[bad]), result.problem[bad],
                          excluding))
    for name in _extra_numbers(domain, frame):
        values = boxed(frame[name])
        typed_values = values.copy()
        problems = np.full(n, None, dtype=object)
        for i, value in enumerate(values):
            if not is_missing(value):
                typed_values[i], problems[i] = number(value)
        parsed[name] = inferred(typed_values)
        bad = np.flatnonzero(pd.notna(problems))
        if len(bad):
            found.append((bad, name, values[bad], problems[bad], False))
    if known is not None:
        stranger = np.flatnonzero((subject != "") & ~pd.Series(subject).isin(known).to_numpy())
        if len(stranger):
            found.append((stranger, "USUBJID", subject[stranger],
                          np.full(len(stranger), "subject absent from DM", dtype=object), True))
    if n == 0:
        typed = pd.DataFrame([], columns=columns)
    else:
        typed = pd.DataFrame({c: parsed[c] if c in parsed else _passed(frame[c])
                              for c in columns}, columns=columns)
    reasons = np.full(n, None, dtype=object)
    for rows, field, _, problems, excluding in found:
        if excluding:
            first = pd.isna(reasons[rows])  # rows without an earlier excluding problem
            reasons[rows[first]] = [f"{field}: {p}" for p in problems[first]]
    typed["EXCLREAS"] = pd.Series(reasons, index=typed.index, dtype=object)
    order = sorted((int(r), k, j) for k, (rows, *_) in enumerate(found) for j, r in enumerate(rows))
    issues = [DataQualityIssue(domain, str(subject[r]), found[k][1], found[k][2][j],
                               found[k][3][j], origin[r]) for r, k, j in order]
    return typed, issues


def _passed(series: pd.Series) -> Any:
    """A column outside the spec as a row-by-row build keeps it: numpy numbers, booleans
    and nanosecond dates unchanged, anything else re-inferred from its Python values."""
    if series.dtype in (np.int64, np.float64, np.bool_, np.dtype("datetime64[ns]")):
        return series.to_numpy()
    return inferred(boxed(series))


def _check_ranges(domain: str, typed: pd.DataFrame, origin: list[int], extra: Mapping[str, str],
                  ranges: Mapping[tuple[str, str], Range] | None,
                  issues: list[DataQualityIssue], keeps: bool) -> None:
    """Vectorised plausibility checks (see :mod:`~oncotrial.clinical.plausibility`): an
    implausible value is reported with its row; in DM it becomes empty, elsewhere the record
    is excluded. A negative dose in EX is excluded; TR diameters must be in mm."""
    limits = plausible_ranges() if ranges is None else dict(ranges)
    checks: list[tuple[str, pd.Series, str]] = []
    columns = {c: c for c in typed.columns} | {c: upper for c, upper in extra.items()}
    for column, standard in columns.items():
        limit = limits.get((domain, str(standard)))
        if limit is None or column not in typed.columns:
            continue
        values = pd.to_numeric(typed[column], errors="coerce")
        bad = values.notna() & ((values < limit.low) | (values > limit.high))
        if domain == "TR" and "TRTESTCD" in typed.columns:
            bad &= typed["TRTESTCD"].astype(str).str.upper() != "TUMSTATE"
        checks.append((column, bad,
                       f"implausible value (plausible range {limit.describe()})"))
    if domain == "EX" and "EXDOSE" in typed.columns:
        dose = pd.to_numeric(typed["EXDOSE"], errors="coerce")
        checks.append(("EXDOSE", dose < 0, "negative dose"))
    if domain == "TR" and {"TRSTRESN", "TRSTRESU"} <= set(typed.columns):
        unit = typed["TRSTRESU"]
        given = unit.notna() & (unit.astype(str).str.strip() != "")
        wrong = (given & pd.to_numeric(typed["TRSTRESN"], errors="coerce").notna()
                 & (unit.astype(str).str.strip().str.lower() != "mm"))
        checks.append(("TRSTRESU", wrong, "diameters must be in mm (TRSTRESN in mm)"))
    for column, bad, problem in checks:
        for index in np.flatnonzero(bad.to_numpy()):
            value = typed.at[index, column]
            subject = str(typed.at[index, "USUBJID"])
            issues.append(DataQualityIssue(domain, subject, column, value, problem,
                                           origin[index]))
            if keeps:
                typed.at[index, column] = None
            elif pd.isna(typed.at[index, "EXCLREAS"]):
                typed.at[index, "EXCLREAS"] = f"{column}: {problem}"


def _first_dates(ds: pd.DataFrame, decode: str) -> dict[str, pd.Timestamp]:
    rows = ds[ds["DSDECOD"] == decode]
    return {str(k): v for k, v in rows.groupby("USUBJID")["DSSTDTC"].min().items()}


def _after_death(spec: DomainSpec, frame: pd.DataFrame,
                 deaths: pd.Series) -> list[DataQualityIssue]:
    """Records of ``frame`` dated strictly after the subject's death, by row and then date
    column in spec order; each date column is compared at once with the death dates."""
    dates = [c.name for c in spec.columns if c.kind == "date" and c.name in frame.columns]
    subjects = frame["USUBJID"].astype(str).to_numpy()
    death = pd.Series(subjects).map(deaths).to_numpy(dtype="datetime64[ns]")
    found: list[tuple[int, int]] = []
    for rank, column in enumerate(dates):
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            late = values.to_numpy(dtype="datetime64[ns]") > death
        else:
            late = np.array([not pd.isna(d) and not np.isnat(t) and d > pd.Timestamp(t)
                             for d, t in zip(values, death, strict=True)], dtype=bool)
        found.extend((int(i), rank) for i in np.flatnonzero(late))
    issues = []
    for i, rank in sorted(found):
        column = dates[rank]
        date = frame[column].iloc[i]
        problem = f"dated after death ({pd.Timestamp(death[i]).date()})"
        issues.append(DataQualityIssue(spec.name, str(subjects[i]), column, date, problem))
    return issues


def check_dates(
    dm: pd.DataFrame, ds: pd.DataFrame, others: Mapping[str, pd.DataFrame] | None = None
) -> tuple[DataQualityIssue, ...]:
    """Cross-domain date checks on *validated* frames (``validate_domain(...).valid``).

    * Death before randomisation: the death date (earliest of ``DM.DTHDTC`` and the
      ``DS`` record ``DSDECOD == "DEATH"``) is before the randomisation date (``DS``
      ``DSDECOD == "RANDOMIZED"``) -- one of the two dates is wrong.
    * Records dated after death: any date column of ``DS`` (other than the death record) and
      of each domain in ``others`` (``{"AE": ae, ...}``) strictly after the death date. The
      same day is allowed (a grade 5 AE starts on the day of death).

    The checks report; they do not exclude, because which date is wrong needs a site query.
    """
    deaths: dict[str, pd.Timestamp] = _first_dates(ds, "DEATH")
    if "DTHDTC" in dm.columns:
        for subject, date in zip(dm["USUBJID"], dm["DTHDTC"], strict=True):
            if not pd.isna(date):
                key = str(subject)
                deaths[key] = min(date, deaths.get(key, date))
    issues: list[DataQualityIssue] = []
    for subject, randomised in _first_dates(ds, "RANDOMIZED").items():
        death = deaths.get(subject)
        if death is not None and death < randomised:
            problem = f"death ({death.date()}) before randomisation"
            issues.append(
                DataQualityIssue("DS", subject, "DSSTDTC", randomised, problem)
            )
    domains = {"DS": ds[ds["DSDECOD"] != "DEATH"], **dict(others or {})}
    death_dates = pd.Series(deaths, dtype="datetime64[ns]")
    for name, frame in domains.items():
        issues.extend(_after_death(SPECS[name.upper()], frame, death_dates))
    return tuple(issues)
