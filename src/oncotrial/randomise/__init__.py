"""Randomisation: sealed stratified block lists, minimisation, simple randomisation, assessment.

* :func:`generate_list` / :func:`read_list_csv` — stratified permuted blocks of random sizes,
  reproducible from (algorithm version, configuration, seed) and sealed by a SHA-256.
* :func:`allocate` / :func:`replay` — the pure interface of the allocation service (blocks,
  Pocock–Simon minimisation or simple randomisation), replayable from (seed, counter);
  :func:`replay_state` re-runs a stored state's allocations and reports any that differ.
* :func:`assess` — Monte-Carlo balance and predictability before go-live, for any ratio.

Imports only :mod:`oncotrial.protocol`-shaped objects (duck-typed), never design/report/cli.
"""

from oncotrial.randomise.allocation import (
    METHODS,
    AllocationState,
    Replay,
    allocate,
    replay,
    replay_state,
)
from oncotrial.randomise.assess import (
    Assessment,
    assess,
    default_methods,
    probabilities_from_prevalences,
)
from oncotrial.randomise.blocks import (
    ALGORITHM_VERSION,
    AllocationList,
    generate_list,
    read_list_csv,
)
from oncotrial.randomise.minimisation import MinimisationConfig

__all__ = [
    "ALGORITHM_VERSION",
    "METHODS",
    "AllocationList",
    "AllocationState",
    "Assessment",
    "MinimisationConfig",
    "Replay",
    "allocate",
    "assess",
    "default_methods",
    "generate_list",
    "probabilities_from_prevalences",
    "read_list_csv",
    "replay",
    "replay_state",
]
