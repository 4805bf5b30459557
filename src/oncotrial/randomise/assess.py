"""Monte-Carlo assessment of a randomisation method before go-live: balance and predictability.

Checklist item A4 of the IWRS survey asks, before the first patient, for the distribution of
the final imbalance (overall, per stratum, per factor level) and for the predictability of
the next assignment to an open-label site. This module simulates whole trials: patients
arrive with strata drawn independently from ``stratum_probabilities`` (the same arrival
sequence for every method compared: common random numbers) and are allocated by each method.

Imbalance of a group of ``N`` patients with ``n_k`` in arm ``k``: the range over arms of
``n_k - N * r_k / sum(r)``; for 1:1 this is ``|n_A - n_B|``.

Predictability follows Blackwell & Hodges (1957) and Rosenberger & Lachin (2016, ch. 3),
with the "convergence strategy" generalised to any ratio: a site that sees every assignment
in the patient's stratum guesses the arm furthest below its target share (``N r_k / sum(r)
- n_k`` largest, with ``N`` patients and ``n_k`` in arm ``k`` so far in the stratum); among
tied arms it guesses the largest-ratio one, at random among those. The correct-guess rate
(``predictability``) is reported against the best guess that ignores the history, always
the largest arm, right with probability ``max_k r_k / sum(r)`` (``fixed_guess``: 0.5 for
1:1, 2/3 for 2:1), as ``excess_over_fixed_guess``. Closed forms: fixed blocks of 2 at 1:1
give 0.75 (first of a block 1/2, second 1); fixed blocks of 3 at 2:1 give 7/9 (positions
2/3, 2/3, 1); simple randomisation gives the fixed guess.

The methods compared by default (:func:`default_methods`) scale with the ratio sum ``R``:
blocks of ``R, 2R, 3R``, of ``2R, 3R`` and fixed blocks of ``2R`` (plus the protocol's own
block sizes when they differ), minimisation with the protocol's settings (or p = 0.8 and
equal weights) and simple randomisation. For 1:1 these are blocks {2, 4, 6}, {4, 6}, {4}.

Patients' strata are drawn from ``stratum_probabilities``; :func:`probabilities_from_prevalences`
builds them from the factors' level prevalences (independent factors), with levels not
given sharing the rest equally, and factors not given uniform.

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

__all__ = ["Assessment", "assess", "default_methods", "probabilities_from_prevalences"]

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


def default_methods(protocol: Any) -> tuple[str, ...]:
    """The methods compared by default for ``protocol`` (see the module docstring)."""
    design = Design.from_protocol(protocol)
    r = design.ratio_sum
    specs = [f"blocks:{r},{2 * r},{3 * r}", f"blocks:{2 * r},{3 * r}", f"blocks:{2 * r}"]
    own = getattr(getattr(protocol, "randomisation", None), "block_sizes", None)
    if own and ",".join(map(str, sorted(set(own)))) not in (spec.partition(":")[2] for spec in specs):
        specs.insert(0, "blocks")
    configured = getattr(getattr(protocol, "randomisation", None), "minimisation", None)
    specs.append("minimisation" if configured is not None else "minimisation:p=0.8")
    return (*specs, "simple")


def probabilities_from_prevalences(protocol: Any, prevalences: Mapping[str, Mapping[Any, float]]) -> dict[str, float]:
    """Stratum label -> probability from per-factor level prevalences, factors independent.

    ``prevalences`` maps factor -> {level: prevalence}; levels are matched as recorded
    values (``{"ecog": {0: 0.6}}`` means level 0). Within a factor the given prevalences
    must be in [0, 1] and sum to at most 1 (exactly 1 when every level is given); the levels
    not given share the rest equally. Factors not given are uniform.
    """
    design = Design.from_protocol(protocol)
    if not isinstance(prevalences, Mapping):
        raise TypeError(f"prevalences: expected a mapping factor -> {{level: prevalence}}, "
                        f"got {type(prevalences).__name__}")
    marginals = []
    for name, levels in zip(design.factors, design.levels, strict=True):
        given = prevalences.get(name, {})
        if not isinstance(given, Mapping):
            raise InputError(f"prevalences: factor {name!r} needs a mapping level -> prevalence, "
                             f"got {given!r}", field="prevalences")
        p = dict.fromkeys(levels, float("nan"))
        for value, share in given.items():
            if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 <= share <= 1:
                raise InputError(f"prevalences: {name}={value} must be a number in [0, 1], got "
                                 f"{share!r}", field="prevalences")
            p[design.level(name, value)] = float(share)
        known = sum(v for v in p.values() if v == v)
        rest = [lv for lv, v in p.items() if v != v]
        if known > 1 + 1e-9 or (not rest and abs(known - 1) > 1e-9):
            raise InputError(f"prevalences: the levels of {name!r} must sum to 1, got "
                             f"{known:g}", field="prevalences")
        for lv in rest:
            p[lv] = max(0.0, 1 - known) / len(rest)
        marginals.append([p[lv] for lv in levels])
    unknown = sorted(set(prevalences) - set(design.factors), key=str)
    if unknown:
        raise InputError(f"prevalences: unknown factor(s) {unknown}; declared factors: "
                         f"{list(design.factors)}", field="prevalences")
    probs = [float(np.prod([m[j] for m, j in zip(marginals, idx, strict=True)]))
             for idx in design.strata_level_matrix().tolist()]
    return dict(zip(design.stratum_labels, probs, strict=True))


def _protocol_probabilities(protocol: Any, design: Design) -> dict[str, float] | None:
    """The protocol's declared level prevalences as stratum probabilities, if it has any."""
    declared = {}
    for factor in getattr(protocol, "stratification", ()):
        prevalence = getattr(factor, "prevalence", None)
        if prevalence:
            declared[str(factor.name)] = prevalence
    return probabilities_from_prevalences(protocol, declared) if declared else None


def _parse_method(spec: str, protocol: Any, design: Design,
                  block_sizes: Iterable[int] | None) -> tuple[str, Any]:
    """``blocks`` | ``blocks:2,4,6`` | ``minimisation`` | ``minimisation:p=0.8`` | ``simple``."""
    if not isinstance(spec, str):
        raise TypeError(f"method: expected a string such as 'blocks:2,4,6', got {spec!r}")
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
    share, equal = ratios / ratios.sum(), bool(np.all(ratios == ratios[0]))
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
        # the site's guess, before the allocation: furthest below target, largest ratio
        seen = counts[rows, s]
        if equal:  # furthest below target = fewest so far
            is_best = seen == seen.min(axis=1, keepdims=True)
        else:
            deficit = seen.sum(axis=1, keepdims=True) * share - seen
            is_best = deficit >= deficit.max(axis=1, keepdims=True) - 1e-9
            tied_ratios = np.where(is_best, ratios, 0)
            is_best &= tied_ratios == tied_ratios.max(axis=1, keepdims=True)
        rank = np.floor(u[:, 0] * is_best.sum(axis=1))
        guess = np.argmax(np.cumsum(is_best, axis=1) > rank[:, None], axis=1)
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


def assess(protocol: Any, method: str | Sequence[str] | None = None, n_patients: int = 150,
           n_sims: int = 10_000, seed: int = 0, *, block_sizes: Iterable[int] | None = None,
           stratum_probabilities: Mapping[str, float] | Sequence[float] | None = None,
           progress: Callable[[int, int], None] | None = None) -> Assessment:
    """Simulate ``n_sims`` trials of ``n_patients`` under each method; see the module docstring.

    ``method`` is one spec or a sequence of specs: ``"blocks"`` (the protocol's block sizes,
    or ``block_sizes``), ``"blocks:4,6"``, ``"minimisation"`` (the protocol's settings, or
    equal weights, range, p = 0.8), ``"minimisation:p=0.9"``, ``"simple"``. Default:
    :func:`default_methods`. ``stratum_probabilities`` maps stratum label -> probability (or
    lists them in stratum order; :func:`probabilities_from_prevalences` builds them from level
    prevalences); default: the protocol's declared prevalences if any, else equal.
    ``progress(done, total)`` is called after each simulated patient step of each method.
    Deterministic in ``seed``, which is recorded.
    """
    design = Design.from_protocol(protocol)
    seed = check_seed(seed)
    for name, value in (("n_patients", n_patients), ("n_sims", n_sims)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected a positive integer, got {value!r}")
        if value < 1:
            raise InputError(f"{name}: expected a positive integer, got {value!r}", field=name)
    if method is None:
        method = default_methods(protocol)
    specs = (method,) if isinstance(method, str) else tuple(method)
    if not specs:
        raise InputError("method: expected at least one method", field="method")
    parsed = [_parse_method(m, protocol, design, block_sizes) for m in specs]
    if stratum_probabilities is None:
        stratum_probabilities = _protocol_probabilities(protocol, design)
    probs = _probabilities(design, stratum_probabilities)
    ratios = np.asarray(design.ratios)
    fixed_guess = float(ratios.max() / ratios.sum())
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
        row.update(predictability=predictability, fixed_guess=fixed_guess,
                   excess_over_fixed_guess=predictability - fixed_guess)
        rows.append(row)
        for labels, values, out, key in ((design.stratum_labels, by_stratum, strata_rows, "stratum"),
                                         (design.level_labels, by_level, level_rows, "level")):
            for j, lab in enumerate(labels):
                mean, p95, mx = _summary(values[:, j])
                out.append({"method": spec, key: lab, "mean": mean, "p95": p95, "max": mx})
    return Assessment(design.protocol_id, seed, int(n_patients), int(n_sims), specs,
                      dict(zip(design.stratum_labels, probs.tolist(), strict=True)),
                      pd.DataFrame(rows), pd.DataFrame(strata_rows), pd.DataFrame(level_rows))
