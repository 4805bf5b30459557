"""Pocock–Simon minimisation with a random element, replayable allocation by allocation.

Pocock & Simon (1975) assign each new patient to the arm that would minimise a weighted sum,
over the stratification factors, of the imbalance among the patients already allocated who
share the new patient's level of that factor. With many strata and few patients (the
bundled reference protocol: 4 strata, 150 patients) it balances the margins far better than stratified blocks, at the
price of predictability, so the preferred arm is taken only with probability ``p``
(Rosenberger & Lachin 2016, ch. 9).

Rules implemented (``ALGORITHM_VERSION`` below):

* Counts are ratio-weighted: arm ``k``'s count is divided by its ratio ``r_k`` before the
  imbalance is measured, so "balanced" means "in the allocation ratio". This is the simple
  generalisation to unequal ratios; the allocation-ratio-preserving rule of Han, Enas &
  McEntegart (2009) is not implemented.
* For each candidate arm ``k``: add the patient to ``k``, then per factor ``f`` take the
  ratio-weighted counts of the patient's level and their range (max − min) or population
  variance; ``G_k = sum_f w_f * imbalance_f``.
* If every arm has the same ``G`` (in particular the first allocation) the arm is drawn at
  random in the allocation ratio. Otherwise the preferred arm is the ``G``-minimising arm
  (ties between some arms broken uniformly at random); it is assigned with probability
  ``p`` and each other arm with probability ``(1 - p) / (K - 1)``.
* Allocation number ``i`` (0-based counter) uses two uniforms from
  ``default_rng(SeedSequence([ALGORITHM_TAG, ALGORITHM_NUMBER, seed, i]))``: the first breaks
  ties (or draws in the ratio), the second applies ``p``. Hence any allocation can be
  replayed from (seed, counter) and the counts before it, which the audit trail holds.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from oncotrial.core.errors import InputError
from oncotrial.randomise.strata import Design

__all__ = ["ALGORITHM_VERSION", "DEFAULT_P", "MinimisationConfig", "choose", "draws", "scores"]

ALGORITHM_VERSION = "oncotrial.randomise.minimisation/1"
ALGORITHM_TAG = 0x4D494E49  # "MINI"
ALGORITHM_NUMBER = 1
#: random element used when the protocol configures none (Pocock & Simon 1975 discuss 2/3-0.8)
DEFAULT_P = 0.8
IMBALANCES = ("range", "variance")


@dataclass(frozen=True)
class MinimisationConfig:
    """Factor weights (in factor order), probability ``p`` of the preferred arm, imbalance."""

    weights: tuple[float, ...]
    p: float
    imbalance: str

    @classmethod
    def build(cls, design: Design, weights: Mapping[str, float] | None = None, p: float = DEFAULT_P,
              imbalance: str = "range") -> MinimisationConfig:
        """Validate; missing ``weights`` mean weight 1 for every factor."""
        weights = {f: 1.0 for f in design.factors} if weights is None else dict(weights)
        if set(weights) != set(design.factors):
            raise InputError(f"weights: minimisation weights must name exactly the factors "
                             f"{list(design.factors)}, got {sorted(weights)}", field="weights")
        w = tuple(float(weights[f]) for f in design.factors)
        if any(not math.isfinite(x) or x < 0 for x in w) or (w and not any(w)):
            raise InputError(f"weights: minimisation weights must be finite, >= 0 and not all 0, "
                             f"got {weights}", field="weights")
        k = len(design.arms)
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 1 / k < p <= 1:
            raise InputError(f"p: minimisation p must be in (1/{k}, 1] (probability of the "
                             f"preferred arm), got {p!r}", field="p")
        if imbalance not in IMBALANCES:
            raise InputError(f"imbalance: minimisation imbalance must be one of {IMBALANCES}, "
                             f"got {imbalance!r}", field="imbalance")
        return cls(w, float(p), imbalance)

    @classmethod
    def from_protocol(cls, protocol: Any, design: Design) -> MinimisationConfig:
        """``protocol.randomisation.minimisation`` if set, else equal weights, p = 0.8, range."""
        m = getattr(getattr(protocol, "randomisation", None), "minimisation", None)
        if m is None:
            return cls.build(design)
        return cls.build(design, m.weights, m.p, m.imbalance)


def scores(counts: np.ndarray, ratios: np.ndarray, config: MinimisationConfig) -> np.ndarray:
    """``G_k`` for each candidate arm ``k``.

    ``counts``: ``(..., F, K)`` allocations so far at the new patient's level of each factor.
    Returns ``(..., K)``.
    """
    k = counts.shape[-1]
    trial = counts[..., None, :, :] + np.eye(k, dtype=counts.dtype)[:, None, :]  # (..., K cand, F, K)
    adj = trial / ratios
    d = adj.max(axis=-1) - adj.min(axis=-1) if config.imbalance == "range" else adj.var(axis=-1)
    return d @ np.asarray(config.weights, dtype=float)


def choose(g: np.ndarray, u_tie: np.ndarray, u_p: np.ndarray, ratios: np.ndarray, p: float) -> np.ndarray:
    """Arm index from scores ``g`` (``(..., K)``) and two uniforms per allocation (see module)."""
    k = g.shape[-1]
    is_min = g <= g.min(axis=-1, keepdims=True) + 1e-9 * (1 + np.abs(g).max(axis=-1, keepdims=True))
    n_min = is_min.sum(axis=-1)
    rank = np.floor(u_tie * n_min).astype(np.int64)
    preferred = np.argmax(np.cumsum(is_min, axis=-1) > rank[..., None], axis=-1)
    other = np.floor((u_p - p) / (1 - p) * (k - 1)).astype(np.int64) if p < 1 else np.zeros_like(preferred)
    other = np.minimum(np.maximum(other, 0), k - 2)
    minimised = np.where(u_p < p, preferred, other + (other >= preferred))
    in_ratio = np.searchsorted(np.cumsum(ratios) / ratios.sum(), u_tie, side="right")
    return np.where(n_min == k, in_ratio, minimised)


def draws(seed: int, counter: int) -> tuple[float, float]:
    """The two uniforms of allocation number ``counter`` (tie-break, random element)."""
    u = np.random.default_rng(np.random.SeedSequence([ALGORITHM_TAG, ALGORITHM_NUMBER, seed, counter])).random(2)
    return float(u[0]), float(u[1])
