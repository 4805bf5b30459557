"""Run every benchmark with a performance target and print one table of the targets.

Each script records its targets through ``_timing.record`` into the file named by
``BENCH_RESULTS``; this runner sets it, runs the scripts one after another (never two at
once: they would share the two cores and disturb each other's ratios), and prints the
table: task, peer, measured value, target, met. The machine's load average at the start is
printed too, since a busy machine lowers absolute speeds.

Run: ``make bench`` or ``python benchmarks/run_all.py [--only stats,derive]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the scripts with targets, in the order they run, and their arguments under ``make bench``
SCRIPTS: dict[str, list[str]] = {
    "stats": ["bench_stats.py"],
    "derive": ["bench_derive.py"],
    "simulate": ["bench_simulate.py"],
    "demo": ["bench_demo.py"],
    "server": ["bench_server.py", "--db", "postgres", "--scale"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated names of " + ", ".join(SCRIPTS))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(SCRIPTS)
    unknown = sorted(set(names) - set(SCRIPTS))
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {unknown}; expected some of {list(SCRIPTS)}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        failed = []
        for name in names:
            script, *rest = SCRIPTS[name]
            print(f"\n=== {name}: {script} {' '.join(rest)}", flush=True)
            run = subprocess.run([sys.executable, str(HERE / script), *rest], check=False,
                                 env={**os.environ, "BENCH_RESULTS": str(results)})
            if run.returncode:
                failed.append(name)
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    print("\n| task | peer | measured | target | met |\n| --- | --- | ---: | ---: | :---: |")
    for r in rows:
        print(f"| {r['task']} | {r['peer']} | {r['value']:g} {r['unit']} | {r['target']} {r['unit']} | "
              f"{'yes' if r['met'] else 'no'} |")
    if failed:
        print(f"\nbenchmark(s) that failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
