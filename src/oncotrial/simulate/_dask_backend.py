"""Run independent simulation chunks on a ``dask.distributed`` cluster.

A chunk's result depends only on its arguments (seed and trial range, see
:mod:`oncotrial.simulate._power_engine`), so the cluster changes where the work is done,
never the numbers: results are collected back in chunk order whatever order the workers
finish in. ``scheduler="local"`` starts a :class:`~dask.distributed.LocalCluster` of worker
processes with one thread each (NumPy's kernels here are single-threaded, so processes,
not threads, use the cores) and closes it afterwards; an address such as
``tcp://host:8786`` connects to a running cluster, whose workers must have ``oncotrial``
installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from oncotrial.core.errors import InputError

__all__ = ["check_scheduler", "dask_map"]

#: seconds to wait for an existing scheduler before giving up
CONNECT_TIMEOUT = 20


def check_scheduler(scheduler: Any, workers: Any) -> tuple[str | None, int | None]:
    """Validated ``(scheduler, workers)``: None (this process), ``"local"`` or an address."""
    if scheduler is not None and (not isinstance(scheduler, str)
                                  or (scheduler != "local" and "://" not in scheduler)):
        raise InputError("scheduler: expected None (this process), 'local' (a LocalCluster) or "
                         f"the address of a dask.distributed scheduler such as "
                         f"tcp://host:8786, got {scheduler!r}", field="scheduler")
    if workers is not None:
        if scheduler != "local":
            raise InputError("workers: only used with scheduler='local' (in this process there "
                             f"is one worker; an existing cluster has its own), got {workers!r}",
                             field="workers")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"workers: expected a positive number of worker processes, "
                             f"got {workers!r}", field="workers")
    return scheduler, workers


def dask_map(function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *,
             scheduler: str, workers: int | None,
             done: Callable[[int], None]) -> list[Any]:
    """``[function(*task) for task in tasks]`` on a Dask cluster, in task order;
    ``done(i)`` is called as task ``i`` finishes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise InputError("scheduler: running on a Dask cluster needs dask.distributed "
                         "(pip install 'dask[distributed]')", field="scheduler") from exc
    if scheduler == "local":
        with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                          processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            return _run(client, function, tasks, done)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise InputError(f"scheduler: could not connect to {scheduler}: {exc}",
                         field="scheduler") from None
    with client:
        return _run(client, function, tasks, done)


def _run(client: Any, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]],
         done: Callable[[int], None]) -> list[Any]:
    from dask.distributed import as_completed

    futures = [client.submit(function, *task, pure=False) for task in tasks]
    position = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for future in as_completed(futures):
        i = position[future.key]
        results[i] = future.result()
        done(i)
        future.release()
    return results
