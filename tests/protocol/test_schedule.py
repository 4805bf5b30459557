"""Schedules: cycle starts per phase and assessments from randomisation, with concrete dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from protocol_fixtures import data, lms04  # noqa: F401 (pytest fixtures)

from oncotrial.core.errors import InputError

R = date(2017, 1, 2)


def days(frame, event, phase=None):
    rows = frame[frame.event == event]
    if phase is not None:
        rows = rows[rows.phase == phase]
    return rows.day.tolist()


def test_doxorubicin_arm_without_delays(lms04):
    plan = lms04.schedule("DOX", R)
    assert list(plan.columns) == ["date", "day", "event", "phase", "cycle", "label"]
    assert plan.iloc[0].event == "randomisation" and plan.iloc[0].day == 0
    assert days(plan, "cycle", "induction") == [0, 21, 42, 63, 84, 105]
    assert days(plan, "cycle", "maintenance") == []
    assessments = plan[plan.event == "assessment"]
    # every 6 weeks up to the end of induction (day 126), then every 9 weeks to 24 months
    assert assessments.day.tolist()[:12] == [42, 84, 126, 189, 252, 315, 378, 441, 504,
                                             567, 630, 693]
    # then every 3 months from 2019-01-02 for a year, then every 6 months to 60 months
    later = [d.date() for d in assessments.date.iloc[12:]]
    assert later == [date(2019, 4, 2), date(2019, 7, 2), date(2019, 10, 2), date(2020, 1, 2),
                     date(2020, 7, 2), date(2021, 1, 2), date(2021, 7, 2), date(2022, 1, 2)]
    assert set(assessments.label) == {"during treatment", "maintenance or follow-up",
                                      "follow-up", "long-term follow-up"}


def test_trabectedin_arm_has_17_maintenance_cycles(lms04):
    plan = lms04.schedule("DOXTRAB", R)
    assert days(plan, "cycle", "maintenance") == [126 + 21 * k for k in range(17)]
    assert plan[plan.event == "cycle"].cycle.tolist() == list(range(1, 7)) + list(range(1, 18))


def test_delay_of_cycle_3_moves_all_later_cycles(lms04):
    plan = lms04.schedule("DOXTRAB", R, cycle_delays={3: 7})
    assert days(plan, "cycle", "induction") == [0, 21, 49, 70, 91, 112]
    assert days(plan, "cycle", "maintenance") == [133 + 21 * k for k in range(17)]
    # assessments are counted from randomisation: the 6-weekly ones do not move; the
    # 9-weekly segment starts at the (delayed) end of induction, day 133
    assert days(plan, "assessment")[:5] == [42, 84, 126, 196, 259]
    same = lms04.schedule("DOXTRAB", R, cycle_delays={("induction", 3): 7})
    assert same.equals(plan)


def test_maintenance_delay_and_cycle_counts(lms04):
    plan = lms04.schedule("DOXTRAB", R, cycle_delays={("maintenance", 2): 3, 1: 2},
                          cycles={"induction": 6, "maintenance": 3})
    assert days(plan, "cycle", "induction") == [2, 23, 44, 65, 86, 107]
    assert days(plan, "cycle", "maintenance") == [128, 152, 173]
    short = lms04.schedule("DOX", R, cycles={"induction": 4})
    assert days(short, "cycle") == [0, 21, 42, 63]
    # end of induction at day 84: 6-weekly to day 84, then 9-weekly from day 84
    assert days(short, "assessment")[:4] == [42, 84, 147, 210]


def test_progression_stops_treatment_and_assessments(lms04):
    progression = R + timedelta(days=200)
    plan = lms04.schedule("DOXTRAB", R, progression_date=progression)
    assert days(plan, "cycle", "maintenance") == [126, 147, 168, 189]
    assert days(plan, "assessment") == [42, 84, 126, 189]
    early = lms04.schedule("DOXTRAB", R, progression_date=R + timedelta(days=50))
    assert days(early, "cycle") == [0, 21, 42]
    assert days(early, "assessment") == [42]


def test_declared_end_and_horizon(data):
    from oncotrial.protocol import Protocol
    data["assessments"]["end"] = {"months": 36}
    protocol = Protocol.from_dict(data)
    plan = protocol.schedule("DOX", R)
    assert plan.date.iloc[-1].date() == date(2020, 1, 2)  # 36 months, inclusive
    short = protocol.schedule("DOX", R, horizon_months=6)
    assert short.date.max().date() <= date(2017, 7, 2)


def test_month_ends_are_clamped(lms04):
    plan = lms04.schedule("DOX", date(2016, 8, 31), cycles={"induction": 1})
    monthly = plan[plan.label == "follow-up"].date.dt.date.tolist()
    assert monthly[0] == date(2018, 11, 30)


@pytest.mark.parametrize("kwargs, field, message", [
    ({"arm": "X"}, "arm", "arm: expected one of DOX, DOXTRAB, got 'X'"),
    ({"cycle_delays": {7: 3}}, "cycle_delays",
     r"cycle_delays: cycle 7 is not given \(cycles 1 to 6\)"),
    ({"cycle_delays": {("maintenance", 1): 3}}, "cycle_delays",
     r"cycle_delays: a key is a cycle number or a \(phase, cycle\) pair"),
    ({"cycle_delays": {2: -1}}, "cycle_delays",
     "expected a non-negative whole number of days, got -1"),
    ({"cycles": {"maintenance": 2}}, "cycles", "cycles: arm DOX has no 'maintenance' phase"),
    ({"cycles": {"induction": 7}}, "cycles",
     r"cycles\['induction'\]: expected an integer from 0 to 6"),
    ({"progression_date": date(2016, 12, 1)}, "progression_date", "is before randomisation"),
    ({"horizon_months": 0}, "horizon_months", "horizon_months: expected a positive integer"),
])
def test_schedule_errors(lms04, kwargs, field, message):
    args = {"arm": "DOX", "randomisation_date": R} | kwargs
    with pytest.raises(InputError, match=message) as exc:
        lms04.schedule(args.pop("arm"), args.pop("randomisation_date"), **args)
    assert exc.value.field == field


@pytest.mark.parametrize("kwargs, message", [
    ({"randomisation_date": "2017-01-02"}, "randomisation_date: expected a date, got str"),
    ({"horizon_months": 1.5}, "horizon_months: expected a positive integer"),
])
def test_schedule_type_errors(lms04, kwargs, message):
    args = {"arm": "DOX", "randomisation_date": R} | kwargs
    with pytest.raises(TypeError, match=message):
        lms04.schedule(args.pop("arm"), args.pop("randomisation_date"), **args)
