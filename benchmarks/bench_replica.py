"""Benchmark of the patient-level replica: oncotrial.simulate.trial.simulate_trial on LMS04.

Tasks: one LMS04 replica (150 patients, every SDTM domain, the latent truth), from a scenario
already loaded and from the bundled name (loading and validating the scenario included), and
the derivation of one replica's ADaM data (``derive_all``) for comparison. Each is timed as
the best of ``--repeat`` batches of ``--calls`` calls (different seeds) in this process; the
target is under one second per replica.

Run: ``python benchmarks/bench_replica.py [--calls 20]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def per_call(fn: Callable[[int], object], calls: int, repeat: int) -> float:
    best = float("inf")
    for r in range(repeat):
        t0 = time.perf_counter()
        for i in range(calls):
            fn(r * calls + i)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from oncotrial.clinical import derive_all
    from oncotrial.simulate.scenario import Scenario
    from oncotrial.simulate.trial import simulate_trial

    scenario = Scenario.load("lms04")
    protocol = scenario.protocol_model()
    one = simulate_trial(scenario, seed=1)
    tasks: list[tuple[str, Callable[[int], object], int]] = [
        ("LMS04 replica (scenario loaded)", lambda s: simulate_trial(scenario, seed=s), args.calls),
        ("LMS04 replica (from 'lms04')", lambda s: simulate_trial("lms04", seed=s), args.calls),
        ("derive_all on one replica", lambda _seed: derive_all(one.domains, protocol, cutoff=one.cutoff),
         max(args.calls // 10, 1)),
    ]
    rows = sum(len(frame) for frame in one.domains.values())
    print(f"one replica: {len(one.dm)} patients, {rows:,} SDTM records")
    print(f"{'task':<34}{'ms per call':>12}{'per second':>12}")
    for name, fn, calls in tasks:
        seconds = per_call(fn, calls, args.repeat)
        print(f"{name:<34}{seconds * 1e3:>12.1f}{1 / seconds:>12.1f}")


if __name__ == "__main__":
    main()
