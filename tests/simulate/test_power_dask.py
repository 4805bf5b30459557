"""The Dask backend gives the same numbers as the in-process run, to the last bit."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from dask.distributed import LocalCluster

from oncotrial.design import group_sequential
from oncotrial.simulate.power import simulate_power

KW = dict(median_control=6, median_experimental=9.7, subjects=150, events=136, accrual_time=24,
          dropout_rate=0.05, design=group_sequential(3, alpha=0.05, sided=2), trials=3_000,
          seed=20240101, keep_trials=True)


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.trial_table, b.trial_table)
    da, db = a.to_dict(), b.to_dict()
    del da["chunk_size"], db["chunk_size"]  # the only difference
    assert da.keys() == db.keys()
    for key in da:
        x, y = da[key], db[key]
        if isinstance(x, float) and math.isnan(x):
            assert math.isnan(y), key
        elif key != "trial_table":
            assert x == y, key


@pytest.fixture(scope="module")
def in_process():
    return simulate_power(**KW, chunk_size=3_000)


def test_existing_cluster_by_address(in_process):
    """A running cluster (here a LocalCluster of two thread workers, reached by its
    tcp:// address like a remote one), with chunks of another size, gives identical trials."""
    done = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        on_cluster = simulate_power(**KW, chunk_size=250, scheduler=cluster.scheduler_address,
                                    progress=lambda d, t: done.append(d))
    _same(in_process, on_cluster)
    assert sorted(done) == done and done[-1] == 3_000 and len(done) == 12


def test_local_cluster_of_processes(in_process):
    """``scheduler="local"``: a LocalCluster of two worker processes started for the run."""
    on_cluster = simulate_power(**KW, scheduler="local", workers=2, chunk_size=700)
    _same(in_process, on_cluster)


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers: expected a positive number"):
        simulate_power(**KW, scheduler="local", workers=0)
