"""The vectorised assessment grid is the protocol's schedule, date for date."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical.adtte import scheduled_assessments
from oncotrial.protocol import Protocol
from oncotrial.protocol.schedule import add_months as protocol_add_months
from oncotrial.simulate.visits import add_months, iso, planned_assessments

LMS04 = Protocol.load("lms04")


@settings(max_examples=80, deadline=None)
@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(0, 400))
def test_add_months_matches_the_protocol_layer(start, months):
    got = add_months(np.array([start], dtype="datetime64[D]"), months)[0]
    assert got == np.datetime64(protocol_add_months(start, months))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.dates(date(2015, 1, 1), date(2030, 12, 31)), min_size=1, max_size=8),
       st.sampled_from(["DOX", "DOXTRAB"]))
def test_grid_equals_scheduled_assessments(dates, arm):
    grid = planned_assessments(LMS04, arm, np.array(dates, dtype="datetime64[D]"), 60)
    for row, start in zip(grid, dates, strict=True):
        expected = scheduled_assessments(LMS04, arm, start).astype("datetime64[D]")
        assert np.array_equal(row[~np.isnat(row)], expected)


def test_month_ends_and_a_long_horizon():
    starts = [date(2017, 1, 31), date(2016, 2, 29), date(2018, 8, 31)]
    grid = planned_assessments(LMS04, "DOXTRAB", np.array(starts, dtype="datetime64[D]"), 80)
    for row, start in zip(grid, starts, strict=True):
        plan = LMS04.schedule("DOXTRAB", start, horizon_months=80)
        expected = plan.loc[plan["event"] == "assessment", "date"].to_numpy("datetime64[D]")
        assert np.array_equal(row[~np.isnat(row)], expected)
    assert grid.shape[1] > 20  # past 60 months the 6-monthly scans continue to the horizon


def test_iso_leaves_missing_dates_empty():
    dates = np.array(["2020-02-29", "NaT"], dtype="datetime64[D]")
    assert iso(dates).tolist() == ["2020-02-29", None]
    assert iso(dates + np.timedelta64(1, "D"))[0] == (date(2020, 2, 29) + timedelta(1)).isoformat()
