"""Calibration evidence: does the in-silico replica reproduce the published trial?

:func:`calibrate` simulates ``trials`` replicas of a scenario, runs each through the real
derivations (:func:`oncotrial.clinical.derive_all`, at the scenario's data cut-off) and the
statistics core (:func:`oncotrial.simulate.estimates.trial_estimates`), and compares every
published point estimate with the Monte-Carlo distribution of the same estimator: its mean
and its central 95% (2.5th and 97.5th percentiles). A published value outside that interval
means the replica does not reproduce that result — the question a reader of an in-silico
trial asks first.

Seeds: replica ``i`` uses the ``i``-th child of ``numpy.random.SeedSequence(seed)`` (its
first 63 bits as the replica's integer seed, recorded per replica), so the result is the
same whatever the chunking or the number of workers, and any replica can be re-created with
``oncotrial simulate trial --seed <that seed>``.

Targets: the scenario's bundled ``<name>_targets.yaml`` (published values, each named as an
estimate of :func:`~oncotrial.simulate.estimates.trial_estimates`), or ``targets=`` given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from oncotrial.clinical import derive_all
from oncotrial.simulate._dask_backend import check_scheduler, dask_map
from oncotrial.simulate.estimates import trial_estimates
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial
from oncotrial.stats._results import Result

__all__ = ["CalibrationResult", "calibrate", "load_targets", "replica_seeds"]

#: replicas per task sent to a worker (fixed, so chunking never changes the seeds)
CHUNK = 10


@dataclasses.dataclass(frozen=True, repr=False)
class CalibrationResult(Result):
    """Published value vs Monte-Carlo mean and central 95% of each estimate.

    ``table``: one row per target (``estimate, published, mean, lower, upper, within,
    available``; ``available`` = replicas in which the estimate exists, e.g. a median reached).
    ``replicas``: one row per replica (``replica, seed`` and every estimate).
    """

    scenario: str
    trials: int
    seed: int
    table: pd.DataFrame
    replicas: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @property
    def all_within(self) -> bool:
        """Every published value lies within the central 95% of its simulated estimate."""
        return bool(self.table["within"].all())

    def __repr__(self) -> str:
        outside = self.table.loc[~self.table["within"], "estimate"].tolist()
        return (f"CalibrationResult(scenario={self.scenario!r}, trials={self.trials}, "
                f"seed={self.seed}, targets={len(self.table)}, outside={outside})")


def replica_seeds(seed: int, trials: int) -> list[int]:
    """The integer seed of each replica (see the module docstring)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 1:
        raise ValueError(f"trials: expected a positive integer, got {trials!r}")
    children = np.random.SeedSequence(int(seed)).spawn(int(trials))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def load_targets(name_or_path: str | Path) -> dict[str, float]:
    """Published targets: a bundled scenario name (``"lms04"``) or a YAML file with a
    ``targets`` mapping of estimate name to published value."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        text = path.read_text(encoding="utf-8")
        source = str(path)
    else:
        resource = resources.files("oncotrial") / "scenarios" / f"{name_or_path}_targets.yaml"
        if not resource.is_file():
            raise ValueError(f"targets: no bundled targets for scenario {str(name_or_path)!r}; "
                             "pass targets= or a YAML file")
        text = resource.read_text(encoding="utf-8")
        source = f"{name_or_path}_targets.yaml"
    data = yaml.safe_load(text)
    targets = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(targets, dict) or not targets:
        raise ValueError(f"{source}: expected a non-empty 'targets' mapping of estimate name "
                         "to published value")
    out: dict[str, float] = {}
    for key, value in targets.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{source}: targets.{key}: expected a number, got {value!r}")
        out[str(key)] = float(value)
    return out


def _replicas(scenario: str, seeds: list[int], first: int) -> list[dict[str, float]]:
    """Simulate, derive and estimate each seed (one worker task; the scenario is loaded and
    validated once per task, not per replica)."""
    loaded = Scenario.load(scenario)
    protocol = loaded.protocol_model()
    rows = []
    for k, seed in enumerate(seeds):
        trial = simulate_trial(loaded, seed=seed)
        data = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
        row = {"replica": first + k, "seed": seed}
        row.update(trial_estimates(data.adsl, data.adtte, data.adrs, data.adae, protocol))
        rows.append(row)
    return rows


def calibrate(scenario: str | Path = "lms04", *, trials: int = 2000, seed: int = 1,
              targets: Mapping[str, float] | None = None, scheduler: str | None = None,
              workers: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> CalibrationResult:
    """Simulate ``trials`` replicas of ``scenario`` and compare with the published targets.

    ``scheduler``: ``None`` (this process), ``"local"`` (a Dask ``LocalCluster`` of
    ``workers`` processes) or a ``dask.distributed`` scheduler address; the numbers do not
    depend on it. ``progress(done, total)`` is called as replicas complete.
    """
    scheduler, workers = check_scheduler(scheduler, workers)
    seeds = replica_seeds(seed, trials)
    name = str(scenario)
    Scenario.load(scenario)  # a bad scenario fails here, before any work is sent out
    wanted = dict(targets) if targets is not None else load_targets(scenario)
    tasks = [(name, seeds[i:i + CHUNK], i) for i in range(0, len(seeds), CHUNK)]
    done = [0]

    def tick(i: int) -> None:
        done[0] += len(tasks[i][1])
        if progress is not None:
            progress(done[0], len(seeds))

    if scheduler is None:
        chunks = []
        for i, task in enumerate(tasks):
            chunks.append(_replicas(*task))
            tick(i)
    else:
        chunks = dask_map(_replicas, tasks, scheduler=scheduler, workers=workers, done=tick)
    replicas = pd.DataFrame([row for chunk in chunks for row in chunk])
    unknown = sorted(set(wanted) - set(replicas.columns))
    if unknown:
        raise ValueError(f"targets: no estimate named {', '.join(unknown)} "
                         f"(estimates: {', '.join(c for c in replicas.columns[2:])})")
    rows = []
    for key, published in wanted.items():
        values = replicas[key].to_numpy(float)
        finite = values[np.isfinite(values)]
        lower, upper = (np.percentile(finite, [2.5, 97.5]) if finite.size
                        else (np.nan, np.nan))
        rows.append({"estimate": key, "published": published,
                     "mean": float(finite.mean()) if finite.size else np.nan,
                     "lower": float(lower), "upper": float(upper),
                     "within": bool(lower <= published <= upper),
                     "available": int(finite.size)})
    return CalibrationResult(name, int(trials), int(seed), pd.DataFrame(rows), replicas)
