"""Property tests: BSA monotone, doses linear in BSA below the cap, schedules increasing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.protocol import Protocol, body_surface_area

LMS04 = Protocol.load("lms04")
heights = st.floats(100, 220)
weights = st.floats(30, 200)
methods = st.sampled_from(["mosteller", "dubois"])


@given(heights, heights, weights, methods)
def test_bsa_monotone_in_height(h1, h2, w, method):
    lo, hi = sorted((h1, h2))
    assert body_surface_area(lo, w, method) <= body_surface_area(hi, w, method)


@given(heights, weights, weights, methods)
def test_bsa_monotone_in_weight(h, w1, w2, method):
    lo, hi = sorted((w1, w2))
    assert body_surface_area(h, lo, method) <= body_surface_area(h, hi, method)


@given(heights, weights, st.sampled_from(["DOX", "DOXTRAB"]))
def test_doses_scale_linearly_with_bsa_below_the_cap(h, w, arm):
    bsa = body_surface_area(h, w)
    cap = 2.2
    rows = LMS04.doses(arm, "induction", height_cm=h, weight_kg=w, bsa_cap=cap,
                       bsa_decimals=None, dose_decimals=None)
    spec = LMS04.regimen(arm).induction
    for row, drug in zip(rows, spec.drugs + spec.supportive_care):
        scale = min(bsa, cap) if drug.unit.endswith("/m2") else 1.0
        assert row.dose == pytest.approx(drug.dose * scale)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["DOX", "DOXTRAB"]),
       st.dates(date(2015, 1, 1), date(2025, 12, 31)),
       st.dictionaries(st.integers(1, 6), st.integers(0, 30), max_size=3),
       st.one_of(st.none(), st.integers(1, 2000)))
def test_schedule_dates_strictly_increasing(arm, start, delays, progression_day):
    progression = None if progression_day is None else start + timedelta(days=progression_day)
    plan = LMS04.schedule(arm, start, cycle_delays=delays, progression_date=progression)
    for event in ("cycle", "assessment"):
        dates = plan[plan.event == event].date
        assert dates.is_monotonic_increasing and dates.is_unique
    assert plan.date.is_monotonic_increasing
    assert (plan.day >= 0).all()
