"""Bad input to every survival estimator: the exact error class, the argument (``field``),
the column and the 1-based data rows, never a silent coercion or a nonsense estimate."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from oncotrial.core.errors import InputError
from oncotrial.stats import (
    coxph,
    kaplan_meier,
    logrank_test,
    median_followup,
    rmst_difference,
)

TIME = [5.0, 8.0, 12.0, 3.0, 9.0, 14.0]
EVENT = [1, 0, 1, 1, 0, 1]
GROUP = ["a", "b", "a", "b", "a", "b"]


def _km(time, event, **kw):
    return kaplan_meier(time, event, **kw)


def _logrank(time, event, **kw):
    return logrank_test(time, event, GROUP[:len(time)], **kw)


def _rmst(time, event, **kw):
    return rmst_difference(time, event, GROUP[:len(time)], tau=10.0, **kw)


def _followup(time, event, **kw):
    return median_followup(time, event, **kw)


def _cox(time, event, **kw):
    frame = pd.DataFrame({"time": pd.Series(time, dtype=object if _texty(time) else None),
                          "event": pd.Series(event, dtype=object if _texty(event) else None),
                          "arm": [0, 1, 0, 1, 0, 1]})
    return coxph(frame, time="time", event="event", covariates=["arm"], **kw)


def _texty(values) -> bool:
    return any(isinstance(v, (str, bool)) for v in values)


ENTRY_POINTS = [_km, _logrank, _rmst, _followup, _cox]
ids = ["kaplan_meier", "logrank_test", "rmst_difference", "median_followup", "coxph"]


def _raises(cls, fn, *, field, pattern):
    with pytest.raises(cls) as info:
        fn()
    assert type(info.value) is cls, type(info.value)
    assert re.search(pattern, str(info.value)), str(info.value)
    if field is not None:
        assert info.value.field == field
    return info.value


# ------------------------------------------------------------------- time and event values
@pytest.mark.parametrize("fit", ENTRY_POINTS, ids=ids)
@pytest.mark.parametrize(("time", "event", "field", "pattern"), [
    ([5.0, "8", 12.0, 3.0, 9.0, 14.0], EVENT, "time",
     r"^time: expected numbers, got non-numeric values at rows \[2\] \(1 row\) \(first: '8'\)"),
    (TIME, [1, 0, "1", 1, 0, 1], "event",
     r"^event: expected numbers, got non-numeric values at rows \[3\] \(1 row\) \(first: '1'\)"),
    ([True, False, True, True, False, True], EVENT, "time",
     r"^time: expected numbers, got booleans \(True/False\) at rows \[1, 2, 3, 4, 5, 6\]"),
    ([5.0, 8.0, np.nan, 3.0, np.nan, 14.0], EVENT, "time",
     r"^time: expected finite non-negative times, got missing \(NaN\) values at rows \[3, 5\]"),
    ([5.0, 8.0, 12.0, -3.0, 9.0, 14.0], EVENT, "time",
     r"^time: expected finite non-negative times, got negative values at rows \[4\]"),
    (TIME, [1, 0, 1, 1, 0, 2], "event",
     r"^event: expected 0/1 or boolean event indicators, got 2 at rows \[6\]"),
])
def test_bad_time_or_event_values(fit, time, event, field, pattern):
    if fit is _cox and not _texty(time) and not _texty(event) and np.isnan(np.asarray(time, float)).any():
        # a data frame cell can be missing: coxph reports it as such, naming the rows
        pattern = r"^time: missing values at rows \[3, 5\]"
    _raises(InputError, lambda: fit(time, event), field=field, pattern=pattern)


def test_named_series_put_the_column_in_the_message():
    frame = pd.DataFrame({"pfs_months": [5.0, -8.0, 12.0], "pfs_event": [1, 0, 1]})
    _raises(InputError, lambda: kaplan_meier(frame["pfs_months"], frame["pfs_event"]), field="time",
            pattern=r"^time \('pfs_months'\): .*negative values at rows \[2\]")


def test_rows_are_positions_not_the_index_labels():
    frame = pd.DataFrame({"t": [5.0, 8.0, -1.0], "e": [1, 0, 1]}, index=[100, 200, 300])
    _raises(InputError, lambda: kaplan_meier(frame["t"], frame["e"]), field="time",
            pattern=r"rows \[3\] \(1 row\)")
    _raises(InputError, lambda: coxph(frame.assign(x=[1.0, 2.0, 3.0]), time="t", event="e",
                                      covariates=["x"]),
            field="time", pattern=r"^t: .*negative values at rows \[3\]")


# ------------------------------------------------------------------------------ weights
def test_all_zero_weights_are_refused():
    _raises(InputError, lambda: kaplan_meier(TIME, EVENT, weights=[0.0] * 6), field="weights",
            pattern=r"^weights: every case weight is 0 \(rows 1 to 6\)")


def test_some_zero_weights_are_allowed_but_not_negative_ones():
    assert kaplan_meier(TIME, EVENT, weights=[0, 1, 1, 1, 1, 1]).n == 6
    _raises(InputError, lambda: kaplan_meier(TIME, EVENT, weights=[1, 1, -1, 1, 1, np.nan]),
            field="weights", pattern=r"^weights: expected finite non-negative case weights, got "
                                     r"invalid values at rows \[3, 6\]")
    _raises(InputError, lambda: kaplan_meier(TIME, EVENT, weights=["1", 1, 1, 1, 1, 1]),
            field="weights", pattern=r"^weights: expected numbers, .*rows \[1\]")


# ------------------------------------------------------------------- shapes and types
@pytest.mark.parametrize("fit", ENTRY_POINTS[:4], ids=ids[:4])
def test_empty_input(fit):
    _raises(InputError, lambda: fit([], []), field="time", pattern=r"^time: empty input")


def test_empty_data_frame_for_coxph():
    frame = pd.DataFrame({"time": [], "event": [], "arm": []})
    _raises(InputError, lambda: coxph(frame, time="time", event="event", covariates=["arm"]),
            field="data", pattern=r"^data: empty")


@pytest.mark.parametrize("bad", [{"a": 1}, "5 8 12", 7.0, None])
def test_wrong_python_types_are_type_errors(bad):
    with pytest.raises(TypeError, match=r"^time: expected a 1-dimensional array"):
        kaplan_meier(bad, EVENT)


def test_wrong_types_for_coxph():
    frame = pd.DataFrame({"time": TIME, "event": EVENT, "arm": [0, 1, 0, 1, 0, 1]})
    with pytest.raises(TypeError, match=r"^data: expected a pandas DataFrame, got dict"):
        coxph(frame.to_dict(), time="time", event="event", covariates=["arm"])
    with pytest.raises(TypeError, match=r"^covariates: expected a list of column names, got str"):
        coxph(frame, time="time", event="event", covariates="arm")
    with pytest.raises(TypeError, match=r"^time: expected a column name \(str\), got list"):
        coxph(frame, time=["time"], event="event", covariates=["arm"])


def test_length_mismatch_names_the_arguments():
    _raises(InputError, lambda: logrank_test(TIME, EVENT, GROUP[:5]), field="group",
            pattern=r"^length mismatch: time has 6, event has 6, group has 5 rows")


def test_one_group():
    for fn in (lambda: logrank_test(TIME, EVENT, ["a"] * 6),
               lambda: rmst_difference(TIME, EVENT, ["a"] * 6, tau=10.0)):
        _raises(InputError, fn, field="group", pattern=r"^group: expected at least 2 distinct levels, "
                                                       r"got 1 \(\['a'\]\)")


def test_missing_group_names_the_rows():
    _raises(InputError, lambda: logrank_test(TIME, EVENT, ["a", "b", None, "b", np.nan, "a"]),
            field="group", pattern=r"^group: expected a value for every row, got missing values at "
                                   r"rows \[3, 5\]")


def test_landmark_times():
    km = kaplan_meier(TIME, EVENT)
    _raises(InputError, lambda: km.survival_at([6.0, "12"]), field="times",
            pattern=r"^times: expected numbers, .*rows \[2\]")
    _raises(InputError, lambda: km.survival_at([6.0, -1.0]), field="times",
            pattern=r"^times: .*negative values at rows \[2\]")


# ------------------------------------------------------------------- coxph data frames
@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame({"time": TIME, "event": EVENT, "arm": [0, 1, 0, 1, 0, 1],
                         "age": [61.0, 55.0, 50.0, 68.0, 66.0, 59.0]})


def _fit(frame, **kw):
    return coxph(frame, **({"time": "time", "event": "event", "covariates": ["arm", "age"]} | kw))


def test_text_numbers_in_an_object_column(frame):
    frame["age"] = pd.Series([61.0, "55", 70.0, "48", 66.0, 59.0], dtype=object)
    error = _raises(InputError, lambda: _fit(frame), field="covariates",
                    pattern=r"^age: expected numbers, got non-numeric values at rows \[2, 4\] "
                            r"\(2 rows\) \(first: '55'\)")
    assert "categorical=" in str(error)  # the hint for a genuinely categorical column


def test_numbers_in_an_object_column_are_accepted(frame):
    reference = _fit(frame)
    frame["age"] = frame["age"].astype(object)
    np.testing.assert_allclose(_fit(frame).coef, reference.coef, rtol=1e-12)


def test_text_times_in_an_object_column(frame):
    frame["time"] = pd.Series(["5", 8.0, 12.0, 3.0, 9.0, "14"], dtype=object)
    _raises(InputError, lambda: _fit(frame), field="time",
            pattern=r"^time: expected numbers, got non-numeric values at rows \[1, 6\]")


def test_boolean_time_column(frame):
    frame["time"] = [True, False, True, True, False, True]
    _raises(InputError, lambda: _fit(frame), field="time",
            pattern=r"^time: expected numbers, got booleans \(True/False\) at rows \[1, 2, 3, 4, 5, 6\]")


def test_boolean_covariate_is_an_indicator(frame):
    reference = _fit(frame)
    np.testing.assert_allclose(_fit(frame.assign(arm=frame["arm"] == 1)).coef, reference.coef,
                               rtol=1e-12)


def test_duplicated_column_names_are_refused(frame):
    doubled = pd.concat([frame, frame[["age"]]], axis=1)
    _raises(InputError, lambda: _fit(doubled), field="covariates",
            pattern=r"^covariates: column name\(s\) \['age'\] appear more than once in data \(at "
                    r"column positions \{'age': \[4, 5\]\}\)")
    doubled = pd.concat([frame, frame[["time"]]], axis=1)
    _raises(InputError, lambda: _fit(doubled), field="time",
            pattern=r"^time: column name\(s\) \['time'\] appear more than once")


def test_duplicated_columns_not_used_are_fine(frame):
    extra = pd.concat([frame, frame[["age"]].rename(columns={"age": "spare"}),
                       frame[["age"]].rename(columns={"age": "spare"})], axis=1)
    assert _fit(extra).n == 6


@pytest.mark.parametrize(("kw", "field", "pattern"), [
    ({"covariates": ["arm", "stage"]}, "covariates", r"^covariates: column\(s\) \['stage'\] not in data"),
    ({"time": "os"}, "time", r"^time: column\(s\) \['os'\] not in data"),
    ({"event": "dead"}, "event", r"^event: column\(s\) \['dead'\] not in data"),
    ({"strata": ["site"]}, "strata", r"^strata: column\(s\) \['site'\] not in data"),
    ({"weights": "w"}, "weights", r"^weights: column\(s\) \['w'\] not in data"),
])
def test_missing_columns(frame, kw, field, pattern):
    _raises(InputError, lambda: _fit(frame, **kw), field=field, pattern=pattern)


def test_missing_cells_name_column_and_rows(frame):
    frame.loc[[1, 4], "age"] = np.nan
    _raises(InputError, lambda: _fit(frame), field="covariates",
            pattern=r"^age: missing values at rows \[2, 5\] \(2 rows\); coxph never drops rows")


def test_constant_categorical_is_one_group(frame):
    frame["arm"] = "x"
    _raises(InputError, lambda: _fit(frame, categorical=["arm"]), field="covariates",
            pattern=r"^covariates: column 'arm' is constant \(only level 'x'\)")


def test_fit_at_the_iteration_cap_flags_the_drifting_coefficients(frame):
    """Deaths ordered exactly by a combination of arm and age: the likelihood rises towards
    0 for ever. At the cap the fit is not converged and both coefficients, drifting with
    SEs in the millions, are marked not estimable."""
    frame["age"] = [61.0, 55.0, 70.0, 48.0, 66.0, 59.0]
    with pytest.warns(Warning) as record:
        fit = _fit(frame)
    assert {type(w.message).__name__ for w in record} == {"ConvergenceWarning"}
    assert fit.converged is False
    assert fit.coef_table["estimable"].tolist() == [False, False]
    assert fit.problems[0].startswith("did not converge in 30 iterations")
    assert any("monotone in age" in problem for problem in fit.problems)
