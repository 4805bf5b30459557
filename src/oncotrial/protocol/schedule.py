"""Planned events of one patient: cycle starts per phase and tumour assessments.

Conventions (the protocol text leaves them open, so they are fixed here):

- cycle 1 of the first phase starts on the randomisation date (day 0); each cycle starts
  one cycle length after the previous one; each phase follows the last cycle of the
  previous one, in the regimen's order;
- ``cycle_delays`` maps a cycle to the days it was postponed: the delay moves that cycle
  and every later one (of every phase). Keys are ``(phase, n)`` or an int counting cycles
  over the whole treatment (e.g. induction 1-6, then maintenance 7, 8, ...);
- treatment stops at progression: no cycle starts on or after ``progression_date``;
- an open-ended phase ("until progression", no ``max_cycles``) runs until progression,
  ``end_date`` (e.g. the data cut-off) or ``horizon_months`` after randomisation, whichever
  comes first, unless ``cycles`` gives its number of cycles: the schedule is always finite;
- assessments are counted **from randomisation**, not from cycles: a delayed cycle does
  not move the assessment grid (RECIST scans at fixed times from randomisation keep the
  arms' assessment times comparable, which PFS needs). A segment's assessments fall at
  ``segment start + k * interval`` (k = 1, 2, ...) up to and including its end; the first
  segment starts at randomisation and each next one where the previous one ended.
  Milestones ``end_of_<phase>`` / ``end_of_treatment`` are the end of the last cycle of
  that phase / of all treatment (its start + cycle length), so they do follow delays; an
  arm without the named phase reaches the milestone at the end of its treatment;
- assessments stop after ``progression_date``, ``end_date``, the schedule's declared
  ``end``, or ``horizon_months`` after randomisation, whichever comes first.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from oncotrial.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from oncotrial.protocol.assessments import Duration
    from oncotrial.protocol.models import Protocol
    from oncotrial.protocol.treatment import Phase

COLUMNS = ["date", "day", "event", "phase", "cycle", "label"]


def add_months(start: date, months: int) -> date:
    """Same day of the month ``months`` later, clamped to the month's last day."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month,
                         day=min(start.day, calendar.monthrange(year, month)[1]))


def _after(start: date, duration: Duration, times: int = 1) -> date:
    if duration.months is not None:
        return add_months(start, duration.months * times)
    if duration.days is not None:
        return start + timedelta(days=duration.days * times)
    assert duration.weeks is not None
    return start + timedelta(days=duration.weeks * 7 * times)


def _as_date(name: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{name}: expected a date, got {type(value).__name__} {value!r}")


def plan(protocol: Protocol, arm: str, randomisation_date: date, *,
         cycle_delays: Mapping[Any, int] | None = None,
         cycles: Mapping[str, int] | None = None,
         progression_date: date | None = None,
         end_date: date | None = None,
         horizon_months: int = 60) -> pd.DataFrame:
    """One row per planned event (columns ``date, day, event, phase, cycle, label``).

    ``cycles`` gives the number of cycles actually given per phase (default: the phase's
    maximum, or until the end of the schedule for an open-ended phase); ``day`` counts days
    from randomisation (day 0).
    """
    start = _as_date("randomisation_date", randomisation_date)
    progression = None if progression_date is None else _as_date("progression_date",
                                                                 progression_date)
    if progression is not None and progression < start:
        raise InputError(f"progression_date: {progression} is before randomisation {start}",
                         field="progression_date")
    end = None if end_date is None else _as_date("end_date", end_date)
    if end is not None and end < start:
        raise InputError(f"end_date: {end} is before randomisation {start}", field="end_date")
    stop = min((d for d in (progression, end) if d is not None), default=None)
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int):
        raise TypeError(f"horizon_months: expected a positive integer, got {horizon_months!r}")
    if horizon_months <= 0:
        raise InputError(f"horizon_months: expected a positive integer, got {horizon_months!r}",
                         field="horizon_months")

    rows = _planned_rows(protocol, arm, start, cycle_delays, cycles, stop, horizon_months)
    order = {"randomisation": 0, "cycle": 1, "assessment": 2}
    rows.sort(key=lambda r: (r[0], order[r[1]]))
    import pandas as pd  # only here: importing the protocol stays light for the command line

    frame = pd.DataFrame(rows, columns=["date", "event", "phase", "cycle", "label"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame.insert(1, "day", (frame["date"] - pd.Timestamp(start)).dt.days)
    frame["cycle"] = frame["cycle"].astype("Int64")
    return frame[COLUMNS]


def assessment_dates(protocol: Protocol, arm: str, randomisation_date: date, *,
                     horizon_months: int = 60) -> list[date]:
    """The planned tumour-assessment dates of :func:`plan` (no delays, full cycles), without
    building a frame: derivations call this once per subject."""
    start = _as_date("randomisation_date", randomisation_date)
    rows = _planned_rows(protocol, arm, start, None, None, None, horizon_months)
    return sorted(r[0] for r in rows if r[1] == "assessment")


def _planned_rows(protocol: Protocol, arm: str, start: date,
                  cycle_delays: Mapping[Any, int] | None, cycles: Mapping[str, int] | None,
                  progression: date | None, horizon_months: int,
                  ) -> list[tuple[date, str, str | None, int | None, str]]:
    """Unsorted ``(date, event, phase, cycle, label)`` rows of :func:`plan`."""
    regimen = protocol.regimen(arm)
    phases = [(p.name, p) for p in regimen.phases]
    last = add_months(start, horizon_months)
    counts = _cycle_counts(cycles, phases, arm, start, last)
    delays = _delays(cycle_delays, [(name, counts[name]) for name, _ in phases])

    rows: list[tuple[date, str, str | None, int | None, str]] = [
        (start, "randomisation", None, None, "randomisation")]
    planned = start
    ends: dict[str, date] = {"end_of_treatment": start}
    for name, spec in phases:
        for n in range(1, counts[name] + 1):
            planned += timedelta(days=delays.get((name, n), 0))
            if progression is not None and planned >= progression:
                break  # no later cycle either: the next phase starts after this one
            if spec.open_ended and planned >= last:
                break
            rows.append((planned, "cycle", name, n, f"{name} cycle {n}"))
            planned += timedelta(days=spec.cycle_length_days)
            ends["end_of_treatment"] = ends[f"end_of_{name}"] = planned

    def milestone(until: str) -> date:
        return ends.get(until, ends["end_of_treatment"])

    schedule = protocol.assessments
    if schedule.end is not None:
        last = min(last, _after(start, schedule.end))
    if progression is not None:
        last = min(last, progression)
    segment_start = start
    for seg in schedule.segments:
        if seg.until is not None:
            end = milestone(seg.until)
        elif seg.until_time is not None:
            end = _after(start, seg.until_time)
        elif seg.for_ is not None:
            end = _after(segment_start, seg.for_)
        else:
            end = last
        end = min(end, last)
        if end <= segment_start:
            continue
        k = 1
        while (when := _after(segment_start, seg.every, k)) <= end:
            rows.append((when, "assessment", None, None, seg.label or f"every {seg.every}"))
            k += 1
        segment_start = end

    return rows

def _cycle_counts(cycles: Mapping[str, int] | None, phases: list[tuple[str, Phase]], arm: str,
                  start: date, last: date) -> dict[str, int]:
    """Cycles per phase: ``cycles``, else the maximum, else (open-ended) as many as fit
    between randomisation and ``last`` (the loop stops at ``last`` anyway)."""
    fit = (last - start).days + 1
    counts = {name: spec.max_cycles if spec.max_cycles is not None
              else fit // spec.cycle_length_days + 1 for name, spec in phases}
    for name, n in (cycles or {}).items():
        if name not in counts:
            raise InputError(f"cycles: arm {arm} has no {name!r} phase "
                             f"(phases: {', '.join(counts)})", field="cycles")
        spec = dict(phases)[name]
        upper = spec.max_cycles
        if isinstance(n, bool) or not isinstance(n, int) or n < 0 or (
                upper is not None and n > upper):
            expected = f"from 0 to {upper}" if upper is not None else "0 or more"
            raise InputError(f"cycles[{name!r}]: expected an integer {expected}, got {n!r}",
                             field="cycles")
        counts[name] = n
    return counts


def _delays(cycle_delays: Mapping[Any, int] | None,
            phases: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    overall = [(name, n) for name, count in phases for n in range(1, count + 1)]
    out: dict[tuple[str, int], int] = {}
    for key, days in (cycle_delays or {}).items():
        if isinstance(key, int) and not isinstance(key, bool):
            if not 1 <= key <= len(overall):
                raise InputError(f"cycle_delays: cycle {key} is not given "
                                 f"(cycles 1 to {len(overall)})", field="cycle_delays")
            target = overall[key - 1]
        elif isinstance(key, tuple) and tuple(key) in overall:
            target = tuple(key)
        else:
            raise InputError(f"cycle_delays: a key is a cycle number or a (phase, cycle) "
                             f"pair that is given, got {key!r}", field="cycle_delays")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise InputError(f"cycle_delays[{key!r}]: expected a non-negative whole number of "
                             f"days, got {days!r}", field="cycle_delays")
        out[target] = out.get(target, 0) + days
    return out
