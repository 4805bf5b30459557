"""Timing and reporting helpers shared by the benchmark scripts (run as
``python benchmarks/<name>.py``).

Every target of the performance table is recorded with :func:`record`: the script prints
the line, and when ``BENCH_RESULTS`` names a file (``make bench`` sets it) appends it there
as one JSON line, so ``benchmarks/run_all.py`` can print every target in one table.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall-clock time in seconds of ``repeat`` calls: the least disturbed run."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_process(argv: list[str]) -> float:
    """Wall-clock seconds of one whole process run of ``argv``; a failure stops the
    benchmark with the command and its error output (a failed run has no time)."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.decode()}")
    return elapsed


def record(task: str, value: float, target: float, *, peer: str, unit: str = "x",
           at_most: bool = False, context: str = "") -> bool:
    """Print and store one measured target; returns whether it is met.

    ``value``: a speed-up over ``peer`` (``unit="x"``: peer time / our time, met when
    ``value >= target``) or, with ``at_most=True``, a quantity that must stay at or under
    ``target`` (e.g. ``unit="ms/patient"``, ``peer`` then names what it is measured
    against). ``context``: absolute times or sizes, shown beside the ratio.
    """
    met = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    line = {"task": task, "peer": peer, "value": round(float(value), 3), "unit": unit,
            "target": f"{sign} {target:g}", "met": bool(met), "context": context}
    print(f"[target] {task}: {value:.3g} {unit} vs {peer} (target {sign} {target:g} {unit}) "
          f"{'met' if met else 'NOT met'}{'; ' + context if context else ''}", flush=True)
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    return met
