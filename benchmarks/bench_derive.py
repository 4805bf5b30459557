"""Benchmark of the SDTM -> ADaM derivation: oncotrial.clinical.derive_all on LMS04 replicas.

Tasks: ``derive_all`` on a simulated LMS04 replica of 1,500, 5,000 and 15,000 patients (the
sizes of a pooled analysis; simulation time excluded). Each size is simulated here, written
to a temporary pickle, and derived in a child process that only loads the SDTM frames and
derives them, so that its peak memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the
peak resident set of the child) is the derivation's and not the simulation's; the child
also reports its resident memory just before ``derive_all``, and the difference is what the
derivation added. Time: the best of ``--repeat`` calls in the child (wall clock; the CPU
time of the child is printed beside it, since on a shared machine the two differ).

Targets: at most 1 ms per patient at 15,000 patients, and linear growth: the time at
15,000 patients over the time at 1,500, divided by 10, at most 1.2.

Run: ``python benchmarks/bench_derive.py [--sizes 1500,5000,15000] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import record

CHILD = """
import json, pickle, resource, sys, time
from oncotrial.clinical import derive_all

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

domains, protocol, cutoff = pickle.load(open(sys.argv[1], "rb"))
before = rss_mib()
best, cpu = float("inf"), float("inf")
for _ in range(int(sys.argv[2])):
    t0, c0 = time.perf_counter(), time.process_time()
    derived = derive_all(domains, protocol, cutoff=cutoff)
    best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    del derived
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": best, "cpu": cpu, "peak_mib": peak, "before_mib": before}))
"""


def simulate(patients: int, path: Path) -> int:
    """Simulate an LMS04 replica of ``patients`` patients and pickle its SDTM domains."""
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import simulate_trial

    scenario = Scenario.load("lms04").with_changes({"patients": patients})
    trial = simulate_trial(scenario, seed=1)
    with open(path, "wb") as out:
        pickle.dump((dict(trial.domains), scenario.protocol_model(), trial.cutoff), out)
    return sum(len(frame) for frame in trial.domains.values())


def derive(path: Path, repeat: int) -> dict[str, float]:
    """Time ``derive_all`` on the pickled replica in a fresh child process."""
    run = subprocess.run([sys.executable, "-c", CHILD, str(path), str(repeat)], check=True,
                         capture_output=True, text=True, env=os.environ.copy())
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1500,5000,15000")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    print(f"{'patients':>9}{'SDTM rows':>11}{'seconds':>9}{'CPU s':>7}{'ms/patient':>12}"
          f"{'peak MiB':>10}{'added MiB':>11}")
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for patients in sizes:
            path = Path(tmp) / f"replica_{patients}.pkl"
            t0 = time.perf_counter()
            rows = simulate(patients, path)
            simulated = time.perf_counter() - t0
            result = derive(path, args.repeat)
            results[patients] = result
            print(f"{patients:>9,}{rows:>11,}{result['seconds']:>9.2f}{result['cpu']:>7.2f}"
                  f"{result['seconds'] / patients * 1e3:>12.3f}{result['peak_mib']:>10.0f}"
                  f"{result['peak_mib'] - result['before_mib']:>11.0f}"
                  f"   (simulated in {simulated:.1f} s, not counted)", flush=True)
    largest, smallest = max(sizes), min(sizes)
    big, small = results[largest], results[smallest]
    per_patient = big["seconds"] / largest * 1e3
    growth = (big["seconds"] / small["seconds"]) / (largest / smallest)
    context = (f"{largest:,} patients {big['seconds']:.1f} s ({big['cpu']:.1f} s CPU), "
               f"{smallest:,} patients {small['seconds']:.2f} s; load average "
               f"{os.getloadavg()[0]:.1f}; peak RSS {big['peak_mib']:.0f} MiB "
               f"({big['peak_mib'] - big['before_mib']:.0f} MiB above the loaded SDTM data; "
               f"getrusage maxrss of a child process)")
    record(f"derive_all per patient at {largest:,} patients", per_patient, 1,
           peer=f"linear growth from {smallest:,} patients", unit="ms/patient", at_most=True,
           context=context)
    record(f"derive_all growth {smallest:,} -> {largest:,} patients", growth, 1.2,
           peer="linear growth", unit="x linear", at_most=True, context=context)


if __name__ == "__main__":
    main()
