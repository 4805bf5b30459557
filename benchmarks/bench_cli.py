"""Start-up time of the command line, as whole processes (run as ``python benchmarks/bench_cli.py``).

A small command must not pay for the statistics, plotting and simulation code it does not
use: ``oncotrial design survival ... --json`` should answer within 1.5 times the time
Python takes to import the numerical stack the design code needs (NumPy and
``scipy.special``; pandas only when a result becomes a DataFrame), and ``oncotrial
--version`` well under half a second. Each command
runs as a new process several times, in turn, so that drift of the machine's speed
affects all of them alike; the table shows the minimum and the median wall-clock time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from _timing import run_process

BIN = Path(sys.executable).parent
ONCOTRIAL = str(BIN / "oncotrial")

#: the LMS04 design inputs (median PFS 6 vs 9.7 months, 24 months accrual and follow-up)
DESIGN = ["design", "survival", "--median-control", "6", "--median-experimental", "9.7",
          "--alpha", "0.05", "--power", "0.8", "--accrual", "24", "--follow-up", "24",
          "--not-randomised", "0.03", "--json"]

COMMANDS: dict[str, list[str]] = {
    "import numpy, scipy.special": [sys.executable, "-c", "import numpy, scipy.special"],
    "oncotrial --version": [ONCOTRIAL, "--version"],
    "oncotrial design survival ... --json": [ONCOTRIAL, *DESIGN],
    "oncotrial protocol show lms04": [ONCOTRIAL, "protocol", "show", "lms04"],
}

#: the target of the design command relative to the bare imports
TARGET_RATIO = 1.5


def measure(runs: int) -> dict[str, list[float]]:
    """Wall-clock seconds of every command, ``runs`` times each, interleaved, after one
    warm-up run each (which fills the operating system's file cache)."""
    for argv in COMMANDS.values():
        run_process(argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            times[name].append(run_process(argv))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    args = parser.parse_args()
    times = measure(args.runs)
    base = statistics.median(times["import numpy, scipy.special"])
    print(f"{'command':<40} {'min s':>7} {'median s':>9} {'x imports':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<40} {min(values):>7.3f} {median:>9.3f} {median / base:>10.2f}")
    ratio = statistics.median(times["oncotrial design survival ... --json"]) / base
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"design survival / imports: {ratio:.2f} (target {TARGET_RATIO:g}: {verdict})")


if __name__ == "__main__":
    main()
