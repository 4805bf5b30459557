"""survival_sample_size and survival_power against rpact getSampleSizeSurvival /
getPowerSurvival (tests/fixtures/r/rpact_survival.R), the LMS04 worked example, the
group-sequential path and input checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given
from hypothesis import strategies as st

from oncotrial.core.errors import InputError
from oncotrial.design import (
    GroupSequentialDesign,
    SurvivalPower,
    SurvivalSampleSize,
    group_sequential,
    survival_power,
    survival_sample_size,
)

FIXTURE = load_fixture("rpact_survival")
LMS04 = dict(median_control=6, median_experimental=9.7, accrual_time=24, follow_up=24)

_DESIGN_KEYS = ("median_control", "median_experimental", "hazard_ratio", "alpha", "sided",
                "power", "allocation_ratio", "accrual_time", "accrual_intensity", "follow_up",
                "dropout_rate", "dropout_time", "method")


def _kwargs(args: dict, keys=_DESIGN_KEYS) -> dict:
    return {k: args[k] for k in keys if k in args}


# ------------------------------------------------------------------ fixed designs
@pytest.mark.parametrize("case", FIXTURE["sample_size"], ids=lambda c: c["name"])
def test_sample_size_vs_rpact(case):
    res = survival_sample_size(**_kwargs(case["args"]))
    exp = case["expected"]
    name = case["name"]
    r = res.allocation_ratio
    assert_close(res.hazard_ratio, exp["hazard_ratio"], what=f"{name} hr")
    assert_close(res.lambda_control, exp["lambda_control"], what=f"{name} lambda control")
    assert_close(res.lambda_experimental, exp["lambda_experimental"], what=f"{name} lambda exp")
    assert_close(res.events_exact, exp["events_fixed"], what=f"{name} events")
    assert res.events_fixed == res.events_exact and res.inflation_factor == 1.0
    assert_close(res.mean_event_probability, exp["mean_event_probability"], what=f"{name} omega")
    assert_close(res.event_probability["control"], exp["event_probability_control"],
                 what=f"{name} P(event) control")
    assert_close(res.event_probability["experimental"], exp["event_probability_experimental"],
                 what=f"{name} P(event) experimental")
    assert_close(res.subjects_exact, exp["subjects_exact"], what=f"{name} subjects")
    assert_close(res.subjects_exact / (1 + r), exp["subjects_control_exact"], what=name)
    assert_close(res.subjects_exact * r / (1 + r), exp["subjects_experimental_exact"], what=name)
    assert_close(res.analysis_time, exp["analysis_time"], what=f"{name} analysis time")
    assert res.analysis_times.tolist() == [res.analysis_time]
    if res.sided == 1:
        assert_close(res.hr_boundaries, exp["critical_hr"], what=f"{name} critical HR")
    else:
        lower, upper = sorted([res.hr_boundaries[0], 1 / res.hr_boundaries[0]])
        assert_close(lower, exp["critical_hr_lower"], what=f"{name} critical HR lower")
        assert_close(upper, exp["critical_hr_upper"], what=f"{name} critical HR upper")
    # the bound is on the side of the hypothesised effect
    assert (res.hr_boundaries[0] < 1) == (res.hazard_ratio < 1)
    # integer results are the exact ones rounded as documented
    assert res.events == math.floor(res.events_exact + 0.5)
    assert res.subjects_per_arm["control"] == math.ceil(exp["subjects_control_exact"])
    assert res.subjects_per_arm["experimental"] == math.ceil(exp["subjects_experimental_exact"])
    assert res.subjects == sum(res.subjects_per_arm.values())


def test_rpact_oracle_o1():
    # rpact's own unit test: events 120.3157, nFixed 141.26641, critical HR 0.6995143
    res = survival_sample_size(median_control=3, median_experimental=5, alpha=0.025, sided=1,
                               accrual_time=12, follow_up=6)
    assert_close(res.events_exact, 120.3157, rtol=1e-6)
    assert_close(res.subjects_exact, 141.26641, rtol=1e-7)
    assert_close(res.hr_boundaries[0], 0.6995143, rtol=1e-6)
    assert res.analysis_time == 18


# ----------------------------------------------------------------- LMS04 worked
def test_lms04_worked_example():
    res = survival_sample_size(**LMS04, not_randomised=0.03)
    assert isinstance(res, SurvivalSampleSize)
    assert_close(res.hazard_ratio, 6 / 9.7, rtol=1e-15)
    assert_close(res.events_exact, 136.0575, rtol=1e-6)
    assert res.events == 136                                   # nearest, as the protocol
    assert_close(res.event_probability["control"], 0.978867, rtol=1e-6)
    assert_close(res.event_probability["experimental"], 0.913950, rtol=1e-6)
    assert_close(res.mean_event_probability, 0.946408, rtol=1e-6)
    assert_close(res.subjects_exact, 143.76, rtol=1e-4)
    assert res.subjects_per_arm == {"control": 72, "experimental": 72}
    assert res.subjects == 144
    assert res.enrolled_per_arm == {"control": 75, "experimental": 75}  # 72 / 0.97 = 74.23
    assert res.enrolled == 150
    assert res.analysis_time == 48
    assert_close(res.expected_analysis_time, 47.5513501394733, rtol=1e-8)
    assert_close(res.power_at_events, 0.799835253860138, rtol=1e-9)   # rpact getPowerSurvival
    assert res.not_randomised == 0.03 and res.rounding == "nearest" and res.method == "schoenfeld"
    assert (res.alpha, res.sided, res.power) == (0.05, 2, 0.8)


def test_lms04_rounding_up_and_hr_input():
    up = survival_sample_size(**LMS04, rounding="up", not_randomised=0.03)
    assert up.events == 137 and up.subjects == 144 and up.enrolled == 150
    by_hr = survival_sample_size(median_control=6, hazard_ratio=6 / 9.7, accrual_time=24,
                                 follow_up=24)
    assert_close(by_hr.subjects_exact, survival_sample_size(**LMS04).subjects_exact, rtol=1e-14)
    assert_close(by_hr.median_experimental, 9.7, rtol=1e-14)


def test_lms04_report_and_tables():
    res = survival_sample_size(**LMS04, not_randomised=0.03)
    text = str(res)
    assert text == res.report()
    for piece in ("Assumptions", "Results", "136.06 -> 136", "0.9789", "0.9139", "143.76",
                  "72 + experimental 72 = 144", "75 + experimental 75 = 150", "3% of enrolled",
                  "uniform over 24 months", "month 48", "month 47.55", "two-sided"):
        assert piece in text, piece
    assert text.index("Assumptions") < text.index("Results")
    frame = res.to_frame()
    assert list(frame.columns) == ["quantity", "value"]
    values = dict(zip(frame["quantity"], frame["value"]))
    assert values["events"] == 136 and values["enrolled"] == 150
    assert values["subjects_per_arm.control"] == 72
    stages = res.stage_table()
    assert len(stages) == 1 and stages["events"].iloc[0] == res.events_exact
    d = res.to_dict()
    json.dumps(d)  # plain types only
    assert d["subjects_per_arm"] == {"control": 72, "experimental": 72}
    assert d["accrual_time"] == [0.0, 24.0]
    assert "SurvivalSampleSize(" in repr(res)


def test_allocation_and_dropout_labels():
    res = survival_sample_size(median_control=12, hazard_ratio=0.7, allocation_ratio=2,
                               accrual_time=[0, 6, 18], accrual_intensity=[1, 3], follow_up=12,
                               dropout_rate=(0.05, 0.1), not_randomised=0.05)
    text = res.report()
    assert "2:1" in text and "piecewise" in text and "control 5%, experimental 10%" in text
    # each arm's share rounded up, then inflated separately
    assert res.subjects_per_arm["experimental"] == math.ceil(res.subjects_exact * 2 / 3 - 1e-9)
    assert res.subjects_per_arm["control"] == math.ceil(res.subjects_exact / 3 - 1e-9)
    for arm in ("control", "experimental"):
        assert res.enrolled_per_arm[arm] == math.ceil(res.subjects_per_arm[arm] / 0.95 - 1e-9)


# ------------------------------------------------------------------ group-sequential
def _stand_in(case: dict) -> GroupSequentialDesign:
    """The design with rpact's own numbers (independent of oncotrial's boundary code)."""
    spec, rp = case["design"]["spec"], case["design"]["rpact"]
    k = spec["k"]
    return GroupSequentialDesign(
        k=k, type=spec["type"], alpha=spec["alpha"], sided=spec["sided"], beta=spec["beta"],
        information_rates=np.atleast_1d(np.asarray(rp["information_rates"], dtype=float)),
        critical_values=np.atleast_1d(np.asarray(rp["critical_values"], dtype=float)),
        nominal_p=np.atleast_1d(np.asarray(rp["nominal_p"], dtype=float)),
        alpha_spent=np.atleast_1d(np.asarray(rp["alpha_spent"], dtype=float)),
        futility_bounds=(None if rp["futility_bounds"] is None
                         else np.asarray(rp["futility_bounds"], dtype=float)),
        beta_spent=None, inflation_factor=rp["inflation_factor"],
        power_stages=np.full(k, np.nan), gamma=spec.get("gamma"), futility=spec.get("futility"),
        futility_gamma=spec.get("futility_gamma"))


def _check_gs(res: SurvivalSampleSize, case: dict, rtol: float = 1e-6) -> None:
    exp, name = case["expected"], case["name"]
    assert res.k == case["design"]["spec"]["k"]
    assert_close(res.events_fixed, exp["events_fixed"], rtol=rtol, what=f"{name} fixed events")
    assert_close(res.events_exact, exp["max_events"], rtol=rtol, what=f"{name} max events")
    assert_close(res.events_per_stage, exp["events_per_stage"], rtol=rtol, what=f"{name} events")
    assert_close(res.analysis_times, exp["analysis_times"], rtol=rtol, what=f"{name} times")
    assert_close(res.subjects_per_stage, exp["subjects_per_stage"], rtol=rtol, what=f"{name} n")
    assert_close(res.subjects_exact, exp["max_subjects"], rtol=rtol, what=f"{name} max n")
    if case["design"]["spec"]["sided"] == 1:
        assert_close(res.hr_boundaries, exp["hr_boundaries"], rtol=rtol, what=f"{name} HR")
    else:
        effect_below = res.hazard_ratio < 1
        near = exp["hr_boundaries_lower"] if effect_below else exp["hr_boundaries_upper"]
        far = exp["hr_boundaries_upper"] if effect_below else exp["hr_boundaries_lower"]
        assert_close(res.hr_boundaries, near, rtol=rtol, what=f"{name} HR (effect side)")
        assert_close(1 / res.hr_boundaries, far, rtol=rtol, what=f"{name} HR (other side)")
    if exp["hr_futility"] is None:
        assert res.hr_futility is None
    else:
        assert_close(res.hr_futility, exp["hr_futility"], rtol=rtol, what=f"{name} HR futility")
    assert res.analysis_times[-1] == res.analysis_time
    assert np.all(np.diff(res.analysis_times) > 0)
    assert res.power_at_events is None


@pytest.mark.parametrize("case", FIXTURE["group_sequential"], ids=lambda c: c["name"])
def test_group_sequential_vs_rpact_with_rpact_boundaries(case):
    res = survival_sample_size(**_kwargs(case["args"]), design=_stand_in(case))
    _check_gs(res, case)


@pytest.mark.parametrize("case", FIXTURE["group_sequential"], ids=lambda c: c["name"])
def test_group_sequential_end_to_end(case):
    """group_sequential() + survival_sample_size() against rpact
    getSampleSizeSurvival(design = getDesignGroupSequential(...))."""
    design = group_sequential(**case["design"]["spec"])
    res = survival_sample_size(**_kwargs(case["args"]), design=design)
    _check_gs(res, case)
    assert res.alpha == design.alpha and res.sided == design.sided
    assert res.power == 1 - design.beta


def test_lms04_hypothetical_interim():
    # research notes 1.8: one interim at 50 %, LDOF, one-sided 0.025: inflation 1.00373,
    # max events 136.56
    design = group_sequential(2, alpha=0.025, information_rates=[0.5, 1])
    res = survival_sample_size(**{k: v for k, v in LMS04.items()}, design=design)
    assert_close(res.inflation_factor, 1.00373, rtol=1e-5)
    assert_close(res.events_exact, 136.56, rtol=1e-4)
    assert res.events == 137
    text = res.report()
    assert "Looks" in text and "x 1.00373" in text
    assert len(res.stage_table()) == 2


def test_design_fixes_alpha_sided_power():
    design = group_sequential(3, alpha=0.025, sided=1, beta=0.1)
    res = survival_sample_size(**LMS04, design=design)
    assert (res.alpha, res.sided) == (0.025, 1) and math.isclose(res.power, 0.9)
    # passing the design's own values is fine
    survival_sample_size(**LMS04, design=design, alpha=0.025, sided=1, power=0.9)
    for name, value in (("alpha", 0.05), ("sided", 2), ("power", 0.8)):
        with pytest.raises(InputError, match=name) as info:
            survival_sample_size(**LMS04, design=design, **{name: value})
        assert info.value.field == name
    with pytest.raises(TypeError, match="design"):
        survival_sample_size(**LMS04, design="asOF")


# ----------------------------------------------------------------------------- power
def _power_kwargs(args: dict) -> dict:
    keys = ("events", "subjects", "median_control", "median_experimental", "hazard_ratio",
            "alpha", "sided", "allocation_ratio", "accrual_time", "accrual_intensity",
            "dropout_rate", "dropout_time", "method", "direction")
    return {k: args[k] for k in keys if k in args}


@pytest.mark.parametrize("case", FIXTURE["power"], ids=lambda c: c["name"])
def test_power_vs_rpact(case):
    res = survival_power(**_power_kwargs(case["args"]))
    exp, name = case["expected"], case["name"]
    assert isinstance(res, SurvivalPower)
    assert_close(res.hazard_ratio, exp["hazard_ratio"], what=f"{name} hr")
    assert_close(res.power, exp["power"], what=f"{name} power")
    assert_close(res.analysis_time, exp["analysis_time"], what=f"{name} analysis time")
    assert_close(res.follow_up, exp["follow_up"], rtol=1e-6, atol=1e-6, what=f"{name} follow-up")
    frame = res.to_frame()
    assert len(frame) == np.size(exp["hazard_ratio"])
    assert_close(frame["power"].to_numpy(), exp["power"], what=name)


def test_power_curve_shapes_and_type_one_error():
    hrs = np.linspace(0.5, 1.5, 11)
    res = survival_power(events=200, median_control=10, hazard_ratio=hrs)
    assert res.power.shape == (11,) and res.analysis_time is None and res.follow_up is None
    assert_close(res.power[5], 0.05, rtol=1e-12)     # HR = 1: power = alpha
    one = survival_power(events=200, median_control=10, hazard_ratio=0.7)
    assert isinstance(one.power, float) and isinstance(one.hazard_ratio, float)
    assert_close(one.power, res.power[2], rtol=1e-14)
    text = str(res)
    assert "Results" in text and "hazard_ratio" in text
    json.dumps(res.to_dict())


def test_power_from_subjects_uses_expected_events():
    res = survival_power(subjects=144, median_control=6, median_experimental=9.7, accrual_time=24,
                         follow_up=24)
    assert_close(res.events, 136.28, rtol=1e-4)       # research notes 1.6
    assert res.analysis_time == 48 and res.follow_up == 24
    at_events = survival_power(events=res.events, median_control=6, median_experimental=9.7)
    assert_close(res.power, at_events.power, rtol=1e-14)


def test_power_at_design_events_is_design_power():
    for method in ("schoenfeld", "freedman", "hsieh-freedman"):
        for r in (0.5, 1, 2):
            ss = survival_sample_size(median_control=8, hazard_ratio=0.7, alpha=0.025, sided=1,
                                      power=0.85, allocation_ratio=r, accrual_time=12,
                                      follow_up=12, method=method)
            pw = survival_power(events=ss.events_exact, median_control=8, hazard_ratio=0.7,
                                alpha=0.025, sided=1, allocation_ratio=r, method=method)
            assert_close(pw.power, 0.85, rtol=1e-12, what=f"{method} {r}")


@given(e1=st.floats(1.0, 2000.0), e2=st.floats(1.0, 2000.0),
       hr=st.floats(0.3, 3.0).filter(lambda h: abs(h - 1) > 1e-3),
       sided=st.sampled_from([1, 2]), method=st.sampled_from(["schoenfeld", "freedman",
                                                              "hsieh-freedman"]))
def test_power_increases_with_events(e1, e2, hr, sided, method):
    lo, hi = sorted((e1, e2))
    kw = dict(median_control=10, hazard_ratio=hr, sided=sided, method=method)
    p_lo, p_hi = survival_power(events=lo, **kw).power, survival_power(events=hi, **kw).power
    assert p_hi >= p_lo - 1e-15
    if hi > lo * (1 + 1e-6):
        assert p_hi > p_lo or p_hi == 1.0


def test_frames_are_dataframes():
    res = survival_sample_size(**LMS04)
    assert isinstance(res.to_frame(), pd.DataFrame)
    assert isinstance(res.stage_table(), pd.DataFrame)
