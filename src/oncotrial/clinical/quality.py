"""Data-quality issues: what a derivation could not use, and why.

Every derivation in :mod:`oncotrial.clinical` runs on the valid records and reports each
problem it met as a :class:`DataQualityIssue` naming the domain, subject, field and value,
so that nothing is dropped silently and a data manager can query the site.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import pandas as pd

from oncotrial.stats._results import Result

__all__ = ["DataQualityIssue", "issues_frame"]


@dataclasses.dataclass(frozen=True, repr=False)
class DataQualityIssue(Result):
    """One problem found in the input: which domain, subject, field and value, and why."""

    domain: str
    usubjid: str
    field: str
    value: Any
    problem: str


def issues_frame(issues: Iterable[DataQualityIssue]) -> pd.DataFrame:
    """The issues as a DataFrame with columns ``domain, usubjid, field, value, problem``."""
    columns = [f.name for f in dataclasses.fields(DataQualityIssue)]
    return pd.DataFrame([i.to_dict() for i in issues], columns=columns)
