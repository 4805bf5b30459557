"""Benchmark of oncotrial.randomise against a naive pure-Python peer, measured in the same run.

Tasks: (1) a stratified permuted-block list of 1,000,000 allocations for LMS04 (4 strata x
250,000, block sizes {2,4,6}), including the canonical text and its SHA-256; (2) ``assess``
with 10,000 simulated trials of 150 patients for each default method of LMS04
(``default_methods``); (3) 1,000 patients allocated one by one through the pure
``allocate`` (minimisation, the 2:1 three-factor example protocol), then ``replay_state``.

Peer ("naive loop", written here as the reference): the textbook per-block implementation,
one ``random.choice`` for the block size and one ``random.shuffle`` per block, appended to a
Python list, then the same CSV lines and SHA-256. It is what a statistician's script
typically does; it is timed on the same machine in the same process.

Run: ``python benchmarks/bench_randomise.py [--per-stratum 250000] [--sims 10000]``.
"""

from __future__ import annotations

import argparse
import hashlib
import random

from _timing import best_of

from oncotrial.protocol import Protocol
from oncotrial.randomise import (
    AllocationState,
    allocate,
    assess,
    default_methods,
    generate_list,
    replay_state,
)

LMS04 = Protocol.load("lms04")
GASTRIC = Protocol.load("gastric_example")


def allocate_and_replay(n: int) -> None:
    """``n`` minimisation allocations through the pure interface, then their replay."""
    state = AllocationState.initial(GASTRIC)
    for i in range(n):
        stratum = {"region": ("asia", "rest_of_world")[i % 2], "ecog": i // 2 % 2, "pd_l1_cps_class": 1 + i % 3}
        _, state = allocate(state, stratum, protocol=GASTRIC, seed=1, subject=f"P{i}")
    assert replay_state(state, GASTRIC, 1).ok


def naive_loop_peer(seed: int, per_stratum: int) -> str:
    """PEER (naive loop): per-block random.shuffle; returns the SHA-256 of its CSV text."""
    rnd = random.Random(seed)
    lines = []
    for origin in ("uterine", "soft_tissue"):
        for stage in ("locally_advanced", "metastatic"):
            label, seq, block = f"origin={origin}|stage={stage}", 0, 0
            while seq < per_stratum:
                size = rnd.choice((2, 4, 6))
                arms = ["DOX"] * (size // 2) + ["DOXTRAB"] * (size // 2)
                rnd.shuffle(arms)
                block += 1
                for arm in arms:
                    seq += 1
                    if seq > per_stratum:
                        break
                    lines.append(f"{label},{seq},{block},{size},{arm}")
    return hashlib.sha256(("\n".join(lines) + "\n").encode("utf-8")).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-stratum", type=int, default=250_000)
    ap.add_argument("--sims", type=int, default=10_000)
    ap.add_argument("--patients", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = 4 * args.per_stratum
    ours = best_of(lambda: generate_list(LMS04, 1, args.per_stratum), args.repeat)
    peer = best_of(lambda: naive_loop_peer(1, args.per_stratum), args.repeat)
    print(f"generate_list, {n:,} allocations (incl. SHA-256)")
    print(f"  oncotrial          {ours:8.3f} s")
    print(f"  naive loop (peer)  {peer:8.3f} s   peer/oncotrial = {peer / ours:.1f}x")
    print(f"assess, {args.sims:,} trials x {args.patients} patients")
    total = 0.0
    for method in default_methods(LMS04):
        t = best_of(lambda m=method: assess(LMS04, m, args.patients, args.sims, 1), 1)
        total += t
        print(f"  {method:20s} {t:8.3f} s")
    print(f"  all methods        {total:8.3f} s")
    t = best_of(lambda: allocate_and_replay(1000), 1)
    print(f"allocate 1,000 patients (minimisation, 2:1, 3 factors) + replay_state  {t:8.3f} s")


if __name__ == "__main__":
    main()
