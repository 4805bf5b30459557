"""TU and TR records read into lesions and per-date values for the RECIST 1.1 engine.

:func:`parse_lesions` turns TU into one :class:`Lesion` per subject and link id (role, node,
organ, date) and :func:`parse_results` turns TR into the value of each lesion on each date: a
:class:`~decimal.Decimal` diameter in mm, a ``TUMSTATE`` code, or None (not assessed). Every
unusable record is reported through a :class:`Collector` with its 1-based row and left out.
The columns are read once each (codes and diameters once per distinct value) rather than
record by record through ``to_dict``, which made reading TR the slowest step of ADRS; the
rules, issues and their order are those of the record-by-record reading.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from oncotrial.clinical.plausibility import DEFAULT_RANGES
from oncotrial.clinical.quality import DataQualityIssue, source_rows
from oncotrial.clinical.sdtm import parse_iso_date
from oncotrial.clinical.sdtm_parse import boxed

__all__ = ["MAX_DIAMETER", "NEW_STATES", "NODE_ORGAN", "NONTARGET_STATES", "ROLES", "TOO_SMALL",
           "Collector", "Lesion", "parse_lesions", "parse_results"]

ROLES = ("TARGET", "NON-TARGET", "NEW")
NONTARGET_STATES = ("PRESENT", "ABSENT", "UNEQUIVOCAL PROGRESSION", "NOT EVALUABLE")
NEW_STATES = ("PRESENT", "UNEQUIVOCAL", "EQUIVOCAL", "ABSENT")
TOO_SMALL = Decimal(5)
NODE_ORGAN = "LYMPH NODE"
#: largest plausible lesion diameter in mm (as ``plausibility.DEFAULT_RANGES``)
MAX_DIAMETER = Decimal(int(DEFAULT_RANGES[("TR", "TRSTRESN")].high))


@dataclasses.dataclass
class Lesion:
    """One TU lesion: subject, link id, role (re-classified NON-TARGET when it cannot be a
    target), lymph node or not, organ and identification date."""

    usubjid: str
    lnkid: str
    role: str
    node: bool
    organ: str
    date: pd.Timestamp


def _is_missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or value is pd.NA
    )


def _text(value: Any) -> str:
    return "" if _is_missing(value) else str(value).strip().upper()


def _is_node(flag: Any, location: Any) -> bool:
    """A lymph node: ``TUNODE`` when given, else a ``TULOC`` naming a lymph node."""
    if flag is not None and not _is_missing(flag):
        return flag is True or _text(flag) in ("Y", "TRUE", "1")
    return NODE_ORGAN in _text(location)


def _measurement(stresn: Any, orres: Any) -> tuple[Decimal | None, str | None]:
    """Diameter in mm (None = not assessed) and a problem text when the value is unusable,
    from ``TRSTRESN`` or, when that is missing, ``TRORRES``."""
    raw = orres if stresn is None or _is_missing(stresn) else stresn
    text = _text(raw)
    if text in ("", "NOT DONE"):
        return None, None
    if text == "TOO SMALL TO MEASURE":
        return TOO_SMALL, None
    try:
        value = Decimal(repr(float(raw))) if isinstance(raw, float) else Decimal(text)
    except (InvalidOperation, ValueError):
        return None, "diameter is not a number"
    if not value.is_finite() or value < 0:
        return None, "diameter must be a finite number >= 0 mm"
    if value > MAX_DIAMETER:
        return None, f"implausible diameter (plausible range 0-{MAX_DIAMETER} mm)"
    return value, None


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column's values as a row of ``to_dict(orient="records")`` holds them (None for an
    absent column): read once per column rather than once per row and field."""
    if name not in frame.columns:
        return [None] * len(frame)
    return list(boxed(frame[name]))


def _dates(raw: list[Any], parsed: bool) -> list[Any]:
    """Each value as ``parse_iso_date`` reads it (``NaT`` when not a complete date);
    ``parsed``: the values come from a datetime column and are already Timestamps/NaT."""
    return raw if parsed else [parse_iso_date(v)[0] for v in raw]


def _texts(values: list[Any]) -> list[str]:
    """``_text`` of each value; a column of strings is stripped and upper-cased once per
    distinct value (other columns value by value: 1, 1.0 and True must stay apart)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    if infer_dtype(array, skipna=True) != "string":
        return [_text(v) for v in values]
    codes, uniques = pd.factorize(array)
    texts = np.empty(len(uniques), dtype=object)
    texts[:] = [_text(u) for u in uniques]
    out = texts[codes]
    for i in np.flatnonzero(codes < 0):  # missing values, judged as _text judges them
        out[i] = _text(values[i])
    return list(out)


def _measurements(tr: pd.DataFrame, stresn: list[Any], orres: list[Any],
                  ) -> list[tuple[Decimal | None, str | None]]:
    """``_measurement`` of each TR record. A present ``TRSTRESN`` alone decides, so a numeric
    column is measured once per distinct diameter; the rest record by record."""
    if "TRSTRESN" not in tr.columns or tr["TRSTRESN"].dtype != np.float64:
        return [_measurement(s, o) for s, o in zip(stresn, orres, strict=True)]
    numbers = tr["TRSTRESN"].to_numpy()
    known = ~np.isnan(numbers) & (numbers != 0)  # 0.0 and -0.0 are told apart below
    distinct, where = np.unique(numbers[known], return_inverse=True)
    by_value = np.empty(len(distinct), dtype=object)
    by_value[:] = [_measurement(float(v), None) for v in distinct]
    out = np.empty(len(numbers), dtype=object)
    out[known] = by_value[where.ravel()]
    for i in np.flatnonzero(~known):
        out[i] = _measurement(stresn[i], orres[i])
    return list(out)


class Collector:
    """The data-quality issues met while deriving time-point responses, in order."""

    def __init__(self) -> None:
        self.issues: list[DataQualityIssue] = []

    def add(
        self, domain: str, usubjid: Any, field: str, value: Any, problem: str,
        row: int | None = None,
    ) -> None:
        value = None if _is_missing(value) else value
        self.issues.append(
            DataQualityIssue(domain, str(usubjid), field, value, problem, row)
        )


def parse_lesions(tu: pd.DataFrame, dq: Collector) -> dict[tuple[str, str], Lesion]:
    lesions: dict[tuple[str, str], Lesion] = {}
    raw_tests, raw_roles, raw_dates, flags, locations = (
        _column(tu, c) for c in ("TUTESTCD", "TUORRES", "TUDTC", "TUNODE", "TULOC"))
    tests, roles = _texts(raw_tests), _texts(raw_roles)
    dates = _dates(raw_dates, pd.api.types.is_datetime64_any_dtype(tu["TUDTC"]))
    for i, (line, subject, lnkid) in enumerate(zip(
            source_rows(tu), tu["USUBJID"].astype(str), tu["TULNKID"].astype(str),
            strict=True)):
        if tests[i] != "TUMIDENT":
            dq.add(
                "TU",
                subject,
                "TUTESTCD",
                raw_tests[i],
                "expected TUMIDENT; row ignored", line,
            )
            continue
        role = roles[i]
        if role not in ROLES:
            dq.add(
                "TU",
                subject,
                "TUORRES",
                raw_roles[i],
                f"unknown code, expected {ROLES}", line,
            )
            continue
        date = dates[i]
        if pd.isna(date):
            dq.add(
                "TU",
                subject,
                "TUDTC",
                raw_dates[i],
                "missing, partial or invalid date; lesion ignored", line,
            )
            continue
        if (subject, lnkid) in lesions:
            dq.add(
                "TU", subject, "TULNKID", lnkid, "duplicate lesion id; first row used", line
            )
            continue
        node = _is_node(flags[i], locations[i])
        organ = NODE_ORGAN if node else _text(locations[i])
        lesions[(subject, lnkid)] = Lesion(subject, lnkid, role, node, organ, date)
    return lesions


def parse_results(
    tr: pd.DataFrame, lesions: dict[tuple[str, str], Lesion], dq: Collector
) -> dict[tuple[str, str, pd.Timestamp], Any]:
    """Map (subject, lesion, date) -> Decimal diameter, state text, or None (not assessed)."""
    cells: dict[tuple[str, str, pd.Timestamp], list[Any]] = defaultdict(list)
    raw_tests, orres, stresn, raw_dates = (_column(tr, c) for c in
                                           ("TRTESTCD", "TRORRES", "TRSTRESN", "TRDTC"))
    tests, states = _texts(raw_tests), _texts(orres)
    measured = _measurements(tr, stresn, orres)
    stresn_or_orres = stresn if "TRSTRESN" in tr.columns else orres
    dates = _dates(raw_dates, pd.api.types.is_datetime64_any_dtype(tr["TRDTC"]))
    for i, (line, subject, lnkid, date) in enumerate(zip(
            source_rows(tr), tr["USUBJID"].astype(str), tr["TRLNKID"].astype(str), dates,
            strict=True)):
        test = tests[i]
        lesion = lesions.get((subject, lnkid))
        fragment_of = lnkid.rsplit(".", 1)[0] if "." in lnkid else None
        if lesion is None and fragment_of is not None:
            lesion = lesions.get((subject, fragment_of))
        if lesion is None:
            dq.add(
                "TR",
                subject,
                "TRLNKID",
                lnkid,
                "lesion not identified in TU; record ignored", line,
            )
            continue
        if date is pd.NaT:  # parse_iso_date and datetime columns give NaT itself
            dq.add(
                "TR",
                subject,
                "TRDTC",
                raw_dates[i],
                "missing, partial or invalid date; record ignored", line,
            )
            continue
        expected = _expected_tests(lesion)
        if test not in expected:
            dq.add(
                "TR",
                subject,
                "TRTESTCD",
                raw_tests[i],
                f"lesion {lesion.lnkid} ({lesion.role}) takes {expected}; record ignored", line,
            )
            continue
        value: Any
        if test == "TUMSTATE":
            value = states[i]
            allowed = NEW_STATES if lesion.role == "NEW" else NONTARGET_STATES
            if value not in allowed:
                dq.add(
                    "TR",
                    subject,
                    "TRORRES",
                    orres[i],
                    f"unknown TUMSTATE code, expected {allowed}; lesion not assessed", line,
                )
                value = None
        else:
            value, problem = measured[i]
            if problem:
                dq.add(
                    "TR",
                    subject,
                    "TRSTRESN/TRORRES",
                    stresn_or_orres[i],
                    f"{problem}; lesion {lnkid} not assessed on {date.date()}", line,
                )
        cells[(subject, lnkid, date)].append(value)
    parsed: dict[tuple[str, str, pd.Timestamp], Any] = {}
    fragments: dict[tuple[str, str, pd.Timestamp], list[Any]] = defaultdict(list)
    for (subject, lnkid, date), values in cells.items():
        if len(values) > 1:
            same = all(v == values[0] for v in values)
            dq.add(
                "TR",
                subject,
                "TRLNKID",
                lnkid,
                f"{len(values)} records on {date.date()}; "
                + (
                    "identical, one used"
                    if same
                    else "conflicting, lesion not assessed"
                ),
            )
            value = values[0] if same else None
        else:
            value = values[0]
        if (subject, lnkid) in lesions:
            parsed[(subject, lnkid, date)] = value
        else:
            fragments[(subject, lnkid.rsplit(".", 1)[0], date)].append(value)
    for key, values in fragments.items():
        if key in parsed:
            dq.add(
                "TR",
                key[0],
                "TRLNKID",
                key[1],
                f"both whole lesion and fragments recorded on {key[2].date()}; not assessed",
            )
            parsed[key] = None
        else:
            parsed[key] = None if None in values else sum(values, Decimal(0))
    return parsed


def _expected_tests(lesion: Lesion) -> tuple[str, ...]:
    size = "SAXIS" if lesion.node else "LDIAM"
    if lesion.role == "TARGET":
        return (size,)
    return (size, "TUMSTATE")


