"""Calibration harness: seeds, the published-vs-simulated table, Dask equivalence, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.simulate.calibrate import TargetsError, calibrate, load_targets, replica_seeds
from oncotrial.simulate.estimates import trial_estimates
from oncotrial.simulate.trial import simulate_trial


@pytest.fixture(scope="module")
def small():
    return calibrate("lms04", trials=3, seed=7)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 40), st.integers(1, 40))
def test_replica_seeds_do_not_depend_on_the_number_of_trials(seed, n, m):
    short, long = sorted((n, m))
    assert replica_seeds(seed, short) == replica_seeds(seed, long)[:short]
    assert len(set(replica_seeds(seed, long))) == long


def test_table_has_every_bundled_target(small):
    targets = load_targets("lms04")
    table = small.table.set_index("estimate")
    assert list(table.index) == list(targets)
    assert (table["published"] == pd.Series(targets)).all()
    assert (table["available"] <= 3).all() and small.trials == 3 and small.seed == 7
    assert small.replicas["seed"].tolist() == replica_seeds(7, 3)
    for key, row in table.iterrows():
        values = small.replicas[key].dropna().to_numpy(float)
        assert math.isclose(row["mean"], values.mean())
        assert row["lower"] == pytest.approx(np.percentile(values, 2.5))
        assert row["within"] == (row["lower"] <= row["published"] <= row["upper"])


def test_a_replica_is_reproduced_from_its_recorded_seed(small):
    """Row 1 of the replicas equals simulate -> derive -> estimate run by hand on its seed."""
    row = small.replicas.iloc[1]
    trial = simulate_trial("lms04", seed=int(small.replicas["seed"].iloc[1]))
    protocol = Protocol.load("lms04")
    data = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    by_hand = trial_estimates(data.adsl, data.adtte, data.adrs, data.adae, protocol)
    for key, value in by_hand.items():
        assert (math.isnan(value) and math.isnan(row[key])) or value == row[key], key


def test_within_flags_a_target_outside_the_simulated_range():
    result = calibrate("lms04", trials=2, seed=3,
                       targets={"pfs.hazard_ratio": 5.0, "os.events.control": 1.0})
    assert result.table["within"].tolist() == [False, False]
    assert not result.all_within
    assert "outside=['pfs.hazard_ratio', 'os.events.control']" in repr(result)


def test_same_numbers_on_a_local_dask_cluster():
    targets = {"pfs.hazard_ratio": 0.37, "os.median.control": 24.0}
    here = calibrate("lms04", trials=2, seed=11, targets=targets)
    there = calibrate("lms04", trials=2, seed=11, targets=targets, scheduler="local", workers=2)
    pd.testing.assert_frame_equal(here.replicas, there.replicas)
    pd.testing.assert_frame_equal(here.table, there.table)


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"trials": 0}, "trials", "trials: expected a positive integer"),
    ({"seed": -1}, "seed", "seed: expected a non-negative integer"),
    ({"targets": {"pfs.median.nowhere": 1.0}}, "targets", "no estimate named pfs.median.nowhere"),
    ({"targets": {"pfs.hazard_ratio": "0.4"}}, "targets",
     "targets.pfs.hazard_ratio: expected a finite number, got '0.4'"),
    ({"scheduler": "nowhere"}, "scheduler", "scheduler: expected None"),
])
def test_bad_arguments_are_named(kwargs, field, message):
    with pytest.raises(InputError, match=message) as info:
        calibrate("lms04", **{"trials": 1, "seed": 1, **kwargs})
    assert info.value.field == field


def test_bad_targets_files(tmp_path):
    with pytest.raises(TargetsError, match=r"no bundled targets for scenario 'nowhere' "
                                           r"\(bundled: lms04\)"):
        load_targets("nowhere")
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  pfs.hazard_ratio: high\n")
    with pytest.raises(TargetsError) as info:
        load_targets(path)
    assert info.value.source == str(path)
    assert info.value.errors == ["targets.pfs.hazard_ratio: expected a finite number, got 'high'"]
    path.write_text("source: x\n")
    with pytest.raises(TargetsError, match="targets: expected a non-empty mapping"):
        load_targets(path)
