"""Data-quality issues: what a derivation could not use, and why.

Every derivation in :mod:`oncotrial.clinical` runs on the valid records and reports each
problem it met as a :class:`DataQualityIssue` naming the domain, the 1-based data row of
that domain's input (the first row under the header is row 1), subject, field and value,
so that nothing is dropped silently and a data manager can find the record and query the
site. ``row`` is empty when the problem is not one record's (a missing column, a subject
with no record at all).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import pandas as pd

from oncotrial.core.results import Result

__all__ = ["COLUMNS", "DataQualityIssue", "SourceRows", "issues_frame", "source_rows"]

#: column order of the data-quality report (``data_quality.csv``)
COLUMNS = ("domain", "row", "usubjid", "field", "value", "problem")


@dataclasses.dataclass(frozen=True, repr=False)
class DataQualityIssue(Result):
    """One problem found in the input: which domain, subject, field and value, and why;
    ``row`` is the 1-based data row of the domain as given (None: not one record's)."""

    domain: str
    usubjid: str
    field: str
    value: Any
    problem: str
    row: int | None = None


class SourceRows(tuple[int, ...]):
    """The input rows a validated frame records in ``attrs["sdtm_rows"]``.

    pandas deep-copies ``attrs`` into every frame and column derived from a frame, so a plain
    tuple of one int per row made each column access of a validated frame cost a copy of
    all its rows, and the derivations grew with the square of the data. The rows never
    change once recorded: a deep copy can be the object itself.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> SourceRows:
        return self


def issues_frame(issues: Iterable[DataQualityIssue]) -> pd.DataFrame:
    """The issues as a DataFrame with columns ``domain, row, usubjid, field, value,
    problem`` (``row`` as a nullable integer)."""
    frame = pd.DataFrame([i.to_dict() for i in issues], columns=list(COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame


def source_rows(frame: pd.DataFrame) -> list[int | None]:
    """The 1-based input row of each row of ``frame``, so a derivation can name the record a
    problem comes from: for a validated frame (``validate_domain(...).valid``) the rows of
    the input it records; for any other frame its own positions (the frame is the input);
    ``None`` per row for a row subset of a validated frame, whose rows cannot be traced."""
    if "sdtm_domain" not in frame.attrs:
        return list(range(1, len(frame) + 1))
    rows = frame.attrs.get("sdtm_rows")
    if rows is not None and len(rows) == len(frame):
        return list(rows)
    return [None] * len(frame)
