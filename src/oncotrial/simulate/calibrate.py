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
``oncotrial simulate trial --scenario <scenario> --seed <that seed>``.

Targets: ``targets=`` given, else the bundled ``<id>_targets.yaml`` of the scenario's ``id``
when oncotrial ships one (:func:`default_targets`; published values, each named as an estimate
of :func:`~oncotrial.simulate.estimates.trial_estimates`). A scenario of a trial without
published results has no targets: the result then holds the simulated distribution of every
estimate, with nothing to compare it with.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError, SpecError
from oncotrial.core.results import Result
from oncotrial.core.specfile import load_yaml, read_source, short
from oncotrial.core.validation import check_seed
from oncotrial.simulate._dask_backend import check_scheduler, dask_map
from oncotrial.simulate.estimates import trial_estimates
from oncotrial.simulate.scenario import Scenario
from oncotrial.simulate.trial import simulate_trial

__all__ = ["CalibrationResult", "TargetsError", "bundled_targets", "calibrate", "default_targets",
           "load_targets", "replica_seeds"]

#: replicas per task sent to a worker (fixed, so chunking never changes the seeds)
CHUNK = 10
#: file name ending of a scenario's published targets
_SUFFIX = "_targets.yaml"


@dataclasses.dataclass(frozen=True, repr=False)
class CalibrationResult(Result):
    """Published value vs Monte-Carlo mean and central 95% of each estimate.

    ``table``: one row per target (``estimate, published, mean, lower, upper, within,
    available``; ``available`` = replicas in which the estimate exists, e.g. a median reached);
    without targets one row per estimate, ``published`` NaN and ``within`` None.
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
    def has_targets(self) -> bool:
        """The replicas were compared with published values."""
        return bool(self.table["published"].notna().any())

    @property
    def all_within(self) -> bool | None:
        """Every published value lies within the central 95% of its simulated estimate
        (None without targets: nothing was compared)."""
        if not self.has_targets:
            return None
        return bool(self.table["within"].all())

    @property
    def outside(self) -> list[str]:
        """Estimates whose published value lies outside the central 95%."""
        return [str(e) for e, w in zip(self.table["estimate"], self.table["within"], strict=True)
                if w is not None and not w]

    def __repr__(self) -> str:
        targets = int(self.table["published"].notna().sum())
        return (f"CalibrationResult(scenario={self.scenario!r}, trials={self.trials}, "
                f"seed={self.seed}, targets={targets}, outside={self.outside})")


class TargetsError(SpecError):
    """An invalid file of calibration targets; ``errors`` lists every problem."""

    kind = "targets file"


def replica_seeds(seed: int, trials: int) -> list[int]:
    """The integer seed of each replica (see the module docstring)."""
    seed = check_seed(seed)
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 1:
        raise InputError(f"trials: expected a positive integer, got {trials!r}", field="trials")
    children = np.random.SeedSequence(int(seed)).spawn(int(trials))
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def bundled_targets() -> list[str]:
    """Scenarios shipped with published calibration targets (``load_targets(name)``)."""
    folder = resources.files("oncotrial") / "scenarios"
    return sorted(p.name[:-len(_SUFFIX)] for p in folder.iterdir() if p.name.endswith(_SUFFIX))


def default_targets(scenario: Scenario) -> dict[str, float] | None:
    """The bundled targets of ``scenario``'s ``id`` (a scenario file copied from a bundled
    one and edited keeps its published targets), None when oncotrial ships none for it."""
    return load_targets(scenario.id) if scenario.id in bundled_targets() else None


def load_targets(name_or_path: str | Path) -> dict[str, float]:
    """Published targets: a bundled scenario name (one of :func:`bundled_targets`) or a YAML
    file with a ``targets`` mapping of estimate name to published value.

    Read as strictly as a scenario: a duplicated key, a file that is not UTF-8, or a value
    that is not a number raises :class:`TargetsError` naming the file and the key.
    """
    path = Path(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") \
        or len(path.parts) > 1
    if not looks_like_path and str(name_or_path) not in bundled_targets():
        raise TargetsError([f"<name>: no bundled targets for scenario {str(name_or_path)!r} "
                            f"(bundled: {', '.join(bundled_targets())}); pass targets= or a "
                            f"YAML file"])
    name = name_or_path if looks_like_path else f"{name_or_path}_targets"
    text, source = read_source(name, folder="scenarios", kind="calibration targets",
                               bundled=bundled_targets, error=TargetsError)
    if not looks_like_path:
        source = f"{name_or_path}{_SUFFIX}"
    data = load_yaml(text, source=source, kind="targets", error=TargetsError)
    targets = data.get("targets") if isinstance(data, dict) else None
    problems = _target_problems(targets)
    if problems or not isinstance(targets, Mapping):
        raise TargetsError(problems, source)
    return {str(key): float(value) for key, value in targets.items()}


def _target_problems(targets: Any) -> list[str]:
    """What is wrong with ``targets`` (estimate name -> published value): a boolean or a
    quoted number is not a number."""
    if not isinstance(targets, Mapping) or not targets:
        return ["targets: expected a non-empty mapping of estimate name to published value, "
                f"got {short(targets)}"]
    return [f"targets.{key}: expected a finite number, got {short(value)}"
            for key, value in targets.items()
            if isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value)]


def _replicas(scenario: str, seeds: list[int], first: int) -> list[dict[str, float]]:
    """Simulate, derive and estimate each seed (one worker task; the scenario is loaded and
    validated once per task, not per replica)."""
    loaded = Scenario.load(scenario)
    protocol = loaded.protocol_model()
    rows = []
    for k, seed in enumerate(seeds):
        trial = simulate_trial(loaded, seed=seed)
        data = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
        row: dict[str, float] = {"replica": first + k, "seed": seed}
        row.update(trial_estimates(data.adsl, data.adtte, data.adrs, data.adae, protocol))
        rows.append(row)
    return rows


def calibrate(scenario: str | Path, *, trials: int = 2000, seed: int = 1,
              targets: Mapping[str, float] | None = None, scheduler: str | None = None,
              workers: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> CalibrationResult:
    """Simulate ``trials`` replicas of ``scenario`` (a bundled name or a YAML file) and
    compare them with the published ``targets`` (default: :func:`default_targets`; none:
    the table describes every estimate's simulated distribution).

    ``scheduler``: ``None`` (this process), ``"local"`` (a Dask ``LocalCluster`` of
    ``workers`` processes) or a ``dask.distributed`` scheduler address; the numbers do not
    depend on it. ``progress(done, total)`` is called as replicas complete.
    """
    scheduler, workers = check_scheduler(scheduler, workers)
    seeds = replica_seeds(seed, trials)
    name = str(scenario)
    loaded = Scenario.load(scenario)  # a bad scenario fails here, before any work is sent out
    wanted: dict[str, float] | None
    if targets is None:
        wanted = default_targets(loaded)
    else:
        problems = _target_problems(targets)
        if problems:
            raise InputError("; ".join(problems), field="targets")
        wanted = {str(key): float(value) for key, value in targets.items()}
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
    if wanted is None:
        return CalibrationResult(name, int(trials), int(seed),
                                 _distributions(replicas), replicas)
    unknown = sorted(set(wanted) - set(replicas.columns))
    if unknown:
        raise InputError(f"targets: no estimate named {', '.join(unknown)} "
                         f"(estimates: {', '.join(c for c in replicas.columns[2:])})",
                         field="targets")
    rows = []
    for key, published in wanted.items():
        row = _spread(key, replicas[key])
        row["published"] = published
        row["within"] = bool(row["lower"] <= published <= row["upper"])
        rows.append(row)
    return CalibrationResult(name, int(trials), int(seed), pd.DataFrame(rows, columns=_COLUMNS),
                             replicas)


#: columns of :attr:`CalibrationResult.table`
_COLUMNS = ["estimate", "published", "mean", "lower", "upper", "within", "available"]


def _spread(key: str, column: pd.Series) -> dict[str, Any]:
    """Mean, central 95% and count of the replicas in which estimate ``key`` exists."""
    values = column.to_numpy(float)
    finite = values[np.isfinite(values)]
    lower, upper = (np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan))
    return {"estimate": key, "mean": float(finite.mean()) if finite.size else np.nan,
            "lower": float(lower), "upper": float(upper), "available": int(finite.size)}


def _distributions(replicas: pd.DataFrame) -> pd.DataFrame:
    """Every estimate's simulated spread, nothing published to compare it with."""
    rows = [{**_spread(key, replicas[key]), "published": np.nan, "within": None}
            for key in replicas.columns[2:]]
    return pd.DataFrame(rows, columns=_COLUMNS)
