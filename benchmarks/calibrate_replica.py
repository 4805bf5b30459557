"""Calibration check of a replica scenario on many replicas' latent truth.

Simulates ``--replicas`` replicas of ``--scenario`` (seeds ``--seed`` onwards), analyses each
with oncotrial.stats as the publication did (:func:`oncotrial.simulate.calibration.replica_estimates`)
and prints, per estimate, the published value, the simulated mean and central 95 %, and
whether the published value lies inside. Targets: the scenario's ``<id>_targets.yaml``
(headline results) plus the Table 1 treatment-delivery shares below. This is the fast loop
used to tune the scenario's calibrated parameters; ``oncotrial simulate calibrate`` is the
final check through the derivations.

Run: ``python benchmarks/calibrate_replica.py [--replicas 200] [--seed 1000]``.
"""

from __future__ import annotations

import argparse
import time

#: LMS04 Table 1 (NEJM 2024), fractions of the randomised patients (76 and 74)
TABLE1 = {
    "treatment.completed_induction.control": 54 / 76,
    "treatment.completed_induction.experimental": 60 / 74,
    "treatment.progression_induction.control": 17 / 76,
    "treatment.progression_induction.experimental": 5 / 74,
    "treatment.toxicity_induction.control": 3 / 76,
    "treatment.toxicity_induction.experimental": 7 / 74,
    "treatment.completed_maintenance.experimental": 21 / 74,
    "treatment.toxicity_maintenance.experimental": 10 / 74,
    "subsequent.trabectedin_second_line.control": 28 / 74,
    "subsequent.trabectedin_later.control": 17 / 74,
    "subsequent.trabectedin_second_line.experimental": 2 / 66,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="lms04")
    parser.add_argument("--replicas", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()

    import pandas as pd

    from oncotrial.simulate.calibrate import load_targets
    from oncotrial.simulate.quick_calibration import calibration_table
    from oncotrial.simulate.scenario import Scenario

    scenario = Scenario.load(args.scenario)
    targets = {**load_targets(args.scenario), **(TABLE1 if scenario.id == "lms04" else {})}
    t0 = time.perf_counter()
    table = calibration_table(scenario, replicas=args.replicas, seed=args.seed, targets=targets)
    elapsed = time.perf_counter() - t0
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table.round(3).to_string())
    checked = table["inside"].dropna()
    print(f"{int(checked.sum())} of {len(checked)} published values inside the central 95 % of "
          f"{args.replicas} replicas ({elapsed:.1f} s)")


if __name__ == "__main__":
    main()
