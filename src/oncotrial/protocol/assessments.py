"""The tumour-assessment schedule and the rules that turn assessments into analysis data."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, Strict, field_validator, model_validator

from oncotrial.core.specfile import Issues
from oncotrial.protocol.base import Issue, PositiveInt, SchemaModel, Source, Text

__all__ = ["Assessments", "Duration", "ResponseRules", "Segment"]

#: ``until`` of a segment: the end of all treatment, or of the phase named after ``end_of_``
_MILESTONE = re.compile(r"end_of_[A-Za-z0-9_]+")


class Duration(SchemaModel):
    """A positive whole number of days, weeks or months (exactly one of them)."""

    days: Annotated[int, Strict()] | None = None
    weeks: Annotated[int, Strict()] | None = None
    months: Annotated[int, Strict()] | None = None

    @model_validator(mode="after")
    def _one_positive(self) -> Duration:
        given = {k: v for k, v in (("days", self.days), ("weeks", self.weeks),
                                   ("months", self.months)) if v is not None}
        if len(given) != 1:
            raise ValueError(f"a duration is exactly one of days, weeks or months, "
                             f"got {given or 'none'}")
        (unit, value), = given.items()
        if value <= 0:
            raise ValueError(f"must be a positive duration, got {value} {unit}")
        return self

    @property
    def approx_days(self) -> float:
        """Length in days (a month counted as 365.25/12 days), for static checks only."""
        return self.days or (self.weeks or 0) * 7 or (self.months or 0) * 365.25 / 12

    def __str__(self) -> str:
        for unit in ("days", "weeks", "months"):
            if getattr(self, unit) is not None:
                return f"{getattr(self, unit)} {unit}"
        raise AssertionError("unreachable: validated duration")


class Segment(SchemaModel):
    """Assessments every ``every`` until an end: ``until`` a treatment milestone,
    ``until_time`` after randomisation, ``for`` a duration, or none (open-ended)."""

    label: str | None = None
    every: Duration
    until: str | None = Field(default=None, description="``end_of_treatment`` or ``end_of_<phase>``: "
                                                "the end of all treatment or of a phase.")
    until_time: Duration | None = None
    for_: Duration | None = Field(default=None, alias="for")
    source: Source = "protocol"

    @field_validator("until")
    @classmethod
    def _milestone(cls, until: str | None) -> str | None:
        if until is not None and not _MILESTONE.fullmatch(until):
            raise ValueError(f"expected end_of_treatment or end_of_<phase name>, got {until!r}")
        return until

    @model_validator(mode="after")
    def _one_end(self) -> Segment:
        ends = [k for k, v in (("until", self.until), ("until_time", self.until_time),
                               ("for", self.for_)) if v is not None]
        if len(ends) > 1:
            raise ValueError(f"a segment ends in one way, got {', '.join(ends)}")
        if self.for_ is not None and self.for_.approx_days < self.every.approx_days:
            raise Issues([(("for",), f"the segment never advances: it lasts {self.for_}, "
                                      f"less than its interval of {self.every}")])
        return self

    @property
    def open_ended(self) -> bool:
        return self.until is None and self.until_time is None and self.for_ is None


class ResponseRules(SchemaModel):
    """How tumour assessments become analysis data: the SAP choices RECIST 1.1 and the FDA
    guidance leave to the protocol.

    * ``confirmation``: a CR/PR counts for the best overall response only when confirmed by
      a second assessment at least ``confirmation_days`` later (RECIST 1.1 §4.4, required
      in single-arm trials, optional in randomised ones); confirmed responders then define
      the DOR population.
    * ``min_sd_days``: minimum time from randomisation for SD to count as best response
      (RECIST 1.1 §4.4 "protocol-defined"; admiralonco's example uses 42 days, a 6-weekly
      schedule minus a one-week window gives 35).
    * ``missed_assessments``: an event after this many consecutive missed scheduled
      assessments is censored at the last adequate assessment (FDA 2018 table, row P9);
      ``None`` counts every event at its observed date (the EMA primary analysis).
    * ``window_days``: a scheduled assessment counts as done when an assessment falls within
      this many days of it.
    """

    confirmation: bool = False
    confirmation_days: PositiveInt = 28
    min_sd_days: Annotated[int, Strict(), Field(ge=0)] = 35
    missed_assessments: PositiveInt | None = 2
    window_days: Annotated[int, Strict(), Field(ge=0)] = 7
    source: Source = "protocol"


class Assessments(SchemaModel):
    """The tumour-assessment schedule, counted from randomisation (see ``schedule``), and
    the response/censoring rules applied to the assessments (``response``)."""

    criteria: Text
    central_review: bool = False
    segments: Annotated[list[Segment], Field(min_length=1)]
    end: Duration | None = None
    stop_at: list[str] = []
    response: ResponseRules = ResponseRules()

    @model_validator(mode="after")
    def _ends(self) -> Assessments:
        issues: list[Issue] = []
        last = len(self.segments) - 1
        for i, seg in enumerate(self.segments):
            if seg.open_ended and i < last:
                issues.append((("segments", i), f"the segment never ends (it has no "
                                                f"'until', 'until_time' or 'for'), so "
                                                f"segment(s) {i + 1}..{last} are never "
                                                f"reached"))
        if not self.segments[last].open_ended and self.end is None:
            issues.append((("segments", last), "the schedule must end with an open-ended "
                                               "segment or declare an 'end'"))
        previous = None
        for i, seg in enumerate(self.segments):
            if seg.until_time is not None:
                if previous is not None and seg.until_time.approx_days <= previous[1]:
                    issues.append((("segments", i, "until_time"),
                                   f"the segment never advances: it ends at "
                                   f"{seg.until_time}, not after segment {previous[0]} "
                                   f"({self.segments[previous[0]].until_time})"))
                previous = (i, seg.until_time.approx_days)
        if issues:
            raise Issues(issues)
        return self

