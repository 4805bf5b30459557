"""Trials that stop at a look are not analysed at the later ones unless the per-trial table
is kept; the summary is the same either way, to the last bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncotrial.design import group_sequential
from oncotrial.simulate import _power_engine as engine
from oncotrial.simulate.power import simulate_power

DESIGNS = {
    "two-sided efficacy": dict(design=group_sequential(3, alpha=0.05, sided=2)),
    "one-sided with futility": dict(design=group_sequential(3, alpha=0.025, sided=1,
                                                            futility="bsOF", beta=0.2)),
    "fixed": dict(alpha=0.025, sided=1),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_summary_does_not_depend_on_keeping_the_trials(name):
    kw = dict(median_control=6, median_experimental=9.7, subjects=150, events=136,
              accrual_time=24, dropout_rate=0.1, trials=3_000, seed=5, chunk_size=700,
              **DESIGNS[name])
    kept = simulate_power(**kw, keep_trials=True).to_dict()
    lean = simulate_power(**kw).to_dict()
    assert kept.pop("trial_table") is not None and lean.pop("trial_table") is None
    assert kept.keys() == lean.keys()
    for key, value in kept.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(lean[key]), key
        else:
            assert value == lean[key], key


def test_stopped_trials_are_not_analysed_later():
    res = simulate_power(median_control=6, hazard_ratio=0.5, subjects=150, events=120,
                         accrual_time=24, design=group_sequential(3, alpha=0.05, sided=2),
                         trials=500, seed=3)
    sc = res._scenario
    rule = engine.Stopping(res.critical_values, np.full(3, -np.inf), 2, -1.0)
    every = engine.simulate_chunk(sc, res.seed, 0, 500)
    lean = engine.simulate_chunk(sc, res.seed, 0, 500, rule)
    first = rule.decide(every["z"][:, 0], 0)[0]
    assert 0 < first.sum() < 500
    assert np.all(np.isnan(lean["z"][first, 1:]))
    np.testing.assert_array_equal(lean["z"][:, 0], every["z"][:, 0])
    np.testing.assert_array_equal(lean["z"][~first, 1], every["z"][~first, 1])
