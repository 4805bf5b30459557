"""Wall-clock time of ``oncotrial demo`` as a whole process (run as ``python benchmarks/bench_demo.py``).

The demo simulates the reference trial, derives its ADaM data, analyses them and writes the
full report. Its target is an absolute one: at most 5 s on the project's two-core machine,
with the figures written as PNG only (the default). The peer is the same demo writing every
figure as PNG, SVG and PDF (``--formats png,svg,pdf``), which is what every demo wrote
before PNG became the default; the speed-up over it is recorded too.

Each run is a new process writing into a new folder, the two commands in turn so that
drift of the machine's speed affects both alike, after one warm-up run each (which fills
the operating system's file cache and matplotlib's font cache). The best run is the least
disturbed by other work on the machine, the target is judged on it; the median is shown
beside it, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import record, run_process

ONCOTRIAL = str(Path(sys.executable).parent / "oncotrial")
#: the demo's arguments besides ``--out``: the default replica
DEMO = ["demo", "--seed", "4"]
COMMANDS: dict[str, list[str]] = {"png": [], "png,svg,pdf": ["--formats", "png,svg,pdf"]}
#: the target: seconds of wall-clock time of the default demo
TARGET_SECONDS = 5.0


def _run_once(extra: list[str], folder: Path) -> float:
    return run_process([ONCOTRIAL, *DEMO, "--out", str(folder), *extra])


def measure(runs: int) -> dict[str, list[float]]:
    """Wall-clock seconds of each command, ``runs`` times each, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(-1, runs):
            for name, extra in COMMANDS.items():
                elapsed = _run_once(extra, Path(tmp) / f"{name}-{i}")
                if i >= 0:
                    times[name].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (default 3)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    times = measure(args.runs)
    print(f"{'oncotrial demo --seed 4':<40} {'best s':>7} {'median s':>9}")
    for name, values in times.items():
        print(f"{'--formats ' + name:<40} {min(values):>7.2f} {statistics.median(values):>9.2f}")
    png, every = times["png"], times["png,svg,pdf"]
    context = (f"PNG: best {min(png):.2f} s, median {statistics.median(png):.2f} s; png,svg,pdf: best "
               f"{min(every):.2f} s, median {statistics.median(every):.2f} s; {args.runs} runs each, load average "
               f"{load:.2f} at start, {os.cpu_count()} cores")
    record("oncotrial demo wall time", min(png), TARGET_SECONDS, peer="the same demo with --formats png,svg,pdf",
           unit="s", at_most=True, context=context)
    record("oncotrial demo, PNG figures only", min(every) / min(png), 1.0,
           peer="the same demo with --formats png,svg,pdf", context=context)


if __name__ == "__main__":
    main()
