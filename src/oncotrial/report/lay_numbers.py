"""Every number of the lay summary, read from the ARD (or a protocol fact) and traced.

:class:`TracedNumbers` reads ARD records and prints their numbers through
:mod:`oncotrial.report.format`, keeping for each a :class:`NumberSource`: the records it
comes from, the field read and how it was turned into words. Tests recompute every traced
number from the ARD, so a summary cannot show a number the analysis did not produce.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

import pandas as pd

from oncotrial.report.format import format_number

__all__ = ["NumberSource", "TracedNumbers", "ard_key", "estimable"]

Transform = Literal["count", "whole", "per_100", "years", "difference", "weeks", "text", "date"]


@dataclasses.dataclass(frozen=True)
class NumberSource:
    """A number printed in the summary and where it comes from.

    ``records``: the ARD keys (``table, endpoint, arm, subgroup, statistic``, plus ``time``
    for a landmark rate) of the records it is computed from, ``{"protocol": "<attribute
    path>"}`` for a protocol fact, or ``{"date": "<ISO date>", "input": "<argument>"}`` for a
    date given to :func:`~oncotrial.report.lay_summary.lay_summary`; ``field``: the ARD
    column read (``value`` or ``time``); ``transform``: ``count`` (an integer), ``whole``
    (rounded half up), ``per_100`` (a proportion times 100, rounded), ``years`` (a time in
    months divided by 12), ``difference`` (the distance between the two records' values,
    rounded), ``weeks`` (protocol days divided by 7), ``text`` (a number written in a
    protocol text), ``date`` (the day or the year of the date).
    """

    text: str
    transform: Transform
    records: tuple[Mapping[str, Any], ...]
    field: str = "value"


_KEY = ("table", "endpoint", "arm", "subgroup", "statistic")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def ard_key(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ARD key of a record, with its ``time`` when it has one (a landmark rate)."""
    key = {k: record.get(k) for k in _KEY}
    time = record.get("time")
    if time is not None and math.isfinite(float(time)):
        key["time"] = float(time)
    return key


def estimable(record: Mapping[str, Any]) -> bool:
    """Whether a record's value is a finite number (a median not reached is NaN)."""
    return record["value"] is not None and math.isfinite(float(record["value"]))


class TracedNumbers:
    """Reads ARD records and prints their numbers, tracing each one."""

    def __init__(self, ard: pd.DataFrame) -> None:
        self.ard = ard
        self.sources: list[NumberSource] = []

    def records(self, **key: Any) -> pd.DataFrame:
        """The records with these key values (``None`` matches a missing value)."""
        mask = pd.Series(True, index=self.ard.index)
        for column, value in key.items():
            mask &= self.ard[column].isna() if value is None else self.ard[column] == value
        return self.ard[mask]

    def record(self, **key: Any) -> dict[str, Any] | None:
        """The one record with these key values, its value estimable or not, or None."""
        rows = self.records(**key)
        return rows.iloc[0].to_dict() if len(rows) == 1 else None

    def find(self, **key: Any) -> dict[str, Any] | None:
        """The one record with these key values and an estimable value, or None."""
        record = self.record(**key)
        return record if record is not None and estimable(record) else None

    def _print(self, value: float, transform: Transform, records: Sequence[Mapping[str, Any]],
               field: str = "value") -> str:
        text = format_number(value, 0)
        self.sources.append(NumberSource(text, transform, tuple(ard_key(r) for r in records), field))
        return text

    def count(self, record: Mapping[str, Any]) -> str:
        return self._print(record["value"], "count", [record])

    def whole(self, record: Mapping[str, Any], field: str = "value") -> str:
        return self._print(record[field], "whole", [record], field=field)

    def per_100(self, record: Mapping[str, Any]) -> str:
        return self._print(100 * record["value"], "per_100", [record])

    def years(self, record: Mapping[str, Any]) -> str:
        return self._print(record["time"] / 12, "years", [record], field="time")

    def landmark(self, record: Mapping[str, Any], unit: str) -> str:
        """The time of a landmark rate: in years when it is a whole number of years."""
        if unit == "months" and record["time"] % 12 == 0:
            years = self.years(record)
            return f"{years} year{'' if years == '1' else 's'}"
        return f"{self.whole(record, 'time')} {unit}"

    def of_100(self, record: Mapping[str, Any]) -> str:
        """A proportion as a natural frequency for a table cell: ``"68 of 100"``."""
        return f"{self.per_100(record)} of 100"

    def difference(self, first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
        return self._print(abs(second["value"] - first["value"]), "difference", [first, second])

    def weeks(self, days: int, path: str) -> str:
        text = format_number(days / 7, 0)
        self.sources.append(NumberSource(text, "weeks", ({"protocol": path},)))
        return text

    def protocol_count(self, value: int, path: str) -> str:
        text = format_number(value, 0)
        self.sources.append(NumberSource(text, "count", ({"protocol": path},)))
        return text

    def protocol_text(self, text: str, path: str) -> str:
        """A protocol text printed as written, each number in it traced to ``path``."""
        for number in _NUMBER.findall(text):
            self.sources.append(NumberSource(number, "text", ({"protocol": path},)))
        return text

    def label_numbers(self, record: Mapping[str, Any], label: str) -> None:
        """Trace the numbers of an ARD record's ``subgroup`` label printed in words."""
        for number in _NUMBER.findall(label):
            self.sources.append(NumberSource(number, "text", (ard_key(record),), field="subgroup"))

    def date(self, day: date, what: str) -> str:
        """A date in words (``31 January 2023``), its day and year traced to ``what``."""
        key = ({"date": day.isoformat(), "input": what},)
        self.sources += [NumberSource(format_number(day.day, 0), "date", key),
                         NumberSource(format_number(day.year, 0), "date", key)]
        return f"{format_number(day.day, 0)} {day:%B} {format_number(day.year, 0)}"
