"""FigurePool: drawings in forked workers give what they give in this process, with their
warnings raised and their errors re-raised here; one worker draws here, when asked."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import warnings

import pytest

from oncotrial.report import figure_pool
from oncotrial.report.figure_pool import FigurePool, idle_cpus, other_runnable, usable_cpus

linux_proc = pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="needs Linux /proc")


def _square(x: int, *, note: str = "") -> tuple[int, int, str]:
    return x * x, os.getpid(), note


def _warns(x: int) -> int:
    warnings.warn(f"careful with {x}", UserWarning, stacklevel=1)
    return x


def _fails(x: int) -> int:
    raise ValueError(f"no figure for {x}")


def test_workers_give_the_results_in_order():
    with FigurePool(2) as pool:
        pending = [pool.submit(_square, x, note=str(x)) for x in range(5)]
        results = [p.result() for p in pending]
    assert [(r[0], r[2]) for r in results] == [(x * x, str(x)) for x in range(5)]
    if pool.parallel:
        assert all(pid != os.getpid() for _, pid, _ in results)


def test_one_worker_draws_here_when_the_result_is_asked_for():
    calls: list[int] = []
    with FigurePool(1) as pool:
        assert not pool.parallel
        pending = pool.submit(calls.append, 3)
        assert calls == []
        pending.result()
    assert calls == [3]


def test_warnings_of_a_worker_are_raised_here():
    with FigurePool(2) as pool, pytest.warns(UserWarning, match="careful with 7"):
        assert pool.submit(_warns, 7).result() == 7


def test_errors_of_a_worker_are_raised_here():
    with FigurePool(2) as pool, pytest.raises(ValueError, match="no figure for 2"):
        pool.submit(_fails, 2).result()


def test_default_is_one_worker_per_idle_cpu(monkeypatch):
    assert 1 <= idle_cpus() <= usable_cpus()
    monkeypatch.setattr(figure_pool, "other_runnable", lambda: None)  # as where there is no /proc
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.0, 0.0))
    with FigurePool() as pool:
        assert pool.parallel == (usable_cpus() > 1 and hasattr(os, "fork"))
    monkeypatch.setattr(os, "getloadavg", lambda: (usable_cpus() - 0.5, 0.0, 0.0))
    assert idle_cpus() == 1
    with FigurePool() as pool:
        assert not pool.parallel
    with pytest.raises(ValueError, match="workers: expected at least 1, got 0"):
        FigurePool(0)


def test_a_worker_beside_this_process():
    with FigurePool.beside() as pool:
        value, pid, note = pool.submit(_square, 4, note="data").result()
    assert (value, note) == (16, "data")
    assert pool.parallel == (usable_cpus() > 1 and hasattr(os, "fork"))
    assert (pid != os.getpid()) == pool.parallel


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@linux_proc
def test_another_program_busy_now_takes_a_cpu():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert other_runnable() >= 1
        assert idle_cpus() <= max(1, usable_cpus() - 1)
    finally:
        spinner.kill()
        spinner.wait()


@linux_proc
def test_this_program_s_own_children_are_not_competitors():
    if other_runnable() != 0:
        pytest.skip("another program is running on this machine")
    child = multiprocessing.get_context("fork").Process(target=_spin, args=(3.0,))
    child.start()
    try:
        time.sleep(0.3)
        assert other_runnable() == 0
        assert idle_cpus() == usable_cpus()
    finally:
        child.terminate()
        child.join()


def test_without_proc_the_load_average_decides(monkeypatch):
    monkeypatch.setattr(figure_pool, "other_runnable", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (usable_cpus() + 3.0, 0.0, 0.0))
    assert idle_cpus() == 1
