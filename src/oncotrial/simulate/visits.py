"""Calendar arithmetic on arrays of dates and the protocol's tumour-assessment grid, vectorised.

A replica needs the scheduled assessment dates of every patient. The protocol layer builds
one patient's schedule at a time (:func:`oncotrial.protocol.schedule.plan`, a few
milliseconds each); this module computes the same dates for all patients at once from the
same protocol segments, with the same conventions (assessments counted from randomisation,
a segment's dates at ``segment start + k * interval`` up to and including its end, month
steps clamped to the last day of the month, milestones at the end of the planned cycles).
``tests/simulate/test_visits.py`` checks the two agree date for date.

Dates are ``numpy.datetime64[D]``; ``NaT`` pads rows of a two-dimensional schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from oncotrial.protocol.assessments import Duration
    from oncotrial.protocol.models import Protocol

__all__ = ["DAYS_PER_MONTH", "add_months", "after", "iso", "planned_assessments"]

#: average month (365.25 / 12 days), the unit of every time in months in this package
DAYS_PER_MONTH = 30.4375
NAT = np.datetime64("NaT", "D")


def add_months(dates: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Same day of the month ``months`` later, clamped to the month's last day (element-wise,
    broadcasting ``dates`` against ``months``), as :func:`oncotrial.protocol.schedule.add_months`."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    month = dates.astype("datetime64[M]")
    day = (dates - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)


def after(dates: np.ndarray, duration: Duration, times: np.ndarray | int = 1) -> np.ndarray:
    """``dates`` plus ``times`` protocol durations (days, weeks or calendar months)."""
    times = np.asarray(times, dtype=np.int64)
    if duration.months is not None:
        return add_months(dates, duration.months * times)
    step = duration.days if duration.days is not None else 7 * (duration.weeks or 0)
    return np.asarray(dates, dtype="datetime64[D]") + step * times


def _approx_days(duration: Duration) -> int:
    """Fewest days a duration can last (a month is at least 28 days)."""
    if duration.months is not None:
        return 28 * duration.months
    return duration.days if duration.days is not None else 7 * (duration.weeks or 0)


def planned_assessments(protocol: Protocol, arm: str, randomised: np.ndarray,
                        horizon_months: int) -> np.ndarray:
    """Scheduled tumour-assessment dates, one row per randomisation date.

    The planned treatment (every cycle of every phase, no delays; an open-ended phase runs
    to the horizon) fixes the milestones ``end_of_<phase>`` and ``end_of_treatment``, as
    :func:`oncotrial.protocol.schedule.plan` does; assessments stop at the
    schedule's ``end`` or ``horizon_months`` after randomisation. Returns an ``(n, k)``
    ``datetime64[D]`` array, each row sorted, padded with ``NaT``.
    """
    start = np.asarray(randomised, dtype="datetime64[D]")
    schedule = protocol.assessments
    last = add_months(start, horizon_months)
    milestones: dict[str, np.ndarray] = {}
    treatment_end = start
    for phase in protocol.regimen(arm).phases:
        # an open-ended phase (until progression) runs to the horizon
        treatment_end = (last if phase.max_cycles is None
                         else treatment_end + phase.cycle_length_days * phase.max_cycles)
        milestones[f"end_of_{phase.name}"] = treatment_end
    milestones["end_of_treatment"] = treatment_end
    if schedule.end is not None:
        last = np.minimum(last, after(start, schedule.end))
    segment_start = start.copy()
    columns: list[np.ndarray] = []
    for seg in schedule.segments:
        if seg.until is not None:  # an arm without the phase: the end of its treatment
            end = milestones.get(seg.until, milestones["end_of_treatment"])
        elif seg.until_time is not None:
            end = after(start, seg.until_time)
        elif seg.for_ is not None:
            end = after(segment_start, seg.for_)
        else:
            end = last
        end = np.minimum(end, last)
        active = end > segment_start
        span = int((end - segment_start).astype(np.int64).max(initial=0))
        k = np.arange(1, span // _approx_days(seg.every) + 2)
        when = after(segment_start[:, None], seg.every, k[None, :])
        columns.append(np.where(active[:, None] & (when <= end[:, None]), when, NAT))
        segment_start = np.where(active, end, segment_start)
    grid = np.concatenate(columns, axis=1) if columns else np.empty((len(start), 0), "datetime64[D]")
    grid = np.sort(grid, axis=1)  # NaT sorts last
    keep = ~np.isnat(grid).all(axis=0)
    return grid[:, keep]


def iso(dates: np.ndarray) -> np.ndarray:
    """ISO 8601 ``YYYY-MM-DD`` text of each date, ``None`` for ``NaT`` (an empty SDTM cell)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    text = np.datetime_as_string(dates, unit="D").astype(object)
    text[np.isnat(dates)] = None
    return text
