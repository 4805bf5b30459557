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
service can report balance whatever the method, and the subjects randomised so far, so that
no subject is randomised twice.

Refusals are :class:`~oncotrial.core.errors.AllocationError` (the subject is already
randomised or not eligible, the stratum's sealed list is exhausted); bad arguments are
:class:`~oncotrial.core.errors.InputError` naming the argument (``stratum``, ``method``,
``state``...).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from oncotrial.core.errors import AllocationError, InputError
from oncotrial.core.validation import check_seed
from oncotrial.randomise import minimisation, simple
from oncotrial.randomise.blocks import protocol_block_sizes, stratum_sequence
from oncotrial.randomise.strata import Design

__all__ = ["METHODS", "AllocationState", "allocate", "replay"]

METHODS = ("blocks", "minimisation", "simple")


def _method(protocol: Any, method: str | None) -> str:
    if method is None:
        method = getattr(getattr(protocol, "randomisation", None), "method", None)
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}", field="method")
    return method


@dataclass(frozen=True)
class AllocationState:
    """Immutable allocation state.

    ``counter`` allocations made so far; ``positions`` maps stratum label -> allocations made
    in that stratum (= next 0-based row of its block list); ``counts`` maps ``factor=level``
    -> allocations per arm (in the order of ``arms``); ``subjects`` the identifiers of the
    subjects randomised with one (in order; allocations without an identifier add none).
    """

    method: str
    counter: int
    arms: tuple[str, ...]
    positions: tuple[tuple[str, int], ...]
    counts: tuple[tuple[str, tuple[int, ...]], ...]
    subjects: tuple[str, ...] = ()

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
                "counts": {lab: dict(zip(self.arms, c, strict=True)) for lab, c in self.counts},
                "subjects": list(self.subjects)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AllocationState:
        """Inverse of :meth:`to_dict` (key order of ``positions``/``counts`` is kept)."""
        try:
            arms = tuple(data["arms"])
            state = cls(str(data["method"]), int(data["counter"]), arms,
                        tuple((str(k), int(v)) for k, v in data["positions"].items()),
                        tuple((str(k), tuple(int(v[a]) for a in arms)) for k, v in data["counts"].items()),
                        tuple(str(s) for s in data.get("subjects", ())))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InputError(f"state: data is not an AllocationState dictionary: {exc!r}",
                             field="state") from exc
        if state.method not in METHODS or state.counter < 0:
            raise InputError(f"state: data has an invalid method {state.method!r} or counter "
                             f"{state.counter}", field="state")
        return state


def allocate(state: AllocationState, stratum: Mapping[str, str], *, method: str | None = None,
             protocol: Any, seed: int, subject: str | None = None,
             per_stratum: int | None = None, eligibility: Any = None) -> tuple[str, AllocationState]:
    """Allocate the next patient, in ``stratum`` (factor -> level); return (arm code, new state).

    ``method`` defaults to ``protocol.randomisation.method`` and must match ``state.method``.
    ``subject`` (optional) identifies the patient: a subject already in ``state.subjects``
    is refused. ``per_stratum`` (blocks only) is the length of the sealed list of every
    stratum: allocating beyond it is refused rather than read past the list.
    ``eligibility`` (optional) is the patient's
    :class:`~oncotrial.protocol.EligibilityResult`: anything but "eligible" is refused.

    Raises :class:`~oncotrial.core.errors.InputError` (``field="stratum"``) for an unknown
    factor, a missing factor or an unknown level (naming the declared levels), for a state
    that does not belong to this protocol (``field="state"``) or another method
    (``field="method"``); :class:`~oncotrial.core.errors.AllocationError` for a refusal.
    """
    design = Design.from_protocol(protocol)
    seed = check_seed(seed)
    method = _method(protocol, method)
    if state.method != method:
        raise InputError(f"method: {method!r} does not match the state's method "
                         f"{state.method!r}", field="method")
    if (state.arms != design.arms or [lab for lab, _ in state.positions] != design.stratum_labels
            or [lab for lab, _ in state.counts] != design.level_labels):
        raise InputError(f"state: does not match protocol {design.protocol_id!r} (arms, strata "
                         f"or levels differ)", field="state")
    limit = _per_stratum(per_stratum, method)
    if subject is not None and not isinstance(subject, str):
        raise TypeError(f"subject: expected a string identifier, got "
                        f"{type(subject).__name__} {subject!r}")
    if subject is not None and not subject.strip():
        raise InputError(f"subject: expected a non-empty identifier, got {subject!r}",
                         field="subject")
    s = design.stratum_index(stratum)
    _refuse(state, subject, eligibility, design.stratum_labels[s],
            state.positions[s][1], limit)
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
        arm = int(minimisation.choose(g, np.asarray(u_tie), np.asarray(u_p), ratios, config.p))
    else:
        arm = int(simple.choose(simple.draw(seed, state.counter), ratios))
    counts[levels, arm] += 1
    positions = tuple((lab, pos + (i == s)) for i, (lab, pos) in enumerate(state.positions))
    new_counts = tuple((lab, tuple(int(x) for x in row)) for (lab, _), row in zip(state.counts, counts, strict=True))
    subjects = state.subjects + ((subject,) if subject is not None else ())
    return design.arms[arm], AllocationState(method, state.counter + 1, state.arms, positions,
                                             new_counts, subjects)


def _per_stratum(per_stratum: Any, method: str) -> int | None:
    if per_stratum is None:
        return None
    if isinstance(per_stratum, bool) or not isinstance(per_stratum, numbers.Integral):
        raise TypeError(f"per_stratum: expected a positive integer, got {per_stratum!r}")
    if per_stratum < 1:
        raise InputError(f"per_stratum: expected a positive integer, got {per_stratum!r}",
                         field="per_stratum")
    if method != "blocks":
        raise InputError(f"per_stratum: only used with method 'blocks' (a sealed list), "
                         f"not {method!r}", field="per_stratum")
    return int(per_stratum)


def _refuse(state: AllocationState, subject: str | None, eligibility: Any, label: str,
            position: int, limit: int | None) -> None:
    """Raise :class:`AllocationError` when the allocation must not happen."""
    if subject is not None and subject in state.subjects:
        raise AllocationError(f"subject {subject!r} is already randomised (allocation "
                              f"{state.subjects.index(subject) + 1} of {len(state.subjects)} "
                              f"identified ones)")
    if eligibility is not None and not eligibility.eligible:
        why = [f"{o.id}: {o.reason}" for o in (*eligibility.failed, *eligibility.undetermined)]
        raise AllocationError(f"subject{f' {subject!r}' if subject else ''} is "
                              f"{eligibility.status}: " + "; ".join(why))
    if limit is not None and position >= limit:
        raise AllocationError(f"the allocation list of stratum {label} is exhausted: all "
                              f"{limit} rows are allocated")


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
