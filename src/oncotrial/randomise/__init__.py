"""Randomisation: sealed stratified block lists, minimisation, simple randomisation, assessment.

* :func:`generate_list` / :func:`read_list_csv` — stratified permuted blocks of random sizes,
  reproducible from (algorithm version, configuration, seed) and sealed by a SHA-256.
* :func:`allocate` / :func:`replay` — the pure interface of the allocation service (blocks,
  Pocock–Simon minimisation or simple randomisation), replayable from (seed, counter).
* :func:`assess` — Monte-Carlo balance and predictability before go-live.

Imports only :mod:`oncotrial.protocol`-shaped objects (duck-typed), never design/report/cli.
"""

from oncotrial.randomise.allocation import METHODS, AllocationState, allocate, replay
from oncotrial.randomise.assess import COMPARISON, Assessment, assess
from oncotrial.randomise.blocks import (
    ALGORITHM_VERSION,
    AllocationList,
    generate_list,
    read_list_csv,
)
from oncotrial.randomise.minimisation import MinimisationConfig

__all__ = [
    "ALGORITHM_VERSION",
    "COMPARISON",
    "METHODS",
    "AllocationList",
    "AllocationState",
    "Assessment",
    "MinimisationConfig",
    "allocate",
    "assess",
    "generate_list",
    "read_list_csv",
    "replay",
]
