"""The pure allocation interface called by the web service: state in, (arm, new state) out.

No I/O and no hidden state: the service stores :class:`AllocationState` (``to_dict()``) in
the same transaction as the allocation record, and the next arm depends only on (state,
stratum, method, protocol, seed). That makes an allocation replayable from the audit trail
(goal G2 of the IWRS survey) and lets :func:`replay` check a whole trial in CI.

* ``blocks``: the state holds the next position in each stratum's list; the arm is row
  ``position`` of :func:`oncotrial.randomise.generate_list` for that stratum (the list is
  regenerated up to that row, which its prefix property makes identical to the sealed one).
* ``minimisation``: the state holds the allocations per factor level and arm; the draws come
  from (seed, counter) (:mod:`oncotrial.randomise.minimisation`).
* ``simple``: one draw from (seed, counter).

The state records per-stratum positions and per-level counts for every method, so that the
service can report balance whatever the method.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from oncotrial.randomise import minimisation, simple
from oncotrial.randomise._common import Design, check_seed
from oncotrial.randomise.blocks import protocol_block_sizes, stratum_sequence

__all__ = ["METHODS", "AllocationState", "allocate", "replay"]

METHODS = ("blocks", "minimisation", "simple")


def _method(protocol: Any, method: str | None) -> str:
    if method is None:
        method = getattr(getattr(protocol, "randomisation", None), "method", None)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


@dataclass(frozen=True)
class AllocationState:
    """Immutable allocation state.

    ``counter`` allocations made so far; ``positions`` maps stratum label -> allocations made
    in that stratum (= next 0-based row of its block list); ``counts`` maps ``factor=level``
    -> allocations per arm (in the order of ``arms``).
    """

    method: str
    counter: int
    arms: tuple[str, ...]
    positions: tuple[tuple[str, int], ...]
    counts: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def initial(cls, protocol: Any, method: str | None = None) -> AllocationState:
        """The state before the first allocation."""
        design = Design.from_protocol(protocol)
        zeros = (0,) * len(design.arms)
        return cls(_method(protocol, method), 0, design.arms,
                   tuple((lab, 0) for lab in design.stratum_labels),
                   tuple((lab, zeros) for lab in design.level_labels))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "counter": self.counter, "arms": list(self.arms),
                "positions": dict(self.positions),
                "counts": {lab: dict(zip(self.arms, c, strict=True)) for lab, c in self.counts}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationState:
        """Inverse of :meth:`to_dict` (key order of ``positions``/``counts`` is kept)."""
        try:
            arms = tuple(data["arms"])
            state = cls(str(data["method"]), int(data["counter"]), arms,
                        tuple((str(k), int(v)) for k, v in data["positions"].items()),
                        tuple((str(k), tuple(int(v[a]) for a in arms)) for k, v in data["counts"].items()))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"data is not an AllocationState dictionary: {exc!r}") from exc
        if state.method not in METHODS or state.counter < 0:
            raise ValueError(f"data has an invalid method {state.method!r} or counter {state.counter}")
        return state


def allocate(state: AllocationState, stratum: Mapping[str, str], *, method: str | None = None,
             protocol: Any, seed: int) -> tuple[str, AllocationState]:
    """Allocate the next patient, in ``stratum`` (factor -> level); return (arm code, new state).

    ``method`` defaults to ``protocol.randomisation.method`` and must match ``state.method``.
    Raises ``ValueError`` for an unknown factor or level (naming the declared levels) and
    for a state that does not belong to this protocol.
    """
    design = Design.from_protocol(protocol)
    seed = check_seed(seed)
    method = _method(protocol, method)
    if state.method != method:
        raise ValueError(f"method {method!r} does not match the state's method {state.method!r}")
    if (state.arms != design.arms or [lab for lab, _ in state.positions] != design.stratum_labels
            or [lab for lab, _ in state.counts] != design.level_labels):
        raise ValueError(f"state does not match protocol {design.protocol_id!r} (arms, strata or levels differ)")
    s = design.stratum_index(stratum)
    levels = design.level_offsets() + np.asarray(design.stratum_levels(stratum), dtype=np.int64)
    counts = np.array([c for _, c in state.counts], dtype=np.int64).reshape(len(design.level_labels),
                                                                           len(design.arms))
    ratios = np.asarray(design.ratios)
    position = state.positions[s][1]
    if method == "blocks":
        sizes = protocol_block_sizes(protocol, None, design)
        arm = int(stratum_sequence(seed, s, sizes, design.ratios, position + 1)[2][position])
    elif method == "minimisation":
        config = minimisation.MinimisationConfig.from_protocol(protocol, design)
        u_tie, u_p = minimisation.draws(seed, state.counter)
        g = minimisation.scores(counts[levels], ratios, config)
        arm = int(minimisation.choose(g, np.float64(u_tie), np.float64(u_p), ratios, config.p))
    else:
        arm = int(simple.choose(simple.draw(seed, state.counter), ratios))
    counts[levels, arm] += 1
    positions = tuple((lab, pos + (i == s)) for i, (lab, pos) in enumerate(state.positions))
    new_counts = tuple((lab, tuple(int(x) for x in row)) for (lab, _), row in zip(state.counts, counts, strict=True))
    return design.arms[arm], AllocationState(method, state.counter + 1, state.arms, positions, new_counts)


def replay(protocol: Any, seed: int, strata_sequence: Iterable[Mapping[str, str]],
           method: str | None = None) -> list[str]:
    """Arms allocated to patients arriving with ``strata_sequence``, from the initial state.

    Replaying a prefix gives the prefix of the arms; the audit trail check is
    ``replay(protocol, seed, recorded_strata) == recorded_arms``.
    """
    check_seed(seed)
    state = AllocationState.initial(protocol, method)
    arms = []
    for stratum in strata_sequence:
        arm, state = allocate(state, stratum, method=state.method, protocol=protocol, seed=seed)
        arms.append(arm)
    return arms
