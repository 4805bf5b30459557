"""Treatment delivery: cycles per phase, delays, dose reductions, discontinuations, surgery,
and the disposition (DS) records of each phase.

The protocol gives the regimen: one phase, or a first phase with ``max_cycles`` followed by a
second (each phase's drugs, doses, cycle length, reduction levels, and its maximum number of
cycles or none: given until progression); the scenario gives how it is delivered. Per
patient, cycle ``j`` (counted over the whole treatment, the first phase first) is planned
one cycle length after the previous one plus an occasional delay, and is given unless, by
its planned day:

* progression was observed (no cycle on or after the first PD scan, as in
  :func:`oncotrial.protocol.schedule.plan`), the patient died, or the data cut-off passed;
* the patient stopped for toxicity (a per-cycle probability, only for patients with a grade
  3-4 adverse event), for another reason (physician decision), or declined to start the
  second phase;
* the phase's maximum was reached (the treatment is then completed); a phase without a
  maximum runs until one of the above.

Dose reductions happen only in patients with a grade 3-4 adverse event (the event is placed
in the cycle before the reduction, :mod:`.adverse_events`): from a random cycle of the phase
the dose falls to the protocol's level -1, possibly later to level -2; a new phase starts at
the full dose. Surgery of residual disease may follow the last cycle of a first phase with
``max_cycles`` (all of them given, no progression); a second phase then starts four weeks
after the operation.

Disposition per phase started: ``COMPLETED`` (phase maximum reached; dated one cycle after the
last cycle), or the discontinuation decode (``PROGRESSIVE DISEASE`` on the PD scan date;
``ADVERSE EVENT``, ``PHYSICIAN DECISION``, ``WITHDRAWAL BY SUBJECT`` on the day the cycle
was due). A patient eligible for the second phase who does not start it gets a record of
that phase with the reason. Death during treatment has no phase record: the DEATH record says it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from oncotrial.core.results import Result

if TYPE_CHECKING:
    from oncotrial.protocol.models import Protocol
    from oncotrial.protocol.treatment import Phase
    from oncotrial.simulate.scenario import Scenario

__all__ = ["Reason", "TreatmentCourse", "simulate_treatment"]

#: days from the end of the first phase to surgery, and from surgery to the next cycle
SURGERY_AFTER_DAYS = (14, 42)
SURGERY_RECOVERY_DAYS = 28


class Reason:
    """Why treatment ended (codes of :attr:`TreatmentCourse.stop_reason`)."""

    COMPLETED = 0
    PROGRESSION = 1
    DEATH = 2
    CUTOFF = 3
    TOXICITY = 4
    OTHER = 5
    DECLINED = 6
    NOT_TREATED = 7

    #: DSDECOD of the reasons that end a phase with a disposition record
    DECODE: ClassVar[dict[int, str]] = {COMPLETED: "COMPLETED", PROGRESSION: "PROGRESSIVE DISEASE",
              TOXICITY: "ADVERSE EVENT", OTHER: "PHYSICIAN DECISION",
              DECLINED: "WITHDRAWAL BY SUBJECT", NOT_TREATED: "WITHDRAWAL BY SUBJECT"}


@dataclasses.dataclass(frozen=True, repr=False)
class TreatmentCourse(Result):
    """Treatment of every patient (days counted from randomisation).

    ``cycle_day`` and ``given`` are ``(n, J)`` (J = most cycles of any arm); ``dose_level``
    is 0 for the full dose, 1 or 2 for reduction levels -1 / -2; ``first_phase_cycles`` is the
    number of cycles of the first phase of the patient's arm (for a phase given until
    progression, more than the cut-off allows). ``stop_reason`` (:class:`Reason`)
    and ``stop_cycle`` (index of the first cycle not given). ``forced_event_cycle``: a cycle
    that must hold a grade 3-4 adverse event (before a reduction or a toxicity stop), -1 if
    none. ``dispositions``: phase records (``patient, DSDECOD, day, EPOCH``).
    ``withdrawal_day``: earliest discontinuation record (inf if none).
    """

    treated: np.ndarray
    cycle_day: np.ndarray
    given: np.ndarray
    dose_level: np.ndarray
    first_phase_cycles: np.ndarray
    stop_reason: np.ndarray
    stop_cycle: np.ndarray
    forced_event_cycle: np.ndarray
    surgery_day: np.ndarray
    surgery_primary: np.ndarray
    dispositions: pd.DataFrame
    withdrawal_day: np.ndarray

    @property
    def last_cycle_day(self) -> np.ndarray:
        """Day of the last cycle given (NaN if none)."""
        days = np.where(self.given, self.cycle_day, np.nan)
        out = np.full(len(days), np.nan)
        any_given = self.given.any(axis=1)
        out[any_given] = np.nanmax(days[any_given], axis=1)
        return out


def _phases(protocol: Protocol, arm: str) -> list[tuple[str, Phase]]:
    return [(phase.name, phase) for phase in protocol.regimen(arm).phases]


def _cycles(phase: Phase, cap: int) -> int:
    """Cycles of a phase: its maximum, or ``cap`` (enough to pass the cut-off) for a phase
    given until progression."""
    return phase.max_cycles if phase.max_cycles is not None else cap


def _first_true(matrix: np.ndarray) -> np.ndarray:
    """Column of the first True per row (every row must have one)."""
    return np.argmax(matrix, axis=1)


def simulate_treatment(scenario: Scenario, protocol: Protocol, arms: np.ndarray, *,
                       progression_day: np.ndarray, death_day: np.ndarray, cutoff_day: np.ndarray,
                       severe: np.ndarray, surgery_relative: np.ndarray,
                       rng: np.random.Generator) -> TreatmentCourse:
    """Cycles, doses, stops, surgery and dispositions (see the module docstring).

    ``progression_day``: day of the first PD scan (inf if none); ``death_day``: latent death
    (days, may be after the cut-off); ``cutoff_day``: cut-off in days from randomisation;
    ``severe``: the patient has a grade 3-4 adverse event; ``surgery_relative``: how many
    times as likely surgery is for each patient (the scenario's ``surgery_relative``).
    """
    n = len(arms)
    spec = scenario.treatment
    structure = {code: _phases(protocol, code) for code in spec.arms}
    shortest = min(p.cycle_length_days for phases in structure.values() for _, p in phases)
    cap = int(np.max(cutoff_day, initial=0.0)) // shortest + 2
    n_total = np.array([sum(_cycles(p, cap) for _, p in structure[a]) for a in arms], dtype=np.int64)
    n_ind = np.array([_cycles(structure[a][0][1], cap) for a in arms], dtype=np.int64)
    width = int(n_total.max())
    j = np.arange(width)
    second = j[None, :] >= n_ind[:, None]
    length = np.empty((n, width))
    p_delay = np.empty(n)
    delay_days = np.empty(n)
    tox = np.empty((n, width))
    other = np.empty((n, width))
    declined = np.zeros(n)
    reduce_p = np.zeros((n, 2))
    treated = np.ones(n, dtype=bool)
    u = rng.random((4, n))
    u_cycle = rng.random((3, n, width))
    for code, arm_spec in spec.arms.items():
        on = arms == code
        phases = structure[code]
        lengths = np.concatenate([np.full(_cycles(p, cap), p.cycle_length_days) for _, p in phases])
        length[on] = np.pad(lengths, (0, width - len(lengths)), constant_values=lengths[-1])
        p_delay[on] = arm_spec.delay.probability
        delay_days[on] = arm_spec.delay.days
        treated[on] = u[0, on] >= arm_spec.not_treated
        delivery = [arm_spec.first_phase, arm_spec.second_phase or arm_spec.first_phase]
        tox[on] = np.where(second[on], delivery[1].toxicity_stop, delivery[0].toxicity_stop)
        other[on] = np.where(second[on], delivery[1].other_stop, delivery[0].other_stop)
        declined[on] = delivery[1].declined if arm_spec.second_phase is not None else 0.0
        reduce_p[on] = [delivery[0].reduction, delivery[1].reduction]

    delays = np.where(u_cycle[0] < p_delay[:, None], delay_days[:, None], 0.0)
    delays[:, 0] = 0.0
    offsets = np.concatenate([np.zeros((n, 1)), np.cumsum(length[:, :-1], axis=1)], axis=1)
    day = offsets + np.cumsum(delays, axis=1)
    stop_tox = severe[:, None] & (u_cycle[1] < tox) & (j[None, :] >= 1)
    stop_other = (u_cycle[2] < other) & (j[None, :] >= 1)
    stop_declined = (j[None, :] == n_ind[:, None]) & (u[1] < declined)[:, None]

    def first_failure(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        events = np.minimum(progression_day, death_day)
        fail_event = days >= events[:, None]
        fail_cut = days > cutoff_day[:, None]
        fail_max = j[None, :] >= n_total[:, None]
        fail = fail_event | fail_cut | fail_max | stop_tox | stop_other | stop_declined
        fail = np.concatenate([fail, np.ones((n, 1), dtype=bool)], axis=1)
        first = _first_true(fail)
        due = np.take_along_axis(np.concatenate([days, days[:, -1:] + length[:, -1:]], axis=1),
                                 first[:, None], axis=1)[:, 0]
        rows = np.arange(n)

        def at_first(matrix: np.ndarray) -> np.ndarray:
            return np.concatenate([matrix, np.zeros((n, 1), dtype=bool)], axis=1)[rows, first]

        reason = np.full(n, Reason.COMPLETED)
        reason = np.where(at_first(stop_other), Reason.OTHER, reason)
        reason = np.where(at_first(stop_tox), Reason.TOXICITY, reason)
        reason = np.where(at_first(stop_declined), Reason.DECLINED, reason)
        reason = np.where(due > cutoff_day, Reason.CUTOFF, reason)
        reason = np.where(death_day <= due, Reason.DEATH, reason)
        reason = np.where((progression_day <= due) & (progression_day <= death_day),
                          Reason.PROGRESSION, reason)
        reason = np.where(first >= n_total, Reason.COMPLETED, reason)
        return first, reason

    first, _ = first_failure(day)
    completed_first = treated & (first >= n_ind)
    rows = np.arange(n)
    end_first = day[rows, n_ind - 1] + length[rows, n_ind - 1]
    surgery_day = np.full(n, np.nan)
    p_surgery = np.array([spec.arms[a].surgery for a in arms])
    p_surgery = p_surgery * surgery_relative  # <= 1, validated
    planned = end_first + rng.integers(SURGERY_AFTER_DAYS[0], SURGERY_AFTER_DAYS[1] + 1, n)
    operate = (completed_first & (u[2] < p_surgery) & (planned < progression_day)
               & (planned < death_day) & (planned <= cutoff_day))
    surgery_day[operate] = planned[operate]
    surgery_primary = operate & (u[3] < spec.surgery_primary)
    shift = np.where(operate, planned + SURGERY_RECOVERY_DAYS - end_first, 0.0)
    day = day + np.where(second, shift[:, None], 0.0)
    first, reason = first_failure(day)
    first = np.where(treated, first, 0)
    reason = np.where(treated, reason, Reason.NOT_TREATED)
    given = j[None, :] < first[:, None]

    # dose reductions, per phase, in patients with a grade 3-4 event and >= 2 cycles of the phase
    level = np.zeros((n, width), dtype=np.int64)
    forced = np.full(n, -1)
    u_red = rng.random((2, 4, n))
    for phase in (1, 0):  # the first phase last, so its reduction wins the forced event
        pick, position, twice, position2 = u_red[phase]
        in_phase = given & (second if phase else ~second)
        count = in_phase.sum(axis=1)
        start = np.where(phase, n_ind, 0)
        eligible = severe & (count >= 2) & (pick < reduce_p[:, phase])
        at = start + 1 + np.floor(position * (count - 1)).astype(np.int64)  # 2nd..last cycle of phase
        again = eligible & (at < start + count - 1) & (twice < spec.second_reduction)
        at2 = at + 1 + np.floor(position2 * (start + count - 1 - at)).astype(np.int64)
        level += (eligible[:, None] & (j[None, :] >= at[:, None]) & in_phase).astype(np.int64)
        level += (again[:, None] & (j[None, :] >= at2[:, None]) & in_phase).astype(np.int64)
        forced = np.where(eligible, at - 1, forced)
    forced = np.where(reason == Reason.TOXICITY, first - 1, forced)

    dispositions, withdrawal = _dispositions(arms, n_ind, first, reason, day, length,
                                             progression_day, death_day, cutoff_day, structure)
    return TreatmentCourse(treated, day, given, level, n_ind, reason, first, forced,
                           surgery_day, surgery_primary, dispositions, withdrawal)


def _dispositions(arms: np.ndarray, n_ind: np.ndarray, first: np.ndarray,
                  reason: np.ndarray, day: np.ndarray, length: np.ndarray,
                  progression_day: np.ndarray, death_day: np.ndarray, cutoff_day: np.ndarray,
                  structure: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """One record per phase started (or refused), see the module docstring."""
    n = len(arms)
    rows = np.arange(n)
    has_second = np.array([len(structure[a]) > 1 for a in arms])
    last = np.clip(first - 1, 0, None)
    due = np.where(first < day.shape[1], day[rows, np.minimum(first, day.shape[1] - 1)],
                   day[rows, last] + length[rows, last])
    end_of_phase = day[rows, last] + length[rows, last]
    limit = np.minimum(np.floor(death_day), cutoff_day)
    stop_day = np.select([reason == Reason.PROGRESSION, reason == Reason.COMPLETED,
                          reason == Reason.NOT_TREATED],
                         [progression_day, np.minimum(end_of_phase, limit), np.minimum(7.0, limit)],
                         default=due)
    recorded = np.isin(reason, list(Reason.DECODE))
    decode = np.array([Reason.DECODE.get(int(r), "") for r in reason], dtype=object)
    in_second = has_second & (first >= n_ind)
    records = []
    # the phase in which treatment stopped (or the second phase refused / completed): EPOCH is
    # the protocol's phase name in upper case
    first_name = np.array([structure[a][0][0].upper() for a in arms], dtype=object)
    second_name = np.array([structure[a][-1][0].upper() for a in arms], dtype=object)
    epoch = np.where(in_second, second_name, first_name)
    records.append(pd.DataFrame({"patient": rows[recorded], "DSDECOD": decode[recorded],
                                 "day": stop_day[recorded], "EPOCH": epoch[recorded]}))
    # the first phase completed before a second phase
    done = in_second & (reason != Reason.NOT_TREATED)
    ind_end = np.minimum(day[rows, n_ind - 1] + length[rows, n_ind - 1], limit)
    records.append(pd.DataFrame({"patient": rows[done], "DSDECOD": "COMPLETED",
                                 "day": ind_end[done], "EPOCH": first_name[done]}))
    frame = pd.concat(records, ignore_index=True).sort_values(["patient", "day"], kind="stable")
    discontinued = recorded & (reason != Reason.COMPLETED)
    withdrawal = np.where(discontinued, stop_day, np.inf)
    return frame.reset_index(drop=True), withdrawal
