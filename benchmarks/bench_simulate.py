"""Benchmark of oncotrial's power simulation against R rpact's getSimulationSurvival, and of
its Dask backend (1 worker vs 2), in the same run.

Tasks: the LMS04-sized power simulation (150 patients, regular entry over 24 months, median
6 vs 9.7 months, log-rank test at 136 events, one-sided 2.5 %), as a fixed design and with
3 looks (Lan-DeMets O'Brien-Fleming), ``--trials`` trials each:

* in-process, one core: best of ``--repeat`` runs, against rpact's time inside R for the
  same number of iterations (the same design, ``seed = 1``);
* from the command line: the whole ``oncotrial simulate power ... --json`` process (start-up,
  imports, simulation, output), best of ``--repeat``, against rpact's in-R time.

The ratios recorded are of CPU time (user + system, of the process and its children; R's
``proc.time``): on a machine shared with other jobs the wall time also counts the time a
process waits for a core, which depends on the others' load at that moment, not on the
code. Wall times and their ratios are shown beside them.
* Dask: ``--dask-trials`` trials of the fixed design, and ``oncotrial simulate calibrate``
  of ``--calibrate-replicas`` LMS04 replicas, on a LocalCluster of 1 and of 2 worker
  processes (one thread each; clusters started and warmed up before the clock starts).
  Wall times give the speed-up; the workers' CPU time per trial (or replica) shows whether
  the second worker got a core of its own: on a machine whose cores are busy with other
  work it cannot, and the speed-up falls short of 2 whatever the code does. The machine's
  ceiling at that moment is measured beside it: two independent busy processes against
  one (:func:`parallel_ceiling`).

rpact needs ``Rscript`` on PATH with rpact installed; without it only the Dask ratios are
recorded. Run: ``make bench-simulate`` or ``python benchmarks/bench_simulate.py [--trials N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import record

R_TEMPLATE = """
suppressPackageStartupMessages(library(rpact))
n <- {trials}
fixed <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
looks <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF")
cpu <- function(t) t[["user.self"]] + t[["sys.self"]]
tm <- function(design, events) {{
  t0 <- proc.time()
  s <- getSimulationSurvival(design, lambda2 = log(2) / 6, lambda1 = log(2) / 9.7,
    directionUpper = FALSE, plannedEvents = events, maxNumberOfSubjects = 150,
    accrualTime = c(0, 24), maxNumberOfIterations = n, seed = 1)
  t1 <- proc.time()
  c(t1[["elapsed"]] - t0[["elapsed"]], cpu(t1) - cpu(t0), s$overallReject)
}}
cat(tm(fixed, 136), tm(looks, c(46, 91, 136)), "\\n")
"""
#: the LMS04 design as options of ``oncotrial simulate power`` (the fixed design)
CLI_OPTIONS = ["--median-control", "6", "--median-experimental", "9.7", "--patients", "150",
               "--events", "136", "--accrual", "24", "--alpha", "0.025", "--sided", "1",
               "--entry", "regular", "--seed", "1", "--json"]


def rpact_times(trials: int) -> list[tuple[float, float, float]] | None:
    """rpact's (wall seconds, CPU seconds, power) for the fixed and the 3-look design, or
    None without R."""
    if not shutil.which("Rscript"):
        print("rpact unavailable: Rscript is not on PATH (install r-base-core and "
              "r-cran-rpact); recording the Dask ratios only")
        return None
    run = subprocess.run(["Rscript", "-e", R_TEMPLATE.format(trials=trials)],
                         capture_output=True, text=True, check=False)
    if run.returncode:
        print(f"rpact unavailable: {run.stderr.strip().splitlines()[-1:]}; recording the "
              "Dask ratios only")
        return None
    values = [float(x) for x in run.stdout.split()]
    return [(values[i], values[i + 1], values[i + 2]) for i in (0, 3)]


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of this process and its children) of ``repeat``
    calls. On a machine shared with other jobs the wall time counts the time spent waiting
    for a core; the CPU time is the one-core cost, so both are shown."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, w0 = _cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(_cpu() - c0)
    return min(walls), min(cpus)


def _cpu() -> float:
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cli_command(trials: int) -> list[str]:
    """The ``oncotrial`` console script next to this interpreter (else ``-m oncotrial.cli``)."""
    script = Path(sys.executable).with_name("oncotrial")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "oncotrial.cli"]
    return [*head, "simulate", "power", *CLI_OPTIONS, "--trials", str(trials)]


def on_workers(n: int, job: Callable[[str], Any], warm_up: Callable[[str], Any]
               ) -> tuple[float, float, float]:
    """(wall seconds, workers' CPU seconds, this client's CPU seconds) of ``job(address)``
    on a fresh LocalCluster of ``n`` one-thread worker processes, after ``warm_up(address)``
    (imports, first buffers). The client's CPU time is the serial part: sending the tasks,
    collecting and summarising the results."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        address = cluster.scheduler_address
        warm_up(address)
        before = client.run(time.process_time)
        c0, t0 = time.process_time(), time.perf_counter()
        job(address)
        wall, own = time.perf_counter() - t0, time.process_time() - c0
        after = client.run(time.process_time)
    return wall, sum(after[w] - before[w] for w in after), own


def parallel_ceiling(seconds: float = 1.5) -> float:
    """How much faster two independent CPU-bound processes get through twice the work of
    one, right now: the ceiling of any 2-worker speed-up on this machine at that moment
    (2 on an idle 2-core machine; about 1 when other jobs keep the cores busy)."""
    loops = int(seconds * 2e7)
    code = f"x = 0\nfor i in range({loops}): x += i"
    walls = []
    for n in (1, 2):
        t0 = time.perf_counter()
        for process in [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]:
            process.wait()
        walls.append(time.perf_counter() - t0)
    return 2 * walls[0] / walls[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100_000,
                        help="trials per in-process and command-line run, and rpact iterations")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dask-trials", type=int, default=1_000_000)
    parser.add_argument("--calibrate-replicas", type=int, default=20)
    args = parser.parse_args()

    from oncotrial.design import group_sequential
    from oncotrial.simulate.calibrate import calibrate
    from oncotrial.simulate.power import simulate_power

    print(f"load average {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores", flush=True)
    fixed = dict(median_control=6, median_experimental=9.7, subjects=150, events=136,
                 accrual_time=24, alpha=0.025, sided=1, entry="regular", seed=1)
    looks = fixed | {"design": group_sequential(3, alpha=0.025, type="asOF"), "alpha": None,
                     "sided": None}
    n = args.trials

    peer = rpact_times(n)
    if peer is not None:
        for (name, target), kw, (r_wall, r_cpu, r_power) in zip(
                (("LMS04 fixed design", 20.0), ("LMS04 3 looks (asOF)", 10.0)), (fixed, looks),
                peer, strict=True):
            power = simulate_power(**kw, trials=n).power
            wall, cpu = timed(lambda kw=kw: simulate_power(**kw, trials=n), args.repeat)
            record(f"power simulation, {name}, in-process (1 core, {n:,} trials)", r_cpu / cpu,
                   target, peer="rpact getSimulationSurvival",
                   context=f"CPU oncotrial {cpu:.3f} s, rpact {r_cpu:.2f} s; wall {wall:.3f} s "
                           f"vs {r_wall:.2f} s ({r_wall / wall:.1f}x); power {power:.4f} vs "
                           f"{r_power:.4f}")
        wall, cpu = timed(lambda: subprocess.run(cli_command(n), check=True,
                                                 stdout=subprocess.DEVNULL), args.repeat)
        r_wall, r_cpu, _ = peer[0]
        record(f"power simulation, LMS04 fixed design, command line ({n:,} trials)",
               r_cpu / cpu, 10.0, peer="rpact getSimulationSurvival (time in R)",
               context=f"whole `oncotrial simulate power` process: CPU {cpu:.2f} s vs rpact "
                       f"{r_cpu:.2f} s; wall {wall:.2f} s vs {r_wall:.2f} s "
                       f"({r_wall / wall:.1f}x)")

    def power_job(address: str) -> None:
        simulate_power(**fixed, trials=args.dask_trials, scheduler=address)

    def power_warm_up(address: str) -> None:
        simulate_power(**fixed, trials=20_000, chunk_size=2_000, scheduler=address)

    def calibrate_job(address: str) -> None:
        calibrate("lms04", trials=args.calibrate_replicas, seed=1, scheduler=address)

    def calibrate_warm_up(address: str) -> None:
        from dask.distributed import Client

        with Client(address) as client:
            client.run(lambda: __import__("oncotrial.simulate.calibrate"))

    for name, units, count, job, warm_up in (
            (f"Dask power simulation, {args.dask_trials:,} trials", "trial", args.dask_trials,
             power_job, power_warm_up),
            (f"Dask simulate calibrate, {args.calibrate_replicas} LMS04 replicas", "replica",
             args.calibrate_replicas, calibrate_job, calibrate_warm_up)):
        (wall_1, cpu_1, own_1), (wall_2, cpu_2, own_2) = (on_workers(w, job, warm_up)
                                                          for w in (1, 2))
        ceiling = parallel_ceiling()
        scale, unit = (1e6, "us") if units == "trial" else (1.0, "s")
        record(f"{name}: 2 workers vs 1", wall_1 / wall_2, 1.7, peer="1 worker",
               context=f"wall {wall_1:.2f} s vs {wall_2:.2f} s; worker CPU per {units} "
                       f"{cpu_1 / count * scale:.2f} {unit} (1 worker) vs "
                       f"{cpu_2 / count * scale:.2f} {unit} (2 workers); cores the workers "
                       f"got: {cpu_1 / wall_1:.2f} vs {cpu_2 / wall_2:.2f}; client CPU "
                       f"{own_1:.2f} s vs {own_2:.2f} s; two independent busy processes vs "
                       f"one (the machine's ceiling then): {ceiling:.2f}x; load average "
                       f"{os.getloadavg()[0]:.2f}")

if __name__ == "__main__":
    main()
