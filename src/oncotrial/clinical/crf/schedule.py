"""Planned cycles and tumour assessments of a subject, with their status.

Tumour assessments follow the protocol's grid counted from randomisation
(:func:`~oncotrial.clinical.adtte.scheduled_assessments`, the dates the derivations use),
and the status applies the derivations' rule for a missed assessment
(:func:`~oncotrial.clinical.adtte.count_missed_assessments`): a scheduled date counts as
done when an assessment lies within ``assessments.response.window_days`` of it, and as
missed when none does and a later assessment was made. Without a later assessment a date
past its window is overdue (it may still be done late), one whose window is open is due,
and the next future one is planned. Assessments stop after progression (the first PD by
:func:`~oncotrial.clinical.crf.response.assessment_response`), death or the end of study.

Cycles follow the treatment actually given: the next cycle is due one cycle length after
the last one given (cycle 1 on the randomisation date), within the same window; a phase
ends after its ``max_cycles`` or its end-of-treatment record (a discontinuation ends the
treatment), and a postponed cycle is overdue, never missed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from oncotrial.clinical.adtte import scheduled_assessments
from oncotrial.clinical.crf.records import CaptureRecord
from oncotrial.clinical.crf.response import assessment_response
from oncotrial.core.results import Result

__all__ = ["PlannedVisit", "planned_visits"]

Status = Literal["done", "planned", "due", "overdue", "missed"]


@dataclasses.dataclass(frozen=True, repr=False)
class PlannedVisit(Result):
    """One planned form: ``form`` and the ``key`` its record will have (the cycle
    ``phase:n``; the scheduled assessment's number), the due date and the window
    ``[earliest, latest]``; ``status``; ``done_on`` the date of the record counted."""

    form: str
    key: str
    due: dt.date
    earliest: dt.date
    latest: dt.date
    status: Status
    done_on: dt.date | None = None


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _status(due: dt.date, window: dt.timedelta, done: Sequence[dt.date], today: dt.date,
            can_miss: bool) -> tuple[Status, dt.date | None]:
    hit = [d for d in done if due - window <= d <= due + window]
    if hit:
        return "done", hit[0]
    if today < due - window:
        return "planned", None
    if today <= due + window:
        return "due", None
    if can_miss and any(d > due + window for d in done):
        return "missed", None
    return "overdue", None


def _stop(by_form: Mapping[str, list[CaptureRecord]]) -> dt.date | None:
    """The first progression, death or end of study: nothing is planned after it."""
    dates = [_day(r.data.get("date")) for f in ("death", "end_of_study")
             for r in by_form.get(f, [])]
    scans = sorted((r.data for r in by_form.get("tumour_assessment", [])),
                   key=lambda d: int(d.get("visit", 0)))
    baseline = next((s for s in scans if s.get("visit") == 0), None)
    if baseline is not None:
        for i, scan in enumerate(scans):
            if scan.get("visit") != 0 and assessment_response(baseline, scans[:i], scan) == "PD":
                dates.append(_day(scan.get("date")))
                break
    known = [d for d in dates if d is not None]
    return min(known) if known else None


def _assessments(protocol: Any, arm: str, randomised_on: dt.date,
                 by_form: Mapping[str, list[CaptureRecord]], today: dt.date,
                 window: dt.timedelta, stop: dt.date | None) -> list[PlannedVisit]:
    done = sorted(d for r in by_form.get("tumour_assessment", [])
                  if r.data.get("visit") != 0 and (d := _day(r.data.get("date"))) is not None)
    out: list[PlannedVisit] = []
    for k, when in enumerate(scheduled_assessments(protocol, arm, randomised_on), start=1):
        due = pd.Timestamp(when).date()
        if stop is not None and due - window > stop:
            break
        status, done_on = _status(due, window, done, today, can_miss=True)
        out.append(PlannedVisit("tumour_assessment", str(k), due, due - window, due + window,
                                status, done_on))
        if status == "planned":
            break
    return out


def _cycles(protocol: Any, arm: str, randomised_on: dt.date,
            by_form: Mapping[str, list[CaptureRecord]], today: dt.date,
            window: dt.timedelta, stop: dt.date | None) -> list[PlannedVisit]:
    given: dict[str, dict[int, dt.date]] = {}
    for r in by_form.get("cycle", []):
        when = _day(r.data.get("date"))
        if when is not None:
            given.setdefault(str(r.data.get("phase")), {})[int(r.data.get("cycle", 0))] = when
    ended = {str(r.data.get("phase")): str(r.data.get("reason"))
             for r in by_form.get("end_of_treatment", [])}
    out: list[PlannedVisit] = []
    due = randomised_on
    for phase in protocol.regimen(arm).phases:
        length = dt.timedelta(days=phase.cycle_length_days)
        cycles = given.get(phase.name, {})
        for n in sorted(cycles):
            out.append(PlannedVisit("cycle", f"{phase.name}:{n}", due, due - window,
                                    due + window, "done", cycles[n]))
            due = cycles[n] + length
        if phase.name in ended:
            if ended[phase.name] != "COMPLETED":
                return out
            continue
        if phase.max_cycles is not None and len(cycles) >= phase.max_cycles:
            continue
        if stop is not None and due > stop:
            return out
        status, _ = _status(due, window, [], today, can_miss=False)
        out.append(PlannedVisit("cycle", f"{phase.name}:{len(cycles) + 1}", due, due - window,
                                due + window, status))
        return out
    return out


def planned_visits(protocol: Any, randomised_on: dt.date, records: Sequence[CaptureRecord],
                   today: dt.date, *, arm: str | None = None) -> tuple[PlannedVisit, ...]:
    """The subject's planned tumour assessments, then cycles (see the module docstring), up
    to the next planned one of each. ``records`` are the subject's records; ``arm`` its arm
    code (``None`` when masked: the control arm's schedule, which differs from another arm's
    only where the protocol ties the assessments to a phase)."""
    code = arm if arm is not None else protocol.control.code
    window = dt.timedelta(days=protocol.assessments.response.window_days)
    by_form: dict[str, list[CaptureRecord]] = {}
    for record in records:
        by_form.setdefault(record.form, []).append(record)
    stop = _stop(by_form)
    return (*_assessments(protocol, code, randomised_on, by_form, today, window, stop),
            *_cycles(protocol, code, randomised_on, by_form, today, window, stop))
