"""Shared input checks: every bad input names the argument and the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncotrial.core.errors import InputError
from oncotrial.core.validation import as_event, as_groups, as_time, as_weights, survival_arrays
from oncotrial.stats import SAS, ChiSquareTest, R
from oncotrial.stats.conventions import resolve_convention
from oncotrial.stats.ties import timefix


@pytest.mark.parametrize("bad,what", [(-1.0, "negative"), (np.nan, "missing"), (np.inf, "infinite")])
def test_time_errors_name_rows(bad, what):
    with pytest.raises(InputError, match=rf"time: .*{what}.*rows \[3\] \(1 row\)") as info:
        as_time([1.0, 2.0, bad])
    assert info.value.field == "time"


def test_rows_are_1_based_positions_whatever_the_index():
    """A user finds row 2 under the header of the spreadsheet, not the pandas label 11."""
    s = pd.Series([1.0, -3.0, 2.0, -1.0], index=[10, 11, 12, 13], name="months")
    with pytest.raises(InputError, match=r"^time \('months'\): .*rows \[2, 4\] \(2 rows\)"):
        as_time(s)


def test_many_bad_rows_are_abbreviated():
    with pytest.raises(InputError, match=r"rows \[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, \.\.\.\] \(25 rows\)"):
        as_time(-np.ones(25))


def test_bare_categorical_keeps_declared_order():
    codes, levels = as_groups(pd.Categorical(["ctl", "exp", "ctl"], categories=["exp", "ctl"]))
    assert levels == ["exp", "ctl"] and codes.tolist() == [1, 0, 1]


def test_non_numeric_time():
    with pytest.raises(InputError, match=r"time: expected numbers, .*rows \[2\].*'abc'"):
        as_time(np.array([1, "abc"], dtype=object))


def test_event_values():
    assert as_event([True, False]).tolist() == [1.0, 0.0]
    assert as_event([0, 1, 1.0]).tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(InputError, match=r"status: expected 0/1 or boolean event indicators, got 2 at rows \[2\]"):
        as_event([1, 2, 0], "status")
    with pytest.raises(InputError, match=r"event: .*rows \[1\]"):
        as_event([np.nan, 1])


def test_lengths_and_empty():
    with pytest.raises(InputError, match="length mismatch: time has 3, event has 2 rows"):
        survival_arrays([1, 2, 3], [1, 0])
    with pytest.raises(InputError, match="time: empty input"):
        survival_arrays([], [])


def test_weights():
    assert as_weights(None, 3).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(InputError, match=r"weights: expected finite non-negative case weights.*rows \[2\]"):
        as_weights([1.0, -2.0], 2)
    with pytest.raises(InputError, match="length mismatch"):
        as_weights([1.0], 2)


def test_groups():
    codes, levels = as_groups(pd.Series(["b", "a", "b"]))
    assert levels == ["a", "b"] and codes.tolist() == [1, 0, 1]
    cat = pd.Series(pd.Categorical(["ctl", "exp", "ctl"], categories=["exp", "ctl", "unused"]))
    codes, levels = as_groups(cat)
    assert levels == ["exp", "ctl"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(InputError, match=r"arm: expected at least 2 distinct levels, got 1"):
        as_groups(["A", "A"], "arm")
    with pytest.raises(InputError, match=r"arm: expected a value for every row, got missing values at rows \[2\]"):
        as_groups(["A", None, "B"], "arm")


def test_timefix_merges_roundoff_only():
    t = np.array([1.0, 1 / 3 * 3, 0.1 + 0.2, 0.3, 2.0, 2.5])
    fixed = timefix(t)
    assert np.unique(fixed).size == 4
    assert fixed[2] == fixed[3] and fixed[0] == fixed[1]
    assert timefix(np.array([1.0, 2.0])).tolist() == [1.0, 2.0]


@given(st.lists(st.integers(0, 500), min_size=1, max_size=50))
def test_timefix_leaves_integer_days_alone(days):
    t = np.array(days, dtype=float)
    assert np.array_equal(timefix(t), t)


def test_conventions():
    assert resolve_convention("SAS") is SAS and resolve_convention(R) is R
    assert (R.conf_type, R.ties, SAS.conf_type, SAS.ties) == ("log", "efron", "log-log", "breslow")
    with pytest.raises(InputError, match="convention: expected one of"):
        resolve_convention("stata")


def test_result_base():
    r = ChiSquareTest(stat=3.84, df=1, p=0.05)
    assert repr(r) == "ChiSquareTest(stat=3.84, df=1, p=0.05)"
    assert r.to_dict() == {"stat": 3.84, "df": 1, "p": 0.05}
    assert r.to_frame().to_dict("records") == [{"stat": 3.84, "df": 1, "p": 0.05}]
    assert ChiSquareTest(float("nan"), 1, float("nan")).to_dict()["p"] is None


def test_to_dict_is_json_safe():
    """NaN and infinities become null, numpy scalars Python numbers, dates ISO strings:
    ``json.dumps`` accepts every result without a helper."""
    import json

    from oncotrial.core.results import json_safe

    value = {"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf, -np.inf, np.float32(0.5)],
             "d": pd.Timestamp("2023-01-31"), "e": pd.NaT, "f": np.bool_(True),
             "g": pd.DataFrame({"x": [1.0, np.nan]})}
    out = json_safe(value)
    assert out == {"a": None, "b": 3, "c": [None, None, 0.5], "d": "2023-01-31T00:00:00",
                   "e": None, "f": True, "g": [{"x": 1.0}, {"x": None}]}
    assert type(out["b"]) is int and type(out["f"]) is bool
    json.dumps(out, allow_nan=False)
    json.dumps(ChiSquareTest(np.float64(1.0), np.int64(1), float("nan")).to_dict(), allow_nan=False)
