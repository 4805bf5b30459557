"""Draw and save report figures (or write other outputs) in worker processes:
:class:`FigurePool`.

Drawing a figure and writing its PNG is CPU-bound Python (matplotlib's Agg renderer holds
the interpreter lock), so threads do not make it faster; worse, matplotlib is not safe to
use from several threads at once (two figures drawn in threads at the same time came out
different from the same figures drawn one after the other). Separate processes are safe:
each figure is drawn from its own inputs, so its files are the same wherever it is drawn.

The workers are forked from the running process, which has already imported matplotlib,
pandas and the report code; a freshly started interpreter would spend longer importing
them than the figures take to draw. Where the platform cannot fork, or there is one CPU,
the figures are drawn in the calling process, each when its result is asked for.

Workers pay only on CPUs nobody else is using: a forked worker costs about a sixth more
CPU time than drawing here (the pages it touches are copied), so on a machine whose CPUs
are all busy with other programs, two workers drew a report's figures more slowly than
this process alone. By default there is therefore one worker per CPU that other programs
leave idle, and none (drawing here) when at most one is idle (:func:`idle_cpus`).

A worker never writes to the terminal (the parent may be showing a progress display
there): the warnings a drawing raises are recorded and raised again in the parent when
its result is taken, as if the figure had been drawn there.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Generic, TypeVar

from oncotrial.core.carried_warnings import WarningRecord, raise_again, recorded

__all__ = ["FigurePool", "Pending", "idle_cpus", "other_runnable", "usable_cpus"]

T = TypeVar("T")

def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def idle_cpus() -> int:
    """The usable CPUs that other programs leave idle now, at least one.

    On Linux, "now" is the number of runnable tasks the kernel reports (``/proc/loadavg``)
    less those of this process and its live child processes (:func:`other_runnable`).
    Elsewhere it is the last minute's load average, which also counts this program's own
    recent work: a report made just after another one would find the CPUs busy with the
    ghost of the first."""
    others = other_runnable()
    if others is None:
        others = int(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    return max(1, usable_cpus() - others)


#: samples of the runnable tasks taken by :func:`other_runnable` (the median is kept)
_SAMPLES = 5


def other_runnable() -> int | None:
    """Tasks of other programs ready to run now (Linux; None elsewhere or when ``/proc`` is
    unreadable): the kernel's count of runnable tasks less those of this process and of its
    live child processes (a figure worker or a replica's process is not a competitor), the
    median of a few samples a millisecond apart, since a single one catches a busy program
    between two of its time slices as often as a sleeping one inside one."""
    pids = [os.getpid(), *(p.pid for p in multiprocessing.active_children() if p.pid is not None)]
    counts = []
    try:
        for _ in range(_SAMPLES):
            with open("/proc/loadavg", encoding="ascii") as f:
                running = int(f.read().split()[3].split("/")[0])
            counts.append(running - sum(_runnable_threads(pid) for pid in pids))
            time.sleep(0.001)
    except (OSError, ValueError, IndexError):
        return None
    return max(0, sorted(counts)[len(counts) // 2])


def _runnable_threads(pid: int) -> int:
    """Threads of process ``pid`` in state R (running or ready), 0 if it has ended."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat", encoding="ascii", errors="replace") as f:
                # the state follows the command name, which is in parentheses and may hold spaces
                state = f.read().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        total += state == "R"
    return total


def _recording(draw: Callable[..., T], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> tuple[T, list[WarningRecord]]:
    """Run ``draw(*args, **kwargs)`` in a worker with its warnings recorded, not shown."""
    with warnings.catch_warnings(record=True) as caught:
        result = draw(*args, **kwargs)
    return result, recorded(caught)


def _forking(workers: int) -> ProcessPoolExecutor | None:
    """An executor of ``workers`` processes forked from this one; ``None`` where the
    platform cannot fork."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


class Pending(Generic[T]):
    """A figure submitted to a :class:`FigurePool`: :meth:`result` waits for it (or, without
    workers, draws it then) and raises its warnings and errors in the calling process."""

    def __init__(self, draw: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any],
                 future: Future[tuple[T, list[WarningRecord]]] | None) -> None:
        self._draw, self._args, self._kwargs, self._future = draw, args, kwargs, future

    def result(self) -> T:
        if self._future is None:
            return self._draw(*self._args, **self._kwargs)
        value, caught = self._future.result()
        raise_again(caught)
        return value


class FigurePool:
    """Up to ``workers`` forked processes drawing figures (default: one per idle CPU,
    :func:`idle_cpus`); ``workers=1``, a single idle CPU or a platform without ``fork``
    draw in this process.

    Use as a context manager: leaving it waits for the figures still being drawn."""

    def __init__(self, workers: int | None = None) -> None:
        count = idle_cpus() if workers is None else workers
        if count < 1:
            raise ValueError(f"workers: expected at least 1, got {count}")
        self._executor = _forking(count) if count > 1 else None

    @classmethod
    def beside(cls) -> FigurePool:
        """One worker process beside this one, when there is a CPU to spare: for a task
        this process need not wait for (e.g. writing data files) while it goes on."""
        pool = cls(1)
        pool._executor = _forking(1) if usable_cpus() > 1 else None
        return pool

    @property
    def parallel(self) -> bool:
        """Whether figures are drawn in worker processes."""
        return self._executor is not None

    def submit(self, draw: Callable[..., T], *args: Any, **kwargs: Any) -> Pending[T]:
        """Start ``draw(*args, **kwargs)`` in a worker (``draw`` a module-level function,
        the arguments picklable), or keep it to run when its result is asked for."""
        future = None if self._executor is None else self._executor.submit(_recording, draw, args, kwargs)
        return Pending(draw, args, kwargs, future)

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=error is not None)
