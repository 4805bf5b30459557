"""Benchmark of oncotrial.design against rpact, measured in the same run.

Tasks: a 3-look Lan-DeMets O'Brien-Fleming boundary (one-sided alpha 0.025, beta 0.2), the
same with non-binding O'Brien-Fleming-type beta-spending futility, a 5-look
Hwang-Shih-DeCani (gamma -4) boundary, and the full group-sequential survival design of
LMS04 (3 looks, asOF, medians 6 vs 9.7, accrual 24, follow-up 24). oncotrial is timed in
this process (best of ``--repeat`` batches); rpact is timed inside R with the same number
of calls (``Rscript`` must be on PATH with rpact installed, else only oncotrial is shown).

Run: ``make bench-design`` or ``python benchmarks/bench_design.py [--calls 200]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from collections.abc import Callable

R_TEMPLATE = """
suppressPackageStartupMessages(library(rpact))
n <- {calls}
tm <- function(expr) {{
  t0 <- proc.time()[["elapsed"]]; for (i in seq_len(n)) eval(expr)
  (proc.time()[["elapsed"]] - t0) / n
}}
a <- tm(quote(getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, typeOfDesign = "asOF")))
b <- tm(quote(getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, typeOfDesign = "asOF",
                                       typeBetaSpending = "bsOF", bindingFutility = FALSE)))
c <- tm(quote(getDesignGroupSequential(kMax = 5, alpha = 0.025, beta = 0.2, typeOfDesign = "asHSD", gammaA = -4)))
d <- tm(quote(getSampleSizeSurvival(getDesignGroupSequential(kMax = 3, alpha = 0.05, sided = 2, beta = 0.2,
        typeOfDesign = "asOF"), median1 = 9.7, median2 = 6, accrualTime = c(0, 24), followUpTime = 24)))
cat(a, b, c, d, "\\n")
"""


def per_call(fn: Callable[[], object], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from oncotrial.design import group_sequential, survival_sample_size

    tasks: list[tuple[str, Callable[[], object]]] = [
        ("3-look asOF boundary", lambda: group_sequential(3, alpha=0.025, beta=0.2, type="asOF")),
        ("3-look asOF + bsOF futility", lambda: group_sequential(3, alpha=0.025, beta=0.2, type="asOF",
                                                                 futility="bsOF")),
        ("5-look asHSD(-4) boundary", lambda: group_sequential(5, alpha=0.025, beta=0.2, type="asHSD",
                                                               gamma=-4)),
        ("LMS04 3-look survival design", lambda: survival_sample_size(
            median_control=6, median_experimental=9.7, accrual_time=24, follow_up=24,
            design=group_sequential(3, alpha=0.05, sided=2, beta=0.2, type="asOF"))),
    ]
    ours = [per_call(fn, args.calls, args.repeat) for _, fn in tasks]

    peer: list[float] | None = None
    if shutil.which("Rscript"):
        run = subprocess.run(["Rscript", "-e", R_TEMPLATE.format(calls=args.calls)],
                             capture_output=True, text=True, check=False)
        if run.returncode == 0:
            peer = [float(x) for x in run.stdout.split()]
        else:
            print(f"rpact not measured: {run.stderr.strip().splitlines()[-1:]}")
    print(f"{'task':<32}{'oncotrial ms':>14}{'rpact ms':>11}{'speed-up':>10}")
    for i, (name, _) in enumerate(tasks):
        if peer is None:
            print(f"{name:<32}{ours[i] * 1e3:>14.3f}{'-':>11}{'-':>10}")
        else:
            print(f"{name:<32}{ours[i] * 1e3:>14.3f}{peer[i] * 1e3:>11.3f}{peer[i] / ours[i]:>9.1f}x")


if __name__ == "__main__":
    main()
