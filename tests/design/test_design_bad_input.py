"""Every option check of the design layer: the exact class, the argument it names (the
``field`` front ends map to their options, e.g. ``k`` -> ``--looks``) and the message."""

from __future__ import annotations

import re

import pytest

from oncotrial.core.errors import InputError
from oncotrial.design import (
    events_required,
    expected_events,
    group_sequential,
    survival_power,
    survival_sample_size,
    time_to_events,
)
from oncotrial.design.group_sequential import spending_function

SAMPLE_SIZE = dict(median_control=6, median_experimental=9.7, accrual_time=24, follow_up=24)
EVENTS = dict(subjects=100, median_control=6, median_experimental=9.7, accrual_time=24)


def _check(fn, field, pattern):
    with pytest.raises(InputError) as info:
        fn()
    assert type(info.value) is InputError
    assert info.value.field == field, (info.value.field, str(info.value))
    assert re.search(pattern, str(info.value)), str(info.value)
    assert str(info.value).startswith(f"{field}:") or field in str(info.value).split(":")[0]


# ------------------------------------------------------------------ group_sequential
@pytest.mark.parametrize("kwargs,field,match", [
    (dict(k=0), "k", r"^k: expected a number of looks from 1 to 20 \(1 = a fixed design\), got 0"),
    (dict(k=-2), "k", r"^k: .*1 to 20"),
    (dict(k=21), "k", r"^k: .*1 to 20 .*, got 21"),
    (dict(k=3, alpha=0), "alpha", r"^alpha: .*between 0 and 1"),
    (dict(k=3, alpha=1.2), "alpha", r"^alpha: .*between 0 and 1"),
    (dict(k=3, alpha="x"), "alpha", r"^alpha: .*between 0 and 1"),
    (dict(k=3, alpha=0.5), "alpha", r"^alpha: .*\(0, 0.5\)"),
    (dict(k=3, alpha=1.0, sided=2), "alpha", r"^alpha: .*between 0 and 1"),
    (dict(k=3, beta=0), "beta", r"^beta: .*between 0 and 1"),
    (dict(k=3, beta=1), "beta", r"^beta: .*between 0 and 1"),
    (dict(k=3, alpha=0.05, beta=0.96), "beta", r"^beta: .*\(0, 1 - alpha\)"),
    (dict(k=3, sided=3), "sided", r"^sided: expected 1 .* or 2"),
    (dict(k=3, sided=0), "sided", r"^sided: expected 1 .* or 2"),
    (dict(k=3, sided=True), "sided", r"^sided: expected 1 .* or 2"),
    (dict(k=3, type="WT"), "type", r"^type: expected one of OF, P, asOF, asP, asHSD"),
    (dict(k=3, type="asHSD"), "gamma", r"^gamma: required for type='asHSD'.*\[-10, 5\]"),
    (dict(k=3, type="asHSD", gamma=-11), "gamma", r"^gamma: expected a number in \[-10, 5\]"),
    (dict(k=3, type="asHSD", gamma=float("nan")), "gamma", r"^gamma: expected a number in \[-10, 5\]"),
    (dict(k=3, type="asHSD", gamma=True), "gamma", r"^gamma: expected a number in \[-10, 5\]"),
    (dict(k=3, type="asOF", gamma=-2), "gamma", r"^gamma: only used with type='asHSD'"),
    (dict(k=3, type="OF", gamma=1), "gamma", r"^gamma: only used with type='asHSD'"),
    (dict(k=3, information_rates=[0.5, 1]), "information_rates", r"^information_rates: expected 3 values"),
    (dict(k=3, information_rates=[0.5, 0.4, 1]), "information_rates", r"strictly increasing"),
    (dict(k=3, information_rates=[0.2, 0.4, 0.9]), "information_rates", r"ending at 1"),
    (dict(k=3, information_rates=[0, 0.4, 1]), "information_rates", r"in \(0, 1\]"),
    (dict(k=3, information_rates=[-0.2, 0.4, 1]), "information_rates", r"in \(0, 1\]"),
    (dict(k=3, information_rates=[0.2, 0.2, 1]), "information_rates", r"strictly increasing"),
    (dict(k=3, information_rates=[0.2, float("nan"), 1]), "information_rates", r"strictly increasing"),
    (dict(k=3, information_rates="abc"), "information_rates", r"expected 3 values"),
    (dict(k=2, information_rates=[0.5, 1.5]), "information_rates", r"ending at 1"),
    (dict(k=3, futility="bsKD"), "futility", r"^futility: expected None or one of bsOF, bsP, bsHSD"),
    (dict(k=3, type="OF", futility="bsOF"), "futility", r"^futility: .*alpha-spending type"),
    (dict(k=3, type="P", futility="bsP"), "futility", r"^futility: .*alpha-spending type"),
    (dict(k=3, sided=2, alpha=0.05, futility="bsOF"), "futility", r"^futility: .*sided=1"),
    (dict(k=1, futility="bsOF"), "futility", r"^futility: .*k >= 2"),
    (dict(k=3, futility="bsHSD"), "futility_gamma", r"^futility_gamma: required for futility='bsHSD'"),
    (dict(k=3, futility="bsHSD", futility_gamma=6), "futility_gamma", r"^futility_gamma: expected a number in"),
    (dict(k=3, futility="bsOF", futility_gamma=1), "futility_gamma", r"^futility_gamma: only used with"),
    (dict(k=3, futility_gamma=1), "futility_gamma", r"^futility_gamma: only used with"),
])
def test_group_sequential(kwargs, field, match):
    k = kwargs.pop("k")
    _check(lambda: group_sequential(k, **kwargs), field, match)


@pytest.mark.parametrize("k", [2.5, 3.0, True, "3", None])
def test_group_sequential_k_of_the_wrong_type(k):
    with pytest.raises(TypeError, match=r"^k: expected a whole number of looks \(int\)"):
        group_sequential(k)


def test_spending_function():
    _check(lambda: spending_function("asXY", 0.025, [0.5, 1]), "kind", r"^kind: expected one of")
    _check(lambda: spending_function("asHSD", 0.025, [0.5, 1]), "gamma", r"^gamma: required for asHSD")


# ------------------------------------------------------------------- events_required
@pytest.mark.parametrize("kwargs,field", [
    (dict(hazard_ratio=1.0), "hazard_ratio"),
    (dict(hazard_ratio=0.0), "hazard_ratio"),
    (dict(hazard_ratio=-0.5), "hazard_ratio"),
    (dict(hazard_ratio=float("nan")), "hazard_ratio"),
    (dict(hazard_ratio=True), "hazard_ratio"),
    (dict(hazard_ratio=0.7, alpha=0.0), "alpha"),
    (dict(hazard_ratio=0.7, alpha=1.0), "alpha"),
    (dict(hazard_ratio=0.7, power=1.2), "power"),
    (dict(hazard_ratio=0.7, power=0), "power"),
    (dict(hazard_ratio=0.7, sided=3), "sided"),
    (dict(hazard_ratio=0.7, allocation_ratio=0), "allocation_ratio"),
    (dict(hazard_ratio=0.7, method="logrank"), "method"),
])
def test_events_required(kwargs, field):
    hr = kwargs.pop("hazard_ratio")
    _check(lambda: events_required(hr, **kwargs), field, rf"^{field}: expected")


# ------------------------------------------------------------ expected events, timing
@pytest.mark.parametrize("kwargs,field", [
    (dict(t=-1), "t"),
    (dict(subjects=0), "subjects"),
    (dict(median_control=0), "median_control"),
    (dict(median_experimental=-3), "median_experimental"),
    (dict(hazard_ratio=0.7), "hazard_ratio"),  # both the median and the HR
    (dict(median_experimental=None), "hazard_ratio"),  # neither
    (dict(accrual_time=0), "accrual_time"),
    (dict(accrual_time=[0, 12, 6]), "accrual_time"),
    (dict(accrual_time=[1, 12]), "accrual_time"),
    (dict(accrual_time=True), "accrual_time"),
    (dict(accrual_time=[0, 6, 12], accrual_intensity=[1, -1]), "accrual_intensity"),
    (dict(accrual_time=[0, 6, 12], accrual_intensity=[1, 2, 3]), "accrual_intensity"),
    (dict(accrual_time=[0, 6, 12], accrual_intensity=[0, 0]), "accrual_intensity"),
    (dict(dropout_rate=1.0), "dropout_rate"),
    (dict(dropout_rate=-0.1), "dropout_rate"),
    (dict(dropout_rate=[0.1, 0.2, 0.3]), "dropout_rate"),
    (dict(dropout_time=0), "dropout_time"),
    (dict(allocation_ratio=-1), "allocation_ratio"),
])
def test_expected_events(kwargs, field):
    args = dict(EVENTS, t=12.0) | kwargs
    args = {k: v for k, v in args.items() if v is not None}
    t = args.pop("t")
    _check(lambda: expected_events(t, **args), field, r"expected")


def test_time_to_events():
    _check(lambda: time_to_events(0, **EVENTS), "events", r"^events: expected a positive number")
    _check(lambda: time_to_events(150, **EVENTS), "events",
           r"^events: 150 events are never reached")


# --------------------------------------------------------------- survival_sample_size
@pytest.mark.parametrize("kwargs,field", [
    (dict(alpha=0), "alpha"),
    (dict(alpha=1.5), "alpha"),
    (dict(power=1), "power"),
    (dict(sided=0), "sided"),
    (dict(median_experimental=6), "median_experimental"),  # HR 1
    (dict(median_experimental=None, hazard_ratio=1.0), "hazard_ratio"),
    (dict(median_experimental=None, hazard_ratio=-1), "hazard_ratio"),
    (dict(hazard_ratio=0.7), "hazard_ratio"),
    (dict(median_experimental=None), "hazard_ratio"),
    (dict(median_control=0), "median_control"),
    (dict(median_experimental=[8, 9]), "median_experimental"),
    (dict(follow_up=0), "follow_up"),
    (dict(follow_up=-1), "follow_up"),
    (dict(accrual_time=-24), "accrual_time"),
    (dict(accrual_time=[0, 12, 12]), "accrual_time"),
    (dict(accrual_time=[0, 12, 24], accrual_intensity=[1, -2]), "accrual_intensity"),
    (dict(dropout_rate=1), "dropout_rate"),
    (dict(dropout_time=-12), "dropout_time"),
    (dict(not_randomised=1.0), "not_randomised"),
    (dict(not_randomised=-0.1), "not_randomised"),
    (dict(not_randomised="3%"), "not_randomised"),
    (dict(method="exact"), "method"),
    (dict(rounding="down"), "rounding"),
    (dict(allocation_ratio=0), "allocation_ratio"),
])
def test_sample_size(kwargs, field):
    args = {k: v for k, v in (SAMPLE_SIZE | kwargs).items() if v is not None}
    _check(lambda: survival_sample_size(**args), field, r"expected")


@pytest.mark.parametrize("name,value", [("alpha", 0.05), ("sided", 2), ("power", 0.9)])
def test_sample_size_option_fixed_by_the_design(name, value):
    design = group_sequential(3, alpha=0.025, beta=0.2)
    _check(lambda: survival_sample_size(**SAMPLE_SIZE, design=design, **{name: value}), name,
           rf"^{name}: the group-sequential design fixes {name}")


def test_sample_size_design_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"^design: expected a GroupSequentialDesign"):
        survival_sample_size(**SAMPLE_SIZE, design={"k": 3})


# -------------------------------------------------------------------- survival_power
@pytest.mark.parametrize("kwargs,field,match", [
    (dict(), "events", r"got neither"),
    (dict(events=100, follow_up=12), "follow_up", r"used only together with subjects"),
    (dict(events=100, accrual_time=12), "accrual_time", r"used only together with subjects"),
    (dict(subjects=100), "accrual_time", r"^accrual_time: expected the accrual period"),
    (dict(subjects=100, accrual_time=12), "follow_up", r"^follow_up: expected the minimum follow-up"),
    (dict(events=100, subjects=200, accrual_time=12, follow_up=6), "follow_up", r"leave follow_up out"),
    (dict(events=100, subjects=90, accrual_time=12), "events", r"never reached"),
    (dict(events=0), "events", r"^events: expected"),
    (dict(events=100, direction="both"), "direction", r"^direction: expected"),
    (dict(events=100, alpha=2), "alpha", r"^alpha: expected"),
])
def test_power(kwargs, field, match):
    _check(lambda: survival_power(median_control=6, hazard_ratio=0.7, **kwargs), field, match)
