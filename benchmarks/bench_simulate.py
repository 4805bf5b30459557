"""Benchmark of oncotrial.simulate.power against rpact's getSimulationSurvival, in the same run.

Tasks: the LMS04-sized power simulation (150 patients, uniform accrual over 24 months,
median 6 vs 9.7 months, log-rank test at 136 events, one-sided 2.5 %), as a fixed design
and with 3 looks (Lan-DeMets O'Brien-Fleming). oncotrial is timed in this process and on a
2-worker Dask LocalCluster (started once, its start-up time shown apart), best of
``--repeat`` runs of ``--trials`` trials; rpact is timed inside R on ``--rpact-trials``
iterations of the same design (``Rscript`` must be on PATH with rpact installed, else only
oncotrial is shown). The speed-up is oncotrial's best throughput over rpact's.

Run: ``make bench-simulate`` or ``python benchmarks/bench_simulate.py [--trials 200000]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

from _timing import best_of

R_TEMPLATE = """
suppressPackageStartupMessages(library(rpact))
n <- {trials}
fixed <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
looks <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF")
tm <- function(design, events) {{
  t0 <- proc.time()[["elapsed"]]
  getSimulationSurvival(design, lambda2 = log(2) / 6, lambda1 = log(2) / 9.7,
    directionUpper = FALSE, plannedEvents = events, maxNumberOfSubjects = 150,
    accrualTime = c(0, 24), maxNumberOfIterations = n, seed = 1)
  proc.time()[["elapsed"]] - t0
}}
cat(tm(fixed, 136), tm(looks, c(46, 91, 136)), "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=200_000)
    parser.add_argument("--rpact-trials", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from dask.distributed import LocalCluster

    from oncotrial.design import group_sequential
    from oncotrial.simulate.power import simulate_power

    common = dict(median_control=6, median_experimental=9.7, subjects=150, events=136,
                  accrual_time=24, alpha=0.025, sided=1, entry="regular", trials=args.trials,
                  seed=1)
    gsd = group_sequential(3, alpha=0.025, type="asOF")
    tasks = [("LMS04 fixed design", common),
             ("LMS04 3 looks (asOF)", common | {"design": gsd, "alpha": None, "sided": None})]

    local = [best_of(lambda kw=kw: simulate_power(**kw), args.repeat) for _, kw in tasks]
    t0 = time.perf_counter()
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        startup = time.perf_counter() - t0
        address = cluster.scheduler_address
        cluster_times = [best_of(lambda kw=kw: simulate_power(**kw, scheduler=address),
                                 args.repeat) for _, kw in tasks]

    peer: list[float] | None = None
    if shutil.which("Rscript"):
        run = subprocess.run(["Rscript", "-e", R_TEMPLATE.format(trials=args.rpact_trials)],
                             capture_output=True, text=True, check=False)
        if run.returncode == 0:
            peer = [args.rpact_trials / float(x) for x in run.stdout.split()]
        else:
            print(f"rpact not measured: {run.stderr.strip().splitlines()[-1:]}")

    print(f"{args.trials:,} trials per oncotrial run (best of {args.repeat}); "
          f"{args.rpact_trials:,} rpact iterations; LocalCluster of {args.workers} worker "
          f"processes started in {startup:.1f} s (not counted)")
    print(f"{'task':<24}{'1 process':>14}{f'{args.workers} workers':>14}{'rpact':>12}"
          f"{'speed-up':>10}   (trials per second)")
    for i, (name, _) in enumerate(tasks):
        ours = args.trials / local[i], args.trials / cluster_times[i]
        line = f"{name:<24}{ours[0]:>14,.0f}{ours[1]:>14,.0f}"
        if peer is None:
            print(f"{line}{'-':>12}{'-':>10}")
        else:
            print(f"{line}{peer[i]:>12,.0f}{max(ours) / peer[i]:>9.1f}x")


if __name__ == "__main__":
    main()
