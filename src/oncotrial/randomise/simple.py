"""Simple (unrestricted) randomisation, the yardstick for balance and predictability.

Each patient is assigned arm ``k`` with probability ``r_k / sum(r)`` independently of all
others: the ratio holds only in expectation, and with 150 patients the final imbalance has
a standard deviation of about sqrt(150) ≈ 12 patients for 1:1, but no guessing strategy
beats chance (Blackwell & Hodges 1957; Rosenberger & Lachin 2016, ch. 3).

Allocation number ``i`` (0-based counter) uses one uniform from
``default_rng(SeedSequence([ALGORITHM_TAG, ALGORITHM_NUMBER, seed, i]))``, so any allocation
can be replayed from (seed, counter).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALGORITHM_VERSION", "choose", "draw"]

ALGORITHM_VERSION = "oncotrial.randomise.simple/1"
ALGORITHM_TAG = 0x53494D50  # "SIMP"
ALGORITHM_NUMBER = 1


def choose(u: np.ndarray | float, ratios: np.ndarray) -> np.ndarray:
    """Arm index for uniform(s) ``u``: the arm whose cumulative ratio share first exceeds ``u``."""
    return np.searchsorted(np.cumsum(ratios) / np.sum(ratios), u, side="right")


def draw(seed: int, counter: int) -> float:
    """The uniform of allocation number ``counter``."""
    return float(np.random.default_rng(np.random.SeedSequence(
        [ALGORITHM_TAG, ALGORITHM_NUMBER, seed, counter])).random())
