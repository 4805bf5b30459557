"""A cluster set up as on several machines — a ``dask scheduler`` and ``dask worker``
processes started on their own, reached over TCP on loopback — gives the same numbers as
the in-process run, to the last bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import oncotrial
from oncotrial.design import group_sequential
from oncotrial.simulate.power import simulate_power

KW = dict(median_control=6, median_experimental=9.7, subjects=150, events=136, accrual_time=24,
          dropout_rate=0.05, design=group_sequential(3, alpha=0.05, sided=2), trials=2_000,
          seed=77, keep_trials=True)
#: seconds to wait for the scheduler to write its address and for the workers to join
STARTUP = 120


def _dask(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler on 127.0.0.1 (port chosen by the system) and two one-thread workers,
    each a separate process that imports oncotrial from the same sources as this test."""
    from dask.distributed import Client

    source = str(Path(oncotrial.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    info = tmp_path_factory.mktemp("dask") / "scheduler.json"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(info), env=env)]
    try:
        deadline = time.monotonic() + STARTUP
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline or processes[0].poll() is not None:
                pytest.fail("the dask scheduler did not start")
            time.sleep(0.2)
        scheduler = json.loads(info.read_text())["address"]
        assert scheduler.startswith("tcp://127.0.0.1:")
        processes += [_dask("worker", scheduler, "--nthreads", "1", "--no-dashboard",
                            "--host", "127.0.0.1", env=env) for _ in range(2)]
        with Client(scheduler, timeout=STARTUP) as client:
            client.wait_for_workers(2, timeout=STARTUP)
        yield scheduler
    finally:
        for process in processes[::-1]:
            process.terminate()
        for process in processes[::-1]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_separate_scheduler_and_worker_processes(address: str) -> None:
    here = simulate_power(**KW, chunk_size=2_000)
    there = simulate_power(**KW, chunk_size=170, scheduler=address)
    pd.testing.assert_frame_equal(here.trial_table, there.trial_table)
    assert here.power == there.power
    assert here.rejection_per_look.tolist() == there.rejection_per_look.tolist()
    assert here.hazard_ratio_quantiles == there.hazard_ratio_quantiles
    assert here.analysis_time_quantiles == there.analysis_time_quantiles


def test_separate_processes_with_early_stopping(address: str) -> None:
    """Without the per-trial table the workers stop analysing trials where they stop."""
    kw = KW | {"keep_trials": False}
    here = simulate_power(**kw, chunk_size=2_000).to_dict()
    there = simulate_power(**kw, chunk_size=333, scheduler=address).to_dict()
    del here["chunk_size"], there["chunk_size"]
    assert here == there
