"""Monte-Carlo assessment of a randomisation method before go-live: balance and predictability.

Checklist item A4 of the IWRS survey asks, before the first patient, for the distribution of
the final imbalance (overall, per stratum, per factor level) and for the predictability of
the next assignment to an open-label site. This module simulates whole trials: patients
arrive with strata drawn independently from ``stratum_probabilities`` (the same arrival
sequence for every method compared: common random numbers) and are allocated by each method.

Imbalance of a group of ``N`` patients with ``n_k`` in arm ``k``: the range over arms of
``n_k - N * r_k / sum(r)``; for 1:1 this is ``|n_A - n_B|``.

Predictability follows Blackwell & Hodges (1957) and Rosenberger & Lachin (2016, ch. 3): a
site that sees every assignment in the patient's stratum guesses the arm with the fewest
ratio-weighted allocations so far in that stratum (``n_k / r_k``), at random among ties (the
"convergence strategy"). The correct-guess rate is reported with its excess over chance,
``max_k r_k / sum(r)`` (what always guessing the largest arm achieves; 0.5 for 1:1). Closed
forms: fixed blocks of 2 at 1:1 give 0.75 (first of a block 1/2, second 1); simple
randomisation gives 0.5.

Simulations are vectorised over trials (leading axis); the methods loop over patients. The
blocks simulation draws, at each block start, a size uniformly from the set and then the arms
by sampling without replacement from the block's multiset, which is the same distribution as
the permuted list of :mod:`oncotrial.randomise.blocks`; minimisation and simple randomisation
use :func:`oncotrial.randomise.minimisation.choose` and :func:`oncotrial.randomise.simple.choose`
with uniforms from the simulation stream instead of the per-allocation (seed, counter) stream.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import check_seed
from oncotrial.randomise import minimisation, simple
from oncotrial.randomise.blocks import check_block_sizes, protocol_block_sizes
from oncotrial.randomise.strata import Design

__all__ = ["COMPARISON", "Assessment", "assess"]

#: the methods compared by default in the pre-go-live report
COMPARISON = ("blocks:2,4,6", "blocks:4,6", "blocks:4", "minimisation:p=0.8", "simple")
_TAG = 0x41535353  # "ASSS"


@dataclass(frozen=True, repr=False)
class Assessment(Result):
    """Simulated balance and predictability; ``table`` has one row per method."""

    protocol_id: str
    seed: int
    n_patients: int
    n_sims: int
    methods: tuple[str, ...]
    stratum_probabilities: dict[str, float]
    table: pd.DataFrame
    per_stratum: pd.DataFrame
    per_level: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _parse_method(spec: str, protocol: Any, design: Design,
                  block_sizes: Iterable[int] | None) -> tuple[str, Any]:
    """``blocks`` | ``blocks:2,4,6`` | ``minimisation`` | ``minimisation:p=0.8`` | ``simple``."""
    if not isinstance(spec, str):
        raise TypeError(f"method: expected a string such as {COMPARISON}, got {spec!r}")
    name, _, arg = spec.partition(":")
    if name == "blocks":
        if arg:
            try:
                sizes = [int(x) for x in arg.split(",")]
            except ValueError:
                raise InputError(f"method {spec!r}: block sizes must be integers like "
                                 f"'blocks:2,4,6'", field="method") from None
            return "blocks", check_block_sizes(sizes, design.ratios)
        return "blocks", protocol_block_sizes(protocol, block_sizes, design)
    if name == "minimisation":
        base = minimisation.MinimisationConfig.from_protocol(protocol, design)
        if not arg:
            return "minimisation", base
        if not arg.startswith("p="):
            raise InputError(f"method {spec!r}: expected 'minimisation:p=<probability>'",
                             field="method")
        try:
            p = float(arg[2:])
        except ValueError:
            raise InputError(f"method {spec!r}: p must be a number", field="method") from None
        weights = dict(zip(design.factors, base.weights, strict=True))
        return "minimisation", minimisation.MinimisationConfig.build(design, weights, p, base.imbalance)
    if name == "simple" and not arg:
        return "simple", None
    raise InputError(f"method: expected 'blocks[:sizes]', 'minimisation[:p=..]' or 'simple', "
                     f"got {spec!r}", field="method")


def _probabilities(design: Design, given: Mapping[str, float] | Sequence[float] | None) -> np.ndarray:
    labels = design.stratum_labels
    if given is None:
        return np.full(len(labels), 1 / len(labels))
    values = list(given.values()) if isinstance(given, Mapping) else list(given)
    bad = [v for v in values if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)]
    if bad:
        raise TypeError(f"stratum_probabilities: expected numbers, got {bad[0]!r}")
    if isinstance(given, Mapping):
        unknown = sorted(set(given) - set(labels))
        if unknown:
            raise InputError(f"stratum_probabilities has unknown strata {unknown}; strata are "
                             f"{labels}", field="stratum_probabilities")
        probs = np.array([float(given.get(lab, 0.0)) for lab in labels])
    else:
        probs = np.asarray(given, dtype=float)
        if probs.shape != (len(labels),):
            raise InputError(f"stratum_probabilities must have {len(labels)} values (strata "
                             f"{labels}), got shape {probs.shape}", field="stratum_probabilities")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or abs(probs.sum() - 1) > 1e-9:
        raise InputError(f"stratum_probabilities must be >= 0 and sum to 1, got {probs.tolist()}",
                         field="stratum_probabilities")
    return probs


def _imbalance(n: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Range over arms (last axis) of ``n_k - N r_k / sum(r)``."""
    dev = n - n.sum(axis=-1, keepdims=True) * (ratios / ratios.sum())
    return dev.max(axis=-1) - dev.min(axis=-1)


def _simulate(kind: str, param: Any, strata: np.ndarray, design: Design, rng: np.random.Generator,
              tick: Callable[[], None]) -> tuple[np.ndarray, float]:
    """Per-stratum final counts ``(T, S, K)`` and the convergence-guess correct rate."""
    n_sims, n_patients = strata.shape
    ratios = np.asarray(design.ratios)
    k, n_strata = len(ratios), len(design.strata)
    rows = np.arange(n_sims)
    counts = np.zeros((n_sims, n_strata, k), dtype=np.int64)
    if kind == "blocks":
        sizes = np.asarray(param)
        remaining = np.zeros((n_sims, n_strata, k), dtype=np.int64)
    elif kind == "minimisation":
        offsets = design.level_offsets()
        stratum_levels = design.strata_level_matrix() + offsets  # (S, F) rows of the level table
        level_counts = np.zeros((n_sims, len(design.level_labels), k), dtype=np.int64)
    correct = 0
    for t in range(n_patients):
        s = strata[:, t]
        u = rng.random((n_sims, 3))
        # the site's guess, before the allocation
        weighted = counts[rows, s] / ratios
        is_min = weighted <= weighted.min(axis=1, keepdims=True)
        rank = np.floor(u[:, 0] * is_min.sum(axis=1))
        guess = np.argmax(np.cumsum(is_min, axis=1) > rank[:, None], axis=1)
        if kind == "blocks":
            rem = remaining[rows, s]
            empty = rem.sum(axis=1) == 0
            drawn = sizes[(u[:, 1] * len(sizes)).astype(np.int64)]
            rem = np.where(empty[:, None], ratios * (drawn // ratios.sum())[:, None], rem)
            target = u[:, 2] * rem.sum(axis=1)
            arm = (np.cumsum(rem, axis=1) <= target[:, None]).sum(axis=1)
            rem[rows, arm] -= 1
            remaining[rows, s] = rem
        elif kind == "minimisation":
            lv = stratum_levels[s]  # (T, F)
            g = minimisation.scores(level_counts[rows[:, None], lv], ratios, param)
            arm = minimisation.choose(g, u[:, 1], u[:, 2], ratios, param.p)
            level_counts[rows[:, None], lv, arm[:, None]] += 1
        else:
            arm = simple.choose(u[:, 1], ratios)
        counts[rows, s, arm] += 1
        correct += int(np.count_nonzero(guess == arm))
        tick()
    return counts, correct / (n_sims * n_patients)


def _summary(values: np.ndarray) -> tuple[float, float, float]:
    v = values.ravel().astype(float)
    return float(v.mean()), float(np.quantile(v, 0.95)), float(v.max())


def assess(protocol: Any, method: str | Sequence[str] = COMPARISON, n_patients: int = 150, n_sims: int = 10_000,
           seed: int = 0, *, block_sizes: Iterable[int] | None = None,
           stratum_probabilities: Mapping[str, float] | Sequence[float] | None = None,
           progress: Callable[[int, int], None] | None = None) -> Assessment:
    """Simulate ``n_sims`` trials of ``n_patients`` under each method; see the module docstring.

    ``method`` is one spec or a sequence of specs: ``"blocks"`` (the protocol's block sizes,
    or ``block_sizes``), ``"blocks:4,6"``, ``"minimisation"`` (the protocol's settings, or
    equal weights, range, p = 0.8), ``"minimisation:p=0.9"``, ``"simple"``. Default:
    :data:`COMPARISON`. ``stratum_probabilities`` maps stratum label -> probability (or lists
    them in stratum order); default equal. ``progress(done, total)`` is called after each
    simulated patient step of each method. Deterministic in ``seed``, which is recorded.
    """
    design = Design.from_protocol(protocol)
    seed = check_seed(seed)
    for name, value in (("n_patients", n_patients), ("n_sims", n_sims)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected a positive integer, got {value!r}")
        if value < 1:
            raise InputError(f"{name}: expected a positive integer, got {value!r}", field=name)
    specs = (method,) if isinstance(method, str) else tuple(method)
    if not specs:
        raise InputError("method: expected at least one method", field="method")
    parsed = [_parse_method(m, protocol, design, block_sizes) for m in specs]
    probs = _probabilities(design, stratum_probabilities)
    ratios = np.asarray(design.ratios)
    chance = float(ratios.max() / ratios.sum())
    arrivals = np.random.default_rng(np.random.SeedSequence([_TAG, seed, 0]))
    strata = np.searchsorted(np.cumsum(probs[:-1]), arrivals.random((n_sims, n_patients)), side="right")
    total, done = len(specs) * n_patients, 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    level_of = design.strata_level_matrix() + design.level_offsets()  # (S, F)
    rows: list[dict[str, Any]] = []
    strata_rows: list[dict[str, Any]] = []
    level_rows: list[dict[str, Any]] = []
    for spec, (kind, param) in zip(specs, parsed, strict=True):
        digest = int.from_bytes(hashlib.sha256(spec.encode()).digest()[:8], "big")
        rng = np.random.default_rng(np.random.SeedSequence([_TAG, seed, 1, digest]))
        counts, predictability = _simulate(kind, param, strata, design, rng, tick)
        per_level = np.zeros((n_sims, len(design.level_labels), len(ratios)), dtype=np.int64)
        for f in range(level_of.shape[1]):
            np.add.at(per_level, (slice(None), level_of[:, f]), counts)  # type: ignore[arg-type]
        overall, by_stratum, by_level = (_imbalance(counts.sum(axis=1), ratios), _imbalance(counts, ratios),
                                         _imbalance(per_level, ratios))
        row: dict[str, Any] = {"method": spec}
        for name, values in (("overall", overall), ("stratum", by_stratum), ("level", by_level)):
            row[f"{name}_mean"], row[f"{name}_p95"], row[f"{name}_max"] = _summary(values)
        row.update(predictability=predictability, chance=chance, excess=predictability - chance)
        rows.append(row)
        for labels, values, out, key in ((design.stratum_labels, by_stratum, strata_rows, "stratum"),
                                         (design.level_labels, by_level, level_rows, "level")):
            for j, lab in enumerate(labels):
                mean, p95, mx = _summary(values[:, j])
                out.append({"method": spec, key: lab, "mean": mean, "p95": p95, "max": mx})
    return Assessment(design.protocol_id, seed, int(n_patients), int(n_sims), specs,
                      dict(zip(design.stratum_labels, probs.tolist(), strict=True)),
                      pd.DataFrame(rows), pd.DataFrame(strata_rows), pd.DataFrame(level_rows))
